/*
 * Unit tests for core/guest_refuse.c through VCPU_RUN on the fake machine:
 * what a guest gets for the accesses the core refuses or answers without
 * effect, and the log lines they leave.
 *
 *   - trapped system registers: RAZ/WI, one line per register per VM, the
 *     written value never in the log;
 *   - ID registers in the run loop: reads from the guest view and silent,
 *     writes UNDEFINED and logged; a completed one ends a guest's single step;
 *   - unknown PSCI/SMCCC calls and SMCs: their answer, one line each per
 *     VM; FEATURES queries answered NOT_SUPPORTED and PSCI answers such as
 *     CPU_ON's INVALID_PARAMETERS are not refusals;
 *   - debug registers: a normal VM's its own through load/put, a protected VM's RAZ/WI;
 *   - traps of hidden features (SVE): UNDEF, one line per class, the
 *     syndrome only for normal VMs;
 *   - the per-VM record: a new VM starts empty; when it fills, one line says
 *     so and further kinds stay silent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <moat/abi.h>

#include "esr.h"
#include "fake_arch.h"
#include "fake_machine.h"
#include "idregs.h"
#include "inject.h"
#include "psci.h"
#include "vcpu.h"
#include "vm.h"

#define EC(ec) ((u64)(ec) << ESR_EC_SHIFT)
#define SECRET 0x5ec2e7c0ffee5ec2UL
#define FN_OEM_UNASSIGNED 0x83000001UL

static struct fake_machine machine;
static struct fake_machine *const m = &machine;

/* Per scripted exit: the x0/x1/x4 the guest holds when it takes it (x0 = function ID for HVC/SMC). */
static struct {
	bool set;
	u64 x0, x1, x4;
} script[64];

static void exit_hook(struct vcpu *vcpu, unsigned int n)
{
	if (n < fake.nr_exits && n < 64 && script[n].set) {
		vcpu->ctx.regs.x[0] = script[n].x0;
		vcpu->ctx.regs.x[1] = script[n].x1;
		vcpu->ctx.regs.x[4] = script[n].x4;
	}
}

/* cortex-a72 as QEMU 7.2 reports it: only the registers these tests read. */
static const struct idreg_set cpu = { {
	[ID_AA64PFR0] = 0x1000222,
	[ID_AA64DFR0] = 0x10305106,
	[ID_AA64ISAR0] = 0x11120,
	[ID_AA64MMFR0] = 0x1124,
} };

static int setup(void **state)
{
	fake_machine_init(m, 32);
	memset(script, 0, sizeof(script));
	fake.exit_hook = exit_hook;
	idregs_init(&cpu);
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(m);
	return 0;
}

static u64 sysreg_esr(unsigned int op0, unsigned int op1, unsigned int crn, unsigned int crm, unsigned int op2,
		      unsigned int rt, bool read)
{
	return EC(EC_SYSREG) | ESR_IL | ((u64)op0 << 20) | ((u64)op2 << 17) | ((u64)op1 << 14) | ((u64)crn << 10) |
	       ((u64)rt << 5) | ((u64)crm << 1) | (read ? 1 : 0);
}

static void queue(u64 esr, u64 x0, u64 x1, u64 x4)
{
	unsigned int n = fake.nr_exits;

	script[n] = (typeof(script[n])){ true, x0, x1, x4 };
	fake_queue_exit(GUEST_EXIT_SYNC, esr, 0, 0);
}

/* One VCPU_RUN of the queued exits, ended by an IRQ exit. */
static void run_all(const struct fm_vm *v)
{
	u64 res[3];

	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, 0), MOAT_OK);
	assert_int_equal(res[0], MOAT_EXIT_IRQ);
}

static unsigned int count(const char *needle)
{
	unsigned int n = 0;

	for (const char *p = fake.console; (p = strstr(p, needle)); p++) {
		n++;
	}
	return n;
}

static struct guest_context *ctx(const struct fm_vm *v)
{
	return &fm_vcpu(v, 0)->ctx;
}

