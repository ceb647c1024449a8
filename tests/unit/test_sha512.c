/*
 * Unit tests for core/sha512.c (the hash inside Ed25519): the examples of
 * FIPS 180-4 / NIST's SHA-512 example document ("abc", the 896-bit two-block
 * message, one million 'a') and the empty message; messages whose lengths sit
 * on the padding edges (111, 112, 127, 128, 129 bytes: the length field fits
 * in the last block or needs one more); and the same input fed in pieces that
 * cut blocks at odd places gives the same digest. The digests of the
 * patterned messages were computed with Python's hashlib.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "sha512.h"

static void hex(const u8 d[SHA512_DIGEST_SIZE], char out[2 * SHA512_DIGEST_SIZE + 1])
{
	for (unsigned int i = 0; i < SHA512_DIGEST_SIZE; i++) {
		out[2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	out[2 * SHA512_DIGEST_SIZE] = '\0';
}

/* Hash msg[0..len) fed in pieces of at most cut bytes. */
static void check_cut(const void *msg, size_t len, size_t cut, const char *expect)
{
	struct sha512_ctx c;
	u8 d[SHA512_DIGEST_SIZE];
	char h[2 * SHA512_DIGEST_SIZE + 1];

	sha512_init(&c);
	for (size_t off = 0; off < len; off += cut) {
		sha512_update(&c, (const u8 *)msg + off, len - off < cut ? len - off : cut);
	}
	sha512_final(&c, d);
	hex(d, h);
	assert_string_equal(h, expect);
}

static void check(const void *msg, size_t len, const char *expect)
{
	check_cut(msg, len, len ? len : 1, expect);
}

static void test_fips_examples(void **state)
{
	check("", 0,
	      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	      "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
	check("abc", 3,
	      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	      112,
	      "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
	      "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

static void test_million_a(void **state)
{
	static u8 a[1000];
	struct sha512_ctx c;
	u8 d[SHA512_DIGEST_SIZE];
	char h[2 * SHA512_DIGEST_SIZE + 1];

	memset(a, 'a', sizeof(a));
	sha512_init(&c);
	for (unsigned int i = 0; i < 1000; i++) {
		sha512_update(&c, a, sizeof(a));
	}
	sha512_final(&c, d);
	hex(d, h);
	assert_string_equal(
		h,
		"e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
		"de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

static const struct {
	size_t len;
	const char *digest;
} padding_edges[] = {
	{ 111, "68cffa6d0d76f309c9ce0d35280939f8e25990c43b7b086ccdf709be35b07d4d"
		"dba599541ff2b1c19d34ea49aeafb9659adb7ac3c0b078bb30a22d57fc6687ef" },
	{ 112, "d0865c524d1dddf7c23b799c413f5adcd7caefd3f66a9b49750ec81066012c25"
		"a8bcf94ddea6dc525691673097ca40e0101e897fc97218cfdb0704084e2bef4b" },
	{ 127, "e0b6a20f1c0c88970a9340152cd5a1c1ecf3d3b8de5510274187943807947354"
		"0133b812706e5dbec322c8c9523b6fc8c6d16ee626e87ad5fe3d2916afedc369" },
	{ 128, "99b16f17aa0b969a5b8f08f367719d516e330ccd2660b6f0688ec031dbc783de"
		"50a1cd185a2568dba75070a2403d17d4741d163578515dfd2ff756ddfe4d47b1" },
	{ 129, "a1556e29185778aa5991e34b8884c840d589f0fbb4b8ed590e51e9ac4eb03a00"
		"8125000db2671f8fe7f485b59a77b518670078ecb41a54b4cd02a7f1d2ca4c6d" },
	{ 1000, "00e36fccf193e59697a92b5ab24666ce6326d7fa16bf10832d0991ddc591112e"
		"9dfa6a636950ed9c4d67344a760654c2ff7785e1d60094d651038735b5dccabd" },
};

/* Byte i is (i * 7 + 3) mod 256; each length whole and cut into 1, 63, 111, 127, 128, 129-byte pieces. */
static void test_padding_edges_and_split_updates(void **state)
{
	static const size_t cuts[] = { 1, 63, 111, 127, 128, 129 };
	static u8 msg[1000];

	for (unsigned int i = 0; i < sizeof(msg); i++) {
		msg[i] = (u8)(i * 7 + 3);
	}
	for (unsigned int k = 0; k < sizeof(padding_edges) / sizeof(padding_edges[0]); k++) {
		check(msg, padding_edges[k].len, padding_edges[k].digest);
		for (unsigned int c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
			check_cut(msg, padding_edges[k].len, cuts[c], padding_edges[k].digest);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_examples),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_edges_and_split_updates),
	};

	return cmocka_run_group_tests_name("sha512", tests, NULL, NULL);
}
