/*
 * The EL2 exception-fixup table (DESIGN §0: the core never touches a device
 * on the host's behalf in a way that can fault at EL2).
 *
 * Every load or store the core makes to a device on the host's behalf is one
 * instruction in core/arch/arm64/device.c that carries an entry here: the
 * instruction's address and where to resume if it takes a synchronous
 * external abort. exception.c consults the table for an abort taken at EL2
 * before it would treat the exception as a core bug. The linker gathers the
 * entries between __exfixup_start and __exfixup_end, inside .rodata (read-only
 * at EL2, so nothing can add an entry at run time).
 */
#ifndef MOAT_ARM64_EXFIXUP_H
#define MOAT_ARM64_EXFIXUP_H

#include "regs.h"
#include "types.h"

struct exfixup {
	u64 insn;  /* address of the device access */
	u64 fixup; /* where it resumes after an external abort */
};

/*
 * For inline assembly: record that the instruction at local label insn
 * resumes at local label fixup. Absolute addresses suffice: the core runs
 * identity-mapped at its link address.
 */
#define EXFIXUP_ENTRY(insn, fixup)                                                                           \
	"	.pushsection .exfixup, \"a\"\n"                                                              \
	"	.balign	8\n"                                                                                 \
	"	.quad	" #insn ", " #fixup "\n"                                                             \
	"	.popsection\n"

/* If regs->elr is a device access in the table, point it at its fixup and return true. */
bool exfixup_apply(struct cpu_regs *regs);

#endif
