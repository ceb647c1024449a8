/*
 * Unit tests for core/cpu_power.c: the host's PSCI CPU_ON vetting and the
 * per-CPU power state, CPU_OFF, and the stop protocol in front of the reset
 * scrub (a vCPU running on another CPU makes the reset refused, never raced).
 * The fake firmware answers 0 to every call and records its arguments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cpu_power.h"
#include "fake_arch.h"
#include "fake_machine.h"
#include "host.h"
#include "psci.h"

#define FAKE_SECONDARY_ENTRY 0x5ec0000UL /* fake_arch.c's arch_secondary_entry_pa() */
#define HOST_CONTEXT 0xc0ffee0000UL

static struct fake_machine m;

static int setup(void **state)
{
	fake_machine_init(&m, 64);
	m.plat.nr_cpus = 4;
	m.plat.cpu_mpidr[0] = 0;
	m.plat.cpu_mpidr[1] = 1;
	m.plat.cpu_mpidr[2] = 2;
	m.plat.cpu_mpidr[3] = 0x100; /* Aff1 = 1 */
	fake.mpidr = 0x80000000UL;   /* RES1 bit 31: not an affinity bit */
	cpu_power_init(&m.plat);
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(&m);
	return 0;
}

static bool console_has(const char *s)
{
	return strstr(fake.console, s) != NULL;
}

static void test_cpu_on_refusals(void **state)
{
	u64 entry = fm_host_page(&m);

	assert_int_equal(cpu_power_host_cpu_on(3, entry, HOST_CONTEXT), PSCI_RET_INVALID_PARAMS);
	assert_int_equal(cpu_power_host_cpu_on(0x80000001UL, entry, HOST_CONTEXT), PSCI_RET_INVALID_PARAMS);
	assert_int_equal(cpu_power_host_cpu_on(1UL << 32, entry, HOST_CONTEXT), PSCI_RET_INVALID_PARAMS);
	/* The core's own memory, a page outside RAM (the UART), address 0. */
	assert_int_equal(cpu_power_host_cpu_on(1, m.core_base, HOST_CONTEXT), PSCI_RET_INVALID_ADDRESS);
	assert_int_equal(cpu_power_host_cpu_on(1, m.pagedb_pa + 0x10, HOST_CONTEXT), PSCI_RET_INVALID_ADDRESS);
	assert_int_equal(cpu_power_host_cpu_on(1, FM_UART, HOST_CONTEXT), PSCI_RET_INVALID_ADDRESS);
	assert_int_equal(cpu_power_host_cpu_on(1, 0, HOST_CONTEXT), PSCI_RET_INVALID_ADDRESS);
	assert_int_equal(fake.firmware_calls, 0);
	assert_true(console_has("is not in host-owned RAM"));
	assert_int_equal(cpu_power_state_of(1), CPU_OFF);
}

static void test_cpu_on_forwards_core_entry(void **state)
{
	u64 entry = fm_host_page(&m) + 0x88, got_entry = 0, got_ctx = 0;

	assert_int_equal(cpu_power_host_cpu_on(0x100, entry, HOST_CONTEXT), PSCI_RET_SUCCESS);
	assert_int_equal(fake.firmware_calls, 1);
	/* The firmware sees the core's entry point and the target's index, never the host's values. */
	assert_int_equal(fake.last_firmware_args[0], PSCI_CPU_ON_64);
	assert_int_equal(fake.last_firmware_args[1], 0x100);
	assert_int_equal(fake.last_firmware_args[2], FAKE_SECONDARY_ENTRY);
	assert_int_equal(fake.last_firmware_args[3], 3);
	assert_int_equal(cpu_power_state_of(3), CPU_ON_PENDING);
	/* A second CPU_ON before the target is up: ON_PENDING, not forwarded. */
	assert_int_equal(cpu_power_host_cpu_on(0x100, entry, 1), PSCI_RET_ON_PENDING);
	assert_int_equal(fake.firmware_calls, 1);
	/* The target comes up with the first caller's entry and context. */
	assert_true(cpu_power_secondary_started(3, &got_entry, &got_ctx));
	assert_int_equal(got_entry, entry);
	assert_int_equal(got_ctx, HOST_CONTEXT);
	assert_int_equal(cpu_power_state_of(3), CPU_ON);
	assert_int_equal(cpu_power_host_cpu_on(0x100, entry, 1), PSCI_RET_ALREADY_ON);
	assert_int_equal(cpu_power_host_cpu_on(0, entry, 1), PSCI_RET_ALREADY_ON); /* the boot CPU */
	assert_int_equal(fake.firmware_calls, 1);
	/* A start-up nobody asked for (or a second one) gets nothing to enter. */
	assert_false(cpu_power_secondary_started(3, &got_entry, &got_ctx));
	assert_false(cpu_power_secondary_started(2, &got_entry, &got_ctx));
	assert_false(cpu_power_secondary_started(MAX_CPUS, &got_entry, &got_ctx));
}

