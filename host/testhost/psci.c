/*
 * Test host: PSCI calls and secondary CPUs.
 *
 * The conduit is whatever the DTB's /psci "method" says: "smc" under moat
 * (QEMU with virtualization=on; the core traps and forwards the SMC), "hvc"
 * when the test host runs standalone at EL1 without EL2.
 *
 * A secondary CPU started with secondary_start() runs secondary_main() on its
 * own stack, raises its "alive" flag and turns itself off again.
 */
#include "probe.h"
#include "sysreg.h"
#include "testhost.h"

#define SECONDARY_STACK_SIZE 4096

static u8 secondary_stacks[MAX_CPUS][SECONDARY_STACK_SIZE] __attribute__((aligned(16)));
static volatile u64 alive_mpidr[MAX_CPUS];

long psci_call(u64 fid, u64 a1, u64 a2, u64 a3)
{
	register u64 x0 __asm__("x0") = fid;
	register u64 x1 __asm__("x1") = a1;
	register u64 x2 __asm__("x2") = a2;
	register u64 x3 __asm__("x3") = a3;

	/* SMCCC 1.0 lets the callee clobber x4..x17 */
	if (plat.info.psci == PSCI_CONDUIT_HVC) {
		__asm__ volatile("hvc #0"
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
				 :
				 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
				   "x15", "x16", "x17", "memory");
	} else {
		__asm__ volatile("smc #0"
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
				 :
				 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
				   "x15", "x16", "x17", "memory");
	}
	return (long)x0;
}

long psci_version(void)
{
	return psci_call(PSCI_VERSION, 0, 0, 0);
}

long psci_cpu_on(u64 mpidr, u64 entry, u64 ctx)
{
	return psci_call(PSCI_CPU_ON, mpidr, entry, ctx);
}

void psci_cpu_off(void)
{
	for (;;) {
		psci_call(PSCI_CPU_OFF, 0, 0, 0);
	}
}

void psci_system_off(void)
{
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	/* Only reached if the call was refused: stop here rather than run on. */
	for (;;) {
		__asm__ volatile("wfi");
	}
}

long secondary_start(unsigned int cpu)
{
	u64 stack_top;

	if (cpu >= plat.info.nr_cpus || cpu >= MAX_CPUS) {
		return -2; /* PSCI INVALID_PARAMETERS */
	}
	alive_mpidr[cpu] = 0;
	stack_top = (u64)(uintptr_t)&secondary_stacks[cpu][SECONDARY_STACK_SIZE];
	return psci_cpu_on(plat.info.cpu_mpidr[cpu], (u64)(uintptr_t)secondary_entry, stack_top);
}

bool secondary_alive(unsigned int cpu)
{
	return cpu < MAX_CPUS && alive_mpidr[cpu] != 0;
}

/* Runs on the new CPU. MPIDR bit 31 is RES1, so a raised flag is never 0. */
void secondary_main(void)
{
	u64 mpidr = read_sysreg(mpidr_el1);

	for (unsigned int i = 0; i < plat.info.nr_cpus && i < MAX_CPUS; i++) {
		if (plat.info.cpu_mpidr[i] == (mpidr & MPIDR_AFF_MASK)) {
			alive_mpidr[i] = mpidr;
		}
	}
	psci_cpu_off();
}
