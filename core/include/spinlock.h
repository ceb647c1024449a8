/*
 * Ticket-free test-and-set spinlock with acquire/release ordering, built on
 * the compiler's atomics (LDAXR/STXR on Armv8.0; only valid once the MMU is
 * on, since exclusives need Normal memory). Locks are never held across a
 * world switch (DESIGN §12).
 */
#ifndef MOAT_SPINLOCK_H
#define MOAT_SPINLOCK_H

#include "types.h"

struct spinlock {
	u32 locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
		}
	}
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
