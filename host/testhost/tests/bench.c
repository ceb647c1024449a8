/*
 * `make bench` measurements (DESIGN §16). Under QEMU -icount shift=0 every
 * guest instruction advances virtual time by 1 ns, so counter deltas are
 * deterministic instruction counts: instructions = ticks * 1e9 / CNTFRQ.
 * Each line "BENCH: <name> <ticks> <n>" is turned into a table by
 * tools/bench.sh.
 */
#include "lib.h"
#include "sysreg.h"
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

/* ---- guest/mvcpu's bench mode: CPU_ON, virtual timer, IPI (two vCPUs on this one CPU) ---------------- */

#define BENCH_PPIS ((1U << 25) | (1U << 27)) /* maintenance, CNTV: taken at EL2 while a guest runs */

/* This CPU's redistributor: PPIs 25 and 27 group 1 and enabled, group 1 on (IRQs stay masked at EL1). */
static void bench_gic(bool on)
{
	if (on) {
		platform_gicd_on();
	}
	platform_gic_cpu(on, BENCH_PPIS);
}

/*
 * One host CPU, two vCPUs: run the vCPU a VCPU_ON or KICK exit names at once
 * (an idle host CPU would), switch away from one in WFI or off. The guest
 * times itself and prints "guest: mvcpu bench ..." lines.
 */
static void bench_mvcpu(void)
{
	static struct vmm_vm vm;
	struct moat_run *run[2];
	bool runnable[2] = { true, false };
	unsigned int cur = 0;
	u64 run1 = host_page_alloc();
	long ret, status = MOAT_OK;

	vm = (struct vmm_vm){ .console_echo = true, .max_vcpus = 2 };
	ret = vmm_create(&vm, MOAT_VM_PROTECTED, 16UL << 20);
	ret = ret ? ret : vmm_add_vcpu0(&vm);
	ret = ret ? ret : moat_hvc(MOAT_FN_SHARE_CORE, run1, 0, 0).status;
	ret = ret ? ret : moat_hvc(MOAT_FN_VCPU_CREATE, vm.handle, 1, run1).status;
	ret = ret ? ret : vmm_load(&vm, "mvcpu");
	ret = ret ? ret : vmm_finalize(&vm, 1);
	if (!CHECK_EQ(ret, MOAT_OK)) {
		return;
	}
	run[0] = vm.run;
	run[1] = (struct moat_run *)run1;
	bench_gic(true);
	for (unsigned int n = 0; n < 1000000; n++) {
		struct moat_result r = moat_hvc(MOAT_FN_VCPU_RUN, vm.handle, cur, 0);

		if (!CHECK_EQ(r.status, MOAT_OK)) {
			break;
		}
		if (r.r1 == MOAT_EXIT_VCPU_ON || r.r1 == MOAT_EXIT_KICK) {
			unsigned int t = r.r1 == MOAT_EXIT_VCPU_ON ? (unsigned int)run[cur]->u.vcpu_on.index & 1 : cur ^ 1;

			runnable[t] = true;
			cur = t;
			continue;
		}
		if (r.r1 == MOAT_EXIT_VCPU_OFF) {
			runnable[cur] = false;
		}
		if (r.r1 == MOAT_EXIT_VCPU_OFF || r.r1 == MOAT_EXIT_WFI || r.r1 == MOAT_EXIT_IRQ) {
			cur = runnable[cur ^ 1] ? cur ^ 1 : cur;
			continue;
		}
		vm.run = run[cur];
		if (!vmm_handle_exit(&vm, r.r1, &status)) {
			break;
		}
	}
	vm.run = run[0];
	bench_gic(false);
	CHECK_EQ(status, MOAT_OK);
	CHECK_EQ(vm.last_exit, MOAT_EXIT_SYSTEM_OFF);
	CHECK(vmm_destroy(&vm) > 0, "destroy failed");
	CHECK_EQ(moat_hvc(MOAT_FN_UNSHARE_CORE, run1, 0, 0).status, MOAT_OK);
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
	bench_mvcpu();
}
