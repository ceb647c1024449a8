/*
 * The virtual GIC (core/vgic.c) on the fake arch: the list registers are the
 * fake's (fake.lr, 4 of them), the "guest" is the exit hook, which
 * acknowledges and EOIs by editing the LRs as the GIC would.
 *
 * Covers: distributor identification registers, enable/pending/active
 * transitions through LRs, priority order and LR overflow (UIE, refill),
 * level-sensitive resampling at EOI, the guest timer path (masked at the
 * source, injected, unmasked at EOI, no host exit), SGIs through
 * ICC_SGI1R_EL1 and the KICK exits of SGIs and of GICD/GICR writes that reach
 * another vCPU, VM_SET_SPIS/IRQ_LINE and their refusals, garbage
 * written to every GICD/GICR register, and the WFI/WFE/CPU_SUSPEND check
 * (an interrupt the guest could take ends no run; one it could not, or one
 * stuck behind full LRs, still exits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <moat/abi.h>
#include <moat/errors.h>

#include "esr.h"
#include "fake_arch.h"
#include "fake_machine.h"
#include "vcpu.h"
#include "vgic.h"
#include "vm.h"

#define RAM_MIB 32
#define EC(ec) ((u64)(ec) << ESR_EC_SHIFT)
#define GICD VGIC_GICD_BASE
#define GICR0 VGIC_GICR_BASE
#define SGI0 (VGIC_GICR_BASE + 0x10000)
#define LR_STATE(lr) ((lr)&ICH_LR_STATE)
#define CNTV_ENABLE 1UL
#define CNTV_IMASK 2UL
#define CNTV_ISTATUS 4UL

static struct fake_machine machine;
static struct fake_machine *const m = &machine;
static void (*guest)(struct vcpu *vcpu, unsigned int n);

static void exit_hook(struct vcpu *vcpu, unsigned int n)
{
	if (guest) {
		guest(vcpu, n);
	}
}

static int setup(void **state)
{
	fake_machine_init(m, RAM_MIB);
	fake.exit_hook = exit_hook;
	guest = NULL;
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(m);
	return 0;
}

static u32 rd(struct vcpu *v, u64 ipa)
{
	return (u32)vgic_mmio_read(v, ipa, 4);
}

static void wr(struct vcpu *v, u64 ipa, u32 val)
{
	vgic_mmio_write(v, ipa, 4, val);
}

/* A VM whose SPIs 33 and 40 the host may drive; GICD enabled for group 1; vCPU
 * 0. */
static struct fm_vm build(u64 spis)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, FM_NO_FINALIZE);

	assert_int_equal(FM_CALL(MOAT_FN_VM_SET_SPIS, v.handle, spis), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, v.handle), MOAT_OK);
	wr(fm_vcpu(&v, 0), GICD + 0x0, 2); /* EnableGrp1 */
	return v;
}

/* Enable, group 1, priority, pending for intid (an SPI through GICD, a private
 * one through GICR). */
static void arm_irq(struct vcpu *c, u32 intid, u8 prio, bool pend)
{
	u64 base = intid < 32 ? SGI0 + VGIC_GICR_STRIDE * c->index : GICD;

	wr(c, base + 0x80 + 4 * (intid / 32), rd(c, base + 0x80 + 4 * (intid / 32)) | 1U << (intid % 32));
	vgic_mmio_write(c, base + 0x400 + intid, 1, prio);
	wr(c, base + 0x100 + 4 * (intid / 32), 1U << (intid % 32));
	if (pend) {
		wr(c, base + 0x200 + 4 * (intid / 32), 1U << (intid % 32));
	}
}

/* The guest's actions on LR i, as the CPU interface performs them. */
static void ack(unsigned int i)
{
	fake.lr[i] = (fake.lr[i] & ~ICH_LR_STATE) | ICH_LR_ACTIVE;
}

static void eoi(unsigned int i)
{
	if (fake.lr[i] & ICH_LR_EOI) {
		fake.ich_misr |= 1; /* EOI maintenance */
	}
	fake.lr[i] &= ~ICH_LR_STATE;
}

/* One entry and exit of the loaded vCPU, as vcpu_run's loop does them, with the
 * guest acting in between. */
static void cycle(struct vcpu *c, void (*act)(void))
{
	struct guest_exit e;

	vgic_flush(c);
	memcpy(fake.lr, c->vgic.lr, sizeof(fake.lr));
	fake.ich_misr = 0;
	if (act) {
		act();
	}
	memcpy(c->vgic.lr, fake.lr, sizeof(fake.lr));
	c->vgic.misr = fake.ich_misr;
	vgic_sync(c);
	(void)e;
}

/* ---- identification
 * -------------------------------------------------------------------- */

static void test_ids(void **state)
{
	struct fm_vm v = build(0);
	struct vcpu *c = fm_vcpu(&v, 0);

	assert_int_equal(rd(c, GICD + 0x0), 0x52); /* ARE | DS | EnableGrp1 */
	assert_int_equal(rd(c, GICD + 0x4), 2 | 9 << 19);
	assert_int_equal(rd(c, GICD + 0x8), 0x0100043b);
	assert_int_equal(rd(c, GICD + 0xffe8), 0x30);
	assert_int_equal(rd(c, GICR0 + 0xffe8), 0x30);
	/* FM_VM_MAX_VCPUS is 2: frame 0 is not the last, vCPU 1 does not exist (RAZ). */
	assert_int_equal(vgic_mmio_read(c, GICR0 + 0x8, 8), 0);
	assert_int_equal(rd(c, GICR0 + 0x14), 6); /* ProcessorSleep | ChildrenAsleep at reset */
	wr(c, GICR0 + 0x14, 0);
	assert_int_equal(rd(c, GICR0 + 0x14), 0);
	assert_int_equal(rd(c, GICR0 + 0x20000 + 0x8), 0);
	assert_true(vgic_owns_ipa(fm_vm_of(&v), GICR0 + 2 * 0x20000 - 1));
	assert_false(vgic_owns_ipa(fm_vm_of(&v), GICR0 + 2 * 0x20000));
	/* Priorities keep 5 bits; SGIs stay edge-triggered. */
	vgic_mmio_write(c, GICD + 0x400 + 40, 1, 0xff);
	assert_int_equal(vgic_mmio_read(c, GICD + 0x400 + 40, 1), 0xf8);
	wr(c, SGI0 + 0xc00, 0);
	assert_int_equal(rd(c, SGI0 + 0xc00), 0xaaaaaaaa);
}

