/*
 * Unit tests for core/host_pmu.c: which isolation each PMU version gets, the
 * filter policy (NSH cleared, nothing else), the boot-time clean-up of event
 * types, and the emulation of every kind of trapped host PMU access on the
 * fake arch's register file: fixed registers, PMEVTYPER<n>/PMEVCNTR<n>
 * through PMSELR (which must come back as the host left it, with an ISB
 * between selecting and accessing), PMSELR = 31, out-of-range indices,
 * forbidden directions and ELs, XZR, software increments, non-PMU
 * registers. Encodings are written out from the Arm ARM, not taken from
 * pmu.h's table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_arch.h"
#include "pmu.h"

#define NSH (1ULL << 27)
#define P_BIT (1ULL << 31)
#define U_BIT (1ULL << 30)
#define CPU_CYCLES 0x11ULL
#define SW_INCR 0x0ULL
#define N_COUNTERS 4
#define ELR 0x80001000ULL
#define SPSR_EL1H 0x3c5ULL
#define SPSR_EL0T 0x000ULL

/* ESR_EL2 of a trapped MSR (read = 0) or MRS (read = 1): EC 0x18, IL, Op0, Op2, Op1, CRn, Rt, CRm, Dir. */
static u64 esr(unsigned int op0, unsigned int op1, unsigned int crn, unsigned int crm, unsigned int op2,
	       unsigned int rt, bool read)
{
	return (0x18ULL << 26) | (1ULL << 25) | ((u64)op0 << 20) | ((u64)op2 << 17) | ((u64)op1 << 14) |
	       ((u64)crn << 10) | ((u64)rt << 5) | ((u64)crm << 1) | (read ? 1 : 0);
}

#define ESR_PMCCFILTR(rt, rd) esr(3, 3, 14, 15, 7, rt, rd)
#define ESR_PMEVTYPER(n, rt, rd) esr(3, 3, 14, 12 + (n) / 8, (n) % 8, rt, rd)
#define ESR_PMEVCNTR(n, rt, rd) esr(3, 3, 14, 8 + (n) / 8, (n) % 8, rt, rd)
#define ESR_PMXEVTYPER(rt, rd) esr(3, 3, 9, 13, 1, rt, rd)
#define ESR_PMXEVCNTR(rt, rd) esr(3, 3, 9, 13, 2, rt, rd)
#define ESR_PMSWINC(rt, rd) esr(3, 3, 9, 12, 4, rt, rd)
#define ESR_PMCEID0(rt, rd) esr(3, 3, 9, 12, 6, rt, rd)
#define ESR_PMCCNTR(rt, rd) esr(3, 3, 9, 13, 0, rt, rd)
#define ESR_PMUSERENR(rt, rd) esr(3, 3, 9, 14, 0, rt, rd)
#define ESR_PMINTENSET(rt, rd) esr(3, 0, 9, 14, 1, rt, rd)
#define ESR_PMMIR(rt, rd) esr(3, 0, 9, 14, 6, rt, rd)
#define ESR_PMCR(rt, rd) esr(3, 3, 9, 12, 0, rt, rd)
#define ESR_SCTLR_EL1(rt, rd) esr(3, 0, 1, 0, 0, rt, rd)

static struct cpu_regs regs;

/* A PMUv3 with N_COUNTERS counters, in trap mode, host at EL1h. */
static int setup(void **state)
{
	(void)state;
	fake_reset();
	fake.pmu.fixed[PMU_pmcr_el0] = (u64)N_COUNTERS << 11;
	assert_int_equal(host_pmu_init(PMUVER_V3), PMU_ISOLATION_TRAP);
	fake.nr_ops = 0;
	regs = (struct cpu_regs){ .elr = ELR, .spsr = SPSR_EL1H };
	return 0;
}

static void trap(u64 e)
{
	host_sysreg_trap(&regs, e);
}

static void assert_emulated(void)
{
	assert_int_equal(fake.injected, 0);
	assert_int_equal(regs.elr, ELR + 4);
}

