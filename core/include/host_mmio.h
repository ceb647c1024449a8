/*
 * Device registers the core keeps out of the host's stage 2 and emulates
 * (DESIGN §0): the first 4 KiB page (RD_base: GICR_CTLR, PROPBASER,
 * PENDBASER, ...) of every GICv3 redistributor that exists. QEMU's
 * redistributors implement LPIs even without an ITS; with EnableLPIs set the
 * GIC model reads and writes the LPI tables wherever PROPBASER/PENDBASER
 * point, bypassing stage 2, so a host could read and write protected memory.
 * Accesses pass through except that EnableLPIs stays 0 and the LPI
 * registers read as zero and ignore writes.
 *
 * Only frames that exist are emulated: boot walks GICR_TYPER.Last from the
 * first frame of the DTB's window. The rest of the window (QEMU virt
 * describes 123 frames and backs one per CPU) stays mapped to the host, so
 * the core never touches an absent frame; each pass-through access goes
 * through arch_device_read/write, whose EL2 exception fixup turns a device
 * abort into an abort for the host, never a core panic.
 *
 * Owns: the emulated-page list, fixed at boot (host_mmio_init, boot CPU,
 * before the host runs). No lock: read-only afterwards, and each emulated
 * access is a single device access.
 */
#ifndef MOAT_HOST_MMIO_H
#define MOAT_HOST_MMIO_H

#include "fdt.h"
#include "host.h"
#include "regs.h"
#include "types.h"

#define GICR_FRAME_STRIDE 0x20000UL /* RD_base + SGI_base, 64 KiB each (GICv3) */
#define GICR_MAX_FRAMES 128	    /* QEMU virt's window holds 123 */

/*
 * Find the redistributor frames that exist (reads each frame's GICR_TYPER
 * through arch_device_read). MOAT_OK, or MOAT_E_ALIGN for a window that is
 * not page-aligned and MOAT_E_RANGE for more frames than GICR_MAX_FRAMES:
 * either would leave LPI registers in the host's hands, so boot stops.
 */
int host_mmio_init(const struct platform_info *plat);
/* True when pa lies in a page the core emulates (and so must not be host-mapped). */
bool host_mmio_is_emulated(u64 pa);
/* True when [pa, pa + size) holds an emulated page (for the invariant checker). */
bool host_mmio_overlaps(u64 pa, u64 size);
/* Visit each emulated page (for the host stage-2 builder). */
unsigned int host_mmio_nr_pages(void);
u64 host_mmio_page(unsigned int i);
/*
 * Emulate the trapped host access in abort (a stage-2 data abort on an
 * emulated page). False if the syndrome does not describe it (ISV = 0, an
 * odd size or alignment): the caller refuses it. True when handled -- also
 * when the device itself answered with an external abort, in which case the
 * host gets the DESIGN §4 abort and a rate-limited log line names the PA.
 */
bool host_mmio_emulate(struct cpu_regs *regs, const struct host_abort *abort);

#endif
