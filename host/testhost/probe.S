/*
 * Test host: access probes and the EL0 call gate (see probe.h).
 *
 * Each probe stores its landing point and stack pointer in probe_ctx, sets
 * probe_ctx.armed, performs the access, and disarms. On a fault the handler
 * disarms and returns to the landing point with the registers as they were
 * at the fault, so the landing code only has to undo what the probe itself
 * pushed. Nothing here is privileged, so the probes also run at EL0.
 */
#include "asm.h"
#include "probe.h"

	.text

/* Arm probe_ctx with landing point \label and the current sp. Clobbers x9, x10. */
.macro	probe_arm label
	adrp	x9, probe_ctx
	add	x9, x9, :lo12:probe_ctx
	adr	x10, \label
	str	x10, [x9, #PROBE_CTX_PC]
	mov	x10, sp
	str	x10, [x9, #PROBE_CTX_SP]
	mov	x10, #1
	str	x10, [x9, #PROBE_CTX_ARMED]
.endm

.macro	probe_disarm
	adrp	x9, probe_ctx
	str	xzr, [x9, :lo12:probe_ctx]
.endm

/* int probe_read64(u64 addr, u64 *val) */
	.globl	probe_read64
	.type	probe_read64, %function
probe_read64:
	probe_arm 1f
	.globl	probe_read64_insn
probe_read64_insn:
	ldr	x2, [x0]
	probe_disarm
	str	x2, [x1]
	mov	x0, #0
	ret
1:	mov	x0, #1
	ret
	.size	probe_read64, . - probe_read64

/* int probe_write64(u64 addr, u64 val) */
	.globl	probe_write64
	.type	probe_write64, %function
probe_write64:
	probe_arm 1f
	.globl	probe_write64_insn
probe_write64_insn:
	str	x1, [x0]
	probe_disarm
	mov	x0, #0
	ret
1:	mov	x0, #1
	ret
	.size	probe_write64, . - probe_write64

/*
 * int probe_exec(u64 addr)
 *
 * Branches with link to addr. An instruction abort leaves ELR at addr itself,
 * so the landing point restores sp from probe_ctx (the target may have moved
 * it before faulting) and the callee-saved registers from the frame below.
 */
	.globl	probe_exec
	.type	probe_exec, %function
probe_exec:
	push_callee_saved
	probe_arm 1f
	blr	x0
	probe_disarm
	mov	x0, #0
	b	2f
1:	adrp	x9, probe_ctx
	add	x9, x9, :lo12:probe_ctx
	ldr	x10, [x9, #PROBE_CTX_SP]
	mov	sp, x10
	mov	x0, #1
2:	pop_callee_saved
	ret
	.size	probe_exec, . - probe_exec

	.globl	probe_target_ret
	.type	probe_target_ret, %function
probe_target_ret:
	ret
	.size	probe_target_ret, . - probe_target_ret

/*
 * u64 el0_call(void *fn, u64 a0, u64 a1, u64 stack_top)
 *
 * Saves the callee-saved registers on the EL1 stack and erets to fn at EL0t
 * with x30 pointing at el0_trampoline. The trampoline's SVC arrives at the
 * lower-EL vector, where testhost_exception() sends it to el0_resume at EL1h
 * with SP_EL1 back where this function left it and x0 = fn's result.
 */
	.globl	el0_call
	.type	el0_call, %function
el0_call:
	push_callee_saved
	msr	sp_el0, x3
	msr	elr_el1, x0
	mov	x9, #SPSR_EL0T_MASKED
	msr	spsr_el1, x9
	mov	x0, x1
	mov	x1, x2
	adr	x30, el0_trampoline
	eret
	.globl	el0_resume
el0_resume:
	pop_callee_saved
	ret
	.size	el0_call, . - el0_call

/* Runs at EL0: fn returned here with its result in x0. */
el0_trampoline:
	svc	#EL0_RETURN_SVC
	b	.
