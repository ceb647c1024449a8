/*
 * White-box tests of core/ed25519.c: point decoding, the field and scalar
 * arithmetic at their edges, the small-order test and the scalar
 * multiplication. Some rules cannot be seen through ed25519_verify alone:
 * every non-canonical encoding (y >= p, or x = 0 with the sign bit set) of a
 * point whose discrete log anyone knows is of small order, so the small-order
 * check would refuse those signatures even without the encoding check; here
 * pt_decode is asked directly. This file includes the module's source to reach
 * its static functions; the three public names are renamed so that this copy
 * does not clash with the core object every unit test links.
 * Expected scalar values were computed with Python integers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#define ed25519_verify internal_ed25519_verify
#define ed25519_sign internal_ed25519_sign
#define ed25519_public_key internal_ed25519_public_key
#include "../../core/ed25519.c"

static void unhex32(u8 out[32], const char *hex)
{
	assert_int_equal(strlen(hex), 64);
	for (unsigned int i = 0; i < 32; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (u8)b;
	}
}

static bool decodes(const char *hex)
{
	struct point p;
	u8 s[32], again[32];

	unhex32(s, hex);
	if (!pt_decode(&p, s)) {
		return false;
	}
	pt_encode(again, &p);
	assert_memory_equal(again, s, 32); /* what decodes, re-encodes to the same bytes */
	return true;
}

/* The 8 torsion points (tests/unit/data/ed25519_invalid.py lists them with their orders). */
static const char *const small_order[8] = {
	"0100000000000000000000000000000000000000000000000000000000000000", /* (0, 1), order 1 */
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* (0, -1), order 2 */
	"0000000000000000000000000000000000000000000000000000000000000000", /* order 4 */
	"0000000000000000000000000000000000000000000000000000000000000080", /* order 4 */
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", /* order 8 */
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", /* order 8 */
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", /* order 8 */
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", /* order 8 */
};

