/*
 * pmu: what a guest gets of the PMU (issue 11, Deliver 8). Prints:
 *   guest: pmu PMUVer <n>
 * PMUVer 0 (protected VMs): the registers are RAZ/WI:
 *   guest: pmu reads 0x<pmcr> 0x<pmccntr>                 (expected 0x0 0x0)
 * and with PPI 23 enabled in its redistributor and IRQs unmasked, the
 * cycle-counter overflow it tries to program brings no interrupt:
 *   guest: pmu irq none n=<n> other=<n>                   (expected 0 0)
 * Otherwise (normal VMs): counter 0 counts CPU_CYCLES, counter 1 SW_INCR,
 * both written with the EL2 filter bit (NSH, bit 27) set, as is PMCCFILTR:
 *   guest: pmu filters NSH <pmccfiltr> <evtyper0> <evtyper1> (expected 0 0 0: the core masks it)
 *   guest: pmu counts cycles <c> cpu_cycles <e> swinc <s>
 * where c and e are 1 when plausible (non-zero, and more after a longer
 * loop) and s is the exact number of PMSWINC writes to counter 1 (7).
 * Then the overflow interrupt, PPI 23 (GIC set up as a bare-metal OS does;
 * the handler counts INTID 23, reads PMOVSSET, clears what it read with
 * PMOVSCLR, then EOIs; other INTIDs are counted apart):
 *   guest: pmu irq cycles n=<n> intid=<i> ovs=0x<v> left=0x<v> wrapped=<w>
 *     PMCR.LC, PMCCNTR = 2^64 - 10000, PMINTENSET.C: expected n=1 intid=23
 *     ovs=0x80000000 left=0x0 wrapped=1 (after 20 ms more with IRQs open)
 *   guest: pmu irq swinc before=<n> after=<n> n=<n> ovs=0x<v> left=0x<v> cnt=<c>
 *     counter 0 SW_INCR at 2^32 - 3, three PMSWINC: none after the second,
 *     exactly one right after the third: before=0 after=1 n=1 ovs=0x1 left=0x0 cnt=0
 *   guest: pmu irq level n=<n> left=0x<v>
 *     PMOVSSET written by the guest, the handler EOIs the first interrupt
 *     without clearing: the level-sensitive line is still high, so it comes
 *     once more and is cleared then: n=2 left=0x0
 *   guest: pmu irq gate off=<n> on=<n>
 *     overflow set with PMCR.E = 0: no interrupt (off=0); E = 1: one (on=1)
 *   guest: pmu irq other=<n>                             (expected 0)
 * Then guest EL0 access as its PMUSERENR_EL0 allows (counter 2 SW_INCR at 41):
 *   guest: pmu el0 off read <r>                           (PMUSERENR 0)
 *   guest: pmu el0 er swinc <r> read <r> <v>              (PMUSERENR.ER)
 *   guest: pmu el0 en swinc <r> read <r> <v>              (PMUSERENR.EN)
 *   guest: pmu pmuserenr 0x<er> 0x<en>                    (expected 0x8 0x1)
 * where <r> is "trapped EC 0x18" (to the guest's own EL1) or "ok", and <v>
 * the counter read: expected "off read trapped EC 0x18", "er swinc trapped
 * EC 0x18 read ok 41", "en swinc ok read ok 42".
 *   guest: pmu done
 */
#include "guest.h"

#define NSH (1UL << 27)
#define EV_SW_INCR 0x00UL
#define EV_CPU_CYCLES 0x11UL
#define PMCR_E (1UL << 0)
#define PMCR_LC (1UL << 6) /* the cycle counter overflows at 2^64, not 2^32 */
#define ALL_COUNTERS 0xffffffffUL
#define CYCLE_BIT (1UL << 31)
#define PMUSERENR_EN (1UL << 0)
#define PMUSERENR_ER (1UL << 3)

#define GICD 0x08000000UL
#define GICR 0x080A0000UL
#define GICR_SGI (GICR + 0x10000UL)
#define PPI_PMU 23U

