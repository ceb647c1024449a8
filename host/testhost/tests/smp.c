/*
 * Tests: the host's secondary CPUs under moat (core/cpu_power.c).
 *
 *   smp_boot          every secondary starts with CPU_ON, enters at EL1h with
 *                     booting.rst state (x0 = our context, x1..x3 = 0, DAIF
 *                     masked, MMU and D-cache off), reads its own MPIDR, and
 *                     makes a host call; then CPU_OFF.
 *   smp_cpu_on_refusals  CPU_ON into core memory or outside RAM ->
 *                     INVALID_ADDRESS; an MPIDR the DTB does not list ->
 *                     INVALID_PARAMETERS; a CPU that is on -> ALREADY_ON;
 *                     CPU_OFF then CPU_ON again works.
 *   smp_guest         a protected guest runs on a secondary CPU; afterwards
 *                     that CPU still reads its own MPIDR (VMPIDR_EL2 is per CPU).
 *   smp_vcpu_busy     while a vCPU spins in its guest on CPU 1: VCPU_RUN of it
 *                     from CPU 0 -> BUSY, VM_DESTROY -> BUSY, SYSTEM_RESET ->
 *                     DENIED (the core cannot stop CPU 1: this host never
 *                     enabled the stop SGI in its GIC, so the reset would race).
 *   smp_cpu_on_race   CPU 0 and CPU 1 send CPU_ON for CPU 2 at the same
 *                     moment, several rounds: exactly one SUCCESS each round,
 *                     the other ALREADY_ON or ON_PENDING, and CPU 2 starts once.
 *   smp_destroy_race  CPU 1 runs a guest that exits often while CPU 0 calls
 *                     VM_DESTROY in a loop: every answer is BUSY until one OK,
 *                     the run loop then fails cleanly, no invariant broken.
 * Secondaries never print: CPU 0 reports what they recorded.
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define DAIF_ALL 0x3c0
#define SCTLR_M (1UL << 0)
#define SCTLR_C (1UL << 2)
#define WAIT_MS 3000
#define MIB (1UL << 20)
#define SPIN_ITERATIONS 100000000UL /* the bench guest's spin: seconds under TCG, no exit on the way */

static u64 hvc_version_job(u64 unused)
{
	struct moat_result r = moat_hvc(MOAT_FN_VERSION, 0, 0, 0);

	return r.status ? (u64)r.status : r.r1;
}

static u64 mpidr_job(u64 unused)
{
	return read_sysreg(mpidr_el1);
}

/* Start cpu and check what it recorded at entry and at check-in. */
static bool start_and_check(unsigned int cpu)
{
	u64 mpidr = plat.info.cpu_mpidr[cpu];
	const struct smp_slot *s = secondary_slot(cpu);
	const struct boot_entry_state *e = &s->entry;
	long r = secondary_start(cpu);

	if (!CHECK(r == 0, "CPU_ON(mpidr 0x%lx) -> %ld", mpidr, r) ||
	    !CHECK(secondary_wait_alive(cpu, WAIT_MS), "CPU %u never checked in", cpu)) {
		return false;
	}
	tprintf("smp: CPU %u checked in: MPIDR=0x%lx x0=0x%lx x1=0x%lx x2=0x%lx x3=0x%lx DAIF=0x%lx SCTLR_EL1=0x%lx "
		"SPSel=%lu EL%lu ICC_SRE_EL1=0x%lx\n",
		cpu, s->alive, e->x[0], e->x[1], e->x[2], e->x[3], e->daif, e->sctlr_el1, e->spsel, e->current_el >> 2,
		s->sre);
	CHECK_EQ(s->alive & MPIDR_AFF_MASK, mpidr);
	check_boot_entry(e, (u64)(uintptr_t)s); /* PSCI: x0 = the context id we gave, nothing of the core's */
	CHECK_EQ(s->sre & 1, 1);
	CHECK_EQ(s->cntfrq, read_sysreg(cntfrq_el0));
	return !test_has_failed();
}

static bool need_cpus(unsigned int n)
{
	if (plat.info.nr_cpus < n) {
		tprintf("smp: %u CPU(s), this test needs %u: nothing to do\n", plat.info.nr_cpus, n);
		return false;
	}
	return true;
}

