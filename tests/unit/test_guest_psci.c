/*
 * Unit tests for guest PSCI power management (core/guest_psci.c) on the fake
 * machine, through VCPU_RUN: a VM with three vCPUs, vCPU 0 on from the boot,
 * the others off until the guest's own CPU_ON.
 *
 *   - secondaries start off: VCPU_RUN of one ends at once with VCPU_OFF, the
 *     guest never entered; AFFINITY_INFO says OFF;
 *   - CPU_ON: SUCCESS and a VCPU_ON exit naming the target, ON_PENDING until
 *     the target first runs, then ON; the target starts at the guest's entry
 *     point with x0 = its context ID, EL1h masked, MMU off, GPRs cleared;
 *   - exact PSCI codes: ALREADY_ON, ON_PENDING, INVALID_PARAMETERS for a bad
 *     MPIDR (out of range, never created, Aff1..3 or other bits set) or
 *     affinity level, INVALID_ADDRESS for a bad entry point; nothing changes;
 *   - CPU_ON of one target from two vCPUs: exactly one SUCCESS;
 *   - CPU_OFF: the caller's run ends with VCPU_OFF, AFFINITY_INFO says OFF,
 *     VCPU_RUN of it is VCPU_OFF until a new CPU_ON; CPU_OFF of the last vCPU
 *     on is allowed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <moat/abi.h>

#include "esr.h"
#include "fake_arch.h"
#include "fake_machine.h"
#include "psci.h"
#include "vcpu.h"
#include "vm.h"

#define EC(ec) ((u64)(ec) << ESR_EC_SHIFT)
#define NR_VCPUS 3
#define ENTRY (MOAT_GUEST_RAM_BASE + 0x1000)
#define CONTEXT 0xc0ffee5eed000001UL
#define RET(x) ((u64)(s64)(x))

static struct fake_machine machine;
static struct fake_machine *const m = &machine;

struct vm3 {
	u64 handle;
	u64 run_pa[NR_VCPUS];
};

/* The registers the guest holds when it takes the one scripted HVC; what a vCPU held when first entered. */
static u64 call_regs[4];
static struct cpu_regs first_entry;

static void exit_hook(struct vcpu *vcpu, unsigned int n)
{
	if (n == 0) {
		first_entry = vcpu->ctx.regs;
		memcpy(vcpu->ctx.regs.x, call_regs, sizeof(call_regs));
	}
}

static int setup(void **state)
{
	fake_machine_init(m, 32);
	fake.exit_hook = exit_hook;
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(m);
	return 0;
}

static struct vm3 build(unsigned int type)
{
	struct vm3 v;
	u64 res[3], root = fm_host_pair(m), memcache = fm_host_pages(m, FM_VM_MEMCACHE_PAGES), code;

	assert_int_equal(FM_CALLR(res, MOAT_FN_VM_CREATE, type, NR_VCPUS, root, FM_VM_RAM_SIZE, FM_VM_MMIO_BASE,
				  FM_VM_MMIO_SIZE),
			 MOAT_OK);
	v.handle = res[0];
	assert_int_equal(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, memcache, FM_VM_MEMCACHE_PAGES), MOAT_OK);
	for (unsigned int i = 0; i < NR_VCPUS; i++) {
		v.run_pa[i] = fm_host_page(m);
		assert_int_equal(FM_CALL(MOAT_FN_SHARE_CORE, v.run_pa[i]), MOAT_OK);
		assert_int_equal(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, i, v.run_pa[i]), MOAT_OK);
	}
	code = fm_host_page(m);
	assert_int_equal(FM_CALL(MOAT_FN_LOAD, v.handle, code, MOAT_GUEST_RAM_BASE), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_SET_BOOT, v.handle, FM_VM_BOOT_PC, FM_VM_BOOT_X0), MOAT_OK);
	assert_int_equal(FM_CALLR(res, MOAT_FN_FINALIZE, v.handle), MOAT_OK);
	return v;
}

static struct vcpu *vcpu_of(const struct vm3 *v, unsigned int i)
{
	struct vm *vm = vm_slot((unsigned int)(v->handle & 0xffff));

	assert_non_null(vm);
	return vm->vcpus[i];
}

static struct moat_run *run_page(const struct vm3 *v, unsigned int i)
{
	return (struct moat_run *)(uintptr_t)v->run_pa[i];
}

/* VCPU_RUN of vCPU i, which issues one HVC (then an IRQ ends the run if the guest continues). */
static u64 hvc_exit(const struct vm3 *v, unsigned int i, u64 x0, u64 x1, u64 x2, u64 x3)
{
	u64 res[3];

	fake.nr_exits = fake.next_exit = 0;
	call_regs[0] = x0;
	call_regs[1] = x1;
	call_regs[2] = x2;
	call_regs[3] = x3;
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_HVC64) | ESR_IL, 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, i), MOAT_OK);
	assert_int_equal(run_page(v, i)->exit_reason, res[0]);
	assert_int_equal(fm_violations(), 0);
	return res[0];
}

