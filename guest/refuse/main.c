/*
 * refuse: guest accesses the core refuses or answers without effect, each
 * done twice, so that a test can check the core logs each kind once per VM
 * (and never a value the guest wrote).
 *
 *   1. MRS ACTLR_EL1 (trapped by HCR_EL2.TACR: read as zero), twice, and
 *      MSR ACTLR_EL1 of REFUSE_SECRET (write ignored), twice:
 *        guest: actlr_el1 reads 0x<v> 0x<v>
 *   2. DC CISW (set/way maintenance, trapped by HCR_EL2.TSW: ignored), twice.
 *   3. HVC with the unassigned SMCCC function 0x83000001 (OEM service):
 *        guest: hvc 0x83000001 -> <x0> <x0>        (expected -1 -1)
 *   4. HVC PSCI CPU_ON (0xc4000003) for CPU 1, which a 1-vCPU VM does not have:
 *        guest: cpu_on -> <x0> <x0>                (expected -2 -2: INVALID_PARAMETERS)
 *   5. SMC #0 with PSCI_VERSION (guests must use HVC):
 *        guest: smc 0x84000000 -> <x0> <x0>        (expected -1 -1)
 *   6. MSR CNTP_CVAL_EL0 of REFUSE_SECRET and CNTP_CTL_EL0 = 1 (the EL1
 *      physical timer is the host's: CNTHCTL_EL2.EL1PCEN = 0 traps it, RAZ/WI),
 *      twice, then MRS CNTP_CTL_EL0 and CNTP_CVAL_EL0:
 *        guest: cntp reads 0x<ctl> 0x<cval>        (expected 0x0 0x0)
 *   7. The PMU, if ID_AA64DFR0.PMUVer is 0 (protected VMs; a normal VM has its own and
 *      prints "guest: pmu shown, PMUVer <n>" instead: guest/pmu tests it) -- MDCR_EL2.TPM/TPMCR
 *      trap it, RAZ/WI): MSR PMCR_EL0 = E and PMCNTENSET_EL0 = C (start the
 *      cycle counter), twice, then MRS PMCR_EL0 and PMCCNTR_EL0:
 *        guest: pmu reads 0x<pmcr> 0x<pmccntr>     (expected 0x0 0x0)
 *   8. At EL0, MRS PMCCNTR_EL0 (the host test has set its own
 *      PMUSERENR_EL0.EN first): the guest's PMUSERENR_EL0 is 0, as PMUVer 0
 *      says, so the access traps to the guest's EL1 whatever the host's is:
 *        guest: el0 pmccntr trapped to EL1, EC 0x18
 *      (a read that went through would print "guest: el0 pmccntr read 0x<v>")
 *   9. guest: refuse done
 * Console only; SYSTEM_OFF at the end.
 */
#include "guest.h"

#define REFUSE_SECRET 0x5ec2e7c0ffee5ec2UL
#define FN_OEM_UNASSIGNED 0x83000001UL
#define PSCI_CPU_ON_64 0xc4000003UL

static uint64_t read_actlr(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, actlr_el1" : "=r"(v));
	return v;
}

/* EL0 runs one MRS PMCCNTR_EL0 and an SVC back (guest/lib/exception.c); x0 stays put if it traps. */
static uint64_t el0_read_pmccntr(void)
{
	register uint64_t x0 __asm__("x0") = 0;

	__asm__ volatile("adr x1, 1f\n"
			 "msr elr_el1, x1\n"
			 "mov x1, %1\n"
			 "msr spsr_el1, x1\n"
			 "eret\n"
			 "1: mrs x0, pmccntr_el0\n"
			 "svc #0\n"
			 : "+r"(x0)
			 : "i"(SPSR_EL0T_MASKED)
			 : "x1", "memory");
	return x0;
}

static long smc_call(uint64_t fid)
{
	register uint64_t x0 __asm__("x0") = fid;
	register uint64_t x1 __asm__("x1") = 0;
	register uint64_t x2 __asm__("x2") = 0;
	register uint64_t x3 __asm__("x3") = 0;

	__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	return (long)x0;
}

void guest_main(uint64_t x0)
{
	uint64_t a, b;
	long r1, r2;

	a = read_actlr();
	b = read_actlr();
	__asm__ volatile("msr actlr_el1, %0" : : "r"(REFUSE_SECRET));
	__asm__ volatile("msr actlr_el1, %0" : : "r"(REFUSE_SECRET));
	printf("guest: actlr_el1 reads 0x%lx 0x%lx\n", a, b);

	__asm__ volatile("dc cisw, %0" : : "r"(0UL) : "memory");
	__asm__ volatile("dc cisw, %0" : : "r"(0UL) : "memory");

	r1 = hvc_call(FN_OEM_UNASSIGNED, 0, 0, 0).status;
	r2 = hvc_call(FN_OEM_UNASSIGNED, 0, 0, 0).status;
	printf("guest: hvc 0x%lx -> %ld %ld\n", FN_OEM_UNASSIGNED, r1, r2);

	r1 = hvc_call(PSCI_CPU_ON_64, 1, MOAT_GUEST_RAM_BASE, 0).status;
	r2 = hvc_call(PSCI_CPU_ON_64, 1, MOAT_GUEST_RAM_BASE, 0).status;
	printf("guest: cpu_on -> %ld %ld\n", r1, r2);

	r1 = smc_call(PSCI_VERSION);
	r2 = smc_call(PSCI_VERSION);
	printf("guest: smc 0x%x -> %ld %ld\n", PSCI_VERSION, r1, r2);

	for (int i = 0; i < 2; i++) {
		__asm__ volatile("msr cntp_cval_el0, %0" : : "r"(REFUSE_SECRET));
		__asm__ volatile("msr cntp_ctl_el0, %0" : : "r"(1UL));
	}
	__asm__ volatile("isb; mrs %0, cntp_ctl_el0" : "=r"(a));
	__asm__ volatile("mrs %0, cntp_cval_el0" : "=r"(b));
	printf("guest: cntp reads 0x%lx 0x%lx\n", a, b);

	__asm__ volatile("mrs %0, id_aa64dfr0_el1" : "=r"(a));
	if ((a >> 8) & 0xf) {
		/* A normal VM's own PMU (guest/pmu tests it): nothing refused. */
		printf("guest: pmu shown, PMUVer %lu\n", (a >> 8) & 0xf);
	} else {
		for (int i = 0; i < 2; i++) {
			__asm__ volatile("msr pmcr_el0, %0" : : "r"(1UL));		/* PMCR_EL0.E */
			__asm__ volatile("msr pmcntenset_el0, %0" : : "r"(1UL << 31)); /* C: the cycle counter */
		}
		__asm__ volatile("isb; mrs %0, pmcr_el0" : "=r"(a));
		__asm__ volatile("mrs %0, pmccntr_el0" : "=r"(b));
		printf("guest: pmu reads 0x%lx 0x%lx\n", a, b);
	}

	struct guest_fault fault;

	probe_arm();
	a = el0_read_pmccntr();
	if (probe_disarm(&fault)) {
		printf("guest: el0 pmccntr trapped to EL1, EC 0x%lx\n", ESR_EC(fault.esr));
	} else {
		printf("guest: el0 pmccntr read 0x%lx\n", a);
	}

	printf("guest: refuse done\n");
}
