/*
 * The host's PMU register traps (DESIGN §6, core/include/pmu.h): on a CPU
 * whose PMU cannot be told to leave EL2 alone (PMUv3 to PMUv3p4), every
 * host access to a PMU register traps here and is replayed at EL2, with the
 * EL2 filter bit cleared from event-type writes so no counter ever counts
 * the core.
 *
 * Called from the arm64 vectors for EC 0x18 traps taken from the host (EL1,
 * or EL0 when PMUSERENR_EL0 let the access past EL1: the architecture checks
 * PMUSERENR before MDCR_EL2.TPM, so what reaches us is already allowed at
 * that EL). No lock: PMU registers are per CPU and the host's trap runs to
 * completion on its own CPU. The PMUVer below is written once at boot.
 *
 * Rule for everything here: never execute an access the architecture calls
 * UNDEFINED or CONSTRAINED UNPREDICTABLE at EL2 (an UNDEF at EL2 is a core
 * panic). The host gets an undefined-instruction exception instead, or for
 * an out-of-range PMSELR index RAZ/WI, one of the behaviours the
 * architecture allows for it.
 */
#include "arch.h"
#include "host.h"
#include "inject.h"
#include "pmu.h"

#define PMCR_N(pmcr) (((pmcr) >> 11) & 0x1fU)
#define PMCR_E 1UL /* counters enabled */
#define PMSELR_SEL(v) ((unsigned int)((v)&0x1fU))
#define PMU_CYCLE_INDEX 31U /* PMSELR.SEL / PMEVTYPER<31> mean the cycle counter: PMCCFILTR */
/* PMEVTYPER<n>_EL0 fields besides NSH (pmu.h) */
#define EVTYPER_P (1UL << 31)	/* EL1 filter */
#define EVTYPER_U (1UL << 30)	/* EL0 filter */
#define EVTYPER_NSK (1UL << 29) /* Non-secure EL1, relative to P (RES0 without EL3) */
#define EVTYPER_NSU (1UL << 28) /* Non-secure EL0, relative to U (RES0 without EL3) */
#define EVTYPER_EVENT 0xffffUL	/* evtCount (bits 15:10 RES0 before PMUv3p1) */
#define EVENT_SW_INCR 0x0000UL	/* counts PMSWINC_EL0 writes and nothing else */

/* ISS of a trapped MSR/MRS (EC 0x18): Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], CRm [4:1]. */
#define SYSREG_ISS(op0, op1, crn, crm, op2)                                                                          \
	(((u64)(op0) << 20) | ((u64)(op2) << 17) | ((u64)(op1) << 14) | ((u64)(crn) << 10) | ((u64)(crm) << 1))
#define SYSREG_ISS_MASK SYSREG_ISS(3, 7, 15, 15, 7)
/* PMEVCNTR<n>_EL0 is S3_3_C14_C(8 + n / 8)_(n % 8), PMEVTYPER<n>_EL0 the same with CRm 12 + n / 8. */
#define SYSREG_ISS_EVCNTR_BASE SYSREG_ISS(3, 3, 14, 8, 0)
#define SYSREG_ISS_EVTYPER_BASE SYSREG_ISS(3, 3, 14, 12, 0)
#define SYSREG_ISS_EV_INDEX_MASK SYSREG_ISS(0, 0, 0, 3, 7)

static unsigned int host_pmuver;
static enum pmu_isolation host_iso = PMU_ISOLATION_NONE; /* written once by host_pmu_init */

static const struct {
	u64 iss;
	unsigned int access;
} fixed_regs[PMU_NR_FIXED] = {
#define PMU_ENTRY(name, op0, op1, crn, crm, op2, acc) [PMU_##name] = { SYSREG_ISS(op0, op1, crn, crm, op2), acc },
	PMU_FIXED_REGS(PMU_ENTRY)
#undef PMU_ENTRY
};

enum pmu_isolation pmu_isolation_for(unsigned int pmuver)
{
	if (pmuver == PMUVER_NONE || pmuver == PMUVER_IMPDEF) {
		return PMU_ISOLATION_NONE;
	}
	return pmuver >= PMUVER_V3P5 ? PMU_ISOLATION_HPMD : PMU_ISOLATION_TRAP;
}

/* The index n (0..31) of a PMEVCNTR<n>/PMEVTYPER<n> encoding, rebuilt from CRm[1:0]:op2. */
static unsigned int ev_index(u64 iss)
{
	return (unsigned int)((((iss >> 1) & 3) << 3) | ((iss >> 17) & 7));
}

static u64 get_rt(const struct cpu_regs *regs, unsigned int rt)
{
	return rt == 31 ? 0 : regs->x[rt]; /* register 31 is XZR here */
}

static void set_rt(struct cpu_regs *regs, unsigned int rt, u64 v)
{
	if (rt != 31) {
		regs->x[rt] = v;
	}
}

/*
 * Event type or counter n through PMSELR_EL0, whose host value is restored
 * after. The ISB makes the new selection visible to the PMXEV* access.
 */
