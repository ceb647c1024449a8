/*
 * EL2 exception vectors. Every entry saves the interrupted context's x0..x30,
 * ELR_EL2 and SPSR_EL2 in a struct cpu_regs on the current CPU's EL2 stack and
 * calls el2_trap(regs, slot); the common exit restores the (possibly updated)
 * frame and returns with ERET. slot is the vector slot 0..15 (exception.c
 * names them):
 *   0..3  current EL with SP_EL0      4..7  current EL with SP_EL2
 *   8..11 lower EL, AArch64           12..15 lower EL, AArch32
 * and within each group: sync, IRQ, FIQ, SError.
 */
#include "asm.h"

.macro ventry, slot
	.balign	0x80
	sub	sp, sp, #REGS_SIZE
	stp	x0, x1, [sp, #0]
	mov	x1, #\slot
	b	el2_trap_entry
.endm

	.text
	.balign	0x800
	.globl	__vectors
__vectors:
	ventry	0
	ventry	1
	ventry	2
	ventry	3
	ventry	4
	ventry	5
	ventry	6
	ventry	7
	ventry	8
	ventry	9
	ventry	10
	ventry	11
	ventry	12
	ventry	13
	ventry	14
	ventry	15

el2_trap_entry:
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
	str	x30, [sp, #REGS_X30]
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [sp, #REGS_ELR]
	mov	x0, sp
	mov	x29, #0			// terminate frame-pointer chains at the trap
	bl	el2_trap
	b	el2_exit

/* Restore the frame at sp and return to the context it describes. */
el2_exit:
	ldp	x2, x3, [sp, #REGS_ELR]
	msr	elr_el2, x2
	msr	spsr_el2, x3
	ldp	x0, x1, [sp, #0]
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
	ldr	x30, [sp, #REGS_X30]
	add	sp, sp, #REGS_SIZE
	eret
	dsb	nsh			// no straight-line speculation past ERET
	isb

/*
 * void arch_enter_first(const struct cpu_regs *init, u64 stack_top)
 * Copy *init to the top of this CPU's stack and return "from an exception"
 * into it: the first entry into the host. Later traps reuse the same slot.
 */
	.globl	arch_enter_first
arch_enter_first:
	sub	x2, x1, #REGS_SIZE
	mov	x3, #0
1:	ldr	x4, [x0, x3]
	str	x4, [x2, x3]
	add	x3, x3, #8
	cmp	x3, #REGS_SIZE
	b.lo	1b
	mov	sp, x2
	b	el2_exit
