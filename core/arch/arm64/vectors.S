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

/*
 * Each entry saves the whole frame itself (it fits in the 0x80 bytes of a
 * slot; the .org fails the build if it ever does not) and only then uses x1
 * for the slot number.
 */
.macro ventry, slot
	.balign	0x80
	sub	sp, sp, #REGS_SIZE
	save_gprs sp
	mov	x1, #\slot
	b	el2_trap_entry
	.org	__vectors + (\slot + 1) * 0x80
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
	mov	x0, sp
	mov	x29, #0			// terminate frame-pointer chains at the trap
	bl	el2_trap
	b	el2_exit

/* Restore the frame at sp and return to the context it describes. */
el2_exit:
	restore_gprs sp
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
