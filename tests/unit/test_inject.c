/*
 * Unit tests for core/inject.c: the exception the core injects into an EL1
 * (DESIGN §4), as pure functions of the trapped context.
 *
 * Covers the vector offset for every source (EL1h +0x200, EL1t +0x000, EL0
 * AArch64 +0x400, AArch32 +0x600), the new PSTATE (EL1h, DAIF masked, PAN per
 * SCTLR_EL1.SPAN and FEAT_PAN), and the ESR_EL1 of the synchronous external
 * abort (EC 0x25/0x24 data, 0x21/0x20 instruction, IL = 1, FSC 0x10, WnR
 * copied and nothing else from ESR_EL2: ISV and the rest of the ISS cleared)
 * and of the undefined-instruction exception. Expected values are written
 * out from the Arm ARM rather than built from inject.h's macros.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "inject.h"

#define VBAR 0xffff800010010800ULL /* 2 KiB aligned, as VBAR_EL1 must be */

/* SPSR values: M[3:0] and M[4], with DAIF and NZCV noise where it must not matter. */
#define SPSR_EL1H 0x3c5ULL	 /* EL1h, DAIF masked */
#define SPSR_EL1T 0x3c4ULL	 /* EL1t */
#define SPSR_EL0T 0x000ULL	 /* EL0t, AArch64 */
#define SPSR_A32_USR 0x010ULL	 /* AArch32 User */
#define SPSR_A32_SVC 0x013ULL	 /* AArch32 Supervisor: cannot be our host, still +0x600 */
#define NZCV (0xfULL << 28)
#define PAN_BIT (1ULL << 22)
#define SPAN_BIT (1ULL << 23)
#define NEW_SPSR 0x3c5ULL /* EL1h, D, A, I, F */

/* ESR fields (Arm ARM D17.2.37) */
#define EC(x) ((unsigned long long)(x) << 26)
#define IL (1ULL << 25)
#define ISV (1ULL << 24)
#define SAS_DWORD (3ULL << 22)
#define SSE (1ULL << 21)
#define SRT(x) ((unsigned long long)(x) << 16)
#define SF (1ULL << 15)
#define AR (1ULL << 14)
#define VNCR (1ULL << 13)
#define FNV (1ULL << 10)
#define EA (1ULL << 9)
#define CM (1ULL << 8)
#define S1PTW (1ULL << 7)
#define WNR (1ULL << 6)
#define TRANS_L3_FSC 0x07ULL
#define PERM_L2_FSC 0x0eULL
#define SEA_FSC 0x10ULL
#define ISS2_BITS (0x1fULL << 32)

/* ---------------------------------------------------------------- vector entry */

static void test_vector_offsets(void **state)
{
	static const struct {
		unsigned long long spsr, offset;
	} cases[] = {
		{ SPSR_EL1H, 0x200 },
		{ SPSR_EL1H | NZCV, 0x200 },
		{ 0x005, 0x200 }, /* EL1h, nothing masked */
		{ SPSR_EL1T, 0x000 },
		{ SPSR_EL1T | NZCV | PAN_BIT, 0x000 },
		{ SPSR_EL0T, 0x400 },
		{ SPSR_EL0T | 0x3c0 | NZCV, 0x400 },
		{ SPSR_A32_USR, 0x600 },
		{ SPSR_A32_USR | 0x1c0 | NZCV | (1ULL << 5), 0x600 }, /* T32 state */
		{ SPSR_A32_SVC, 0x600 },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int pan = 0; pan < 2; pan++) {
			struct el1_entry e = el1_sync_entry(cases[i].spsr, VBAR, 0, pan);

			if (e.elr_el2 != VBAR + cases[i].offset) {
				fail_msg("spsr 0x%llx: ELR 0x%llx, expected VBAR + 0x%llx", cases[i].spsr,
					 (unsigned long long)e.elr_el2, cases[i].offset);
			}
		}
	}
	/* The offset is added to VBAR_EL1 as given, whatever its value. */
	assert_int_equal(el1_sync_entry(SPSR_EL1H, 0, 0, false).elr_el2, 0x200);
	assert_int_equal(el1_sync_entry(SPSR_EL0T, 0x40080000, 0, false).elr_el2, 0x40080400);
}

