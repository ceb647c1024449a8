/*
 * Guest exception vectors (VBAR_EL1). Every entry saves the register frame
 * of the EL1 images (struct el1_frame, lib/el1/el1_frame.h) on SP_EL1 and
 * calls guest_exception(frame, vector offset). The handler may move the
 * saved ELR (probe recovery); the frame is then restored and we return.
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

	.section .text.vectors, "ax"
	.balign	0x800
	.globl	vectors
vectors:
	ventry	0x000	/* current EL with SP_EL0: sync, IRQ, FIQ, SError */
	ventry	0x080
	ventry	0x100
	ventry	0x180
	ventry	0x200	/* current EL with SP_EL1: where a guest's faults land */
	ventry	0x280
	ventry	0x300
	ventry	0x380
	ventry	0x400	/* lower EL, AArch64 (guests have no EL0 code) */
	ventry	0x480
	ventry	0x500
	ventry	0x580
	ventry	0x600	/* lower EL, AArch32 */
	ventry	0x680
	ventry	0x700
	ventry	0x780

exc_common:
	mov	x0, sp
	bl	guest_exception
	el1_restore_frame
	add	sp, sp, #EL1_FRAME_SIZE
	eret
