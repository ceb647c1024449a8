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

/*
 * PSTATE.SS, the software-step state: 1 = the next instruction is to be
 * stepped (active-not-pending); the CPU clears it when it executes one.
 */
#define PSR_SS (1UL << 21)

/*
 * The core completed the trapped (32-bit) instruction for the interrupted
 * context: resume after it, and with SS cleared as the CPU would have, so that
 * a context single-stepping that instruction takes its step exception right
 * after it, not one instruction later. (An HVC needs neither: ELR is already
 * past it, and the CPU has written SPSR.SS.)
 */
static inline void regs_skip_insn(struct cpu_regs *regs)
{
	regs->elr += 4;
	regs->spsr &= ~PSR_SS;
}

#endif
