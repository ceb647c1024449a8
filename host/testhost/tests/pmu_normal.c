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
 * Both play the host's part in the overflow interrupt as a Linux host with a
 * PMU driver would: PPI 23 (the PMU's), 25 (vGIC maintenance) and 27 (CNTV)
 * Group 1 and enabled in this CPU's redistributor, IRQs masked at EL1. The
 * guest's overflows (guest/pmu) must then reach the guest as its virtual
 * PPI 23 and never the host: no IRQ exit during the run, and PPI 23 not
 * pending in the host's redistributor afterwards. The host's own PMINTENSET
 * (counter 1) is given back unchanged.
 *
 * Lines for tests/integration/test_guest_pmu.py: the guest's own, and
 *   pmu_normal: host after: cnt1 <v> sel <v> en 0x<v> typ1 0x<v> inten 0x<v>
 *   pmu_<normal|protected>: irq exits <n> ppi23 pending <0|1>
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

#define PPI_BITS ((1U << 23) | (1U << 25) | (1U << 27))
#define GICR_ISPENDR0 0x10200UL /* SGI_base + 0x200 */

static const char *const normal_lines[] = {
	"guest: pmu filters NSH 0 0 0",
	"guest: pmu counts cycles 1 cpu_cycles 1 swinc 7",
	"guest: pmu irq cycles n=1 intid=23 ovs=0x80000000 left=0x0 wrapped=1",
	"guest: pmu irq swinc before=0 after=1 n=1 ovs=0x1 left=0x0 cnt=0",
	"guest: pmu irq level n=2 left=0x0",
	"guest: pmu irq gate off=0 on=1",
	"guest: pmu irq other=0",
	"guest: pmu el0 off read trapped EC 0x18",
	"guest: pmu el0 er swinc trapped EC 0x18 read ok 41",
	"guest: pmu el0 en swinc ok read ok 42",
	"guest: pmu pmuserenr 0x8 0x1",
	"guest: pmu done",
	NULL,
};

static const char *const protected_lines[] = {
	"guest: pmu PMUVer 0",
	"guest: pmu reads 0x0 0x0",
	"guest: pmu irq none n=0 other=0",
	"guest: pmu done",
	NULL,
};

static u64 irq_exits;

static struct moat_result enter_counting(struct vmm_vm *vm)
{
	struct moat_result r = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, 0, 0);

	if (!r.status && r.r1 == MOAT_EXIT_IRQ) {
		irq_exits++;
	}
	return r;
}

static void run(u64 type, const char *const *lines, const char *who)
{
	struct vmm_vm vm = { .console_echo = true, .expect = lines, .enter = enter_counting };
	u64 rd, pending;

	irq_exits = 0;
	platform_gicd_on();
	rd = platform_gic_cpu(true, PPI_BITS);
	if (!CHECK(rd != 0, "no redistributor for this CPU")) {
		return;
	}
	if (vmm_boot(&vm, type, "pmu", 2 * MIB, 0)) {
		CHECK(vmm_destroy(&vm) > 0, "destroy failed");
	}
	pending = (*(volatile u32 *)(rd + GICR_ISPENDR0) >> 23) & 1;
	platform_gic_cpu(false, PPI_BITS);
	tprintf("pmu_%s: irq exits %lu ppi23 pending %lu\n", who, irq_exits, pending);
	CHECK_EQ(irq_exits, 0);
	CHECK_EQ(pending, 0);
}

TEST(vm_pmu_normal)
{
	u64 cnt1, sel, en, typ1, inten;

	wr(pmcntenclr_el0, 0xffffffffUL);
	wr(pmevtyper1_el0, 0); /* SW_INCR, counting at EL1 and EL0 */
	wr(pmevcntr1_el0, 1000);
	wr(pmselr_el0, 2);
	wr(pmcr_el0, 1); /* E */
	wr(pmcntenset_el0, 1UL << 1);
	wr(pmintenclr_el1, 0xffffffffUL);
	wr(pmintenset_el1, 1UL << 1); /* far from overflow: only its value must come back */
	run(MOAT_VM_NORMAL, normal_lines, "normal");
	cnt1 = rd(pmevcntr1_el0);
	sel = rd(pmselr_el0);
	en = rd(pmcntenset_el0);
	typ1 = rd(pmevtyper1_el0);
	inten = rd(pmintenset_el1);
	tprintf("pmu_normal: host after: cnt1 %lu sel %lu en 0x%lx typ1 0x%lx inten 0x%lx\n", cnt1, sel, en, typ1,
		inten);
	CHECK_EQ(cnt1, 1000);
	CHECK_EQ(sel, 2);
	CHECK_EQ(en, 1UL << 1);
	CHECK_EQ(typ1, 0);
	CHECK_EQ(inten, 1UL << 1);
	/* The host's own software increment still reaches its own counter. */
	wr(pmswinc_el0, 1UL << 1);
	CHECK_EQ(rd(pmevcntr1_el0), 1001);
	wr(pmcntenclr_el0, 0xffffffffUL);
	wr(pmintenclr_el1, 0xffffffffUL);
	wr(pmcr_el0, 0);
	wr(pmselr_el0, 0);
}

TEST(vm_pmu_protected)
{
	run(MOAT_VM_PROTECTED, protected_lines, "protected");
}
