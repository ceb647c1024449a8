/*
 * Tests: calls out of the host. psci: PSCI over the DTB's conduit, which
 * the core traps and forwards (or refuses); hvc_version: the moat host ABI
 * (include/moat/abi.h) and the registers the core promises to preserve.
 */
#include <moat/abi.h>
#include <moat/hvc.h>

#include "lib.h"
#include "test.h"

#define PSCI_MIN_VERSION 0x10000 /* PSCI 1.0 */
#define SECONDARY_WAIT_SECONDS 2

extern void hvc_all_regs(u64 regs[31]);

static bool wait_alive(unsigned int cpu)
{
	u64 freq = read_sysreg(cntfrq_el0);
	u64 start = read_sysreg(cntvct_el0);

	while (!secondary_alive(cpu)) {
		if (read_sysreg(cntvct_el0) - start > SECONDARY_WAIT_SECONDS * freq) {
			return false;
		}
		cpu_relax();
	}
	return true;
}

static void try_cpu_on(unsigned int cpu)
{
	u64 mpidr = plat.info.cpu_mpidr[cpu];
	long r = secondary_start(cpu);

	if (r < 0) {
		tprintf("psci: CPU_ON(mpidr 0x%lx) refused: %ld\n", mpidr, r);
		return;
	}
	CHECK_EQ(r, 0);
	if (CHECK(wait_alive(cpu), "CPU_ON(mpidr 0x%lx) returned 0 but the CPU never ran", mpidr) &&
	    CHECK(smp_cpu_off(cpu, SECONDARY_WAIT_SECONDS * 1000), "CPU 0x%lx did not turn off", mpidr)) {
		tprintf("psci: CPU_ON(mpidr 0x%lx) started the CPU; it turned itself off again\n", mpidr);
	}
}

TEST(psci)
{
	long v = psci_version();

	tprintf("psci: version 0x%lx (%ld.%ld)\n", v, v >> 16, v & 0xffff);
	CHECK(v >= PSCI_MIN_VERSION, "PSCI_VERSION returned 0x%lx", v);
	if (plat.info.nr_cpus >= 2) {
		try_cpu_on(1);
	} else {
		tprintf("psci: only one CPU, CPU_ON not tried\n");
	}
	tprintf("psci: host carries on\n");
}

/*
 * Every register but x0..x3 must come back unchanged (docs/ABI.md), on
 * success and on error alike. x1..x(first-1) are passed as zero, the rest
 * carry distinct patterns.
 */
static void check_preserved_regs(u64 fid, unsigned int first, long status)
{
	u64 regs[31], sent[31];
	bool ok = true;

	regs[0] = fid;
	for (unsigned int i = 1; i < ARRAY_SIZE(regs); i++) {
		regs[i] = i < first ? 0 : 0x7e57000000000000UL | ((u64)i << 32) | i;
	}
	memcpy(sent, regs, sizeof(regs));
	hvc_all_regs(regs);
	ok &= CHECK_EQ(regs[0], status);
	for (unsigned int i = 4; i < ARRAY_SIZE(regs); i++) {
		ok &= CHECK(regs[i] == sent[i], "x%u is 0x%lx after HVC 0x%lx, was 0x%lx", i, regs[i], fid, sent[i]);
	}
	if (ok) {
		tprintf("hvc: 0x%lx with x%u..x30 set -> status %ld, x4..x30 preserved\n", fid, first, status);
	}
}

static void check_error_results(const struct moat_result *r, long status)
{
	CHECK_EQ(r->status, status);
	CHECK_EQ(r->r1, 0);
	CHECK_EQ(r->r2, 0);
	CHECK_EQ(r->r3, 0);
}

TEST(hvc_version)
{
	struct moat_result r = moat_hvc(MOAT_FN_VERSION, 0, 0, 0);

	tprintf("hvc: MOAT_FN_VERSION -> status %ld, version 0x%lx\n", r.status, r.r1);
	CHECK_EQ(r.status, MOAT_OK);
	CHECK_EQ(r.r1, (MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR);
	/* errors give x1..x3 = 0 */
	r = moat_hvc(MOAT_FN(0x7ff), 1, 2, 3);
	tprintf("hvc: MOAT_FN(0x7ff) -> status %ld\n", r.status);
	check_error_results(&r, MOAT_E_NOT_SUPPORTED);
	/* unused arguments must be zero */
	r = moat_hvc6(MOAT_FN_VERSION, 0, 0, 0, 0x4444, 0x5555, 0x6666);
	tprintf("hvc: MOAT_FN_VERSION with x4..x6 non-zero -> status %ld\n", r.status);
	check_error_results(&r, MOAT_E_INVAL);
	check_preserved_regs(MOAT_FN_VERSION, 7, MOAT_OK);
	check_preserved_regs(MOAT_FN_VERSION, 4, MOAT_E_INVAL);
	check_preserved_regs(MOAT_FN(0x7ff), 1, MOAT_E_NOT_SUPPORTED);
}
