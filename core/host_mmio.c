/*
 * Emulated host device pages (see host_mmio.h).
 *
 * Lock: none. The emulated-page list is written once at boot (boot CPU) and
 * only read afterwards; each access is one device access on the host's behalf.
 */
#include "host_mmio.h"

#include "arch.h"
#include "esr.h"
#include "inject.h"
#include "log.h"
#include "moat/errors.h"

#define GICR_CTLR 0x0000
#define GICR_CTLR_ENABLE_LPIS (1UL << 0)
#define GICR_TYPER 0x0008
#define GICR_TYPER_VLPIS (1UL << 1) /* GICv4: VLPI_base and a reserved frame follow, stride doubles */
#define GICR_TYPER_LAST (1UL << 4)  /* the last redistributor of this region */
#define GICR_STATUSR 0x0010
#define GICR_WAKER 0x0014
#define GICR_PROPBASER 0x0070

static u64 emulated[GICR_MAX_FRAMES];
static unsigned int nr_emulated;
static struct log_limiter device_log;

#ifdef MOAT_GICR_ALL_FRAMES
/*
 * Test build only (make's allgicr variant): every frame of the window,
 * present or not, as before the audit of 2026-12-04. A host access to an
 * absent frame then makes the core's own device access fault at EL2, which
 * is how the integration tests exercise the exception fixup.
 */
static int find_frames(const struct platform_info *plat)
{
	for (u64 off = 0; off + PAGE_SIZE <= plat->gicr.size && nr_emulated < GICR_MAX_FRAMES;
	     off += GICR_FRAME_STRIDE) {
		emulated[nr_emulated++] = plat->gicr.base + off;
	}
	log_info("test build: GICR: all %u frames of the window emulated, present or not", nr_emulated);
	return MOAT_OK;
}
#else
/*
 * Walk the window from its first frame until GICR_TYPER.Last (GICv3 §9.6:
 * the redistributors of a region are contiguous and the last says so). The
 * first read is of a frame the DTB promises; every later one follows a frame
 * whose TYPER said "not last", so all reads hit frames that exist. Should a
 * read fault anyway (a DTB that promises too much), the fixup ends the walk
 * there.
 *
 * Frames past the last one stay mapped to the host rather than being
 * unmapped and refused by the core: they have no registers, so no LPI
 * tables to aim (nothing to protect); the host owns every device (DESIGN
 * §1); and left mapped, an access to one gets QEMU's own external abort at
 * the host's EL1 vector with no EL2 involvement at all -- the core cannot
 * mishandle what it never sees.
 */
static int find_frames(const struct platform_info *plat)
{
	u64 off = 0;

	while (off + PAGE_SIZE <= plat->gicr.size) {
		u64 frame = plat->gicr.base + off;
		u64 typer;

		if (nr_emulated == GICR_MAX_FRAMES) {
			log_err("GICR: more than %u redistributor frames from 0x%lx: LPIs could not be kept off",
				GICR_MAX_FRAMES, plat->gicr.base);
			return MOAT_E_RANGE;
		}
		if (!arch_device_read(frame + GICR_TYPER, 8, &typer)) {
			log_warn("GICR: reading GICR_TYPER of frame %u at 0x%lx faulted: no redistributor there",
				 nr_emulated, frame);
			break;
		}
		emulated[nr_emulated++] = frame;
		if (typer & GICR_TYPER_LAST) {
			break;
		}
		off += (typer & GICR_TYPER_VLPIS) ? 2 * GICR_FRAME_STRIDE : GICR_FRAME_STRIDE;
	}
	if (nr_emulated != plat->nr_cpus) {
		log_warn("GICR: %u redistributor frame(s) found but the DTB lists %u CPU(s); all found are emulated",
			 nr_emulated, plat->nr_cpus);
	}
	log_info("GICR: %u redistributor frame(s) emulated from 0x%lx; absent frames of the 0x%lx-byte window stay "
		 "the host's",
		 nr_emulated, plat->gicr.base, plat->gicr.size);
	return MOAT_OK;
}
#endif

int host_mmio_init(const struct platform_info *plat)
{
	nr_emulated = 0;
	if (!plat->gicr.size) {
		return MOAT_OK;
	}
	/* Frames are 64 KiB-aligned in any real GIC; a misaligned window cannot be emulated page by page. */
	if (!IS_ALIGNED(plat->gicr.base, PAGE_SIZE)) {
		log_err("GICR: window at 0x%lx is not page-aligned", plat->gicr.base);
		return MOAT_E_ALIGN;
	}
	return find_frames(plat);
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

bool host_mmio_overlaps(u64 pa, u64 size)
{
	for (unsigned int i = 0; i < nr_emulated; i++) {
		if (emulated[i] < pa + size && pa < emulated[i] + PAGE_SIZE) {
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

bool host_mmio_emulate(struct cpu_regs *regs, const struct host_abort *abort)
{
	u64 esr = abort->esr, pa = abort->ipa;
	unsigned int size = 1U << ESR_SAS(esr);
	unsigned int rt = (unsigned int)ESR_SRT(esr);
	u64 offset = pa & (PAGE_SIZE - 1);
	bool write = (esr & ESR_WNR) != 0;
	bool done = true;

	/* GIC registers are 32- or 64-bit and naturally aligned; nothing else is emulated. */
	if (!(esr & ESR_ISV) || (size != 4 && size != 8) || !IS_ALIGNED(pa, size)) {
		return false;
	}
	if (write) {
		u64 value = rt == 31 ? 0 : regs->x[rt];

		if (offset == GICR_CTLR) {
			value &= ~GICR_CTLR_ENABLE_LPIS;
		}
		if (write_allowed(offset)) {
			done = arch_device_write(pa, size, value);
		}
	} else if (rt != 31) {
		/* Identification, control and status read through; PROPBASER and up (LPI state) read as zero. */
		u64 value = 0;

		if (offset < GICR_PROPBASER) {
			done = arch_device_read(pa, size, &value);
		}
		if (done) {
			regs->x[rt] = load_result(value, size, (esr & ESR_SSE) != 0, (esr & ESR_SF) != 0);
		}
	}
	if (!done) {
		/* The device said no (the EL2 fixup caught its abort): the host gets that answer, as DESIGN §4 puts it. */
		log_ratelimited(&device_log, LOG_WARN,
				"host %s of GICR PA 0x%lx (page 0x%lx) at host PC 0x%lx: device access faulted, "
				"external abort injected",
				write ? "write" : "read", pa, ALIGN_DOWN(pa, PAGE_SIZE), regs->elr);
		arch_inject_el1_sync(regs, sea_syndrome(esr, regs->spsr), abort->far);
		return true;
	}
	regs_skip_insn(regs);
	return true;
}
