/*
 * The ownership invariant checker (core/invariants.c): returns the number of
 * violations found (0 when every invariant of DESIGN §4 holds) and logs the
 * first ones. Caller holds pagedb_lock.
 */
#ifndef MOAT_INVARIANTS_H
#define MOAT_INVARIANTS_H

unsigned int invariants_check(void);

#endif