static void test_spsr_is_el0(void **state)
{
	assert_true(spsr_is_el0(SPSR_EL0T));
	assert_true(spsr_is_el0(SPSR_EL0T | 0x3c0 | NZCV));
	assert_true(spsr_is_el0(SPSR_A32_USR));
	assert_true(spsr_is_el0(SPSR_A32_SVC));
	assert_false(spsr_is_el0(SPSR_EL1H));
	assert_false(spsr_is_el0(SPSR_EL1T));
	assert_false(spsr_is_el0(SPSR_EL1H | NZCV | PAN_BIT));
}

static void test_new_pstate_el1h_daif(void **state)
{
	static const unsigned long long from[] = {
		SPSR_EL1H, SPSR_EL1T, SPSR_EL0T, SPSR_A32_USR, 0x005 | NZCV | (1ULL << 21) | (1ULL << 20),
	};

	for (unsigned int i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		/* Without FEAT_PAN: EL1h with D, A, I, F set and nothing else (no NZCV, SS, IL). */
		assert_int_equal(el1_sync_entry(from[i], VBAR, 0, false).spsr_el2, NEW_SPSR);
		assert_int_equal(el1_sync_entry(from[i], VBAR, SPAN_BIT, false).spsr_el2, NEW_SPSR);
		assert_int_equal(el1_sync_entry(from[i] | PAN_BIT, VBAR, 0, false).spsr_el2, NEW_SPSR);
	}
}

static void test_pan(void **state)
{
	/* FEAT_PAN, SCTLR_EL1.SPAN = 0: PSTATE.PAN is set on exception entry, whatever it was. */
	assert_int_equal(el1_sync_entry(SPSR_EL1H, VBAR, 0, true).spsr_el2, NEW_SPSR | PAN_BIT);
	assert_int_equal(el1_sync_entry(SPSR_EL1H | PAN_BIT, VBAR, 0, true).spsr_el2, NEW_SPSR | PAN_BIT);
	assert_int_equal(el1_sync_entry(SPSR_EL0T, VBAR, 0, true).spsr_el2, NEW_SPSR | PAN_BIT);
	/* Other SCTLR_EL1 bits do not matter. */
	assert_int_equal(el1_sync_entry(SPSR_EL1H, VBAR, ~SPAN_BIT, true).spsr_el2, NEW_SPSR | PAN_BIT);

	/* SPAN = 1: PAN is unchanged, i.e. copied from the interrupted context. */
	assert_int_equal(el1_sync_entry(SPSR_EL1H, VBAR, SPAN_BIT, true).spsr_el2, NEW_SPSR);
	assert_int_equal(el1_sync_entry(SPSR_EL1H | PAN_BIT, VBAR, SPAN_BIT, true).spsr_el2, NEW_SPSR | PAN_BIT);
	assert_int_equal(el1_sync_entry(SPSR_EL1T | PAN_BIT, VBAR, ~0ULL, true).spsr_el2, NEW_SPSR | PAN_BIT);

	/* No FEAT_PAN: the bit is RES0, always clear. */
	assert_int_equal(el1_sync_entry(SPSR_EL1H | PAN_BIT, VBAR, 0, false).spsr_el2, NEW_SPSR);
	assert_int_equal(el1_sync_entry(SPSR_EL1H | PAN_BIT, VBAR, SPAN_BIT, false).spsr_el2, NEW_SPSR);
}

/* ---------------------------------------------------------------- syndromes */

