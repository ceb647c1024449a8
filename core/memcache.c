/*
 * Memcache (see memcache.h): a per-VM free list of host-donated pages.
 *
 * Owns nothing global. Lock: the owning VM's vm->lock (every caller holds
 * it: DONATE_CORE, VCPU_CREATE, stage-2 edits of that VM).
 */
#include "memcache.h"

#include "arch.h"
#include "lib.h"

void *memcache_alloc(struct memcache *mc)
{
	void *page;

	if (!mc->count) {
		return NULL;
	}
	page = phys_to_virt(mc->head);
	mc->head = *(u64 *)page;
	mc->count--;
	/* Callers get what pgt_allocator promises: no link word, no host data. */
	memset(page, 0, PAGE_SIZE);
	return page;
}

void memcache_free(struct memcache *mc, void *page)
{
	*(u64 *)page = mc->head;
	mc->head = virt_to_phys(page);
	mc->count++;
}

static void *alloc_cb(void *ctx)
{
	return memcache_alloc(ctx);
}

static void free_cb(void *ctx, void *page)
{
	memcache_free(ctx, page);
}

struct pgt_allocator memcache_pgt_allocator(struct memcache *mc)
{
	return (struct pgt_allocator){ alloc_cb, free_cb, mc };
}