static void test_decode_canonical_only(void **state)
{
	/* Canonical: RFC 8032 TEST 1's public key, B, and every small-order point (decoding accepts them). */
	assert_true(decodes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
	assert_true(decodes("5866666666666666666666666666666666666666666666666666666666666666"));
	for (unsigned int i = 0; i < 8; i++) {
		assert_true(decodes(small_order[i]));
	}
	/* y >= p: p + 0 (would be y = 0, order 4), p + 1 (the identity), p + 3 (a point not of small order). */
	assert_false(decodes("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"));
	assert_false(decodes("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"));
	assert_false(decodes("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"));
	assert_false(decodes("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
	/* x = 0 with the sign bit set: (0, 1) and (0, -1) have no negative x. */
	assert_false(decodes("0100000000000000000000000000000000000000000000000000000000000080"));
	assert_false(decodes("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
	/* y = 2: (y^2 - 1) / (d y^2 + 1) is not a square, no point. */
	assert_false(decodes("0200000000000000000000000000000000000000000000000000000000000000"));
}

static void test_small_order(void **state)
{
	struct point p, b, mixed;
	u8 s[32];

	for (unsigned int i = 0; i < 8; i++) {
		unhex32(s, small_order[i]);
		assert_true(pt_decode(&p, s));
		assert_true(pt_small_order(&p));
	}
	pt_base(&b);
	assert_false(pt_small_order(&b));
	pt_add(&mixed, &b, &p); /* B plus a point of order 8: mixed order, not small */
	assert_false(pt_small_order(&mixed));
}

static void assert_fe(const fe *f, const char *expect_hex)
{
	u8 s[32], expect[32];

	fe_tobytes(s, f);
	unhex32(expect, expect_hex);
	assert_memory_equal(s, expect, 32);
}

/* Non-reduced inputs come out canonical: fe_frombytes(in) encodes as out. */
static void assert_reduces(const char *in_hex, const char *out_hex)
{
	u8 s[32];
	fe f;

	unhex32(s, in_hex);
	fe_frombytes(&f, s);
	assert_fe(&f, out_hex);
}

#define FE_ZERO "0000000000000000000000000000000000000000000000000000000000000000"
#define FE_ONE "0100000000000000000000000000000000000000000000000000000000000000"
#define FE_P_MINUS_1 "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"

static void test_field_edges(void **state)
{
	u8 s[32];
	fe f, g;

	assert_reduces("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", FE_ZERO); /* p */
	assert_reduces("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", FE_ONE); /* p + 1 */
	assert_reduces("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* 2^255 - 1 = p + 18 */
		       "1200000000000000000000000000000000000000000000000000000000000000");
	assert_reduces(FE_P_MINUS_1, FE_P_MINUS_1);
	/* (p - 1)^2 = 1 */
	unhex32(s, FE_P_MINUS_1);
	fe_frombytes(&f, s);
	fe_mul(&g, &f, &f);
	assert_fe(&g, FE_ONE);
	/* 0 - 1 = p - 1 */
	fe_set(&f, 0);
	fe_set(&g, 1);
	fe_sub(&f, &f, &g);
	assert_fe(&f, FE_P_MINUS_1);
	/* sqrt(-1)^2 = -1 */
	fe_frombytes(&f, sqrtm1_bytes);
	fe_mul(&g, &f, &f);
	assert_fe(&g, FE_P_MINUS_1);
	/* The inverse: 2 * 2^(p-2) = 1. */
	fe_set(&f, 2);
	fe_pow(&g, &f, exp_invert);
	fe_mul(&g, &g, &f);
	assert_fe(&g, FE_ONE);
}

static void test_scalar_edges(void **state)
{
	u8 wide[64], out[32], a[32], b[32], c[32], expect[32];

	sc_reduce(out, order_l, 32); /* L mod L = 0 */
	memset(expect, 0, 32);
	assert_memory_equal(out, expect, 32);
	memcpy(wide, order_l, 32);
	wide[0]--; /* L - 1 stays */
	sc_reduce(out, wide, 32);
	assert_memory_equal(out, wide, 32);
	memset(wide, 0xff, 64); /* 2^512 - 1 */
	sc_reduce(out, wide, 64);
	unhex32(expect, "000f9c44e31106a447938568a71b0ed065bef517d273ecce3d9a307c1b419903");
	assert_memory_equal(out, expect, 32);
	/* (L-1)*(L-1) + (L-1) = (L-1)*L = 0 mod L. */
	memcpy(a, order_l, 32);
	a[0]--;
	sc_muladd(out, a, a, a);
	memset(expect, 0, 32);
	assert_memory_equal(out, expect, 32);
	/* A 255-bit b (the largest a clamped secret can be) and c = L - 5. */
	unhex32(a, "3930000000000000000000000000000000000000000000c07bf36ae259d14800");
	unhex32(b, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	unhex32(c, "e8d3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
	sc_muladd(out, a, b, c);
	unhex32(expect, "b9ccd7b5934ca8bf1a6ecc7ddfce9484617782331176adffea6942bc4146540f");
	assert_memory_equal(out, expect, 32);
	/* S < L: L - 1 passes, L and L + 1 (and anything with high bits) do not. */
	memcpy(a, order_l, 32);
	assert_false(sc_is_canonical(a));
	a[0]++;
	assert_false(sc_is_canonical(a));
	a[0] -= 2;
	assert_true(sc_is_canonical(a));
	memset(a, 0, 32);
	a[31] = 0x20;
	assert_false(sc_is_canonical(a));
}

static void test_scalarmult(void **state)
{
	struct point b, r;
	u8 k[32] = { 0 }, s[32], base[32];

	pt_base(&b);
	pt_encode(base, &b);
	pt_scalarmult(&r, &b, k); /* [0]B */
	pt_encode(s, &r);
	assert_memory_equal(s, identity_bytes, 32);
	k[0] = 1; /* [1]B */
	pt_scalarmult(&r, &b, k);
	pt_encode(s, &r);
	assert_memory_equal(s, base, 32);
	pt_scalarmult(&r, &b, order_l); /* [L]B */
	pt_encode(s, &r);
	assert_memory_equal(s, identity_bytes, 32);
	memcpy(k, order_l, 32); /* [L+1]B = B */
	k[0]++;
	pt_scalarmult(&r, &b, k);
	pt_encode(s, &r);
	assert_memory_equal(s, base, 32);
}

static void test_eq_mask(void **state)
{
	assert_int_equal(eq_mask(0, 0), ~0ULL);
	assert_int_equal(eq_mask(15, 15), ~0ULL);
	assert_int_equal(eq_mask(0, 1), 0);
	assert_int_equal(eq_mask(1ULL << 63, 0), 0);
	assert_int_equal(eq_mask(7, 15), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_canonical_only),
		cmocka_unit_test(test_small_order),
		cmocka_unit_test(test_field_edges),
		cmocka_unit_test(test_scalar_edges),
		cmocka_unit_test(test_scalarmult),
		cmocka_unit_test(test_eq_mask),
	};

	return cmocka_run_group_tests_name("ed25519_internal", tests, NULL, NULL);
}
