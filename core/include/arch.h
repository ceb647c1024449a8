/*
 * The one seam between the generic core and the architecture.
 *
 * Generic modules (core/ *.c) call only these functions for anything that
 * touches hardware: barriers, TLB and cache maintenance, the console, system
 * registers of the current CPU, power control. core/arch/arm64/ implements
 * them for EL2; core/arch/fake/ implements them for host-native unit tests and
 * the fuzzer, recording every maintenance operation so tests can assert that
 * it happened and in which order (QEMU TCG models no caches or TLB timing).
 */
#ifndef MOAT_ARCH_H
#define MOAT_ARCH_H

#include "pmu.h"
#include "regs.h"
#include "types.h"

/* ---- barriers and maintenance ------------------------------------------ */
void arch_dsb_ishst(void);
void arch_dsb_ish(void);
void arch_isb(void);
/* Stage-2 TLB invalidation for the VMID whose VTTBR_EL2 is current. */
void arch_tlbi_s2_ipa(u64 ipa);	 /* TLBI IPAS2E1IS, ipa >> 12 */
void arch_tlbi_s1_guest_all(void); /* TLBI VMALLE1IS: stage-1 entries that used the old stage-2 */
void arch_tlbi_s12_all(void);	 /* TLBI VMALLS12E1IS */
void arch_tlbi_el2_va(u64 va);	 /* TLBI VAE2IS, va >> 12 */
void arch_tlbi_el2_all(void);	 /* TLBI ALLE2IS */
void arch_dcache_clean_inval_poc(u64 va, u64 size); /* DC CIVAC per line, then DSB SY */
void arch_dcache_clean_poc(u64 va, u64 size);	    /* DC CVAC per line, then DSB SY */
void arch_icache_inval_all(void);		    /* IC IALLUIS; DSB ISH; ISB */
/*
 * Instruction fetch on every CPU sees what the data side wrote to va..va+size
 * (already cleaned to PoC): IC IVAU per line where the I-cache is PIPT, IC
 * IALLUIS where it may alias; then DSB ISH; ISB.
 */
void arch_icache_inval_pou(u64 va, u64 size);

/* ---- CPU ------------------------------------------------------------------ */
unsigned int arch_cpu_index(void); /* 0 for the boot CPU */
u64 arch_counter(void);		   /* CNTPCT_EL0 */
u64 arch_counter_freq(void);	   /* CNTFRQ_EL0 */

/* ---- console -------------------------------------------------------------- */
void arch_console_set_base(u64 pa);
/*
 * Hand one character to the UART if its transmit FIFO has room; false (and
 * nothing written) when it is full. Never waits: the UART is the host's, and
 * the host may have disabled it or stalled it with flow control (log.c
 * bounds the waiting).
 */
bool arch_console_try_putc(char c);

/* ---- devices, on the host's behalf ---------------------------------------- */
/*
 * One naturally aligned 4- or 8-byte access to the device register at pa
 * (mapped at EL2 as Device memory). If the device answers with a synchronous
 * external abort, the EL2 exception-fixup table catches it: nothing was read
 * or written, *val is 0 and the call returns false; the core carries on
 * (DESIGN §0). Any other size returns false without an access.
 */
bool arch_device_read(u64 pa, unsigned int size, u64 *val);
bool arch_device_write(u64 pa, unsigned int size, u64 val);

/* ---- traps ---------------------------------------------------------------- */
/*
 * Make the trapped EL1 context in regs take a synchronous exception with
 * syndrome esr_el1 (and FAR_EL1 = far_el1) at its own EL1 vector when it
 * resumes: writes ESR/FAR/ELR/SPSR_EL1 and redirects regs->elr/spsr.
 */
void arch_inject_el1_sync(struct cpu_regs *regs, u64 esr_el1, u64 far_el1);

/* Call firmware (PSCI) with SMC: in = x0..x7, out = x0..x3. */
void arch_firmware_smc(const u64 in[8], u64 out[4]);

/* Wait for an interrupt (standby); returns when one is pending, masked or not. */
void arch_wfi(void);

/* ---- other CPUs (core/cpu_power.c) ------------------------------------------- */
u64 arch_cpu_mpidr(void);	     /* MPIDR_EL1 of this CPU */
u64 arch_secondary_entry_pa(void); /* where firmware starts a secondary CPU: MMU off, x0 = its index */
void arch_wfe(void);		     /* wait for an event (or return at once: a hint) */
void arch_sev(void);		     /* DSB ISH, then an event to every CPU */
/*
 * One physical SGI (ARCH_STOP_SGI) to every other CPU, written at EL2 to
 * ICC_SGI1R_EL1 with IRM = 1: an IRQ exits a running guest (HCR_EL2.IMO = 1).
 */
void arch_kick_other_cpus(void);

