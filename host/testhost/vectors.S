/*
 * Test host exception vectors: all 16 entries save the full register frame
 * (struct el1_frame, lib/el1/el1_frame.h) on SP_EL1 and call
 * testhost_exception(frame, offset), which may rewrite ELR, SPSR and x0..x30
 * in the frame (probe recovery, EL0 return) before the frame is restored and
 * the exception returns.
 */
#include "el1_frame.h"

/* The frame is saved in the entry itself; the .org fails the build if it outgrows its 0x80 bytes. */
.macro	ventry offset
	.balign	0x80
	sub	sp, sp, #EL1_FRAME_SIZE
	el1_save_frame
	mov	x1, #\offset
	b	exc_common
	.org	vectors + \offset + 0x80
.endm

	.text
	.balign	0x800
	.globl	vectors
vectors:
	ventry	0x000	/* current EL, SP_EL0: sync */
	ventry	0x080	/* IRQ */
	ventry	0x100	/* FIQ */
	ventry	0x180	/* SError */
	ventry	0x200	/* current EL, SP_ELx: sync */
	ventry	0x280
	ventry	0x300
	ventry	0x380
	ventry	0x400	/* lower EL, AArch64: sync */
	ventry	0x480
	ventry	0x500
	ventry	0x580
	ventry	0x600	/* lower EL, AArch32 */
	ventry	0x680
	ventry	0x700
	ventry	0x780

exc_common:
	mov	x0, sp
	bl	testhost_exception
	el1_restore_frame
	add	sp, sp, #EL1_FRAME_SIZE
	eret
