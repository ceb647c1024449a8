/*
 * SHA-512 (FIPS 180-4), needed by Ed25519 (RFC 8032 hashes with SHA-512).
 * Streaming, no allocation. Implemented in core/sha512.c.
 */
#ifndef MOAT_SHA512_H
#define MOAT_SHA512_H

#include "types.h"

#define SHA512_DIGEST_SIZE 64

struct sha512_ctx {
	u64 state[8];
	u64 length; /* bytes hashed so far (2^64 bytes is far beyond anything the core hashes) */
	u8 block[128];
	u32 used; /* bytes in block */
};

void sha512_init(struct sha512_ctx *ctx);
void sha512_update(struct sha512_ctx *ctx, const void *data, size_t len);
void sha512_final(struct sha512_ctx *ctx, u8 digest[SHA512_DIGEST_SIZE]);

#endif
