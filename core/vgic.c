/*
 * The virtual GICv3 (see vgic.h for what it owns, who calls it and the lock).
 *
 * Nothing a guest or the host writes here can stop the core: every register
 * offset, size and value has a defined outcome (unknown offsets read as zero
 * and ignore writes, as a GIC's reserved space does), and no bit the guest
 * sets makes the core touch anything outside this VM's model.
 */
#include "vgic.h"

#include "arch.h"
#include "esr.h"
#include "guest_exit.h"
#include "lib.h"
#include "moat/abi.h"
#include "moat/errors.h"
#include "vcpu.h"
#include "vm.h"

/* Distributor registers (Arm IHI 0069 12.9). */
#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ISPENDR 0x0200
#define GICD_ICPENDR 0x0280
#define GICD_ISACTIVER 0x0300
#define GICD_ICACTIVER 0x0380
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0c00
#define GICD_IROUTER 0x6000
#define GICD_PIDR2 0xffe8
#define GICD_CTLR_GRP0 (1U << 0)
#define GICD_CTLR_GRP1 (1U << 1)
#define GICD_CTLR_ARE (1U << 4)
#define GICD_CTLR_DS (1U << 6) /* one security state: the guest sees no Secure side */
/* ITLinesNumber = 32 * (N + 1) INTIDs; IDbits = 10 bits of INTID (no LPIs). */
#define GICD_TYPER_VALUE (((VGIC_NR_IRQS / 32) - 1) | (9U << 19))
#define GIC_IIDR_VALUE                                                                                                 \
	0x0100043bU		  /* Arm's JEP106 code (0x43b), product 1: ours, not a real        \
                 GIC-600 */
#define GIC_PIDR2_VALUE (3U << 4) /* ArchRev 3: GICv3 */
/* Redistributor, RD_base frame. */
#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_PIDR2 0xffe8
#define GICR_TYPER_LAST (1UL << 4)
#define GICR_WAKER_SLEEP (1U << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1U << 2)
#define GICR_SGI_BASE 0x10000
/* Priorities: 5 bits, as the CPU interface QEMU models has; the low three read
 * as zero. */
#define PRIORITY_MASK 0xf8
#define CNTV_CTL_ENABLE (1UL << 0)
#define CNTV_CTL_IMASK (1UL << 1)
#define CNTV_CTL_ISTATUS (1UL << 2)
/* ICH_VMCR_EL2 (Arm IHI 0069 12.4.10): the guest's group enables and priority mask, as its interface keeps them. */
#define ICH_VMCR_ENG0 (1UL << 0)
#define ICH_VMCR_ENG1 (1UL << 1)
#define ICH_VMCR_PMR(v) (((v) >> 24) & 0xffUL)

/* ---- the model
 * ---------------------------------------------------------------- */

void vgic_dist_init(struct vgic_dist *d)
{
	memset(d, 0, sizeof(*d));
}

void vgic_cpu_init(struct vgic_cpu *c)
{
	memset(c, 0, sizeof(*c));
	c->priv.edge = 0xffff; /* SGIs are edge-triggered, and stay so; PPIs start
                            level-sensitive */
	c->waker = GICR_WAKER_SLEEP;
}

static struct vgic_dist *dist_of(const struct vcpu *vcpu)
{
	return &vcpu->vm->vgic;
}

static struct vcpu *vcpu_of(const struct vm *vm, u64 index)
{
	return index < vm->max_vcpus && index < MAX_VCPUS ? vm->vcpus[index] : NULL;
}

/* The 32 INTIDs starting at 32 * n: private ones are the vCPU's, the rest the
 * VM's; NULL beyond the SPIs. */
static struct vgic_bits *bank(struct vcpu *vcpu, u64 n)
{
	if (n == 0) {
		return &vcpu->vgic.priv;
	}
	return n <= VGIC_SPI_BANKS ? &dist_of(vcpu)->spi[n - 1] : NULL;
}

static u8 *priority_of(struct vcpu *vcpu, u32 intid)
{
	return intid < VGIC_SPI_BASE ? &vcpu->vgic.priority[intid] : &dist_of(vcpu)->priority[intid - VGIC_SPI_BASE];
}

/* The LR of this vCPU holding intid, or -1. */
static int find_lr(const struct vcpu *vcpu, u32 intid)
{
	unsigned int nr = arch_vgic_nr_lrs();

	for (unsigned int i = 0; i < nr; i++) {
		if ((vcpu->vgic.lr[i] & ICH_LR_STATE) && (vcpu->vgic.lr[i] & ICH_LR_VINTID_MASK) == intid) {
			return (int)i;
		}
	}
	return -1;
}

/*
 * An LR the guest is done with (state invalid): the interrupt leaves it. A
 * level-sensitive line still high is pending again; the virtual timer's
 * mask comes off, so that the timer itself says whether it still fires.
 */
static void retire_lr(struct vcpu *vcpu, unsigned int i)
{
	u32 intid = (u32)(vcpu->vgic.lr[i] & ICH_LR_VINTID_MASK);
	struct vgic_bits *b = bank(vcpu, intid / 32);
	u32 bit = 1U << (intid % 32);

	vcpu->vgic.lr[i] = 0;
	if (!b) {
		return; /* never written by flush: nothing of the model to update */
	}
	b->in_lr &= ~bit;
	if (intid == VGIC_INTID_VTIMER && vcpu->vgic.timer_masked) {
		vcpu->vgic.timer_masked = false;
		b->level &= ~bit;
		arch_vtimer_set_ctl(arch_vtimer_ctl() & ~CNTV_CTL_IMASK);
		return;
	}
	if (!(b->edge & bit) && (b->level & bit)) {
		b->pending |= bit;
	}
}

