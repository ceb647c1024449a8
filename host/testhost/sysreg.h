/*
 * Test host: system-register accessors and the exception-syndrome fields
 * the tests check.
 */
#ifndef TESTHOST_SYSREG_H
#define TESTHOST_SYSREG_H

#include "types.h"

#define read_sysreg(r)                                          \
	({                                                      \
		u64 __val;                                      \
		__asm__ volatile("mrs %0, " #r : "=r"(__val)); \
		__val;                                          \
	})
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" : : "r"((u64)(v)) : "memory")

/*
 * The same with an ISB on the side that makes the access see (read) or take effect (write) now:
 * for the PMU and debug tests, whose counters and breakpoints must not be sampled or armed late.
 */
#define read_sysreg_sync(r)                                             \
	({                                                              \
		u64 __val;                                              \
		__asm__ volatile("isb; mrs %0, " #r : "=r"(__val)::"memory"); \
		__val;                                                  \
	})
#define write_sysreg_sync(r, v) __asm__ volatile("msr " #r ", %0; isb" : : "r"((u64)(v)) : "memory")

#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_IL (1UL << 25)
#define ESR_ISV (1UL << 24)
#define ESR_S1PTW (1UL << 7)
#define ESR_WNR (1UL << 6)
#define ESR_FSC(esr) ((esr)&0x3f)

#define EC_UNKNOWN 0x00
#define EC_SVC64 0x15
#define EC_IABT_LOW 0x20
#define EC_IABT_CUR 0x21
#define EC_DABT_LOW 0x24
#define EC_DABT_CUR 0x25

#define FSC_SEA 0x10 /* synchronous external abort, not on a table walk */

#define VEC_CUR_SP_ELX_SYNC 0x200
#define VEC_LOWER_A64_SYNC 0x400

#define SPSR_MODE(spsr) ((spsr)&0xf)
#define SPSR_MODE_EL0T 0x0
#define SPSR_MODE_EL1H 0x5

static inline unsigned int current_el(void)
{
	return (unsigned int)((read_sysreg(CurrentEL) >> 2) & 3);
}

static inline void cpu_relax(void)
{
	__asm__ volatile("yield" ::: "memory");
}

#endif
