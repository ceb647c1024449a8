/*
 * The host's PMU and the core (DESIGN §6): the host's counters must count
 * neither EL2 nor protected guests. What the CPU offers decides how:
 *
 *   PMUv3p5 and later   MDCR_EL2.HPMD prohibits event counting at EL2 and
 *                       HCCD the cycle counter there; nothing is trapped.
 *   PMUv3 to PMUv3p4    Every host PMU access is trapped (MDCR_EL2.TPM,
 *                       TPMCR) and replayed at EL2, except that the EL2
 *                       filter bit (NSH) is cleared from every event-type
 *                       and cycle-filter write. PMUv3 has no HPMD; from
 *                       PMUv3p1 HPMD exists but stops the cycle counter at
 *                       EL2 only while PMCR_EL0.DP is set, and PMCR is the
 *                       host's (trapping PMCR alone to pin DP would do, but
 *                       QEMU 7.2 ignores TPMCR, so it could not be tested).
 *
 * None of these stops counting in a protected guest's EL1/EL0: the arm64
 * layer stops the host's enabled counters while a protected vCPU is loaded.
 *
 * The register table below is PMUv3 up to v3p4 (no trap serves a later
 * PMU): name, encoding (op0, op1, CRn, CRm, op2), access.
 */
#ifndef MOAT_PMU_H
#define MOAT_PMU_H

#include "regs.h"
#include "types.h"

/* ID_AA64DFR0_EL1.PMUVer values */
#define PMUVER_NONE 0x0U
#define PMUVER_V3 0x1U
#define PMUVER_V3P1 0x4U
#define PMUVER_V3P4 0x5U
#define PMUVER_V3P5 0x6U
#define PMUVER_IMPDEF 0xfU

enum pmu_isolation {
	PMU_ISOLATION_NONE, /* no architected PMU: nothing to isolate (and no PMU register may be touched) */
	PMU_ISOLATION_TRAP, /* PMUv3..v3p4: every host PMU access trapped, NSH cleared */
	PMU_ISOLATION_HPMD, /* PMUv3p5+: MDCR_EL2.HPMD + HCCD, no traps */
};

/* How the core keeps EL2 out of the host's counters on a CPU with this PMUVer. */
enum pmu_isolation pmu_isolation_for(unsigned int pmuver);
/*
 * At boot, before the host runs: remember the PMU version host_sysreg_trap()
 * serves and, where it traps, clear NSH from every event type already in the
 * registers. Returns the isolation.
 */
enum pmu_isolation host_pmu_init(unsigned int pmuver);
/* The boot clean-up of host_pmu_init on a secondary CPU: PMEVTYPER/PMCCFILTR are per-CPU registers. */
void host_pmu_init_cpu(void);

/* PMEVTYPER<n>_EL0 / PMCCFILTR_EL0.NSH: 1 = count at (Non-secure) EL2, where the core runs. */
#define PMU_EVTYPER_NSH (1UL << 27)

/*
 * The value the core writes when the host asks for v in an event-type or
 * cycle-filter register: NSH cleared, everything else as asked. NSH is the
 * only bit that makes a counter count at Non-secure EL2 (SH, RLH and M
 * select Secure EL2, Realm EL2 and EL3, which are not the core's). Reads
 * return what the register holds, so the host sees NSH = 0: honest about
 * what is counted, and what perf's exclude_hv already means.
 */
u64 pmu_filter_evtyper(u64 v);
/* PMCR_EL0.N of this CPU; 0 when the core runs no architected PMU (PMUVer 0 or IMPDEF). */
unsigned int pmu_counters(void);

/* Access rules of a trapped register. */
#define PMU_R (1U << 0)	   /* MRS allowed */
#define PMU_W (1U << 1)	   /* MSR allowed */
#define PMU_EL1 (1U << 2)  /* not from EL0 (an EL0 access would have been UNDEFINED at EL1) */
#define PMU_V3P4 (1U << 3) /* exists from PMUv3p4 */

/* X(name, op0, op1, CRn, CRm, op2, access): every PMU register with a fixed encoding. */
#define PMU_FIXED_REGS(X)                                                                                            \
	X(pmcr_el0, 3, 3, 9, 12, 0, PMU_R | PMU_W)                                                                   \
	X(pmcntenset_el0, 3, 3, 9, 12, 1, PMU_R | PMU_W)                                                             \
	X(pmcntenclr_el0, 3, 3, 9, 12, 2, PMU_R | PMU_W)                                                             \
	X(pmovsclr_el0, 3, 3, 9, 12, 3, PMU_R | PMU_W)                                                               \
	X(pmswinc_el0, 3, 3, 9, 12, 4, PMU_W)                                                                        \
	X(pmselr_el0, 3, 3, 9, 12, 5, PMU_R | PMU_W)                                                                 \
	X(pmceid0_el0, 3, 3, 9, 12, 6, PMU_R)                                                                        \
	X(pmceid1_el0, 3, 3, 9, 12, 7, PMU_R)                                                                        \
	X(pmccntr_el0, 3, 3, 9, 13, 0, PMU_R | PMU_W)                                                                \
	X(pmxevtyper_el0, 3, 3, 9, 13, 1, PMU_R | PMU_W)                                                             \
	X(pmxevcntr_el0, 3, 3, 9, 13, 2, PMU_R | PMU_W)                                                              \
	X(pmuserenr_el0, 3, 3, 9, 14, 0, PMU_R | PMU_W)                                                              \
	X(pmintenset_el1, 3, 0, 9, 14, 1, PMU_R | PMU_W | PMU_EL1)                                                   \
	X(pmintenclr_el1, 3, 0, 9, 14, 2, PMU_R | PMU_W | PMU_EL1)                                                   \
	X(pmovsset_el0, 3, 3, 9, 14, 3, PMU_R | PMU_W)                                                               \
	X(pmmir_el1, 3, 0, 9, 14, 6, PMU_R | PMU_EL1 | PMU_V3P4)                                                     \
	X(pmccfiltr_el0, 3, 3, 14, 15, 7, PMU_R | PMU_W)

enum pmu_reg {
#define PMU_ENUM(name, op0, op1, crn, crm, op2, access) PMU_##name,
	PMU_FIXED_REGS(PMU_ENUM)
#undef PMU_ENUM
	PMU_NR_FIXED
};

/* PMXEVTYPER/PMXEVCNTR of counter n through PMSELR_EL0, whose value is kept. */
u64 pmu_indexed_access(enum pmu_reg xreg, unsigned int n, bool read, u64 v);

/*
 * Trapped MSR/MRS from the host (ESR_EL2.EC 0x18, from EL1 or EL0): a PMU
 * register is emulated and the host resumes after the instruction; anything
 * else, or an access the architecture would not have allowed, gets an
 * undefined-instruction exception.
 */
void host_sysreg_trap(struct cpu_regs *regs, u64 esr);
/*
 * The replay behind host_sysreg_trap, also used for normal guests whose PMU
 * state is loaded (core/guest_pmu.c): false if esr is no PMU register the
 * caller may access; the PC is not advanced.
 */
bool pmu_emulate(struct cpu_regs *regs, u64 esr);

#endif