u64 pmu_indexed_access(enum pmu_reg xreg, unsigned int n, bool read, u64 v)
{
	u64 sel = arch_pmu_read(PMU_pmselr_el0);

	arch_pmu_write(PMU_pmselr_el0, n);
	arch_isb();
	if (read) {
		v = arch_pmu_read(xreg);
	} else {
		arch_pmu_write(xreg, v);
	}
	arch_pmu_write(PMU_pmselr_el0, sel);
	return v;
}

/*
 * Event types keep their values across the core's boot, and their reset
 * values are UNKNOWN: one left with NSH set would count EL2 as soon as the
 * host enabled its counter, without a single trapped write. Clear NSH in
 * all of them (and PMCCFILTR) before the host runs.
 */
static void strip_nsh_everywhere(void)
{
	unsigned int n_ctrs = PMCR_N(arch_pmu_read(PMU_pmcr_el0));

	for (unsigned int n = 0; n < n_ctrs && n < PMU_CYCLE_INDEX; n++) {
		u64 t = pmu_indexed_access(PMU_pmxevtyper_el0, n, true, 0);

		pmu_indexed_access(PMU_pmxevtyper_el0, n, false, pmu_filter_evtyper(t));
	}
	arch_pmu_write(PMU_pmccfiltr_el0, pmu_filter_evtyper(arch_pmu_read(PMU_pmccfiltr_el0)));
}

enum pmu_isolation host_pmu_init(unsigned int pmuver)
{
	enum pmu_isolation iso = pmu_isolation_for(pmuver);

	host_pmuver = iso == PMU_ISOLATION_NONE ? PMUVER_NONE : pmuver;
	host_iso = iso;
	host_pmu_init_cpu();
	return iso;
}

void host_pmu_init_cpu(void)
{
	if (host_iso == PMU_ISOLATION_TRAP) {
		strip_nsh_everywhere();
	}
}

unsigned int pmu_counters(void)
{
	return host_pmuver == PMUVER_NONE ? 0 : PMCR_N(arch_pmu_read(PMU_pmcr_el0));
}

u64 pmu_filter_evtyper(u64 v)
{
	return v & ~PMU_EVTYPER_NSH;
}

/* Counter n exists: n < PMCR.N, or n = 31 (the cycle counter) for an event type. HPMN = N: all are the host's. */
static bool index_ok(enum pmu_reg xreg, unsigned int n)
{
	return n < PMCR_N(arch_pmu_read(PMU_pmcr_el0)) || (xreg == PMU_pmxevtyper_el0 && n == PMU_CYCLE_INDEX);
}

static void indexed(struct cpu_regs *regs, enum pmu_reg xreg, unsigned int n, bool read, unsigned int rt)
{
	u64 v = get_rt(regs, rt);

	if (xreg == PMU_pmxevtyper_el0 && !read) {
		v = pmu_filter_evtyper(v);
	}
	v = pmu_indexed_access(xreg, n, read, v);
	if (read) {
		set_rt(regs, rt, v);
	}
}

/* Does a counter with event type t count events at the host's EL1 (or EL0)? Non-secure: P == NSK (U == NSU). */
static bool counts_at(u64 t, bool el0)
{
	if (el0) {
		return !(t & EVTYPER_U) == !(t & EVTYPER_NSU);
	}
	return !(t & EVTYPER_P) == !(t & EVTYPER_NSK);
}

/*
 * With MDCR_EL2.HPMD set (PMUv3p5+), no write at EL2 counts, NSH or not; the
 * host never traps there, but a normal guest does (core/guest_pmu.c). So
 * the increment is done by hand: each enabled counter in hit gains one, and
 * a 32-bit wrap sets its overflow flag (PMCR.LP, 64-bit event counters, is
 * masked for guests).
 */
static void hpmd_increment(u64 hit)
{
	u64 enabled = (arch_pmu_read(PMU_pmcr_el0) & PMCR_E) ? arch_pmu_read(PMU_pmcntenset_el0) : 0;

	for (unsigned int n = 0; n < PMU_CYCLE_INDEX; n++) {
		if (hit & enabled & (1UL << n)) {
			u64 c = (pmu_indexed_access(PMU_pmxevcntr_el0, n, true, 0) + 1) & 0xffffffffUL;

			pmu_indexed_access(PMU_pmxevcntr_el0, n, false, c);
			if (!c) {
				arch_pmu_write(PMU_pmovsset_el0, 1UL << n);
			}
		}
	}
}

/*
 * PMSWINC_EL0: a software increment is an event at the EL that writes the
 * register, and our write runs at EL2, which no host counter counts. So
 * each SW_INCR counter named in the mask that would count at the host's EL
 * gets NSH for the length of the write, then its own type back. SW_INCR
 * counts nothing but PMSWINC writes, so no EL2 event of the core is counted
 * meanwhile; other counters are left out of the mask (PMSWINC does not
 * touch them anyway).
 */