/* The guest's x0 after an HVC it continues from. */
static u64 hvc(const struct vm3 *v, unsigned int i, u64 x0, u64 x1, u64 x2, u64 x3)
{
	assert_int_equal(hvc_exit(v, i, x0, x1, x2, x3), MOAT_EXIT_IRQ);
	return vcpu_of(v, i)->ctx.regs.x[0];
}

static u64 affinity(const struct vm3 *v, unsigned int caller, u64 target)
{
	return hvc(v, caller, PSCI_AFFINITY_INFO_64, target, 0, 0);
}

/*
 * VCPU_RUN of an off vCPU: VCPU_OFF at once, the guest never entered -- and
 * this CPU's record of the vCPU it last ran unchanged, or the next vCPU of
 * the VM to run here could skip the local TLB flush it needs.
 */
static void expect_off_run(const struct vm3 *v, unsigned int i)
{
	unsigned int loads = fake.vcpu_loads;
	struct vm *vm = vm_slot((unsigned int)(v->handle & 0xffff));
	int last = vm->last_vcpu[fake.cpu];
	u64 res[3];

	fake.nr_exits = fake.next_exit = 0;
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, i), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_VCPU_OFF);
	assert_int_equal(run_page(v, i)->exit_reason, MOAT_EXIT_VCPU_OFF);
	assert_int_equal(fake.vcpu_loads, loads);
	assert_int_equal(fake.next_exit, 0);
	assert_false(vcpu_of(v, i)->loaded);
	assert_int_equal(vm->last_vcpu[fake.cpu], last);
}

/* CPU_ON from caller succeeds: the caller's run ends with VCPU_ON naming target. */
static void cpu_on_ok(const struct vm3 *v, unsigned int caller, unsigned int target, u64 entry, u64 context)
{
	assert_int_equal(hvc_exit(v, caller, PSCI_CPU_ON_64, target, entry, context), MOAT_EXIT_VCPU_ON);
	assert_int_equal(run_page(v, caller)->u.vcpu_on.index, target);
	assert_int_equal(vcpu_of(v, caller)->ctx.regs.x[0], PSCI_RET_SUCCESS);
}

static void test_secondaries_start_off(void **state)
{
	struct vm3 v = build(MOAT_VM_PROTECTED);

	expect_off_run(&v, 1);
	expect_off_run(&v, 2);
	assert_int_equal(affinity(&v, 0, 0), 0);
	assert_int_equal(affinity(&v, 0, 1), 1);
	assert_int_equal(affinity(&v, 0, 2), 1);
	assert_int_equal(hvc(&v, 0, PSCI_AFFINITY_INFO_32, 1, 0, 0), 1);
}

static void test_cpu_on(void **state)
{
	struct vm3 v = build(MOAT_VM_PROTECTED);
	struct vcpu *one = vcpu_of(&v, 1);

	one->ctx.regs.x[7] = 0x5ec2e7; /* left from before: must not survive the start */
	cpu_on_ok(&v, 0, 1, ENTRY, CONTEXT);
	assert_int_equal(affinity(&v, 0, 1), 2); /* ON_PENDING */
	assert_int_equal(hvc(&v, 0, PSCI_CPU_ON_64, 1, ENTRY, 0), RET(PSCI_RET_ON_PENDING));
	/* The target's first run: entered at the guest's entry point with its context ID. */
	assert_int_equal(hvc(&v, 1, PSCI_VERSION, 0, 0, 0), 0x10001);
	assert_int_equal(first_entry.elr, ENTRY);
	assert_int_equal(first_entry.x[0], CONTEXT);
	assert_int_equal(first_entry.x[7], 0);
	assert_int_equal(first_entry.spsr, 0x3c5);
	assert_int_equal(one->ctx.sys[SYS_SCTLR_EL1] & 1, 0);
	assert_int_equal(affinity(&v, 0, 1), 0);
	assert_int_equal(affinity(&v, 1, 1), 0);
	assert_int_equal(hvc(&v, 0, PSCI_CPU_ON_64, 1, ENTRY, 0), RET(PSCI_RET_ALREADY_ON));
	assert_int_equal(hvc(&v, 1, PSCI_CPU_ON_64, 0, ENTRY, 0), RET(PSCI_RET_ALREADY_ON));
	/* The SMC32 form: 32-bit arguments, the upper halves of x1..x3 ignored. */
	assert_int_equal(hvc_exit(&v, 1, PSCI_CPU_ON_32, 1UL << 32 | 2, 1UL << 40 | ENTRY, 0xffffffff00000002UL),
			 MOAT_EXIT_VCPU_ON);
	assert_int_equal(run_page(&v, 1)->u.vcpu_on.index, 2);
	assert_int_equal(hvc(&v, 2, PSCI_VERSION, 0, 0, 0), 0x10001);
	assert_int_equal(first_entry.elr, ENTRY);
	assert_int_equal(first_entry.x[0], 2);
}

