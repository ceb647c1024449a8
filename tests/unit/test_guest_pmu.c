/*
 * Unit tests for core/guest_pmu.c on the fake arch's PMU register file: a
 * normal vCPU's first PMU access switches the host's registers out and its
 * own in (NSH masked on its event-type writes), put gives the host back
 * exactly, load brings the vCPU's back, a new vCPU in a reused slot starts
 * from zero (no previous VM's counts), and protected VMs and non-PMU
 * registers are not touched. (The fake keeps each register as one value:
 * PMCNTENSET/CLR and friends are not paired there, so the set/clear writes
 * are checked as writes.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_arch.h"
#include "guest_pmu.h"
#include "moat/abi.h"
#include "pmu.h"
#include "vcpu.h"
#include "vm.h"

#define NSH (1ULL << 27)
#define CPU_CYCLES 0x11ULL
#define N_COUNTERS 4
#define ELR 0x80001000ULL

static u64 esr(unsigned int op0, unsigned int op1, unsigned int crn, unsigned int crm, unsigned int op2,
	       unsigned int rt, bool read)
{
	return (0x18ULL << 26) | (1ULL << 25) | ((u64)op0 << 20) | ((u64)op2 << 17) | ((u64)op1 << 14) |
	       ((u64)crn << 10) | ((u64)rt << 5) | ((u64)crm << 1) | (read ? 1 : 0);
}

#define ESR_PMEVTYPER(n, rt, rd) esr(3, 3, 14, 12 + (n) / 8, (n) % 8, rt, rd)
#define ESR_PMEVCNTR(n, rt, rd) esr(3, 3, 14, 8 + (n) / 8, (n) % 8, rt, rd)
#define ESR_PMCR(rt, rd) esr(3, 3, 9, 12, 0, rt, rd)
#define ESR_ACTLR_EL1(rt, rd) esr(3, 0, 1, 0, 1, rt, rd)

static struct vm vm;
static struct vcpu vcpu;

static int setup(void **state)
{
	(void)state;
	fake_reset();
	fake.pmu.fixed[PMU_pmcr_el0] = (u64)N_COUNTERS << 11;
	assert_int_equal(host_pmu_init(PMUVER_V3), PMU_ISOLATION_TRAP);
	/* The host's own programming. */
	fake.pmu.evtyper[1] = 0;
	fake.pmu.evcntr[1] = 1000;
	fake.pmu.evtyper[0] = CPU_CYCLES;
	fake.pmu.evcntr[0] = 5;
	fake.pmu.fixed[PMU_pmselr_el0] = 2;
	fake.pmu.fixed[PMU_pmcntenset_el0] = 1ULL << 1;
	fake.pmu.fixed[PMU_pmintenset_el1] = 1ULL << 1;
	fake.pmu.fixed[PMU_pmcr_el0] |= 1; /* E */
	vm = (struct vm){ .slot = 3, .type = MOAT_VM_NORMAL };
	vcpu = (struct vcpu){ .vm = &vm, .index = 1 };
	vcpu.ctx.regs.elr = ELR;
	return 0;
}

static bool trap(u64 e)
{
	return guest_pmu_trap(&vcpu, e);
}

static void assert_host_back(void)
{
	assert_int_equal(fake.pmu.evcntr[1], 1000);
	assert_int_equal(fake.pmu.evcntr[0], 5);
	assert_int_equal(fake.pmu.evtyper[0], CPU_CYCLES);
	assert_int_equal(fake.pmu.fixed[PMU_pmselr_el0], 2);
	assert_int_equal(fake.pmu.fixed[PMU_pmcntenset_el0], 1ULL << 1);
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], 1ULL << 1);
	assert_int_equal(fake.pmu.fixed[PMU_pmcr_el0], ((u64)N_COUNTERS << 11) | 1);
}

static void test_switch_and_mask(void **state)
{
	(void)state;
	vcpu.ctx.regs.x[3] = NSH | CPU_CYCLES;
	assert_true(trap(ESR_PMEVTYPER(0, 3, false)));
	assert_int_equal(vcpu.ctx.regs.elr, ELR + 4);
	assert_true(vcpu.pmu_used);
	/* The guest's registers are in: its own zeroed state, its write with NSH cleared. */
	assert_int_equal(fake.pmu.evtyper[0], CPU_CYCLES);
	assert_int_equal(fake.pmu.evcntr[1], 0);
	assert_int_equal(fake.pmu.fixed[PMU_pmcntenset_el0], 0);
	assert_int_equal(fake.pmu.fixed[PMU_pmselr_el0], 0);
	assert_int_equal(fake.pmu.fixed[PMU_pmintenclr_el1], 0xffffffffULL); /* no overflow PPI of the guest's */
	vcpu.ctx.regs.x[4] = 77;
	assert_true(trap(ESR_PMEVCNTR(1, 4, false)));
	/* PMCR: LP (bit 7) and above dropped. */
	vcpu.ctx.regs.x[5] = 0xff;
	assert_true(trap(ESR_PMCR(5, false)));
	assert_int_equal(fake.pmu.fixed[PMU_pmcr_el0], ((u64)N_COUNTERS << 11) | 0x7f);
	guest_pmu_put(&vcpu);
	assert_host_back();
	/* The next load brings the guest's back. */
	guest_pmu_load(&vcpu);
	assert_int_equal(fake.pmu.evcntr[1], 77);
	assert_int_equal(fake.pmu.evtyper[0], CPU_CYCLES);
	vcpu.ctx.regs.x[6] = 0;
	assert_true(trap(ESR_PMEVTYPER(0, 6, true)));
	assert_int_equal(vcpu.ctx.regs.x[6], CPU_CYCLES);
	guest_pmu_put(&vcpu);
	assert_host_back();
	/* A new vCPU in the same slot (a new VM): the previous one's counts do not show. */
	vcpu = (struct vcpu){ .vm = &vm, .index = 1 };
	vcpu.ctx.regs.x[7] = 0xdead;
	assert_true(trap(ESR_PMEVCNTR(1, 7, true)));
	assert_int_equal(vcpu.ctx.regs.x[7], 0);
	guest_pmu_put(&vcpu);
	assert_host_back();
}

static void test_not_touched(void **state)
{
	(void)state;
	/* A non-PMU register of a normal VM: not ours, nothing switched. */
	assert_false(trap(ESR_ACTLR_EL1(1, true)));
	assert_false(vcpu.pmu_used);
	guest_pmu_load(&vcpu);
	guest_pmu_put(&vcpu);
	assert_host_back();
	/* A protected VM: never (RAZ/WI in guest_refuse.c). */
	vm.type = MOAT_VM_PROTECTED;
	vcpu.ctx.regs.x[3] = NSH | CPU_CYCLES;
	assert_false(trap(ESR_PMEVTYPER(0, 3, false)));
	assert_false(vcpu.pmu_used);
	assert_int_equal(vcpu.ctx.regs.elr, ELR);
	assert_host_back();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_switch_and_mask, setup),
		cmocka_unit_test_setup(test_not_touched, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
