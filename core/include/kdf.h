/*
 * HMAC-SHA-256 (RFC 2104) and HKDF-SHA-256 (RFC 5869) for the core's key
 * derivations (docs/attestation.md), and a constant-time comparison for
 * secrets. Implemented in core/kdf.c.
 */
#ifndef MOAT_KDF_H
#define MOAT_KDF_H

#include "types.h"

void hmac_sha256(u8 mac[32], const void *key, size_t key_len, const void *msg, size_t msg_len);

/* HKDF extract-then-expand; out_len <= 255 * 32. */
void hkdf_sha256(u8 *out, size_t out_len, const void *salt, size_t salt_len, const void *ikm, size_t ikm_len,
		 const void *info, size_t info_len);

/* true if a[0..len) == b[0..len); time depends only on len. */
bool ct_equal(const void *a, const void *b, size_t len);

/* Zero a secret so that the compiler cannot drop the stores as dead. */
void secret_wipe(void *p, size_t len);

#endif
