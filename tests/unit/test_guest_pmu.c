/*
 * Unit tests for core/guest_pmu.c on the fake arch's PMU register file: a
 * normal vCPU's first PMU access switches the host's registers out and its
 * own in (NSH masked on its event-type writes), put gives the host back
 * exactly, load brings the vCPU's back, a new vCPU in a reused slot starts
 * from zero (no previous VM's counts), and protected VMs and non-PMU
 * registers are not touched. The overflow interrupt: the level function
 * (PMCR.E, PMOVS & PMINTEN) and the CPU's PMINTEN (enabled and not yet
 * overflowed), then the sequences on the fake -- an overflow raises the
 * vGIC's PPI 23 once and leaves the CPU's PMINTEN (masked at the source),
 * PMOVSCLR lowers it and withdraws a pending state not yet taken, PMCR.E
 * gates it, put keeps the line and gives the host its PMINTEN -- and
 * PMUSERENR in the CPU while the guest's PMU is loaded, 0 at put. (The
 * fake pairs PMCNTEN/PMINTEN/PMOVS SET and CLR as the CPU does.)
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
#include "vgic.h"
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
#define ESR_PMINTENSET(rt, rd) esr(3, 0, 9, 14, 1, rt, rd)
#define ESR_PMINTENCLR(rt, rd) esr(3, 0, 9, 14, 2, rt, rd)
#define ESR_PMOVSSET(rt, rd) esr(3, 3, 9, 14, 3, rt, rd)
#define ESR_PMOVSCLR(rt, rd) esr(3, 3, 9, 12, 3, rt, rd)
#define ESR_PMUSERENR(rt, rd) esr(3, 3, 9, 14, 0, rt, rd)
#define PPI23 (1U << VGIC_INTID_PMU)
#define CYCLE (1ULL << 31)

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
	vcpu.ctx.regs.spsr = 0x3c5; /* EL1h: the guest kernel */
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
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], 0); /* the guest's (none), not the host's */
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

static void test_level_function(void **state)
{
	(void)state;
	/* PMCR.E, and one counter with both its overflow flag and its interrupt enable. */
	assert_true(guest_pmu_irq_level(1, CYCLE, CYCLE));
	assert_true(guest_pmu_irq_level(1 | (1ULL << 6), 0x5, 0x4));
	assert_false(guest_pmu_irq_level(0, CYCLE, CYCLE)); /* E = 0 holds the line low */
	assert_false(guest_pmu_irq_level(1, 0x1, 0x2));	    /* overflow without its enable */
	assert_false(guest_pmu_irq_level(1, 0, ~0ULL));
	assert_false(guest_pmu_irq_level(1, 1ULL << 32, 1ULL << 32)); /* beyond the 32 counter bits */
	/* The CPU's PMINTEN: enabled and not yet overflowed (news only). */
	assert_int_equal(guest_pmu_hw_inten(0, CYCLE | 3), CYCLE | 3);
	assert_int_equal(guest_pmu_hw_inten(CYCLE | 1, CYCLE | 3), 2);
	assert_int_equal(guest_pmu_hw_inten(0, ~0ULL), 0xffffffffULL);
}

static bool set(u64 e, u64 v)
{
	vcpu.ctx.regs.x[2] = v;
	return trap(e);
}

static u32 level(void)
{
	return vcpu.vgic.priv.level & PPI23;
}

static u32 pending(void)
{
	return vcpu.vgic.priv.pending & PPI23;
}

