/*
 * Memcache: pages the host donated (DONATE_CORE) for the core's use on
 * behalf of one VM -- its stage-2 tables and vCPU state -- kept as a free
 * list threaded through the pages themselves, so the core needs no memory of
 * its own per VM (DESIGN §5).
 *
 * Who calls it: mem.c fills it (DONATE_CORE), vm.c hands it to the VM's
 * stage-2 table as its allocator, vcpu.c takes vCPU pages from it.
 * Lock: a memcache is part of its VM and guarded by that VM's vm->lock.
 * It imports nothing above itself (see the import order in vm.h).
 */
#ifndef MOAT_MEMCACHE_H
#define MOAT_MEMCACHE_H

#include "pgtable.h"
#include "types.h"

struct memcache {
	u64 head;  /* PA of the first free page; pages link through their first word */
	u32 count; /* free pages */
};

/* A zeroed page, or NULL when the memcache is empty. */
void *memcache_alloc(struct memcache *mc);
/* Give a page (owned by the core on the VM's behalf) back to the memcache. */
void memcache_free(struct memcache *mc, void *page);
/* An allocator for pgt_init() that draws table pages from mc. */
struct pgt_allocator memcache_pgt_allocator(struct memcache *mc);

#endif
