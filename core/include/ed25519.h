/*
 * Ed25519 (RFC 8032, pure variant, no context). Implemented in core/ed25519.c.
 *
 * Verification is cofactorless and strict: S must be < L, A and R must be
 * canonical encodings of curve points and not of small order (the rule is
 * written out in docs/attestation.md). Its inputs are public, so it need
 * not be constant-time. Key derivation and signing handle secrets and are
 * constant-time: no branch and no memory index depends on a secret.
 */
#ifndef MOAT_ED25519_H
#define MOAT_ED25519_H

#include "types.h"

#define ED25519_SEED_SIZE 32
#define ED25519_PUBLIC_KEY_SIZE 32
#define ED25519_SIGNATURE_SIZE 64

/* true only for a valid signature of msg[0..len) under public_key. */
bool ed25519_verify(const u8 public_key[ED25519_PUBLIC_KEY_SIZE], const void *msg, size_t len,
		    const u8 signature[ED25519_SIGNATURE_SIZE]);

/* The public key of a 32-byte secret seed (RFC 8032 §5.1.5). Constant-time. */
void ed25519_public_key(u8 public_key[ED25519_PUBLIC_KEY_SIZE], const u8 seed[ED25519_SEED_SIZE]);

/*
 * Sign msg with seed, whose public key is public_key (RFC 8032 §5.1.6).
 * Constant-time in the seed. The signature always uses the public key derived
 * from seed: a mismatching public_key cannot make two signatures that reveal
 * the secret scalar (it costs one more base-point multiplication).
 */
void ed25519_sign(u8 signature[ED25519_SIGNATURE_SIZE], const u8 seed[ED25519_SEED_SIZE],
		  const u8 public_key[ED25519_PUBLIC_KEY_SIZE], const void *msg, size_t len);

#endif
