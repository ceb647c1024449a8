/*
 * Guest synchronous-exception handling: fault probes and the panic path.
 *
 * Tests that expect an abort (an access outside RAM and MMIO, an MMIO access
 * the core refuses to decode) arm a probe first: the handler records
 * ESR_EL1/FAR_EL1/ELR_EL1 and resumes after the faulting instruction. Any
 * other exception is a bug in the guest or the core under test: print one
 * "GUEST-PANIC" line the test harness can match and power off.
 *
 * el0_call() runs a few instructions at EL0: a probe armed around it catches
 * one trapped instruction there (the handler skips it, EL0 goes on), and the
 * EL0 code's closing SVC returns to EL1 right after it.
 *
 * Single vCPU, interrupts masked: the probe state needs no lock.
 */
#include "frame.h"
#include "guest.h"

/* Written from the handler behind the compiler's back, hence volatile. */
static volatile struct {
	bool armed;
	bool taken;
	struct guest_fault fault;
} probe;

void probe_arm(void)
{
	probe.taken = false;
	probe.armed = true;
	__asm__ volatile("" : : : "memory");
}

bool probe_disarm(struct guest_fault *fault)
{
	__asm__ volatile("" : : : "memory");
	probe.armed = false;
	if (!probe.taken) {
		return false;
	}
	fault->esr = probe.fault.esr;
	fault->far = probe.fault.far;
	fault->elr = probe.fault.elr;
	return true;
}

/* A nested exception while panicking (a broken UART, a bad stack) must not recurse. */
static bool panicking;

static __attribute__((noreturn)) void panic_frame(uint64_t elr, uint64_t vector)
{
	if (!panicking) {
		panicking = true;
		printf("GUEST-PANIC ESR=0x%lx FAR=0x%lx ELR=0x%lx VEC=0x%lx\n", read_sysreg(esr_el1),
		       read_sysreg(far_el1), elr, vector);
	}
	psci_system_off();
}

void guest_panic(const char *why)
{
	if (!panicking) {
		panicking = true;
		printf("GUEST-PANIC %s\n", why);
	}
	psci_system_off();
}

void (*guest_irq_handler)(void);
bool (*guest_sync_handler)(struct el1_frame *frame);

void guest_exception(struct el1_frame *frame, uint64_t vector)
{
	if (vector == VEC_CUR_SPX_IRQ && guest_irq_handler) {
		guest_irq_handler();
		return;
	}
	if (vector == VEC_CUR_SPX_SYNC && guest_sync_handler && guest_sync_handler(frame)) {
		return;
	}
	if (vector == VEC_LOW_A64_SYNC && ESR_EC(read_sysreg(esr_el1)) == ESR_EC_SVC64) {
		/* el0_call()'s way back: resume after the SVC, at EL1h with DAIF masked. */
		frame->spsr = SPSR_EL1H_MASKED;
		return;
	}
	if ((vector != VEC_CUR_SPX_SYNC && vector != VEC_LOW_A64_SYNC) || !probe.armed) {
		panic_frame(frame->elr, vector);
	}
	probe.fault.esr = read_sysreg(esr_el1);
	probe.fault.far = read_sysreg(far_el1);
	probe.fault.elr = frame->elr;
	probe.taken = true;
	probe.armed = false;
	/* A64 instructions are 4 bytes: resume after the load or store that faulted. */
	frame->elr += 4;
}
