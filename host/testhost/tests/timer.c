/*
 * The host's own timer while a guest runs (DESIGN §9, issue 11 Deliver 6):
 * the core keeps the host's CNTV deadline on CNTHP (PPI 26) for the run, so a
 * protected guest that spins with interrupts masked and never traps still
 * gives the host its CPU back when the host's tick is due.
 *
 * The test host sets up the GIC as a stock Linux driver leaves it -- Group 1
 * and affinity routing on, the redistributor awake, every PPI disabled
 * (gic_cpu_config writes ICENABLER0 = all ones), PMR 0xff, Group 1 enabled
 * at the CPU interface -- and keeps IRQs masked in DAIF throughout: an IRQ
 * exit is all it needs, it never takes the interrupt itself.
 *
 * host_timer_ends_spin: host CNTV due in 50 ms, a guest that spins forever
 *   (bench, x0 = 2^62): VCPU_RUN returns MOAT_EXIT_IRQ, at or after the
 *   deadline and within 2 s of it, from a run that started before it; the
 *   host's CNTV shows ISTATUS; INTID 26 is not pending for the host after
 *   the return (CNTHP is off again), and the core left PPI 26 enabled,
 *   Group 1, priority 0.
 * host_timer_ends_hvc_spin: the same with a guest that spins on HVC
 *   PSCI_VERSION (bench, x0 = 2^63 | 2^62): every call is answered by the
 *   core's fast path at the EL2 vector, never by the full run loop, and the
 *   host's deadline must still end the run.
 * host_timer_off_no_exit: host CNTV disabled, then enabled but masked (both
 *   with a deadline long past): a short guest that powers off is never
 *   ended by an IRQ exit, and INTID 26 is never pending afterwards.
 */
#include "test.h"
#include "vmm.h"

#define GICD_CTLR 0x0
#define GICD_CTLR_ENABLE_G1 (1U << 1) /* EnableGrp1 (DS = 1) / EnableGrp1NS */
#define GICD_CTLR_ARE (1U << 4)
#define GICD_CTLR_RWP (1U << 31)
#define GICR_TYPER 0x8
#define GICR_WAKER 0x14
#define GICR_WAKER_CHILDREN_ASLEEP (1U << 2)
#define GICR_SGI 0x10000
#define GICR_IGROUPR0 (GICR_SGI + 0x80)
#define GICR_ISENABLER0 (GICR_SGI + 0x100)
#define GICR_ICENABLER0 (GICR_SGI + 0x180)
#define GICR_ISPENDR0 (GICR_SGI + 0x200)
#define GICR_IPRIORITYR (GICR_SGI + 0x400)
#define PPI_CNTHP 26
#define INTID_SPURIOUS 1023

#define CNT_CTL_ENABLE (1UL << 0)
#define CNT_CTL_IMASK (1UL << 1)
#define CNT_CTL_ISTATUS (1UL << 2)

#define MIB (1UL << 20)

#define SPIN_FOREVER (1UL << 62)
#define SPIN_HVC (1UL << 63) /* guest/bench: each iteration an HVC */
#define SHORT_SPIN 1000000UL

static u32 rd32(u64 pa)
{
	return *(volatile u32 *)pa;
}

static void wr32(u64 pa, u32 v)
{
	*(volatile u32 *)pa = v;
}

static u64 counter(void)
{
	__asm__ volatile("isb" ::: "memory");
	return read_sysreg(cntvct_el0);
}

static void set_host_timer(u64 cval, u64 ctl)
{
	write_sysreg(cntv_cval_el0, cval);
	write_sysreg(cntv_ctl_el0, ctl);
	__asm__ volatile("isb" ::: "memory");
}

