/*
 * Entry of the core at EL2: the arm64 Linux Image header (so QEMU -kernel and
 * U-Boot booti treat us as a kernel and pass the DTB in x0), then per-CPU
 * stack set-up, BSS clearing and the jump into C.
 *
 * The boot CPU enters at primary_entry. Secondary CPUs enter at
 * secondary_entry, where the firmware starts them for a host CPU_ON that the
 * core vetted (core/cpu_power.c): MMU off, x0 = the CPU's index, which the
 * core chose itself.
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
	/*
	 * res2: bytes of the image the core measures at boot (text + rodata, from
	 * _head; docs/attestation.md), so that tools/moat-provision recomputes the
	 * core measurement from moat.bin alone. Loaders ignore res2..res4.
	 */
	.quad	__rodata_end - _head	// res2
	.quad	0, 0			// res3, res4
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

/*
 * Secondary CPU (x0 = its index). Nothing here may touch memory through the
 * data cache before the MMU is on: the boot CPU's caches are on, so plain
 * loads with the MMU off read memory -- only el2_mmu_boot, written with caches
 * off and cleaned to PoC (mmu.c), is read before SCTLR_EL2.M is set.
 */
	.text
	.globl	secondary_entry
secondary_entry:
	msr	daifset, #0xf
	ldr	x1, =SCTLR_EL2_RES1_ASM
	msr	sctlr_el2, x1
	isb
	cmp	x0, #MAX_CPUS		// the firmware passes back what the core gave it; be sure anyway
	b.hs	5f
	mov	x19, x0
	adr_l	x1, __vectors
	msr	vbar_el2, x1
	/* The boot CPU's EL2 translation: MAIR, TCR, TTBR0, then SCTLR (struct el2_mmu_regs). */
	adr_l	x1, el2_mmu_boot
	ldp	x2, x3, [x1]
	msr	mair_el2, x2
	msr	tcr_el2, x3
	ldp	x2, x3, [x1, #16]
	msr	ttbr0_el2, x2
	isb
	tlbi	alle2			// nothing cached from before the tables existed
	dsb	nsh
	isb
	msr	sctlr_el2, x3
	isb
	/* Stack of CPU x19: top of its slot, above its guard page (the layout primary_entry uses). */
	adr_l	x1, __stacks_start
	ldr	x2, =(GUARD_SIZE + STACK_SIZE)
	madd	x1, x19, x2, x1
	add	x1, x1, x2
	mov	sp, x1
	mov	x29, #0
	mov	x0, x19
	bl	secondary_main
5:	wfe
	b	5b
