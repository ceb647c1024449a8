/*
 * Test host: assembler macros shared by the .S files.
 */
#ifndef TESTHOST_ASM_H
#define TESTHOST_ASM_H

#ifdef __ASSEMBLY__

/*
 * Push a frame record and the callee-saved registers x19..x28: 96 bytes,
 * plus \extra bytes (a multiple of 16) of scratch space at sp + 96.
 */
.macro	push_callee_saved extra=0
	stp	x29, x30, [sp, #-(96 + \extra)]!
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
.endm

.macro	pop_callee_saved extra=0
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	x29, x30, [sp], #(96 + \extra)
.endm

#endif /* __ASSEMBLY__ */
#endif