TEST(smp_boot)
{
	unsigned int n = plat.info.nr_cpus;
	u64 v;

	for (unsigned int cpu = 1; cpu < n; cpu++) {
		if (!start_and_check(cpu)) {
			return;
		}
	}
	for (unsigned int cpu = 1; cpu < n; cpu++) {
		if (CHECK(smp_call(cpu, hvc_version_job, 0, &v, WAIT_MS), "CPU %u did not run its job", cpu)) {
			tprintf("smp: CPU %u: MOAT_FN_VERSION -> 0x%lx\n", cpu, v);
			CHECK_EQ(v, ((u64)MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR);
		}
	}
	for (unsigned int cpu = 1; cpu < n; cpu++) {
		CHECK(smp_cpu_off(cpu, WAIT_MS), "CPU %u did not turn off", cpu);
	}
	tprintf("smp: %u CPU(s) started, checked in and turned off\n", n);
}

static void refusal(const char *what, u64 mpidr, u64 entry, long expected)
{
	long r = psci_cpu_on(mpidr, entry, 0);

	tprintf("smp: CPU_ON %s (mpidr 0x%lx, entry 0x%lx) -> %ld\n", what, mpidr, entry, r);
	CHECK_EQ(r, expected);
}

TEST(smp_cpu_on_refusals)
{
	const struct reserved_region *core = platform_core_region();
	u64 entry = (u64)(uintptr_t)secondary_entry;
	unsigned int last;
	long r;

	if (!need_cpus(2) || !CHECK(core, "no core region in the DTB")) {
		return;
	}
	last = plat.info.nr_cpus - 1;
	refusal("into core memory", plat.info.cpu_mpidr[1], core->base, PSCI_E_INVALID_ADDRESS);
	refusal("into the last core page", plat.info.cpu_mpidr[1], core->base + core->size - 4, PSCI_E_INVALID_ADDRESS);
	refusal("outside RAM", plat.info.cpu_mpidr[1], 0x1000, PSCI_E_INVALID_ADDRESS);
	refusal("of an MPIDR not in the DTB", 0xff, entry, PSCI_E_INVALID_PARAMS);
	refusal("with non-affinity MPIDR bits", plat.info.cpu_mpidr[1] | (1UL << 24), entry, PSCI_E_INVALID_PARAMS);
	refusal("of the boot CPU", plat.info.cpu_mpidr[0], entry, PSCI_E_ALREADY_ON);
	/* None of the refused calls started anything. */
	CHECK_EQ(psci_affinity_info(plat.info.cpu_mpidr[1]), PSCI_AFF_OFF);

	if (!start_and_check(last)) {
		return;
	}
	refusal("of a CPU that is on", plat.info.cpu_mpidr[last], entry, PSCI_E_ALREADY_ON);
	CHECK(smp_cpu_off(last, WAIT_MS), "CPU %u did not turn off", last);
	tprintf("smp: CPU %u off: AFFINITY_INFO -> %ld\n", last, psci_affinity_info(plat.info.cpu_mpidr[last]));
	/* Off, then on again: a fresh check-in with the new context. */
	if (start_and_check(last)) {
		tprintf("smp: CPU %u started again after CPU_OFF\n", last);
	}
	r = psci_cpu_on(plat.info.cpu_mpidr[last], entry, 0);
	CHECK(r == PSCI_E_ALREADY_ON, "second CPU_ON -> %ld", r);
	CHECK(smp_cpu_off(last, WAIT_MS), "CPU %u did not turn off", last);
}

static u64 guest_job(u64 vmp)
{
	struct vmm_vm *vm = (struct vmm_vm *)(uintptr_t)vmp;

	return vmm_boot(vm, MOAT_VM_PROTECTED, "hello", 16 * MIB, 0) && vm->last_exit == MOAT_EXIT_SYSTEM_OFF;
}

static const char *const hello_lines[] = { "guest: hello from a moat VM", NULL };

TEST(smp_guest)
{
	unsigned int cpu;
	u64 ok = 0, mpidr = 0;

	if (!need_cpus(2)) {
		return;
	}
	cpu = plat.info.nr_cpus - 1;
	if (!start_and_check(cpu)) {
		return;
	}
	struct vmm_vm vm = { .expect = hello_lines }, vm0 = { .expect = hello_lines };

	CHECK(smp_call(cpu, guest_job, (u64)(uintptr_t)&vm, &ok, 30000), "the guest job did not finish");
	tprintf("smp: protected guest on CPU %u: %s, %lu exits, last exit %lu\n", cpu, ok ? "ran to SYSTEM_OFF" : "FAILED",
		vm.exits, vm.last_exit);
	CHECK_EQ(ok, 1);
	/* And one on the boot CPU, after the secondary came up: each CPU gets its own MPIDR back at put. */
	ok = guest_job((u64)(uintptr_t)&vm0);
	tprintf("smp: protected guest on CPU 0: %s\n", ok ? "ran to SYSTEM_OFF" : "FAILED");
	CHECK_EQ(ok, 1);
	CHECK(smp_call(cpu, mpidr_job, 0, &mpidr, WAIT_MS), "no MPIDR job");
	tprintf("smp: CPU %u after its guest: MPIDR=0x%lx\n", cpu, mpidr);
	CHECK_EQ(mpidr & MPIDR_AFF_MASK, plat.info.cpu_mpidr[cpu]);
	mpidr = mpidr_job(0);
	tprintf("smp: CPU 0 after its guest: MPIDR=0x%lx\n", mpidr);
	CHECK_EQ(mpidr & MPIDR_AFF_MASK, plat.info.cpu_mpidr[0]);
	CHECK(vmm_destroy(&vm) > 0, "destroy failed");
	CHECK(vmm_destroy(&vm0) > 0, "destroy failed");
	CHECK(smp_cpu_off(cpu, WAIT_MS), "CPU %u did not turn off", cpu);
}

/* ---- a vCPU loaded on another CPU ---------------------------------------------- */

static volatile u64 in_run; /* set by CPU 1 around each VCPU_RUN */

static struct moat_result flagged_enter(struct vmm_vm *vm)
{
	struct moat_result r;

	in_run = 1;
	__asm__ volatile("dsb sy" ::: "memory");
	r = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, 0, 0);
	in_run = 0;
	return r;
}

