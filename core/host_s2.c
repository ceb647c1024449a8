/*
 * Host stage-2 construction (see host_s2.h).
 *
 * Lock: pagedb_lock guards the host's table, since whether a page is mapped
 * follows from its owner; boot builds it on the boot CPU before any caller.
 */
#include "host_s2.h"

#include "host_mmio.h"
#include "log.h"
#include "moat/errors.h"
#include "pagedb.h"

static struct pgtable host_table;
static struct page_pool *table_pool;

struct pgtable *host_s2(void)
{
	return &host_table;
}

/* Map each maximal run of host-owned pages in one bank. */
static int map_host_ram(struct fdt_range bank)
{
	u64 end = bank.base + bank.size;
	u64 pa = bank.base;

	while (pa < end) {
		u64 run = pa;
		int ret;

		while (run < end && pagedb_lookup(run)->owner == OWNER_HOST) {
			run += PAGE_SIZE;
		}
		if (run > pa) {
			ret = pgt_map(&host_table, pa, pa, run - pa, PGT_RWX);
			if (ret) {
				return ret;
			}
		}
		pa = run + PAGE_SIZE;
	}
	return MOAT_OK;
}

static bool overlaps_dram(u64 base, u64 size)
{
	for (unsigned int i = 0; i < pagedb_nr_banks(); i++) {
		struct fdt_range b = pagedb_bank(i);

		if (base < b.base + b.size && b.base < base + size) {
			return true;
		}
	}
	return false;
}

static int map_host_devices(const struct platform_info *plat)
{
	for (unsigned int i = 0; i < plat->nr_mmio; i++) {
		u64 base = ALIGN_DOWN(plat->mmio[i].base, PAGE_SIZE);
		u64 size = ALIGN_UP(plat->mmio[i].base + plat->mmio[i].size, PAGE_SIZE) - base;
		int ret;

		if (overlaps_dram(base, size) || base + size > (1UL << HOST_IPA_BITS)) {
			log_warn("device window 0x%lx+0x%lx overlaps RAM or lies beyond the IPA space: not mapped",
				 base, size);
			continue;
		}
		ret = pgt_map(&host_table, base, base, size, PGT_RW | PGT_DEVICE);
		if (ret) {
			return ret;
		}
	}
	/* Redistributor RD_base pages are emulated: LPI tables would bypass stage 2 (§0). */
	for (unsigned int i = 0; i < host_mmio_nr_pages(); i++) {
		int ret = pgt_unmap(&host_table, host_mmio_page(i), PAGE_SIZE);

		if (ret) {
			return ret;
		}
	}
	/* fw_cfg's DMA register can write any physical address: never the host's (§1). */
	if (plat->fw_cfg.size) {
		u64 base = ALIGN_DOWN(plat->fw_cfg.base, PAGE_SIZE);

		return pgt_unmap(&host_table, base, ALIGN_UP(plat->fw_cfg.base + plat->fw_cfg.size, PAGE_SIZE) - base);
	}
	return MOAT_OK;
}

int host_s2_init(const struct platform_info *plat, struct page_pool *pool)
{
	struct pgt_allocator alloc = page_pool_allocator(pool);
	u64 *root = page_pool_alloc_pair(pool);
	int ret;

	if (!root) {
		return MOAT_E_NOMEM;
	}
	table_pool = pool;
	ret = pgt_init(&host_table, PGT_STAGE2, HOST_IPA_BITS, root, &alloc);
	for (unsigned int i = 0; !ret && i < pagedb_nr_banks(); i++) {
		ret = map_host_ram(pagedb_bank(i));
	}
	if (!ret) {
		ret = map_host_devices(plat);
	}
	/* From here on every edit is break-before-make with TLB maintenance. */
	host_table.live = true;
	return ret;
}

u64 host_s2_pool_free(void)
{
	return table_pool->nr_free;
}

static u64 regions_touched(u64 pa, u64 size, u64 block)
{
	return ALIGN_DOWN(pa + size - 1, block) / block - ALIGN_DOWN(pa, block) / block + 1;
}

bool host_s2_can_unmap(u64 pa, u64 size)
{
	/* At worst a level-2 table per GiB and a level-3 table per 2 MiB touched. */
	return table_pool->nr_free >= regions_touched(pa, size, SZ_1G) + regions_touched(pa, size, SZ_2M);
}

void host_s2_unmap_page(u64 pa)
{
	CHECK(pgt_unmap(&host_table, pa, PAGE_SIZE) == MOAT_OK);
}

/* True when every page of the aligned block containing pa is exclusively the host's. */
static bool block_all_host(u64 pa, u64 block)
{
	u64 base = ALIGN_DOWN(pa, block);

	for (u64 p = base; p < base + block; p += PAGE_SIZE) {
		struct page_info *page = pagedb_lookup(p);

		if (!page || page->owner != OWNER_HOST) {
			return false;
		}
	}
	return true;
}

void host_s2_map_page(u64 pa)
{
	u64 base = pa, size = PAGE_SIZE;

	/* The 1 GiB scan runs only once its 2 MiB block is whole again. */
	if (block_all_host(pa, SZ_2M)) {
		size = block_all_host(pa, SZ_1G) ? SZ_1G : SZ_2M;
		base = ALIGN_DOWN(pa, size);
	}
	/* Mapping never needs more tables than the unmap that preceded it freed. */
	CHECK(pgt_map(&host_table, base, base, size, PGT_RWX) == MOAT_OK);
}

void host_s2_lend_page(u64 pa)
{
	/* See host_s2.h: the page's level-3 table survived its unmap (only whole-block maps free tables). */
	CHECK(pgt_map(&host_table, pa, pa, PAGE_SIZE, PGT_RW) == MOAT_OK);
}

/* Bytes one leaf maps at a level of the 4 KiB granule: 1 GiB at level 1, 2 MiB at 2, 4 KiB at 3. */
static u64 leaf_bytes(unsigned int level)
{
	return PAGE_SIZE << (9 * (3 - level));
}

void host_s2_ram_coverage(struct host_s2_coverage *c)
{
	*c = (struct host_s2_coverage){ 0 };
	for (unsigned int i = 0; i < pagedb_nr_banks(); i++) {
		struct fdt_range b = pagedb_bank(i);
		u64 end = b.base + b.size;
		u64 pa = b.base;

		while (pa < end) {
			u64 out, next;
			unsigned int flags, level;
			bool mapped = pgt_lookup(&host_table, pa, &out, &flags, &level) && out == pa;

			/*
			 * One lookup answers for the rest of its leaf: a block maps its pages contiguously, so if
			 * pa maps to itself so does every later page of the block. A walk per page cost the boot
			 * report a tenth of a second under TCG (262,144 walks for 1 GiB; now one per block).
			 */
			next = mapped ? ALIGN_DOWN(pa, leaf_bytes(level)) + leaf_bytes(level) : pa + PAGE_SIZE;
			if (next > end) {
				next = end;
			}
			for (; pa < next; pa += PAGE_SIZE) {
				if (pagedb_lookup(pa)->owner != OWNER_HOST) {
					continue;
				}
				c->ram_bytes += PAGE_SIZE;
				if (mapped) {
					c->by_level[level] += PAGE_SIZE;
				} else {
					c->unmapped += PAGE_SIZE;
				}
			}
		}
	}
}
