/* Assembler helpers and constants shared by the arm64 .S files. */
#ifndef MOAT_ARM64_ASM_H
#define MOAT_ARM64_ASM_H

#include "asm-offsets.h"
#include "stack.h"

#define SCTLR_EL2_RES1_ASM 0x30c50830

/*
 * The one register save/restore pair of the core: x0..x30, ELR_EL2 and
 * SPSR_EL2 to and from a struct cpu_regs at \base (offsets from
 * asm-offsets.c). The EL2 vectors save and restore every trap frame with
 * them; __guest_enter loads a guest's registers with restore_gprs.
 *
 * save_gprs stores x0..x30 first, so ELR/SPSR can go through x2/x3: \base
 * must not be x2 or x3. restore_gprs loads ELR/SPSR through x2/x3, then
 * x2..x30, and x0/x1 last: \base must be sp or x0, the only registers that
 * still hold the address until the final load.
 */
.macro save_gprs, base
	.ifc	\base, x2
	.error	"save_gprs: x2 is overwritten before ELR/SPSR are stored"
	.endif
	.ifc	\base, x3
	.error	"save_gprs: x3 is overwritten before ELR/SPSR are stored"
	.endif
	stp	x0, x1, [\base, #REGS_X0]
	stp	x2, x3, [\base, #REGS_X2]
	stp	x4, x5, [\base, #REGS_X4]
	stp	x6, x7, [\base, #REGS_X6]
	stp	x8, x9, [\base, #REGS_X8]
	stp	x10, x11, [\base, #REGS_X10]
	stp	x12, x13, [\base, #REGS_X12]
	stp	x14, x15, [\base, #REGS_X14]
	stp	x16, x17, [\base, #REGS_X16]
	stp	x18, x19, [\base, #REGS_X18]
	stp	x20, x21, [\base, #REGS_X20]
	stp	x22, x23, [\base, #REGS_X22]
	stp	x24, x25, [\base, #REGS_X24]
	stp	x26, x27, [\base, #REGS_X26]
	stp	x28, x29, [\base, #REGS_X28]
	str	x30, [\base, #REGS_X30]
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [\base, #REGS_ELR]	// SPSR follows ELR (asserted in asm-offsets.c)
.endm

.macro restore_gprs, base
	.ifnc	\base, sp
	.ifnc	\base, x0
	.error	"restore_gprs: base must be sp or x0 (loaded last)"
	.endif
	.endif
	ldp	x2, x3, [\base, #REGS_ELR]
	msr	elr_el2, x2
	msr	spsr_el2, x3
	ldp	x2, x3, [\base, #REGS_X2]
	ldp	x4, x5, [\base, #REGS_X4]
	ldp	x6, x7, [\base, #REGS_X6]
	ldp	x8, x9, [\base, #REGS_X8]
	ldp	x10, x11, [\base, #REGS_X10]
	ldp	x12, x13, [\base, #REGS_X12]
	ldp	x14, x15, [\base, #REGS_X14]
	ldp	x16, x17, [\base, #REGS_X16]
	ldp	x18, x19, [\base, #REGS_X18]
	ldp	x20, x21, [\base, #REGS_X20]
	ldp	x22, x23, [\base, #REGS_X22]
	ldp	x24, x25, [\base, #REGS_X24]
	ldp	x26, x27, [\base, #REGS_X26]
	ldp	x28, x29, [\base, #REGS_X28]
	ldr	x30, [\base, #REGS_X30]
	ldp	x0, x1, [\base, #REGS_X0]
.endm

/* PC-relative address of a symbol anywhere within +-4 GiB. */
.macro adr_l, reg, sym
	adrp	\reg, \sym
	add	\reg, \reg, :lo12:\sym
.endm

#endif