static u64 run_job(u64 vmp)
{
	struct vmm_vm *vm = (struct vmm_vm *)(uintptr_t)vmp;

	return (u64)vmm_run(vm);
}

/* CPU 1 is inside VCPU_RUN with no exit for `ms` in a row: its vCPU is spinning in the guest. */
static bool wait_spinning(struct vmm_vm *vm, unsigned int ms)
{
	u64 t0 = read_sysreg(cntvct_el0), stable = read_sysreg(cntvct_el0), exits = vm->exits;

	while (ms_since(t0) < WAIT_MS * 3) {
		if (!in_run || vm->exits != exits) {
			exits = vm->exits;
			stable = read_sysreg(cntvct_el0);
		} else if (ms_since(stable) >= ms) {
			return true;
		}
		cpu_relax();
	}
	return false;
}

static const char *const spin_lines[] = { "guest: bench spun 100000000", NULL };

TEST(smp_vcpu_busy)
{
	struct vmm_vm vm = { .enter = flagged_enter, .expect = spin_lines };
	struct moat_result r;
	u64 status = 1;
	long reset;

	if (!need_cpus(2) || !start_and_check(1)) {
		return;
	}
	if (!CHECK_EQ(vmm_build(&vm, MOAT_VM_PROTECTED, "bench", 16 * MIB, SPIN_ITERATIONS), MOAT_OK) ||
	    !CHECK(smp_post(1, run_job, (u64)(uintptr_t)&vm), "could not post the run")) {
		return;
	}
	if (!CHECK(wait_spinning(&vm, 200), "CPU 1 never settled in its guest")) {
		return;
	}
	r = moat_hvc(MOAT_FN_VCPU_RUN, vm.handle, 0, 0);
	tprintf("smp: VCPU_RUN of the vCPU running on CPU 1, from CPU 0 -> %ld\n", r.status);
	CHECK_EQ(r.status, MOAT_E_BUSY);
	r = moat_hvc(MOAT_FN_VM_DESTROY, vm.handle, 0, 0);
	tprintf("smp: VM_DESTROY while its vCPU runs on CPU 1 -> %ld\n", r.status);
	CHECK_EQ(r.status, MOAT_E_BUSY);
	reset = psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
	tprintf("smp: SYSTEM_RESET while CPU 1 runs a guest the core cannot stop -> %ld\n", reset);
	CHECK_EQ(reset, PSCI_E_DENIED);
	CHECK(in_run, "the guest left VCPU_RUN while CPU 0 called");
	/* The guest finishes its spin on CPU 1, unharmed, and powers off. */
	CHECK(smp_wait(1, 60000, &status), "the spinning guest did not finish");
	tprintf("smp: the guest on CPU 1 finished: status %ld, last exit %lu, expected line %s\n", (long)status,
		vm.last_exit, vmm_expected_all(&vm) ? "seen" : "MISSING");
	CHECK_EQ(status, MOAT_OK);
	CHECK_EQ(vm.last_exit, MOAT_EXIT_SYSTEM_OFF);
	CHECK(vmm_expected_all(&vm), "the guest's line is missing");
	CHECK(vmm_destroy(&vm) > 0, "destroy after the run failed");
	CHECK(smp_cpu_off(1, WAIT_MS), "CPU 1 did not turn off");
}

