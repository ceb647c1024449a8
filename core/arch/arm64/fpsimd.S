/*
 * FP/SIMD register file save and restore, for the lazy switch: the core's C
 * code is built with -mgeneral-regs-only and never touches these registers,
 * so they change hands only here.
 *
 * void __fpsimd_save(struct fpsimd_state *s)
 * void __fpsimd_restore(const struct fpsimd_state *s)
 */
#include "asm.h"

	.arch	armv8-a+fp+simd
	.text
	.globl	__fpsimd_save
__fpsimd_save:
	stp	q0, q1, [x0, #FP_Q0]
	stp	q2, q3, [x0, #FP_Q2]
	stp	q4, q5, [x0, #FP_Q4]
	stp	q6, q7, [x0, #FP_Q6]
	stp	q8, q9, [x0, #FP_Q8]
	stp	q10, q11, [x0, #FP_Q10]
	stp	q12, q13, [x0, #FP_Q12]
	stp	q14, q15, [x0, #FP_Q14]
	stp	q16, q17, [x0, #FP_Q16]
	stp	q18, q19, [x0, #FP_Q18]
	stp	q20, q21, [x0, #FP_Q20]
	stp	q22, q23, [x0, #FP_Q22]
	stp	q24, q25, [x0, #FP_Q24]
	stp	q26, q27, [x0, #FP_Q26]
	stp	q28, q29, [x0, #FP_Q28]
	stp	q30, q31, [x0, #FP_Q30]
	mrs	x1, fpsr
	str	x1, [x0, #FP_FPSR]
	mrs	x1, fpcr
	str	x1, [x0, #FP_FPCR]
	ret

	.globl	__fpsimd_restore
__fpsimd_restore:
	ldp	q0, q1, [x0, #FP_Q0]
	ldp	q2, q3, [x0, #FP_Q2]
	ldp	q4, q5, [x0, #FP_Q4]
	ldp	q6, q7, [x0, #FP_Q6]
	ldp	q8, q9, [x0, #FP_Q8]
	ldp	q10, q11, [x0, #FP_Q10]
	ldp	q12, q13, [x0, #FP_Q12]
	ldp	q14, q15, [x0, #FP_Q14]
	ldp	q16, q17, [x0, #FP_Q16]
	ldp	q18, q19, [x0, #FP_Q18]
	ldp	q20, q21, [x0, #FP_Q20]
	ldp	q22, q23, [x0, #FP_Q22]
	ldp	q24, q25, [x0, #FP_Q24]
	ldp	q26, q27, [x0, #FP_Q26]
	ldp	q28, q29, [x0, #FP_Q28]
	ldp	q30, q31, [x0, #FP_Q30]
	ldr	x1, [x0, #FP_FPSR]
	msr	fpsr, x1
	ldr	x1, [x0, #FP_FPCR]
	msr	fpcr, x1
	ret