/* Retire every finished LR; merge what arrived meanwhile into the ones still
 * live. */
static void sync_lrs(struct vcpu *vcpu)
{
	unsigned int nr = arch_vgic_nr_lrs();

	for (unsigned int i = 0; i < nr; i++) {
		u64 lr = vcpu->vgic.lr[i];
		u32 intid = (u32)(lr & ICH_LR_VINTID_MASK);
		struct vgic_bits *b = bank(vcpu, intid / 32);
		u32 bit = 1U << (intid % 32);

		if (!lr) {
			continue;
		}
		if (!(lr & ICH_LR_STATE)) {
			retire_lr(vcpu, i);
		} else if (b && (b->pending & bit)) {
			vcpu->vgic.lr[i] |= ICH_LR_PENDING;
			b->pending &= ~bit;
		}
	}
}

/* The interrupts of b the guest could be signalled, wherever routed: pending, enabled, of an enabled group. */
static u32 signallable(const struct vgic_dist *d, const struct vgic_bits *b)
{
	u32 groups = ((d->ctlr & GICD_CTLR_GRP1) ? b->group : 0) | ((d->ctlr & GICD_CTLR_GRP0) ? ~b->group : 0);

	return b->pending & b->enabled & groups;
}

/*
 * The interrupts of bank n that want an LR of this vCPU now, as a mask:
 * active ones (the guest must be able to deactivate them), and pending
 * enabled ones of an enabled group routed here. Bitwise per bank, so that
 * the common case -- nothing to deliver -- costs a few instructions per entry.
 */
static u32 deliverable_mask(struct vcpu *vcpu, unsigned int n)
{
	struct vgic_dist *d = dist_of(vcpu);
	struct vgic_bits *b = bank(vcpu, n);
	u32 m = (signallable(d, b) | b->active) & ~b->in_lr;

	for (u32 rest = n ? m : 0; rest; rest &= rest - 1) {
		u32 i = (u32)__builtin_ctz(rest);

		if (d->target[(n - 1) * 32 + i] != vcpu->index) {
			m &= ~(1U << i);
		}
	}
	return m;
}

/* The candidate of highest priority (lowest value; lowest INTID among equals) in masks, or -1. */
static int best_candidate(struct vcpu *vcpu, const u32 masks[1 + VGIC_SPI_BANKS])
{
	int best = -1;
	u8 best_prio = 0;

	for (unsigned int n = 0; n <= VGIC_SPI_BANKS; n++) {
		for (u32 rest = masks[n]; rest; rest &= rest - 1) {
			u32 intid = n * 32 + (u32)__builtin_ctz(rest);
			u8 prio = *priority_of(vcpu, intid);

			if (best < 0 || prio < best_prio) {
				best = (int)intid;
				best_prio = prio;
			}
		}
	}
	return best;
}

static u64 make_lr(struct vcpu *vcpu, u32 intid)
{
	struct vgic_bits *b = bank(vcpu, intid / 32);
	u32 bit = 1U << (intid % 32);
	u64 lr = intid | ((u64)*priority_of(vcpu, intid) << ICH_LR_PRIORITY_SHIFT);

	lr |= (b->group & bit) ? ICH_LR_GROUP : 0;
	lr |= (b->edge & bit) ? 0 : ICH_LR_EOI; /* level: sample the line again when
                                             the guest is done */
	lr |= (b->pending & bit) ? ICH_LR_PENDING : 0;
	lr |= (b->active & bit) ? ICH_LR_ACTIVE : 0;
	if (!(lr & ICH_LR_STATE)) {
		lr |= ICH_LR_PENDING; /* active without pending still needs a state: cannot
                             happen, kept safe */
	}
	return lr;
}

static void fill_lrs(struct vcpu *vcpu)
{
	unsigned int nr = arch_vgic_nr_lrs();
	u32 masks[1 + VGIC_SPI_BANKS], any = 0;

	for (unsigned int n = 0; n <= VGIC_SPI_BANKS; n++) {
		masks[n] = deliverable_mask(vcpu, n);
		any |= masks[n];
	}
	for (unsigned int i = 0; i < nr && any; i++) {
		struct vgic_bits *b;
		u32 bit;
		int intid;

		if (vcpu->vgic.lr[i]) {
			continue;
		}
		intid = best_candidate(vcpu, masks);
		b = bank(vcpu, (u64)intid / 32);
		bit = 1U << (intid % 32);
		vcpu->vgic.lr[i] = make_lr(vcpu, (u32)intid);
		b->in_lr |= bit;
		b->pending &= ~bit;
		b->active &= ~bit;
		masks[intid / 32] &= ~bit;
		any = 0;
		for (unsigned int n = 0; n <= VGIC_SPI_BANKS; n++) {
			any |= masks[n];
		}
	}
	/* Some must wait (the software queue): ask for a maintenance interrupt once the LRs drain. */
	if (any) {
		vcpu->vgic.hcr |= ICH_HCR_UIE;
	} else {
		vcpu->vgic.hcr &= ~ICH_HCR_UIE;
	}
}

/*
 * Nothing in this vCPU's LRs and nothing pending or active anywhere it
 * could receive: the common entry. Read without the lock: a bit another CPU
 * sets concurrently is seen at the next entry, which is when an interrupt
 * for a vCPU already running would arrive anyway (the host kicks it).
 */
