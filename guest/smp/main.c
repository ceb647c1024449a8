/*
 * smp: guest PSCI power management across two vCPUs (docs/ABI.md "Guest
 * ABI"), against a VMM that runs one vCPU at a time and switches on WFI:
 *
 *   1. vCPU 0: CPU_ON of vCPU 1 at secondary_entry (context ID = the top of
 *      vCPU 1's stack), the same again while vCPU 1 has not run, and
 *      AFFINITY_INFO of it:
 *        guest: cpu_on -> 0, again -> -5, affinity 2
 *   2. vCPU 0 waits with WFI until vCPU 1 has run (the VMM switches then);
 *      vCPU 1 checks its MPIDR and context ID, asks about vCPU 0, then
 *      turns itself off:
 *        guest: vcpu1 up: mpidr 0x80000001, context ok, cpu_on(0) -> -4, affinity(0) 0
 *   3. vCPU 0, once AFFINITY_INFO says vCPU 1 is off again, tries bad
 *      arguments: a bad MPIDR, a bad entry point, a level-1 AFFINITY_INFO:
 *        guest: vcpu1 off: affinity 1; cpu_on(2) -> -2, entry 0x2 -> -9, level 1 -> -2
 *        guest: smp done
 * SYSTEM_OFF at the end.
 */
#include "guest.h"

#define PSCI_CPU_ON_64 0xc4000003UL
#define PSCI_CPU_OFF 0x84000002UL
#define PSCI_AFFINITY_INFO_64 0xc4000004UL

extern char secondary_entry[];
void secondary_main(uint64_t context, uint64_t first); /* guest/lib/secondary.S calls it */

static uint64_t secondary_stack[512] __attribute__((aligned(16)));
static volatile uint64_t secondary_ran;

static long cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context)
{
	return hvc_call(PSCI_CPU_ON_64, mpidr, entry, context).status;
}

static long affinity(uint64_t mpidr, uint64_t level)
{
	return hvc_call(PSCI_AFFINITY_INFO_64, mpidr, level, 0).status;
}

static uint64_t stack_top(void)
{
	return (uint64_t)&secondary_stack[512];
}

void secondary_main(uint64_t context, uint64_t first)
{
	uint64_t mpidr = read_sysreg(mpidr_el1);
	long on = cpu_on(0, (uint64_t)secondary_entry, 0);

	printf("guest: vcpu1 up: mpidr 0x%lx, context %s, cpu_on(0) -> %ld, affinity(0) %ld\n", mpidr,
	       context == stack_top() ? "ok" : "WRONG", on, affinity(0, 0));
	secondary_ran = 1;
	hvc_call(PSCI_CPU_OFF, 0, 0, 0);
	printf("guest: vcpu1 CPU_OFF returned\n");
}

void guest_main(uint64_t x0)
{
	long a, b, c;

	a = cpu_on(1, (uint64_t)secondary_entry, stack_top());
	b = cpu_on(1, (uint64_t)secondary_entry, stack_top());
	c = affinity(1, 0);
	printf("guest: cpu_on -> %ld, again -> %ld, affinity %ld\n", a, b, c);
	while (!secondary_ran) {
		__asm__ volatile("wfi");
	}
	while ((c = affinity(1, 0)) != 1) {
		__asm__ volatile("wfi");
	}
	printf("guest: vcpu1 off: affinity %ld; cpu_on(2) -> %ld, entry 0x2 -> %ld, level 1 -> %ld\n", c,
	       cpu_on(2, (uint64_t)secondary_entry, 0), cpu_on(1, 2, 0), affinity(1, 1));
	printf("guest: smp done\n");
}
