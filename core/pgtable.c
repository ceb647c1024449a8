/*
 * Translation-table builder for the core's EL2 stage 1 and every stage 2.
 *
 * Pure data manipulation plus the arch_* maintenance calls, so the same code
 * runs at EL2 and under the host-native unit tests. Callers serialise access
 * to a table (see pgtable.h); nothing here takes a lock.
 */
#include "pgtable.h"

#include "arch.h"
#include "lib.h"
#include "log.h"
#include "moat/errors.h"
#include "stage2.h"

#define LEAF_LEVEL 3
#define ENTRIES_PER_TABLE 512

static unsigned int level_shift(unsigned int level)
{
	return PAGE_SHIFT + 9 * (LEAF_LEVEL - level);
}

static u64 level_size(unsigned int level)
{
	return 1UL << level_shift(level);
}

static unsigned int entry_index(const struct pgtable *pgt, unsigned int level, u64 ia)
{
	unsigned int entries = level == pgt->start_level ? pgt->root_entries : ENTRIES_PER_TABLE;

	return (unsigned int)((ia >> level_shift(level)) & (entries - 1));
}

static bool is_table(u64 pte, unsigned int level)
{
	return level < LEAF_LEVEL && (pte & (PTE_VALID | PTE_TABLE)) == (PTE_VALID | PTE_TABLE);
}

static u64 *table_of(u64 pte)
{
	return phys_to_virt(pte & PTE_ADDR_MASK);
}

u64 pgt_leaf_attrs(enum pgt_stage stage, unsigned int flags)
{
	u64 attrs = PTE_AF;

	if (!(flags & PGT_X)) {
		attrs |= PTE_XN;
	}
	if (stage == PGT_STAGE1_EL2) {
		attrs |= PTE_AP_EL2_RES1 | PTE_SH_INNER;
		attrs |= (flags & PGT_DEVICE) ? PTE_ATTRIDX(MAIR_IDX_DEVICE) : PTE_ATTRIDX(MAIR_IDX_NORMAL);
		if (!(flags & PGT_W)) {
			attrs |= PTE_AP_RO;
		}
		return attrs;
	}
	if (flags & PGT_DEVICE) {
		attrs |= PTE_S2_MEMATTR(S2_MEMATTR_DEVICE_nGnRE);
	} else {
		attrs |= PTE_S2_MEMATTR(S2_MEMATTR_NORMAL_WB) | PTE_SH_INNER;
	}
	attrs |= (flags & PGT_R) ? PTE_S2_READ : 0;
	attrs |= (flags & PGT_W) ? PTE_S2_WRITE : 0;
	return attrs;
}

static unsigned int flags_of_leaf(enum pgt_stage stage, u64 pte)
{
	unsigned int flags = (pte & PTE_XN) ? 0 : PGT_X;

	if (stage == PGT_STAGE1_EL2) {
		flags |= PGT_R | ((pte & PTE_AP_RO) ? 0 : PGT_W);
		if ((pte & PTE_ATTRIDX(7)) == PTE_ATTRIDX(MAIR_IDX_DEVICE)) {
			flags |= PGT_DEVICE;
		}
		return flags;
	}
	flags |= (pte & PTE_S2_READ) ? PGT_R : 0;
	flags |= (pte & PTE_S2_WRITE) ? PGT_W : 0;
	if ((pte & PTE_S2_MEMATTR(0xf)) != PTE_S2_MEMATTR(S2_MEMATTR_NORMAL_WB)) {
		flags |= PGT_DEVICE;
	}
	return flags;
}

/* Invalidate whatever the TLBs may hold for an entry at ia that is going away. */
static void tlb_flush_entry(const struct pgtable *pgt, u64 old, unsigned int level, u64 ia)
{
	bool whole = is_table(old, level);

	if (pgt->stage == PGT_STAGE1_EL2) {
		if (whole) {
			arch_tlbi_el2_all();
		} else {
			arch_tlbi_el2_va(ia);
		}
		arch_dsb_ish();
		return;
	}
	/* A table below may have produced leaf entries anywhere in its span. */
	if (whole) {
		arch_tlbi_s12_all();
	} else {
		arch_tlbi_s2_ipa(ia);
	}
	arch_dsb_ish();
	/* Stage-1 walks cached through the old stage-2 entry must go too. */
	arch_tlbi_s1_guest_all();
	arch_dsb_ish();
}

/* Write one entry; a valid old entry is broken (and flushed) before the new one is made. */
static void set_entry(const struct pgtable *pgt, u64 *entry, u64 new, unsigned int level, u64 ia)
{
	u64 old = *entry;

	if ((old & PTE_VALID) && pgt->live) {
		*(volatile u64 *)entry = 0;
		arch_dsb_ishst();
		tlb_flush_entry(pgt, old, level, ALIGN_DOWN(ia, level_size(level)));
	}
	*(volatile u64 *)entry = new;
	arch_dsb_ishst();
	if (pgt->live) {
		arch_isb();
	}
}

