/*
 * vm_vgic: the core's virtual GIC and the guest's virtual timer (DESIGN §9),
 * with guest/vgic.
 *
 * The host plays its part as a Linux host would: its own GIC interface on,
 * PPI 27 (CNTV, the guest's timer while the guest runs) and PPI 25 (the vGIC
 * maintenance interrupt) enabled in its redistributor, IRQs masked at EL1
 * (the test host takes none). The physical interrupts then reach EL2 while
 * the guest runs, and the core answers them without an exit.
 *
 * Checks: the guest's lines (exact tick count, SGI, SPIs); the VM's exits
 * between "ticks start" and "ticks end" (fewer than the ticks: no exit per
 * tick); IRQ_LINE of an unlisted SPI refused with MOAT_E_PERM; 100,000
 * IRQ_LINE calls before the run, after which the guest still runs; garbage
 * written by the guest to every GICD/GICR register leaves the core (and the
 * invariants) intact and the guest running.
 */
#include "lib.h"
#include "sysreg.h"
#include "test.h"
#include "vmm.h"

#define DEV_TICKS 0x0a000040UL
#define DEV_RAISE 0x0a000044UL
#define DEV_ACK 0x0a000048UL
#define SPI_ALLOWED (1UL << (33 - 32)) /* the guest's "device" line; 34 is not listed */
#define PPI_BITS ((1U << 25) | (1U << 27))

static const char *const vgic_lines[] = {
	"guest: vgic typer=0x480002 iidr=0x100043b pidr2=0x30 gicr_typer=0x10",
	"guest: vgic ticks=20",
	"guest: vgic sgi=1",
	"guest: vgic spi33=3 spi34=0 spurious=0",
	"guest: vgic done",
	NULL,
};

struct vgic_seen {
	u64 exits_at_start, exits_at_end, irq_exits_at_start, irq_exits_at_end;
	u64 irq_exits;
	long raise34, raise_other_vm;
	unsigned int raises, acks;
	long first_error;
};


static void host_gic(bool on)
{
	if (on) {
		platform_gicd_on();
	}
	platform_gic_cpu(on, PPI_BITS);
}

static bool vgic_mmio(struct vmm_vm *vm, struct moat_run *run)
{
	struct vgic_seen *s = vm->ctx;
	u64 ipa = run->u.mmio.ipa;
	u64 val = run->u.mmio.value;
	struct moat_result r;

	if (!run->u.mmio.is_write) {
		run->u.mmio.value = 0;
		return true;
	}
	if (ipa == DEV_TICKS && val == 1) {
		s->exits_at_start = vm->exits;
		s->irq_exits_at_start = s->irq_exits;
	} else if (ipa == DEV_TICKS && val == 2) {
		s->exits_at_end = vm->exits;
		s->irq_exits_at_end = s->irq_exits;
	} else if (ipa == DEV_RAISE && val == 33) {
		r = moat_hvc(MOAT_FN_IRQ_LINE, vm->handle, 33, 1);
		s->raises++;
		if (r.status && !s->first_error) {
			s->first_error = r.status;
		}
		CHECK_EQ(r.r1, 0); /* routed to vCPU 0 */
	} else if (ipa == DEV_RAISE && val == 34) {
		s->raise34 = moat_hvc(MOAT_FN_IRQ_LINE, vm->handle, 34, 1).status;
	} else if (ipa == DEV_ACK && val == 33) {
		r = moat_hvc(MOAT_FN_IRQ_LINE, vm->handle, 33, 0);
		s->acks++;
		if (r.status && !s->first_error) {
			s->first_error = r.status;
		}
	}
	return true;
}

static struct moat_result enter_counting(struct vmm_vm *vm)
{
	struct vgic_seen *s = vm->ctx;
	struct moat_result r = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, 0, 0);

	if (!r.status && r.r1 == MOAT_EXIT_IRQ) {
		s->irq_exits++;
	}
	return r;
}

TEST(vm_vgic)
{
	struct vgic_seen seen = { 0 };
	struct vmm_vm vm = {
		.console_echo = true, .expect = vgic_lines, .mmio = vgic_mmio, .enter = enter_counting, .ctx = &seen
	};
	u64 flood_start;
	long ret;

	if (!CHECK(platform_my_gicr() != 0, "no redistributor for this CPU")) {
		return;
	}
	CHECK_EQ(vmm_create(&vm, MOAT_VM_PROTECTED, 1UL << 20), MOAT_OK);
	CHECK_EQ(vmm_add_vcpu0(&vm), MOAT_OK);
	CHECK_EQ(vmm_load(&vm, "vgic"), MOAT_OK);
	/* Before FINALIZE only, and only SPIs: an SPI list after FINALIZE is refused. */
	CHECK_EQ(moat_hvc(MOAT_FN_VM_SET_SPIS, vm.handle, SPI_ALLOWED, 0).status, MOAT_OK);
	CHECK_EQ(moat_hvc(MOAT_FN_IRQ_LINE, vm.handle, 33, 1).status, MOAT_E_STATE);
	CHECK_EQ(vmm_finalize(&vm, 0), MOAT_OK);
	CHECK_EQ(moat_hvc(MOAT_FN_VM_SET_SPIS, vm.handle, ~0UL, 0).status, MOAT_E_STATE);
	CHECK_EQ(moat_hvc(MOAT_FN_IRQ_LINE, vm.handle, 27, 1).status, MOAT_E_PERM);
	CHECK_EQ(moat_hvc(MOAT_FN_IRQ_LINE, vm.handle, 5, 1).status, MOAT_E_PERM);
	/* 100,000 IRQ_LINE calls (raise/lower, ending low) before the guest runs: none may fail, nothing starves. */
	flood_start = read_sysreg(cntvct_el0);
	for (unsigned int i = 0; i < 100000; i++) {
		ret = moat_hvc(MOAT_FN_IRQ_LINE, vm.handle, 33, (i & 1) ^ 1).status;
		if (ret) {
			CHECK(false, "IRQ_LINE call %u: %ld", i, ret);
			break;
		}
	}
	tprintf("vgic: 100000 IRQ_LINE calls in %lu ms\n",
		(read_sysreg(cntvct_el0) - flood_start) * 1000 / read_sysreg(cntfrq_el0));
	host_gic(true);
	vmm_run_to_off(&vm);
	host_gic(false);
	tprintf("vgic: exits during the ticks %lu (IRQ %lu); raises %u acks %u; "
		"IRQ_LINE 34 -> %ld\n",
		seen.exits_at_end - seen.exits_at_start, seen.irq_exits_at_end - seen.irq_exits_at_start, seen.raises,
		seen.acks, seen.raise34);
	CHECK_EQ(seen.raise34, MOAT_E_PERM);
	CHECK_EQ(seen.first_error, 0);
	CHECK_EQ(seen.raises, 3);
	CHECK_EQ(seen.acks, 3);
	/* The MMIO write that ends the window is the only exit in it: no exit per tick. */
	CHECK(seen.exits_at_end - seen.exits_at_start <= 2, "%lu exits during 20 ticks",
	      seen.exits_at_end - seen.exits_at_start);
	CHECK_EQ(vmm_destroy(&vm) > 0, true);
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}