static void test_data_abort_syndrome(void **state)
{
	/* Everything a real stage-2 data abort may carry, with ISV = 1. */
	const unsigned long long noise = ISV | SAS_DWORD | SSE | SRT(17) | SF | AR | VNCR | FNV | EA | CM | S1PTW |
					 ISS2_BITS;

	for (int wnr = 0; wnr < 2; wnr++) {
		unsigned long long w = wnr ? WNR : 0;
		unsigned long long esr_el2 = EC(0x24) | IL | noise | w | TRANS_L3_FSC;

		/* From EL1 (h or t): data abort taken without a change in EL. */
		assert_int_equal(sea_syndrome(esr_el2, SPSR_EL1H), EC(0x25) | IL | w | SEA_FSC);
		assert_int_equal(sea_syndrome(esr_el2, SPSR_EL1T), EC(0x25) | IL | w | SEA_FSC);
		/* From EL0, AArch64 or AArch32: from a lower EL. */
		assert_int_equal(sea_syndrome(esr_el2, SPSR_EL0T), EC(0x24) | IL | w | SEA_FSC);
		assert_int_equal(sea_syndrome(esr_el2, SPSR_A32_USR), EC(0x24) | IL | w | SEA_FSC);
		/* A minimal ESR_EL2 (IL = 0, no ISV) gives the same result: IL is always 1. */
		assert_int_equal(sea_syndrome(EC(0x24) | w | PERM_L2_FSC, SPSR_EL1H), EC(0x25) | IL | w | SEA_FSC);
	}
	/* The literal values a Linux host decodes. */
	assert_int_equal(sea_syndrome(EC(0x24) | IL | ISV | WNR | TRANS_L3_FSC, SPSR_EL1H), 0x96000050ULL);
	assert_int_equal(sea_syndrome(EC(0x24) | IL | TRANS_L3_FSC, SPSR_EL1H), 0x96000010ULL);
	assert_int_equal(sea_syndrome(EC(0x24) | IL | TRANS_L3_FSC, SPSR_EL0T), 0x92000010ULL);
}

static void test_instruction_abort_syndrome(void **state)
{
	/* WnR (bit 6) is RES0 for instruction aborts: never copied, even if set. */
	const unsigned long long esr_el2 = EC(0x20) | IL | FNV | EA | S1PTW | WNR | 0x0fULL;

	assert_int_equal(sea_syndrome(esr_el2, SPSR_EL1H), EC(0x21) | IL | SEA_FSC);
	assert_int_equal(sea_syndrome(esr_el2, SPSR_EL1T), EC(0x21) | IL | SEA_FSC);
	assert_int_equal(sea_syndrome(esr_el2, SPSR_EL0T), EC(0x20) | IL | SEA_FSC);
	assert_int_equal(sea_syndrome(esr_el2, SPSR_A32_USR), EC(0x20) | IL | SEA_FSC);
	assert_int_equal(sea_syndrome(esr_el2, SPSR_EL1H), 0x86000010ULL);
	assert_int_equal(sea_syndrome(esr_el2, SPSR_EL0T), 0x82000010ULL);
}

static void test_undef_syndrome(void **state)
{
	/* EC 0 (Unknown reason), IL = 1, ISS 0. */
	assert_int_equal(undef_syndrome(), IL);
	assert_int_equal(undef_syndrome(), 0x02000000ULL);
}

/* Every mode encoding: the vector and the EC agree on "from EL0". */
static void test_modes_consistent(void **state)
{
	for (unsigned long long m = 0; m < 32; m++) {
		struct el1_entry e = el1_sync_entry(m, VBAR, 0, false);
		u64 esr = sea_syndrome(EC(0x24), m);
		bool el0 = spsr_is_el0(m);

		assert_int_equal(e.spsr_el2, NEW_SPSR);
		if (el0) {
			assert_true(e.elr_el2 == VBAR + 0x400 || e.elr_el2 == VBAR + 0x600);
			assert_int_equal(esr >> 26, 0x24);
		} else {
			assert_true(e.elr_el2 == VBAR + 0x000 || e.elr_el2 == VBAR + 0x200);
			assert_int_equal(esr >> 26, 0x25);
		}
		assert_int_equal(e.elr_el2 == VBAR + 0x600, (m & 0x10) != 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_offsets),
		cmocka_unit_test(test_spsr_is_el0),
		cmocka_unit_test(test_new_pstate_el1h_daif),
		cmocka_unit_test(test_pan),
		cmocka_unit_test(test_data_abort_syndrome),
		cmocka_unit_test(test_instruction_abort_syndrome),
		cmocka_unit_test(test_undef_syndrome),
		cmocka_unit_test(test_modes_consistent),
	};

	return cmocka_run_group_tests_name("inject", tests, NULL, NULL);
}
