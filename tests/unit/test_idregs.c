/*
 * Unit tests for core/idregs.c: the ID register views (DESIGN §0, §6), and
 * their use in the run loop (core/guest_refuse.c) on the fake machine.
 *
 *   - the guest and host views of the two CPUs of the test matrix, every one
 *     of the 56 registers, from the values QEMU 7.2 reports (read by the
 *     idregs guest on the unfixed core): cortex-a72 and -cpu max;
 *   - signed fields keep "absent" (0xf) absent, capped ones are cut;
 *     PARange is capped at 40 bits and never raised;
 *   - the features each view has (what the traps are derived from);
 *   - idreg_trap: reads answered from the view (Rt, XZR, PC + 4), writes
 *     UNDEFINED, anything outside the ID space left alone;
 *   - the boot lines.
 * Expected values are written out by hand, field by field in the comments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "esr.h"
#include "fake_arch.h"
#include "idregs.h"

#define I(crm, op2) IDREG_INDEX(crm, op2)

/* QEMU 7.2 -cpu cortex-a72 (MIDR 0x410fd083). */
static const struct idreg_set a72 = { {
	[I(1, 0)] = 0x131,	  [I(1, 1)] = 0x10011001, [I(1, 2)] = 0x3010006,  [I(1, 4)] = 0x10201105,
	[I(1, 5)] = 0x40000000, [I(1, 6)] = 0x1260000,  [I(1, 7)] = 0x2102211,  [I(2, 0)] = 0x2101110,
	[I(2, 1)] = 0x13112111, [I(2, 2)] = 0x21232042, [I(2, 3)] = 0x1112131,  [I(2, 4)] = 0x11142,
	[I(2, 5)] = 0x11121,	  [I(3, 0)] = 0x10110222, [I(3, 1)] = 0x12111111, [I(3, 2)] = 0x43,
	[I(4, 0)] = 0x1000222,  [I(5, 0)] = 0x10305106, [I(6, 0)] = 0x11120,	  [I(7, 0)] = 0x1124,
} };

/* QEMU 7.2 -cpu max (MIDR 0xf0510). */
static const struct idreg_set max = { {
	[I(1, 0)] = 0x11020131,
	[I(1, 1)] = 0x10011001,
	[I(1, 2)] = 0x6010009,
	[I(1, 4)] = 0x10101105,
	[I(1, 5)] = 0x40000000,
	[I(1, 6)] = 0x1260000,
	[I(1, 7)] = 0x2122211,
	[I(2, 0)] = 0x2101110,
	[I(2, 1)] = 0x13112111,
	[I(2, 2)] = 0x21232042,
	[I(2, 3)] = 0x1112131,
	[I(2, 4)] = 0x11142,
	[I(2, 5)] = 0x11011121,
	[I(2, 6)] = 0x11110,
	[I(2, 7)] = 0x1111111,
	[I(3, 0)] = 0x10110222,
	[I(3, 1)] = 0x13211111,
	[I(3, 2)] = 0x43,
	[I(3, 4)] = 0x11,
	[I(3, 6)] = 0x1,
	[I(4, 0)] = 0x1201001121110222,
	[I(4, 1)] = 0x1000021,
	[I(4, 4)] = 0x110110100110021,
	[I(4, 5)] = 0x80f100fd00000000,
	[I(5, 0)] = 0x10305609,
	[I(6, 0)] = 0x1221111110212120,
	[I(6, 1)] = 0x11111101211012,
	[I(7, 0)] = 0x32310201126,
	[I(7, 1)] = 0x11010211122,
	[I(7, 2)] = 0x1021011010011011,
} };

/* Guests: DFR0 as pKVM shows protected guests, everything zero but DoubleLock = MTPMU = 0xf. */
#define GUEST_DFR0 0x000f00f000000000ULL

static void expect_set(const struct idreg_set *got, const struct idreg_set *want, const char *what)
{
	for (unsigned int i = 0; i < IDREG_NR; i++) {
		if (got->r[i] != want->r[i]) {
			fail_msg("%s: CRm=%u op2=%u is 0x%llx, expected 0x%llx", what, i / 8 + 1, i % 8,
				 (unsigned long long)got->r[i], (unsigned long long)want->r[i]);
		}
	}
}

static void test_guest_view_a72(void **state)
{
	struct idreg_set got;
	const struct idreg_set want = { {
		/* EL0 = EL1 = AArch64 only, EL2 hidden, FP/AdvSIMD 0 (= present), GIC 1 */
		[I(4, 0)] = 0x1000011,
		[I(5, 0)] = GUEST_DFR0, /* PMUVer 1, DebugVer 6, BRPs 5, WRPs 3, CTX_CMPs 1 all gone */
		[I(6, 0)] = 0x11120,	/* AES 2, SHA1, SHA2, CRC32 */
		[I(7, 0)] = 0x1122,	/* PARange 44 -> 40 bits; ASID 16, BigEnd, SNSMem */
	} };

	idregs_sanitise(IDREG_GUEST, &a72, &got);
	expect_set(&got, &want, "guest view, cortex-a72");
}

