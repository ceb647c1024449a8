/* Assembler helpers and constants shared by the arm64 .S files. */
#ifndef MOAT_ARM64_ASM_H
#define MOAT_ARM64_ASM_H

#include "asm-offsets.h"
#include "stack.h"

#define SCTLR_EL2_RES1_ASM 0x30c50830

/* PC-relative address of a symbol anywhere within +-4 GiB. */
.macro adr_l, reg, sym
	adrp	\reg, \sym
	add	\reg, \reg, :lo12:\sym
.endm

#endif