static bool idle(struct vcpu *vcpu)
{
	struct vgic_dist *d = dist_of(vcpu);
	unsigned int nr = arch_vgic_nr_lrs();
	u64 any = 0;

	for (unsigned int i = 0; i < nr; i++) {
		any |= vcpu->vgic.lr[i];
	}
	any |= __atomic_load_n(&vcpu->vgic.priv.pending, __ATOMIC_RELAXED) |
	       __atomic_load_n(&vcpu->vgic.priv.active, __ATOMIC_RELAXED);
	for (unsigned int n = 0; n < VGIC_SPI_BANKS; n++) {
		any |= __atomic_load_n(&d->spi[n].pending, __ATOMIC_RELAXED) |
		       __atomic_load_n(&d->spi[n].active, __ATOMIC_RELAXED);
	}
	return !any;
}

void vgic_flush(struct vcpu *vcpu)
{
	struct vgic_dist *d = dist_of(vcpu);

	if (idle(vcpu)) {
		vcpu->vgic.hcr &= ~ICH_HCR_UIE; /* nothing waits: no maintenance interrupt to ask for */
		return;
	}
	spin_lock(&d->lock);
	sync_lrs(vcpu);
	fill_lrs(vcpu);
	spin_unlock(&d->lock);
}

void vgic_sync(struct vcpu *vcpu)
{
	struct vgic_dist *d = dist_of(vcpu);
	unsigned int nr = arch_vgic_nr_lrs();
	u64 any = 0;

	/* The LR copy is this CPU's: no lock needed to see that the guest held nothing (the common exit). */
	for (unsigned int i = 0; i < nr; i++) {
		any |= vcpu->vgic.lr[i];
	}
	if (!any) {
		return;
	}
	spin_lock(&d->lock);
	sync_lrs(vcpu);
	spin_unlock(&d->lock);
}

/* Make intid pending on vcpu (an SGI, or a private line); caller holds the
 * lock. */
static void set_pending(struct vcpu *vcpu, u32 intid)
{
	vcpu->vgic.priv.pending |= 1U << intid;
}

/*
 * A level-sensitive private line of the loaded vCPU, driven by the core
 * from device state it owns (the PMU's overflow, guest_pmu.c). Only edges
 * change the model: a rising one makes the interrupt pending (once: while
 * the line stays high, retire_lr re-pends it at each EOI, so setting
 * pending again here would deliver it twice); a falling one withdraws a
 * pending state that was not yet taken, here or in this vCPU's LR copy
 * (written back at the next entry; an LR left with no state is retired by
 * the next flush), as a GIC drops a level interrupt whose line fell. An
 * active one stays active until the guest deactivates it. Simplification:
 * the model has no separate latch, so a GICR_ISPENDR0 write of the guest
 * for this INTID is withdrawn by the same falling edge.
 */
void vgic_set_ppi_level(struct vcpu *vcpu, u32 intid, bool high)
{
	struct vgic_bits *b = &vcpu->vgic.priv;
	u32 bit = 1U << (intid % VGIC_NR_PRIVATE);
	int lr;

	spin_lock(&dist_of(vcpu)->lock);
	if (high && !(b->level & bit)) {
		b->level |= bit;
		set_pending(vcpu, intid % VGIC_NR_PRIVATE);
	} else if (!high && (b->level & bit)) {
		b->level &= ~bit;
		b->pending &= ~bit;
		lr = find_lr(vcpu, intid % VGIC_NR_PRIVATE);
		if (lr >= 0) {
			vcpu->vgic.lr[lr] &= ~ICH_LR_PENDING;
		}
	}
	spin_unlock(&dist_of(vcpu)->lock);
}

/*
 * The guest's virtual timer fired (enabled, condition met, not masked by the
 * guest): masked at the source, which drops the level-sensitive PPI and
 * leaves the host's GIC state untouched, and pending in the model. True if
 * it had fired.
 */
static bool vtimer_take(struct vcpu *vcpu)
{
	u64 ctl = arch_vtimer_ctl();

	if (!(ctl & CNTV_CTL_ENABLE) || !(ctl & CNTV_CTL_ISTATUS) || (ctl & CNTV_CTL_IMASK)) {
		return false;
	}
	arch_vtimer_set_ctl(ctl | CNTV_CTL_IMASK);
	spin_lock(&dist_of(vcpu)->lock);
	vcpu->vgic.timer_masked = true;
	vcpu->vgic.priv.level |= 1U << VGIC_INTID_VTIMER;
	set_pending(vcpu, VGIC_INTID_VTIMER);
	spin_unlock(&dist_of(vcpu)->lock);
	return true;
}

bool vgic_irq_exit(struct vcpu *vcpu)
{
	bool ours = vcpu->vgic.misr != 0; /* the maintenance interrupt: vgic_sync has served it */

	return vtimer_take(vcpu) || ours;
}

/*
 * Some LR holds an interrupt the GICv3 virtual CPU interface signals to the
 * guest now (Arm IHI 0069, "Virtual CPU interface": the highest-priority
 * pending virtual interrupt is signalled if its group is enabled and it has
 * sufficient priority): state pending -- pending-and-active is not a
 * candidate --, its group enabled in ICH_VMCR_EL2 (VENG0/VENG1, the
 * guest's ICC_IGRPEN<n>_EL1), priority below VPMR (ICC_PMR_EL1) and below
 * the running priority. PSTATE.I/F play no part: a signalled interrupt ends
 * a WFI even when the guest has it masked.
 *
 * Never looser than the hardware, so that a resume never just meets the same
 * WFI trap again: VPMR is cut to the 5 priority bits the model keeps (a
 * hardware with more could only signal more), and the priority itself is
 * compared with the running priority where the hardware compares its group
 * priority (the priority with the subpriority bits cleared, never greater):
 * p < RPR implies group(p) < RPR. The two can differ only with binary points
 * that vary (changed while an interrupt is active, or different for the two
 * groups); then the WFI exits as before.
 */