static void software_increment(u64 mask, bool el0)
{
	unsigned int n_ctrs = PMCR_N(arch_pmu_read(PMU_pmcr_el0));
	u64 types[PMU_CYCLE_INDEX], hit = 0;

	for (unsigned int n = 0; n < n_ctrs && n < PMU_CYCLE_INDEX; n++) {
		if (!(mask & (1UL << n))) {
			continue;
		}
		types[n] = pmu_indexed_access(PMU_pmxevtyper_el0, n, true, 0);
		if ((types[n] & EVTYPER_EVENT) == EVENT_SW_INCR && counts_at(types[n], el0)) {
			if (host_iso != PMU_ISOLATION_HPMD) {
				pmu_indexed_access(PMU_pmxevtyper_el0, n, false, types[n] | PMU_EVTYPER_NSH);
			}
			hit |= 1UL << n;
		}
	}
	if (!hit) {
		return;
	}
	if (host_iso == PMU_ISOLATION_HPMD) {
		hpmd_increment(hit);
		return;
	}
	arch_isb(); /* the new filters apply to the increment */
	arch_pmu_write(PMU_pmswinc_el0, hit);
	arch_isb(); /* the increment happened under them before they go */
	for (unsigned int n = 0; n < n_ctrs && n < PMU_CYCLE_INDEX; n++) {
		if (hit & (1UL << n)) {
			pmu_indexed_access(PMU_pmxevtyper_el0, n, false, types[n]);
		}
	}
}

static bool fixed_allowed(enum pmu_reg reg, bool read, bool el0)
{
	unsigned int access = fixed_regs[reg].access;

	if (!(access & (read ? PMU_R : PMU_W)) || (el0 && (access & PMU_EL1))) {
		return false;
	}
	/* PMUSERENR_EL0 is read-only at EL0. */
	if (el0 && !read && reg == PMU_pmuserenr_el0) {
		return false;
	}
	return !(access & PMU_V3P4) || host_pmuver >= PMUVER_V3P4;
}

/* A fixed-encoding register; PMXEVTYPER/PMXEVCNTR act on the host's own PMSELR selection. */
static bool fixed(struct cpu_regs *regs, enum pmu_reg reg, bool read, unsigned int rt)
{
	u64 v = get_rt(regs, rt);

	if (!fixed_allowed(reg, read, spsr_is_el0(regs->spsr))) {
		return false;
	}
	if (reg == PMU_pmxevtyper_el0 || reg == PMU_pmxevcntr_el0) {
		unsigned int n = PMSELR_SEL(arch_pmu_read(PMU_pmselr_el0));

		if (index_ok(reg, n)) {
			indexed(regs, reg, n, read, rt);
		} else if (read) {
			/* CONSTRAINED UNPREDICTABLE: we pick RAZ/WI, and never touch it at EL2. */
			set_rt(regs, rt, 0);
		}
		return true;
	}
	if (read) {
		set_rt(regs, rt, arch_pmu_read(reg));
	} else if (reg == PMU_pmswinc_el0) {
		software_increment(v, spsr_is_el0(regs->spsr));
	} else {
		arch_pmu_write(reg, reg == PMU_pmccfiltr_el0 ? pmu_filter_evtyper(v) : v);
	}
	return true;
}

/* PMEVCNTR<n>_EL0 / PMEVTYPER<n>_EL0 (n = 31 as a type is PMCCFILTR, served as the fixed register). */
static bool event_reg(struct cpu_regs *regs, u64 iss, bool read, unsigned int rt)
{
	u64 base = iss & ~SYSREG_ISS_EV_INDEX_MASK;
	enum pmu_reg xreg = base == SYSREG_ISS_EVTYPER_BASE ? PMU_pmxevtyper_el0 : PMU_pmxevcntr_el0;
	unsigned int n = ev_index(iss);

	if (base != SYSREG_ISS_EVTYPER_BASE && base != SYSREG_ISS_EVCNTR_BASE) {
		return false;
	}
	if (n == PMU_CYCLE_INDEX || !index_ok(xreg, n)) {
		/* PMEVCNTR31 does not exist; PMEVTYPER31 is PMCCFILTR's encoding and matched the table already. */
		return false;
	}
	indexed(regs, xreg, n, read, rt);
	return true;
}

bool pmu_emulate(struct cpu_regs *regs, u64 esr)
{
	u64 iss = esr & SYSREG_ISS_MASK;
	bool read = (esr & ESR_SYSREG_READ) != 0;
	unsigned int rt = (unsigned int)ESR_SYSREG_RT(esr);

	if (host_pmuver == PMUVER_NONE) {
		return false; /* no PMU traps are set up: this was not one */
	}
	for (unsigned int i = 0; i < PMU_NR_FIXED; i++) {
		if (fixed_regs[i].iss == iss) {
			return fixed(regs, (enum pmu_reg)i, read, rt);
		}
	}
	return event_reg(regs, iss, read, rt);
}

void host_sysreg_trap(struct cpu_regs *regs, u64 esr)
{
	if (!pmu_emulate(regs, esr)) {
		host_unexpected_trap(regs, esr);
		return;
	}
	regs_skip_insn(regs); /* MSR/MRS are always 32-bit instructions */
}
