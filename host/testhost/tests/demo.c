/*
 * The `make run` demo: the host says, in plain words, what it can and cannot
 * touch. It writes and reads back its own RAM in every bank, then tries to
 * read, write and execute the core's memory and to read the fw_cfg device;
 * each of those must be refused with the abort moat injects, and the host
 * must keep running. Then it starts a protected VM, lets it print, and tries
 * to read the page that holds the guest's code: refused too, until the VM is
 * destroyed and the page comes back scrubbed. Passes only if everything
 * behaved as expected.
 */
#include "access.h"
#include "test.h"
#include "vmm.h"

#define DEMO_PATTERN 0x0123456789abcdefUL

/* First (or last) page of a bank the host may scribble on; 0 if none. */
static u64 free_page(const struct memmap *m, const struct fdt_range *bank, bool last)
{
	u64 end = bank->base + bank->size;

	for (u64 i = 0; i < bank->size / PAGE_SIZE; i++) {
		u64 pa = last ? end - (i + 1) * PAGE_SIZE : bank->base + i * PAGE_SIZE;

		if (memmap_page_free(m, pa)) {
			return pa;
		}
	}
	return 0;
}

static bool write_read(u64 pa)
{
	u64 val = 0;

	return !probe_write64(pa, DEMO_PATTERN ^ pa) && !probe_read64(pa, &val) && val == (DEMO_PATTERN ^ pa);
}

static void demo_own_ram(void)
{
	struct memmap m;

	memmap_build(&m);
	for (unsigned int i = 0; i < plat.info.nr_mem; i++) {
		const struct fdt_range *bank = &plat.info.mem[i];
		u64 lo = free_page(&m, bank, false), hi = free_page(&m, bank, true);
		bool ok = lo && hi && write_read(lo) && write_read(hi);

		tprintf("demo: my RAM 0x%lx-0x%lx (%lu MiB): write and read back at 0x%lx and 0x%lx -> %s\n",
			bank->base, bank->base + bank->size - 1, bank->size >> 20, lo, hi, ok ? "ok" : "FAILED");
		CHECK(ok, "own RAM bank 0x%lx: access failed", bank->base);
	}
}

/* One access that must be refused; returns 1 if it was, as expected. */
static unsigned int demo_refused(enum access_kind kind, u64 addr, const char *what)
{
	struct access a = { .kind = kind, .addr = addr };
	bool faulted = access_probe(&a);

	if (!faulted) {
		tprintf("demo: %-7s %s at 0x%lx -> NOT refused\n", access_verb(kind), what, addr);
		CHECK(false, "%s of %s at 0x%lx was not refused", access_verb(kind), what, addr);
		return 0;
	}
	tprintf("demo: %-7s %s at 0x%lx -> refused by moat (synchronous abort, ESR_EL1=0x%lx)\n",
		access_verb(kind), what, addr, last_fault.esr);
	return access_check_injected_abort(&a) ? 1 : 0;
}

/* A protected VM: it runs and prints, but its memory is out of the host's reach. */
static unsigned int demo_protected_vm(void)
{
	struct vmm_vm vm = { .console_echo = true };
	unsigned int refused;
	u64 word = ~0UL;

	tprintf("demo: starting a protected VM (guest image 'hello', 16 MiB of RAM)\n");
	if (!CHECK_EQ(vmm_build(&vm, MOAT_VM_PROTECTED, "hello", 16UL << 20, 0), MOAT_OK) ||
	    !CHECK_EQ(vmm_run(&vm), MOAT_OK)) {
		return 0;
	}
	tprintf("demo: the guest ran and powered off (%lu exits: %lu MMIO to my emulated UART, %lu pages on demand)\n",
		vm.exits, vm.mmio_exits, vm.mem_faults);
	refused = demo_refused(ACCESS_READ, vm.image_pa, "the protected guest's code page");
	refused += demo_refused(ACCESS_WRITE, vm.image_pa, "the protected guest's code page");
	CHECK(vmm_destroy(&vm) > 0, "destroy + reclaim failed");
	CHECK(!probe_read64(vm.image_pa, &word), "reclaimed page still refused");
	tprintf("demo: after destroy + reclaim the page is mine again and reads 0x%lx (scrubbed by moat)\n", word);
	CHECK_EQ(word, 0);
	return refused;
}

TEST(demo)
{
	const struct reserved_region *core = platform_core_region();
	unsigned int refused = 0;
	u64 target;

	tprintf("demo: I am the host kernel, running at EL%u; moat sits below me at EL2.\n", current_el());
	tprintf("demo: my device tree lists %u RAM bank(s) and %u CPU(s).\n", plat.info.nr_mem, plat.info.nr_cpus);
	demo_own_ram();
	if (!CHECK(core, "the DTB reserves no memory for the core")) {
		return;
	}
	tprintf("demo: moat's own memory is 0x%lx-0x%lx (%lu KiB), marked reserved (no-map) for me.\n", core->base,
		core->base + core->size - 1, core->size >> 10);
	target = core->base + 0x1000 + 8;
	refused += demo_refused(ACCESS_READ, target, "moat's memory");
	refused += demo_refused(ACCESS_WRITE, target, "moat's memory");
	refused += demo_refused(ACCESS_EXEC, target, "moat's memory");
	refused += demo_refused(ACCESS_READ, FW_CFG_DEFAULT_BASE, "the fw_cfg device");
	refused += demo_protected_vm();
	if (host_still_running()) {
		tprintf("demo: host kept running after %u refused accesses\n", refused);
	}
	CHECK_EQ(refused, 6);
}
