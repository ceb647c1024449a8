/*
 * Tests: the PMU of normal VMs (issue 11, Deliver 8; core/guest_pmu.c).
 *
 * vm_pmu_normal: the host programs its own counters (event counter 1 a
 * software increment at 1000, enabled; PMSELR 2; PMCCFILTR 0), runs
 * guest/pmu in a normal VM (which programs and uses counters 0, 1 and the
 * cycle counter with NSH written), and checks afterwards that its own
 * registers are exactly as it left them: the guest's PMSWINC writes did not
 * reach the host's counter 1, nor did the guest's values leak into it.
 * vm_pmu_protected: the same guest in a protected VM sees PMUVer 0 and RAZ/WI.
 *
 * Lines for tests/integration/test_guest_pmu.py: the guest's own, and
 *   pmu_normal: host after: cnt1 <v> sel <v> en 0x<v> typ1 0x<v>
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)

#define rd(r)                                                                                                        \
	({                                                                                                           \
		u64 __v;                                                                                             \
		__asm__ volatile("isb; mrs %0, " #r : "=r"(__v)::"memory");                                          \
		__v;                                                                                                 \
	})
#define wr(r, v) __asm__ volatile("msr " #r ", %0; isb" : : "r"((u64)(v)) : "memory")

static const char *const normal_lines[] = {
	"guest: pmu filters NSH 0 0 0",
	"guest: pmu counts cycles 1 cpu_cycles 1 swinc 7",
	"guest: pmu done",
	NULL,
};

static const char *const protected_lines[] = {
	"guest: pmu PMUVer 0",
	"guest: pmu reads 0x0 0x0",
	"guest: pmu done",
	NULL,
};

static void run(u64 type, const char *const *lines)
{
	struct vmm_vm vm = { .console_echo = true, .expect = lines };

	if (vmm_boot(&vm, type, "pmu", 2 * MIB, 0)) {
		CHECK(vmm_destroy(&vm) > 0, "destroy failed");
	}
}

TEST(vm_pmu_normal)
{
	u64 cnt1, sel, en, typ1;

	wr(pmcntenclr_el0, 0xffffffffUL);
	wr(pmevtyper1_el0, 0); /* SW_INCR, counting at EL1 and EL0 */
	wr(pmevcntr1_el0, 1000);
	wr(pmselr_el0, 2);
	wr(pmcr_el0, 1); /* E */
	wr(pmcntenset_el0, 1UL << 1);
	run(MOAT_VM_NORMAL, normal_lines);
	cnt1 = rd(pmevcntr1_el0);
	sel = rd(pmselr_el0);
	en = rd(pmcntenset_el0);
	typ1 = rd(pmevtyper1_el0);
	tprintf("pmu_normal: host after: cnt1 %lu sel %lu en 0x%lx typ1 0x%lx\n", cnt1, sel, en, typ1);
	CHECK_EQ(cnt1, 1000);
	CHECK_EQ(sel, 2);
	CHECK_EQ(en, 1UL << 1);
	CHECK_EQ(typ1, 0);
	/* The host's own software increment still reaches its own counter. */
	wr(pmswinc_el0, 1UL << 1);
	CHECK_EQ(rd(pmevcntr1_el0), 1001);
	wr(pmcntenclr_el0, 0xffffffffUL);
	wr(pmcr_el0, 0);
	wr(pmselr_el0, 0);
}

TEST(vm_pmu_protected)
{
	run(MOAT_VM_PROTECTED, protected_lines);
}
