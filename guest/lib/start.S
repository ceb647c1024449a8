/*
 * Guest entry: the first byte of every guest image (guest.lds puts
 * .text.entry first), loaded and entered at IPA 0x40000000.
 *
 * Entered at EL1h with the MMU off, DAIF masked and x0 = a value of the
 * VMM's choosing, which is handed to guest_main() unchanged. Nothing else
 * about the EL1 state is assumed: SCTLR_EL1, CPACR_EL1 and VBAR_EL1 are set
 * here. If guest_main() returns, the VM powers off with PSCI SYSTEM_OFF.
 */
#include "hvc.h"

/*
 * SCTLR_EL1 with the MMU off: the Armv8.0 RES1 bits only (11, 20, 22, 23,
 * 28, 29); M, A, C, I = 0; little-endian. Alignment is still enforced for
 * every access because MMU-off data accesses are Device memory.
 */
#define SCTLR_EL1_MMU_OFF 0x30d00800

/* CPACR_EL1.FPEN = 0b11: FP/SIMD usable at EL1 without traps. */
#define CPACR_EL1_FPEN (3 << 20)

	.section .text.entry, "ax"
	.globl	_start
	.type	_start, %function
_start:
	mrs	x20, cntpct_el0		/* the first instruction's time (guest_entry_cntpct), for kbench */
	msr	daifset, #0xf
	mov	x19, x0			/* the VMM's x0, kept across set-up */
	ldr	x0, =SCTLR_EL1_MMU_OFF
	msr	sctlr_el1, x0
	mov	x0, #CPACR_EL1_FPEN
	msr	cpacr_el1, x0
	msr	spsel, #1		/* exceptions and C share SP_EL1 */
	adrp	x0, vectors
	add	x0, x0, :lo12:vectors
	msr	vbar_el1, x0
	isb

	adrp	x0, guest_stack_top
	add	x0, x0, :lo12:guest_stack_top
	mov	sp, x0
	mov	x29, xzr		/* end of the frame-pointer chain */
	mov	x30, xzr

	/* Zero BSS (16-byte aligned by guest.lds); the stack is outside it. */
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __bss_end
	add	x1, x1, :lo12:__bss_end
1:	cmp	x0, x1
	b.hs	2f
	stp	xzr, xzr, [x0], #16
	b	1b

2:	adrp	x0, guest_entry_cntpct
	str	x20, [x0, :lo12:guest_entry_cntpct]
	mov	x0, x19
	bl	guest_main

	/* guest_main() returned: power off, and park if that ever returns. */
	ldr	x0, =PSCI_SYSTEM_OFF
	hvc	#0
3:	wfi
	b	3b
	.size	_start, . - _start
	.ltorg

	/* CNTPCT_EL0 at _start's first instruction (set after BSS is zeroed). */
	.section .bss
	.balign	8
	.globl	guest_entry_cntpct
guest_entry_cntpct:
	.space	8

	/* Not zeroed at boot: nothing reads stack memory before writing it. */
	.section .stack, "aw", %nobits
	.balign	16
	.space	16384
	.globl	guest_stack_top
guest_stack_top:
