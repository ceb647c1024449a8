/*
 * Unit tests for core/guest_debug.c on the fake arch's debug registers: a
 * normal vCPU's first debug access saves the host's breakpoints, watchpoints
 * and OS lock before any of the vCPU's goes in (its own reset state: zero,
 * OS lock locked), the HMC/SSC/BT[3] fields and the MDSCR_EL1 bits it must
 * not set are masked on the way to the CPU, put gives the host back exactly,
 * load brings the vCPU's back, a new vCPU in a reused slot starts from reset,
 * and protected VMs, other registers and registers beyond the CPU's count
 * are not touched (nor is anything switched for a vCPU that never used debug).
 * QEMU cannot show a breakpoint matching at EL2: the masks are checked here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_arch.h"
#include "guest_debug.h"
#include "idregs.h"
#include "moat/abi.h"
#include "vcpu.h"
#include "vm.h"

#define ELR 0x80001000ULL
/* cortex-a72's ID_AA64DFR0_EL1: DebugVer 6, PMUVer 1, BRPs 5 (6), WRPs 3 (4), CTX_CMPs 1. */
#define DFR0_A72 0x10305106ULL
#define NB 6
#define NW 4

#define HMC (1ULL << 13)
#define SSC (3ULL << 14)
#define BT3 (1ULL << 23)
#define OSLK (1ULL << 1)
#define OSLSR_LOCKED 0xaULL /* OSLM = 0b10, OSLK */

static u64 esr(unsigned int op0, unsigned int op1, unsigned int crn, unsigned int crm, unsigned int op2,
	       unsigned int rt, bool read)
{
	return (0x18ULL << 26) | (1ULL << 25) | ((u64)op0 << 20) | ((u64)op2 << 17) | ((u64)op1 << 14) |
	       ((u64)crn << 10) | ((u64)rt << 5) | ((u64)crm << 1) | (read ? 1 : 0);
}

#define ESR_DBGBVR(n, rt, rd) esr(2, 0, 0, n, 4, rt, rd)
#define ESR_DBGBCR(n, rt, rd) esr(2, 0, 0, n, 5, rt, rd)
#define ESR_DBGWVR(n, rt, rd) esr(2, 0, 0, n, 6, rt, rd)
#define ESR_DBGWCR(n, rt, rd) esr(2, 0, 0, n, 7, rt, rd)
#define ESR_MDSCR(rt, rd) esr(2, 0, 0, 2, 2, rt, rd)
#define ESR_OSLAR(rt) esr(2, 0, 1, 0, 4, rt, false)
#define ESR_OSLSR(rt) esr(2, 0, 1, 1, 4, rt, true)
#define ESR_OSDLR(rt, rd) esr(2, 0, 1, 3, 4, rt, rd)
#define ESR_ACTLR_EL1(rt, rd) esr(3, 0, 1, 0, 1, rt, rd)

static struct vm vm;
static struct vcpu vcpu;

/* The host's own programming: every register distinct, so a missed or misplaced restore shows. */
static void host_program(void)
{
	for (unsigned int n = 0; n < 16; n++) {
		fake.dbg.bvr[n] = 0x1000 + n * 4;
		fake.dbg.bcr[n] = 0x1e4 | (n << 16);
		fake.dbg.wvr[n] = 0x2000 + n * 8;
		fake.dbg.wcr[n] = 0x1ffc | (n << 16);
	}
	fake.dbg.oslsr = 0x8; /* the host has unlocked its OS lock */
	fake.dbg.mdscr = 1ULL << 15;
}

static void assert_host_back(void)
{
	for (unsigned int n = 0; n < 16; n++) {
		assert_int_equal(fake.dbg.bvr[n], 0x1000 + n * 4);
		assert_int_equal(fake.dbg.bcr[n], 0x1e4 | (n << 16));
		assert_int_equal(fake.dbg.wvr[n], 0x2000 + n * 8);
		assert_int_equal(fake.dbg.wcr[n], 0x1ffc | (n << 16));
	}
	assert_int_equal(fake.dbg.oslsr, 0x8);
}

static int setup(void **state)
{
	struct idreg_set cpu = { { 0 } };

	(void)state;
	fake_reset();
	cpu.r[ID_AA64DFR0] = DFR0_A72;
	idregs_init(&cpu);
	host_program();
	vm = (struct vm){ .slot = 5, .type = MOAT_VM_NORMAL };
	vcpu = (struct vcpu){ .vm = &vm, .index = 2 };
	vcpu.ctx.regs.elr = ELR;
	return 0;
}

