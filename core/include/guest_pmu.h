/*
 * The PMU of normal VMs (issue 11, Deliver 8; core/guest_pmu.c). Protected
 * VMs have none: PMUVer 0 and RAZ/WI (core/guest_refuse.c).
 */
#ifndef MOAT_GUEST_PMU_H
#define MOAT_GUEST_PMU_H

#include "types.h"

struct vcpu;
struct guest_exit;

/* A trapped MSR/MRS (EC 0x18) of a normal VM: true if it was a PMU register and was answered. */
bool guest_pmu_trap(struct vcpu *vcpu, u64 esr);
/* Called by the arch layer at load (after the guest's EL1 state) and at put (before the host's counters restart). */
void guest_pmu_load(struct vcpu *vcpu);
void guest_pmu_put(struct vcpu *vcpu);
/*
 * On every guest exit, before it is handled: a guest counter that
 * overflowed raises the vCPU's virtual PPI 23 and is masked at the source.
 * True if the physical PMU IRQ was this vCPU's (an IRQ exit it explains).
 */
bool guest_pmu_exit(struct vcpu *vcpu);

/* The guest's overflow line: PMCR_EL0.E and a counter with PMOVSSET and PMINTENSET both set. */
bool guest_pmu_irq_level(u64 pmcr, u64 pmovs, u64 pminten);
/* PMINTENSET in the CPU while the guest runs: its enabled interrupts whose overflow flag is still clear. */
u64 guest_pmu_hw_inten(u64 pmovs, u64 pminten);

#endif
