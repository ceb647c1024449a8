/*
 * VM smoke tests: a protected and a normal guest print through the emulated
 * PL011 and power off; their pages come back zeroed.
 */
#include "test.h"
#include "vmm.h"

static void run_hello(u64 type)
{
	struct vmm_vm vm = { .console_echo = true };
	long ret = vmm_build(&vm, type, "hello", 16UL << 20, 0);

	if (!CHECK_EQ(ret, MOAT_OK)) {
		return;
	}
	ret = vmm_run(&vm);
	CHECK_EQ(ret, MOAT_OK);
	CHECK_EQ(vm.last_exit, MOAT_EXIT_SYSTEM_OFF);
	CHECK(vm.mmio_exits > 20, "only %lu MMIO exits", vm.mmio_exits);
	tprintf("vm: %s guest: %lu exits (%lu MMIO, %lu memory faults)\n", type ? "protected" : "normal", vm.exits,
		vm.mmio_exits, vm.mem_faults);
	ret = vmm_destroy(&vm);
	CHECK(ret > 0, "destroy/reclaim returned %ld", ret);
}

TEST(vm_hello_protected)
{
	run_hello(MOAT_VM_PROTECTED);
}

TEST(vm_hello_normal)
{
	run_hello(MOAT_VM_NORMAL);
}
