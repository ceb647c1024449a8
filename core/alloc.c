/*
 * Page pool (see alloc.h): a bump allocator with a free list. Pages handed
 * out are always zeroed, because a page-table page must start out invalid.
 *
 * Lock: none of its own. The boot pool feeds the core's stage 1 (boot CPU,
 * before anything else runs) and then only the host stage 2, whose callers
 * hold pagedb_lock (host_s2.c).
 */
#include "alloc.h"

#include "arch.h"
#include "lib.h"

void page_pool_init(struct page_pool *pool, u64 base, u64 size)
{
	pool->next = ALIGN_UP(base, PAGE_SIZE);
	pool->end = ALIGN_DOWN(base + size, PAGE_SIZE);
	if (pool->end < pool->next) {
		pool->end = pool->next;
	}
	pool->free_list = NULL;
	pool->nr_free = (pool->end - pool->next) / PAGE_SIZE;
}

void *page_pool_alloc(struct page_pool *pool)
{
	void *page = pool->free_list;

	if (page) {
		pool->free_list = *(void **)page;
	} else if (pool->next < pool->end) {
		page = phys_to_virt(pool->next);
		pool->next += PAGE_SIZE;
	} else {
		return NULL;
	}
	pool->nr_free--;
	memset(page, 0, PAGE_SIZE);
	return page;
}

void *page_pool_alloc_pair(struct page_pool *pool)
{
	u64 base = ALIGN_UP(pool->next, 2 * PAGE_SIZE);
	u64 skipped = base - pool->next;

	if (base + 2 * PAGE_SIZE > pool->end) {
		return NULL;
	}
	/* An alignment gap goes to the free list rather than being lost. */
	if (skipped) {
		pool->next = base;
		page_pool_free(pool, phys_to_virt(base - PAGE_SIZE));
		pool->nr_free--;
	}
	pool->next = base + 2 * PAGE_SIZE;
	pool->nr_free -= 2;
	memset(phys_to_virt(base), 0, 2 * PAGE_SIZE);
	return phys_to_virt(base);
}

void page_pool_free(struct page_pool *pool, void *page)
{
	*(void **)page = pool->free_list;
	pool->free_list = page;
	pool->nr_free++;
}

static void *pool_alloc_cb(void *ctx)
{
	return page_pool_alloc(ctx);
}

static void pool_free_cb(void *ctx, void *page)
{
	page_pool_free(ctx, page);
}

struct pgt_allocator page_pool_allocator(struct page_pool *pool)
{
	struct pgt_allocator a = { pool_alloc_cb, pool_free_cb, pool };

	return a;
}
