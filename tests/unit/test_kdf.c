/*
 * Unit tests for core/kdf.c: HMAC-SHA-256 against RFC 4231 §4.2-4.8 (test
 * cases 1-7; case 5 compares the first 128 bits as the RFC does), HKDF-SHA-256
 * against RFC 5869 Appendix A.1-A.3 (test cases 1-3: basic, long inputs, no
 * salt and no info), and ct_equal/secret_wipe. ct_equal's time cannot be
 * measured on the fake arch; core/kdf.c says why its loop has no early exit.
 * The RFC values were re-checked with Python's hmac module.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kdf.h"

static size_t unhex(u8 *out, const char *hex)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (u8)b;
	}
	return n;
}

static void assert_hex(const u8 *got, size_t len, const char *expect)
{
	u8 want[256];

	assert_int_equal(unhex(want, expect), len);
	assert_memory_equal(got, want, len);
}

static void hmac_case(const u8 *key, size_t key_len, const char *msg, const char *expect)
{
	u8 mac[32];

	hmac_sha256(mac, key, key_len, msg, strlen(msg));
	assert_hex(mac, strlen(expect) / 2, expect); /* case 5 gives only 32 hex digits: a truncated MAC */
}

static void test_hmac_rfc4231(void **state)
{
	u8 key[131], data[50];

	memset(key, 0x0b, 20);
	hmac_case(key, 20, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_case((const u8 *)"Jefe", 4, "what do ya want for nothing?",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	{
		u8 mac[32];

		memset(key, 0xaa, 20);
		memset(data, 0xdd, 50);
		hmac_sha256(mac, key, 20, data, 50);
		assert_hex(mac, 32, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
		for (unsigned int i = 0; i < 25; i++) {
			key[i] = (u8)(i + 1);
		}
		memset(data, 0xcd, 50);
		hmac_sha256(mac, key, 25, data, 50);
		assert_hex(mac, 32, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	}
	memset(key, 0x0c, 20);
	hmac_case(key, 20, "Test With Truncation", "a3b6167473100ee06e0c796c2955552b");
	/* Cases 6 and 7: a 131-byte key, longer than SHA-256's 64-byte block, is hashed first. */
	memset(key, 0xaa, 131);
	hmac_case(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	hmac_case(key, 131,
		  "This is a test using a larger than block-size key and a larger than block-size data. "
		  "The key needs to be hashed before being used by the HMAC algorithm.",
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void test_hkdf_rfc5869(void **state)
{
	u8 ikm[80], salt[80], info[80], okm[82];

	/* A.1: basic. */
	memset(ikm, 0x0b, 22);
	for (unsigned int i = 0; i < 13; i++) {
		salt[i] = (u8)i;
	}
	for (unsigned int i = 0; i < 10; i++) {
		info[i] = (u8)(0xf0 + i);
	}
	hkdf_sha256(okm, 42, salt, 13, ikm, 22, info, 10);
	assert_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
	/* A.2: 80-byte inputs, 82 bytes out (three HMAC blocks, the last one cut). */
	for (unsigned int i = 0; i < 80; i++) {
		ikm[i] = (u8)i;
		salt[i] = (u8)(0x60 + i);
		info[i] = (u8)(0xb0 + i);
	}
	hkdf_sha256(okm, 82, salt, 80, ikm, 80, info, 80);
	assert_hex(okm, 82,
		   "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
		   "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
		   "cc30c58179ec3e87c14c01d5c1f3434f1d87");
	/* A.3: no salt (NULL, 0: HashLen zero bytes) and no info. */
	memset(ikm, 0x0b, 22);
	hkdf_sha256(okm, 42, NULL, 0, ikm, 22, NULL, 0);
	assert_hex(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

static void test_ct_equal(void **state)
{
	u8 a[33], b[33];

	for (unsigned int i = 0; i < sizeof(a); i++) {
		a[i] = b[i] = (u8)(i * 13 + 1);
	}
	assert_true(ct_equal(a, b, sizeof(a)));
	assert_true(ct_equal(a, b, 0));
	assert_true(ct_equal(NULL, NULL, 0));
	b[0] ^= 1; /* differs in the first byte only */
	assert_false(ct_equal(a, b, sizeof(a)));
	assert_true(ct_equal(a + 1, b + 1, sizeof(a) - 1));
	b[0] ^= 1;
	b[32] ^= 0x80; /* the last byte only */
	assert_false(ct_equal(a, b, sizeof(a)));
	assert_true(ct_equal(a, b, sizeof(a) - 1));
}

static void test_secret_wipe(void **state)
{
	u8 buf[40], zero[40] = { 0 };

	memset(buf, 0xa5, sizeof(buf));
	secret_wipe(buf + 4, 32);
	assert_memory_equal(buf + 4, zero, 32);
	assert_int_equal(buf[3], 0xa5); /* only the range given */
	assert_int_equal(buf[36], 0xa5);
	secret_wipe(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_secret_wipe),
	};

	return cmocka_run_group_tests_name("kdf", tests, NULL, NULL);
}
