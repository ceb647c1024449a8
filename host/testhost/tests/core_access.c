/*
 * Tests: the host touches memory and devices that are not its own and gets
 * exactly the synchronous external abort DESIGN.md §4 specifies, then
 * carries on. core_read, core_write, core_exec and core_read_el0 aim at the
 * core's reserved region; reserved_all reads and writes the first and last
 * word of every /reserved-memory child (the core's data, page database
 * included); fw_cfg aims at the fw_cfg device the core hides; device_exec
 * and device_exec_el0 fetch instructions from a device page the host does
 * own but that its stage 2 maps execute-never (a stage-2 permission fault,
 * which must be refused like the rest, not retried forever).
 *
 * tests/integration reads the "probe:" lines (the PA) and looks for the
 * core's "moat:" log line naming the same page: keep the format stable.
 */
#include "access.h"
#include "test.h"

/* Inside the core's region, away from its first page, 8-byte aligned. */
#define CORE_PROBE_OFFSET (0x1000 + 8)

static void report(const struct access *a, const char *what, bool faulted)
{
	if (faulted) {
		tprintf("probe: %s%s of %s at PA 0x%lx -> refused by moat (synchronous abort, ESR_EL1=0x%lx)\n",
			a->el0 ? "EL0 " : "", access_verb(a->kind), what, a->addr, last_fault.esr);
		tprintf("probe: taken at VBAR_EL1+0x%lx, FAR_EL1=0x%lx, host PC (ELR_EL1)=0x%lx, SPSR_EL1=0x%lx\n",
			last_fault.vector, last_fault.far, last_fault.elr, last_fault.spsr);
	} else {
		tprintf("probe: %s%s of %s at PA 0x%lx -> NOT refused\n", a->el0 ? "EL0 " : "",
			access_verb(a->kind), what, a->addr);
	}
}

static void refused_access_test(enum access_kind kind, bool el0, u64 addr, const char *what)
{
	struct access a = { .kind = kind, .el0 = el0, .addr = addr };
	bool faulted = access_probe(&a);

	report(&a, what, faulted);
	if (CHECK(faulted, "%s of 0x%lx did not fault", access_verb(kind), addr)) {
		access_check_injected_abort(&a);
	}
	host_still_running();
}

static void core_access_test(enum access_kind kind, bool el0)
{
	const struct reserved_region *core = platform_core_region();

	if (!CHECK(core, "the DTB has no /reserved-memory child for the core")) {
		return;
	}
	tprintf("probe: core memory is %s: 0x%lx-0x%lx\n", core->name, core->base, core->base + core->size - 1);
	refused_access_test(kind, el0, core->base + CORE_PROBE_OFFSET, "core memory");
}

TEST(core_read)
{
	core_access_test(ACCESS_READ, false);
}

TEST(core_write)
{
	core_access_test(ACCESS_WRITE, false);
}

TEST(core_exec)
{
	core_access_test(ACCESS_EXEC, false);
}

TEST(core_read_el0)
{
	core_access_test(ACCESS_READ, true);
}

TEST(fw_cfg)
{
	CHECK(plat.info.fw_cfg.size == 0, "the DTB still describes fw_cfg at 0x%lx", plat.info.fw_cfg.base);
	refused_access_test(ACCESS_READ, false, FW_CFG_DEFAULT_BASE, "the fw_cfg device");
}

/* The GIC distributor: the host's own device, mapped Device-nGnRE and execute-never at stage 2. */
static u64 xn_device_page(void)
{
	return plat.info.gicd.base;
}

TEST(device_exec)
{
	refused_access_test(ACCESS_EXEC, false, xn_device_page(), "an execute-never device page");
}

TEST(device_exec_el0)
{
	refused_access_test(ACCESS_EXEC, true, xn_device_page(), "an execute-never device page");
}

static void reserved_region_test(const struct reserved_region *r)
{
	const u64 addrs[] = { r->base, r->base + r->size - sizeof(u64) };

	for (unsigned int i = 0; i < ARRAY_SIZE(addrs); i++) {
		refused_access_test(ACCESS_READ, false, addrs[i], r->name);
		refused_access_test(ACCESS_WRITE, false, addrs[i], r->name);
	}
}

TEST(reserved_all)
{
	CHECK(plat.nr_reserved > 0, "the DTB has no /reserved-memory child");
	for (unsigned int i = 0; i < plat.nr_reserved; i++) {
		reserved_region_test(&plat.reserved[i]);
	}
	tprintf("reserved_all: %u regions refused\n", plat.nr_reserved);
}