/* This CPU's redistributor frame (RD_base): the one whose TYPER affinity is our MPIDR's. */
static u64 own_redistributor(void)
{
	u64 mpidr = read_sysreg(mpidr_el1);
	u32 aff = (u32)((mpidr & 0xffffff) | (((mpidr >> 32) & 0xff) << 24));

	for (u64 rd = plat.info.gicr.base; rd < plat.info.gicr.base + plat.info.gicr.size; rd += 0x20000) {
		u64 typer = *(volatile u64 *)(rd + GICR_TYPER);

		if ((u32)(typer >> 32) == aff) {
			return rd;
		}
		if (typer & (1UL << 4)) {
			break;
		}
	}
	return 0;
}

/* The GIC as Linux's driver leaves it for the boot CPU (no interrupt taken: DAIF.I stays set). */
static u64 gic_init_like_linux(void)
{
	u64 gicd = plat.info.gicd.base, rd = own_redistributor();

	if (!CHECK(rd != 0, "no redistributor for this CPU")) {
		return 0;
	}
	__asm__ volatile("msr daifset, #0xf" ::: "memory");
	wr32(gicd + GICD_CTLR, rd32(gicd + GICD_CTLR) | GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1);
	for (int i = 0; i < 1000000 && (rd32(gicd + GICD_CTLR) & GICD_CTLR_RWP); i++) {
	}
	wr32(rd + GICR_WAKER, 0); /* the core emulates RD_base and passes WAKER through */
	for (int i = 0; i < 1000000 && (rd32(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP); i++) {
	}
	CHECK_EQ(rd32(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP, 0);
	wr32(rd + GICR_ICENABLER0, ~0U); /* gic_cpu_config: every SGI/PPI off until a driver asks */
	write_sysreg(S3_0_C12_C12_5, read_sysreg(S3_0_C12_C12_5) | 1); /* ICC_SRE_EL1.SRE */
	__asm__ volatile("isb" ::: "memory");
	write_sysreg(S3_0_C4_C6_0, 0xff);	/* ICC_PMR_EL1: every priority */
	write_sysreg(S3_0_C12_C12_7, 1);	/* ICC_IGRPEN1_EL1 */
	__asm__ volatile("isb" ::: "memory");
	tprintf("timer: GICD_CTLR 0x%x, RD_base 0x%lx, ISENABLER0 0x%x\n", rd32(gicd + GICD_CTLR), rd,
		rd32(rd + GICR_ISENABLER0));
	return rd;
}

/* Nothing of INTID 26 may reach the host: not pending in its redistributor, not its highest pending. */
static void check_cnthp_quiet(u64 rd, const char *when)
{
	u64 hppir = read_sysreg(S3_0_C12_C12_2) & 0xffffff; /* ICC_HPPIR1_EL1 */

	CHECK((rd32(rd + GICR_ISPENDR0) & (1U << PPI_CNTHP)) == 0, "%s: INTID 26 pending for the host (ISPENDR0 0x%x)",
	      when, rd32(rd + GICR_ISPENDR0));
	CHECK(hppir != PPI_CNTHP, "%s: ICC_HPPIR1_EL1 says INTID 26", when);
}

static void delay_ticks(u64 ticks)
{
	u64 end = counter() + ticks;

	while (counter() < end) {
	}
}

static void ends_spin(u64 guest_x0)
{
	struct vmm_vm vm = { .console_echo = true };
	u64 rd = gic_init_like_linux(), frq = read_sysreg(cntfrq_el0);
	u64 deadline, start = 0, end = 0;
	struct moat_result r = { 0 };
	long status = MOAT_OK;

	if (!rd || !CHECK_EQ(vmm_build(&vm, MOAT_VM_PROTECTED, "bench", 16 * MIB, guest_x0), MOAT_OK)) {
		return;
	}
	deadline = counter() + frq / 20; /* 50 ms */
	set_host_timer(deadline, CNT_CTL_ENABLE);
	/* Demand paging first (MEM_FAULT exits, served here); then the guest spins until the host's deadline. */
	for (int i = 0; i < 1000; i++) {
		start = counter();
		r = moat_hvc(MOAT_FN_VCPU_RUN, vm.handle, 0, 0);
		end = counter();
		if (r.status || r.r1 == MOAT_EXIT_IRQ || !vmm_handle_exit(&vm, r.r1, &status)) {
			break;
		}
	}
	tprintf("timer: VCPU_RUN status %ld exit %lu after %lu exits; run started %ld ticks before the deadline, "
		"returned %ld ticks after it (CNTFRQ %lu)\n",
		r.status, r.r1, vm.exits, (long)(deadline - start), (long)(end - deadline), frq);
	CHECK_EQ(r.status, MOAT_OK);
	CHECK_EQ(r.r1, MOAT_EXIT_IRQ);
	CHECK(start < deadline, "the ending run started after the deadline: nothing shown (demand paging too slow?)");
	CHECK(end >= deadline, "VCPU_RUN returned before the host's deadline");
	CHECK(end - deadline < 2 * frq, "VCPU_RUN returned %lu ticks after the deadline", end - deadline);
	CHECK(read_sysreg(cntv_ctl_el0) & CNT_CTL_ISTATUS, "the host's CNTV does not show its condition met");
	CHECK_EQ(read_sysreg(cntv_ctl_el0) & (CNT_CTL_ENABLE | CNT_CTL_IMASK), CNT_CTL_ENABLE);
	CHECK_EQ(read_sysreg(cntv_cval_el0), deadline);
	check_cnthp_quiet(rd, "right after the IRQ exit");
	delay_ticks(frq / 500); /* 2 ms: CNTHP's deadline is long past, it would be pending by now if still on */
	check_cnthp_quiet(rd, "2 ms later");
	/* What the core left in the host's redistributor (docs/architecture.md): PPI 26 on, Group 1, priority 0. */
	CHECK(rd32(rd + GICR_ISENABLER0) & (1U << PPI_CNTHP), "PPI 26 not enabled");
	CHECK(rd32(rd + GICR_IGROUPR0) & (1U << PPI_CNTHP), "PPI 26 not Group 1");
	CHECK_EQ(*(volatile u8 *)(rd + GICR_IPRIORITYR + PPI_CNTHP), 0);
	set_host_timer(0, 0);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}

TEST(host_timer_ends_spin)
{
	ends_spin(SPIN_FOREVER);
}

TEST(host_timer_ends_hvc_spin)
{
	ends_spin(SPIN_HVC | SPIN_FOREVER);
}

struct irq_count {
	unsigned int irq_exits;
};

static struct moat_result counting_enter(struct vmm_vm *vm)
{
	struct irq_count *c = vm->ctx;
	struct moat_result r = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, 0, 0);

	if (!r.status && r.r1 == MOAT_EXIT_IRQ && ++c->irq_exits >= 100) {
		/* CNTHP armed with a deadline long past: every run would end at once; stop the loop, not the boot. */
		r.status = -1;
	}
	return r;
}

static const char *const short_spin_lines[] = { "guest: bench spun 1000000", NULL };

static void run_short_guest(u64 rd, u64 ctl, const char *what)
{
	struct irq_count c = { 0 };
	struct vmm_vm vm = { .console_echo = true, .enter = counting_enter, .ctx = &c, .expect = short_spin_lines };

	/* A deadline long past: were CNTHP armed with it, every run would end at once with an IRQ exit. */
	set_host_timer(1, ctl);
	if (!vmm_boot(&vm, MOAT_VM_PROTECTED, "bench", 16 * MIB, SHORT_SPIN)) {
		return;
	}
	tprintf("timer: host CNTV %s: %lu exits, %u IRQ exits\n", what, vm.exits, c.irq_exits);
	CHECK(c.irq_exits == 0, "host CNTV %s: %u IRQ exits", what, c.irq_exits);
	check_cnthp_quiet(rd, what);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}

TEST(host_timer_off_no_exit)
{
	u64 rd = gic_init_like_linux();

	if (!rd) {
		return;
	}
	run_short_guest(rd, 0, "disabled");
	run_short_guest(rd, CNT_CTL_ENABLE | CNT_CTL_IMASK, "enabled but masked");
	set_host_timer(0, 0);
}
