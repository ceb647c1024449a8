/*
 * Where the core lives in physical memory, decided once at boot from the
 * image's link layout and the DTB's memory size. Read-only after boot.
 *
 *   [base, image_end)          the image: text RX, rodata R, data/BSS/stacks RW
 *   [pagedb, +pagedb_size)     the page database
 *   [heap, +heap_size)         the boot page pool (core page tables)
 *   end                        rounded up to 2 MiB so the host keeps blocks
 */
#ifndef MOAT_BOOT_H
#define MOAT_BOOT_H

#include "alloc.h"
#include "fdt.h"
#include "types.h"

#define BOOT_HEAP_SIZE (1UL << 20)

struct core_layout {
	u64 base;
	u64 image_end;
	u64 pagedb, pagedb_size;
	u64 heap, heap_size;
	u64 end;
};

extern struct core_layout core_layout;

/* Entry from head.S on the boot CPU, MMU off, with the boot DTB's address. */
void boot_main(u64 dtb_pa) __attribute__((noreturn));

/* arm64: build the EL2 stage 1 for the layout and turn the MMU on. */
int arch_mmu_init(const struct core_layout *layout, const struct platform_info *plat, struct page_pool *pool);

/* arm64: report CPU features once and remember what the core must hide. */
void arch_cpu_features_report(void);

/* arm64: enter the host at EL1h with x0 = dtb and the host stage 2 installed. */
void arch_enter_host(u64 entry, u64 dtb, u64 host_s2_root) __attribute__((noreturn));

#endif
