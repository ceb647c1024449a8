/*
 * HMAC-SHA-256 (RFC 2104, FIPS 198-1), HKDF-SHA-256 (RFC 5869) and the two
 * helpers every user of a secret needs: a constant-time comparison and a wipe
 * the compiler cannot remove. Written from the RFCs on top of core/sha256.c.
 * Callers: the attestation and sealing derivations (docs/attestation.md) and
 * core/ed25519.c (secret_wipe). Owns no state.
 * Lock: none; pure functions on buffers that belong to the caller.
 */
#include "kdf.h"

#include "lib.h"
#include "log.h"
#include "sha256.h"

#define HMAC_BLOCK 64 /* SHA-256's block size: the key is padded (or hashed down) to this */

struct hmac_ctx {
	struct sha256_ctx inner;
	struct sha256_ctx outer;
};

/*
 * K0 = key padded with zeros to a block (hashed first if longer than one);
 * inner hash starts with K0 ^ ipad, outer with K0 ^ opad (RFC 2104 §2).
 */
static void hmac_init(struct hmac_ctx *h, const void *key, size_t key_len)
{
	u8 k0[HMAC_BLOCK] = { 0 };
	u8 pad[HMAC_BLOCK];

	if (key_len > HMAC_BLOCK) {
		sha256_init(&h->inner);
		sha256_update(&h->inner, key, key_len);
		sha256_final(&h->inner, k0);
	} else if (key_len) {
		memcpy(k0, key, key_len); /* key may be NULL when key_len is 0 (HKDF's absent salt) */
	}
	for (unsigned int i = 0; i < HMAC_BLOCK; i++) {
		pad[i] = k0[i] ^ 0x36;
	}
	sha256_init(&h->inner);
	sha256_update(&h->inner, pad, HMAC_BLOCK);
	for (unsigned int i = 0; i < HMAC_BLOCK; i++) {
		pad[i] = k0[i] ^ 0x5c;
	}
	sha256_init(&h->outer);
	sha256_update(&h->outer, pad, HMAC_BLOCK);
	secret_wipe(k0, sizeof(k0));
	secret_wipe(pad, sizeof(pad));
}

static void hmac_final(struct hmac_ctx *h, u8 mac[32])
{
	u8 inner[SHA256_DIGEST_SIZE];

	sha256_final(&h->inner, inner);
	sha256_update(&h->outer, inner, sizeof(inner));
	sha256_final(&h->outer, mac);
	secret_wipe(inner, sizeof(inner));
	secret_wipe(h, sizeof(*h)); /* the contexts hold keyed state */
}

void hmac_sha256(u8 mac[32], const void *key, size_t key_len, const void *msg, size_t msg_len)
{
	struct hmac_ctx h;

	hmac_init(&h, key, key_len);
	sha256_update(&h.inner, msg, msg_len);
	hmac_final(&h, mac);
}

/*
 * RFC 5869 §2.2-2.3. An empty salt is the RFC's "not provided": HMAC pads
 * an empty key with zeros, which is exactly the RFC's HashLen zero bytes.
 * T(i) = HMAC(PRK, T(i-1) || info || i) for i = 1..N; out is T(1)..T(N) cut
 * to out_len. The counter is one byte, hence the 255-block limit, which is
 * checked as the core's own invariant: every caller passes a constant length.
 */
void hkdf_sha256(u8 *out, size_t out_len, const void *salt, size_t salt_len, const void *ikm, size_t ikm_len,
		 const void *info, size_t info_len)
{
	u8 prk[32], t[32];
	size_t done = 0;
	u8 counter = 0;

	CHECK(out_len <= 255 * 32);
	hmac_sha256(prk, salt, salt_len, ikm, ikm_len);
	while (done < out_len) {
		struct hmac_ctx h;
		size_t take = MIN(out_len - done, sizeof(t));

		counter++;
		hmac_init(&h, prk, sizeof(prk));
		if (counter > 1) {
			sha256_update(&h.inner, t, sizeof(t));
		}
		sha256_update(&h.inner, info, info_len);
		sha256_update(&h.inner, &counter, 1);
		hmac_final(&h, t);
		memcpy(out + done, t, take);
		done += take;
	}
	secret_wipe(prk, sizeof(prk));
	secret_wipe(t, sizeof(t));
}

/*
 * Constant-time: every byte is visited whatever the data, and the only data-
 * dependent value is the OR of all XORs, tested once after the loop. There is
 * no early exit on the first difference (memcmp's), which would tell an
 * attacker how long a guessed prefix of a secret (a MAC, a key) was right. The
 * accumulator is OR-ed, never branched on, so the compiler has nothing to
 * short-circuit; the final test reveals only equal/unequal, which is the answer.
 */
bool ct_equal(const void *a, const void *b, size_t len)
{
	const u8 *x = a, *y = b;
	u8 diff = 0;

	for (size_t i = 0; i < len; i++) {
		diff |= x[i] ^ y[i];
	}
	return diff == 0;
}

/*
 * Stores through a volatile pointer are observable behaviour to the compiler,
 * so they are kept even when the buffer is dead afterwards (a plain memset of
 * a local that is about to go out of scope may legally be removed).
 */
void secret_wipe(void *p, size_t len)
{
	volatile u8 *v = p;

	for (size_t i = 0; i < len; i++) {
		v[i] = 0;
	}
}
