/*
 * Where the core lives in physical memory, decided once at boot from the
 * image's link layout and the DTB's memory size. Read-only after boot. Two
 * regions, both 2 MiB-aligned so the host keeps block mappings around them:
 *
 *   image region [base, image_region_end): where QEMU loaded the image
 *       (text RX, rodata R, data/BSS/stacks RW), a fixed size;
 *   data region [data_base, data_end) at the top of the last RAM bank:
 *       the page database and the boot page pool, sized from the RAM size.
 *
 * Keeping the RAM-proportional part at the top leaves the memory right after
 * the image free for the host at any RAM size (the host image goes there).
 */
#ifndef MOAT_BOOT_H
#define MOAT_BOOT_H

#include "alloc.h"
#include "fdt.h"
#include "types.h"

/*
 * The boot pool holds the core's stage 1 and the host's stage 2. The host
 * stage 2 may need a level-3 table for every 2 MiB of RAM and a level-2
 * table for every GiB once donations have split its blocks, so the pool is
 * sized from the RAM size up front: it can never run dry at run time.
 */
#define BOOT_POOL_FIXED_PAGES 64

struct core_layout {
	u64 base;
	u64 image_end;
	u64 image_region_end;
	u64 data_base;
	u64 pagedb, pagedb_size;
	u64 heap, heap_size;
	u64 data_end;
};

extern struct core_layout core_layout;

/* Entry from head.S on the boot CPU, MMU off, with the boot DTB's address. */
void boot_main(u64 dtb_pa) __attribute__((noreturn));

/* arm64: build the EL2 stage 1 for the layout and turn the MMU on. */
int arch_mmu_init(const struct core_layout *layout, const struct platform_info *plat, struct page_pool *pool);

#ifdef MOAT_POISON_SYSREGS
/* Test build only: garbage into every register the core must initialise. */
void arch_poison_sysregs(void);
#endif

/* arm64: report CPU features once and remember what the core must hide. */
void arch_cpu_features_report(void);

/* arm64: enter the host at EL1h with x0 = dtb and the host stage 2 installed. */
void arch_enter_host(u64 entry, u64 dtb, u64 host_s2_root) __attribute__((noreturn));

#endif
