/*
 * The virtual GICv3 of a VM (DESIGN §9): a small interrupt model per VM and
 * per vCPU, the guest's distributor and redistributors emulated in the core
 * (guest data aborts at the IPAs QEMU virt uses), SGIs through ICC_SGI1R_EL1,
 * the host's IRQ_LINE for the SPIs the VM's configuration lists, and the
 * guest's virtual timer and PMU overflow (PPI 23, level set by guest_pmu.c)
 * delivered without a trip to the host.
 *
 * Owns: struct vgic_dist (in struct vm: the SPIs and GICD_CTLR) and
 * struct vgic_cpu (in struct vcpu: SGIs/PPIs, the GICR state, the list
 * registers' saved copy, ICH_AP0R/AP1R).
 * Called by: guest_exit.c (GICD/GICR aborts, IRQ exits, the WFI check),
 * guest_call.c (the CPU_SUSPEND check), guest_pmu.c (the
 * PMU's line, vgic_set_ppi_level), guest_refuse.c's
 * sysreg trap (ICC_SGI1R), vcpu.c's run loop (vgic_flush before each entry,
 * vgic_sync after each exit), hc_vm.c (VM_SET_SPIS, IRQ_LINE).
 * Lock: vgic_dist.lock (a leaf lock, taken after vm->lock where both are
 * held) guards every field of the model, the SPIs and every vCPU's private
 * interrupts alike, because SGIs and IRQ_LINE write another vCPU's state. The
 * list-register copy (vgic_cpu.lr, hcr, misr, ap*r) belongs to the CPU that
 * has the vCPU loaded (vcpu.h) and needs no lock.
 *
 * Pending interrupts go into list registers on every guest entry
 * (vgic_flush); what the guest did with them is read back on every exit
 * (vgic_sync). An interrupt stays in its LR until the guest deactivates it.
 * More pending than free LRs: the rest wait in the model (the software
 * queue), and ICH_HCR_EL2.UIE asks for a maintenance interrupt (PPI 25) once
 * at most one LR is still valid, whose exit refills them. Level-sensitive
 * interrupts carry the LR EOI bit, so that their deactivation also exits and
 * the line is sampled again (the virtual timer is unmasked then).
 */
#ifndef MOAT_VGIC_H
#define MOAT_VGIC_H

#include "spinlock.h"
#include "types.h"

#define VGIC_NR_PRIVATE 32 /* SGIs 0..15, PPIs 16..31: one set per vCPU */
#define VGIC_NR_SPIS 64	   /* INTIDs 32..95: the UART (33) and 32 virtio-mmio lines (48..79) fit */
#define VGIC_SPI_BASE 32
#define VGIC_NR_IRQS (VGIC_SPI_BASE + VGIC_NR_SPIS)
#define VGIC_MAX_LRS                                                                                                   \
	16	       /* the architecture's limit; the CPU says how many it has (ICH_VTR_EL2)   \
      */
#define VGIC_MAX_APR 4 /* ICH_AP0R<n>/AP1R<n>: 1, 2 or 4 of them for 5, 6 or 7 priority bits */

#define VGIC_INTID_PMU 23 /* the PMU's overflow interrupt, as on QEMU virt (and KVM) */
#define VGIC_INTID_MAINT 25
#define VGIC_INTID_VTIMER 27

/* The guest IPAs of QEMU virt (DESIGN §14). */
#define VGIC_GICD_BASE 0x08000000UL
#define VGIC_GICD_SIZE 0x10000UL
#define VGIC_GICR_BASE 0x080A0000UL
#define VGIC_GICR_STRIDE 0x20000UL /* RD_base + SGI_base, 64 KiB each (GICv3, no VLPIs) */

/* ICH_LR<n>_EL2 fields (Arm IHI 0069 12.4.6). */
#define ICH_LR_VINTID_MASK 0xffffffffUL
#define ICH_LR_EOI                                                                                                     \
	(1UL << 41) /* with HW = 0: maintenance interrupt when the guest deactivates \
                 it */
#define ICH_LR_PRIORITY_SHIFT 48
#define ICH_LR_GROUP (1UL << 60)
#define ICH_LR_HW (1UL << 61)
#define ICH_LR_STATE_SHIFT 62
#define ICH_LR_PENDING (1UL << 62)
#define ICH_LR_ACTIVE (1UL << 63)
#define ICH_LR_STATE (3UL << 62)
/* ICH_HCR_EL2 */
#define ICH_HCR_EN (1UL << 0)
#define ICH_HCR_UIE (1UL << 1)

/*
 * The state of 32 INTIDs, one bit each. pending and active describe an
 * interrupt while it is outside a list register; while in_lr, the LR's
 * state is the truth and the model's bits only collect what arrives
 * meanwhile (merged into the LR at the next entry).
 */
struct vgic_bits {
	u32 enabled, pending, active, level, group, edge, in_lr;
};

#define VGIC_SPI_BANKS (VGIC_NR_SPIS / 32)

/* One VM's SPIs and distributor state (in struct vm). */
struct vgic_dist {
	struct spinlock lock;
	u32 ctlr;    /* GICD_CTLR: EnableGrp0, EnableGrp1 (ARE and DS read as 1) */
	u64 allowed; /* SPIs the host may drive with IRQ_LINE (VM_SET_SPIS); bit n =
                  INTID 32 + n */
	struct vgic_bits spi[VGIC_SPI_BANKS];
	u8 priority[VGIC_NR_SPIS];
	u8 target[VGIC_NR_SPIS]; /* IROUTER's Aff0: the vCPU index (Aff1..3 are always
                              0) */
};

/* One vCPU's private interrupts, redistributor and list registers (in struct
 * vcpu). */
