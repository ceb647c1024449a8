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

#endif
