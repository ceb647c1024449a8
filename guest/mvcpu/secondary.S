/*
 * Where vCPUs 1..3 start (PSCI CPU_ON's entry point): x0 is the context ID,
 * which guest/mvcpu makes the top of the vCPU's own stack. The core enters at
 * EL1h, DAIF masked, MMU off; VBAR_EL1 and CPACR_EL1 are this vCPU's own
 * registers, so they are set here as start.S sets vCPU 0's.
 */
	.section .text, "ax"
	.globl	secondary_entry
	.type	secondary_entry, %function
secondary_entry:
	msr	spsel, #1
	mov	sp, x0
	mov	x1, #(3 << 20)		/* CPACR_EL1.FPEN: as start.S */
	msr	cpacr_el1, x1
	adrp	x1, vectors
	add	x1, x1, :lo12:vectors
	msr	vbar_el1, x1
	isb
	mov	x29, xzr
	mov	x30, xzr
	bl	secondary_main
1:	wfi
	b	1b
	.size	secondary_entry, . - secondary_entry
