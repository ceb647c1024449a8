/*
 * Test-and-set spinlock with acquire/release ordering, and who holds it.
 * The acquisition itself is the architecture's (arch_spinlock.h: the
 * compiler's atomics, LDAXR/STXR on Armv8.0, only valid once the MMU is on
 * since exclusives need Normal memory; the fake arch adds a test hook).
 * Locks are never held across a world switch (DESIGN §12).
 *
 * Each lock records the CPU holding it, so that a function which relies on
 * its caller's lock can say so and have it checked: CHECK_LOCKED(&lock) at
 * its top. The record is written only by the holder, so spin_is_held() is
 * exact for the asking CPU (another CPU's hold never reads as its own).
 */
#ifndef MOAT_SPINLOCK_H
#define MOAT_SPINLOCK_H

#include "arch.h"
#include "log.h"
#include "types.h"

struct spinlock {
	u32 locked;
	u32 owner; /* arch_cpu_index() + 1 of the holder; 0 when free, so a zeroed lock is a free one */
};

#include "arch_spinlock.h"

static inline void spin_lock(struct spinlock *l)
{
	arch_spin_acquire(&l->locked);
	__atomic_store_n(&l->owner, arch_cpu_index() + 1, __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
	/* Cleared before the release: from then on another CPU may take it and write its own index. */
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
	arch_spin_release(&l->locked);
}

/* Whether this CPU holds l. */
static inline bool spin_is_held(const struct spinlock *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == arch_cpu_index() + 1;
}

/* At the top of a function that needs its caller to hold l: a missing lock is the core's bug, so CHECK. */
#define CHECK_LOCKED(l) CHECK(spin_is_held(l))

#endif