static bool trap(u64 e)
{
	return guest_debug_trap(&vcpu, e);
}

static size_t count_ops(enum fake_op op)
{
	size_t n = 0;

	for (size_t i = 0; i < fake.nr_ops; i++) {
		n += fake.ops[i].op == op;
	}
	return n;
}

/* The guest sees the counts its ID registers promise: 6 breakpoints, 4 watchpoints, DebugVer 6. */
static void test_idregs_normal(void **state)
{
	(void)state;
	assert_int_equal(idreg_value(IDREG_GUEST_NORMAL, ID_AA64DFR0) & 0xf0fff00fULL, DFR0_A72 & 0xf0fff00fULL);
	assert_int_equal(idreg_value(IDREG_GUEST, ID_AA64DFR0) & 0xf0fff00fULL, 0);
	/* DebugVer above Armv8.0 debug (max: Debugv8p4) is shown as 6: the state switched is v8.0's. */
	struct idreg_set cpu = { { 0 } }, out;

	cpu.r[ID_AA64DFR0] = 0x10305609ULL;
	idregs_sanitise(IDREG_GUEST_NORMAL, &cpu, &out);
	assert_int_equal(out.r[ID_AA64DFR0] & 0xf, 6);
}

static void test_first_access_switches_in_order(void **state)
{
	size_t first_write, last_read;

	(void)state;
	vcpu.ctx.regs.x[3] = 0x40001234;
	assert_true(trap(ESR_DBGBVR(0, 3, false)));
	assert_int_equal(vcpu.ctx.regs.elr, ELR + 4);
	assert_true(vcpu.dbg_used);
	/* Every host register was read before the first write of the guest's. */
	first_write = fake_find_op(0, FAKE_DBG_WRITE);
	last_read = 0;
	for (size_t i = 0; i < first_write; i++) {
		if (fake.ops[i].op == FAKE_DBG_READ) {
			last_read = i;
		}
	}
	assert_int_equal(count_ops(FAKE_DBG_READ), 2 * NB + 2 * NW + 1); /* the banks and OSLSR */
	assert_true(last_read < first_write);
	/* The guest's reset state: its registers zero (the ones it has), its OS lock locked. */
	assert_int_equal(fake.dbg.bvr[0], 0x40001234);
	for (unsigned int n = 1; n < NB; n++) {
		assert_int_equal(fake.dbg.bvr[n], 0);
		assert_int_equal(fake.dbg.bcr[n], 0);
	}
	for (unsigned int n = 0; n < NW; n++) {
		assert_int_equal(fake.dbg.wcr[n], 0);
	}
	/* Registers the CPU does not have are never touched. */
	assert_int_equal(fake.dbg.bcr[NB], 0x1e4 | (NB << 16));
	assert_int_equal(fake.dbg.wcr[NW], 0x1ffc | (NW << 16));
	assert_int_equal(fake.dbg.oslsr & OSLK, OSLK);
	vcpu.ctx.regs.x[4] = 0;
	assert_true(trap(ESR_OSLSR(4)));
	assert_int_equal(vcpu.ctx.regs.x[4], OSLSR_LOCKED);
	guest_debug_put(&vcpu);
	assert_host_back();
}

static void test_masks(void **state)
{
	(void)state;
	/* Breakpoint 1: HMC, SSC and BT[3] (a VMID match) would reach EL2: cleared; E, PMC, BAS, LBN, BT[2:0] kept. */
	vcpu.ctx.regs.x[1] = 0xffffffffffffffffULL;
	assert_true(trap(ESR_DBGBCR(1, 1, false)));
	assert_int_equal(fake.dbg.bcr[1], DBGBCR_GUEST_MASK);
	assert_int_equal(fake.dbg.bcr[1] & (HMC | SSC | BT3), 0);
	assert_int_equal(fake.dbg.bcr[1], 0x7f01e7ULL);
	vcpu.ctx.regs.x[2] = HMC | SSC | 0x1e7;
	assert_true(trap(ESR_DBGBCR(1, 2, false)));
	assert_int_equal(fake.dbg.bcr[1], 0x1e7);
	/* Watchpoint 3: HMC and SSC cleared; E, PAC, LSC, BAS, LBN, WT, MASK kept. */
	vcpu.ctx.regs.x[5] = 0xffffffffffffffffULL;
	assert_true(trap(ESR_DBGWCR(3, 5, false)));
	assert_int_equal(fake.dbg.wcr[3], 0x1f1f1fffULL);
	assert_int_equal(fake.dbg.wcr[3] & (HMC | SSC), 0);
	/* Read back as stored. */
	vcpu.ctx.regs.x[6] = 0;
	assert_true(trap(ESR_DBGWCR(3, 6, true)));
	assert_int_equal(vcpu.ctx.regs.x[6], 0x1f1f1fffULL);
	/* MDSCR_EL1: SS, TDCC, KDE, MDE only. */
	vcpu.ctx.regs.x[7] = 0xffffffffffffffffULL;
	assert_true(trap(ESR_MDSCR(7, false)));
	assert_int_equal(fake.dbg.mdscr, 0xb001ULL);
	/* OSLAR_EL1: bit 0 only; XZR unlocks. */
	assert_true(trap(ESR_OSLAR(31)));
	assert_int_equal(fake.dbg.oslsr & OSLK, 0);
	/* Addresses pass as written. */
	vcpu.ctx.regs.x[8] = 0xffff000012345678ULL;
	assert_true(trap(ESR_DBGWVR(0, 8, false)));
	assert_int_equal(fake.dbg.wvr[0], 0xffff000012345678ULL);
	guest_debug_put(&vcpu);
	assert_host_back();
}

