/*
 * Test host entry: the arm64 Linux Image header, the boot CPU's start-up and
 * the entry point for secondary CPUs started with PSCI CPU_ON.
 *
 * Entered at EL1h with the MMU and caches off, DAIF masked and x0 = the DTB
 * (Documentation/arch/arm64/booting.rst). The MMU stays off for the whole
 * run, so every data access is Device-nGnRnE: C code is built with
 * -mstrict-align and this file only uses aligned accesses.
 */
#include "asm.h"
#include "probe.h"

/*
 * SCTLR_EL1 for an MMU-off kernel: the Armv8.0 RES1 bits only (11, 20, 22,
 * 23, 28, 29); M, C, I, A = 0, little-endian at EL1 and EL0. Written
 * explicitly because whoever entered us may have left anything there.
 */
#define SCTLR_EL1_MMU_OFF 0x30d00800

/*
 * The state a CPU was entered in (x0..x3, DAIF, SCTLR_EL1, SPSel, CurrentEL) into the record at
 * x9, for check_boot_entry(): the boot CPU's and every secondary's. Clobbers x4, x5.
 */
.macro record_entry_state
	stp	x0, x1, [x9, #BOOT_ENTRY_X0]
	stp	x2, x3, [x9, #BOOT_ENTRY_X2]
	mrs	x4, daif
	mrs	x5, sctlr_el1
	stp	x4, x5, [x9, #BOOT_ENTRY_DAIF]
	mrs	x4, spsel
	mrs	x5, CurrentEL
	stp	x4, x5, [x9, #BOOT_ENTRY_SPSEL]
.endm

	.section .head, "ax"
	.globl	_start
_start:
	b	primary_entry		/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	__image_size		/* image_size: image, BSS and stacks */
	.quad	0xa			/* flags: LE, 4 KiB pages, anywhere in RAM */
	.quad	0			/* res2 */
	.quad	0			/* res3 */
	.quad	0			/* res4 */
	.ascii	"ARM\x64"		/* magic */
	.long	0			/* res5 */

	.text
primary_entry:
	/* Record the state we were entered in for the boot_protocol test (.data, not BSS). */
	adrp	x9, boot_entry
	add	x9, x9, :lo12:boot_entry
	record_entry_state
	msr	daifset, #0xf
	mov	x19, x0			/* DTB address, kept across the BSS loop */
	bl	cpu_setup
	adrp	x1, __bss_start
	add	x1, x1, :lo12:__bss_start
	adrp	x2, __bss_end
	add	x2, x2, :lo12:__bss_end
1:	cmp	x1, x2
	b.hs	2f
	stp	xzr, xzr, [x1], #16
	b	1b
2:	adrp	x1, boot_stack_top
	add	x1, x1, :lo12:boot_stack_top
	mov	sp, x1
	mov	x0, x19
	bl	testhost_main
3:	wfi
	b	3b

/*
 * Secondary CPUs: x0 = the context given to CPU_ON, our struct smp_slot
 * (psci.c). Record the entry state in it first, as primary_entry does.
 */
	.globl	secondary_entry
	.type	secondary_entry, %function
secondary_entry:
	add	x9, x0, #SMP_SLOT_ENTRY
	record_entry_state
	msr	daifset, #0xf
	mov	x19, x0
	bl	cpu_setup
	ldr	x1, [x19, #SMP_SLOT_STACK_TOP]
	mov	sp, x1
	mov	x0, x19
	bl	secondary_main
4:	wfi
	b	4b
	.size	secondary_entry, . - secondary_entry

/* Per-CPU EL1 state: SCTLR_EL1, SP_ELx selected, our vectors. Leaf, uses x0 only. */
cpu_setup:
	ldr	x0, =SCTLR_EL1_MMU_OFF
	msr	sctlr_el1, x0
	msr	spsel, #1
	adrp	x0, vectors
	add	x0, x0, :lo12:vectors
	msr	vbar_el1, x0
	isb
	ret

	.data
	.balign	8
	.globl	boot_entry
boot_entry:				/* struct boot_entry_state (testhost.h) */
	.space	64

	.section .bss.stacks, "aw", %nobits
	.balign	16
boot_stack:
	.space	16384
	.globl	boot_stack_top
boot_stack_top:
