/*
 * World switch between the core and a guest.
 *
 * u64 __guest_enter(struct cpu_regs *guest, struct percpu *pcpu)
 *	Saves the core's callee-saved registers and SP_EL2 in pcpu, records
 *	where the guest's registers belong, loads them and ERETs into the guest.
 *	"Returns" when the guest exits: el2_trap() copies the exception frame
 *	into *guest and calls __guest_exit(kind), which restores the core's
 *	registers and SP, so __guest_enter returns kind (enum guest_exit_kind).
 *
 * Guest values left in caller-saved registers after the return are dead:
 * the host gets its own registers back from its trap frame on the way out.
 */
#include "asm.h"

	.text
	.globl	__guest_enter
__guest_enter:
	stp	x19, x20, [x1, #PCPU_HOST_CALLEE + 0]
	stp	x21, x22, [x1, #PCPU_HOST_CALLEE + 16]
	stp	x23, x24, [x1, #PCPU_HOST_CALLEE + 32]
	stp	x25, x26, [x1, #PCPU_HOST_CALLEE + 48]
	stp	x27, x28, [x1, #PCPU_HOST_CALLEE + 64]
	stp	x29, x30, [x1, #PCPU_HOST_CALLEE + 80]
	mov	x2, sp
	str	x2, [x1, #PCPU_HOST_CALLEE + 96]
	str	x0, [x1, #PCPU_GUEST_REGS]

	ldp	x2, x3, [x0, #REGS_ELR]
	msr	elr_el2, x2
	msr	spsr_el2, x3
	ldp	x2, x3, [x0, #16]
	ldp	x4, x5, [x0, #32]
	ldp	x6, x7, [x0, #48]
	ldp	x8, x9, [x0, #64]
	ldp	x10, x11, [x0, #80]
	ldp	x12, x13, [x0, #96]
	ldp	x14, x15, [x0, #112]
	ldp	x16, x17, [x0, #128]
	ldp	x18, x19, [x0, #144]
	ldp	x20, x21, [x0, #160]
	ldp	x22, x23, [x0, #176]
	ldp	x24, x25, [x0, #192]
	ldp	x26, x27, [x0, #208]
	ldp	x28, x29, [x0, #224]
	ldr	x30, [x0, #REGS_X30]
	ldp	x0, x1, [x0, #0]
	eret
	dsb	nsh
	isb

/* void __guest_exit(u64 kind): back into __guest_enter's caller, which gets kind. */
	.globl	__guest_exit
__guest_exit:
	mrs	x1, tpidr_el2
	str	xzr, [x1, #PCPU_GUEST_REGS]
	ldp	x19, x20, [x1, #PCPU_HOST_CALLEE + 0]
	ldp	x21, x22, [x1, #PCPU_HOST_CALLEE + 16]
	ldp	x23, x24, [x1, #PCPU_HOST_CALLEE + 32]
	ldp	x25, x26, [x1, #PCPU_HOST_CALLEE + 48]
	ldp	x27, x28, [x1, #PCPU_HOST_CALLEE + 64]
	ldp	x29, x30, [x1, #PCPU_HOST_CALLEE + 80]
	ldr	x2, [x1, #PCPU_HOST_CALLEE + 96]
	mov	sp, x2
	ret

/*
 * u64 __take_pending_serror(void)
 * Called right after a guest exit, before anything of the host runs again.
 * An SError the guest caused may still be in flight: DSB SY completes every
 * outstanding access, ISB makes ISR_EL1 current. If ISR_EL1.A shows one
 * pending, SError is unmasked for a single instruction so that it is taken
 * here, at EL2 (el2_trap() recognises the window and returns into it), and
 * so counted against the guest. Left pending, it would fire in the host as
 * soon as the host's context (HCR_EL2.AMO = 0) is back, and the host would
 * take the blame. Returns 1 if an SError was taken.
 */
	.globl	__take_pending_serror
__take_pending_serror:
	dsb	sy
	isb
	mrs	x0, isr_el1
	ubfx	x0, x0, #8, #1		// ISR_EL1.A
	cbz	x0, 1f
	msr	daifclr, #4
	.globl	__serror_window
__serror_window:
	isb				// the SError is taken here at the latest
	.globl	__serror_window_end
__serror_window_end:
	msr	daifset, #4
1:	ret
