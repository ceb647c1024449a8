/*
 * The redistributors' RD_base pages are emulated by the core (DESIGN §0):
 * the host still reads GICR_TYPER/IIDR/WAKER and may wake the redistributor,
 * but cannot enable LPIs or point the LPI tables anywhere, because the GIC
 * model would read and write those tables bypassing stage 2.
 *
 * gicr_absent_frames: the DTB's redistributor window is far larger than the
 * frames QEMU backs (one per CPU). Every existing frame stays emulated; an
 * access to an absent frame must end as a synchronous external abort for the
 * host, never as a fault inside the core (found by audit: a core panic).
 * tests/integration reads the "probe:" lines; keep the format stable.
 */
#include "access.h"
#include "test.h"

#define GICR_CTLR 0x0
#define GICR_IIDR 0x4
#define GICR_TYPER 0x8
#define GICR_WAKER 0x14
#define GICR_PROPBASER 0x70
#define GICR_PENDBASER 0x78
#define GICR_TYPER_LAST (1UL << 4)
#define GICR_FRAME_STRIDE 0x20000UL /* RD_base + SGI_base (GICv3, no VLPIs) */

static u32 rd32(u64 pa)
{
	return *(volatile u32 *)pa;
}

static u64 rd64(u64 pa)
{
	return *(volatile u64 *)pa;
}

TEST(gicr_lpi_blocked)
{
	u64 rd = plat.info.gicr.base;
	u64 target = platform_core_region()->base;
	u64 typer = rd64(rd + GICR_TYPER);

	tprintf("gicr: RD_base 0x%lx: IIDR 0x%x TYPER 0x%lx (PLPIS %lu) WAKER 0x%x\n", rd, rd32(rd + GICR_IIDR), typer,
		typer & 1, rd32(rd + GICR_WAKER));
	CHECK(rd32(rd + GICR_IIDR) != 0, "GICR_IIDR reads 0: the emulation does not pass reads through");
	/* Wake the redistributor as a GICv3 driver does: this must reach the hardware. */
	*(volatile u32 *)(rd + GICR_WAKER) = 0;
	CHECK_EQ(rd32(rd + GICR_WAKER) & 0x2, 0);
	/* Aim the LPI tables at the core's memory and try to enable LPIs. */
	*(volatile u64 *)(rd + GICR_PROPBASER) = target | 0xf;
	*(volatile u64 *)(rd + GICR_PENDBASER) = target + 0x10000;
	*(volatile u32 *)(rd + GICR_CTLR) = 1;
	CHECK_EQ(rd32(rd + GICR_CTLR) & 1, 0);
	CHECK_EQ(rd64(rd + GICR_PROPBASER), 0);
	CHECK_EQ(rd64(rd + GICR_PENDBASER), 0);
	tprintf("gicr: EnableLPIs stays 0, PROPBASER/PENDBASER read 0: LPI tables cannot be aimed at protected memory\n");
}

/* An access to a redistributor frame QEMU does not back: an abort for the host, and the host carries on. */
static void absent_frame_probe(enum access_kind kind, u64 frame)
{
	struct access a = { .kind = kind, .el0 = false, .addr = frame + GICR_CTLR };
	bool faulted = access_probe(&a);

	if (faulted) {
		tprintf("probe: %s of absent GICR frame at PA 0x%lx -> aborted (synchronous abort, ESR_EL1=0x%lx)\n",
			access_verb(kind), a.addr, last_fault.esr);
		tprintf("probe: taken at VBAR_EL1+0x%lx, FAR_EL1=0x%lx, host PC (ELR_EL1)=0x%lx, SPSR_EL1=0x%lx\n",
			last_fault.vector, last_fault.far, last_fault.elr, last_fault.spsr);
	} else {
		tprintf("probe: %s of absent GICR frame at PA 0x%lx -> NOT aborted\n", access_verb(kind), a.addr);
	}
	if (CHECK(faulted, "%s of absent frame 0x%lx did not fault", access_verb(kind), a.addr)) {
		access_check_injected_abort(&a);
	}
	host_still_running();
}

TEST(gicr_absent_frames)
{
	u64 base = plat.info.gicr.base;
	u64 window = plat.info.gicr.size / GICR_FRAME_STRIDE;
	u64 cpus = plat.info.nr_cpus;

	tprintf("gicr: window 0x%lx+0x%lx holds %lu frames, %lu CPU(s)\n", base, plat.info.gicr.size, window, cpus);
	if (!CHECK(cpus >= 1 && cpus < window, "need absent frames in the window")) {
		return;
	}
	/* Frames that exist: still emulated (EnableLPIs stays 0), GICR_TYPER.Last only on the last one. */
	for (u64 i = 0; i < cpus; i++) {
		u64 rd = base + i * GICR_FRAME_STRIDE;
		u64 typer = rd64(rd + GICR_TYPER);

		CHECK_EQ(!!(typer & GICR_TYPER_LAST), i == cpus - 1);
		*(volatile u32 *)(rd + GICR_CTLR) = 1;
		CHECK_EQ(rd32(rd + GICR_CTLR) & 1, 0);
		tprintf("gicr: frame %lu at 0x%lx: TYPER 0x%lx, EnableLPIs stays 0\n", i, rd, typer);
	}
	/* The first absent frame and the last frame of the window. */
	absent_frame_probe(ACCESS_READ, base + cpus * GICR_FRAME_STRIDE);
	absent_frame_probe(ACCESS_WRITE, base + cpus * GICR_FRAME_STRIDE);
	absent_frame_probe(ACCESS_READ, base + (window - 1) * GICR_FRAME_STRIDE);
	absent_frame_probe(ACCESS_WRITE, base + (window - 1) * GICR_FRAME_STRIDE);
	tprintf("gicr: absent frames abort the host; the host carries on\n");
}