static void test_bad_arguments(void **state)
{
	static const u64 bad_mpidr[] = {
		3, 99, ~0UL,	/* no such vCPU */
		1 | 1UL << 8,	/* Aff1 */
		1 | 1UL << 16,	/* Aff2 */
		1 | 1UL << 32,	/* Aff3 */
		1 | 1UL << 31,	/* MPIDR_EL1's RES1 bit: not part of an affinity */
		1 | 1UL << 40,
	};
	static const u64 bad_entry[] = {
		ENTRY + 2, 0, MOAT_GUEST_RAM_BASE - 4, MOAT_GUEST_RAM_BASE + FM_VM_RAM_SIZE, FM_VM_MMIO_BASE, ~3UL,
	};
	struct vm3 v = build(MOAT_VM_PROTECTED);

	for (unsigned int i = 0; i < ARRAY_SIZE(bad_mpidr); i++) {
		assert_int_equal(hvc(&v, 0, PSCI_CPU_ON_64, bad_mpidr[i], ENTRY, 0), RET(PSCI_RET_INVALID_PARAMS));
		assert_int_equal(affinity(&v, 0, bad_mpidr[i]), RET(PSCI_RET_INVALID_PARAMS));
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_entry); i++) {
		assert_int_equal(hvc(&v, 0, PSCI_CPU_ON_64, 1, bad_entry[i], 0), RET(PSCI_RET_INVALID_ADDRESS));
	}
	/* A bad MPIDR is reported before a bad address; ALREADY_ON before a bad address too. */
	assert_int_equal(hvc(&v, 0, PSCI_CPU_ON_64, 5, 1, 0), RET(PSCI_RET_INVALID_PARAMS));
	assert_int_equal(hvc(&v, 0, PSCI_CPU_ON_64, 0, 1, 0), RET(PSCI_RET_ALREADY_ON));
	/* Affinity levels above 0 are not supported. */
	assert_int_equal(hvc(&v, 0, PSCI_AFFINITY_INFO_64, 0, 1, 0), RET(PSCI_RET_INVALID_PARAMS));
	/* Nothing changed: both secondaries still off. */
	assert_int_equal(affinity(&v, 0, 1), 1);
	assert_int_equal(affinity(&v, 0, 2), 1);
	expect_off_run(&v, 1);
}

static void test_one_cpu_on_wins(void **state)
{
	struct vm3 v = build(MOAT_VM_NORMAL);

	cpu_on_ok(&v, 0, 1, ENTRY, 1);
	assert_int_equal(hvc(&v, 1, PSCI_VERSION, 0, 0, 0), 0x10001);
	/* vCPUs 0 and 1 both start vCPU 2: one SUCCESS, the other finds it pending. */
	cpu_on_ok(&v, 1, 2, ENTRY, 0x1111);
	assert_int_equal(hvc(&v, 0, PSCI_CPU_ON_64, 2, ENTRY + 4, 0x2222), RET(PSCI_RET_ON_PENDING));
	assert_int_equal(hvc(&v, 2, PSCI_VERSION, 0, 0, 0), 0x10001);
	assert_int_equal(first_entry.elr, ENTRY);
	assert_int_equal(first_entry.x[0], 0x1111); /* the winner's */
}

static void test_cpu_off(void **state)
{
	struct vm3 v = build(MOAT_VM_PROTECTED);
	struct vcpu *one = vcpu_of(&v, 1);

	cpu_on_ok(&v, 0, 1, ENTRY, 1);
	assert_int_equal(hvc(&v, 1, PSCI_VERSION, 0, 0, 0), 0x10001);
	one->ctx.regs.x[5] = 0x5555;
	/* CPU_OFF does not return to the guest: its run ends, and it stays off. */
	assert_int_equal(hvc_exit(&v, 1, PSCI_CPU_OFF, 0, 0, 0), MOAT_EXIT_VCPU_OFF);
	assert_int_equal(fake.next_exit, 1); /* the IRQ after it was never reached */
	assert_int_equal(affinity(&v, 0, 1), 1);
	expect_off_run(&v, 1);
	/* Started again, at a new entry point, nothing of its old registers left. */
	cpu_on_ok(&v, 0, 1, ENTRY + 0x100, 7);
	assert_int_equal(hvc(&v, 1, PSCI_VERSION, 0, 0, 0), 0x10001);
	assert_int_equal(first_entry.elr, ENTRY + 0x100);
	assert_int_equal(first_entry.x[0], 7);
	assert_int_equal(first_entry.x[5], 0);
	/* The last vCPUs on may go off too: the VM then only waits for nothing. */
	assert_int_equal(hvc_exit(&v, 1, PSCI_CPU_OFF, 0, 0, 0), MOAT_EXIT_VCPU_OFF);
	assert_int_equal(hvc_exit(&v, 0, PSCI_CPU_OFF, 0, 0, 0), MOAT_EXIT_VCPU_OFF);
	expect_off_run(&v, 0);
	expect_off_run(&v, 1);
	expect_off_run(&v, 2);
	/* And is destroyed like any other. */
	assert_int_equal(FM_CALL(MOAT_FN_VM_DESTROY, v.handle), MOAT_OK);
	assert_int_equal(fm_violations(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secondaries_start_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_cpu_on_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
