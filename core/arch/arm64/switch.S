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
	stp	x19, x20, [x1, #PCPU_HOST_X19]
	stp	x21, x22, [x1, #PCPU_HOST_X21]
	stp	x23, x24, [x1, #PCPU_HOST_X23]
	stp	x25, x26, [x1, #PCPU_HOST_X25]
	stp	x27, x28, [x1, #PCPU_HOST_X27]
	stp	x29, x30, [x1, #PCPU_HOST_X29]
	mov	x2, sp
	str	x2, [x1, #PCPU_HOST_SP]
	str	x0, [x1, #PCPU_GUEST_REGS]
	restore_gprs x0
	eret
	dsb	nsh
	isb

/* void __guest_exit(u64 kind): back into __guest_enter's caller, which gets kind. */
	.globl	__guest_exit
__guest_exit:
	mrs	x1, tpidr_el2
	str	xzr, [x1, #PCPU_GUEST_REGS]
	ldp	x19, x20, [x1, #PCPU_HOST_X19]
	ldp	x21, x22, [x1, #PCPU_HOST_X21]
	ldp	x23, x24, [x1, #PCPU_HOST_X23]
	ldp	x25, x26, [x1, #PCPU_HOST_X25]
	ldp	x27, x28, [x1, #PCPU_HOST_X27]
	ldp	x29, x30, [x1, #PCPU_HOST_X29]
	ldr	x2, [x1, #PCPU_HOST_SP]
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