static void test_guest_view_max(void **state)
{
	struct idreg_set got;
	const struct idreg_set want = { {
		/* CSV3 1, CSV2 2 -> 1, DIT 1; RAS, SVE, SEL2 -> 0; GIC, AdvSIMD, FP 1; EL2 -> 0, EL1/EL0 2 -> 1 */
		[I(4, 0)] = 0x1101000001110011,
		[I(4, 1)] = 0x21, /* SSBS 2, BT 1; SME 1 -> 0 */
		[I(5, 0)] = GUEST_DFR0,
		[I(6, 0)] = 0x1221111110212120, /* every field allowed, TME 0 */
		[I(6, 1)] = 0x11111100211002,	/* APA 1 -> 0, GPA 1 -> 0 */
		/* TGran4 1 (52-bit) -> 0, TGran16 2 -> 1, PARange 52 -> 40 bits */
		[I(7, 0)] = 0x101122,
		/* ETS 1, PAN 2, HPDS 1, HAFDBS 2; HCX, XNX, LO, VH, VMIDBits -> 0 */
		[I(7, 1)] = 0x1000201002,
		/* E0PD, BBM 2, TTL, IDS, IESB, UAO, CnP; FWB, ST, VARange -> 0 */
		[I(7, 2)] = 0x1021001000001011,
	} };

	idregs_sanitise(IDREG_GUEST, &max, &got);
	expect_set(&got, &want, "guest view, max");
}

static void test_host_view(void **state)
{
	struct idreg_set got, want;

	/* cortex-a72: only PARange, 44 -> 40 bits (the host's stage-2 input size). */
	want = a72;
	want.r[I(7, 0)] = 0x1122;
	idregs_sanitise(IDREG_HOST, &a72, &got);
	expect_set(&got, &want, "host view, cortex-a72");

	/* max: SVE, SME, SCXTNUM (CSV2 2 -> 1) and PARange; PMU, debug, PAuth, RAS, AArch32 stay. */
	want = max;
	want.r[I(4, 0)] = 0x1101001021110222;
	want.r[I(4, 1)] = 0x21;
	want.r[I(4, 4)] = 0;
	want.r[I(4, 5)] = 0;
	want.r[I(7, 0)] = 0x32310201122;
	idregs_sanitise(IDREG_HOST, &max, &got);
	expect_set(&got, &want, "host view, max");

	/* The CPU view is the CPU's own. */
	idregs_sanitise(IDREG_CPU, &max, &got);
	expect_set(&got, &max, "cpu view, max");
}

static void test_signed_and_caps(void **state)
{
	struct idreg_set cpu = { { 0 } }, got;

	/* FP and AdvSIMD absent (0xf), TGran4 and TGran64 unsupported (0xf): absent stays absent. */
	cpu.r[I(4, 0)] = 0xffUL << 16;
	cpu.r[I(7, 0)] = (0xfUL << 24) | (0xfUL << 28) | 1; /* PARange 36 bits */
	idregs_sanitise(IDREG_GUEST, &cpu, &got);
	assert_int_equal(got.r[I(4, 0)], 0xffUL << 16);
	assert_int_equal(got.r[I(7, 0)], (0xfUL << 24) | (0xfUL << 28) | 1); /* PARange never raised */
	idregs_sanitise(IDREG_HOST, &cpu, &got);
	assert_int_equal(got.r[I(7, 0)], cpu.r[I(7, 0)]);

	/* Unknown future fields and registers read as zero for guests, as the CPU has them for the host. */
	cpu.r[I(4, 2)] = 0x1234; /* ID_AA64PFR2 */
	cpu.r[I(7, 7)] = 0x5;	 /* unallocated */
	cpu.r[I(6, 0)] = 0xfUL << 24; /* TME */
	idregs_sanitise(IDREG_GUEST, &cpu, &got);
	assert_int_equal(got.r[I(4, 2)], 0);
	assert_int_equal(got.r[I(7, 7)], 0);
	assert_int_equal(got.r[I(6, 0)], 0);
	idregs_sanitise(IDREG_HOST, &cpu, &got);
	assert_int_equal(got.r[I(4, 2)], 0x1234);
	assert_int_equal(got.r[I(7, 7)], 0x5);

	/* MTE hidden from the host and from guests. */
	cpu.r[I(4, 1)] = (3UL << 8) | (0xfUL << 40);
	idregs_sanitise(IDREG_HOST, &cpu, &got);
	assert_int_equal(got.r[I(4, 1)], 0);
	idregs_sanitise(IDREG_GUEST, &cpu, &got);
	assert_int_equal(got.r[I(4, 1)], 0);
}