static void test_overflow_line(void **state)
{
	(void)state;
	/* The guest enables the cycle counter's interrupt, with PMCR.E. */
	assert_true(set(ESR_PMINTENSET(2, false), CYCLE));
	assert_true(set(ESR_PMCR(2, false), 1));
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], CYCLE);
	assert_int_equal(level(), 0);
	assert_false(guest_pmu_exit(&vcpu)); /* nothing overflowed: an IRQ exit would be the host's */
	/* The hardware counter wraps while the guest runs: the IRQ exit is the guest's. */
	fake.pmu.fixed[PMU_pmovsset_el0] |= CYCLE;
	assert_true(guest_pmu_exit(&vcpu));
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], 0); /* masked at the source: the physical line drops */
	assert_int_equal(level(), PPI23);
	assert_int_equal(pending(), PPI23);
	/* Pending once: a later exit neither fires again nor re-pends. */
	vcpu.vgic.priv.pending &= ~PPI23; /* as if flushed into an LR */
	assert_false(guest_pmu_exit(&vcpu));
	assert_int_equal(pending(), 0);
	/* The guest clears the flag (in its handler): the line falls, the CPU's enable comes back. */
	assert_true(set(ESR_PMOVSCLR(2, false), CYCLE));
	assert_int_equal(level(), 0);
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], CYCLE);
	/* A flag set by software, while in an LR as pending, then cleared: the LR's pending state goes. */
	assert_true(set(ESR_PMOVSSET(2, false), CYCLE));
	assert_int_equal(level(), PPI23);
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], 0);
	vcpu.vgic.priv.pending &= ~PPI23;
	vcpu.vgic.priv.in_lr |= PPI23;
	vcpu.vgic.lr[0] = VGIC_INTID_PMU | ICH_LR_PENDING | ICH_LR_EOI;
	assert_true(set(ESR_PMOVSCLR(2, false), CYCLE));
	assert_int_equal(level(), 0);
	assert_int_equal(vcpu.vgic.lr[0] & ICH_LR_STATE, 0);
	vcpu.vgic.lr[0] = 0;
	vcpu.vgic.priv.in_lr = 0;
	/* PMCR.E = 0 holds the line low whatever the flags; E = 1 raises it. */
	assert_true(set(ESR_PMCR(2, false), 0));
	fake.pmu.fixed[PMU_pmovsset_el0] |= CYCLE;
	assert_false(guest_pmu_exit(&vcpu)); /* E = 0: the physical line was low too */
	assert_int_equal(level(), 0);
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], 0);
	assert_true(set(ESR_PMCR(2, false), 1));
	assert_int_equal(level(), PPI23);
	/* PMINTENCLR lowers it too. */
	assert_true(set(ESR_PMINTENCLR(2, false), CYCLE));
	assert_int_equal(level(), 0);
	assert_true(set(ESR_PMINTENSET(2, false), CYCLE));
	assert_int_equal(level(), PPI23);
	/* Put: the line stays as the guest left it; the host gets its own PMINTEN back, not the guest's. */
	guest_pmu_put(&vcpu);
	assert_host_back();
	assert_int_equal(level(), PPI23);
	assert_false(guest_pmu_exit(&vcpu)); /* not loaded: an IRQ exit now is never the guest's PMU */
	/* Load: the flag still set, so the CPU's PMINTEN leaves it out. */
	guest_pmu_load(&vcpu);
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], 0);
	assert_true(set(ESR_PMOVSCLR(2, false), CYCLE));
	assert_int_equal(level(), 0);
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], CYCLE);
	guest_pmu_put(&vcpu);
	assert_host_back();
}

static void test_pmuserenr_live(void **state)
{
	(void)state;
	fake.pmu.fixed[PMU_pmuserenr_el0] = 0; /* the arch layer's load wrote 0 for every guest */
	assert_true(set(ESR_PMUSERENR(2, false), 0xff));
	assert_int_equal(fake.pmu.fixed[PMU_pmuserenr_el0], 0xf); /* EN, SW, CR, ER only, and in the CPU */
	vcpu.ctx.regs.x[3] = 0;
	assert_true(trap(ESR_PMUSERENR(3, true)));
	assert_int_equal(vcpu.ctx.regs.x[3], 0xf);
	guest_pmu_put(&vcpu);
	assert_int_equal(fake.pmu.fixed[PMU_pmuserenr_el0], 0); /* never the guest's in host context */
	guest_pmu_load(&vcpu);
	assert_int_equal(fake.pmu.fixed[PMU_pmuserenr_el0], 0xf);
	/* From EL0 a write is UNDEFINED: should one trap here anyway, it is refused, nothing written. */
	vcpu.ctx.regs.spsr = 0; /* EL0t */
	assert_false(set(ESR_PMUSERENR(2, false), 0));
	assert_false(set(ESR_PMINTENSET(2, false), CYCLE));
	assert_int_equal(fake.pmu.fixed[PMU_pmuserenr_el0], 0xf);
	guest_pmu_put(&vcpu);
	assert_host_back();
}

static void test_protected_no_line(void **state)
{
	(void)state;
	vm.type = MOAT_VM_PROTECTED;
	fake.pmu.fixed[PMU_pmovsset_el0] = CYCLE;
	assert_false(set(ESR_PMINTENSET(2, false), CYCLE));
	assert_false(guest_pmu_exit(&vcpu));
	assert_int_equal(level(), 0);
	assert_int_equal(pending(), 0);
	assert_int_equal(fake.pmu.fixed[PMU_pmintenset_el1], 1ULL << 1); /* the host's, untouched */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_switch_and_mask, setup),
		cmocka_unit_test_setup(test_not_touched, setup),
		cmocka_unit_test_setup(test_level_function, setup),
		cmocka_unit_test_setup(test_overflow_line, setup),
		cmocka_unit_test_setup(test_pmuserenr_live, setup),
		cmocka_unit_test_setup(test_protected_no_line, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
