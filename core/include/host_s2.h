/*
 * The host's stage-2 table (VMID 0): an identity map of every DRAM page the
 * host owns or borrows (Normal WB) and of the platform's device windows
 * (Device-nGnRE), minus the core's memory and fw_cfg (DESIGN §5). Built with
 * 1 GiB / 2 MiB blocks wherever ownership allows.
 *
 * Lock: pagedb_lock (the table changes exactly when page ownership changes).
 */
#ifndef MOAT_HOST_S2_H
#define MOAT_HOST_S2_H

#include "alloc.h"
#include "fdt.h"
#include "pgtable.h"

#define HOST_IPA_BITS 40

int host_s2_init(const struct platform_info *plat, struct page_pool *pool);
struct pgtable *host_s2(void);

/* Free pages left in the boot pool (host and core tables). */
u64 host_s2_pool_free(void);

/* Whether the boot pool can cover splitting every block that unmapping [pa, pa + size) may split. */
bool host_s2_can_unmap(u64 pa, u64 size);
/* Remove one page from the host's view (splitting a block if needed). */
void host_s2_unmap_page(u64 pa);
/* Give one page back to the host, re-forming 2 MiB / 1 GiB blocks when all of it is the host's. */
void host_s2_map_page(u64 pa);

/*
 * Map one page a guest shares with the host (a VM's page, MEM_SHARE): read and
 * write, never execute -- the host has no business running a guest's data.
 * Never merged into a block (the page is not the host's). Needs no table page:
 * the page left the host singly, so its level-3 table is still there.
 */
void host_s2_lend_page(u64 pa);

struct host_s2_coverage {
	u64 ram_bytes;	  /* DRAM bytes the host owns */
	u64 by_level[4];  /* of those, bytes mapped by level-1 (1 GiB), -2 (2 MiB), -3 (4 KiB) leaves */
	u64 unmapped;	  /* host-owned bytes with no mapping (must be 0) */
};
void host_s2_ram_coverage(struct host_s2_coverage *c);

#endif
