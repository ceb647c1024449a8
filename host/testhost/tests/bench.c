/*
 * `make bench` measurements (DESIGN §16). Under QEMU -icount shift=0 every
 * guest instruction advances virtual time by 1 ns, so counter deltas are
 * deterministic instruction counts: instructions = ticks * 1e9 / CNTFRQ.
 * Each line "BENCH: <name> <ticks> <n>" is turned into a table by
 * tools/bench.sh.
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define HOST_CALLS 10000
#define DONATIONS 1000
#define CREATE_DESTROY 50

static u64 counter(void)
{
	u64 v;

	__asm__ volatile("isb; mrs %0, cntpct_el0" : "=r"(v) : : "memory");
	return v;
}

static void report(const char *name, u64 ticks, u64 n)
{
	tprintf("BENCH: %s %lu %lu\n", name, ticks, n);
}

static void bench_null_call(void)
{
	u64 t0 = counter();

	for (unsigned int i = 0; i < HOST_CALLS; i++) {
		moat_hvc(MOAT_FN_VERSION, 0, 0, 0);
	}
	report("host_null_call", counter() - t0, HOST_CALLS);
}

static bool bench_mmio(struct vmm_vm *vm, struct moat_run *run)
{
	run->u.mmio.value = 0;
	return true;
}

/* The guest measures itself and prints "guest: bench hvc_ticks=.. / mmio_ticks=.."; tools/bench.sh reads them. */
static void bench_guest_exits(void)
{
	struct vmm_vm vm = { .mmio = bench_mmio, .console_echo = true };

	if (!CHECK_EQ(vmm_build(&vm, MOAT_VM_PROTECTED, "bench", 16UL << 20, 0), MOAT_OK)) {
		return;
	}
	CHECK_EQ(vmm_run(&vm), MOAT_OK);
	CHECK(!strncmp(vm.last_line, "guest: bench mmio_ticks=", 24), "guest printed no bench result");
	vmm_destroy(&vm);
}

static void bench_donate(void)
{
	struct vmm_vm vm = { 0 };
	u64 pages[DONATIONS], t0;

	if (!CHECK_EQ(vmm_build(&vm, MOAT_VM_PROTECTED, "hello", 16UL << 20, 0), MOAT_OK)) {
		return;
	}
	for (unsigned int i = 0; i < 64; i++) {
		moat_hvc(MOAT_FN_DONATE_CORE, vm.handle, host_page_alloc(), 1);
	}
	for (unsigned int i = 0; i < DONATIONS; i++) {
		pages[i] = host_page_alloc();
	}
	t0 = counter();
	for (unsigned int i = 0; i < DONATIONS; i++) {
		moat_hvc(MOAT_FN_DONATE_VM, vm.handle, pages[i], MOAT_GUEST_RAM_BASE + 0x200000 + i * PAGE_SIZE);
	}
	report("donate_vm_per_page", counter() - t0, DONATIONS);
	moat_hvc(MOAT_FN_VM_DESTROY, vm.handle, 0, 0);
}

static void bench_create_destroy(void)
{
	u64 roots[CREATE_DESTROY], t0;

	for (unsigned int i = 0; i < CREATE_DESTROY; i++) {
		roots[i] = host_page_alloc_pair();
	}
	t0 = counter();
	for (unsigned int i = 0; i < CREATE_DESTROY; i++) {
		struct moat_result r = moat_hvc6(MOAT_FN_VM_CREATE, MOAT_VM_PROTECTED, 1, roots[i], 16UL << 20,
						 VMM_MMIO_BASE, VMM_MMIO_SIZE);

		moat_hvc(MOAT_FN_VM_DESTROY, r.r1, 0, 0);
		moat_hvc(MOAT_FN_RECLAIM, roots[i], 0, 0);
		moat_hvc(MOAT_FN_RECLAIM, roots[i] + PAGE_SIZE, 0, 0);
	}
	report("vm_create_destroy_reclaim", counter() - t0, CREATE_DESTROY);
}

TEST(bench)
{
	u64 freq;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	tprintf("BENCH-FREQ: %lu\n", freq);
	bench_null_call();
	bench_guest_exits();
	bench_donate();
	bench_create_destroy();
}
