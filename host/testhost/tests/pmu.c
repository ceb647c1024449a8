/*
 * Tests: the host's PMU never counts the core or a protected guest (DESIGN §6).
 *
 * The host programs the cycle counter and event counter 0 (CPU_CYCLES) to
 * count at EL0, EL1 and EL2 (filter bit NSH = 1, what a stock Linux perf
 * asks for unless exclude_hv), then measures how many cycles they gained
 * across work the core does at EL2 and across VCPU_RUN of a protected guest,
 * against the time that passed (CNTVCT). QEMU TCG counts "cycles" as
 * nanoseconds of virtual time spent in the exception levels the filter
 * allows (target/arm/helper.c pmu_counter_enabled), so a counter that counts
 * EL2 or the guest gains about as many cycles as nanoseconds passed, and one
 * that does not gains only the host's few instructions around the HVC.
 *
 * How the core keeps EL2 out depends on the CPU (docs/architecture.md): with
 * PMUv3 only (cortex-a72) it traps the host's PMU accesses and clears NSH,
 * so the filter reads back without it, and so on PMUv3p1 (cortex-a76), whose
 * HPMD spares the cycle counter; from PMUv3p5 (QEMU `max`) MDCR_EL2 HPMD +
 * HCCD prohibit EL2 counting and the filter reads back as written.
 *
 * Report lines for tests/integration/test_pmu.py:
 *   pmu: PMUVer <v>, <n> event counters
 *   pmu: <what>: cycle counter +<c>, event counter +<e>, elapsed <ns> ns
 */
#include "lib.h"
#include "sysreg.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)

#define PMCR_E (1UL << 0)
#define PMCR_P (1UL << 1)
#define PMCR_C (1UL << 2)
#define PMCR_LC (1UL << 6)
#define PMCR_N(pmcr) (((pmcr) >> 11) & 0x1f)
#define EVT_P (1UL << 31)
#define EVT_NSH (1UL << 27)
#define EVT_SW_INCR 0x00UL
#define EVT_CPU_CYCLES 0x11UL
#define CNT_CYCLE (1UL << 31)
#define CNT_EV0 (1UL << 0)
#define PMUSERENR_EN (1UL << 0)
#define PMU_EL0_STACK 4096

/* The core's filtering is generous only with the host's own time: allow 10% of the elapsed time. */
#define MAX_COUNTED_PERCENT 10


struct sample {
	u64 cycles, ev0, ticks;
};

static u64 freq;
static u8 pmu_el0_stack[PMU_EL0_STACK] __attribute__((aligned(16)));

static unsigned int pmuver(void)
{
	return (unsigned int)((read_sysreg(id_aa64dfr0_el1) >> 8) & 0xf);
}

/* The value a filter register holds after the host wrote v: the core strips NSH where it traps (PMUv3 to v3p4). */
static u64 filtered(u64 v)
{
	return pmuver() < 6 ? v & ~EVT_NSH : v;
}

static void sample(struct sample *s)
{
	s->ticks = read_sysreg_sync(cntvct_el0);
	s->cycles = read_sysreg_sync(pmccntr_el0);
	s->ev0 = read_sysreg_sync(pmevcntr0_el0);
}

static u64 ticks_to_ns(u64 ticks)
{
	return ticks * 1000000000UL / freq;
}

/* Cycle counter and event counter 0 (CPU_CYCLES), both filtered with `filter`, reset and running. */
static void pmu_start(u64 filter)
{
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	write_sysreg_sync(pmcntenclr_el0, ~0UL);
	write_sysreg_sync(pmccfiltr_el0, filter);
	write_sysreg_sync(pmevtyper0_el0, filter | EVT_CPU_CYCLES);
	write_sysreg_sync(pmcr_el0, PMCR_E | PMCR_P | PMCR_C | PMCR_LC);
	write_sysreg_sync(pmcntenset_el0, CNT_CYCLE | CNT_EV0);
}

static void pmu_stop(void)
{
	write_sysreg_sync(pmcntenclr_el0, ~0UL);
	write_sysreg_sync(pmcr_el0, 0);
	CHECK_EQ(read_sysreg_sync(pmcr_el0) & PMCR_E, 0);
}

struct delta {
	u64 cycles, ev0, ns;
};

static void add_delta(struct delta *d, const struct sample *a, const struct sample *b)
{
	d->cycles += b->cycles - a->cycles;
	d->ev0 += b->ev0 - a->ev0;
	d->ns += ticks_to_ns(b->ticks - a->ticks);
}

static void report(const char *what, const struct delta *d)
{
	tprintf("pmu: %s: cycle counter +%lu, event counter +%lu, elapsed %lu ns\n", what, d->cycles, d->ev0, d->ns);
}

