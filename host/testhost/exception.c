/*
 * Test host: the exception handler behind vectors.S and the EL0 probes.
 *
 * Three kinds of exception are expected: a fault while a probe is armed
 * (recorded in last_fault, then resumed at the probe's landing point), the
 * EL0 trampoline's SVC (resumed at el0_resume at EL1h), and nothing else.
 * Anything else is a test-host bug or a core misbehaving, so it is reported
 * with the full syndrome and the machine is powered off.
 */
#include <stddef.h>

#include "probe.h"
#include "sysreg.h"
#include "testhost.h"

#define EL0_STACK_SIZE 4096

_Static_assert(offsetof(struct probe_ctx, armed) == PROBE_CTX_ARMED, "probe.h");
_Static_assert(offsetof(struct probe_ctx, recover_pc) == PROBE_CTX_PC, "probe.h");
_Static_assert(offsetof(struct probe_ctx, recover_sp) == PROBE_CTX_SP, "probe.h");

struct probe_ctx probe_ctx;
struct fault_record last_fault;

static u8 el0_stack[EL0_STACK_SIZE] __attribute__((aligned(16)));

static bool is_sync(u64 vector)
{
	/* 0x000, 0x200, 0x400: synchronous, from AArch64 */
	return (vector & 0x180) == 0 && vector < 0x600;
}

static bool is_el0_return(u64 vector, u64 esr)
{
	return vector == VEC_LOWER_A64_SYNC && ESR_EC(esr) == EC_SVC64 && (esr & 0xffff) == EL0_RETURN_SVC;
}

static void record_fault(const struct el1_frame *f, u64 vector, u64 esr)
{
	last_fault.esr = esr;
	last_fault.far = read_sysreg(far_el1);
	last_fault.elr = f->elr;
	last_fault.spsr = f->spsr;
	last_fault.vector = vector;
	last_fault.count++;
}

void testhost_exception(struct el1_frame *f, u64 vector)
{
	u64 esr = read_sysreg(esr_el1);

	if (is_el0_return(vector, esr)) {
		/* x0 already holds the EL0 function's result */
		f->elr = (u64)(uintptr_t)el0_resume;
		f->spsr = SPSR_EL1H_MASKED;
		return;
	}
	if (is_sync(vector) && probe_ctx.armed) {
		record_fault(f, vector, esr);
		probe_ctx.armed = 0;
		f->elr = probe_ctx.recover_pc;
		return;
	}
	panic("vector 0x%03lx ESR=0x%lx FAR=0x%lx ELR=0x%lx SPSR=0x%lx", vector, esr, read_sysreg(far_el1),
	      f->elr, f->spsr);
}

static u64 el0_stack_top(void)
{
	return (u64)(uintptr_t)&el0_stack[EL0_STACK_SIZE];
}

int probe_read64_el0(u64 addr, u64 *val)
{
	return (int)el0_call(probe_read64, addr, (u64)(uintptr_t)val, el0_stack_top());
}

int probe_write64_el0(u64 addr, u64 val)
{
	return (int)el0_call(probe_write64, addr, val, el0_stack_top());
}

int probe_exec_el0(u64 addr)
{
	return (int)el0_call(probe_exec, addr, 0, el0_stack_top());
}