static void test_put_load_keep_guest_state(void **state)
{
	(void)state;
	vcpu.ctx.regs.x[1] = 0x1e7;
	assert_true(trap(ESR_DBGBCR(5, 1, false)));
	assert_true(trap(ESR_OSLAR(31)));
	guest_debug_put(&vcpu);
	assert_host_back();
	/* The next load brings the guest's back, its OS lock unlocked. */
	host_program();
	fake.dbg.oslsr = 0xa; /* the host locked its own meanwhile */
	guest_debug_load(&vcpu);
	assert_int_equal(fake.dbg.bcr[5], 0x1e7);
	assert_int_equal(fake.dbg.oslsr & OSLK, 0);
	vcpu.ctx.regs.x[9] = 0;
	assert_true(trap(ESR_DBGBCR(5, 9, true)));
	assert_int_equal(vcpu.ctx.regs.x[9], 0x1e7);
	guest_debug_put(&vcpu);
	assert_int_equal(fake.dbg.oslsr, 0xa); /* the host's lock, as it left it */
	fake.dbg.oslsr = 0x8;
	assert_host_back();
	/* A new vCPU in the same slot (a new VM): the previous one's breakpoint does not show, the lock is reset. */
	vcpu = (struct vcpu){ .vm = &vm, .index = 2 };
	vcpu.ctx.regs.x[2] = 0xdead;
	assert_true(trap(ESR_DBGBCR(5, 2, true)));
	assert_int_equal(vcpu.ctx.regs.x[2], 0);
	assert_int_equal(fake.dbg.oslsr & OSLK, OSLK);
	guest_debug_put(&vcpu);
	assert_host_back();
}

static void test_not_touched(void **state)
{
	(void)state;
	/* Not a debug register the core gives: ACTLR, OSDLR (no double lock), breakpoint 6 and watchpoint 4 (beyond
	 * the CPU's). Nothing switched. */
	assert_false(trap(ESR_ACTLR_EL1(1, true)));
	assert_false(trap(ESR_OSDLR(1, false)));
	assert_false(trap(ESR_DBGBCR(NB, 1, false)));
	assert_false(trap(ESR_DBGWVR(NW, 1, true)));
	assert_false(vcpu.dbg_used);
	/* A vCPU that never used debug: load and put touch no debug register (the lazy switch). */
	guest_debug_load(&vcpu);
	guest_debug_put(&vcpu);
	assert_int_equal(count_ops(FAKE_DBG_READ) + count_ops(FAKE_DBG_WRITE), 0);
	/* A protected VM: never (RAZ/WI in guest_refuse.c). */
	vm.type = MOAT_VM_PROTECTED;
	assert_false(trap(ESR_DBGBCR(0, 1, false)));
	assert_false(trap(ESR_MDSCR(1, false)));
	assert_false(trap(ESR_OSLAR(1)));
	assert_false(vcpu.dbg_used);
	assert_int_equal(count_ops(FAKE_DBG_READ) + count_ops(FAKE_DBG_WRITE), 0);
	assert_int_equal(vcpu.ctx.regs.elr, ELR);
	assert_host_back();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_idregs_normal, setup),
		cmocka_unit_test_setup(test_first_access_switches_in_order, setup),
		cmocka_unit_test_setup(test_masks, setup),
		cmocka_unit_test_setup(test_put_load_keep_guest_state, setup),
		cmocka_unit_test_setup(test_not_touched, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
