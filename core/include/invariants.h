/*
 * The ownership invariant checker (core/invariants.c): each returns the
 * number of violations found (0 when every invariant of DESIGN §4 it covers
 * holds) and logs the first ones. Caller holds pagedb_lock. Which scope checks
 * what: the top of core/invariants.c.
 */
#ifndef MOAT_INVARIANTS_H
#define MOAT_INVARIANTS_H

#include "types.h"

/* Every invariant: walks all of RAM and the host stage 2, then each VM (O(RAM pages)). */
unsigned int invariants_check(void);
/* The per-VM part only: each VM's view, page index, the pages on it and its table (O(VM pages)). */
unsigned int invariants_check_vms(void);
/* One page of RAM as the full walk checks it (O(1)); 0 for an address outside RAM. */
unsigned int invariants_check_page(u64 pa);

#endif