static void test_sysreg_raz_wi_logged_once(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	char line[128], secret[32];

	queue(sysreg_esr(3, 0, 1, 0, 1, 4, false), 0, 0, SECRET); /* MSR ACTLR_EL1, x4 */
	queue(sysreg_esr(3, 0, 1, 0, 1, 4, false), 0, 0, SECRET);
	queue(sysreg_esr(3, 0, 1, 0, 1, 3, true), 0, 0, SECRET); /* MRS x3, ACTLR_EL1 */
	queue(sysreg_esr(1, 0, 7, 14, 2, 0, false), 0, 0, SECRET); /* DC CISW */
	queue(sysreg_esr(1, 0, 7, 14, 2, 0, false), 0, 0, SECRET);
	ctx(&v)->regs.x[3] = 0x33;
	run_all(&v);
	assert_int_equal(ctx(&v)->regs.x[3], 0);
	assert_int_equal(ctx(&v)->regs.x[4], SECRET);
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC + 5 * 4);
	assert_int_equal(fake.injected, 0);
	snprintf(line, sizeof(line),
		 "vm%u vcpu0: MSR ACTLR_EL1 (S3_0_C1_C0_1): read as zero, writes ignored (RAZ/WI)\r\n", v.slot);
	assert_int_equal(count(line), 1);
	assert_int_equal(count("ACTLR_EL1"), 1);
	snprintf(line, sizeof(line), "vm%u vcpu0: SYS DC CISW (S1_0_C7_C14_2): ignored\r\n", v.slot);
	assert_int_equal(count(line), 1);
	/* The value the guest wrote appears nowhere. */
	snprintf(secret, sizeof(secret), "%lx", SECRET);
	assert_null(strstr(fake.console, secret));
	assert_null(strstr(fake.console, "ec2e7c0ffee"));

	/* A register without a name is named by its encoding; debug registers by number. */
	queue(sysreg_esr(3, 3, 9, 12, 0, 2, true), 0, 0, 0);  /* PMCR_EL0 */
	queue(sysreg_esr(2, 0, 0, 5, 4, 2, false), 0, 0, 0);  /* DBGBVR5_EL1 */
	queue(sysreg_esr(3, 5, 15, 3, 2, 2, false), 0, 0, 0); /* implementation defined */
	run_all(&v);
	assert_int_equal(count("MRS PMCR_EL0 (S3_3_C9_C12_0): read as zero"), 1);
	assert_int_equal(count("MSR DBGBVR5_EL1 (S2_0_C0_C5_4): read as zero"), 1);
	assert_int_equal(count("MSR register (S3_5_C15_C3_2): read as zero"), 1);
}

static void test_idregs_in_run_loop(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	char line[128];

	queue(sysreg_esr(3, 0, 0, 4, 0, 2, true), 0, 0, 0); /* MRS x2, ID_AA64PFR0_EL1 */
	queue(sysreg_esr(3, 0, 0, 5, 0, 5, true), 0, 0, 0); /* MRS x5, ID_AA64DFR0_EL1 */
	queue(sysreg_esr(3, 0, 0, 7, 0, 6, true), 0, 0, 0); /* MRS x6, ID_AA64MMFR0_EL1 */
	run_all(&v);
	assert_int_equal(ctx(&v)->regs.x[2], 0x1000011);
	assert_int_equal(ctx(&v)->regs.x[5], 0x000f00f000000000);
	assert_int_equal(ctx(&v)->regs.x[6], 0x1122);
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC + 12);
	assert_null(strstr(fake.console, "vcpu0"));

	queue(sysreg_esr(3, 0, 0, 4, 0, 2, false), 0, 0, 0); /* MSR ID_AA64PFR0_EL1, x2 */
	queue(sysreg_esr(3, 0, 0, 4, 0, 2, false), 0, 0, 0);
	run_all(&v);
	assert_int_equal(fake.injected, 2);
	assert_int_equal(fake.last_esr_el1, ESR_IL); /* EC 0: undefined instruction */
	snprintf(line, sizeof(line),
		 "vm%u vcpu0: MSR ID_AA64PFR0_EL1 (S3_0_C0_C4_0): undefined instruction injected\r\n", v.slot);
	assert_int_equal(count(line), 1);
}

/*
 * A guest single-stepping (PSTATE.SS 1) an instruction the core completes:
 * the step is complete too, SS goes to 0 so the guest takes its step exception
 * before the next instruction (guest/debug shows it on QEMU). An HVC is past
 * already when it traps (ELR after it): its SPSR.SS is the CPU's, left alone.
 */