static void test_features(void **state)
{
	static const enum idreg_feature cpu_has[] = { FEAT_SVE, FEAT_SME,  FEAT_PAUTH, FEAT_PMU,
						       FEAT_DEBUG, FEAT_RAS, FEAT_LOR,   FEAT_SCXTNUM };
	static const enum idreg_feature cpu_lacks[] = { FEAT_MTE, FEAT_SPE, FEAT_TRBE, FEAT_AMU, FEAT_MPAM, FEAT_TME };

	idregs_init(&max);
	for (unsigned int i = 0; i < ARRAY_SIZE(cpu_has); i++) {
		assert_true(idregs_have(IDREG_CPU, cpu_has[i]));
		/* Guests get none of them: their state is not switched. */
		assert_false(idregs_have(IDREG_GUEST, cpu_has[i]));
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(cpu_lacks); i++) {
		assert_false(idregs_have(IDREG_CPU, cpu_lacks[i]));
		assert_false(idregs_have(IDREG_HOST, cpu_lacks[i]));
	}
	assert_false(idregs_have(IDREG_HOST, FEAT_SVE));
	assert_false(idregs_have(IDREG_HOST, FEAT_SME));
	assert_false(idregs_have(IDREG_HOST, FEAT_SCXTNUM));
	assert_true(idregs_have(IDREG_HOST, FEAT_PAUTH));
	assert_true(idregs_have(IDREG_HOST, FEAT_PMU));
	assert_true(idregs_have(IDREG_HOST, FEAT_RAS));

	idregs_init(&a72);
	assert_false(idregs_have(IDREG_CPU, FEAT_SVE));
	assert_false(idregs_have(IDREG_CPU, FEAT_PAUTH));
	assert_true(idregs_have(IDREG_CPU, FEAT_PMU));
	assert_true(idregs_have(IDREG_HOST, FEAT_DEBUG));
	assert_false(idregs_have(IDREG_GUEST, FEAT_DEBUG)); /* DebugVer 0: the pKVM deviation */
}

/* MRS/MSR syndrome: EC 0x18, IL, op0/op1/CRn/CRm/op2, Rt, direction. */
static u64 sysreg_esr(unsigned int op0, unsigned int op1, unsigned int crn, unsigned int crm, unsigned int op2,
		      unsigned int rt, bool read)
{
	return (EC_SYSREG << ESR_EC_SHIFT) | ESR_IL | ((u64)op0 << 20) | ((u64)op2 << 17) | ((u64)op1 << 14) |
	       ((u64)crn << 10) | ((u64)rt << 5) | ((u64)crm << 1) | (read ? 1 : 0);
}

static void test_trap(void **state)
{
	struct cpu_regs regs = { .elr = 0x1000 };

	idregs_init(&max);
	for (unsigned int i = 0; i < 31; i++) {
		regs.x[i] = 0xdead0000 + i;
	}
	/* MRS x5, ID_AA64PFR0_EL1: the view's value. */
	assert_int_equal(idreg_trap(IDREG_GUEST, sysreg_esr(3, 0, 0, 4, 0, 5, true), &regs), IDREG_READ);
	assert_int_equal(regs.x[5], 0x1101000001110011);
	assert_int_equal(regs.elr, 0x1004);
	assert_int_equal(idreg_trap(IDREG_HOST, sysreg_esr(3, 0, 0, 4, 0, 6, true), &regs), IDREG_READ);
	assert_int_equal(regs.x[6], 0x1101001021110222);
	/* An AArch32 register: zero for guests, the CPU's for the host. */
	assert_int_equal(idreg_trap(IDREG_GUEST, sysreg_esr(3, 0, 0, 1, 0, 7, true), &regs), IDREG_READ);
	assert_int_equal(regs.x[7], 0);
	assert_int_equal(idreg_trap(IDREG_HOST, sysreg_esr(3, 0, 0, 1, 0, 7, true), &regs), IDREG_READ);
	assert_int_equal(regs.x[7], 0x11020131);
	/* Into XZR: nothing written, PC still moves. */
	assert_int_equal(idreg_trap(IDREG_GUEST, sysreg_esr(3, 0, 0, 7, 7, 31, true), &regs), IDREG_READ);
	assert_int_equal(regs.elr, 0x1014); /* five reads */
	/* MSR to an ID register: UNDEFINED, for the caller to inject; nothing changed. */
	assert_int_equal(idreg_trap(IDREG_GUEST, sysreg_esr(3, 0, 0, 4, 0, 5, false), &regs), IDREG_WRITE);
	assert_int_equal(regs.elr, 0x1014);
	/* Outside the ID space: MIDR (CRm 0), ACTLR_EL1, op1 != 0, op0 2. */
	assert_int_equal(idreg_trap(IDREG_GUEST, sysreg_esr(3, 0, 0, 0, 0, 8, true), &regs), IDREG_OTHER);
	assert_int_equal(idreg_trap(IDREG_GUEST, sysreg_esr(3, 0, 1, 0, 1, 8, true), &regs), IDREG_OTHER);
	assert_int_equal(idreg_trap(IDREG_GUEST, sysreg_esr(3, 1, 0, 4, 0, 8, true), &regs), IDREG_OTHER);
	assert_int_equal(idreg_trap(IDREG_GUEST, sysreg_esr(2, 0, 0, 4, 0, 8, true), &regs), IDREG_OTHER);
	assert_int_equal(regs.x[8], 0xdead0008);
	assert_int_equal(regs.elr, 0x1014);
}