/* ---- host PMU (core/host_pmu.c) ------------------------------------------ */
/*
 * MRS/MSR of a PMU register of this CPU by table index (core/include/pmu.h).
 * Only called once host_pmu_init() found a PMUv3, and only in the directions
 * the table allows: anything else could be UNDEFINED at EL2.
 */
u64 arch_pmu_read(enum pmu_reg reg);
void arch_pmu_write(enum pmu_reg reg, u64 v);

/* ---- self-hosted debug of normal guests (core/guest_debug.c) -------------- */
enum dbg_reg {
	DBG_BVR, /* DBGBVR<n>_EL1 */
	DBG_BCR, /* DBGBCR<n>_EL1 */
	DBG_WVR, /* DBGWVR<n>_EL1 */
	DBG_WCR, /* DBGWCR<n>_EL1 */
	DBG_MDSCR, /* MDSCR_EL1 (n ignored) */
	DBG_OSLSR, /* OSLSR_EL1, read only (n ignored) */
	DBG_OSLAR, /* OSLAR_EL1, write only (n ignored) */
};
/*
 * MRS/MSR at EL2 of this CPU's debug registers. For the four banks, n is
 * below DBG_MAX_BPS and below the CPU's own count (ID_AA64DFR0_EL1.BRPs/WRPs
 * + 1): anything else is UNDEFINED on the CPU, so the caller never asks.
 */
u64 arch_dbg_read(enum dbg_reg reg, unsigned int n);
void arch_dbg_write(enum dbg_reg reg, unsigned int n, u64 v);

/* ---- guests ---------------------------------------------------------------- */
struct vcpu;
struct guest_exit;

/* Switch the CPU from host to guest context (EL1 registers, EL2 controls) and back. */
/* flush_local: this CPU last ran another vCPU of the VM: drop its local TLB/I-cache context. */
void arch_vcpu_load(struct vcpu *vcpu, bool flush_local);
void arch_vcpu_put(struct vcpu *vcpu);
/*
 * Enter the loaded vCPU until it exits for a reason the generic code must
 * handle. Does not enter it (GUEST_EXIT_NOT_ENTERED) while a physical SError
 * is pending; takes one still in flight at exit at EL2 (exit->serror).
 */
void arch_guest_run(struct vcpu *vcpu, struct guest_exit *exit);
/*
 * The virtual GIC CPU interface (vgic.c): how many list registers the CPU
 * has (ICH_VTR_EL2.ListRegs + 1, at most VGIC_MAX_LRS). arch_guest_run
 * writes vcpu->vgic.lr[] and .hcr (with En) before each entry and reads the
 * LRs and ICH_MISR_EL2 back after each exit; load/put switch ICH_AP0R/AP1R.
 */
unsigned int arch_vgic_nr_lrs(void);
/*
 * The loaded vCPU's virtual CPU interface as the guest has it now (vgic.c's
 * check at a WFI trap): ICH_VMCR_EL2 (VPMR, VENG0/1), and its running
 * priority -- the group priority of the lowest-numbered bit set in
 * ICH_AP0R<n>/AP1R<n>, 0xff (idle) when none is.
 */
u64 arch_vgic_vmcr(void);
u32 arch_vgic_running_priority(void);
/* The loaded vCPU's virtual timer control (CNTV_CTL_EL0), live while it is loaded. */
u64 arch_vtimer_ctl(void);
void arch_vtimer_set_ctl(u64 ctl);
/* vcpu->serror_pending changed while the vCPU is loaded: make the hardware agree (HCR_EL2.VSE). */
void arch_vcpu_sync_serror(struct vcpu *vcpu);
/*
 * Stage-2 TLB maintenance acts on the VMID in VTTBR_EL2: load a view's VTTBR
 * around edits of its table, then return to the host's.
 */
struct stage2;
void arch_s2_switch_to(const struct stage2 *view);
void arch_s2_switch_to_host(void);
/*
 * Drop every stage-1 and stage-2 TLB entry the view's VMID may hold, on every
 * CPU, and wait for that: load the view's VTTBR, TLBI VMALLS12E1IS, DSB ISH,
 * back to the host's. For a VMID about to be (re)used by a new table, and for
 * one whose pages are about to leave it (VM_DESTROY).
 */
void arch_s2_flush_vmid(const struct stage2 *view);

/* ---- power ---------------------------------------------------------------- */
/* PSCI SYSTEM_OFF through the firmware; used for fatal boot errors and panics. */
void arch_power_off(void) __attribute__((noreturn));

/* ---- address translation -------------------------------------------------- */
/* The core's EL2 stage 1 identity-maps what it touches, so PA == VA. */
static inline void *phys_to_virt(u64 pa)
{
	return (void *)(uintptr_t)pa;
}
static inline u64 virt_to_phys(const void *va)
{
	return (u64)(uintptr_t)va;
}

#endif
