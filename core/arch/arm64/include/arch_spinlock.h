/*
 * The spinlock's lock word on arm64 (included by spinlock.h only): the
 * compiler's atomics give LDAXR/STXR with acquire and STLR with release
 * ordering (-mno-outline-atomics: no runtime helper). Exclusives need Normal
 * memory, so locks work only once the EL2 MMU is on.
 */
#ifndef MOAT_ARCH_SPINLOCK_H
#define MOAT_ARCH_SPINLOCK_H

#include "types.h"

static inline void arch_spin_acquire(u32 *word)
{
	while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE)) {
		/* Wait with plain loads: no exclusive-monitor traffic while someone else holds it. */
		while (__atomic_load_n(word, __ATOMIC_RELAXED)) {
		}
	}
}

static inline void arch_spin_release(u32 *word)
{
	__atomic_store_n(word, 0, __ATOMIC_RELEASE);
}

#endif
