/*
 * Physical CPU power state and the system stop protocol (DESIGN §12).
 *
 * Owns: the core's view of every CPU the DTB lists (OFF, ON_PENDING, ON, and
 * the host's entry point and context id for a CPU being started), and the
 * "stopping" flag with one in_guest flag per CPU.
 *
 * Called by psci.c (the host's CPU_ON, CPU_OFF and resets), by the arch
 * secondary start-up (cpu_power_secondary_started), by vcpu_run() around
 * every guest entry and by the arm64 vectors on every trap from the host.
 *
 * Lock: cpu_power_lock guards cpus[] (state, entry, context). It is a leaf:
 * nothing else is taken under it and it is never held across a firmware
 * call. The stop protocol's flags are lock-free atomics (see below).
 *
 * Why the core keeps a power state at all: racing CPU_ONs of one target must
 * give exactly one SUCCESS, and the core must know which host entry point a
 * starting CPU is for -- the firmware only ever sees the core's own entry
 * point and the target's index, never an address or value of the host's.
 * AFFINITY_INFO is forwarded: the firmware's answer is the authoritative one
 * (a CPU the core marked OFF may still be powering down).
 *
 * Stop protocol (host SYSTEM_RESET / SYSTEM_RESET2, before the reset scrub):
 * the scrub zeroes every page the host does not own; a guest still running
 * on another CPU could write a secret back into its page after the scrub,
 * and the host would read it after the reset. So:
 *   1. the resetting CPU sets `stopping` (a CAS: one stopper at a time);
 *   2. every CPU sets in_guest[cpu] before each guest entry and then re-reads
 *      `stopping`; if it is set it clears in_guest and parks (WFE) instead of
 *      entering. Both sides use sequentially consistent accesses (store, then
 *      load the other flag), so either the entering CPU sees `stopping` or the
 *      stopper sees in_guest = 1 -- never neither (store-buffer litmus test);
 *   3. the stopper sends one physical SGI to every other CPU (arch_kick_other_cpus):
 *      a guest runs with HCR_EL2.IMO = 1, so that IRQ exits it to EL2
 *      whatever the guest's PSTATE.I, and the exit clears in_guest after a
 *      DSB (the guest's last stores are visible before the flag);
 *   4. the stopper waits, bounded (STOP_TIMEOUT_MS), for every in_guest flag
 *      to be 0. If one stays set (the host disabled or masked that SGI in its
 *      GIC, say), the reset is refused with DENIED and logged: scrubbing
 *      then would be unsafe.
 * Every trap from the host also parks while `stopping` is set, so no CPU can
 * start a vCPU run or any other host call after step 1. CPUs running the host
 * at EL1 are not stopped: the host stage 2 confines them to host memory,
 * which the scrub does not touch, and pagedb_lock (held by the stopper from
 * the scrub through the firmware call) keeps ownership fixed.
 */
#include "cpu_power.h"

#include "arch.h"
#include "lib.h"
#include "log.h"
#include "pagedb.h"
#include "psci.h"
#include "spinlock.h"

/* PSCI target_cpu: Aff3 in bits 39:32, Aff2..Aff0 in 23:0; every other bit must be zero. */
#define MPIDR_AFF_MASK 0xff00ffffffUL
#define STOP_TIMEOUT_MS 100

static struct cpu_power {
	enum cpu_power_state state;
	u64 mpidr;
	u64 entry, context; /* the host's, for a CPU in ON_PENDING */
} cpus[MAX_CPUS];
static unsigned int nr_cpus;
static struct spinlock cpu_power_lock;

static u32 stopping;
static u32 in_guest[MAX_CPUS];

static struct log_limiter cpu_on_log;

