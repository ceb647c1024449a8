/*
 * Test host: fault probes and EL0 calls.
 *
 * A probe performs one access that may fault. The probe arms a recovery
 * context (pc and sp of a landing point inside the probe) before the access;
 * when the access faults, the synchronous exception handler records the
 * syndrome in last_fault, disarms the context and returns to the landing
 * point, which makes the probe return 1. The same code works for data aborts
 * (ELR = the load/store) and instruction aborts (ELR = the bad address, so
 * "ELR + 4" would be useless), and it works unchanged at EL0.
 *
 * Shared between C and assembly: the offsets below are checked against the
 * C structures with static asserts in probe.c.
 */
#ifndef TESTHOST_PROBE_H
#define TESTHOST_PROBE_H

/* struct probe_ctx offsets */
#define PROBE_CTX_ARMED 0
#define PROBE_CTX_PC 8
#define PROBE_CTX_SP 16

/* SVC immediate the EL0 trampoline uses to hand control back to EL1 */
#define EL0_RETURN_SVC 0x7e0

#define SPSR_EL0T_MASKED 0x3c0 /* EL0t, D A I F masked */
#define SPSR_EL1H_MASKED 0x3c5 /* EL1h, D A I F masked */

#ifndef __ASSEMBLY__

#include "el1_frame.h"
#include "types.h"

/* Written by a probe (possibly at EL0), cleared by the exception handler. */
struct probe_ctx {
	u64 armed;
	u64 recover_pc;
	u64 recover_sp;
};

/* The syndrome of the last fault a probe caught. Valid when a probe returned 1. */
struct fault_record {
	u64 esr;
	u64 far;
	u64 elr;
	u64 spsr;
	u64 vector; /* offset of the vector entry taken: 0x200 = current EL, SP_ELx; 0x400 = EL0 */
	unsigned long count; /* faults caught since boot */
};

extern struct probe_ctx probe_ctx;
extern struct fault_record last_fault;

/* Assembly probes (probe.S). Each returns 0, or 1 when the access faulted. */
int probe_read64(u64 addr, u64 *val);
int probe_write64(u64 addr, u64 val);
int probe_exec(u64 addr); /* blr addr; a target that returns gives 0 */

/* The instructions that do the access, for checking ELR_EL1. */
extern const char probe_read64_insn[];
extern const char probe_write64_insn[];

/* A function that only returns: a harmless target for probe_exec. */
void probe_target_ret(void);

/* The same probes run at EL0 (eret with SPSR_EL1 = EL0t, SP_EL0 on a private stack). */
int probe_read64_el0(u64 addr, u64 *val);
int probe_write64_el0(u64 addr, u64 val);
int probe_exec_el0(u64 addr);

/*
 * Run fn(a0, a1) at EL0 on the given stack and return its result. fn returns
 * through a trampoline that issues SVC #EL0_RETURN_SVC.
 */
u64 el0_call(void *fn, u64 a0, u64 a1, u64 stack_top);

/* Called from vectors.S for every exception; may rewrite the frame. */
void testhost_exception(struct el1_frame *frame, u64 vector);
/* Landing point in EL1 after the EL0 trampoline's SVC. */
extern const char el0_resume[];

#endif /* __ASSEMBLY__ */
#endif
