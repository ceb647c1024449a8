/*
 * Cross-check of core/ed25519.c against OpenSSL's Ed25519 (libcrypto's EVP
 * interface, a maintained and independent implementation): for 500 seeds and
 * messages from a fixed pseudo-random sequence (messages 0..299 bytes long),
 * the public key and the signature must be byte for byte OpenSSL's (Ed25519
 * signing is deterministic), ed25519_verify must accept OpenSSL's signature
 * and reject it with one bit flipped (in R, in S, or in the message).
 * Host-native only (unit build links -lcrypto for this test alone).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/evp.h>

#include "ed25519.h"

#define ROUNDS 500

/* splitmix64: a fixed sequence, so a failure names a reproducible round. */
static u64 next_random(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(u64 *s, u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (u8)next_random(s);
	}
}

static void openssl_keypair_sign(const u8 seed[32], const u8 *msg, size_t len, u8 pk[32], u8 sig[64])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t pk_len = 32, sig_len = 64;

	assert_non_null(key);
	assert_non_null(md);
	assert_int_equal(EVP_PKEY_get_raw_public_key(key, pk, &pk_len), 1);
	assert_int_equal(pk_len, 32);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sig_len, msg, len), 1);
	assert_int_equal(sig_len, 64);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
}

static void test_against_openssl(void **state)
{
	u64 rng = 0x6d6f6174; /* "moat" */

	for (unsigned int round = 0; round < ROUNDS; round++) {
		u8 seed[32], msg[300], pk[32], sig[64], our_pk[32], our_sig[64];
		size_t len = next_random(&rng) % sizeof(msg);
		unsigned int bit;

		fill(&rng, seed, sizeof(seed));
		fill(&rng, msg, len);
		openssl_keypair_sign(seed, msg, len, pk, sig);

		ed25519_public_key(our_pk, seed);
		ed25519_sign(our_sig, seed, our_pk, msg, len);
		if (memcmp(our_pk, pk, 32) != 0 || memcmp(our_sig, sig, 64) != 0) {
			fail_msg("round %u (%zu-byte message): public key or signature differs from OpenSSL's",
				 round, len);
		}
		assert_true(ed25519_verify(pk, msg, len, sig));

		/* One bit of R or S (alternately), then one bit of the message if there is one. */
		bit = (unsigned int)(next_random(&rng) % 256) + (round & 1) * 256;
		sig[bit / 8] ^= (u8)(1 << (bit % 8));
		assert_false(ed25519_verify(pk, msg, len, sig));
		sig[bit / 8] ^= (u8)(1 << (bit % 8));
		if (len) {
			bit = (unsigned int)(next_random(&rng) % (8 * len));
			msg[bit / 8] ^= (u8)(1 << (bit % 8));
			assert_false(ed25519_verify(pk, msg, len, sig));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_openssl),
	};

	return cmocka_run_group_tests_name("ed25519_openssl", tests, NULL, NULL);
}