static void test_completed_instruction_ends_step(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_NORMAL, 0);
	u64 spsr = ctx(&v)->regs.spsr | PSR_SS, elr = ctx(&v)->regs.elr;

	ctx(&v)->regs.spsr = spsr;
	queue(EC(EC_HVC64) | ESR_IL, PSCI_VERSION, 0, 0);
	run_all(&v);
	assert_int_equal(ctx(&v)->regs.spsr, spsr);
	assert_int_equal(ctx(&v)->regs.elr, elr);
	queue(sysreg_esr(3, 0, 0, 4, 0, 2, true), 0, 0, 0); /* MRS x2, ID_AA64PFR0_EL1 */
	run_all(&v);
	assert_int_equal(ctx(&v)->regs.spsr, spsr & ~PSR_SS);
	assert_int_equal(ctx(&v)->regs.elr, elr + 4);
}

/*
 * Debug registers through VCPU_RUN: a normal VM's are its own (guest_debug.c,
 * switched in at its first access and out at put: the host's are back when
 * VCPU_RUN returns), written masked, not refusals; a protected VM's are RAZ/WI
 * and logged by number.
 */
static void test_debug_registers(void **state)
{
	struct fm_vm nv = fm_build_vm(m, MOAT_VM_NORMAL, 0), pv = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	char line[128];

	fake.dbg.bcr[0] = 0x1e4;
	fake.dbg.bvr[0] = 0x123450;
	queue(sysreg_esr(2, 0, 0, 0, 5, 4, false), 0, 0, 0x1e7 | 3UL << 14 | 1UL << 13); /* MSR DBGBCR0_EL1: SSC, HMC */
	queue(sysreg_esr(2, 0, 0, 0, 4, 4, false), 0, 0, FM_VM_BOOT_PC);		  /* MSR DBGBVR0_EL1 */
	run_all(&nv);
	assert_true(fm_vcpu(&nv, 0)->dbg_used);
	assert_int_equal(fake.dbg.bcr[0], 0x1e4); /* the host's, back at put */
	assert_int_equal(fake.dbg.bvr[0], 0x123450);
	queue(sysreg_esr(2, 0, 0, 0, 5, 3, true), 0, 0, 0); /* MRS x3, DBGBCR0_EL1 */
	run_all(&nv);
	assert_int_equal(ctx(&nv)->regs.x[3], 0x1e7); /* the guest's, HMC and SSC masked */
	assert_int_equal(fake.dbg.bcr[0], 0x1e4);
	assert_null(strstr(fake.console, "DBGBCR0"));
	assert_int_equal(fake.injected, 0);

	queue(sysreg_esr(2, 0, 0, 0, 5, 4, false), 0, 0, 0x1e7);
	queue(sysreg_esr(2, 0, 0, 0, 5, 3, true), 0, 0, 0);
	ctx(&pv)->regs.x[3] = 0x33;
	run_all(&pv);
	assert_false(fm_vcpu(&pv, 0)->dbg_used);
	assert_int_equal(ctx(&pv)->regs.x[3], 0);
	assert_int_equal(fake.dbg.bcr[0], 0x1e4);
	snprintf(line, sizeof(line),
		 "vm%u vcpu0: MSR DBGBCR0_EL1 (S2_0_C0_C0_5): read as zero, writes ignored (RAZ/WI)\r\n", pv.slot);
	assert_int_equal(count(line), 1);
}

static void test_calls_logged_once(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	char line[160];

	for (unsigned int i = 0; i < 2; i++) {
		queue(EC(EC_HVC64) | ESR_IL, FN_OEM_UNASSIGNED, 0, 0);
		queue(EC(EC_HVC64) | ESR_IL, PSCI_CPU_ON_64, 1, 0); /* vCPU 1 never created: an answer (-2) */
		queue(EC(EC_SMC64) | ESR_IL, PSCI_VERSION, 0, 0);
		queue(EC(EC_HVC64) | ESR_IL, PSCI_FEATURES, FN_OEM_UNASSIGNED, 0); /* an answer, not a refusal */
	}
	run_all(&v);
	assert_int_equal(ctx(&v)->regs.x[0], (u64)(s64)PSCI_RET_NOT_SUPPORTED); /* the last FEATURES */
	snprintf(line, sizeof(line), "vm%u vcpu0: HVC function 0x83000001: NOT_SUPPORTED\r\n", v.slot);
	assert_int_equal(count(line), 1);
	assert_int_equal(count("CPU_ON"), 0);
	snprintf(line, sizeof(line), "vm%u vcpu0: SMC function 0x84000000: NOT_SUPPORTED", v.slot);
	assert_int_equal(count(line), 1);
	assert_int_equal(count("0x8400000a"), 0);
	assert_int_equal(count("vcpu0:"), 2);
	assert_int_equal(fake.firmware_calls, 0);
}

