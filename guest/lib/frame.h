/*
 * What vectors.S and exception.c share: the vector offsets passed to the C
 * handler. The frame itself is the EL1 images' struct el1_frame
 * (lib/el1/el1_frame.h).
 */
#ifndef GUEST_FRAME_H
#define GUEST_FRAME_H

/* Vector offsets (VBAR_EL1 + offset), passed to the C handler. */
#define VEC_CUR_SP0_SYNC 0x000
#define VEC_CUR_SPX_SYNC 0x200
#define VEC_CUR_SPX_IRQ 0x280
#define VEC_LOW_A64_SYNC 0x400

#ifndef __ASSEMBLY__

#include <stdint.h>

#include "el1_frame.h"

/* Called from vectors.S; may move frame->elr past the faulting instruction. */
void guest_exception(struct el1_frame *frame, uint64_t vector);

#endif /* __ASSEMBLY__ */
#endif