void cpu_power_init(const struct platform_info *plat)
{
	u64 boot = arch_cpu_mpidr() & MPIDR_AFF_MASK;

	memset(cpus, 0, sizeof(cpus)); /* all OFF; boot runs once, unit tests run it per test */
	memset(in_guest, 0, sizeof(in_guest));
	stopping = 0;
	nr_cpus = plat->nr_cpus < MAX_CPUS ? plat->nr_cpus : MAX_CPUS;
	for (unsigned int i = 0; i < nr_cpus; i++) {
		cpus[i].mpidr = plat->cpu_mpidr[i];
	}
	if (nr_cpus == 0 || cpus[0].mpidr != boot) {
		/* Per-CPU data slot 0 is the boot CPU's: a different DTB order would give two CPUs one slot. */
		log_warn("boot CPU MPIDR 0x%lx is not the DTB's first CPU: secondary CPUs will not be started", boot);
		cpus[0].mpidr = boot;
		nr_cpus = 1;
	}
	cpus[0].state = CPU_ON;
}

static int cpu_of_mpidr(u64 mpidr)
{
	if (mpidr & ~MPIDR_AFF_MASK) {
		return -1;
	}
	for (unsigned int i = 0; i < nr_cpus; i++) {
		if (cpus[i].mpidr == mpidr) {
			return (int)i;
		}
	}
	return -1;
}

/* The entry point must be in RAM the host owns now: not the core's, not a VM's, not MMIO. */
static bool host_owns(u64 pa)
{
	const struct page_info *page;
	bool ok;

	spin_lock(&pagedb_lock);
	page = pagedb_lookup(pa);
	ok = page && page->owner == OWNER_HOST;
	spin_unlock(&pagedb_lock);
	return ok;
}

long cpu_power_host_cpu_on(u64 mpidr, u64 entry, u64 context)
{
	int cpu = cpu_of_mpidr(mpidr);
	u64 in[8] = { PSCI_CPU_ON_64 }, out[4];
	long ret;

	if (cpu < 0) {
		log_ratelimited(&cpu_on_log, LOG_INFO, "host CPU_ON refused: MPIDR 0x%lx is not a CPU of the DTB",
				mpidr);
		return PSCI_RET_INVALID_PARAMS;
	}
	if (!host_owns(entry)) {
		log_ratelimited(&cpu_on_log, LOG_INFO,
				"host CPU_ON of CPU %d refused: entry point 0x%lx is not in host-owned RAM", cpu, entry);
		return PSCI_RET_INVALID_ADDRESS;
	}
	spin_lock(&cpu_power_lock);
	if (cpus[cpu].state != CPU_OFF) {
		ret = cpus[cpu].state == CPU_ON ? PSCI_RET_ALREADY_ON : PSCI_RET_ON_PENDING;
		spin_unlock(&cpu_power_lock);
		return ret;
	}
	cpus[cpu].state = CPU_ON_PENDING;
	cpus[cpu].entry = entry;
	cpus[cpu].context = context;
	spin_unlock(&cpu_power_lock);

	/* The core's entry, MMU off, and the target's index: nothing of the host's reaches EL2 code. */
	in[1] = cpus[cpu].mpidr;
	in[2] = arch_secondary_entry_pa();
	in[3] = (u64)cpu;
	arch_firmware_smc(in, out);
	ret = (long)out[0];
	if (ret != PSCI_RET_SUCCESS) {
		/* The target did not start (or is still powering down from a CPU_OFF): it is off for us. */
		spin_lock(&cpu_power_lock);
		if (cpus[cpu].state == CPU_ON_PENDING) {
			cpus[cpu].state = CPU_OFF;
		}
		spin_unlock(&cpu_power_lock);
		log_ratelimited(&cpu_on_log, LOG_INFO, "host CPU_ON of CPU %d: firmware answered %ld", cpu, ret);
	}
	return ret;
}

