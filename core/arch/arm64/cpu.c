/*
 * arm64 CPU services behind core/include/arch.h: barriers, TLB and cache
 * maintenance, firmware calls, the counter, feature discovery, and the
 * hand-off that enters the host at EL1 (DESIGN §3A, Linux booting.rst).
 */
#include "arch.h"
#include "arm64_pmu.h"
#include "boot.h"
#include "cpu_power.h"
#include "idregs.h"
#include "inject.h"
#include "log.h"
#include "percpu.h"
#include "psci.h"
#include "stack.h"
#include "sysreg.h"

extern char __stacks_start[];
void arch_enter_first(const struct cpu_regs *init, u64 stack_top) __attribute__((noreturn));
void secondary_entry(void);
void secondary_main(u64 index) __attribute__((noreturn));


static struct {
	bool have_pan;
	bool have_ras; /* VSESR_EL2 exists only with RAS: writing it on cortex-a72 would UNDEF at EL2 */
	bool have_hcx; /* HCRX_EL2 exists only with FEAT_HCX (ID_AA64MMFR1.HCX): QEMU's -cpu max has it */
	u64 host_mdcr; /* HPMN and the PMU isolation bits (arm64_pmu_init) */
	unsigned int pa_range; /* ID_AA64MMFR0_EL1.PARange, clamped to 48 bits */
} cpu_features;

/* Per CPU: arch_enter_first copies it onto the top of the stack, where a local could live. */
static struct cpu_regs host_boot_frame[MAX_CPUS];

struct percpu percpu_data[MAX_CPUS];
struct host_el2_config host_el2;

struct percpu *this_cpu(void)
{
	return (struct percpu *)read_sysreg(tpidr_el2);
}

void arch_dsb_ishst(void)
{
	__asm__ volatile("dsb ishst" ::: "memory");
}

void arch_dsb_ish(void)
{
	__asm__ volatile("dsb ish" ::: "memory");
}

void arch_isb(void)
{
	__asm__ volatile("isb" ::: "memory");
}

void arch_tlbi_s2_ipa(u64 ipa)
{
	__asm__ volatile("tlbi ipas2e1is, %0" : : "r"(ipa >> 12) : "memory");
}

void arch_tlbi_s1_guest_all(void)
{
	__asm__ volatile("tlbi vmalle1is" ::: "memory");
}

void arch_tlbi_s12_all(void)
{
	__asm__ volatile("tlbi vmalls12e1is" ::: "memory");
}

void arch_tlbi_el2_va(u64 va)
{
	__asm__ volatile("tlbi vae2is, %0" : : "r"(va >> 12) : "memory");
}

void arch_tlbi_el2_all(void)
{
	__asm__ volatile("tlbi alle2is" ::: "memory");
}

/*
 * Maintenance to the point of coherency is for observers outside the
 * inner-shareable domain -- a guest or a rebooted machine running with its
 * MMU and caches off reads memory, not caches -- so wait for it system-wide,
 * as Linux does for its PoC operations.
 */
static void arch_dsb_sy_after_poc_maintenance(void)
{
	__asm__ volatile("dsb sy" ::: "memory");
}

static u64 dcache_line(void)
{
	return 4UL << ((read_sysreg(ctr_el0) >> 16) & 0xf);
}

void arch_dcache_clean_inval_poc(u64 va, u64 size)
{
	u64 line = dcache_line();

	for (u64 p = ALIGN_DOWN(va, line); p < va + size; p += line) {
		__asm__ volatile("dc civac, %0" : : "r"(p) : "memory");
	}
	arch_dsb_sy_after_poc_maintenance();
}

void arch_dcache_clean_poc(u64 va, u64 size)
{
	u64 line = dcache_line();

	for (u64 p = ALIGN_DOWN(va, line); p < va + size; p += line) {
		__asm__ volatile("dc cvac, %0" : : "r"(p) : "memory");
	}
	arch_dsb_sy_after_poc_maintenance();
}

void arch_icache_inval_all(void)
{
	__asm__ volatile("ic ialluis; dsb ish; isb" ::: "memory");
}

#define CTR_DIC (1UL << 29)
#define CTR_L1IP_SHIFT 14
#define CTR_L1IP_PIPT 3UL

