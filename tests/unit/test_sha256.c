/*
 * Unit tests for core/sha256.c (the VM measurement): the known answers of
 * FIPS 180-2 Appendix B (one block, two blocks, a million bytes) and the
 * empty message, plus the shape the core hashes for LOAD (an 8-byte IPA then
 * a 4 KiB page), fed whole and in pieces that cut blocks at odd places; the
 * digests were computed with Python's hashlib.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "sha256.h"

static void hex(const u8 d[SHA256_DIGEST_SIZE], char out[2 * SHA256_DIGEST_SIZE + 1])
{
	for (unsigned int i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	out[2 * SHA256_DIGEST_SIZE] = '\0';
}

static void check(const void *msg, size_t len, const char *expect)
{
	struct sha256_ctx c;
	u8 d[SHA256_DIGEST_SIZE];
	char h[2 * SHA256_DIGEST_SIZE + 1];

	sha256_init(&c);
	sha256_update(&c, msg, len);
	sha256_final(&c, d);
	hex(d, h);
	assert_string_equal(h, expect);
}

static void test_known_answers(void **state)
{
	check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a(void **state)
{
	static u8 a[1000];
	struct sha256_ctx c;
	u8 d[SHA256_DIGEST_SIZE];
	char h[2 * SHA256_DIGEST_SIZE + 1];

	memset(a, 'a', sizeof(a));
	sha256_init(&c);
	for (unsigned int i = 0; i < 1000; i++) {
		sha256_update(&c, a, sizeof(a));
	}
	sha256_final(&c, d);
	hex(d, h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* LOAD's input: the IPA (little-endian u64), then the page; whole or in odd pieces, the same digest. */
static void test_load_shape_in_pieces(void **state)
{
	static const size_t cuts[] = { 4096, 1, 63, 64, 65, 100, 4095 };
	static u8 page[4096];
	u64 ipa = 0x40001000;

	for (unsigned int i = 0; i < sizeof(page); i++) {
		page[i] = (u8)(i * 7 + 3);
	}
	for (unsigned int k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		struct sha256_ctx c;
		u8 d[SHA256_DIGEST_SIZE];
		char h[2 * SHA256_DIGEST_SIZE + 1];

		sha256_init(&c);
		sha256_update(&c, &ipa, sizeof(ipa));
		for (size_t off = 0; off < sizeof(page); off += cuts[k]) {
			size_t n = sizeof(page) - off < cuts[k] ? sizeof(page) - off : cuts[k];

			sha256_update(&c, page + off, n);
		}
		sha256_final(&c, d);
		hex(d, h);
		assert_string_equal(h, "a4e17d24bd1dd006380b242f347d9aecdadf5acc1052805527e79a1f3e57c3f9");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_load_shape_in_pieces),
	};

	return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