bool cpu_power_secondary_started(unsigned int cpu, u64 *entry, u64 *context)
{
	bool ok;

	if (cpu >= nr_cpus) {
		return false;
	}
	spin_lock(&cpu_power_lock);
	ok = cpus[cpu].state == CPU_ON_PENDING;
	if (ok) {
		cpus[cpu].state = CPU_ON;
		*entry = cpus[cpu].entry;
		*context = cpus[cpu].context;
	}
	spin_unlock(&cpu_power_lock);
	if (ok) {
		log_info("CPU %u (MPIDR 0x%lx) up: entering the host at 0x%lx", cpu, cpus[cpu].mpidr, *entry);
	}
	return ok;
}

static void set_state(unsigned int cpu, enum cpu_power_state state)
{
	spin_lock(&cpu_power_lock);
	cpus[cpu].state = state;
	spin_unlock(&cpu_power_lock);
}

void cpu_power_off_begin(void)
{
	set_state(arch_cpu_index(), CPU_OFF);
}

void cpu_power_off_failed(void)
{
	set_state(arch_cpu_index(), CPU_ON);
}

enum cpu_power_state cpu_power_state_of(unsigned int cpu)
{
	enum cpu_power_state s;

	if (cpu >= MAX_CPUS) {
		return CPU_OFF;
	}
	spin_lock(&cpu_power_lock);
	s = cpus[cpu].state;
	spin_unlock(&cpu_power_lock);
	return s;
}

/* ---- stop protocol --------------------------------------------------------------------- */

static bool is_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_SEQ_CST) != 0;
}

static void park_while_stopping(void)
{
	while (is_stopping()) {
		arch_wfe(); /* cpu_power_resume_others() sends the event */
	}
}

void cpu_power_guest_enter(void)
{
	unsigned int cpu = arch_cpu_index();

	for (;;) {
		__atomic_store_n(&in_guest[cpu], 1, __ATOMIC_SEQ_CST);
		if (!is_stopping()) {
			return;
		}
		__atomic_store_n(&in_guest[cpu], 0, __ATOMIC_SEQ_CST);
		park_while_stopping();
	}
}

void cpu_power_guest_exit(void)
{
	/* The guest's last stores must be visible before the stopper may scrub its pages. */
	arch_dsb_ish();
	__atomic_store_n(&in_guest[arch_cpu_index()], 0, __ATOMIC_SEQ_CST);
}

void cpu_power_host_trap(void)
{
	if (is_stopping()) {
		park_while_stopping();
	}
}

static bool others_out_of_guests(unsigned int self, unsigned int *late)
{
	for (unsigned int i = 0; i < MAX_CPUS; i++) {
		if (i != self && __atomic_load_n(&in_guest[i], __ATOMIC_SEQ_CST)) {
			*late = i;
			return false;
		}
	}
	return true;
}

bool cpu_power_stop_others(void)
{
	unsigned int self = arch_cpu_index(), late = 0;
	u32 expected = 0;
	u64 start, deadline;

	if (!__atomic_compare_exchange_n(&stopping, &expected, 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		/* Another CPU is resetting: wait for it; if it gives up, so does this reset. */
		park_while_stopping();
		return false;
	}
	if (others_out_of_guests(self, &late)) {
		return true;
	}
	arch_kick_other_cpus();
	start = arch_counter();
	deadline = start + arch_counter_freq() / 1000 * STOP_TIMEOUT_MS;
	while (!others_out_of_guests(self, &late)) {
		if (arch_counter() > deadline) {
			log_warn("reset refused: CPU %u did not leave its guest within %u ms of the stop SGI", late,
				 STOP_TIMEOUT_MS);
			cpu_power_resume_others();
			return false;
		}
	}
	/* Once per reset, and tests assert it: the stop SGI took every other CPU out of its guest. */
	log_info("reset: stop SGI sent; no CPU in a guest after %lu us",
		 (arch_counter() - start) * 1000000 / arch_counter_freq());
	return true;
}

void cpu_power_resume_others(void)
{
	__atomic_store_n(&stopping, 0, __ATOMIC_SEQ_CST);
	arch_sev();
}
