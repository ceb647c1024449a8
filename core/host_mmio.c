/*
 * Emulated host device pages (see host_mmio.h).
 */
#include "host_mmio.h"

#include "esr.h"
#include "arch.h"

#define MAX_EMULATED_PAGES 128
#define GICR_CTLR 0x0000
#define GICR_CTLR_ENABLE_LPIS (1UL << 0)
#define GICR_STATUSR 0x0010
#define GICR_WAKER 0x0014
#define GICR_PROPBASER 0x0070

static u64 emulated[MAX_EMULATED_PAGES];
static unsigned int nr_emulated;

void host_mmio_init(const struct platform_info *plat)
{
	nr_emulated = 0;
	for (u64 off = 0; off < plat->gicr.size && nr_emulated < MAX_EMULATED_PAGES; off += GICR_FRAME_STRIDE) {
		emulated[nr_emulated++] = plat->gicr.base + off;
	}
}

unsigned int host_mmio_nr_pages(void)
{
	return nr_emulated;
}

u64 host_mmio_page(unsigned int i)
{
	return emulated[i];
}

bool host_mmio_is_emulated(u64 pa)
{
	for (unsigned int i = 0; i < nr_emulated; i++) {
		if (ALIGN_DOWN(pa, PAGE_SIZE) == emulated[i]) {
			return true;
		}
	}
	return false;
}

/* Registers that reach the hardware: control (filtered), status and wake-up; everything else about LPIs does not. */
static bool write_allowed(u64 offset)
{
	return offset == GICR_CTLR || offset == GICR_STATUSR || offset == GICR_WAKER;
}

static u64 device_read(u64 pa, unsigned int size)
{
	if (size == 8) {
		return *(volatile u64 *)phys_to_virt(pa);
	}
	return *(volatile u32 *)phys_to_virt(pa);
}

static void device_write(u64 pa, unsigned int size, u64 value)
{
	if (size == 8) {
		*(volatile u64 *)phys_to_virt(pa) = value;
	} else {
		*(volatile u32 *)phys_to_virt(pa) = (u32)value;
	}
}

bool host_mmio_emulate(struct cpu_regs *regs, u64 esr, u64 pa)
{
	unsigned int size = 1U << ESR_SAS(esr);
	unsigned int rt = (unsigned int)ESR_SRT(esr);
	u64 offset = pa & (PAGE_SIZE - 1);

	/* GIC registers are 32- or 64-bit and naturally aligned; nothing else is emulated. */
	if (!(esr & ESR_ISV) || (size != 4 && size != 8) || !IS_ALIGNED(pa, size)) {
		return false;
	}
	if (esr & ESR_WNR) {
		u64 value = rt == 31 ? 0 : regs->x[rt];

		if (offset == GICR_CTLR) {
			value &= ~GICR_CTLR_ENABLE_LPIS;
		}
		if (write_allowed(offset)) {
			device_write(pa, size, value);
		}
	} else if (rt != 31) {
		/* Identification, control and status read through; PROPBASER and up (LPI state) read as zero. */
		u64 value = offset < GICR_PROPBASER ? device_read(pa, size) : 0;

		regs->x[rt] = load_result(value, size, (esr & ESR_SSE) != 0, (esr & ESR_SF) != 0);
	}
	regs->elr += 4;
	return true;
}
