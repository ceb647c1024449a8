/*
 * arm64 side of the host PMU isolation (DESIGN §6, core/include/pmu.h):
 * MRS/MSR of the PMU registers by table index for the trap emulation in
 * core/host_pmu.c, the MDCR_EL2 bits for the host, and stopping the host's
 * counters while a protected vCPU is loaded.
 *
 * State: pmu_mode, written once at boot; per CPU, percpu.host_pmcnten and
 * host_pmuserenr, touched only by their own CPU between load and put.
 */
#include "arch.h"
#include "arm64_pmu.h"
#include "log.h"
#include "sysreg.h"

static enum pmu_isolation pmu_mode = PMU_ISOLATION_NONE;

/*
 * Registers by their generic S<op0>_<op1>_C<n>_C<m>_<op2> names, so the
 * assembler needs no -march for the PMUv3p4 ones. core/host_pmu.c never asks
 * for a direction the table forbids, so the unused cases (a read of
 * PMSWINC, a write of PMCEID0) are never executed.
 */
#define PMU_SYSREG(op0, op1, crn, crm, op2) S##op0##_##op1##_C##crn##_C##crm##_##op2
/* One level of indirection, so PMU_SYSREG() expands before read/write_sysreg stringify it. */
#define pmu_mrs(r) read_sysreg(r)
#define pmu_msr(r, v) write_sysreg(r, v)

u64 arch_pmu_read(enum pmu_reg reg)
{
	switch (reg) {
#define PMU_READ(name, op0, op1, crn, crm, op2, acc)                                                                 \
	case PMU_##name:                                                                                             \
		return pmu_mrs(PMU_SYSREG(op0, op1, crn, crm, op2));
		PMU_FIXED_REGS(PMU_READ)
#undef PMU_READ
	default:
		return 0;
	}
}

void arch_pmu_write(enum pmu_reg reg, u64 v)
{
	switch (reg) {
#define PMU_WRITE(name, op0, op1, crn, crm, op2, acc)                                                                \
	case PMU_##name:                                                                                             \
		pmu_msr(PMU_SYSREG(op0, op1, crn, crm, op2), v);                                                     \
		break;
		PMU_FIXED_REGS(PMU_WRITE)
#undef PMU_WRITE
	default:
		break;
	}
}

u64 arm64_pmu_init(u64 id_aa64dfr0)
{
	unsigned int pmuver = (unsigned int)((id_aa64dfr0 >> 8) & 0xf);
	u64 mdcr;

	pmu_mode = host_pmu_init(pmuver);
	if (pmu_mode == PMU_ISOLATION_NONE) {
		log_info("PMU: PMUVer %u: no architected PMU, nothing to isolate", pmuver);
		return 0;
	}
	/* HPMN = PMCR_EL0.N: every event counter stays the host's. */
	mdcr = (read_sysreg(pmcr_el0) >> 11) & MDCR_HPMN_MASK;
	if (pmu_mode == PMU_ISOLATION_HPMD) {
		log_info("PMU: PMUVer %u: MDCR_EL2.HPMD + HCCD keep EL2 out of the host's "
			 "counters",
			 pmuver);
		return mdcr | MDCR_HPMD | MDCR_HCCD;
	}
	/* No HPMD even where it exists (PMUv3p1+): clearing NSH covers every counter,
   * and HPMD would stop the host's software increments, which the core replays
   * at EL2 (host_pmu.c). */
	log_info("PMU: PMUVer %u: host PMU registers trapped, EL2 filter bit (NSH) "
		 "cleared on writes",
		 pmuver);
	return mdcr | MDCR_TPM | MDCR_TPMCR;
}

void arm64_pmu_stop_host(struct percpu *pc)
{
	pc->host_pmcnten = 0;
	if (pmu_mode == PMU_ISOLATION_NONE) {
		return; /* no PMU registers to touch */
	}
	/* One read per VCPU_RUN; the two writes only when the host has counters
   * enabled. */
	pc->host_pmcnten = read_sysreg(pmcntenset_el0);
	if (pc->host_pmcnten) {
		write_sysreg(pmcntenclr_el0, pc->host_pmcnten);
	}
}

void arm64_pmu_restart_host(struct percpu *pc)
{
	if (pc->host_pmcnten) {
		write_sysreg(pmcntenset_el0, pc->host_pmcnten);
		pc->host_pmcnten = 0;
	}
}

void arm64_pmu_hide_host_el0(struct percpu *pc)
{
	pc->host_pmuserenr = 0;
	if (pmu_mode == PMU_ISOLATION_NONE) {
		return; /* no PMU: no PMUSERENR_EL0 */
	}
	/* One read per VCPU_RUN; the two writes only when the host lets its EL0 in. */
	pc->host_pmuserenr = read_sysreg(pmuserenr_el0);
	if (pc->host_pmuserenr) {
		write_sysreg(pmuserenr_el0, 0);
	}
}

void arm64_pmu_restore_host_el0(struct percpu *pc)
{
	if (pc->host_pmuserenr) {
		write_sysreg(pmuserenr_el0, pc->host_pmuserenr);
		pc->host_pmuserenr = 0;
	}
}
