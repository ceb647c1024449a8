/*
 * TEMPORARY (attest branch only, until `git merge crypto`): weak placeholders
 * for the crypto API so that the attestation plumbing links. NOT crypto.
 */
#include "ed25519.h"
#include "kdf.h"
#include "lib.h"

__attribute__((weak)) void hkdf_sha256(u8 *out, size_t out_len, const void *salt, size_t salt_len, const void *ikm,
				       size_t ikm_len, const void *info, size_t info_len)
{
	const u8 *k = ikm, *in = info;

	for (size_t i = 0; i < out_len; i++) {
		out[i] = (u8)(k[i % ikm_len] ^ (info_len ? in[i % info_len] : 0) ^ i);
	}
}

__attribute__((weak)) bool ct_equal(const void *a, const void *b, size_t len)
{
	return memcmp(a, b, len) == 0;
}

__attribute__((weak)) void secret_wipe(void *p, size_t len)
{
	volatile u8 *v = p;

	while (len--) {
		*v++ = 0;
	}
}

__attribute__((weak)) void ed25519_public_key(u8 public_key[32], const u8 seed[32])
{
	memcpy(public_key, seed, 32);
}

__attribute__((weak)) void ed25519_sign(u8 signature[64], const u8 seed[32], const u8 public_key[32], const void *msg,
					size_t len)
{
	memset(signature, 0x5a, 64);
}

#include "sha256.h"

__attribute__((weak)) void hmac_sha256(u8 mac[32], const void *key, size_t key_len, const void *msg, size_t msg_len)
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, key, key_len);
	sha256_update(&c, msg, msg_len);
	sha256_final(&c, mac);
}