static void free_subtree(struct pgtable *pgt, u64 *table, unsigned int level)
{
	for (unsigned int i = 0; i < ENTRIES_PER_TABLE; i++) {
		if (is_table(table[i], level)) {
			free_subtree(pgt, table_of(table[i]), level + 1);
		}
	}
	pgt->alloc.free_page(pgt->alloc.ctx, table);
}

/* Drop an entry; a table below it is freed after the TLB flush in set_entry. */
static void clear_entry(struct pgtable *pgt, u64 *entry, unsigned int level, u64 ia)
{
	u64 old = *entry;

	set_entry(pgt, entry, 0, level, ia);
	if (is_table(old, level)) {
		free_subtree(pgt, table_of(old), level + 1);
	}
}

static u64 leaf_descriptor(u64 pa, u64 attrs, unsigned int level)
{
	return (pa & PTE_ADDR_MASK) | attrs | PTE_VALID | (level == LEAF_LEVEL ? PTE_PAGE : 0);
}

/*
 * Make *entry point to a next-level table, allocating one. A block is split
 * into an equivalent table first so the rest of the block stays mapped.
 */
static u64 *ensure_table(struct pgtable *pgt, u64 *entry, unsigned int level, u64 ia)
{
	u64 old = *entry;
	u64 *table;

	if (is_table(old, level)) {
		return table_of(old);
	}
	table = pgt->alloc.alloc_page(pgt->alloc.ctx);
	if (!table) {
		return NULL;
	}
	if (old & PTE_VALID) {
		u64 child_size = level_size(level + 1);
		u64 base = old & PTE_ADDR_MASK & ~(level_size(level) - 1);

		for (unsigned int i = 0; i < ENTRIES_PER_TABLE; i++) {
			table[i] = leaf_descriptor(base + i * child_size, old & PTE_ATTR_MASK, level + 1);
		}
		arch_dsb_ishst();
	}
	set_entry(pgt, entry, virt_to_phys(table) | PTE_TABLE | PTE_VALID, level, ia);
	return table;
}

static int map_level(struct pgtable *pgt, u64 *table, unsigned int level, u64 ia, u64 pa, u64 size, u64 attrs)
{
	while (size) {
		u64 block = level_size(level);
		u64 chunk = MIN(size, block - (ia & (block - 1)));
		u64 *entry = &table[entry_index(pgt, level, ia)];
		bool whole = chunk == block && IS_ALIGNED(pa, block);

		if (level == LEAF_LEVEL || (whole && level >= 1)) {
			u64 old = *entry;

			set_entry(pgt, entry, leaf_descriptor(pa, attrs, level), level, ia);
			if (is_table(old, level)) {
				free_subtree(pgt, table_of(old), level + 1);
			}
		} else {
			u64 *next = ensure_table(pgt, entry, level, ia);
			int ret;

			if (!next) {
				return MOAT_E_NOMEM;
			}
			ret = map_level(pgt, next, level + 1, ia, pa, chunk, attrs);
			if (ret) {
				return ret;
			}
		}
		ia += chunk;
		pa += chunk;
		size -= chunk;
	}
	return MOAT_OK;
}

static int unmap_level(struct pgtable *pgt, u64 *table, unsigned int level, u64 ia, u64 size)
{
	while (size) {
		u64 block = level_size(level);
		u64 chunk = MIN(size, block - (ia & (block - 1)));
		u64 *entry = &table[entry_index(pgt, level, ia)];

		if (!(*entry & PTE_VALID)) {
			/* nothing mapped here */
		} else if (chunk == block || level == LEAF_LEVEL) {
			clear_entry(pgt, entry, level, ia);
		} else {
			u64 *next = ensure_table(pgt, entry, level, ia);
			int ret;

			if (!next) {
				return MOAT_E_NOMEM;
			}
			ret = unmap_level(pgt, next, level + 1, ia, chunk);
			if (ret) {
				return ret;
			}
		}
		ia += chunk;
		size -= chunk;
	}
	return MOAT_OK;
}

static bool range_ok(const struct pgtable *pgt, u64 ia, u64 size)
{
	u64 limit = 1UL << pgt->ia_bits;

	return IS_ALIGNED(ia | size, PAGE_SIZE) && size && ia < limit && size <= limit - ia;
}

int pgt_init(struct pgtable *pgt, enum pgt_stage stage, unsigned int ia_bits, u64 *root,
	     const struct pgt_allocator *alloc)
{
	/* Start at level 1: 39 bits is one 512-entry table, 40 bits two concatenated. */
	if ((ia_bits != 39 && ia_bits != 40) || !IS_ALIGNED(virt_to_phys(root), PAGE_SIZE << (ia_bits - 39))) {
		return MOAT_E_INVAL;
	}
	pgt->root = root;
	pgt->stage = stage;
	pgt->start_level = 1;
	pgt->root_entries = ENTRIES_PER_TABLE << (ia_bits - 39);
	pgt->ia_bits = ia_bits;
	pgt->alloc = *alloc;
	pgt->live = false;
	return MOAT_OK;
}

