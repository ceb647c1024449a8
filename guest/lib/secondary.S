/*
 * Where a secondary vCPU starts (the entry point a guest passes to PSCI
 * CPU_ON): x0 is the context ID, which the guests make the top of the vCPU's
 * own stack. The core enters at EL1h, DAIF masked, MMU off; VBAR_EL1 and
 * CPACR_EL1 are this vCPU's own registers, so they are set here as start.S
 * sets vCPU 0's. Calls secondary_main(context, first), first being CNTVCT at
 * the first instruction (for the CPU_ON bench). Guests that start no vCPU
 * define no secondary_main: the reference is weak.
 */
	.section .text, "ax"
	.weak	secondary_main
	.globl	secondary_entry
	.type	secondary_entry, %function
secondary_entry:
	mrs	x1, cntvct_el0		/* the first instruction's time, for the CPU_ON bench */
	msr	spsel, #1
	mov	sp, x0
	mov	x2, #(3 << 20)		/* CPACR_EL1.FPEN: as start.S */
	msr	cpacr_el1, x2
	adrp	x2, vectors
	add	x2, x2, :lo12:vectors
	msr	vbar_el1, x2
	isb
	mov	x29, xzr
	mov	x30, xzr
	bl	secondary_main
1:	wfi
	b	1b
	.size	secondary_entry, . - secondary_entry