static void assert_undef(void)
{
	assert_int_equal(fake.injected, 1);
	assert_int_equal(fake.last_esr_el1, 1ULL << 25); /* EC 0, IL */
	assert_int_equal(regs.elr, ELR);		  /* the fake does not redirect; the core did not skip it */
}

static unsigned int pmu_writes(enum pmu_reg reg)
{
	unsigned int n = 0;

	for (size_t i = 0; i < fake.nr_ops; i++) {
		n += fake.ops[i].op == FAKE_PMU_WRITE && fake.ops[i].arg == reg;
	}
	return n;
}

static void test_isolation_for(void **state)
{
	(void)state;
	assert_int_equal(pmu_isolation_for(0x0), PMU_ISOLATION_NONE);
	assert_int_equal(pmu_isolation_for(0xf), PMU_ISOLATION_NONE); /* IMPLEMENTATION DEFINED: not PMUv3 */
	assert_int_equal(pmu_isolation_for(0x1), PMU_ISOLATION_TRAP);	/* PMUv3: no HPMD */
	assert_int_equal(pmu_isolation_for(0x4), PMU_ISOLATION_TRAP);	/* v3p1: HPMD spares the cycle counter */
	assert_int_equal(pmu_isolation_for(0x5), PMU_ISOLATION_TRAP);	/* v3p4 */
	assert_int_equal(pmu_isolation_for(0x6), PMU_ISOLATION_HPMD);	/* v3p5: HCCD */
	assert_int_equal(pmu_isolation_for(0x7), PMU_ISOLATION_HPMD);
	assert_int_equal(pmu_isolation_for(0x8), PMU_ISOLATION_HPMD);
}

static void test_filter_clears_nsh_only(void **state)
{
	(void)state;
	assert_int_equal(pmu_filter_evtyper(0xffffffffffffffffULL), 0xfffffffff7ffffffULL);
	assert_int_equal(pmu_filter_evtyper(NSH | P_BIT | CPU_CYCLES), P_BIT | CPU_CYCLES);
	assert_int_equal(pmu_filter_evtyper(U_BIT | 0x8), U_BIT | 0x8);
	/* SH (24), M (26), NSK/NSU (29/28) are not EL2 of the Non-secure state: kept. */
	assert_int_equal(pmu_filter_evtyper(0x35000000ULL), 0x35000000ULL);
}

/* UNKNOWN reset values (or a previous boot) may have left NSH set: the core clears it before the host runs. */
static void test_init_strips_nsh(void **state)
{
	(void)state;
	fake_reset();
	fake.pmu.fixed[PMU_pmcr_el0] = (u64)N_COUNTERS << 11;
	fake.pmu.fixed[PMU_pmselr_el0] = 2;
	for (unsigned int n = 0; n < 31; n++) {
		fake.pmu.evtyper[n] = NSH | P_BIT | n;
	}
	fake.pmu.fixed[PMU_pmccfiltr_el0] = NSH | U_BIT;
	assert_int_equal(host_pmu_init(PMUVER_V3), PMU_ISOLATION_TRAP);
	for (unsigned int n = 0; n < N_COUNTERS; n++) {
		assert_int_equal(fake.pmu.evtyper[n], P_BIT | n);
	}
	assert_int_equal(fake.pmu.evtyper[N_COUNTERS], NSH | P_BIT | N_COUNTERS); /* no such counter: untouched */
	assert_int_equal(fake.pmu.fixed[PMU_pmccfiltr_el0], U_BIT);
	assert_int_equal(fake.pmu.fixed[PMU_pmselr_el0], 2);

	/* PMUv3p5: HPMD/HCCD do it, no register is touched; no PMU: none may be. */
	fake.nr_ops = 0;
	fake.pmu.evtyper[0] = NSH;
	assert_int_equal(host_pmu_init(PMUVER_V3P5), PMU_ISOLATION_HPMD);
	assert_int_equal(host_pmu_init(PMUVER_NONE), PMU_ISOLATION_NONE);
	assert_int_equal(fake.nr_ops, 0);
	assert_int_equal(fake.pmu.evtyper[0], NSH);
}

