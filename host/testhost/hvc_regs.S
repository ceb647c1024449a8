/*
 * Test host: issue HVC #0 with every general register set by the caller, to
 * check which registers the core preserves (include/moat/abi.h promises all
 * but x0..x3). C cannot pin x4..x30 across an asm statement, hence assembly.
 *
 * void hvc_all_regs(u64 regs[31]): x0..x30 = regs[0..30]; HVC #0;
 * regs[0..30] = x0..x30.
 */
#include "asm.h"

	.text
	.globl	hvc_all_regs
	.type	hvc_all_regs, %function
hvc_all_regs:
	push_callee_saved 16
	str	x0, [sp, #96]
	mov	x30, x0
	ldp	x0, x1, [x30, #0]
	ldp	x2, x3, [x30, #16]
	ldp	x4, x5, [x30, #32]
	ldp	x6, x7, [x30, #48]
	ldp	x8, x9, [x30, #64]
	ldp	x10, x11, [x30, #80]
	ldp	x12, x13, [x30, #96]
	ldp	x14, x15, [x30, #112]
	ldp	x16, x17, [x30, #128]
	ldp	x18, x19, [x30, #144]
	ldp	x20, x21, [x30, #160]
	ldp	x22, x23, [x30, #176]
	ldp	x24, x25, [x30, #192]
	ldp	x26, x27, [x30, #208]
	ldp	x28, x29, [x30, #224]
	ldr	x30, [x30, #240]
	hvc	#0
	stp	x0, x1, [sp, #-16]!	/* sp was not lent out: still our frame */
	ldr	x0, [sp, #16 + 96]
	stp	x2, x3, [x0, #16]
	stp	x4, x5, [x0, #32]
	stp	x6, x7, [x0, #48]
	stp	x8, x9, [x0, #64]
	stp	x10, x11, [x0, #80]
	stp	x12, x13, [x0, #96]
	stp	x14, x15, [x0, #112]
	stp	x16, x17, [x0, #128]
	stp	x18, x19, [x0, #144]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	str	x30, [x0, #240]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0]
	pop_callee_saved 16
	ret
	.size	hvc_all_regs, . - hvc_all_regs
