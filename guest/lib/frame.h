/*
 * Exception frame pushed by vectors.S on SP_EL1, shared with exception.c.
 *
 * Only the registers the AAPCS64 lets a C call clobber (x0..x18, x29, x30)
 * are saved: the C handler preserves x19..x28 itself. The offsets are checked
 * against the C structure with static asserts in exception.c.
 */
#ifndef GUEST_FRAME_H
#define GUEST_FRAME_H

#define FRAME_X18_X29 144
#define FRAME_X30_ELR 160
#define FRAME_SPSR 176
#define FRAME_SIZE 192 /* a multiple of 16: SP stays aligned */

/* Vector offsets (VBAR_EL1 + offset), passed to the C handler. */
#define VEC_CUR_SP0_SYNC 0x000
#define VEC_CUR_SPX_SYNC 0x200

#ifndef __ASSEMBLY__

#include <stdint.h>

struct exc_frame {
	uint64_t x[19]; /* x0..x18 */
	uint64_t x29;
	uint64_t x30;
	uint64_t elr;
	uint64_t spsr;
	uint64_t pad;
};

/* Called from vectors.S; may move frame->elr past the faulting instruction. */
void guest_exception(struct exc_frame *frame, uint64_t vector);

#endif /* __ASSEMBLY__ */
#endif