static void test_pmccfiltr_write_and_read(void **state)
{
	(void)state;
	regs.x[5] = NSH | P_BIT;
	trap(ESR_PMCCFILTR(5, false));
	assert_emulated();
	assert_int_equal(fake.pmu.fixed[PMU_pmccfiltr_el0], P_BIT);
	/* A read returns what the register holds: honest about what is counted. */
	regs.elr = ELR;
	trap(ESR_PMCCFILTR(9, true));
	assert_emulated();
	assert_int_equal(regs.x[9], P_BIT);
}

/* PMEVTYPER3 through PMSELR: select, ISB, access, give the host its PMSELR back. */
static void test_evtyper_direct(void **state)
{
	static const struct {
		enum fake_op op;
		u64 arg;
	} want[] = {
		{ FAKE_PMU_READ, PMU_pmselr_el0 },  { FAKE_PMU_WRITE, PMU_pmselr_el0 },
		{ FAKE_ISB, 0 },		     { FAKE_PMU_WRITE, PMU_pmxevtyper_el0 },
		{ FAKE_PMU_WRITE, PMU_pmselr_el0 },
	};
	size_t from = 0;

	(void)state;
	fake.pmu.fixed[PMU_pmselr_el0] = 1;
	regs.x[2] = NSH | CPU_CYCLES;
	trap(ESR_PMEVTYPER(3, 2, false));
	assert_emulated();
	assert_int_equal(fake.pmu.evtyper[3], CPU_CYCLES);
	assert_int_equal(fake.pmu.evtyper[1], 0);
	assert_int_equal(fake.pmu.fixed[PMU_pmselr_el0], 1);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		while (from < fake.nr_ops && !(fake.ops[from].op == want[i].op && fake.ops[from].arg == want[i].arg)) {
			from++;
		}
		assert_true(from < fake.nr_ops);
		from++;
	}
}

static void test_evcntr_direct(void **state)
{
	(void)state;
	fake.pmu.evcntr[2] = 0x1234;
	trap(ESR_PMEVCNTR(2, 7, true));
	assert_emulated();
	assert_int_equal(regs.x[7], 0x1234);
	regs.elr = ELR;
	regs.x[8] = 0x99;
	trap(ESR_PMEVCNTR(1, 8, false)); /* counter writes are not filtered */
	assert_emulated();
	assert_int_equal(fake.pmu.evcntr[1], 0x99);
}

/* Direct encodings of counters that do not exist (n >= PMCR.N, PMEVCNTR31): UNDEFINED, never executed at EL2. */
static void test_evreg_out_of_range(void **state)
{
	(void)state;
	trap(ESR_PMEVCNTR(N_COUNTERS, 3, true));
	assert_undef();
	fake.injected = 0;
	trap(ESR_PMEVTYPER(30, 3, false));
	assert_undef();
	fake.injected = 0;
	trap(ESR_PMEVCNTR(31, 3, true));
	assert_undef();
	assert_int_equal(pmu_writes(PMU_pmxevtyper_el0) + pmu_writes(PMU_pmxevcntr_el0), 0);
}

static void test_xevtyper_follows_pmselr(void **state)
{
	(void)state;
	fake.pmu.fixed[PMU_pmselr_el0] = 2;
	regs.x[4] = NSH | SW_INCR;
	trap(ESR_PMXEVTYPER(4, false));
	assert_emulated();
	assert_int_equal(fake.pmu.evtyper[2], SW_INCR);
	/* SEL = 31 makes PMXEVTYPER the cycle filter: filtered all the same. */
	regs.elr = ELR;
	fake.pmu.fixed[PMU_pmselr_el0] = 31;
	regs.x[4] = NSH | U_BIT;
	trap(ESR_PMXEVTYPER(4, false));
	assert_emulated();
	assert_int_equal(fake.pmu.fixed[PMU_pmccfiltr_el0], U_BIT);
	assert_int_equal(fake.pmu.fixed[PMU_pmselr_el0], 31);
}