#define RACE_ROUNDS 3

/* One round: CPU 1 runs the bench guest (2,000 MMIO exits, one VCPU_RUN each); CPU 0 destroys it meanwhile. */
static bool destroy_race_round(unsigned int round, unsigned int *mid_run)
{
	struct vmm_vm vm = { .enter = flagged_enter };
	u64 status = 0, busy = 0, t0;
	long ret = MOAT_E_BUSY, reclaimed;
	struct moat_result chk;

	in_run = 0;
	if (!CHECK_EQ(vmm_build(&vm, MOAT_VM_PROTECTED, "bench", 16 * MIB, 0), MOAT_OK) ||
	    !CHECK(smp_post(1, run_job, (u64)(uintptr_t)&vm), "could not post the run")) {
		return false;
	}
	/* Let the guest get past its start-up faults into its MMIO loop, then race. */
	t0 = read_sysreg(cntvct_el0);
	while (vm.mmio_exits < 100 && ms_since(t0) < 30000) {
		cpu_relax();
	}
	t0 = read_sysreg(cntvct_el0);
	while (ret == MOAT_E_BUSY && ms_since(t0) < 30000) {
		ret = moat_hvc(MOAT_FN_VM_DESTROY, vm.handle, 0, 0).status;
		busy += ret == MOAT_E_BUSY;
	}
	CHECK(smp_wait(1, 30000, &status), "the run loop on CPU 1 did not stop");
	tprintf("smp: destroy race %u: %lu BUSY, then VM_DESTROY -> %ld; CPU 1's run loop stopped with %ld after %lu "
		"MMIO exits\n",
		round, busy, ret, (long)status, vm.mmio_exits);
	CHECK_EQ(ret, MOAT_OK);
	/* Either the guest had finished (OK) or its next call named a destroyed VM: an error, never a run. */
	CHECK((long)status == MOAT_OK || (long)status == MOAT_E_NOENT || (long)status == MOAT_E_STALE ||
		      (long)status == MOAT_E_STATE,
	      "run loop status %ld", (long)status);
	*mid_run += status != MOAT_OK;
	reclaimed = vmm_reclaim_all(&vm, NULL, NULL);
	CHECK(reclaimed > 0, "reclaim -> %ld", reclaimed);
	chk = moat_hvc(MOAT_FN_CHECK, 0, 0, 0);
	CHECK_EQ(chk.status, MOAT_OK);
	CHECK_EQ(chk.r1, 0);
	return !test_has_failed();
}

TEST(smp_destroy_race)
{
	unsigned int mid_run = 0;

	if (!need_cpus(2) || !start_and_check(1)) {
		return;
	}
	for (unsigned int round = 0; round < RACE_ROUNDS; round++) {
		if (!destroy_race_round(round, &mid_run)) {
			return;
		}
	}
	tprintf("smp: destroy race: %u of %u destroys landed while the guest was still running, 0 violations\n",
		mid_run, RACE_ROUNDS);
	CHECK(smp_cpu_off(1, WAIT_MS), "CPU 1 did not turn off");
}

/* ---- racing CPU_ONs of one target ----------------------------------------------------- */

#define CPU_ON_RACE_ROUNDS 8

static volatile u64 race_go;
static volatile u64 race_ctx;

static u64 racing_cpu_on_job(u64 round)
{
	while (race_go != round) {
		cpu_relax();
	}
	return (u64)psci_cpu_on(plat.info.cpu_mpidr[2], (u64)(uintptr_t)secondary_entry, race_ctx);
}

TEST(smp_cpu_on_race)
{
	unsigned int ok_rounds = 0;

	if (!need_cpus(3) || !start_and_check(1)) {
		return;
	}
	for (u64 round = 1; round <= CPU_ON_RACE_ROUNDS; round++) {
		long mine, theirs;
		u64 r1 = 0;

		race_ctx = secondary_prepare(2);
		if (!CHECK(smp_post(1, racing_cpu_on_job, round), "could not post")) {
			return;
		}
		race_go = round;
		mine = psci_cpu_on(plat.info.cpu_mpidr[2], (u64)(uintptr_t)secondary_entry, race_ctx);
		CHECK(smp_wait(1, WAIT_MS, &r1), "CPU 1's CPU_ON did not return");
		theirs = (long)r1;
		/*
		 * Print only once CPU 2 runs host code: the core's "CPU 2 up" line,
		 * written to the same UART while CPU 2 starts, is complete by then
		 * and cannot split this one.
		 */
		if (!CHECK(secondary_wait_alive(2, WAIT_MS), "CPU 2 never checked in")) {
			return;
		}
		tprintf("smp: CPU_ON race %lu: CPU 0 -> %ld, CPU 1 -> %ld\n", round, mine, theirs);
		CHECK((mine == 0) != (theirs == 0), "round %lu: %ld and %ld: not exactly one SUCCESS", round, mine, theirs);
		CHECK(mine == 0 || mine == PSCI_E_ALREADY_ON || mine == PSCI_E_ON_PENDING, "CPU 0 got %ld", mine);
		CHECK(theirs == 0 || theirs == PSCI_E_ALREADY_ON || theirs == PSCI_E_ON_PENDING, "CPU 1 got %ld", theirs);
		if (!CHECK(smp_cpu_off(2, WAIT_MS), "CPU 2 did not turn off")) {
			return;
		}
		ok_rounds += !test_has_failed();
	}
	tprintf("smp: CPU_ON race: %u of %u rounds gave exactly one SUCCESS\n", ok_rounds, CPU_ON_RACE_ROUNDS);
	CHECK(smp_cpu_off(1, WAIT_MS), "CPU 1 did not turn off");
}

