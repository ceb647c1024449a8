/*
 * The core's own EL2 stage 1 (DESIGN §5): identity-mapped, W^X.
 *   - image text RX, rodata R, data/BSS RW-XN, stacks RW-XN with an unmapped
 *     guard page below each one;
 *   - the rest of DRAM RW-XN, so the core can scrub, copy and measure pages
 *     it is handed (nothing outside the image is ever executable);
 *   - the console UART as Device memory.
 * SCTLR_EL2.WXN makes any writable page non-executable even if a mapping
 * were ever wrong.
 */
#include "arch.h"
#include "boot.h"
#include "log.h"
#include "pgtable.h"
#include "stack.h"
#include "sysreg.h"

#define EL2_VA_BITS 39

extern char __image_start[], __text_end[], __rodata_end[], __stacks_start[], __stacks_end[];
unsigned int arch_pa_range(void);

static struct pgtable el2_table;

/*
 * The boot CPU's EL2 translation registers, for secondary CPUs (head.S
 * secondary_entry reads them with the MMU and caches off): written once
 * with caches off, before the image is cleaned to PoC, never changed.
 */
struct el2_mmu_regs {
	u64 mair, tcr, ttbr0, sctlr;
};
struct el2_mmu_regs el2_mmu_boot;

static u64 pa_of(const char *sym)
{
	return virt_to_phys(sym);
}

static int map_image(void)
{
	int ret;

	ret = pgt_map(&el2_table, pa_of(__image_start), pa_of(__image_start),
		      pa_of(__text_end) - pa_of(__image_start), PGT_R | PGT_X);
	if (!ret) {
		ret = pgt_map(&el2_table, pa_of(__text_end), pa_of(__text_end), pa_of(__rodata_end) - pa_of(__text_end),
			      PGT_R);
	}
	for (unsigned int cpu = 0; !ret && cpu < MAX_CPUS; cpu++) {
		u64 guard = pa_of(__stacks_start) + cpu * (GUARD_SIZE + STACK_SIZE);

		ret = pgt_unmap(&el2_table, guard, GUARD_SIZE);
	}
	return ret;
}

static int build_tables(const struct platform_info *plat, struct page_pool *pool)
{
	struct pgt_allocator alloc = page_pool_allocator(pool);
	u64 *root = page_pool_alloc(pool);
	int ret;

	if (!root) {
		return -3;
	}
	ret = pgt_init(&el2_table, PGT_STAGE1_EL2, EL2_VA_BITS, root, &alloc);
	for (unsigned int i = 0; !ret && i < plat->nr_mem; i++) {
		u64 base = ALIGN_UP(plat->mem[i].base, PAGE_SIZE);
		u64 end = ALIGN_DOWN(plat->mem[i].base + plat->mem[i].size, PAGE_SIZE);

		if (end > (1UL << EL2_VA_BITS)) {
			log_warn("RAM above 512 GiB (0x%lx-0x%lx) is not managed", base, end);
			end = 1UL << EL2_VA_BITS;
		}
		if (end > base) {
			ret = pgt_map(&el2_table, base, base, end - base, PGT_RW);
		}
	}
	if (!ret) {
		ret = map_image();
	}
	/* The core emulates the redistributors' RD_base pages for the host (host_mmio.c). */
	if (!ret && plat->gicr.size) {
		ret = pgt_map(&el2_table, plat->gicr.base, plat->gicr.base, ALIGN_UP(plat->gicr.size, PAGE_SIZE),
			      PGT_RW | PGT_DEVICE);
	}
	if (!ret && plat->uart.size) {
		u64 uart = ALIGN_DOWN(plat->uart.base, PAGE_SIZE);

		ret = pgt_map(&el2_table, uart, uart, PAGE_SIZE, PGT_RW | PGT_DEVICE);
	}
	return ret;
}

static void enable_mmu(const struct core_layout *layout)
{
	u64 tcr = TCR_EL2_RES1 | ((u64)arch_pa_range() << TCR_EL2_PS_SHIFT) | TCR_SH0_INNER | TCR_ORGN0_WBWA |
		  TCR_IRGN0_WBWA | TCR_T0SZ(EL2_VA_BITS);

	el2_mmu_boot = (struct el2_mmu_regs){
		.mair = MAIR_EL2_VALUE,
		.tcr = tcr,
		.ttbr0 = virt_to_phys(el2_table.root),
		.sctlr = SCTLR_EL2_RES1 | SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_SA | SCTLR_WXN,
	};
	/* Tables and data were written with caches off: no stale line may shadow them. */
	arch_dcache_clean_inval_poc(layout->base, layout->image_region_end - layout->base);
	arch_dcache_clean_inval_poc(layout->data_base, layout->data_end - layout->data_base);
	arch_dcache_clean_inval_poc(virt_to_phys(&el2_mmu_boot), sizeof(el2_mmu_boot));
	write_sysreg(mair_el2, el2_mmu_boot.mair);
	write_sysreg(tcr_el2, el2_mmu_boot.tcr);
	write_sysreg(ttbr0_el2, el2_mmu_boot.ttbr0);
	__asm__ volatile("isb; tlbi alle2; dsb ish; isb" ::: "memory");
	write_sysreg(sctlr_el2, el2_mmu_boot.sctlr);
	arch_isb();
	el2_table.live = true;
}

int arch_mmu_init(const struct core_layout *layout, const struct platform_info *plat, struct page_pool *pool)
{
	int ret = build_tables(plat, pool);

	if (ret) {
		return ret;
	}
	enable_mmu(layout);
	log_info("EL2 MMU on: image text RX, rodata R, data RW-XN, DRAM RW-XN, stack guard pages, WXN");
	return 0;
}
