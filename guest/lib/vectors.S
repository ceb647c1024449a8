/*
 * Guest exception vectors (VBAR_EL1). Every entry saves the caller-saved
 * registers, ELR_EL1 and SPSR_EL1 (struct exc_frame, frame.h) on SP_EL1 and
 * calls guest_exception(frame, vector offset). The handler may move the
 * saved ELR (probe recovery); the frame is then restored and we return.
 */
#include "frame.h"

.macro	ventry offset
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp]
	mov	x1, #\offset
	b	exc_common
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
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x29, [sp, #FRAME_X18_X29]
	mrs	x2, elr_el1
	stp	x30, x2, [sp, #FRAME_X30_ELR]
	mrs	x2, spsr_el1
	str	x2, [sp, #FRAME_SPSR]
	mov	x0, sp
	bl	guest_exception

	ldr	x2, [sp, #FRAME_SPSR]
	msr	spsr_el1, x2
	ldp	x30, x2, [sp, #FRAME_X30_ELR]
	msr	elr_el1, x2
	ldp	x18, x29, [sp, #FRAME_X18_X29]
	ldp	x16, x17, [sp, #128]
	ldp	x14, x15, [sp, #112]
	ldp	x12, x13, [sp, #96]
	ldp	x10, x11, [sp, #80]
	ldp	x8, x9, [sp, #64]
	ldp	x6, x7, [sp, #48]
	ldp	x4, x5, [sp, #32]
	ldp	x2, x3, [sp, #16]
	ldp	x0, x1, [sp]
	add	sp, sp, #FRAME_SIZE
	eret
