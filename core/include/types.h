/*
 * Basic fixed-width types for the core. The core is freestanding at EL2 and
 * hosted (x86-64, ARCH=fake) for unit tests and fuzzing; both use the
 * compiler's own stdint/stddef/stdbool, which need no C library.
 */
#ifndef MOAT_TYPES_H
#define MOAT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define SZ_2M (1UL << 21)
#define SZ_1G (1UL << 30)

#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (u64)(a)-1, (a))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a)-1)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
