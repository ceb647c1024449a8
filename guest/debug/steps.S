/*
 * The instructions guest/debug aims its breakpoint, watchpoint and software
 * step at: each address is a label, so the test knows exactly where the debug
 * exception must be taken.
 */
	.text

/* u64 dbg_bp_target(void): 1 if dbg_bp_insn ran; 0 if a breakpoint on it was taken and it was skipped. */
	.globl	dbg_bp_target, dbg_bp_insn
dbg_bp_target:
	mov	x0, #0
dbg_bp_insn:
	add	x0, x0, #1
	ret

/* void dbg_wp_store(u64 *p, u64 v): one 8-byte store, at dbg_wp_insn. */
	.globl	dbg_wp_store, dbg_wp_insn
dbg_wp_store:
dbg_wp_insn:
	str	x1, [x0]
	ret

/*
 * u64 dbg_step(u64 spsr): ERET at EL1 to the next three instructions with
 * SPSR_EL1 = spsr (PSTATE.SS set: step the first one), then return how many of
 * them ran (3). With MDSCR_EL1.SS and KDE set and PSTATE.D clear, a software
 * step exception (EC 0x33) is taken after the first: ELR_EL1 = dbg_step_after
 * and x0 = 1 there.
 */
	.globl	dbg_step, dbg_step_after
dbg_step:
	adr	x1, 1f
	msr	elr_el1, x1
	msr	spsr_el1, x0
	mov	x0, #0
	isb
	eret
1:	add	x0, x0, #1
dbg_step_after:
	add	x0, x0, #1
	add	x0, x0, #1
	ret

/*
 * u64 dbg_step_trapped(u64 spsr): as dbg_step, but the stepped instruction is
 * an MRS of an ID register, which traps to EL2 (HCR_EL2.TID3) and is completed
 * by the core: the step exception must still come after exactly that one
 * instruction (ELR_EL1 = dbg_step_trapped_after, x0 = 0 there), which needs
 * the core to clear SPSR_EL2.SS as it skips the instruction.
 */
	.globl	dbg_step_trapped, dbg_step_trapped_after
dbg_step_trapped:
	adr	x1, 1f
	msr	elr_el1, x1
	msr	spsr_el1, x0
	mov	x0, #0
	isb
	eret
1:	mrs	x1, id_aa64dfr0_el1
dbg_step_trapped_after:
	add	x0, x0, #1
	add	x0, x0, #1
	ret