/* PMSELR past the counters (or 31 for PMXEVCNTR): CONSTRAINED UNPREDICTABLE, answered RAZ/WI without touching it. */
static void test_xev_out_of_range_raz_wi(void **state)
{
	(void)state;
	fake.pmu.fixed[PMU_pmselr_el0] = N_COUNTERS;
	regs.x[3] = 0xdead;
	trap(ESR_PMXEVCNTR(3, true));
	assert_emulated();
	assert_int_equal(regs.x[3], 0);
	regs.elr = ELR;
	regs.x[3] = NSH;
	trap(ESR_PMXEVTYPER(3, false));
	assert_emulated();
	regs.elr = ELR;
	fake.pmu.fixed[PMU_pmselr_el0] = 31;
	regs.x[3] = 0xdead;
	trap(ESR_PMXEVCNTR(3, true));
	assert_emulated();
	assert_int_equal(regs.x[3], 0);
	assert_int_equal(pmu_writes(PMU_pmxevtyper_el0) + pmu_writes(PMU_pmxevcntr_el0), 0);
	assert_int_equal(fake.pmu.evtyper[N_COUNTERS], 0);
}

/* Directions the architecture does not have, and EL1-only registers from EL0: UNDEF, nothing executed. */
static void test_access_rules(void **state)
{
	(void)state;
	trap(ESR_PMSWINC(1, true));
	assert_undef();
	setup(NULL);
	trap(ESR_PMCEID0(1, false));
	assert_undef();
	setup(NULL);
	regs.spsr = SPSR_EL0T;
	trap(ESR_PMINTENSET(1, true));
	assert_undef();
	setup(NULL);
	regs.spsr = SPSR_EL0T;
	trap(ESR_PMUSERENR(1, false));
	assert_undef();
	setup(NULL);
	regs.spsr = SPSR_EL0T;
	fake.pmu.fixed[PMU_pmuserenr_el0] = 1;
	trap(ESR_PMUSERENR(1, true));
	assert_emulated();
	assert_int_equal(regs.x[1], 1);
	/* PMMIR_EL1 exists from PMUv3p4 only. */
	setup(NULL);
	trap(ESR_PMMIR(1, true));
	assert_undef();
	setup(NULL);
	host_pmu_init(PMUVER_V3P4);
	fake.pmu.fixed[PMU_pmmir_el1] = 0x77;
	trap(ESR_PMMIR(1, true));
	assert_emulated();
	assert_int_equal(regs.x[1], 0x77);
	assert_int_equal(pmu_writes(PMU_pmceid0_el0), 0);
}

/* The trap from EL0 (PMUSERENR allowed it) is served like one from EL1. */
static void test_el0_access(void **state)
{
	(void)state;
	regs.spsr = SPSR_EL0T;
	regs.x[0] = NSH;
	trap(ESR_PMCCFILTR(0, false));
	assert_emulated();
	assert_int_equal(fake.pmu.fixed[PMU_pmccfiltr_el0], 0);
	regs.elr = ELR;
	fake.pmu.fixed[PMU_pmccntr_el0] = 12345;
	trap(ESR_PMCCNTR(0, true));
	assert_emulated();
	assert_int_equal(regs.x[0], 12345);
}

/* Rt = 31 is XZR: a read goes nowhere, a write writes 0. */
static void test_xzr(void **state)
{
	struct cpu_regs before;

	(void)state;
	fake.pmu.fixed[PMU_pmccntr_el0] = 55;
	before = regs;
	trap(ESR_PMCCNTR(31, true));
	assert_emulated();
	before.elr += 4;
	assert_memory_equal(&regs, &before, sizeof(regs));
	regs.elr = ELR;
	trap(ESR_PMCCNTR(31, false));
	assert_emulated();
	assert_int_equal(fake.pmu.fixed[PMU_pmccntr_el0], 0);
}

