/*
 * Test host: issue HVC #0 with every general register set by the caller, to
 * check which registers the core preserves (include/moat/abi.h promises all
 * but x0..x3). C cannot pin x4..x30 across an asm statement, hence assembly.
 *
 * void hvc_all_regs(u64 regs[31]): x0..x30 = regs[0..30]; HVC #0;
 * regs[0..30] = x0..x30.
 */
#include "asm.h"
#include "el1_frame.h"

	.text
	.globl	hvc_all_regs
	.type	hvc_all_regs, %function
hvc_all_regs:
	push_callee_saved 16
	str	x0, [sp, #CALLEE_SAVED_SIZE]	/* regs, in push_callee_saved's scratch space */
	el1_load_gprs x0		/* x0, the base, is loaded last */
	hvc	#0
	stp	x0, x1, [sp, #-16]!	/* sp was not lent out: still our frame */
	ldr	x0, [sp, #16 + CALLEE_SAVED_SIZE]
	el1_store_gprs x0		/* x0/x1 are stored wrong here... */
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #EL1_FRAME_X(0)]	/* ...and put right */
	pop_callee_saved 16
	ret
	.size	hvc_all_regs, . - hvc_all_regs