static bool lr_signalled(const struct vcpu *vcpu)
{
	u64 vmcr = arch_vgic_vmcr();
	u32 pmr = (u32)ICH_VMCR_PMR(vmcr) & PRIORITY_MASK;
	u32 rpr = arch_vgic_running_priority();
	unsigned int nr = arch_vgic_nr_lrs();

	for (unsigned int i = 0; i < nr; i++) {
		u64 lr = vcpu->vgic.lr[i];
		u32 prio = (u32)(lr >> ICH_LR_PRIORITY_SHIFT) & 0xff;
		u64 group_on = (lr & ICH_LR_GROUP) ? ICH_VMCR_ENG1 : ICH_VMCR_ENG0;

		if ((lr & ICH_LR_STATE) == ICH_LR_PENDING && (vmcr & group_on) && prio < pmr && prio < rpr) {
			return true;
		}
	}
	return false;
}

bool vgic_wfx_wake(struct vcpu *vcpu)
{
	/* A timer that expired before its physical PPI was taken is pending like any other. */
	vtimer_take(vcpu);
	/*
	 * What the next entry does anyway (which then finds nothing more to
	 * place); nothing but its unlocked idle check when nothing is pending.
	 */
	vgic_flush(vcpu);
	return lr_signalled(vcpu);
}

/* ---- register access, 32 bits at a time
 * ------------------------------------------ */

/*
 * The set/clear-enable, -pending and -active registers of bank n. Reads show
 * what is in this vCPU's LRs too; writes act on the model, and on this
 * vCPU's LR copy for an interrupt it holds (written back at the next entry).
 */
enum bit_reg { REG_GROUP, REG_SENABLE, REG_CENABLE, REG_SPEND, REG_CPEND, REG_SACTIVE, REG_CACTIVE };

static u32 lr_bits(struct vcpu *vcpu, u64 n, u64 state)
{
	unsigned int nr = arch_vgic_nr_lrs();
	u32 v = 0;

	for (unsigned int i = 0; i < nr; i++) {
		u64 lr = vcpu->vgic.lr[i];
		u64 intid = lr & ICH_LR_VINTID_MASK;

		if ((lr & state) && intid / 32 == n) {
			v |= 1U << (intid % 32);
		}
	}
	return v;
}

/* own: as for bits_write; another vCPU's LRs are not this CPU's to read (its reads show the model). */
static u32 bits_read(struct vcpu *vcpu, u64 n, enum bit_reg r, bool own)
{
	struct vgic_bits *b = bank(vcpu, n);

	if (!b) {
		return 0;
	}
	switch (r) {
	case REG_GROUP:
		return b->group;
	case REG_SENABLE:
	case REG_CENABLE:
		return b->enabled;
	case REG_SPEND:
	case REG_CPEND:
		return b->pending | (own ? lr_bits(vcpu, n, ICH_LR_PENDING) : 0);
	default:
		return b->active | (own ? lr_bits(vcpu, n, ICH_LR_ACTIVE) : 0);
	}
}

/* Clear state from this vCPU's LRs holding interrupts of bank n named by v. */
static void lr_clear(struct vcpu *vcpu, u64 n, u32 v, u64 state)
{
	for (u32 i = 0; i < 32; i++) {
		int lr = (v >> i) & 1 ? find_lr(vcpu, (u32)(n * 32 + i)) : -1;

		if (lr >= 0) {
			vcpu->vgic.lr[lr] &= ~state;
		}
	}
}

/*
 * own: vcpu is the one whose exit this is, so its LR copy is this CPU's to
 * edit. Another vCPU's redistributor (a GICR frame is any vCPU's to write)
 * gets the model only: that vCPU may be running on another CPU.
 */
static void bits_write(struct vcpu *vcpu, u64 n, enum bit_reg r, u32 v, bool own)
{
	struct vgic_bits *b = bank(vcpu, n);

	if (!b) {
		return;
	}
	switch (r) {
	case REG_GROUP:
		b->group = v;
		break;
	case REG_SENABLE:
		b->enabled |= v;
		break;
	case REG_CENABLE:
		b->enabled &= ~v;
		break;
	case REG_SPEND:
		b->pending |= v; /* merged into an LR that already holds it at the next entry */
		break;
	case REG_CPEND:
		b->pending &= ~v;
		if (own) {
			lr_clear(vcpu, n, v, ICH_LR_PENDING);
		}
		break;
	case REG_SACTIVE:
		b->active |= v & ~b->in_lr;
		for (u32 i = 0; own && i < 32; i++) {
			int lr = (v >> i) & 1 ? find_lr(vcpu, (u32)(n * 32 + i)) : -1;

			if (lr >= 0) {
				vcpu->vgic.lr[lr] |= ICH_LR_ACTIVE;
			}
		}
		break;
	case REG_CACTIVE:
		b->active &= ~v;
		if (own) {
			lr_clear(vcpu, n, v, ICH_LR_ACTIVE);
		}
		break;
	}
	/* An LR left with no state is the guest's no more: its interrupt leaves it now. */
	if (own) {
		sync_lrs(vcpu);
	}
}

/*
 * A guest write by writer to bank n of owner (owner's private bank when n is
 * 0, the SPIs otherwise) that may have made the interrupts named by bits
 * deliverable: the vCPUs other than the writer now holding one of them
 * pending, enabled and in an enabled group go into the writer's kick mask
 * (its run ends with MOAT_EXIT_KICK naming them, as for an SGI), because
 * such a vCPU may be in its guest on another CPU, or parked by the host in a
 * WFI wait with no deadline, and only the host can reach it. Conservative:
 * priority, the target's mask and LRs are not looked at; a needless kick
 * costs one exit, a missing one a lost interrupt. The writer's own
 * interrupts need nothing: it takes them at its next entry. Caller holds the
 * lock.
 */