/* A GICD read through a real data abort: answered in the core, no host exit. */
static void test_gicd_abort_answered_in_core(void **state)
{
	struct fm_vm v = build(0);
	u64 esr = EC(EC_DABT_LOWER) | ESR_IL | ESR_ISV | 2UL << 22 | 5UL << 16 | 0x07;
	u64 res[3];

	fake_queue_exit(GUEST_EXIT_SYNC, esr, 0, GICD + 0x4);
	fake_queue_exit(GUEST_EXIT_SYNC, esr & ~ESR_ISV, 0, GICD + 0x4); /* ISV = 0: an external abort */
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_GUEST_FAULT);
	assert_int_equal(fm_vcpu(&v, 0)->ctx.regs.x[5], 2 | 9 << 19);
	assert_int_equal(fm_run_page(&v)->u.guest_fault.ipa, GICD);
}

/* ---- pending / active through the LRs
 * ------------------------------------------------------ */

static void guest_ack0(void)
{
	ack(0);
}

static void guest_eoi0(void)
{
	eoi(0);
}

static void test_pending_active_eoi(void **state)
{
	struct fm_vm v = build(0);
	struct vcpu *c = fm_vcpu(&v, 0);

	arm_irq(c, 40, 0x80, true);
	assert_int_equal(rd(c, GICD + 0x204), 1U << 8);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 40 | ICH_LR_PENDING | ICH_LR_GROUP | 0x80UL << 48 | ICH_LR_EOI);
	assert_int_equal(c->vgic.lr[1], 0);
	assert_int_equal(c->vgic.hcr & ICH_HCR_UIE, 0);
	cycle(c, guest_ack0);
	assert_int_equal(rd(c, GICD + 0x204), 0);
	assert_int_equal(rd(c, GICD + 0x304), 1U << 8); /* active, from the LR */
	/* Pending again while active: merged into the same LR at the next entry. */
	wr(c, GICD + 0x204, 1U << 8);
	vgic_flush(c);
	assert_int_equal(LR_STATE(c->vgic.lr[0]), ICH_LR_PENDING | ICH_LR_ACTIVE);
	assert_int_equal(c->vgic.lr[1], 0);
	cycle(c, guest_eoi0); /* the pending half stays: the LR is still live */
	cycle(c, guest_eoi0);
	assert_int_equal(c->vgic.lr[0], 0);
	assert_int_equal(rd(c, GICD + 0x204) | rd(c, GICD + 0x304), 0);
	/* Disabled: pending stays in the model, never reaches an LR. */
	wr(c, GICD + 0x184, 1U << 8);
	wr(c, GICD + 0x204, 1U << 8);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 0);
	assert_int_equal(rd(c, GICD + 0x204), 1U << 8);
	/* Group 1 disabled in GICD_CTLR: nothing either. */
	wr(c, GICD + 0x104, 1U << 8);
	wr(c, GICD + 0x0, 0);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 0);
	wr(c, GICD + 0x0, 2);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0] & ICH_LR_VINTID_MASK, 40);
	/* ICPENDR on an interrupt in an LR takes it out. */
	wr(c, GICD + 0x284, 1U << 8);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 0);
	assert_int_equal(rd(c, GICD + 0x204), 0);
	/* Routed to vCPU 1 (absent): never in vCPU 0's LRs. */
	wr(c, GICD + 0x6000 + 8 * 40, 1);
	assert_int_equal(rd(c, GICD + 0x6000 + 8 * 40), 1);
	wr(c, GICD + 0x204, 1U << 8);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 0);
}

static void guest_eoi_all(void)
{
	for (unsigned int i = 0; i < 4; i++) {
		if (fake.lr[i]) {
			ack(i);
			eoi(i);
		}
	}
}

static void test_priority_and_overflow(void **state)
{
	struct fm_vm v = build(0);
	struct vcpu *c = fm_vcpu(&v, 0);
	static const u8 prio[6] = { 0xa0, 0x20, 0x60, 0x40, 0x80, 0x00 }; /* INTIDs 40..45 */
	u32 seen = 0;

	wr(c, GICD + 0xc04, 0xaaaaaaaa); /* INTIDs 48..63 edge, irrelevant */
	wr(c, GICD + 0xc08, 0x2222222);	 /* not a real layout: the write must simply be
                                     taken bit by bit */
	for (u32 i = 0; i < 6; i++) {
		arm_irq(c, 40 + i, prio[i], true);
	}
	vgic_flush(c);
	/* The four of highest priority (lowest value), highest first; two wait, UIE asks for a maintenance exit. */
	assert_int_equal(c->vgic.lr[0] & ICH_LR_VINTID_MASK, 45);
	assert_int_equal(c->vgic.lr[1] & ICH_LR_VINTID_MASK, 41);
	assert_int_equal(c->vgic.lr[2] & ICH_LR_VINTID_MASK, 43);
	assert_int_equal(c->vgic.lr[3] & ICH_LR_VINTID_MASK, 42);
	assert_int_equal(c->vgic.hcr & ICH_HCR_UIE, ICH_HCR_UIE);
	cycle(c, guest_eoi_all);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0] & ICH_LR_VINTID_MASK, 44);
	assert_int_equal(c->vgic.lr[1] & ICH_LR_VINTID_MASK, 40);
	assert_int_equal(c->vgic.lr[2], 0);
	assert_int_equal(c->vgic.hcr & ICH_HCR_UIE, 0);
	for (unsigned int i = 0; i < 2; i++) {
		seen |= 1U << (c->vgic.lr[i] & 31);
	}
	cycle(c, guest_eoi_all);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 0);
	assert_int_equal(rd(c, GICD + 0x204) | rd(c, GICD + 0x304), 0);
	assert_int_equal(seen, 1U << 12 | 1U << 8);
}

/* ---- the host's lines
 * ------------------------------------------------------------------------ */