/* ---- the stop protocol when the host lets the stop SGI through ------------------------- */

#define GICD_CTLR 0x0
#define GICD_CTLR_ENABLE_GRP1 (1U << 1)
#define GICD_CTLR_ARE (1U << 4)
#define GICR_FRAME_STRIDE 0x20000UL /* RD_base + SGI_base (GICv3, no VLPIs) */
#define GICR_WAKER 0x14
#define GICR_SGI_BASE 0x10000UL
#define GICR_IGROUPR0 0x80
#define GICR_ISENABLER0 0x100
#define STOP_SGI 15 /* the core's (core/arch/arm64/cpu.c ARCH_STOP_SGI) */

/* On the CPU itself: wake its redistributor, SGI 15 group 1 and enabled, priority mask open, group 1 on. */
static u64 enable_stop_sgi_job(u64 cpu)
{
	u64 rd = plat.info.gicr.base + cpu * GICR_FRAME_STRIDE;

	*(volatile u32 *)(rd + GICR_WAKER) = 0;
	*(volatile u32 *)(rd + GICR_SGI_BASE + GICR_IGROUPR0) |= 1U << STOP_SGI;
	*(volatile u32 *)(rd + GICR_SGI_BASE + GICR_ISENABLER0) = 1U << STOP_SGI;
	__asm__ volatile("msr S3_0_C4_C6_0, %0" : : "r"(0xffUL));	/* ICC_PMR_EL1 */
	__asm__ volatile("msr S3_0_C12_C12_7, %0; isb" : : "r"(1UL)); /* ICC_IGRPEN1_EL1 */
	return *(volatile u32 *)(rd + GICR_SGI_BASE + GICR_ISENABLER0);
}

/*
 * CPU 1 spins in a protected guest; this host (unlike smp_vcpu_busy) enabled
 * SGI 15 on CPU 1, so the core's stop SGI exits the guest and SYSTEM_RESET
 * goes through: scrub, then reset (QEMU -no-reboot ends the run). The test
 * never returns; pytest reads the lines.
 */
TEST(smp_reset_stops_guest)
{
	struct vmm_vm vm = { .enter = flagged_enter, .expect = spin_lines };
	u64 en = 0;
	long reset;

	if (!need_cpus(2) || !start_and_check(1)) {
		return;
	}
	*(volatile u32 *)(plat.info.gicd.base + GICD_CTLR) |= GICD_CTLR_ARE | GICD_CTLR_ENABLE_GRP1;
	CHECK(smp_call(1, enable_stop_sgi_job, 1, &en, WAIT_MS), "GIC set-up on CPU 1 failed");
	tprintf("smp: CPU 1: GICR_ISENABLER0 0x%lx, GICD_CTLR 0x%x\n", en,
		*(volatile u32 *)(plat.info.gicd.base + GICD_CTLR));
	if (!CHECK_EQ(vmm_build(&vm, MOAT_VM_PROTECTED, "bench", 16 * MIB, SPIN_ITERATIONS), MOAT_OK) ||
	    !CHECK(smp_post(1, run_job, (u64)(uintptr_t)&vm), "could not post the run") ||
	    !CHECK(wait_spinning(&vm, 200), "CPU 1 never settled in its guest")) {
		return;
	}
	tprintf("smp: SYSTEM_RESET while CPU 1 runs a guest, stop SGI enabled\n");
	reset = psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
	/* Only reached if the reset was refused or returned. */
	tprintf("smp: SYSTEM_RESET returned %ld\n", reset);
	CHECK(false, "the reset did not happen");
}