static void note_kicks(struct vcpu *writer, struct vcpu *owner, u64 n, u32 bits)
{
	struct vgic_dist *d = dist_of(writer);
	struct vgic_bits *b = bank(owner, n);
	u32 m = b ? bits & signallable(d, b) : 0;

	if (n == 0) {
		writer->vgic.kick |= m && owner != writer ? 1UL << owner->index : 0;
		return;
	}
	for (; m; m &= m - 1) {
		/* IROUTER may name a vCPU the VM does not have: then nobody receives it. */
		struct vcpu *t = vcpu_of(writer->vm, d->target[(n - 1) * 32 + (u32)__builtin_ctz(m)]);

		writer->vgic.kick |= t && t != writer ? 1UL << t->index : 0;
	}
}

/* The bit registers whose writes can make an interrupt deliverable (the rest only take away, or
 * leave it pending and active, which signals nothing): set-enable, set-pending, clear-active (a
 * pending and active interrupt becomes pending), the group. */
static bool bits_grow(enum bit_reg r)
{
	return r == REG_GROUP || r == REG_SENABLE || r == REG_SPEND || r == REG_CACTIVE;
}

/* ICFGR register k (16 INTIDs of 2 bits each): bit 2i+1 set = edge-triggered.
 */
static u32 cfg_read(struct vcpu *vcpu, u64 k)
{
	struct vgic_bits *b = bank(vcpu, k / 2);
	u32 edge, v = 0;

	if (!b) {
		return 0;
	}
	edge = b->edge >> (16 * (k % 2));
	for (unsigned int i = 0; i < 16; i++) {
		v |= ((edge >> i) & 1) << (2 * i + 1);
	}
	return v;
}

static void cfg_write(struct vcpu *vcpu, u64 k, u32 v)
{
	struct vgic_bits *b = bank(vcpu, k / 2);
	u32 shift = 16 * (k % 2), edge = 0;

	if (!b || k == 0) {
		return; /* SGIs are always edge-triggered: ICFGR0 is read-only */
	}
	for (unsigned int i = 0; i < 16; i++) {
		edge |= ((v >> (2 * i + 1)) & 1) << i;
	}
	b->edge = (b->edge & ~(0xffffU << shift)) | (edge << shift);
}

/* IPRIORITYR: 4 INTIDs from first, one byte each; lanes says which bytes a
 * write touches. */
static u32 prio_read(struct vcpu *vcpu, u32 first)
{
	u32 v = 0;

	for (u32 i = 0; i < 4 && first + i < VGIC_NR_IRQS; i++) {
		v |= (u32)*priority_of(vcpu, first + i) << (8 * i);
	}
	return v;
}

/* owner: whose priorities (its private ones when first < 32); writer: the vCPU writing. */
static void prio_write(struct vcpu *writer, struct vcpu *owner, u32 first, u32 v, unsigned int lanes)
{
	for (u32 i = 0; i < 4 && first + i < VGIC_NR_IRQS; i++) {
		if (lanes & (1U << i)) {
			*priority_of(owner, first + i) = (u8)(v >> (8 * i)) & PRIORITY_MASK;
		}
	}
	/* A higher priority may beat the owner's mask now. first is 4-aligned: the 4 INTIDs share a bank. */
	note_kicks(writer, owner, first / 32, (lanes & 0xfU) << (first % 32));
}

/* The bank-of-bits registers share one layout: 0x80 per kind, one word per 32
 * INTIDs. */
static bool bit_reg_of(u64 off, enum bit_reg *r, u64 *n)
{
	static const enum bit_reg kinds[] = { REG_GROUP, REG_SENABLE, REG_CENABLE, REG_SPEND,
					      REG_CPEND, REG_SACTIVE, REG_CACTIVE };

	if (off < GICD_IGROUPR || off >= GICD_ICACTIVER + 0x80) {
		return false;
	}
	*r = kinds[(off - GICD_IGROUPR) / 0x80];
	*n = (off % 0x80) / 4;
	return true;
}

/* A GICD word (off 4-aligned); private banks are the redistributor's, not the
 * distributor's (ARE = 1). */
static u32 gicd_read(struct vcpu *vcpu, u64 off)
{
	struct vgic_dist *d = dist_of(vcpu);
	enum bit_reg r;
	u64 n;

	if (off == GICD_CTLR) {
		return d->ctlr | GICD_CTLR_ARE | GICD_CTLR_DS;
	}
	if (off == GICD_TYPER) {
		return GICD_TYPER_VALUE;
	}
	if (off == GICD_IIDR) {
		return GIC_IIDR_VALUE;
	}
	if (off == GICD_PIDR2) {
		return GIC_PIDR2_VALUE;
	}
	if (bit_reg_of(off, &r, &n)) {
		return n == 0 ? 0 : bits_read(vcpu, n, r, true);
	}
	if (off >= GICD_IPRIORITYR + VGIC_SPI_BASE && off < GICD_IPRIORITYR + VGIC_NR_IRQS) {
		return prio_read(vcpu, (u32)(off - GICD_IPRIORITYR));
	}
	if (off >= GICD_ICFGR + 8 && off < GICD_ICFGR + VGIC_NR_IRQS / 4) {
		return cfg_read(vcpu, (off - GICD_ICFGR) / 4);
	}
	if (off >= GICD_IROUTER + 8 * VGIC_SPI_BASE && off < GICD_IROUTER + 8 * VGIC_NR_IRQS) {
		/* The low word holds Aff0..Aff2 and IRM; the high word Aff3, always 0 here.
     */
		return off % 8 ? 0 : d->target[(off - GICD_IROUTER) / 8 - VGIC_SPI_BASE];
	}
	return 0; /* reserved, ITARGETSR, IGRPMODR, NSACR...: RAZ/WI with ARE = 1 and
               one security state */
}