static void test_irq_line_refusals(void **state)
{
	struct fm_vm a = fm_build_vm(m, MOAT_VM_PROTECTED, FM_NO_FINALIZE);
	struct fm_vm b = fm_build_vm(m, MOAT_VM_PROTECTED, FM_NO_FINALIZE);
	u64 res[3] = { 9, 9, 9 };

	assert_int_equal(FM_CALL(MOAT_FN_VM_SET_SPIS, a.handle, 1UL << 1), MOAT_OK); /* INTID 33 */
	assert_int_equal(FM_CALL(MOAT_FN_VM_SET_SPIS, b.handle, 1UL << 2), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle, 33, 1), MOAT_E_STATE); /* not yet finalized */
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, a.handle), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, b.handle), MOAT_OK);
	/* The list is fixed and measured: the two VMs differ only by it. */
	assert_true(memcmp(fm_vm_of(&a)->measurement, fm_vm_of(&b)->measurement, SHA256_DIGEST_SIZE) != 0);
	assert_int_equal(FM_CALL(MOAT_FN_VM_SET_SPIS, a.handle, ~0UL), MOAT_E_STATE);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle, 34, 1), MOAT_E_PERM);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle, 27, 1), MOAT_E_PERM); /* the timer: never the host's */
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle, 0, 1), MOAT_E_PERM);  /* an SGI */
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle, 32 + 64, 1), MOAT_E_PERM);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle, ~0UL, 1), MOAT_E_PERM);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle, 33, 2), MOAT_E_INVAL);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle + (1UL << 16), 33, 1), MOAT_E_STALE);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, a.handle, 33, 1, 1), MOAT_E_INVAL); /* reserved x4 */
	assert_int_equal(fm_vm_of(&a)->vgic.spi[0].pending, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_IRQ_LINE, a.handle, 33, 1), MOAT_OK);
	assert_int_equal(res[0], 0); /* routed to vCPU 0 */
	assert_int_equal(fm_vm_of(&a)->vgic.spi[0].pending, 1U << 1);
	assert_int_equal(fm_vm_of(&b)->vgic.spi[0].pending, 0);
	assert_int_equal(fm_violations(), 0);
}

static void guest_ack_eoi0(void)
{
	ack(0);
	eoi(0);
}

static void test_irq_line_level_and_flood(void **state)
{
	struct fm_vm v = build(1UL << 1);
	struct vcpu *c = fm_vcpu(&v, 0);

	arm_irq(c, 33, 0x40, false);
	/* Raised and lowered before the guest runs: nothing to deliver. */
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, v.handle, 33, 1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, v.handle, 33, 0), MOAT_OK);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 0);
	/* Held high across the EOI: pending again at once (EOI maintenance resamples the line). */
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, v.handle, 33, 1), MOAT_OK);
	cycle(c, guest_ack_eoi0);
	assert_int_equal(c->vgic.misr, 1);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 33 | ICH_LR_PENDING | ICH_LR_GROUP | 0x40UL << 48 | ICH_LR_EOI);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, v.handle, 33, 0), MOAT_OK);
	cycle(c, guest_ack_eoi0);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0], 0);
	/* A flood: 100,000 calls, each O(1); the model ends in the state of the last one. */
	for (unsigned int i = 0; i < 100000; i++) {
		assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, v.handle, 33, i & 1), MOAT_OK);
	}
	assert_int_equal(fm_vm_of(&v)->vgic.spi[0].level, 1U << 1); /* the last call raised it */
	assert_int_equal(fm_vm_of(&v)->vgic.spi[0].pending, 1U << 1);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0] & ICH_LR_VINTID_MASK, 33);
	assert_int_equal(c->vgic.lr[1], 0);
}

/* ---- the guest's timer
 * ----------------------------------------------------------------------- */

static u64 timer_lr[8];
static u64 ctl_seen[8];

/* Entry n: record what the guest got; exit 0 is the timer's IRQ, then it acks
 * and EOIs at exit 1. */
static void timer_guest(struct vcpu *vcpu, unsigned int n)
{
	if (n < 8) {
		timer_lr[n] = fake.lr[0];
		ctl_seen[n] = fake.cntv_ctl;
	}
	if (n == 1) {
		ack(0);
		eoi(0);
		/* The guest moves CVAL on: no longer expired. */
		fake.cntv_ctl &= ~CNTV_ISTATUS;
	}
}

static void test_vtimer_injected_without_host_exit(void **state)
{
	struct fm_vm v = build(0);
	struct vcpu *c = fm_vcpu(&v, 0);
	u64 res[3];

	arm_irq(c, 27, 0x20, false);
	fake.cntv_ctl = CNTV_ENABLE | CNTV_ISTATUS;
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0); /* physical PPI 27 */
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0); /* the EOI maintenance interrupt */
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0); /* then a host interrupt */
	guest = timer_guest;
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_IRQ); /* only the third IRQ reaches the host */
	assert_int_equal(fake.entries, 3);
	assert_int_equal(timer_lr[0], 0);
	assert_int_equal(ctl_seen[0], CNTV_ENABLE | CNTV_ISTATUS);
	/* Masked at the source, injected with the EOI maintenance bit. */
	assert_int_equal(timer_lr[1], 27 | ICH_LR_PENDING | ICH_LR_GROUP | 0x20UL << 48 | ICH_LR_EOI);
	assert_int_equal(ctl_seen[1], CNTV_ENABLE | CNTV_ISTATUS | CNTV_IMASK);
	/* Unmasked at the EOI. */
	assert_int_equal(timer_lr[2], 0);
	assert_int_equal(ctl_seen[2], CNTV_ENABLE);
	assert_false(c->vgic.timer_masked);
	/* The timer is not the host's to drive. */
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, v.handle, 27, 1), MOAT_E_PERM);
}

/* ---- SGIs
 * -----------------------------------------------------------------------------------------
 */

static u64 sgi_esr(unsigned int op2, unsigned int rt)
{
	return EC(EC_SYSREG) | ESR_IL | 3UL << 20 | (u64)op2 << 17 | 12UL << 10 | (u64)rt << 5 | 11UL << 1;
}