unsigned int pgt_pages_needed(const struct pgtable *pgt, u64 size)
{
	/* Level-2 tables for each GiB touched and level-3 tables for each 2 MiB, plus both edges. */
	return (unsigned int)(size / level_size(1) + 2 + size / level_size(2) + 2);
}

int pgt_map(struct pgtable *pgt, u64 ia, u64 pa, u64 size, unsigned int flags)
{
	/* The output range must fit the descriptor's address field, without wrapping. */
	if (!range_ok(pgt, ia, size) || !IS_ALIGNED(pa, PAGE_SIZE) || pa > PTE_ADDR_MASK ||
	    size - 1 > PTE_ADDR_MASK - pa) {
		return MOAT_E_INVAL;
	}
	return map_level(pgt, pgt->root, pgt->start_level, ia, pa, size, pgt_leaf_attrs(pgt->stage, flags));
}

int pgt_unmap(struct pgtable *pgt, u64 ia, u64 size)
{
	if (!range_ok(pgt, ia, size)) {
		return MOAT_E_INVAL;
	}
	return unmap_level(pgt, pgt->root, pgt->start_level, ia, size);
}

bool pgt_lookup(const struct pgtable *pgt, u64 ia, u64 *pa, unsigned int *flags, unsigned int *level)
{
	const u64 *table = pgt->root;

	if (ia >> pgt->ia_bits) {
		return false;
	}
	for (unsigned int lvl = pgt->start_level; lvl <= LEAF_LEVEL; lvl++) {
		u64 pte = table[entry_index(pgt, lvl, ia)];

		if (!(pte & PTE_VALID)) {
			return false;
		}
		if (is_table(pte, lvl)) {
			table = table_of(pte);
			continue;
		}
		*pa = (pte & PTE_ADDR_MASK & ~(level_size(lvl) - 1)) | (ia & (level_size(lvl) - 1));
		*flags = flags_of_leaf(pgt->stage, pte);
		*level = lvl;
		return true;
	}
	return false;
}

static void count_leaves(const struct pgtable *pgt, const u64 *table, unsigned int level, u64 bytes[4])
{
	unsigned int entries = level == pgt->start_level ? pgt->root_entries : ENTRIES_PER_TABLE;

	for (unsigned int i = 0; i < entries; i++) {
		if (is_table(table[i], level)) {
			count_leaves(pgt, table_of(table[i]), level + 1, bytes);
		} else if (table[i] & PTE_VALID) {
			bytes[level] += level_size(level);
		}
	}
}

void pgt_leaf_bytes(const struct pgtable *pgt, u64 bytes[4])
{
	memset(bytes, 0, 4 * sizeof(bytes[0]));
	count_leaves(pgt, pgt->root, pgt->start_level, bytes);
}

static void walk_level(const struct pgtable *pgt, const u64 *table, unsigned int level, u64 ia_base,
		       const struct pgt_visitor *v)
{
	unsigned int entries = level == pgt->start_level ? pgt->root_entries : ENTRIES_PER_TABLE;

	for (unsigned int i = 0; i < entries; i++) {
		u64 pte = table[i];
		u64 ia;

		/* Most entries of a sparse table are empty: the checkers walk every table after every fuzzed call. */
		if (!(pte & PTE_VALID)) {
			continue;
		}
		ia = ia_base + (u64)i * level_size(level);
		if (is_table(pte, level)) {
			v->table(v->ctx, pte & PTE_ADDR_MASK);
			walk_level(pgt, table_of(pte), level + 1, ia, v);
		} else {
			v->leaf(v->ctx, ia, pte & PTE_ADDR_MASK & ~(level_size(level) - 1), level_size(level),
				flags_of_leaf(pgt->stage, pte));
		}
	}
}

void pgt_walk(const struct pgtable *pgt, const struct pgt_visitor *v)
{
	walk_level(pgt, pgt->root, pgt->start_level, 0, v);
}

void pgt_destroy(struct pgtable *pgt)
{
	for (unsigned int i = 0; i < pgt->root_entries; i++) {
		if (is_table(pgt->root[i], pgt->start_level)) {
			free_subtree(pgt, table_of(pgt->root[i]), pgt->start_level + 1);
		}
		pgt->root[i] = 0;
	}
}

void stage2_init(struct stage2 *view, u64 root_pa, unsigned int ipa_bits, u16 vmid,
		 const struct pgt_allocator *alloc)
{
	/* The caller checked the root's alignment, the only thing pgt_init can refuse. */
	CHECK(pgt_init(&view->pgt, PGT_STAGE2, ipa_bits, phys_to_virt(root_pa), alloc) == MOAT_OK);
	view->vmid = vmid;
	view->vttbr = root_pa | ((u64)vmid << VTTBR_VMID_SHIFT);
	view->pgt.live = true;
}
