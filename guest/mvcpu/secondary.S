/*
 * Where vCPUs 1..3 start (PSCI CPU_ON's entry point): x0 is the context ID,
 * which guest/mvcpu makes the top of the vCPU's own stack. The core enters at
 * EL1h, DAIF masked, MMU off; VBAR_EL1 and CPACR_EL1 are this vCPU's own
 * registers, so they are set here as start.S sets vCPU 0's. x1 carries the
 * counter read by the first instruction to secondary_main.
 */
	.section .text, "ax"
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