static void test_sgi(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, FM_NO_FINALIZE);
	struct vcpu *c0, *c1;
	u64 run1 = fm_host_page(m);

	assert_int_equal(FM_CALL(MOAT_FN_SHARE_CORE, run1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 1, run1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, v.handle), MOAT_OK);
	c0 = fm_vcpu(&v, 0);
	c1 = fm_vcpu(&v, 1);
	assert_int_equal(vgic_mmio_read(c0, GICR0 + 0x20000 + 0x8, 8), 1UL << 32 | 1UL << 8 | 1UL << 4);
	/* SGI 3 to target list {1}. */
	c0->ctx.regs.x[7] = 3UL << 24 | 1U << 1;
	c0->ctx.regs.elr = 0x1000;
	assert_true(vgic_sysreg_trap(c0, sgi_esr(5, 7)));
	assert_int_equal(c0->ctx.regs.elr, 0x1004);
	assert_int_equal(c1->vgic.priv.pending, 1U << 3);
	assert_int_equal(c0->vgic.priv.pending, 0);
	/* IRM: everyone but the sender. */
	c1->ctx.regs.x[2] = 5UL << 24 | 1UL << 40;
	assert_true(vgic_sysreg_trap(c1, sgi_esr(5, 2)));
	assert_int_equal(c0->vgic.priv.pending, 1U << 5);
	assert_int_equal(c1->vgic.priv.pending, 1U << 3);
	/* Another cluster (Aff1 = 1), or RS = 1: nobody the VM has. */
	c0->ctx.regs.x[1] = 7UL << 24 | 1UL << 16 | 3;
	assert_true(vgic_sysreg_trap(c0, sgi_esr(5, 1)));
	c0->ctx.regs.x[1] = 7UL << 24 | 1UL << 44 | 3;
	assert_true(vgic_sysreg_trap(c0, sgi_esr(6, 1)));
	assert_int_equal(c0->vgic.priv.pending | c1->vgic.priv.pending, 1U << 5 | 1U << 3);
	/* vCPU 1 holds SGI 3 in an LR; vCPU 0 clears it through vCPU 1's GICR: the model only, never its LRs. */
	wr(c1, GICD, 1); /* EnableGrp0: the SGI is group 0 */
	wr(c1, SGI0 + 0x20000 + 0x100, 1U << 3);
	vgic_flush(c1);
	assert_int_equal(c1->vgic.lr[0], 3 | ICH_LR_PENDING);
	wr(c0, SGI0 + 0x20000 + 0x280, 1U << 3);
	wr(c0, SGI0 + 0x20000 + 0x380, 1U << 3);
	assert_int_equal(c1->vgic.lr[0], 3 | ICH_LR_PENDING);
	assert_int_equal(rd(c0, SGI0 + 0x20000 + 0x200), 0); /* and its reads show the model, not vCPU 1's LRs */
	assert_int_equal(rd(c1, SGI0 + 0x20000 + 0x200), 1U << 3);
	/* Not an SGI register: left to the other handlers. */
	assert_false(vgic_sysreg_trap(c0, sgi_esr(4, 1)));
}

/*
 * An SGI to another vCPU ends the sender's run with MOAT_EXIT_KICK naming the
 * targets (that vCPU may be in its guest on another CPU, where only the host
 * can reach it); an SGI to itself alone does not end the run.
 */
static void test_sgi_kick(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, FM_NO_FINALIZE);
	struct moat_run *run0 = (struct moat_run *)(uintptr_t)v.run_pa;
	struct vcpu *c0;
	u64 run1 = fm_host_page(m), res[3];

	assert_int_equal(FM_CALL(MOAT_FN_SHARE_CORE, run1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 1, run1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, v.handle), MOAT_OK);
	c0 = fm_vcpu(&v, 0);

	/* SGI 4 to {0, 1}: vCPU 1 is named, the sender is not. */
	c0->ctx.regs.x[7] = 4UL << 24 | 1U << 1 | 1U << 0;
	fake.nr_exits = fake.next_exit = 0;
	fake_queue_exit(GUEST_EXIT_SYNC, sgi_esr(5, 7), 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_KICK);
	assert_int_equal(run0->exit_reason, MOAT_EXIT_KICK);
	assert_int_equal(run0->u.kick.vcpus, 1U << 1);
	assert_int_equal(fm_vcpu(&v, 1)->vgic.priv.pending, 1U << 4);
	assert_int_equal(c0->vgic.priv.pending, 1U << 4);

	/* IRM (all but self): vCPU 1. */
	c0->ctx.regs.x[3] = 6UL << 24 | 1UL << 40;
	fake.nr_exits = fake.next_exit = 0;
	fake_queue_exit(GUEST_EXIT_SYNC, sgi_esr(5, 3), 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_KICK);
	assert_int_equal(run0->u.kick.vcpus, 1U << 1);
	assert_int_equal(fm_vcpu(&v, 1)->vgic.priv.pending, 1U << 4 | 1U << 6);

	/* To itself only: the guest continues (the IRQ after it ends this run), and no stale kick stays behind. */
	c0->ctx.regs.x[7] = 2UL << 24 | 1U << 0;
	fake.nr_exits = fake.next_exit = 0;
	fake_queue_exit(GUEST_EXIT_SYNC, sgi_esr(5, 7), 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_IRQ);
	assert_int_equal(run0->u.kick.vcpus, 0);
	assert_int_equal(c0->vgic.kick, 0);
	assert_int_equal(fm_violations(), 0);
}

/* ---- GIC MMIO writes that reach another vCPU
 * ----------------------------------------------------------- */

/* A protected VM with vCPUs 0 and 1, both on; GICD EnableGrp1; the SPIs of mask `spis` the host's. */
static struct fm_vm build2(u64 spis)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, FM_NO_FINALIZE);
	u64 run1 = fm_host_page(m);

	assert_int_equal(FM_CALL(MOAT_FN_SHARE_CORE, run1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 1, run1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_VM_SET_SPIS, v.handle, spis), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, v.handle), MOAT_OK);
	wr(fm_vcpu(&v, 0), GICD, 2); /* EnableGrp1 */
	fm_vcpu(&v, 1)->power = VCPU_POWER_ON;
	return v;
}

/*
 * vCPU 0 stores x5 (size bytes) at a GIC IPA through a real data abort; the
 * host's IRQ after it ends the run unless the store itself ended it. The
 * exit reason; *kick the run page's kick.vcpus.
 */