static void gicd_write(struct vcpu *vcpu, u64 off, u32 v, unsigned int lanes)
{
	struct vgic_dist *d = dist_of(vcpu);
	enum bit_reg r;
	u64 n;

	if (off >= GICD_IPRIORITYR + VGIC_SPI_BASE && off < GICD_IPRIORITYR + VGIC_NR_IRQS) {
		prio_write(vcpu, vcpu, (u32)(off - GICD_IPRIORITYR), v, lanes);
		return;
	}
	if (lanes != 0xf) {
		return; /* the other registers are word-accessible only: a narrower write is
               ignored */
	}
	if (off == GICD_CTLR) {
		bool switched_on = (v & ~d->ctlr) & (GICD_CTLR_GRP0 | GICD_CTLR_GRP1);

		d->ctlr = v & (GICD_CTLR_GRP0 | GICD_CTLR_GRP1);
		/* A group switched on applies to every interrupt of every vCPU (rare: Linux writes it at boot). */
		for (n = 1; switched_on && n <= VGIC_SPI_BANKS; n++) {
			note_kicks(vcpu, vcpu, n, ~0U);
		}
		for (u32 i = 0; switched_on && i < MAX_VCPUS; i++) {
			struct vcpu *t = vcpu_of(vcpu->vm, i);

			if (t) {
				note_kicks(vcpu, t, 0, ~0U);
			}
		}
	} else if (bit_reg_of(off, &r, &n)) {
		if (n != 0) {
			bits_write(vcpu, n, r, v, true);
			note_kicks(vcpu, vcpu, n, bits_grow(r) ? (r == REG_GROUP ? ~0U : v) : 0);
		}
	} else if (off >= GICD_ICFGR + 8 && off < GICD_ICFGR + VGIC_NR_IRQS / 4) {
		cfg_write(vcpu, (off - GICD_ICFGR) / 4, v);
	} else if (off >= GICD_IROUTER + 8 * VGIC_SPI_BASE && off < GICD_IROUTER + 8 * VGIC_NR_IRQS && !(off % 8)) {
		u64 spi = (off - GICD_IROUTER) / 8 - VGIC_SPI_BASE;

		/* Aff0 names the vCPU; an unknown one leaves the SPI undelivered, as on a
     * machine. IRM: vCPU 0. */
		d->target[spi] = (v & (1U << 31)) ? 0 : (u8)v;
		note_kicks(vcpu, vcpu, 1 + spi / 32, 1U << (spi % 32)); /* a pending SPI moved to another vCPU */
	}
}

/* A GICR word of target's frames (off 4-aligned, from the frame's RD_base). */
static u32 gicr_read(struct vcpu *target, u64 off, bool own)
{
	struct vm *vm = target->vm;
	u64 typer = ((u64)target->index << 32) | ((u64)target->index << 8) |
		    (target->index + 1 == vm->max_vcpus ? GICR_TYPER_LAST : 0);
	enum bit_reg r;
	u64 n;

	switch (off) {
	case GICR_IIDR:
		return GIC_IIDR_VALUE;
	case GICR_TYPER:
		return (u32)typer;
	case GICR_TYPER + 4:
		return (u32)(typer >> 32);
	case GICR_WAKER:
		return target->vgic.waker ? GICR_WAKER_SLEEP | GICR_WAKER_CHILDREN_ASLEEP : 0;
	case GICR_PIDR2:
	case GICR_SGI_BASE + GICR_PIDR2:
		return GIC_PIDR2_VALUE;
	}
	if (off < GICR_SGI_BASE) {
		return 0; /* GICR_CTLR (no LPIs), STATUSR, PROPBASER...: RAZ/WI */
	}
	off -= GICR_SGI_BASE;
	if (bit_reg_of(off, &r, &n)) {
		return n == 0 ? bits_read(target, 0, r, own) : 0;
	}
	if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + VGIC_NR_PRIVATE) {
		return prio_read(target, (u32)(off - GICD_IPRIORITYR));
	}
	if (off == GICD_ICFGR || off == GICD_ICFGR + 4) {
		return cfg_read(target, (off - GICD_ICFGR) / 4);
	}
	return 0;
}

/* writer: the vCPU writing, target's frame or another's (GICR frames are any vCPU's to write). */
static void gicr_write(struct vcpu *target, u64 off, u32 v, unsigned int lanes, struct vcpu *writer)
{
	enum bit_reg r;
	u64 n;

	if (off >= GICR_SGI_BASE + GICD_IPRIORITYR && off < GICR_SGI_BASE + GICD_IPRIORITYR + VGIC_NR_PRIVATE) {
		prio_write(writer, target, (u32)(off - GICR_SGI_BASE - GICD_IPRIORITYR), v, lanes);
		return;
	}
	if (lanes != 0xf) {
		return;
	}
	if (off == GICR_WAKER) {
		target->vgic.waker = v & GICR_WAKER_SLEEP;
		return;
	}
	if (off < GICR_SGI_BASE) {
		return;
	}
	off -= GICR_SGI_BASE;
	if (bit_reg_of(off, &r, &n)) {
		if (n == 0) {
			bits_write(target, 0, r, v, target == writer);
			note_kicks(writer, target, 0, bits_grow(r) ? (r == REG_GROUP ? ~0U : v) : 0);
		}
	} else if (off == GICD_ICFGR + 4) {
		cfg_write(target, 1, v);
	}
}

/* ---- the guest's accesses
 * ----------------------------------------------------------- */