static void check_not_counted(const char *what, const struct delta *d)
{
	report(what, d);
	CHECK(d->ns > 1000000, "%s took only %lu ns: the measurement means nothing", what, d->ns);
	CHECK(d->cycles * 100 < d->ns * MAX_COUNTED_PERCENT, "%s: the cycle counter counted %lu of %lu ns", what,
	      d->cycles, d->ns);
	CHECK(d->ev0 * 100 < d->ns * MAX_COUNTED_PERCENT, "%s: event counter 0 counted %lu of %lu ns", what, d->ev0,
	      d->ns);
}

/* The host's own time must still be counted, or the checks above would prove nothing. */
static void check_host_counted(void)
{
	struct sample a, b;
	struct delta d = { 0 };
	volatile u64 spin = 0;

	sample(&a);
	for (unsigned int i = 0; i < 2000000; i++) {
		spin += i;
	}
	sample(&b);
	add_delta(&d, &a, &b);
	report("host loop at EL1", &d);
	CHECK(d.cycles * 2 > d.ns, "the host's own loop counted only %lu of %lu ns", d.cycles, d.ns);
	CHECK(d.ev0 * 2 > d.ns, "the host's own loop counted only %lu event-counter cycles of %lu ns", d.ev0, d.ns);
}

static void report_pmu(void)
{
	tprintf("pmu: PMUVer %u, %lu event counters\n", pmuver(), PMCR_N(read_sysreg_sync(pmcr_el0)));
}

/* ---- the core's own execution ------------------------------------------------------ */

TEST(pmu_core)
{
	struct sample a, b;
	struct delta d = { 0 };

	report_pmu();
	pmu_start(EVT_NSH);
	CHECK_EQ(read_sysreg_sync(pmccfiltr_el0), filtered(EVT_NSH));
	CHECK_EQ(read_sysreg_sync(pmevtyper0_el0), filtered(EVT_NSH | EVT_CPU_CYCLES));
	check_host_counted();
	/* The invariant checker walks the whole page database at EL2: milliseconds per call. */
	for (unsigned int i = 0; i < 20; i++) {
		sample(&a);
		CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
		sample(&b);
		add_delta(&d, &a, &b);
	}
	check_not_counted("20 invariant-check calls", &d);
	d = (struct delta){ 0 };
	sample(&a);
	for (unsigned int i = 0; i < 20000; i++) {
		moat_hvc(MOAT_FN_VERSION, 0, 0, 0);
	}
	sample(&b);
	add_delta(&d, &a, &b);
	report("20000 null calls (host loop included)", &d);
	pmu_stop();
}

/* ---- guests -------------------------------------------------------------------- */

struct run_pmu {
	struct delta inside; /* summed over the VCPU_RUN calls only */
	unsigned int runs;
};

static struct moat_result pmu_enter(struct vmm_vm *vm)
{
	struct run_pmu *r = vm->ctx;
	struct sample a, b;
	struct moat_result res;

	sample(&a);
	res = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, 0, 0);
	sample(&b);
	add_delta(&r->inside, &a, &b);
	r->runs++;
	return res;
}

#define GUEST_SPIN 5000000UL

static const char *const spin_lines[] = { "guest: bench spun 5000000", NULL };

static void guest_run(u64 type, struct run_pmu *r)
{
	struct vmm_vm vm = { .console_echo = true, .enter = pmu_enter, .ctx = r, .expect = spin_lines };

	/* bench with x0 = n spends nearly all its time in one run, counting to n at EL1. */
	if (!vmm_boot(&vm, type, "bench", 16 * MIB, GUEST_SPIN)) {
		return;
	}
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}

TEST(pmu_guest)
{
	struct run_pmu prot = { 0 }, normal = { 0 };

	report_pmu();
	pmu_start(EVT_NSH);
	guest_run(MOAT_VM_PROTECTED, &prot);
	check_not_counted("protected guest, inside VCPU_RUN", &prot.inside);
	/* The host's counters are running again and as the host left them. */
	CHECK_EQ(read_sysreg_sync(pmcntenset_el0), CNT_CYCLE | CNT_EV0);
	check_host_counted();
	/* Normal VMs are KVM-like: the host may count their EL1 time (documented, not a leak). */
	guest_run(MOAT_VM_NORMAL, &normal);
	report("normal guest, inside VCPU_RUN", &normal.inside);
	CHECK(normal.inside.cycles * 2 > normal.inside.ns, "a normal guest's time was not counted (%lu of %lu ns)",
	      normal.inside.cycles, normal.inside.ns);
	pmu_stop();
}

