/*
 * Test host exception vectors: all 16 entries save the full register frame
 * (struct exc_frame) on SP_EL1 and call testhost_exception(frame, offset),
 * which may rewrite ELR, SPSR and x0..x30 in the frame (probe recovery, EL0
 * return) before the frame is restored and the exception returns.
 */
#include "probe.h"

.macro	ventry offset
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp]
	mov	x1, #\offset
	b	exc_common
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
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x2, elr_el1
	stp	x30, x2, [sp, #240]
	mrs	x2, spsr_el1
	mrs	x3, sp_el0
	stp	x2, x3, [sp, #FRAME_SPSR]
	mov	x0, sp
	bl	testhost_exception

	ldp	x2, x3, [sp, #FRAME_SPSR]
	msr	spsr_el1, x2
	msr	sp_el0, x3
	ldr	x2, [sp, #FRAME_ELR]
	msr	elr_el1, x2
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	ldp	x0, x1, [sp]
	add	sp, sp, #FRAME_SIZE
	eret
