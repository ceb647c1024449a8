/*
 * Test host: PSCI calls and secondary CPUs.
 *
 * The conduit is whatever the DTB's /psci "method" says: "smc" under moat
 * (QEMU with virtualization=on; the core traps and forwards the SMC), "hvc"
 * when the test host runs standalone at EL1 without EL2.
 *
 * A secondary CPU started with secondary_start() runs secondary_main() on its
 * own stack, checks in (raises "alive" with its MPIDR) and then serves its
 * run queue (smp_post / smp_wait, testhost.h) until a job turns it off.
 */
#include "probe.h"
#include "sysreg.h"
#include "testhost.h"

#define SECONDARY_STACK_SIZE 16384 /* secondaries run VMMs too (smp tests) */

static u8 secondary_stacks[MAX_CPUS][SECONDARY_STACK_SIZE] __attribute__((aligned(16)));
static struct smp_slot slots[MAX_CPUS];
_Static_assert(offsetof(struct smp_slot, stack_top) == SMP_SLOT_STACK_TOP, "asm.h");
_Static_assert(offsetof(struct smp_slot, entry) == SMP_SLOT_ENTRY, "asm.h");

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

long psci_affinity_info(u64 mpidr)
{
	return psci_call(PSCI_AFFINITY_INFO, mpidr, 0, 0);
}

u64 ms_since(u64 t0)
{
	return (read_sysreg(cntvct_el0) - t0) * 1000 / read_sysreg(cntfrq_el0);
}

static void sev(void)
{
	__asm__ volatile("dsb sy; sev" ::: "memory");
}

struct smp_slot *secondary_slot(unsigned int cpu)
{
	return cpu < MAX_CPUS ? &slots[cpu] : NULL;
}

u64 secondary_prepare(unsigned int cpu)
{
	struct smp_slot *s = &slots[cpu];

	*s = (struct smp_slot){ 0 };
	s->stack_top = (u64)(uintptr_t)&secondary_stacks[cpu][SECONDARY_STACK_SIZE];
	__asm__ volatile("dsb sy" ::: "memory");
	return (u64)(uintptr_t)s;
}

long secondary_start(unsigned int cpu)
{
	if (cpu >= plat.info.nr_cpus || cpu >= MAX_CPUS) {
		return -2; /* PSCI INVALID_PARAMETERS */
	}
	return psci_cpu_on(plat.info.cpu_mpidr[cpu], (u64)(uintptr_t)secondary_entry, secondary_prepare(cpu));
}

bool secondary_alive(unsigned int cpu)
{
	return cpu < MAX_CPUS && slots[cpu].alive != 0;
}

bool secondary_wait_alive(unsigned int cpu, unsigned int ms)
{
	u64 t0 = read_sysreg(cntvct_el0);

	while (!secondary_alive(cpu)) {
		if (ms_since(t0) > ms) {
			return false;
		}
		cpu_relax();
	}
	return true;
}

/* Runs on the new CPU: check in, then serve the run queue. */
void secondary_main(struct smp_slot *s)
{
	s->sre = read_sysreg(S3_0_C12_C12_5); /* ICC_SRE_EL1: traps to EL2 (and panics) if the core left it trapped */
	s->cntfrq = read_sysreg(cntfrq_el0);
	s->current_el = read_sysreg(CurrentEL);
	__asm__ volatile("dsb sy" ::: "memory");
	s->alive = read_sysreg(mpidr_el1);
	sev();
	for (;;) {
		u64 job = s->posted;

		if (job == s->done) {
			__asm__ volatile("wfe" ::: "memory");
			continue;
		}
		__asm__ volatile("dsb sy" ::: "memory");
		s->result = s->fn(s->arg);
		__asm__ volatile("dsb sy" ::: "memory");
		s->done = job;
		sev();
	}
}

bool smp_post(unsigned int cpu, smp_fn fn, u64 arg)
{
	struct smp_slot *s = secondary_slot(cpu);

	if (!s || !s->alive || s->posted != s->done) {
		return false;
	}
	s->fn = fn;
	s->arg = arg;
	__asm__ volatile("dsb sy" ::: "memory");
	s->posted = s->done + 1;
	sev();
	return true;
}

bool smp_wait(unsigned int cpu, unsigned int ms, u64 *result)
{
	struct smp_slot *s = secondary_slot(cpu);
	u64 t0 = read_sysreg(cntvct_el0);

	while (s->posted != s->done) {
		if (ms_since(t0) > ms) {
			return false;
		}
		cpu_relax();
	}
	__asm__ volatile("dsb sy" ::: "memory");
	if (result) {
		*result = s->result;
	}
	return true;
}

bool smp_call(unsigned int cpu, smp_fn fn, u64 arg, u64 *result, unsigned int ms)
{
	return smp_post(cpu, fn, arg) && smp_wait(cpu, ms, result);
}

static u64 cpu_off_job(u64 unused)
{
	psci_cpu_off();
}

bool smp_cpu_off(unsigned int cpu, unsigned int ms)
{
	u64 t0 = read_sysreg(cntvct_el0);

	if (!smp_post(cpu, cpu_off_job, 0)) {
		return false;
	}
	while (psci_affinity_info(plat.info.cpu_mpidr[cpu]) != PSCI_AFF_OFF) {
		if (ms_since(t0) > ms) {
			return false;
		}
		cpu_relax();
	}
	slots[cpu].alive = 0;
	return true;
}
