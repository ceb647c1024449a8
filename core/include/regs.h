/*
 * The register frame the EL2 vectors save on entry and restore on exit: the
 * interrupted context's general-purpose registers plus ELR_EL2/SPSR_EL2.
 * A handler that changes the frame changes what the interrupted side sees
 * after ERET; everything it does not change is restored exactly, which is how
 * host calls keep x4..x30 intact. Offsets for assembly come from
 * core/arch/arm64/asm-offsets.c.
 */
#ifndef MOAT_REGS_H
#define MOAT_REGS_H

#include "types.h"

struct cpu_regs {
	u64 x[31];
	u64 elr;  /* where the interrupted context resumes */
	u64 spsr; /* its PSTATE */
	u64 pad;  /* keeps the frame a multiple of 16 bytes (SP alignment) */
};

_Static_assert(sizeof(struct cpu_regs) % 16 == 0, "EL2 stack frames must keep SP 16-byte aligned");

#endif