static u64 store0(struct fm_vm *v, u64 ipa, u64 value, unsigned int size, u64 *kick)
{
	struct vcpu *c0 = fm_vcpu(v, 0);
	u64 sas = size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
	u64 esr = EC(EC_DABT_LOWER) | ESR_IL | ESR_ISV | sas << 22 | 5UL << 16 | ESR_WNR | 0x07;
	u64 res[3];

	c0->ctx.regs.x[5] = value;
	c0->ctx.regs.elr = 0x40001000;
	fake.nr_exits = fake.next_exit = 0;
	fake_queue_exit(GUEST_EXIT_SYNC, esr, 0, ipa);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, 0), MOAT_OK);
	assert_int_equal(c0->ctx.regs.elr, 0x40001004); /* the store is done either way */
	assert_int_equal(fm_run_page(v)->exit_reason, res[0]);
	assert_int_equal(c0->vgic.kick, 0); /* nothing stale left for a later exit */
	*kick = fm_run_page(v)->u.kick.vcpus;
	return res[0];
}

#define SPI_BIT(intid) (1U << ((intid) % 32))
#define GICD_REG(base, intid) (GICD + (base) + 4 * ((intid) / 32))
#define GICR1_SGI (SGI0 + VGIC_GICR_STRIDE)

/*
 * A GICD write of vCPU 0 that makes an SPI routed to vCPU 1 deliverable --
 * ISPENDR, ISENABLER of a pending one, IROUTER moving a pending one there --
 * ends vCPU 0's run with KICK naming vCPU 1 (which the host may have parked
 * in a WFI wait with no deadline); routed to the writer itself, or a write
 * that takes something away (ICENABLER, ICPENDR), ends none.
 */
static void test_gicd_write_kicks_target(void **state)
{
	struct fm_vm v = build2(0);
	struct vcpu *c0 = fm_vcpu(&v, 0);
	u64 kick;

	/* SPIs 40..43 group 1, enabled, priority 0x80; 40 and 42 routed to vCPU 1, 41 and 43 to vCPU 0. */
	for (u32 intid = 40; intid < 44; intid++) {
		arm_irq(c0, intid, 0x80, false);
		wr(c0, GICD + 0x6000 + 8 * intid, intid % 2 ? 0 : 1);
	}
	assert_int_equal(c0->vgic.kick, 0); /* nothing pending yet: nobody to tell */

	/* ISPENDR of an SPI routed to vCPU 1: KICK {1}. */
	assert_int_equal(store0(&v, GICD_REG(0x200, 40), SPI_BIT(40), 4, &kick), MOAT_EXIT_KICK);
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(rd(c0, GICD_REG(0x200, 40)), SPI_BIT(40));
	/* Routed to the writer: it takes it at its next entry, no exit. */
	assert_int_equal(store0(&v, GICD_REG(0x200, 41), SPI_BIT(41), 4, &kick), MOAT_EXIT_IRQ);
	assert_int_equal(kick, 0);

	/* ICENABLER and ICPENDR only take away: no exit. */
	assert_int_equal(store0(&v, GICD_REG(0x180, 40), SPI_BIT(40), 4, &kick), MOAT_EXIT_IRQ);
	/* ISENABLER of the SPI still pending for vCPU 1: KICK {1}. */
	assert_int_equal(store0(&v, GICD_REG(0x100, 40), SPI_BIT(40), 4, &kick), MOAT_EXIT_KICK);
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(store0(&v, GICD_REG(0x280, 40), SPI_BIT(40), 4, &kick), MOAT_EXIT_IRQ);
	/* Enabling one that is not pending tells nobody anything. */
	assert_int_equal(store0(&v, GICD_REG(0x100, 42), SPI_BIT(42), 4, &kick), MOAT_EXIT_IRQ);

	/*
	 * IROUTER (a 64-bit store, as Linux writes it) moves pending SPI 43 to vCPU 1: KICK {1}. It waits
	 * routed to vCPU 7, which the VM does not have: undelivered, nobody to kick.
	 */
	wr(c0, GICD + 0x6000 + 8 * 43, 7);
	wr(c0, GICD_REG(0x200, 43), SPI_BIT(43));
	assert_int_equal(c0->vgic.kick, 0);
	assert_int_equal(store0(&v, GICD + 0x6000 + 8 * 43, 1, 8, &kick), MOAT_EXIT_KICK);
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(rd(c0, GICD + 0x6000 + 8 * 43), 1);
	/* And back to the writer: no exit. */
	assert_int_equal(store0(&v, GICD + 0x6000 + 8 * 43, 0, 8, &kick), MOAT_EXIT_IRQ);
	assert_int_equal(fm_violations(), 0);
}

/*
 * The other GICD writes that can make a pending SPI of vCPU 1 deliverable:
 * ICACTIVER (pending and active is no candidate, pending alone is),
 * IPRIORITYR (it may now beat vCPU 1's mask), GICD_CTLR enabling its group,
 * IGROUPR; ISACTIVER, ICFGR and GICD_CTLR disabling add nothing.
 */
static void test_gicd_write_kicks_more(void **state)
{
	struct fm_vm v = build2(0);
	struct vcpu *c0 = fm_vcpu(&v, 0);
	u64 kick;

	/* SPI 40 pending for vCPU 1, priority 0xf0: set up by direct calls, whose kicks are dropped here. */
	arm_irq(c0, 40, 0xf0, true);
	wr(c0, GICD + 0x6000 + 8 * 40, 1);
	assert_int_equal(c0->vgic.kick, 1U << 1);
	c0->vgic.kick = 0;
	assert_int_equal(store0(&v, GICD_REG(0x300, 40), SPI_BIT(40), 4, &kick), MOAT_EXIT_IRQ); /* ISACTIVER */
	assert_int_equal(store0(&v, GICD_REG(0x380, 40), SPI_BIT(40), 4, &kick), MOAT_EXIT_KICK);
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(store0(&v, GICD + 0x400 + 40, 0x10, 1, &kick), MOAT_EXIT_KICK);
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(vgic_mmio_read(c0, GICD + 0x400 + 40, 1), 0x10);
	assert_int_equal(store0(&v, GICD + 0xc00 + 4 * (40 / 16), ~0U, 4, &kick), MOAT_EXIT_IRQ);
	assert_int_equal(store0(&v, GICD, 0, 4, &kick), MOAT_EXIT_IRQ); /* groups off */
	assert_int_equal(store0(&v, GICD, 2, 4, &kick), MOAT_EXIT_KICK);	/* group 1 on again */
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(store0(&v, GICD, 2, 4, &kick), MOAT_EXIT_IRQ); /* already on: nothing new */
	assert_int_equal(store0(&v, GICD_REG(0x80, 40), ~0U, 4, &kick), MOAT_EXIT_KICK);
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(fm_violations(), 0);
}