void arch_icache_inval_pou(u64 va, u64 size)
{
	u64 ctr = read_sysreg(ctr_el0);
	u64 line = 4UL << (ctr & 0xf); /* IminLine: log2 of words */

	if (ctr & CTR_DIC) {
		/* Instruction fetch is coherent with the data side here: only ordering is needed. */
		__asm__ volatile("dsb ish; isb" ::: "memory");
		return;
	}
	if (((ctr >> CTR_L1IP_SHIFT) & 3) != CTR_L1IP_PIPT) {
		/* A VIPT I-cache may hold the lines under the guest's own VAs, which IC IVAU by our VA would miss. */
		arch_icache_inval_all();
		return;
	}
	for (u64 p = ALIGN_DOWN(va, line); p < va + size; p += line) {
		__asm__ volatile("ic ivau, %0" : : "r"(p) : "memory");
	}
	__asm__ volatile("dsb ish; isb" ::: "memory");
}

unsigned int arch_cpu_index(void)
{
	return (unsigned int)this_cpu()->index;
}

u64 arch_counter(void)
{
	arch_isb();
	return read_sysreg(cntpct_el0);
}

u64 arch_counter_freq(void)
{
	return read_sysreg(cntfrq_el0);
}

void arch_firmware_smc(const u64 in[8], u64 out[4])
{
	register u64 x0 __asm__("x0") = in[0];
	register u64 x1 __asm__("x1") = in[1];
	register u64 x2 __asm__("x2") = in[2];
	register u64 x3 __asm__("x3") = in[3];
	register u64 x4 __asm__("x4") = in[4];
	register u64 x5 __asm__("x5") = in[5];
	register u64 x6 __asm__("x6") = in[6];
	register u64 x7 __asm__("x7") = in[7];

	/* SMCCC 1.0 allows the callee to clobber x4..x17. */
	__asm__ volatile("smc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6), "+r"(x7)
			 :
			 : "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
	out[0] = x0;
	out[1] = x1;
	out[2] = x2;
	out[3] = x3;
}

void arch_wfi(void)
{
	__asm__ volatile("dsb sy; wfi" ::: "memory");
}

u64 arch_cpu_mpidr(void)
{
	return read_sysreg(mpidr_el1);
}

u64 arch_secondary_entry_pa(void)
{
	return virt_to_phys((const void *)secondary_entry);
}

void arch_wfe(void)
{
	__asm__ volatile("wfe" ::: "memory");
}

void arch_sev(void)
{
	__asm__ volatile("dsb ish; sev" ::: "memory");
}

/*
 * ICC_SGI1R_EL1: INTID in bits 27:24, IRM (bit 40) = 1 targets every PE but
 * this one. SGI 15: Linux's GICv3 driver requests SGIs 0..7 for its IPIs, so
 * the host sees at most an unexpected SGI it does not use, once, just before
 * the machine resets.
 */
#define ARCH_STOP_SGI 15UL
#define ICC_SGI1R_IRM (1UL << 40)

void arch_kick_other_cpus(void)
{
	__asm__ volatile("dsb ish" ::: "memory");
	write_sysreg(S3_0_C12_C11_5, ICC_SGI1R_IRM | (ARCH_STOP_SGI << 24)); /* ICC_SGI1R_EL1 */
	arch_isb();
}

void arch_power_off(void)
{
	u64 in[8] = { PSCI_SYSTEM_OFF }, out[4];

	arch_firmware_smc(in, out);
	for (;;) {
		arch_wfi();
	}
}

#ifdef MOAT_POISON_SYSREGS
/*
 * Test build only (DESIGN §15): QEMU resets most system registers to harmless
 * values, so a register the core forgets to initialise would go unnoticed.
 * This image fills every register the core must set up with garbage first;
 * the integration suite boots it and expects the host and guests to work.
 * HCR_EL2.E2H/TGE stay clear (they would change how EL2 itself runs).
 */
#define POISON 0x5a5a5a5a5a5a5a5aUL

void arch_poison_sysregs(void)
{
	/* The virtual CPU interface: a pending virtual SPI 40 in LR0, garbage in LR1, priority 0 active in group 1. */
	write_sysreg(S3_4_C12_C12_0, (1UL << 62) | (1UL << 60) | 40); /* ICH_LR0_EL2 */
	write_sysreg(S3_4_C12_C12_1, POISON);			       /* ICH_LR1_EL2 */
	write_sysreg(S3_4_C12_C9_0, 1);				       /* ICH_AP1R0_EL2 */
	write_sysreg(S3_4_C12_C8_0, 1);				       /* ICH_AP0R0_EL2 */
	write_sysreg(sctlr_el1, SCTLR_EL1_RESET | (1UL << 0) | (1UL << 2) | (1UL << 12) | (1UL << 26));
	write_sysreg(tcr_el1, POISON);
	write_sysreg(mair_el1, POISON);
	write_sysreg(amair_el1, POISON);
	write_sysreg(ttbr0_el1, POISON & ~1UL);
	write_sysreg(ttbr1_el1, POISON & ~1UL);
	write_sysreg(vbar_el1, POISON & ~0x7ffUL);
	write_sysreg(cpacr_el1, 0);
	write_sysreg(contextidr_el1, POISON & 0xffffffffUL);
	write_sysreg(tpidr_el1, POISON);
	write_sysreg(tpidr_el0, POISON);
	write_sysreg(tpidrro_el0, POISON);
	write_sysreg(sp_el0, POISON);
	write_sysreg(sp_el1, POISON);
	write_sysreg(elr_el1, POISON);
	write_sysreg(spsr_el1, POISON & 0xffffffffUL);
	write_sysreg(esr_el1, POISON & 0xffffffffUL);
	write_sysreg(far_el1, POISON);
	write_sysreg(par_el1, POISON);
	write_sysreg(cntkctl_el1, 0x3);
	write_sysreg(csselr_el1, 0x2);
	write_sysreg(mdscr_el1, (1UL << 15) | (1UL << 13));
	write_sysreg(cntv_ctl_el0, 0x1);
	write_sysreg(cntv_cval_el0, 0);
	write_sysreg(cntp_ctl_el0, 0x1);
	write_sysreg(hcr_el2, HCR_VM | HCR_TWI | HCR_TWE | HCR_TSC | HCR_TIDCP | HCR_TACR | HCR_TSW | HCR_IMO | HCR_FMO |
				      HCR_AMO | (1UL << 26) /* TVM */ | (1UL << 30) /* TRVM */);
	write_sysreg(vttbr_el2, POISON & 0x0000fffffffff000UL);
	write_sysreg(vtcr_el2, POISON & 0x7ffffUL);
	write_sysreg(cptr_el2, CPTR_EL2_RES1 | CPTR_TTA | (1UL << 31) /* TCPAC */);
	write_sysreg(hstr_el2, 0xbfffUL);
	write_sysreg(cnthctl_el2, 0);
	write_sysreg(cntvoff_el2, POISON);
	write_sysreg(vpidr_el2, POISON & 0xffffffffUL);
	write_sysreg(vmpidr_el2, POISON);
	write_sysreg(mdcr_el2, (1UL << 8) | (1UL << 9) | (1UL << 10) | (1UL << 11) | 0x3);
	write_sysreg(S3_4_C12_C11_0, 0x1); /* ICH_HCR_EL2.En */
	if ((read_sysreg(id_aa64mmfr1_el1) >> 40) & 0xf) {
		write_sysreg(S3_4_C1_C2_2, POISON & 0x3fffUL); /* HCRX_EL2 (FEAT_HCX, -cpu max): its defined low bits */
	}
	arch_isb();
}
#endif

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* Every encoding of the ID space (op0=3, op1=0, CRn=0, CRm=1..7): one MRS each, the register is in the opcode. */
#define READ_ID(crm, op2) set->r[IDREG_INDEX(crm, op2)] = read_sysreg(S3_0_C0_C##crm##_##op2);
#define READ_ID_ROW(crm)                                                                                             \
	READ_ID(crm, 0) READ_ID(crm, 1) READ_ID(crm, 2) READ_ID(crm, 3) READ_ID(crm, 4) READ_ID(crm, 5)              \
		READ_ID(crm, 6) READ_ID(crm, 7)

/* Unallocated encodings of the space read as zero (Arm ARM, "reserved ID registers are RAZ"). */
static void read_idregs(struct idreg_set *set)
{
	READ_ID_ROW(1)
	READ_ID_ROW(2)
	READ_ID_ROW(3)
	READ_ID_ROW(4)
	READ_ID_ROW(5)
	READ_ID_ROW(6)
	READ_ID_ROW(7)
}

void arch_cpu_features_report(void)
{
	static struct idreg_set cpu;
	u64 mmfr0, mmfr1, mmfr2, dfr0;
	static const unsigned int pa_bits[] = { 32, 36, 40, 42, 44, 48, 52 };
	unsigned int pa;

	read_idregs(&cpu);
	idregs_init(&cpu);
	mmfr0 = cpu.r[ID_AA64MMFR0];
	mmfr1 = cpu.r[ID_AA64MMFR1];
	mmfr2 = cpu.r[ID_AA64MMFR2];
	dfr0 = cpu.r[ID_AA64DFR0];
	pa = (unsigned int)(mmfr0 & 0xf);
	cpu_features.pa_range = pa > 5 ? 5 : pa;
	cpu_features.have_pan = ((mmfr1 >> 20) & 0xf) != 0;
	cpu_features.have_ras = idregs_have(IDREG_CPU, FEAT_RAS);
	cpu_features.have_hcx = ((mmfr1 >> 40) & 0xf) != 0;
	log_info("CPU MIDR 0x%lx: PA %u bits (using %u), VMID %s bits, PAN %s, VHE %s (unused), FWB %s (unused)",
		 read_sysreg(midr_el1), pa_bits[pa < 7 ? pa : 6], pa_bits[cpu_features.pa_range],
		 ((mmfr1 >> 4) & 0xf) == 2 ? "16" : "8", yes_no(cpu_features.have_pan), yes_no((mmfr1 >> 8) & 0xf),
		 yes_no((mmfr2 >> 40) & 0xf));
	idregs_report();
	cpu_features.host_mdcr = arm64_pmu_init(dfr0);
}

unsigned int arch_pa_range(void);
unsigned int arch_pa_range(void)
{
	return cpu_features.pa_range;
}

void arch_inject_el1_sync(struct cpu_regs *regs, u64 esr_el1, u64 far_el1)
{
	struct el1_entry e = el1_sync_entry(regs->spsr, read_sysreg(vbar_el1), read_sysreg(sctlr_el1),
					    cpu_features.have_pan);

	write_sysreg(esr_el1, esr_el1);
	write_sysreg(far_el1, far_el1);
	write_sysreg(elr_el1, regs->elr);
	write_sysreg(spsr_el1, regs->spsr);
	regs->elr = e.elr_el2;
	regs->spsr = e.spsr_el2;
}

/* EL1 state as booting.rst promises it: every writable register known, MMU off. */
static void init_el1_state(void)
{
	write_sysreg(sctlr_el1, SCTLR_EL1_RESET);
	write_sysreg(tcr_el1, 0);
	write_sysreg(mair_el1, 0);
	write_sysreg(amair_el1, 0);
	write_sysreg(ttbr0_el1, 0);
	write_sysreg(ttbr1_el1, 0);
	write_sysreg(vbar_el1, 0);
	write_sysreg(cpacr_el1, 0);
	write_sysreg(contextidr_el1, 0);
	write_sysreg(tpidr_el1, 0);
	write_sysreg(tpidr_el0, 0);
	write_sysreg(tpidrro_el0, 0);
	write_sysreg(sp_el0, 0);
	write_sysreg(sp_el1, 0);
	write_sysreg(elr_el1, 0);
	write_sysreg(spsr_el1, 0);
	write_sysreg(esr_el1, 0);
	write_sysreg(far_el1, 0);
	write_sysreg(afsr0_el1, 0);
	write_sysreg(afsr1_el1, 0);
	write_sysreg(par_el1, 0);
	write_sysreg(cntkctl_el1, 0);
	write_sysreg(csselr_el1, 0);
	write_sysreg(mdscr_el1, 0);
	write_sysreg(cntv_ctl_el0, 0);
	write_sysreg(cntp_ctl_el0, 0);
}

static u64 host_vtcr(void)
{
	return VTCR_EL2_RES1 | ((u64)cpu_features.pa_range << VTCR_PS_SHIFT) | TCR_SH0_INNER | TCR_ORGN0_WBWA |
	       TCR_IRGN0_WBWA | VTCR_SL0_L1 | TCR_T0SZ(40);
}

/*
 * EL2 controls while the host runs (DESIGN §3A, §12): stage 2 on, every SMC
 * trapped. The same on every CPU: computed once by the boot CPU.
 */
static void host_el2_config_init(u64 host_s2_root)
{
	/* TID3: the host reads the ID registers through the core, which hides what it does not give the host. */
	host_el2.hcr = HCR_VM | HCR_SWIO | HCR_TSC | HCR_RW | HCR_TID3;
	if (idregs_have(IDREG_HOST, FEAT_PAUTH)) {
		host_el2.hcr |= HCR_API | HCR_APK;
	}
	host_el2.vttbr = host_s2_root; /* VMID 0 */
	/* TZ/TSM: RES1 where SVE/SME are absent, a trap where they are hidden from the host (idregs.c). */
	host_el2.cptr = CPTR_EL2_RES1;
	if (!idregs_have(IDREG_HOST, FEAT_SVE)) {
		host_el2.cptr |= CPTR_TZ;
	}
	if (!idregs_have(IDREG_HOST, FEAT_SME)) {
		host_el2.cptr |= CPTR_TSM;
	}
	arch_guest_el2_init();
	host_el2.mdcr = cpu_features.host_mdcr;
	host_el2.cnthctl = CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN;
}

/*
 * The EL2 registers of this CPU, on every CPU before it first enters the
 * host. Every one is per-CPU: a secondary's reset values are whatever its
 * firmware left. VMPIDR_EL2 is this CPU's MPIDR (arch_vcpu_put restores it).
 */
static void init_el2_for_host(void)
{
	this_cpu()->host_vmpidr = read_sysreg(mpidr_el1);
	write_sysreg(vtcr_el2, host_vtcr());
	write_sysreg(vttbr_el2, host_el2.vttbr);
	write_sysreg(hcr_el2, host_el2.hcr);
	write_sysreg(cptr_el2, host_el2.cptr);
	write_sysreg(hstr_el2, 0);
	write_sysreg(cnthctl_el2, host_el2.cnthctl);
	write_sysreg(cntvoff_el2, 0);
	/* ENABLE resets to an UNKNOWN value: CNTHP is on only while a guest runs (timer.c). */
	write_sysreg(cnthp_ctl_el2, 0);
	write_sysreg(vpidr_el2, read_sysreg(midr_el1));
	write_sysreg(vmpidr_el2, this_cpu()->host_vmpidr);
	write_sysreg(mdcr_el2, host_el2.mdcr);
	if (cpu_features.have_hcx) {
		/*
		 * HCRX_EL2 resets to an UNKNOWN value on hardware (QEMU: 0). All
		 * zero leaves every extension it enables (LS64, MOPS, ...) off for
		 * EL1 and EL0 alike, and idregs.c hides those from host and guests.
		 */
		write_sysreg(S3_4_C1_C2_2, 0); /* HCRX_EL2 */
	}
	if (cpu_features.have_ras) {
		/* The syndrome of every virtual SError the core injects (vcpu.c guest_serror). */
		write_sysreg(S3_4_C5_C2_3, VSESR_IDS); /* VSESR_EL2 */
	}
	write_sysreg(S3_4_C12_C9_5, ICC_SRE_EL2_ENABLE | ICC_SRE_EL2_SRE); /* ICC_SRE_EL2 */
	arch_isb();
	write_sysreg(S3_4_C12_C11_0, 0); /* ICH_HCR_EL2: no virtual interface for the host */
	arch_isb();
	arch_vgic_cpu_reset();
	/* Drop whatever stage-1/2 entries VMID 0 may have from before the table existed. */
	__asm__ volatile("tlbi vmalls12e1is; dsb ish; isb" ::: "memory");
}

/* Enter the host at EL1h on this CPU with x0 = x0, booting.rst state; the one hand-off for every CPU. */
static void __attribute__((noreturn)) enter_host_el1(u64 entry, u64 x0)
{
	unsigned int cpu = arch_cpu_index();
	u64 stack_top = (u64)(uintptr_t)__stacks_start + (cpu + 1) * (GUARD_SIZE + STACK_SIZE);
	struct cpu_regs *frame = &host_boot_frame[cpu];

	init_el1_state();
	init_el2_for_host();
	*frame = (struct cpu_regs){ 0 };
	frame->x[0] = x0;
	frame->elr = entry;
	frame->spsr = SPSR_MODE_EL1H | SPSR_DAIF;
	arch_enter_first(frame, stack_top);
}

void arch_enter_host(u64 entry, u64 dtb, u64 host_s2_root)
{
	host_el2_config_init(host_s2_root);
	enter_host_el1(entry, dtb);
}

/*
 * C side of head.S secondary_entry: EL2 MMU on, SP on this CPU's stack. Same
 * features as the boot CPU are assumed (cpu_features, host_el2): QEMU and
 * the supported boards are homogeneous.
 */
void secondary_main(u64 index)
{
	struct percpu *pc = &percpu_data[index];
	u64 entry, context;

	pc->index = index;
	write_sysreg(tpidr_el2, pc);
	arch_isb();
#ifdef MOAT_POISON_SYSREGS
	arch_poison_sysregs(); /* the test build checks every CPU's initialisation, not only the boot CPU's */
#endif
	if (!cpu_power_secondary_started((unsigned int)index, &entry, &context)) {
		log_err("CPU %lu started without a pending CPU_ON: parked", index);
		for (;;) {
			arch_wfi();
		}
	}
	host_pmu_init_cpu(); /* the boot CPU's ran in host_pmu_init(): event filters are per-CPU registers */
	enter_host_el1(entry, context);
}
