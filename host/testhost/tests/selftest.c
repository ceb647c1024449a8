/*
 * Test: the test host's own fault machinery, independent of moat.
 *
 * Probes that must succeed (own memory, a function that returns) and probes
 * of a PA with nothing behind it, which QEMU itself answers with an
 * external abort when no hypervisor is present. Run it standalone
 * (QEMU -kernel build/testhost.elf, no EL2) to check the test host before
 * blaming the core: it exercises recovery from EL1 and EL0, for data and
 * instruction aborts, and the syndrome recording.
 */
#include "access.h"
#include "test.h"

/* A hole in the virt memory map: between virtio-mmio and the platform bus. */
#define UNASSIGNED_PA 0x0b000000UL

static u64 scratch __attribute__((aligned(8)));

static void own_accesses(bool el0)
{
	u64 addr = (u64)(uintptr_t)&scratch;
	u64 val = 0;
	int (*rd)(u64, u64 *) = el0 ? probe_read64_el0 : probe_read64;
	int (*wr)(u64, u64) = el0 ? probe_write64_el0 : probe_write64;
	int (*ex)(u64) = el0 ? probe_exec_el0 : probe_exec;

	CHECK_EQ(wr(addr, 0x1234abcdUL + el0), 0);
	CHECK_EQ(rd(addr, &val), 0);
	CHECK_EQ(val, 0x1234abcdUL + el0);
	CHECK_EQ(ex((u64)(uintptr_t)probe_target_ret), 0);
	tprintf("selftest: %s: own read, write and call ok\n", el0 ? "EL0" : "EL1");
}

static void unassigned_access(enum access_kind kind, bool el0)
{
	struct access a = { .kind = kind, .el0 = el0, .addr = UNASSIGNED_PA };
	const struct fault_record *f = &last_fault;
	unsigned long before = f->count;

	if (!CHECK(access_probe(&a), "%s of unassigned PA did not fault", access_verb(kind))) {
		return;
	}
	tprintf("selftest: %s %s of 0x%lx -> ESR 0x%lx FAR 0x%lx ELR 0x%lx vector 0x%lx\n", el0 ? "EL0" : "EL1",
		access_verb(kind), a.addr, f->esr, f->far, f->elr, f->vector);
	CHECK_EQ(f->count, before + 1);
	/* QEMU's own abort has the same shape as moat's injected one */
	access_check_injected_abort(&a);
}

TEST(probe_selftest)
{
	own_accesses(false);
	own_accesses(true);
	unassigned_access(ACCESS_READ, false);
	unassigned_access(ACCESS_WRITE, false);
	unassigned_access(ACCESS_EXEC, false);
	unassigned_access(ACCESS_READ, true);
	unassigned_access(ACCESS_WRITE, true);
	unassigned_access(ACCESS_EXEC, true);
	host_still_running();
}

/*
 * Expected to end in TESTHOST-PANIC: an undefined instruction with no probe
 * armed must be reported (vector, ESR, FAR, ELR) and power the machine off.
 */
TEST(panic_selftest)
{
	tprintf("selftest: executing UDF #0 with no probe armed\n");
	__asm__ volatile("udf #0");
	CHECK(false, "the test host survived an unexpected exception");
}
