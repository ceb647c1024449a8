/*
 * Structure offsets for assembly, generated at build time (see the Makefile
 * rule for asm-offsets.h) so that the .S files never hard-code a layout.
 */
#include <stddef.h>

#include "percpu.h"
#include "regs.h"

#define DEFINE(sym, val) __asm__ volatile("\n.ascii \"@@OFFSET " #sym " %0\"" : : "i"(val))

void asm_offsets(void);
void asm_offsets(void)
{
	DEFINE(REGS_SIZE, sizeof(struct cpu_regs));
	DEFINE(REGS_X30, offsetof(struct cpu_regs, x[30]));
	DEFINE(REGS_ELR, offsetof(struct cpu_regs, elr));
	DEFINE(PCPU_GUEST_REGS, offsetof(struct percpu, guest_regs));
	DEFINE(PCPU_HOST_CALLEE, offsetof(struct percpu, host_callee));
	DEFINE(FP_FPSR, offsetof(struct fpsimd_state, fpsr));
	DEFINE(FP_FPCR, offsetof(struct fpsimd_state, fpcr));
}