bool vgic_owns_ipa(const struct vm *vm, u64 ipa)
{
	return (ipa >= VGIC_GICD_BASE && ipa < VGIC_GICD_BASE + VGIC_GICD_SIZE) ||
	       (ipa >= VGIC_GICR_BASE && ipa < VGIC_GICR_BASE + vm->max_vcpus * VGIC_GICR_STRIDE);
}

/*
 * The GICR frame an IPA outside the GICD falls in: its vCPU (NULL outside
 * this VM's frames, or for a vCPU not created, whose frame reads as zero),
 * and *off from the frame's RD_base.
 */
static struct vcpu *gicr_frame(struct vcpu *vcpu, u64 ipa, u64 *off)
{
	if (!vgic_owns_ipa(vcpu->vm, ipa)) {
		return NULL;
	}
	*off = (ipa - VGIC_GICR_BASE) % VGIC_GICR_STRIDE;
	return vcpu_of(vcpu->vm, (ipa - VGIC_GICR_BASE) / VGIC_GICR_STRIDE);
}

static bool in_gicd(u64 ipa)
{
	return ipa >= VGIC_GICD_BASE && ipa < VGIC_GICD_BASE + VGIC_GICD_SIZE;
}

/*
 * One 32-bit word at a 4-aligned IPA. Reads and writes are separate
 * functions so that the read, the common access, pays nothing for what a
 * write must keep across its calls (the writer, for note_kicks).
 */
static u32 word_read(struct vcpu *vcpu, u64 ipa)
{
	struct vcpu *target;
	u64 off;

	if (in_gicd(ipa)) {
		return gicd_read(vcpu, ipa - VGIC_GICD_BASE);
	}
	target = gicr_frame(vcpu, ipa, &off);
	return target ? gicr_read(target, off, target == vcpu) : 0;
}

/* Written in the byte lanes given. */
static void word_write(struct vcpu *vcpu, u64 ipa, u32 v, unsigned int lanes)
{
	struct vcpu *target;
	u64 off;

	if (in_gicd(ipa)) {
		gicd_write(vcpu, ipa - VGIC_GICD_BASE, v, lanes);
		return;
	}
	target = gicr_frame(vcpu, ipa, &off);
	if (target) {
		gicr_write(target, off, v, lanes, vcpu);
	}
}

static bool access_ok(u64 ipa, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4 || size == 8) && !(ipa & (size - 1));
}

u64 vgic_mmio_read(struct vcpu *vcpu, u64 ipa, unsigned int size)
{
	struct vgic_dist *d = dist_of(vcpu);
	u64 v;

	if (!access_ok(ipa, size)) {
		return 0;
	}
	spin_lock(&d->lock);
	if (size == 8) {
		v = word_read(vcpu, ipa) | ((u64)word_read(vcpu, ipa + 4) << 32);
	} else {
		v = word_read(vcpu, ipa & ~3UL) >> (8 * (ipa & 3));
		v &= size == 4 ? 0xffffffffUL : (1UL << (8 * size)) - 1;
	}
	spin_unlock(&d->lock);
	return v;
}

void vgic_mmio_write(struct vcpu *vcpu, u64 ipa, unsigned int size, u64 value)
{
	struct vgic_dist *d = dist_of(vcpu);

	if (!access_ok(ipa, size)) {
		return;
	}
	spin_lock(&d->lock);
	if (size == 8) {
		word_write(vcpu, ipa, (u32)value, 0xf);
		word_write(vcpu, ipa + 4, (u32)(value >> 32), 0xf);
	} else {
		unsigned int shift = 8 * (ipa & 3);

		word_write(vcpu, ipa & ~3UL, (u32)(value << shift), ((1U << size) - 1) << (ipa & 3));
	}
	spin_unlock(&d->lock);
}

u32 vgic_mmio_abort(struct vcpu *vcpu, const struct guest_exit *e)
{
	unsigned int size = 1U << ESR_SAS(e->esr);
	unsigned int rt = (unsigned int)ESR_SRT(e->esr);

	if (e->esr & ESR_WNR) {
		vgic_mmio_write(vcpu, e->ipa, size, rt == 31 ? 0 : vcpu->ctx.regs.x[rt]);
	} else if (rt != 31) {
		vcpu->ctx.regs.x[rt] = load_result(vgic_mmio_read(vcpu, e->ipa, size), size, (e->esr & ESR_SSE) != 0,
						   (e->esr & ESR_SF) != 0);
	}
	regs_skip_insn(&vcpu->ctx.regs);
	/* A write may have made an interrupt deliverable on another vCPU (a read never records a kick). */
	return vgic_kick_exit(vcpu);
}

/*
 * The fast path's share (guest_exit_fast): a read of the vGIC's MMIO,
 * answered on the exception frame. Reads change nothing in the model or the
 * LRs, so nothing needs flushing before the guest continues; the arch layer
 * refreshed this vCPU's LR copy from the CPU first, since reads of the
 * pending and active registers show what the guest's LRs hold. Writes take
 * the full path: they may change what the next entry must place in an LR,
 * or make an interrupt deliverable elsewhere (a kick exit).
 */
bool vgic_mmio_read_fast(struct vcpu *vcpu, const struct guest_exit *e, struct cpu_regs *regs)
{
	unsigned int size = 1U << ESR_SAS(e->esr);
	unsigned int rt = (unsigned int)ESR_SRT(e->esr);

	if ((e->esr & (ESR_ISV | ESR_S1PTW | ESR_WNR)) != ESR_ISV || !vgic_owns_ipa(vcpu->vm, e->ipa)) {
		return false;
	}
	if (rt != 31) {
		regs->x[rt] = load_result(vgic_mmio_read(vcpu, e->ipa, size), size, (e->esr & ESR_SSE) != 0,
					  (e->esr & ESR_SF) != 0);
	}
	regs_skip_insn(regs);
	return true;
}