/*
 * Another vCPU's redistributor: vCPU 0 writing vCPU 1's GICR_ISPENDR0 or
 * ISENABLER0 (or a priority) of a deliverable PPI ends its run with KICK {1};
 * the same writes to its own frame end none, nor do ICPENDR0/ICENABLER0 of
 * vCPU 1's.
 */
static void test_gicr_write_kicks_owner(void **state)
{
	struct fm_vm v = build2(0);
	struct vcpu *c0 = fm_vcpu(&v, 0), *c1 = fm_vcpu(&v, 1);
	u64 kick;

	arm_irq(c1, 20, 0x80, false); /* vCPU 1's own writes: group 1, enabled, not pending */
	arm_irq(c0, 20, 0x80, false);
	assert_int_equal(c0->vgic.kick | c1->vgic.kick, 0);

	assert_int_equal(store0(&v, GICR1_SGI + 0x200, 1U << 20, 4, &kick), MOAT_EXIT_KICK);
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(c1->vgic.priv.pending, 1U << 20);
	assert_int_equal(store0(&v, SGI0 + 0x200, 1U << 20, 4, &kick), MOAT_EXIT_IRQ); /* its own */
	/* Taken at its entry. */
	assert_int_equal(c0->vgic.lr[0], 20 | ICH_LR_PENDING | ICH_LR_GROUP | ICH_LR_EOI | 0x80UL << 48);
	assert_int_equal(store0(&v, SGI0 + 0x100, 1U << 20, 4, &kick), MOAT_EXIT_IRQ);
	assert_int_equal(store0(&v, SGI0 + 0x400 + 20, 0x10, 1, &kick), MOAT_EXIT_IRQ);
	assert_int_equal(store0(&v, GICR1_SGI + 0x180, 1U << 20, 4, &kick), MOAT_EXIT_IRQ); /* ICENABLER0 */
	assert_int_equal(store0(&v, GICR1_SGI + 0x100, 1U << 20, 4, &kick), MOAT_EXIT_KICK); /* ISENABLER0 */
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(store0(&v, GICR1_SGI + 0x400 + 20, 0x10, 1, &kick), MOAT_EXIT_KICK);
	assert_int_equal(kick, 1U << 1);
	assert_int_equal(store0(&v, GICR1_SGI + 0x280, 1U << 20, 4, &kick), MOAT_EXIT_IRQ); /* ICPENDR0 */
	/* Pending but disabled on vCPU 1: nothing to tell it yet. */
	assert_int_equal(store0(&v, GICR1_SGI + 0x180, 1U << 20, 4, &kick), MOAT_EXIT_IRQ);
	assert_int_equal(store0(&v, GICR1_SGI + 0x200, 1U << 20, 4, &kick), MOAT_EXIT_IRQ);
	/* vCPU 1's RD_base frame (WAKER) and reads of its frame: no exit. */
	assert_int_equal(store0(&v, GICR0 + VGIC_GICR_STRIDE + 0x14, 0, 4, &kick), MOAT_EXIT_IRQ);
	assert_int_equal(fm_violations(), 0);
}

/* ---- WFI with an interrupt already pending
 * ------------------------------------------------------------ */

#define WFI_ESR (EC(EC_WFX) | ESR_IL)
#define WFE_ESR (EC(EC_WFX) | ESR_IL | 1)
#define HVC_ESR (EC(EC_HVC64) | ESR_IL)
#define VMCR(pmr, groups) ((u64)(pmr) << 24 | (groups))

static struct vcpu *wfi_sender;
static u64 wfi_lr[8][VGIC_MAX_LRS];

/*
 * vCPU 1's guest: at exit 0 (its WFI, or WFE, or CPU_SUSPEND) vCPU 0 on
 * another CPU has just sent it SGI 3 -- after vCPU 1's last entry, so the
 * SGI is in the model only. Every entry's LRs are recorded.
 */
static void sgi_during_run(struct vcpu *vcpu, unsigned int n)
{
	if (n < 8) {
		memcpy(wfi_lr[n], fake.lr, sizeof(fake.lr));
	}
	if (n == 0 && wfi_sender) {
		wfi_sender->ctx.regs.x[7] = 3UL << 24 | 1U << 1;
		assert_true(vgic_sysreg_trap(wfi_sender, sgi_esr(5, 7)));
	}
}

static u64 run1(struct fm_vm *v)
{
	u64 res[3];

	fake.next_exit = 0;
	fake.entries = 0;
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, 1), MOAT_OK);
	return res[0];
}

/*
 * The kick that crossed the WFI exit: an SGI made pending on vCPU 1 by vCPU 0
 * while vCPU 1 ran, then vCPU 1 traps WFI. The core resumes it (WFI done, PC
 * past it) with the SGI in an LR; the run ends only with the host's IRQ after.
 */
static void test_wfi_with_sgi_pending_resumes(void **state)
{
	struct fm_vm v = build2(0);
	struct vcpu *c1 = fm_vcpu(&v, 1);

	arm_irq(c1, 3, 0x80, false);
	wfi_sender = fm_vcpu(&v, 0);
	guest = sgi_during_run;
	c1->ctx.regs.elr = 0x40002000;
	fake_queue_exit(GUEST_EXIT_SYNC, WFI_ESR, 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0); /* then an interrupt of the host's */
	assert_int_equal(run1(&v), MOAT_EXIT_IRQ);
	assert_int_equal(fake.entries, 2);
	assert_int_equal(wfi_lr[0][0], 0);
	assert_int_equal(wfi_lr[1][0], 3 | ICH_LR_PENDING | ICH_LR_GROUP | 0x80UL << 48);
	assert_int_equal(c1->ctx.regs.elr, 0x40002004);
	assert_int_equal(c1->run->exit_reason, MOAT_EXIT_IRQ);
	assert_int_equal(fm_violations(), 0);
}

