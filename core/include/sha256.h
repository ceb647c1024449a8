/*
 * SHA-256 (FIPS 180-4) for VM measurement. Streaming, no allocation. The
 * inputs (configuration, loaded pages, boot registers) are not secret from
 * the hashing side, so no constant-time concerns apply here.
 */
#ifndef MOAT_SHA256_H
#define MOAT_SHA256_H

#include "types.h"

#define SHA256_DIGEST_SIZE 32

struct sha256_ctx {
	u32 state[8];
	u64 length; /* bytes hashed so far */
	u8 block[64];
	u32 used; /* bytes in block */
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(struct sha256_ctx *ctx, u8 digest[SHA256_DIGEST_SIZE]);

#endif