/* ---- SGIs
 * -------------------------------------------------------------------------- */

/* ICC_SGI1R_EL1 = S3_0_C12_C11_5; ASGI1R op2 6; SGI0R op2 7 (Arm IHI
 * 0069 12.2). */
#define SGIR_TARGETS(v) ((v)&0xffffUL)
#define SGIR_AFF1(v) (((v) >> 16) & 0xffUL)
#define SGIR_INTID(v) (((v) >> 24) & 0xfUL)
#define SGIR_AFF2(v) (((v) >> 32) & 0xffUL)
#define SGIR_IRM (1UL << 40)
#define SGIR_RS(v) (((v) >> 44) & 0xfUL)
#define SGIR_AFF3(v) (((v) >> 48) & 0xffUL)

/* Send an SGI from vcpu: only ever to vCPUs of its own VM (their MPIDR is
 * 0.0.0.index). */
static void send_sgi(struct vcpu *vcpu, u64 v)
{
	struct vm *vm = vcpu->vm;
	u32 intid = (u32)SGIR_INTID(v);

	spin_lock(&vm->vgic.lock);
	for (u32 i = 0; i < vm->max_vcpus && i < MAX_VCPUS; i++) {
		struct vcpu *t = vm->vcpus[i];
		bool hit;

		if (v & SGIR_IRM) {
			hit = i != vcpu->index;
		} else {
			hit = !SGIR_AFF1(v) && !SGIR_AFF2(v) && !SGIR_AFF3(v) && i / 16 == SGIR_RS(v) &&
			      (SGIR_TARGETS(v) >> (i % 16)) & 1;
		}
		if (t && hit) {
			set_pending(t, intid);
			/* The sender's own SGI is seen at its next entry; another vCPU may be
			 * in its guest on another CPU, where only the host can reach it. */
			vcpu->vgic.kick |= t != vcpu ? 1UL << i : 0;
		}
	}
	spin_unlock(&vm->vgic.lock);
}

bool vgic_sysreg_trap(struct vcpu *vcpu, u64 esr)
{
	unsigned int rt = (unsigned int)ESR_SYSREG_RT(esr);

	if (ESR_SYSREG_OP0(esr) != 3 || ESR_SYSREG_OP1(esr) != 0 || ESR_SYSREG_CRN(esr) != 12 ||
	    ESR_SYSREG_CRM(esr) != 11 || ESR_SYSREG_OP2(esr) < 5) {
		return false;
	}
	if (esr & ESR_SYSREG_READ) {
		if (rt != 31) {
			vcpu->ctx.regs.x[rt] = 0; /* write-only registers */
		}
	} else {
		send_sgi(vcpu, rt == 31 ? 0 : vcpu->ctx.regs.x[rt]);
	}
	regs_skip_insn(&vcpu->ctx.regs);
	return true;
}

u32 vgic_kick_exit(struct vcpu *vcpu)
{
	u64 kick = vcpu->vgic.kick; /* the writer's own field, written on its own CPU: no lock */

	if (!kick) {
		return MOAT_EXIT_NONE;
	}
	vcpu->vgic.kick = 0;
	exit_to_host(vcpu, MOAT_EXIT_KICK);
	vcpu->run->u.kick.vcpus = kick;
	return MOAT_EXIT_KICK;
}

/* ---- the host's lines
 * ------------------------------------------------------------------ */

int vgic_set_spis(struct vm *vm, u64 mask)
{
	CHECK_LOCKED(&vm->lock);
	if (vm->state != VM_CREATED) {
		return MOAT_E_STATE;
	}
	spin_lock(&vm->vgic.lock);
	vm->vgic.allowed = mask;
	spin_unlock(&vm->vgic.lock);
	/* What the host may inject is part of what the guest's owner attests: FINALIZE measures the last mask. */
	return MOAT_OK;
}

u64 vgic_spi_mask(struct vm *vm)
{
	u64 mask;

	CHECK_LOCKED(&vm->lock);
	spin_lock(&vm->vgic.lock);
	mask = vm->vgic.allowed;
	spin_unlock(&vm->vgic.lock);
	return mask;
}

int vgic_irq_line(struct vm *vm, u64 intid, u64 level, u64 *target)
{
	struct vgic_dist *d = &vm->vgic;
	u64 spi = intid - VGIC_SPI_BASE;
	struct vgic_bits *b;
	u32 bit;

	CHECK_LOCKED(&vm->lock);
	if (level > 1) {
		return MOAT_E_INVAL;
	}
	/* The unsigned subtraction makes any INTID below 32 huge: SGIs and PPIs are never the host's. */
	if (spi >= VGIC_NR_SPIS || !(d->allowed & (1UL << spi))) {
		return MOAT_E_PERM;
	}
	if (vm->state != VM_FINALIZED) {
		return MOAT_E_STATE;
	}
	spin_lock(&d->lock);
	b = &d->spi[spi / 32];
	bit = 1U << (spi % 32);
	if (b->edge & bit) {
		b->pending |= level && !(b->level & bit) ? bit : 0; /* a rising edge */
	} else if (level) {
		/* A level line held high: pending, unless the guest holds it (the EOI
     * resamples it then). */
		b->pending |= b->in_lr & bit ? 0 : bit;
	} else {
		b->pending &= ~bit; /* a level line dropped before the guest took it */
	}
	b->level = level ? b->level | bit : b->level & ~bit;
	*target = d->target[spi];
	spin_unlock(&d->lock);
	return MOAT_OK;
}