/*
 * CPU_SUSPEND resumes like a WFI. A WFE does not: the CPU traps it whether
 * or not an interrupt is pending, so resuming would meet the next WFE's trap
 * again; it keeps its exit, runnable at once (deadline 0).
 */
static void test_wfe_exits_cpu_suspend_resumes(void **state)
{
	struct fm_vm v = build2(0);
	struct vcpu *c1 = fm_vcpu(&v, 1);

	arm_irq(c1, 3, 0x80, false);
	wfi_sender = fm_vcpu(&v, 0);
	guest = sgi_during_run;
	fake_queue_exit(GUEST_EXIT_SYNC, WFE_ESR, 0, 0);
	assert_int_equal(run1(&v), MOAT_EXIT_WFI);
	assert_int_equal(fake.entries, 1);
	assert_int_equal(c1->run->u.wfi.deadline, 0);
	/* The next entry delivers the SGI. */
	fake.nr_exits = 0;
	wfi_sender = NULL;
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(run1(&v), MOAT_EXIT_IRQ);
	assert_int_equal(wfi_lr[0][0], 3 | ICH_LR_PENDING | ICH_LR_GROUP | 0x80UL << 48);

	/* The guest takes and finishes SGI 3, then calls CPU_SUSPEND as vCPU 0 sends it again. */
	wfi_sender = fm_vcpu(&v, 0);
	fake.lr[0] = 0;
	memset(c1->vgic.lr, 0, sizeof(c1->vgic.lr));
	c1->vgic.priv.in_lr = 0;
	fake.nr_exits = 0;
	c1->ctx.regs.x[0] = 0xc4000001; /* CPU_SUSPEND_64 */
	fake_queue_exit(GUEST_EXIT_SYNC, HVC_ESR, 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(run1(&v), MOAT_EXIT_IRQ);
	assert_int_equal(fake.entries, 2);
	assert_int_equal(c1->ctx.regs.x[0], 0); /* SUCCESS: a standby that returned at once */
	assert_int_equal(wfi_lr[1][0], 3 | ICH_LR_PENDING | ICH_LR_GROUP | 0x80UL << 48);
}

/* The guest's timer expired while it ran, its physical PPI not yet taken: the WFI injects it, no exit. */
static void timer_expires_during_run(struct vcpu *vcpu, unsigned int n)
{
	if (n < 8) {
		memcpy(wfi_lr[n], fake.lr, sizeof(fake.lr));
	}
	if (n == 0) {
		fake.cntv_ctl = CNTV_ENABLE | CNTV_ISTATUS;
	}
}

static void test_wfi_with_timer_expired_resumes(void **state)
{
	struct fm_vm v = build(0);
	struct vcpu *c = fm_vcpu(&v, 0);
	u64 res[3];

	arm_irq(c, 27, 0x20, false);
	guest = timer_expires_during_run;
	fake_queue_exit(GUEST_EXIT_SYNC, WFI_ESR, 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0); /* the host's: the timer is masked at the source by then */
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_IRQ);
	assert_int_equal(fake.entries, 2);
	assert_int_equal(wfi_lr[1][0], 27 | ICH_LR_PENDING | ICH_LR_GROUP | 0x20UL << 48 | ICH_LR_EOI);
	assert_int_equal(fake.cntv_ctl, CNTV_ENABLE | CNTV_ISTATUS | CNTV_IMASK);
	assert_true(c->vgic.timer_masked);
}

/*
 * The PMU's overflow raised at the WFI exit itself: guest_pmu_exit() runs
 * before the WFI's handler and raises the line with vgic_set_ppi_level()
 * (the fake arch switches no PMU, so the hook makes that call for it).
 */
static void pmu_overflow_at_exit(struct vcpu *vcpu, unsigned int n)
{
	if (n < 8) {
		memcpy(wfi_lr[n], fake.lr, sizeof(fake.lr));
	}
	if (n == 0) {
		vgic_set_ppi_level(vcpu, VGIC_INTID_PMU, true);
	}
}

static void test_wfi_with_pmu_overflow_resumes(void **state)
{
	struct fm_vm v = build(0);
	struct vcpu *c = fm_vcpu(&v, 0);
	u64 res[3];

	arm_irq(c, VGIC_INTID_PMU, 0xa0, false);
	guest = pmu_overflow_at_exit;
	fake_queue_exit(GUEST_EXIT_SYNC, WFI_ESR, 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_IRQ);
	assert_int_equal(fake.entries, 2);
	assert_int_equal(wfi_lr[1][0], VGIC_INTID_PMU | ICH_LR_PENDING | ICH_LR_GROUP | 0xa0UL << 48 | ICH_LR_EOI);
}

/*
 * Pending, but nothing the virtual CPU interface would signal: the WFI exits
 * as before, once per trap. An SPI disabled in the distributor; an SGI at or
 * below the guest's priority mask (VPMR), or of a group its interface has
 * off (VENG1), or not above the running priority of an interrupt it is
 * handling: resuming would only make the guest trap its WFI again.
 */
