/*
 * arm64 side of keeping the host's PMU away from the core and protected
 * guests (DESIGN §6, core/include/pmu.h). Only core/arch/arm64 includes it.
 */
#ifndef MOAT_ARM64_PMU_H
#define MOAT_ARM64_PMU_H

#include "percpu.h"
#include "types.h"

/*
 * At boot, from ID_AA64DFR0_EL1.PMUVer: choose the isolation, log it and
 * return MDCR_EL2 for host context (HPMN = all counters to the host, plus
 * HPMD/HCCD or the TPM/TPMCR traps).
 */
u64 arm64_pmu_init(u64 id_aa64dfr0);

/*
 * Around a protected vCPU (arch_vcpu_load/put): stop the host's enabled
 * counters before the guest's context goes in, start the same ones again
 * once it is gone. Neither HPMD nor the NSH filter covers guest EL1/EL0.
 */
void arm64_pmu_stop_host(struct percpu *pc);
void arm64_pmu_restart_host(struct percpu *pc);

/*
 * Every guest gets PMUSERENR_EL0 = 0 while its vCPU is loaded, until a
 * normal vCPU's own PMU is switched in, which brings the guest's value
 * (core/guest_pmu.c; it writes 0 again at put, before the restore below). The
 * register is not the guest's to write (MDCR_EL2.TPM), but it decides a guest
 * EL0 PMU access before MDCR_EL2.TPM does: left at the host's value, EN = 1
 * would let the access through to the core's RAZ/WI and EN = 0 trap it to the
 * guest's EL1, so the guest's EL0 could read one bit of host state. With 0 a
 * guest EL0 access is always the trap to its own EL1 that an absent PMU makes.
 */
void arm64_pmu_hide_host_el0(struct percpu *pc);
void arm64_pmu_restore_host_el0(struct percpu *pc);

#endif
