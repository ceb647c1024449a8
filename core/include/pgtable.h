/*
 * Translation tables in the VMSAv8-64 format, 4 KiB granule: the EL2 stage 1
 * of the core and every stage 2 (host, VMs) are built by this one module.
 *
 * Owns: nothing global. A struct pgtable is owned by whoever embeds it (the
 * host stage-2 by host_s2.c under the page-database lock, a VM's stage-2 by
 * its VM under the VM lock); callers serialise. Table pages come from the
 * caller's allocator (struct pgt_allocator) so that VM tables can come from
 * the VM's host-donated memcache.
 *
 * Every change of a valid entry follows break-before-make (DESIGN §5):
 * invalidate, DSB, TLBI by address, DSB, (stage 2: TLBI VMALLE1IS, DSB),
 * write the new entry, DSB, ISB. Stage-2 TLBIs act on the VMID in the current
 * VTTBR_EL2: the caller loads the right one first.
 */
#ifndef MOAT_PGTABLE_H
#define MOAT_PGTABLE_H

#include "types.h"

#define PTE_VALID (1UL << 0)
#define PTE_TABLE (1UL << 1) /* at level 0..2: next-level table; at level 3: page */
#define PTE_PAGE (1UL << 1)
#define PTE_ATTRIDX(i) ((u64)(i) << 2) /* stage 1: MAIR index */
#define PTE_S2_MEMATTR(a) ((u64)(a) << 2)
#define PTE_AP_RO (1UL << 7)	/* stage 1: AP[2] */
#define PTE_AP_EL2_RES1 (1UL << 6) /* stage 1 at EL2: AP[1] is RES1 */
#define PTE_S2_READ (1UL << 6)	/* stage 2: S2AP[0] */
#define PTE_S2_WRITE (1UL << 7) /* stage 2: S2AP[1] */
#define PTE_SH_INNER (3UL << 8)
#define PTE_AF (1UL << 10)
#define PTE_XN (1UL << 54) /* stage 1 EL2 XN; stage 2 XN[1] (no execution at EL1 or EL0) */
#define PTE_ADDR_MASK 0x0000FFFFFFFFF000UL
#define PTE_ATTR_MASK (~PTE_ADDR_MASK & ~(PTE_VALID | PTE_TABLE))

/* MAIR_EL2 indexes used by the core's stage 1. */
#define MAIR_IDX_NORMAL 0
#define MAIR_IDX_DEVICE 1
#define MAIR_EL2_VALUE 0x04ffUL /* idx0 = Normal WB RW-allocate, idx1 = Device-nGnRE */

/* Stage-2 MemAttr values (no FWB): combined with stage 1, the stronger wins. */
#define S2_MEMATTR_NORMAL_WB 0xfUL
#define S2_MEMATTR_DEVICE_nGnRE 0x1UL

/* Portable permission/type flags; the table's stage decides the encoding. */
#define PGT_R (1U << 0)
#define PGT_W (1U << 1)
#define PGT_X (1U << 2)
#define PGT_DEVICE (1U << 3)
#define PGT_RW (PGT_R | PGT_W)
#define PGT_RWX (PGT_R | PGT_W | PGT_X)

enum pgt_stage { PGT_STAGE1_EL2, PGT_STAGE2 };

struct pgt_allocator {
	/* Returns a zeroed, page-aligned table page or NULL when exhausted. */
	void *(*alloc_page)(void *ctx);
	void (*free_page)(void *ctx, void *page);
	void *ctx;
};

struct pgtable {
	u64 *root;
	enum pgt_stage stage;
	unsigned int start_level;  /* 1 for every table moat builds */
	unsigned int root_entries; /* 512, or 1024 for two concatenated level-1 tables */
	unsigned int ia_bits;	   /* input address size: 39 (stage 1) or 40 (stage 2) */
	struct pgt_allocator alloc;
	/* Whether edits must do stage-2 TLB maintenance (false until the table is live). */
	bool live;
};

/* Pages of table a map/unmap of this many bytes may need in the worst case. */
unsigned int pgt_pages_needed(const struct pgtable *pgt, u64 size);

/*
 * The caller supplies the zeroed root: one page (ia_bits 39) or two
 * contiguous pages aligned to 8 KiB (ia_bits 40, concatenated level-1 tables),
 * because a single-page allocator cannot guarantee either.
 */
int pgt_init(struct pgtable *pgt, enum pgt_stage stage, unsigned int ia_bits, u64 *root,
	     const struct pgt_allocator *alloc);

/*
 * Map [ia, ia + size) to [pa, pa + size) with the largest blocks that fit.
 * Existing mappings in the range are replaced (break-before-make). Returns
 * MOAT_E_NOMEM if a table page cannot be allocated; the range is then
 * partially mapped, so callers that need all-or-nothing reserve
 * pgt_pages_needed() pages first.
 */
int pgt_map(struct pgtable *pgt, u64 ia, u64 pa, u64 size, unsigned int flags);

/* Remove [ia, ia + size), splitting blocks that straddle the edges. */
int pgt_unmap(struct pgtable *pgt, u64 ia, u64 size);

/* Translate ia; on success *pa, *flags and *level describe the leaf. */
bool pgt_lookup(const struct pgtable *pgt, u64 ia, u64 *pa, unsigned int *flags, unsigned int *level);

/* Bytes mapped by leaves of each level (index 1..3), for coverage reports. */
void pgt_leaf_bytes(const struct pgtable *pgt, u64 bytes[4]);

/* Visit every leaf (ia, pa, size) and every table page below the root, for checkers. */
struct pgt_visitor {
	void (*leaf)(void *ctx, u64 ia, u64 pa, u64 size, unsigned int flags);
	void (*table)(void *ctx, u64 table_pa);
	void *ctx;
};
void pgt_walk(const struct pgtable *pgt, const struct pgt_visitor *v);

/* Free every table page below the root (VM teardown); the table must not be live. */
void pgt_destroy(struct pgtable *pgt);

/* Descriptor encoding of flags for this stage (leaf attributes only). */
u64 pgt_leaf_attrs(enum pgt_stage stage, unsigned int flags);

#endif
