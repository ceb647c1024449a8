/*
 * The exception frame of the EL1 images (the test host and the test guests),
 * and the one macro pair that saves and restores it: x0..x30, ELR_EL1,
 * SPSR_EL1 and SP_EL0, in a struct el1_frame on SP_EL1. Each image's
 * vectors.S uses el1_save_frame / el1_restore_frame; its C handler gets the
 * frame and may rewrite any of it before the exception returns.
 *
 * Shared by the EL1 images only, not part of the trusted core. There is no
 * offset generator for these images: the offsets are written once, here, and
 * the static asserts below hold them to the C structure.
 */
#ifndef MOAT_EL1_FRAME_H
#define MOAT_EL1_FRAME_H

#define EL1_FRAME_X(n) ((n)*8) /* x<n>, n = 0..30 */
#define EL1_FRAME_ELR 248
#define EL1_FRAME_SPSR 256 /* follows ELR: one STP/LDP moves both */
#define EL1_FRAME_SP_EL0 264
#define EL1_FRAME_SIZE 272 /* a multiple of 16: SP stays aligned */

#ifdef __ASSEMBLY__

/*
 * x0..x30 to and from 31 doublewords at \base (struct el1_frame's x[], or
 * any u64[31]). el1_load_gprs loads x0/x1 last, so \base may be sp or x0.
 */
.macro el1_store_gprs, base
	stp	x0, x1, [\base, #EL1_FRAME_X(0)]
	stp	x2, x3, [\base, #EL1_FRAME_X(2)]
	stp	x4, x5, [\base, #EL1_FRAME_X(4)]
	stp	x6, x7, [\base, #EL1_FRAME_X(6)]
	stp	x8, x9, [\base, #EL1_FRAME_X(8)]
	stp	x10, x11, [\base, #EL1_FRAME_X(10)]
	stp	x12, x13, [\base, #EL1_FRAME_X(12)]
	stp	x14, x15, [\base, #EL1_FRAME_X(14)]
	stp	x16, x17, [\base, #EL1_FRAME_X(16)]
	stp	x18, x19, [\base, #EL1_FRAME_X(18)]
	stp	x20, x21, [\base, #EL1_FRAME_X(20)]
	stp	x22, x23, [\base, #EL1_FRAME_X(22)]
	stp	x24, x25, [\base, #EL1_FRAME_X(24)]
	stp	x26, x27, [\base, #EL1_FRAME_X(26)]
	stp	x28, x29, [\base, #EL1_FRAME_X(28)]
	str	x30, [\base, #EL1_FRAME_X(30)]
.endm

.macro el1_load_gprs, base
	.ifnc	\base, sp
	.ifnc	\base, x0
	.error	"el1_load_gprs: base must be sp or x0 (loaded last)"
	.endif
	.endif
	ldp	x2, x3, [\base, #EL1_FRAME_X(2)]
	ldp	x4, x5, [\base, #EL1_FRAME_X(4)]
	ldp	x6, x7, [\base, #EL1_FRAME_X(6)]
	ldp	x8, x9, [\base, #EL1_FRAME_X(8)]
	ldp	x10, x11, [\base, #EL1_FRAME_X(10)]
	ldp	x12, x13, [\base, #EL1_FRAME_X(12)]
	ldp	x14, x15, [\base, #EL1_FRAME_X(14)]
	ldp	x16, x17, [\base, #EL1_FRAME_X(16)]
	ldp	x18, x19, [\base, #EL1_FRAME_X(18)]
	ldp	x20, x21, [\base, #EL1_FRAME_X(20)]
	ldp	x22, x23, [\base, #EL1_FRAME_X(22)]
	ldp	x24, x25, [\base, #EL1_FRAME_X(24)]
	ldp	x26, x27, [\base, #EL1_FRAME_X(26)]
	ldp	x28, x29, [\base, #EL1_FRAME_X(28)]
	ldr	x30, [\base, #EL1_FRAME_X(30)]
	ldp	x0, x1, [\base, #EL1_FRAME_X(0)]
.endm

/* The whole frame at sp: the general registers first, so x2/x3 are free for the system registers. */
.macro el1_save_frame
	el1_store_gprs sp
	mrs	x2, elr_el1
	mrs	x3, spsr_el1
	stp	x2, x3, [sp, #EL1_FRAME_ELR]
	mrs	x2, sp_el0
	str	x2, [sp, #EL1_FRAME_SP_EL0]
.endm

.macro el1_restore_frame
	ldr	x2, [sp, #EL1_FRAME_SP_EL0]
	msr	sp_el0, x2
	ldp	x2, x3, [sp, #EL1_FRAME_ELR]
	msr	elr_el1, x2
	msr	spsr_el1, x3
	el1_load_gprs sp
.endm

#else

#include <stddef.h>
#include <stdint.h>

struct el1_frame {
	uint64_t x[31];
	uint64_t elr;
	uint64_t spsr;
	uint64_t sp_el0;
};

_Static_assert(offsetof(struct el1_frame, x[0]) == EL1_FRAME_X(0), "el1_frame layout");
_Static_assert(offsetof(struct el1_frame, x[30]) == EL1_FRAME_X(30), "el1_frame layout");
_Static_assert(offsetof(struct el1_frame, elr) == EL1_FRAME_ELR, "el1_frame layout");
_Static_assert(offsetof(struct el1_frame, spsr) == EL1_FRAME_SPSR, "el1_frame layout");
_Static_assert(offsetof(struct el1_frame, sp_el0) == EL1_FRAME_SP_EL0, "el1_frame layout");
_Static_assert(sizeof(struct el1_frame) == EL1_FRAME_SIZE, "el1_frame layout");

#endif /* __ASSEMBLY__ */
#endif