static void test_cpu_on_smc32_and_off(void **state)
{
	struct cpu_regs r = { 0 };
	u64 entry = fm_host_page(&m), e, c;

	/* SMC32: the upper halves are not part of the call (0x1_0000_0001 is MPIDR 1). */
	r.x[0] = PSCI_CPU_ON_32;
	r.x[1] = (1UL << 32) | 1;
	r.x[2] = (0xffffffffUL << 32) | entry;
	r.x[3] = (7UL << 32) | 5;
	host_smc(&r);
	assert_int_equal(r.x[0], PSCI_RET_SUCCESS);
	assert_int_equal(fake.last_firmware_args[1], 1);
	assert_true(cpu_power_secondary_started(1, &e, &c));
	assert_int_equal(e, entry);
	assert_int_equal(c, 5);
	/* CPU_OFF on CPU 1: off for the core before the firmware call; CPU_ON works again. */
	fake.cpu = 1;
	cpu_power_off_begin();
	fake.cpu = 0;
	assert_int_equal(cpu_power_state_of(1), CPU_OFF);
	assert_int_equal(cpu_power_host_cpu_on(1, entry, 6), PSCI_RET_SUCCESS);
	assert_true(cpu_power_secondary_started(1, &e, &c));
	assert_int_equal(c, 6);
	/* A CPU_OFF the firmware refuses (the fake returns): the CPU is still on. */
	fake.cpu = 1;
	r = (struct cpu_regs){ 0 };
	r.x[0] = PSCI_CPU_OFF;
	host_smc(&r);
	fake.cpu = 0;
	assert_int_equal(cpu_power_state_of(1), CPU_ON);
}

static void test_reset_refused_while_guest_runs(void **state)
{
	struct cpu_regs r = { 0 };
	bool kicked = false;

	fake.cpu = 1;
	cpu_power_guest_enter(); /* CPU 1 is inside a guest and never leaves it */
	fake.cpu = 0;
	r.x[0] = PSCI_SYSTEM_RESET;
	host_smc(&r);
	assert_int_equal((s64)r.x[0], PSCI_RET_DENIED);
	assert_int_equal(fake.firmware_calls, 0);
	assert_false(console_has("reset: scrubbed"));
	assert_true(console_has("reset refused: CPU 1 did not leave its guest"));
	for (size_t i = 0; i < fake.nr_ops; i++) {
		kicked |= fake.ops[i].op == FAKE_KICK_OTHERS;
	}
	assert_true(kicked);
	/* Refused, not stuck: once CPU 1 is out of its guest the reset goes through. */
	fake.cpu = 1;
	cpu_power_guest_exit();
	fake.cpu = 0;
	r = (struct cpu_regs){ 0 };
	r.x[0] = PSCI_SYSTEM_RESET;
	host_smc(&r);
	assert_int_equal(fake.firmware_calls, 1);
	assert_int_equal(fake.last_firmware_fid, PSCI_SYSTEM_RESET);
	assert_true(console_has("reset: scrubbed"));
	assert_false(console_has("stop SGI sent")); /* no guest ran: no kick, no wait */
}

static void resume_from_wfe(void)
{
	cpu_power_resume_others();
}

static void test_guest_entry_parks_while_stopping(void **state)
{
	unsigned int wfes = 0, dsb_before_exit = 0;

	/* CPU 0 stops the system (no guest runs: no kick, no wait). */
	assert_true(cpu_power_stop_others());
	for (size_t i = 0; i < fake.nr_ops; i++) {
		assert_int_not_equal(fake.ops[i].op, FAKE_KICK_OTHERS);
	}
	/* CPU 1 about to enter a guest parks in WFE until the stop ends (the hook ends it). */
	fake.wfe_hook = resume_from_wfe;
	fake.cpu = 1;
	cpu_power_guest_enter();
	for (size_t i = 0; i < fake.nr_ops; i++) {
		wfes += fake.ops[i].op == FAKE_WFE;
	}
	assert_int_equal(wfes, 1);
	/* The exit publishes the guest's stores (DSB) before the flag the stopper reads. */
	fake.nr_ops = 0;
	cpu_power_guest_exit();
	for (size_t i = 0; i < fake.nr_ops; i++) {
		dsb_before_exit += fake.ops[i].op == FAKE_DSB_ISH;
	}
	assert_int_equal(dsb_before_exit, 1);
	fake.cpu = 0;
	fake.wfe_hook = NULL;
}

static void test_boot_cpu_not_first(void **state)
{
	fake.mpidr = 2; /* the DTB lists 0 first */
	cpu_power_init(&m.plat);
	assert_int_equal(cpu_power_host_cpu_on(1, fm_host_page(&m), 0), PSCI_RET_INVALID_PARAMS);
	assert_true(console_has("is not the DTB's first CPU"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cpu_on_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_on_forwards_core_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_on_smc32_and_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_refused_while_guest_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_entry_parks_while_stopping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_cpu_not_first, setup, teardown),
	};

	return cmocka_run_group_tests_name("cpu_power", tests, NULL, NULL);
}
