/*
 * pmu: what a guest gets of the PMU (issue 11, Deliver 8). Prints:
 *   guest: pmu PMUVer <n>
 * PMUVer 0 (protected VMs): the registers are RAZ/WI:
 *   guest: pmu reads 0x<pmcr> 0x<pmccntr>                 (expected 0x0 0x0)
 * Otherwise (normal VMs): counter 0 counts CPU_CYCLES, counter 1 SW_INCR,
 * both written with the EL2 filter bit (NSH, bit 27) set, as is PMCCFILTR:
 *   guest: pmu filters NSH <pmccfiltr> <evtyper0> <evtyper1> (expected 0 0 0: the core masks it)
 *   guest: pmu counts cycles <c> cpu_cycles <e> swinc <s>
 * where c and e are 1 when plausible (non-zero, and more after a longer
 * loop) and s is the exact number of PMSWINC writes to counter 1 (7).
 *   guest: pmu done
 */
#include "guest.h"

#define NSH (1UL << 27)
#define EV_SW_INCR 0x00UL
#define EV_CPU_CYCLES 0x11UL

#define RD(reg)                                                                                                      \
	({                                                                                                           \
		uint64_t __v;                                                                                        \
		__asm__ volatile("mrs %0, " #reg : "=r"(__v));                                                       \
		__v;                                                                                                 \
	})
#define WR(reg, v) __asm__ volatile("msr " #reg ", %0; isb" : : "r"((uint64_t)(v)) : "memory")

static void spin(unsigned long n)
{
	for (volatile unsigned long i = 0; i < n; i++) {
	}
}

void guest_main(uint64_t x0)
{
	(void)x0;
	unsigned int pmuver = (unsigned int)((RD(id_aa64dfr0_el1) >> 8) & 0xf);

	printf("guest: pmu PMUVer %u\n", pmuver);
	if (!pmuver) {
		WR(pmcr_el0, 1UL);
		WR(pmcntenset_el0, 1UL << 31);
		printf("guest: pmu reads 0x%lx 0x%lx\n", RD(pmcr_el0), RD(pmccntr_el0));
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
	printf("guest: pmu done\n");
}
