/*
 * Test host: assembler macros shared by the .S files.
 */
#ifndef TESTHOST_ASM_H
#define TESTHOST_ASM_H

/* Where head.S records the state it was entered in: struct boot_entry_state (testhost.h asserts these). */
#define BOOT_ENTRY_X0 0
#define BOOT_ENTRY_X2 16
#define BOOT_ENTRY_DAIF 32 /* then SCTLR_EL1 */
#define BOOT_ENTRY_SPSEL 48 /* then CurrentEL */
/* struct smp_slot offsets (testhost.h) */
#define SMP_SLOT_STACK_TOP 0
#define SMP_SLOT_ENTRY 8

/* What push_callee_saved pushes: a frame record and x19..x28. Scratch space starts above it. */
#define CALLEE_SAVED_SIZE 96

#ifdef __ASSEMBLY__

/*
 * Push a frame record and the callee-saved registers x19..x28
 * (CALLEE_SAVED_SIZE bytes), plus \extra bytes (a multiple of 16) of scratch
 * space at sp + CALLEE_SAVED_SIZE.
 */
.macro	push_callee_saved extra=0
	stp	x29, x30, [sp, #-(CALLEE_SAVED_SIZE + \extra)]!
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
	ldp	x29, x30, [sp], #(CALLEE_SAVED_SIZE + \extra)
.endm

#endif /* __ASSEMBLY__ */
#endif
