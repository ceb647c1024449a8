/*
 * Page pool: the core's bounded boot heap, carved out of the core's reserved
 * region at boot. It feeds the core's own page tables (EL2 stage 1, host
 * stage 2); VM metadata and VM stage-2 tables come from host-donated pages
 * instead, so the pool never grows with the number of VMs.
 *
 * No lock inside: the pool is used on the boot CPU before the MMU is on and
 * afterwards only under the page-database lock.
 */
#ifndef MOAT_ALLOC_H
#define MOAT_ALLOC_H

#include "pgtable.h"
#include "types.h"

struct page_pool {
	u64 next; /* first never-used page */
	u64 end;
	void *free_list; /* freed pages, linked through their first word */
	u64 nr_free;	 /* pages available: free list + never used */
};

void page_pool_init(struct page_pool *pool, u64 base, u64 size);
void *page_pool_alloc(struct page_pool *pool); /* zeroed page, or NULL when exhausted */
void page_pool_free(struct page_pool *pool, void *page);
/* Two contiguous pages aligned to 8 KiB (a concatenated stage-2 root), or NULL. */
void *page_pool_alloc_pair(struct page_pool *pool);
struct pgt_allocator page_pool_allocator(struct page_pool *pool);

#endif