static void test_not_pmu_or_no_pmu(void **state)
{
	(void)state;
	trap(ESR_SCTLR_EL1(1, true));
	assert_undef();
	setup(NULL);
	host_pmu_init(PMUVER_NONE);
	trap(ESR_PMCR(1, true));
	assert_undef();
	assert_int_equal(fake.nr_ops, 0); /* no PMU: not a single PMU register touched */
}

/*
 * PMSWINC: only SW_INCR counters that count at the writer's EL get the
 * increment; they carry NSH just for the write (the fake counts at "EL2" by
 * NSH, like the hardware) and get their own type back.
 */
static void test_software_increment(void **state)
{
	(void)state;
	fake.pmu.evtyper[0] = SW_INCR;		/* counts at EL1, not in the mask */
	fake.pmu.evtyper[1] = SW_INCR;		/* counts at EL1 */
	fake.pmu.evtyper[2] = SW_INCR | P_BIT;	/* P: not at EL1 */
	fake.pmu.evtyper[3] = CPU_CYCLES;	/* not a software-increment counter */
	regs.x[6] = 0xe;
	trap(ESR_PMSWINC(6, false));
	assert_emulated();
	assert_int_equal(fake.pmu.evcntr[0], 0);
	assert_int_equal(fake.pmu.evcntr[1], 1);
	assert_int_equal(fake.pmu.evcntr[2], 0);
	assert_int_equal(fake.pmu.evcntr[3], 0);
	assert_int_equal(fake.pmu.last_write, SW_INCR);		/* the last write restored a type... */
	assert_int_equal(fake.pmu.evtyper[1], SW_INCR);		/* ...without NSH */
	assert_int_equal(fake.pmu.evtyper[3], CPU_CYCLES);	/* never given NSH */
	assert_int_equal(pmu_writes(PMU_pmswinc_el0), 1);
	/* From EL0 the U filter decides. */
	setup(NULL);
	regs.spsr = SPSR_EL0T;
	fake.pmu.evtyper[1] = SW_INCR | U_BIT;
	fake.pmu.evtyper[2] = SW_INCR | P_BIT;
	regs.x[6] = 0x6;
	trap(ESR_PMSWINC(6, false));
	assert_emulated();
	assert_int_equal(fake.pmu.evcntr[1], 0);
	assert_int_equal(fake.pmu.evcntr[2], 1);
	assert_int_equal(fake.pmu.evtyper[2], SW_INCR | P_BIT);
	/* Nothing to increment: no write at all. */
	setup(NULL);
	fake.pmu.evtyper[3] = CPU_CYCLES;
	regs.x[6] = 0x8;
	trap(ESR_PMSWINC(6, false));
	assert_emulated();
	assert_int_equal(pmu_writes(PMU_pmswinc_el0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isolation_for),
		cmocka_unit_test(test_filter_clears_nsh_only),
		cmocka_unit_test(test_init_strips_nsh),
		cmocka_unit_test_setup(test_pmccfiltr_write_and_read, setup),
		cmocka_unit_test_setup(test_evtyper_direct, setup),
		cmocka_unit_test_setup(test_evcntr_direct, setup),
		cmocka_unit_test_setup(test_evreg_out_of_range, setup),
		cmocka_unit_test_setup(test_xevtyper_follows_pmselr, setup),
		cmocka_unit_test_setup(test_xev_out_of_range_raz_wi, setup),
		cmocka_unit_test_setup(test_access_rules, setup),
		cmocka_unit_test_setup(test_el0_access, setup),
		cmocka_unit_test_setup(test_xzr, setup),
		cmocka_unit_test_setup(test_not_pmu_or_no_pmu, setup),
		cmocka_unit_test_setup(test_software_increment, setup),
	};

	return cmocka_run_group_tests_name("host_pmu", tests, NULL, NULL);
}