/* ---- the host's PMU registers still behave ----------------------------------------------- */

static u64 el0_filter_roundtrip(u64 v, u64 unused)
{
	write_sysreg_sync(pmccfiltr_el0, v);
	return read_sysreg_sync(pmccfiltr_el0);
}

TEST(pmu_regs)
{
	u64 n = PMCR_N(read_sysreg_sync(pmcr_el0));

	report_pmu();
	if (!CHECK(n >= 3, "only %lu event counters", n)) {
		return;
	}
	pmu_start(0);
	CHECK_EQ(read_sysreg_sync(pmcr_el0) & (PMCR_LC | PMCR_E), PMCR_LC | PMCR_E);
	/* Every way of reaching an event type register: direct, through PMSELR, and PMSELR = 31 for PMCCFILTR. */
	write_sysreg_sync(pmselr_el0, 2);
	write_sysreg_sync(pmevtyper1_el0, EVT_NSH | EVT_CPU_CYCLES);
	CHECK_EQ(read_sysreg_sync(pmselr_el0), 2);
	CHECK_EQ(read_sysreg_sync(pmevtyper1_el0), filtered(EVT_NSH | EVT_CPU_CYCLES));
	write_sysreg_sync(pmxevtyper_el0, EVT_NSH | EVT_SW_INCR);
	CHECK_EQ(read_sysreg_sync(pmevtyper2_el0), filtered(EVT_NSH | EVT_SW_INCR));
	CHECK_EQ(read_sysreg_sync(pmxevtyper_el0), filtered(EVT_NSH | EVT_SW_INCR));
	write_sysreg_sync(pmselr_el0, 31);
	write_sysreg_sync(pmxevtyper_el0, EVT_NSH);
	CHECK_EQ(read_sysreg_sync(pmccfiltr_el0), filtered(EVT_NSH));
	/* Counters: write, read back, software increment. */
	write_sysreg_sync(pmselr_el0, 2);
	write_sysreg_sync(pmxevcntr_el0, 41);
	CHECK_EQ(read_sysreg_sync(pmevcntr2_el0), 41);
	write_sysreg_sync(pmcntenset_el0, 1UL << 2);
	write_sysreg_sync(pmswinc_el0, 1UL << 2);
	CHECK_EQ(read_sysreg_sync(pmevcntr2_el0), 42);
	/* A software increment obeys the filter of the EL that wrote PMSWINC: P = 1 excludes EL1. */
	write_sysreg_sync(pmevtyper2_el0, EVT_P | EVT_SW_INCR);
	write_sysreg_sync(pmswinc_el0, 1UL << 2);
	CHECK_EQ(read_sysreg_sync(pmevcntr2_el0), 42);
	write_sysreg_sync(pmevcntr1_el0, 0x1234);
	write_sysreg_sync(pmcntenclr_el0, 1UL << 2);
	CHECK_EQ(read_sysreg_sync(pmcntenset_el0), CNT_CYCLE | CNT_EV0);
	write_sysreg_sync(pmintenset_el1, 1UL << 1);
	CHECK_EQ(read_sysreg_sync(pmintenset_el1), 1UL << 1);
	write_sysreg_sync(pmintenclr_el1, ~0UL);
	CHECK_EQ(read_sysreg_sync(pmintenclr_el1), 0);
	write_sysreg_sync(pmovsclr_el0, ~0UL);
	CHECK_EQ(read_sysreg_sync(pmovsset_el0), 0);
	CHECK(read_sysreg_sync(pmceid0_el0) != 0, "PMCEID0_EL0 reads as 0");
	/* An index past the implemented counters must not hurt anyone (the core answers RAZ/WI). */
	write_sysreg_sync(pmselr_el0, n);
	write_sysreg_sync(pmxevtyper_el0, EVT_NSH);
	tprintf("pmu: PMXEVTYPER with PMSELR = %lu (no such counter) reads 0x%lx\n", n, read_sysreg_sync(pmxevtyper_el0));
	/* EL0, allowed by PMUSERENR: traps taken from EL0 are served the same way. */
	write_sysreg_sync(pmuserenr_el0, PMUSERENR_EN);
	CHECK_EQ(read_sysreg_sync(pmuserenr_el0), PMUSERENR_EN);
	CHECK_EQ(el0_call(el0_filter_roundtrip, EVT_NSH, 0, (u64)(uintptr_t)&pmu_el0_stack[PMU_EL0_STACK]),
		 filtered(EVT_NSH));
	write_sysreg_sync(pmuserenr_el0, 0);
	pmu_stop();
}
