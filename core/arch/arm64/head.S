/*
 * Entry of the core at EL2: the arm64 Linux Image header (so QEMU -kernel and
 * U-Boot booti treat us as a kernel and pass the DTB in x0), then per-CPU
 * stack set-up, BSS clearing and the jump into C.
 *
 * Only the boot CPU enters here today: QEMU's PSCI keeps the others powered
 * off until a CPU_ON, which the core intercepts (secondary start-up arrives
 * with the SMP issue).
 */
#include "asm.h"

	.section .head.text, "ax"
	.globl _head
_head:
	b	primary_entry		// code0: branch to the real entry
	.long	0			// code1
	.quad	0			// text_offset: load at a 2 MiB boundary + 0
	.quad	__image_size		// image_size: image + BSS + stacks
	.quad	0xa			// flags: little-endian, 4 KiB pages, anywhere in RAM
	.quad	0, 0, 0			// res2..res4
	.ascii	"ARM\x64"		// magic
	.long	0			// res5

primary_entry:
	mov	x19, x0			// DTB physical address
	msr	daifset, #0xf
	/* Known EL2 state before any C: MMU off, caches off, little-endian. */
	ldr	x1, =SCTLR_EL2_RES1_ASM
	msr	sctlr_el2, x1
	isb
	adr_l	x1, __vectors
	msr	vbar_el2, x1
	adr_l	x1, percpu_data		// CPU 0's per-CPU data (index 0, zeroed with BSS)
	msr	tpidr_el2, x1
	/* Stack of CPU 0: top of its slot, above its guard page. */
	adr_l	x1, __stacks_start
	add	x1, x1, #(GUARD_SIZE + STACK_SIZE)
	mov	sp, x1
	/* Clear BSS (aligned to 16 bytes by the linker script). */
	adr_l	x1, __bss_start
	adr_l	x2, __bss_end
1:	cmp	x1, x2
	b.hs	2f
	stp	xzr, xzr, [x1], #16
	b	1b
2:	mov	x0, x19
	bl	boot_main
	/* boot_main never returns; park if it does. */
3:	wfe
	b	3b