static void test_report(void **state)
{
	fake_reset();
	idregs_init(&max);
	idregs_report();
	assert_non_null(strstr(fake.console, "ID registers (trapped, HCR_EL2.TID3): the host keeps PAuth, PMU, debug, "
					     "RAS, LOR; hidden from the host: SVE, SME, SCXTNUM; PA 40 bits\r\n"));
	assert_non_null(strstr(fake.console, "ID registers for protected guests: hidden: SVE, SME, PAuth, PMU, "
					     "debug, RAS, LOR, SCXTNUM; kept: none; PA 40 bits\r\n"));
	assert_non_null(strstr(fake.console, "ID registers for normal guests: hidden: SVE, SME, PAuth, RAS, "
					     "LOR, SCXTNUM; kept: PMU, debug; PA 40 bits\r\n"));
	fake_reset();
	idregs_init(&a72);
	idregs_report();
	assert_non_null(strstr(fake.console, "the host keeps PMU, debug; hidden from the host: none; PA 40 bits\r\n"));
	assert_non_null(strstr(fake.console, "protected guests: hidden: PMU, debug; kept: none; PA 40 bits\r\n"));
	assert_non_null(strstr(fake.console, "normal guests: hidden: none; kept: PMU, debug; PA 40 bits\r\n"));
}

/*
 * Normal VMs: the protected view plus PMUVer, capped at PMUv3p4 (max has v3p5), none for PMUVer 0 or IMPDEF;
 * and debug: the CPU's BRPs, WRPs, CTX_CMPs (both CPUs: 5, 3, 1), DebugVer capped at 6 (max has 9).
 */
static void test_normal_guest_view(void **state)
{
	static const struct {
		u64 cpu_pmuver, want_pmuver;
	} cases[] = { { 1, 1 }, { 4, 4 }, { 5, 5 }, { 6, 5 }, { 8, 5 }, { 0, 0 }, { 0xf, 0 } };
	struct idreg_set prot, normal, cpu;

	for (size_t base = 0; base < 2; base++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			cpu = base ? max : a72;
			cpu.r[I(5, 0)] = (cpu.r[I(5, 0)] & ~0xf00UL) | cases[i].cpu_pmuver << 8;
			idregs_sanitise(IDREG_GUEST, &cpu, &prot);
			idregs_sanitise(IDREG_GUEST_NORMAL, &cpu, &normal);
			assert_int_equal(prot.r[I(5, 0)], GUEST_DFR0); /* protected: PMUVer 0 whatever the CPU has */
			assert_int_equal(normal.r[I(5, 0)], GUEST_DFR0 | cases[i].want_pmuver << 8 | 0x10305006UL);
			normal.r[I(5, 0)] = prot.r[I(5, 0)];
			expect_set(&normal, &prot, "normal view = protected view but PMUVer and debug");
		}
	}
	/* A CPU without the Armv8 debug architecture (DebugVer < 6, not a real one): no debug fields for anyone. */
	cpu = a72;
	cpu.r[I(5, 0)] &= ~0xfUL;
	idregs_sanitise(IDREG_GUEST_NORMAL, &cpu, &normal);
	assert_int_equal(normal.r[I(5, 0)], GUEST_DFR0 | 1UL << 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_view_a72), cmocka_unit_test(test_guest_view_max),
		cmocka_unit_test(test_host_view),      cmocka_unit_test(test_signed_and_caps),
		cmocka_unit_test(test_features),       cmocka_unit_test(test_trap),
		cmocka_unit_test(test_report),	       cmocka_unit_test(test_normal_guest_view),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