static void test_wfi_with_nothing_signalled_exits(void **state)
{
	struct fm_vm v = build2(1UL << 8); /* SPI 40 the host's */
	struct vcpu *c1 = fm_vcpu(&v, 1);
	struct moat_run *r = c1->run;
	u64 res[3];
	static const struct {
		u64 vmcr;
		u32 rpr;
	} masked[] = {
		{ VMCR(0x80, 3), 0xff }, /* priority 0x80 not below VPMR 0x80 */
		{ VMCR(0xff, 1), 0xff }, /* group 1 off in the interface */
		{ VMCR(0xff, 3), 0x80 }, /* handling an interrupt of priority 0x80 */
	};

	/* SPI 40 raised by the host's IRQ_LINE, routed to vCPU 1, pending but disabled in the distributor. */
	vgic_mmio_write(c1, GICD + 0x6000 + 8 * 40, 8, 1);
	assert_int_equal(FM_CALLR(res, MOAT_FN_IRQ_LINE, v.handle, 40, 1), MOAT_OK);
	assert_int_equal(res[0], 1); /* its target: vCPU 1 */
	guest = sgi_during_run;
	wfi_sender = NULL;
	fake_queue_exit(GUEST_EXIT_SYNC, WFI_ESR, 0, 0);
	assert_int_equal(run1(&v), MOAT_EXIT_WFI);
	assert_int_equal(fake.entries, 1);
	assert_int_equal(r->u.wfi.deadline, ~0UL);
	assert_int_equal(c1->vgic.lr[0], 0);

	arm_irq(c1, 3, 0x80, false);
	wfi_sender = fm_vcpu(&v, 0);
	for (unsigned int i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		fake.ich_vmcr = masked[i].vmcr;
		fake.vgic_rpr = masked[i].rpr;
		memset(c1->vgic.lr, 0, sizeof(c1->vgic.lr));
		c1->vgic.priv.in_lr = 0;
		c1->vgic.priv.pending = 0;
		/* Twice: each WFI trap is checked once, and each exits. */
		for (unsigned int j = 0; j < 2; j++) {
			fake.nr_exits = 0;
			fake_queue_exit(GUEST_EXIT_SYNC, WFI_ESR, 0, 0);
			assert_int_equal(run1(&v), MOAT_EXIT_WFI);
			assert_int_equal(fake.entries, 1);
		}
		/* The SGI waits in an LR for the guest to lower its mask. */
		assert_int_equal(c1->vgic.lr[0], 3 | ICH_LR_PENDING | ICH_LR_GROUP | 0x80UL << 48);
	}
	/* A running priority above the SGI's 0x80 lets it preempt: resumed. */
	fake.ich_vmcr = VMCR(0xff, 2);
	fake.vgic_rpr = 0x88;
	fake.nr_exits = 0;
	fake_queue_exit(GUEST_EXIT_SYNC, WFI_ESR, 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(run1(&v), MOAT_EXIT_IRQ);
	assert_int_equal(fake.entries, 2);
}

/*
 * List registers full of interrupts the guest has active, and one more
 * pending in the model: it cannot reach an LR, the CPU interface signals
 * nothing, so the WFI exits (no resume that would only trap again) and UIE
 * stays set for the refill once the guest deactivates one.
 */
static void ack_all_four(struct vcpu *vcpu, unsigned int n)
{
	if (n == 0) {
		for (unsigned int i = 0; i < 4; i++) {
			ack(i);
		}
	}
}

static void test_wfi_with_lrs_full_exits(void **state)
{
	struct fm_vm v = build(0);
	struct vcpu *c = fm_vcpu(&v, 0);
	u64 res[3];

	for (u32 i = 0; i < 5; i++) {
		arm_irq(c, 40 + i, (u8)(0x20 + 8 * i), true);
	}
	fake.vgic_rpr = 0x20; /* the guest is in the handler of the first */
	guest = ack_all_four;
	fake_queue_exit(GUEST_EXIT_SYNC, WFI_ESR, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_WFI);
	assert_int_equal(fake.entries, 1);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(LR_STATE(c->vgic.lr[i]), ICH_LR_ACTIVE);
	}
	assert_int_equal(rd(c, GICD + 0x204), 1U << 12); /* INTID 44 waits in the model */
	assert_int_equal(c->vgic.hcr & ICH_HCR_UIE, ICH_HCR_UIE);
}

/* ---- garbage
 * ----------------------------------------------------------------------------------------
 */

static u64 rng = 0x9e3779b97f4a7c15UL;

static u64 next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_garbage_everywhere(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, FM_NO_FINALIZE);
	struct vcpu *c;
	struct vm *vm;
	u64 run1 = fm_host_page(m);
	static const unsigned int sizes[] = { 1, 2, 4, 8 };

	assert_int_equal(FM_CALL(MOAT_FN_SHARE_CORE, run1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 1, run1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_VM_SET_SPIS, v.handle, 1UL << 1), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, v.handle), MOAT_OK);
	c = fm_vcpu(&v, 0);
	vm = fm_vm_of(&v);
	/* Every register of GICD and of both GICR frames, every size, random values, three rounds. */
	for (unsigned int round = 0; round < 3; round++) {
		for (u64 off = 0; off < VGIC_GICD_SIZE; off += 4) {
			vgic_mmio_write(c, GICD + off, 4, next_random());
			vgic_mmio_write(c, GICD + off + (next_random() & 3), sizes[next_random() % 4], next_random());
			(void)vgic_mmio_read(c, GICD + off, sizes[next_random() % 4]);
		}
		for (u64 off = 0; off < 2 * VGIC_GICR_STRIDE; off += 4) {
			vgic_mmio_write(c, GICR0 + off, 4, next_random());
			(void)vgic_mmio_read(c, GICR0 + off, sizes[next_random() % 4]);
		}
		for (unsigned int i = 0; i < 8; i++) {
			c->vgic.lr[i % 4] = next_random(); /* even LRs the hardware could never hold */
			vgic_flush(c);
			vgic_sync(c);
		}
	}
	/* Kicks name only vCPUs the VM has, never the writer itself. */
	assert_int_equal(c->vgic.kick & ~(1UL << 1), 0);
	/* The host's list is the host's: nothing the guest writes widens it. */
	assert_int_equal(vm->vgic.allowed, 1UL << 1);
	assert_int_equal(FM_CALL(MOAT_FN_IRQ_LINE, v.handle, 34, 1), MOAT_E_PERM);
	/* Still a working GIC: IDs as before, and an interrupt still goes through an LR. */
	assert_int_equal(rd(c, GICD + 0x8), 0x0100043b);
	memset(c->vgic.lr, 0, sizeof(c->vgic.lr));
	wr(c, GICD + 0x0, 2);
	wr(c, GICD + 0x6000 + 8 * 33, 0);
	wr(c, GICD + 0x284, ~0U);
	wr(c, GICD + 0x384, ~0U);
	memset(&vm->vgic.spi[0].in_lr, 0, sizeof(u32));
	arm_irq(c, 33, 0x10, true);
	vgic_flush(c);
	assert_int_equal(c->vgic.lr[0] & ICH_LR_VINTID_MASK, 33);
	assert_int_equal(fm_violations(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gicd_abort_answered_in_core, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_active_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority_and_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_line_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_line_level_and_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vtimer_injected_without_host_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sgi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sgi_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gicd_write_kicks_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gicd_write_kicks_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gicr_write_kicks_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfi_with_sgi_pending_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfe_exits_cpu_suspend_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfi_with_timer_expired_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfi_with_pmu_overflow_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfi_with_nothing_signalled_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfi_with_lrs_full_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_everywhere, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
