/*
 * Device registers the core keeps out of the host's stage 2 and emulates
 * (DESIGN §0): the first 4 KiB page (RD_base: GICR_CTLR, PROPBASER,
 * PENDBASER, ...) of every GICv3 redistributor. QEMU's redistributors
 * implement LPIs even without an ITS; with EnableLPIs set the GIC model
 * reads and writes the LPI tables wherever PROPBASER/PENDBASER point,
 * bypassing stage 2, so a host could read and write protected memory.
 * Accesses pass through except that EnableLPIs stays 0 and the LPI
 * registers read as zero and ignore writes.
 *
 * Owns: the emulated-page list, fixed at boot. No lock (read-only after boot;
 * each access is a single device access).
 */
#ifndef MOAT_HOST_MMIO_H
#define MOAT_HOST_MMIO_H

#include "fdt.h"
#include "regs.h"
#include "types.h"

#define GICR_FRAME_STRIDE 0x20000UL /* RD_base + SGI_base, 64 KiB each */

void host_mmio_init(const struct platform_info *plat);
/* True when pa lies in a page the core emulates (and so must not be host-mapped). */
bool host_mmio_is_emulated(u64 pa);
/* Visit each emulated page (for the host stage-2 builder). */
unsigned int host_mmio_nr_pages(void);
u64 host_mmio_page(unsigned int i);
/* Emulate a trapped host access; false if the syndrome does not describe it (ISV = 0). */
bool host_mmio_emulate(struct cpu_regs *regs, u64 esr, u64 pa);

#endif
