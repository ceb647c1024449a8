/*
 * Structure offsets for assembly, generated at build time (see the Makefile
 * rule for asm-offsets.h) so that the .S files never hard-code a layout.
 */
#include <stddef.h>

#include "percpu.h"
#include "regs.h"

#define DEFINE(sym, val) __asm__ volatile("\n.ascii \"@@OFFSET " #sym " %0\"" : : "i"(val))
/* x<n> in struct cpu_regs (save_gprs/restore_gprs, asm.h): pairs start at even n. */
#define DEFINE_X(n) DEFINE(REGS_X##n, offsetof(struct cpu_regs, x[n]))
/* The host's callee-saved x<n> (19..30) in struct percpu, kept across __guest_enter. */
#define DEFINE_HOST_X(n) DEFINE(PCPU_HOST_X##n, offsetof(struct percpu, host_callee[(n)-19]))
/* q<n> in struct fpsimd_state: 128 bits, low doubleword first. */
#define DEFINE_Q(n) DEFINE(FP_Q##n, offsetof(struct fpsimd_state, v[2 * (n)]))

/* save_gprs/restore_gprs move ELR and SPSR with one STP/LDP. */
_Static_assert(offsetof(struct cpu_regs, spsr) == offsetof(struct cpu_regs, elr) + 8, "ELR, SPSR adjacent");
/* x19..x30, then SP_EL2 (PCPU_HOST_SP). */
_Static_assert(sizeof(((struct percpu *)0)->host_callee) == 13 * sizeof(u64), "host callee-saved slots");

void asm_offsets(void);
void asm_offsets(void)
{
	DEFINE(REGS_SIZE, sizeof(struct cpu_regs));
	DEFINE_X(0);
	DEFINE_X(2);
	DEFINE_X(4);
	DEFINE_X(6);
	DEFINE_X(8);
	DEFINE_X(10);
	DEFINE_X(12);
	DEFINE_X(14);
	DEFINE_X(16);
	DEFINE_X(18);
	DEFINE_X(20);
	DEFINE_X(22);
	DEFINE_X(24);
	DEFINE_X(26);
	DEFINE_X(28);
	DEFINE_X(30);
	DEFINE(REGS_ELR, offsetof(struct cpu_regs, elr));
	DEFINE(PCPU_GUEST_REGS, offsetof(struct percpu, guest_regs));
	DEFINE_HOST_X(19);
	DEFINE_HOST_X(21);
	DEFINE_HOST_X(23);
	DEFINE_HOST_X(25);
	DEFINE_HOST_X(27);
	DEFINE_HOST_X(29);
	DEFINE(PCPU_HOST_SP, offsetof(struct percpu, host_callee[12]));
	DEFINE_Q(0);
	DEFINE_Q(2);
	DEFINE_Q(4);
	DEFINE_Q(6);
	DEFINE_Q(8);
	DEFINE_Q(10);
	DEFINE_Q(12);
	DEFINE_Q(14);
	DEFINE_Q(16);
	DEFINE_Q(18);
	DEFINE_Q(20);
	DEFINE_Q(22);
	DEFINE_Q(24);
	DEFINE_Q(26);
	DEFINE_Q(28);
	DEFINE_Q(30);
	DEFINE(FP_FPSR, offsetof(struct fpsimd_state, fpsr));
	DEFINE(FP_FPCR, offsetof(struct fpsimd_state, fpcr));
}
