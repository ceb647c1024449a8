/*
 * The redistributors' RD_base pages are emulated by the core (DESIGN §0):
 * the host still reads GICR_TYPER/IIDR/WAKER and may wake the redistributor,
 * but cannot enable LPIs or point the LPI tables anywhere, because the GIC
 * model would read and write those tables bypassing stage 2.
 */
#include "test.h"

#define GICR_CTLR 0x0
#define GICR_IIDR 0x4
#define GICR_TYPER 0x8
#define GICR_WAKER 0x14
#define GICR_PROPBASER 0x70
#define GICR_PENDBASER 0x78

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