static void test_each_vm_logs_its_own(void **state)
{
	struct fm_vm a = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct fm_vm b = fm_build_vm(m, MOAT_VM_NORMAL, 0);

	queue(EC(EC_SMC64) | ESR_IL, PSCI_VERSION, 0, 0);
	run_all(&a);
	queue(EC(EC_SMC64) | ESR_IL, PSCI_VERSION, 0, 0);
	run_all(&b);
	queue(EC(EC_SMC64) | ESR_IL, PSCI_VERSION, 0, 0);
	run_all(&a);
	assert_int_equal(count("SMC function 0x84000000"), 2);

	/* A VM created in a reused slot starts with an empty record. */
	assert_int_equal(FM_CALL(MOAT_FN_VM_DESTROY, a.handle), MOAT_OK);
	a = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	queue(EC(EC_SMC64) | ESR_IL, PSCI_VERSION, 0, 0);
	run_all(&a);
	assert_int_equal(count("SMC function 0x84000000"), 3);
}

static void test_hidden_feature_traps(void **state)
{
	struct fm_vm p = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct fm_vm n = fm_build_vm(m, MOAT_VM_NORMAL, 0);
	char line[160];

	queue(EC(EC_SVE) | ESR_IL, 0, 0, 0);
	queue(EC(EC_SVE) | ESR_IL, 0, 0, 0);
	queue(EC(EC_SME) | ESR_IL | 1, 0, 0, 0);
	queue(EC(EC_PAUTH) | ESR_IL, 0, 0, 0);
	run_all(&p);
	assert_int_equal(fake.injected, 4);
	assert_int_equal(fake.last_esr_el1, ESR_IL);
	snprintf(line, sizeof(line),
		 "vm%u vcpu0: SVE instruction or register, hidden from guests (EC 0x19): undefined instruction "
		 "injected\r\n",
		 p.slot);
	assert_int_equal(count(line), 1);
	snprintf(line, sizeof(line), "vm%u vcpu0: SME instruction or register, hidden from guests (EC 0x1d): ", p.slot);
	assert_int_equal(count(line), 1);
	snprintf(line, sizeof(line), "vm%u vcpu0: pointer authentication instruction, hidden from guests (EC 0x9): ",
		 p.slot);
	assert_int_equal(count(line), 1);
	assert_int_equal(count("ESR"), 0); /* a protected guest's syndrome stays its own */

	queue(EC(EC_SVE) | ESR_IL, 0, 0, 0);
	run_all(&n);
	snprintf(line, sizeof(line),
		 "vm%u vcpu0: SVE instruction or register, hidden from guests (EC 0x19, ESR 0x66000000)", n.slot);
	assert_int_equal(count(line), 1);
}

static void test_record_fills(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	char line[128];

	/* VM_REFUSALS_LOGGED + 2 different implementation-defined registers, each twice. */
	for (unsigned int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < VM_REFUSALS_LOGGED + 2; i++) {
			queue(sysreg_esr(3, 0, 15, i / 8, i % 8, 1, true), 0, 0, 0);
		}
		run_all(&v);
		fake.nr_exits = fake.next_exit = 0;
	}
	assert_int_equal(count("read as zero"), VM_REFUSALS_LOGGED);
	snprintf(line, sizeof(line), "vm%u: %u kinds of refused guest access logged; further kinds are not\r\n", v.slot,
		 VM_REFUSALS_LOGGED);
	assert_int_equal(count(line), 1);
	assert_int_equal(count("(S3_0_C15_C2_0)"), 0); /* the 17th */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sysreg_raz_wi_logged_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idregs_in_run_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_completed_instruction_ends_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calls_logged_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_vm_logs_its_own, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_feature_traps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_fills, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
