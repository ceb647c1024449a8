/*
 * The spinlock's lock word on the fake arch (included by spinlock.h only):
 * the same atomics as arm64, plus a hook a unit test sets to play "another
 * CPU" at the moment a lock is requested -- the place where a race between
 * an unlocked lookup and the lock would show (tests/unit/test_vm.c).
 */
#ifndef MOAT_ARCH_SPINLOCK_H
#define MOAT_ARCH_SPINLOCK_H

#include "types.h"

/* Called, when set, with the lock word before each acquisition; fake_reset() clears it. */
extern void (*fake_spin_hook)(u32 *word);

static inline void arch_spin_acquire(u32 *word)
{
	if (fake_spin_hook) {
		fake_spin_hook(word);
	}
	while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(word, __ATOMIC_RELAXED)) {
		}
	}
}

static inline void arch_spin_release(u32 *word)
{
	__atomic_store_n(word, 0, __ATOMIC_RELEASE);
}

#endif