struct vgic_cpu {
	struct vgic_bits priv;
	u32 waker; /* GICR_WAKER.ProcessorSleep (bit 1) as the guest left it */
	u8 priority[VGIC_NR_PRIVATE];
	/* The list registers as the guest left them at its last exit, and what goes in at the next entry. */
	u64 lr[VGIC_MAX_LRS];
	u32 hcr;  /* ICH_HCR_EL2 for the next entry (En is the arch layer's) */
	u32 misr; /* ICH_MISR_EL2 at the last exit */
	u32 lr_live; /* arch layer: LRs written non-zero at the last entry (the only ones to read back or clear) */
	u32 ap0r[VGIC_MAX_APR], ap1r[VGIC_MAX_APR];
	bool timer_masked; /* the core set CNTV_CTL.IMASK on a guest timer expiry, and
                        lifts it at the EOI */
	/* Other vCPUs to which this vCPU's current exit -- an ICC_SGI1R write, a GICD or
	   another vCPU's GICR write -- may have made an interrupt deliverable (bit =
	   index): the host may be running them on other CPUs, or holding them in a WFI
	   wait, and must kick them (MOAT_EXIT_KICK, vgic_kick_exit). */
	u64 kick;
};

struct vm;
struct vcpu;
struct guest_exit;

/* Reset a VM's distributor (vm_init) and a vCPU's private state (vcpu_create).
 */
void vgic_dist_init(struct vgic_dist *d);
void vgic_cpu_init(struct vgic_cpu *c);

/* The guest IPA belongs to the emulated GICD or a GICR frame of this VM. */
bool vgic_owns_ipa(const struct vm *vm, u64 ipa);
/* A guest data abort with ISV = 1 at an IPA vgic_owns_ipa(): emulated, PC
 * advanced; MOAT_EXIT_KICK if a write reached another vCPU (vgic_kick_exit). */
u32 vgic_mmio_abort(struct vcpu *vcpu, const struct guest_exit *e);
/* The fast path (guest_exit_fast): a read of the vGIC's MMIO answered on regs; false, regs untouched, otherwise. */
bool vgic_mmio_read_fast(struct vcpu *vcpu, const struct guest_exit *e, struct cpu_regs *regs);
/* One emulated access (offset from VGIC_GICD_BASE), for vgic_mmio_abort and the
 * unit tests. */
u64 vgic_mmio_read(struct vcpu *vcpu, u64 ipa, unsigned int size);
void vgic_mmio_write(struct vcpu *vcpu, u64 ipa, unsigned int size, u64 value);

/* EC 0x18: true if esr names ICC_SGI1R/ASGI1R/SGI0R_EL1, which it then handled.
 */
bool vgic_sysreg_trap(struct vcpu *vcpu, u64 esr);
/*
 * After vgic_sysreg_trap or a GIC MMIO write (vgic_mmio_abort): if the access
 * recorded other vCPUs to kick (vgic_cpu.kick), the run ends with
 * MOAT_EXIT_KICK naming them, and the record is cleared; else
 * MOAT_EXIT_NONE and the guest continues.
 */
u32 vgic_kick_exit(struct vcpu *vcpu);

/*
 * A physical IRQ took the guest out: true when it was the guest's own (its
 * virtual timer, now masked at the source and pending in the model, or the
 * maintenance interrupt, which vgic_sync already served), so that the guest
 * simply continues; false when it is the host's.
 */
bool vgic_irq_exit(struct vcpu *vcpu);

/*
 * A WFI trap or a PSCI CPU_SUSPEND of the loaded vCPU (never a WFE: see
 * guest_exit.c's wfx_exit): true when it
 * has an interrupt the guest could take now, so that the wait completes at
 * once (the architecture lets a WFI complete at any time) and the guest
 * continues instead of exiting to a host that cannot see the model. First
 * what the next entry would do anyway -- an expired timer made pending, the
 * model's pending interrupts placed in free LRs -- then true iff some LR holds
 * one the virtual CPU interface signals (pending, its group enabled, priority
 * above the guest's mask and running priority; PSTATE masks play no part).
 *
 * Bounded: one check per trap, never a loop at EL2. An interrupt left in the
 * model because the LRs are full, or one the interface would not signal,
 * answers false and the wait exits as before, so a resume is never followed
 * by the same trap: with a signalled interrupt in an LR the CPU completes the
 * guest's next WFI itself (HCR_EL2.TWI traps only a WFI that would wait).
 */
bool vgic_wfx_wake(struct vcpu *vcpu);

/*
 * The level of a private level-sensitive line of this CPU's loaded vCPU
 * (PPI 23, the PMU overflow: core/guest_pmu.c). Edges only: a rising one
 * makes it pending, a falling one withdraws a pending state not yet taken.
 */
void vgic_set_ppi_level(struct vcpu *vcpu, u32 intid, bool high);

/* Before each guest entry: pending interrupts into free LRs, UIE if some must
 * wait. */
void vgic_flush(struct vcpu *vcpu);
/* After each guest exit: what the guest acknowledged, EOIed or left pending,
 * back into the model. */
void vgic_sync(struct vcpu *vcpu);

/* VM_SET_SPIS (before FINALIZE; caller holds vm->lock) and IRQ_LINE (caller
 * holds vm->lock). */
int vgic_set_spis(struct vm *vm, u64 mask);
/* The mask VM_SET_SPIS set last (0: none), for the measurement at FINALIZE. Caller holds vm->lock. */
u64 vgic_spi_mask(struct vm *vm);
int vgic_irq_line(struct vm *vm, u64 intid, u64 level, u64 *target);

#endif