#define RD(reg)                                                                                                      \
	({                                                                                                           \
		uint64_t __v;                                                                                        \
		__asm__ volatile("isb; mrs %0, " #reg : "=r"(__v)::"memory");                                        \
		__v;                                                                                                 \
	})
#define WR(reg, v) __asm__ volatile("msr " #reg ", %0; isb" : : "r"((uint64_t)(v)) : "memory")

static void spin(unsigned long n)
{
	for (volatile unsigned long i = 0; i < n; i++) {
	}
}

/* ---- the overflow interrupt --------------------------------------------------- */

static volatile unsigned int irqs, other_irqs, last_intid, clear_from = 1;
static volatile uint64_t ovs_seen;
static uint64_t ticks_per_ms;

static void irq(void)
{
	uint64_t iar = read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
	uint32_t intid = (uint32_t)(iar & 0xffffff);

	if (intid == PPI_PMU) {
		uint64_t ovs = RD(pmovsset_el0);

		last_intid = intid;
		ovs_seen |= ovs;
		/* clear_from > 1: leave the overflow set the first times, so that the line stays high at the EOI. */
		if (++irqs >= clear_from) {
			WR(pmovsclr_el0, ovs);
		}
	} else {
		other_irqs++;
	}
	if (intid < 1020) {
		__asm__ volatile("msr S3_0_C12_C12_1, %0; isb" : : "r"(iar) : "memory"); /* ICC_EOIR1_EL1 */
	}
}

/* The GIC as a bare-metal OS sets it up: Group 1 on, redistributor awake, PPI 23 enabled, PMR open. */
static void gic_on(void)
{
	mmio_write32(GICD, 2); /* GICD_CTLR.EnableGrp1 */
	mmio_write32(GICR + 0x14, 0); /* GICR_WAKER: awake */
	while (mmio_read32(GICR + 0x14) & 4) {
	}
	mmio_write32(GICR_SGI + 0x80, mmio_read32(GICR_SGI + 0x80) | (1U << PPI_PMU)); /* IGROUPR0: Group 1 */
	mmio_write32(GICR_SGI + 0x400 + (PPI_PMU & ~3U), 0xa0a0a0a0);			 /* IPRIORITYR: 0xa0 */
	mmio_write32(GICR_SGI + 0x100, 1U << PPI_PMU);					 /* ISENABLER0 */
	__asm__ volatile("msr S3_0_C4_C6_0, %0" : : "r"(0xffUL));  /* ICC_PMR_EL1 */
	__asm__ volatile("msr S3_0_C12_C12_7, %0" : : "r"(1UL)); /* ICC_IGRPEN1_EL1 */
	__asm__ volatile("isb" ::: "memory");
}

static void irqs_open(void)
{
	__asm__ volatile("isb; msr daifclr, #2; isb" ::: "memory");
}

static void irqs_closed(void)
{
	__asm__ volatile("msr daifset, #2; isb" ::: "memory");
}

/* Spin without a trap (CNTVCT is not trapped) for ms, or until *v reaches want. */
static void wait_for(volatile unsigned int *v, unsigned int want, uint64_t ms)
{
	uint64_t end = read_cntvct() + ms * ticks_per_ms;

	while ((!v || *v < want) && read_cntvct() < end) {
	}
}

static void pmu_quiet(void)
{
	WR(pmcntenclr_el0, ALL_COUNTERS);
	WR(pmintenclr_el1, ALL_COUNTERS);
	WR(pmovsclr_el0, ALL_COUNTERS);
	irqs = 0;
	ovs_seen = 0;
	last_intid = 0;
	clear_from = 1;
}

static void irq_cycles(void)
{
	uint64_t left, ccnt;

	pmu_quiet();
	WR(pmccfiltr_el0, 0); /* count at EL1 and EL0 */
	WR(pmcr_el0, PMCR_E | PMCR_LC);
	WR(pmccntr_el0, -10000UL);
	WR(pmintenset_el1, CYCLE_BIT);
	WR(pmcntenset_el0, CYCLE_BIT);
	irqs_open();
	wait_for(&irqs, 1, 1000);
	wait_for(NULL, 0, 20); /* no second one */
	irqs_closed();
	left = RD(pmovsset_el0);
	ccnt = RD(pmccntr_el0);
	printf("guest: pmu irq cycles n=%u intid=%u ovs=0x%lx left=0x%lx wrapped=%d\n", irqs, last_intid, ovs_seen,
	       left, ccnt < (1UL << 63));
}

static void irq_swinc(void)
{
	unsigned int before, after;

	pmu_quiet();
	WR(pmevtyper0_el0, EV_SW_INCR);
	WR(pmevcntr0_el0, 0xfffffffdUL);
	WR(pmintenset_el1, 1UL);
	WR(pmcntenset_el0, 1UL);
	WR(pmcr_el0, PMCR_E);
	irqs_open();
	WR(pmswinc_el0, 1UL);
	WR(pmswinc_el0, 1UL);
	before = irqs;
	WR(pmswinc_el0, 1UL); /* 0xffffffff -> 0: overflow */
	after = irqs;
	wait_for(NULL, 0, 20);
	irqs_closed();
	printf("guest: pmu irq swinc before=%u after=%u n=%u ovs=0x%lx left=0x%lx cnt=%lu\n", before, after, irqs,
	       ovs_seen, RD(pmovsset_el0), RD(pmevcntr0_el0));
}

/* Counter 0's overflow flag set by software, with PMINTENSET<0> and PMCR.E still on from irq_swinc. */
static void irq_level(void)
{
	irqs = 0;
	clear_from = 2;
	irqs_open();
	WR(pmovsset_el0, 1UL);
	wait_for(&irqs, 2, 1000);
	wait_for(NULL, 0, 20);
	irqs_closed();
	printf("guest: pmu irq level n=%u left=0x%lx\n", irqs, RD(pmovsset_el0));
	clear_from = 1;
}

static void irq_gate(void)
{
	unsigned int off;

	irqs = 0;
	WR(pmcr_el0, 0);
	irqs_open();
	WR(pmovsset_el0, 1UL);
	wait_for(NULL, 0, 20);
	off = irqs;
	WR(pmcr_el0, PMCR_E);
	wait_for(&irqs, 1, 1000);
	wait_for(NULL, 0, 20);
	irqs_closed();
	printf("guest: pmu irq gate off=%u on=%u\n", off, irqs);
}

/* ---- EL0 ---------------------------------------------------------------------- */

/* EL0 runs one MSR PMSWINC_EL0 (counter mask) and an SVC back (guest/lib/exception.c). */
static void el0_swinc(uint64_t mask)
{
	register uint64_t x2 __asm__("x2") = mask;

	__asm__ volatile("adr x1, 1f\n"
			 "msr elr_el1, x1\n"
			 "mov x1, %1\n"
			 "msr spsr_el1, x1\n"
			 "eret\n"
			 "1: msr pmswinc_el0, x2\n"
			 "svc #0\n"
			 :
			 : "r"(x2), "i"(SPSR_EL0T_MASKED)
			 : "x1", "memory");
}

/* EL0 runs one MRS PMEVCNTR2_EL0 and an SVC back; x0 stays 0 if it traps. */
static uint64_t el0_read_evcntr2(void)
{
	register uint64_t x0 __asm__("x0") = 0;

	__asm__ volatile("adr x1, 1f\n"
			 "msr elr_el1, x1\n"
			 "mov x1, %1\n"
			 "msr spsr_el1, x1\n"
			 "eret\n"
			 "1: mrs x0, pmevcntr2_el0\n"
			 "svc #0\n"
			 : "+r"(x0)
			 : "i"(SPSR_EL0T_MASKED)
			 : "x1", "memory");
	return x0;
}

/* One EL0 access (kind 0: PMSWINC of counter 2, 1: read PMEVCNTR2): the EC it trapped to EL1 with, or 0. */
static uint64_t el0_try(int kind, uint64_t *v)
{
	struct guest_fault fault;
	uint64_t r;

	probe_arm();
	if (kind) {
		r = el0_read_evcntr2();
	} else {
		el0_swinc(1UL << 2);
		r = 0;
	}
	if (probe_disarm(&fault)) {
		return ESR_EC(fault.esr);
	}
	*v = r;
	return 0;
}

static void el0_report(const char *what, uint64_t ec)
{
	if (ec) {
		printf(" %s trapped EC 0x%lx", what, ec);
	} else {
		printf(" %s ok", what);
	}
}

static void el0(void)
{
	uint64_t er, en, v = 0;

	pmu_quiet();
	WR(pmevtyper2_el0, EV_SW_INCR); /* U = 0: counts EL0's increments too */
	WR(pmevcntr2_el0, 41);
	WR(pmcntenset_el0, 1UL << 2);
	WR(pmcr_el0, PMCR_E);

	WR(pmuserenr_el0, 0);
	printf("guest: pmu el0 off");
	el0_report("read", el0_try(1, &v));
	printf("\n");

	WR(pmuserenr_el0, PMUSERENR_ER);
	er = RD(pmuserenr_el0);
	printf("guest: pmu el0 er");
	el0_report("swinc", el0_try(0, &v));
	v = 0;
	el0_report("read", el0_try(1, &v));
	printf(" %lu\n", v);

	WR(pmuserenr_el0, PMUSERENR_EN);
	en = RD(pmuserenr_el0);
	printf("guest: pmu el0 en");
	el0_report("swinc", el0_try(0, &v));
	v = 0;
	el0_report("read", el0_try(1, &v));
	printf(" %lu\n", v);
	printf("guest: pmu pmuserenr 0x%lx 0x%lx\n", er, en);
	WR(pmuserenr_el0, 0);
	WR(pmcntenclr_el0, ALL_COUNTERS);
}

/* ---- protected: nothing ------------------------------------------------------- */

static void protected_no_irq(void)
{
	irqs = 0;
	other_irqs = 0;
	WR(pmcr_el0, PMCR_E | PMCR_LC);
	WR(pmccntr_el0, -10000UL);
	WR(pmintenset_el1, CYCLE_BIT);
	WR(pmcntenset_el0, CYCLE_BIT);
	WR(pmovsset_el0, CYCLE_BIT);
	irqs_open();
	wait_for(NULL, 0, 50);
	irqs_closed();
	printf("guest: pmu irq none n=%u other=%u\n", irqs, other_irqs);
}

void guest_main(uint64_t x0)
{
	(void)x0;
	unsigned int pmuver = (unsigned int)((RD(id_aa64dfr0_el1) >> 8) & 0xf);

	ticks_per_ms = read_sysreg(cntfrq_el0) / 1000;
	guest_irq_handler = irq;
	printf("guest: pmu PMUVer %u\n", pmuver);
	if (!pmuver) {
		WR(pmcr_el0, 1UL);
		WR(pmcntenset_el0, 1UL << 31);
		printf("guest: pmu reads 0x%lx 0x%lx\n", RD(pmcr_el0), RD(pmccntr_el0));
		gic_on();
		protected_no_irq();
		printf("guest: pmu done\n");
		return;
	}
	WR(pmccfiltr_el0, NSH);
	WR(pmevtyper0_el0, NSH | EV_CPU_CYCLES);
	WR(pmevtyper1_el0, NSH | EV_SW_INCR);
	printf("guest: pmu filters NSH %lu %lu %lu\n", (RD(pmccfiltr_el0) & NSH) >> 27, (RD(pmevtyper0_el0) & NSH) >> 27,
	       (RD(pmevtyper1_el0) & NSH) >> 27);

	WR(pmcr_el0, 0x7UL); /* E, P (event counters to 0), C (cycle counter to 0) */
	WR(pmcntenset_el0, (1UL << 31) | 3UL);
	spin(10000);
	uint64_t c1 = RD(pmccntr_el0), e1 = RD(pmevcntr0_el0);
	spin(100000);
	uint64_t c2 = RD(pmccntr_el0), e2 = RD(pmevcntr0_el0);
	for (int i = 0; i < 7; i++) {
		WR(pmswinc_el0, 2UL); /* counter 1 */
	}
	WR(pmswinc_el0, 1UL); /* counter 0 counts CPU_CYCLES, not SW_INCR: no effect on it beyond cycles */
	uint64_t s = RD(pmevcntr1_el0);

	WR(pmcntenclr_el0, (1UL << 31) | 3UL);
	printf("guest: pmu raw cycles 0x%lx 0x%lx cpu_cycles 0x%lx 0x%lx\n", c1, c2, e1, e2);
	printf("guest: pmu counts cycles %d cpu_cycles %d swinc %lu\n", c1 != 0 && c2 > c1, e1 != 0 && e2 > e1, s);

	gic_on();
	irq_cycles();
	irq_swinc();
	irq_level();
	irq_gate();
	pmu_quiet();
	printf("guest: pmu irq other=%u\n", other_irqs);
	el0();
	printf("guest: pmu done\n");
}
