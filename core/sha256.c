/*
 * SHA-256 as specified in FIPS 180-4, written from the specification.
 * Big-endian message schedule and output; byte-wise loads so it works on any
 * alignment (the core runs with strict alignment).
 * Lock: none of its own; a context is its owner's (a VM's, under vm->lock).
 */
#include "sha256.h"

#include "lib.h"

static const u32 round_constants[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static u32 rotr(u32 x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

/*
 * The eight working variables are named locals, rotated by assignment: an
 * earlier version shifted an array with memmove every round, and the core's
 * byte-wise memmove (overlapping, backwards) made LOAD of a 44 MB Linux
 * Image take 5-8 s under TCG instead of under half of that.
 */
static void compress(u32 state[8], const u8 block[64])
{
	u32 w[64];
	u32 a = state[0], b = state[1], c = state[2], d = state[3];
	u32 e = state[4], f = state[5], g = state[6], h = state[7];

	for (unsigned int i = 0; i < 16; i++) {
		w[i] = (u32)block[4 * i] << 24 | (u32)block[4 * i + 1] << 16 | (u32)block[4 * i + 2] << 8 |
		       block[4 * i + 3];
	}
	for (unsigned int i = 16; i < 64; i++) {
		u32 s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		u32 s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	for (unsigned int i = 0; i < 64; i++) {
		u32 s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
		u32 t1 = h + s1 + ((e & f) ^ (~e & g)) + round_constants[i] + w[i];
		u32 t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

void sha256_init(struct sha256_ctx *ctx)
{
	static const u32 initial[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(ctx->state, initial, sizeof(initial));
	ctx->length = 0;
	ctx->used = 0;
}

void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
	const u8 *p = data;

	ctx->length += len;
	while (len) {
		size_t take = MIN(len, 64 - ctx->used);

		memcpy(ctx->block + ctx->used, p, take);
		ctx->used += (u32)take;
		p += take;
		len -= take;
		if (ctx->used == 64) {
			compress(ctx->state, ctx->block);
			ctx->used = 0;
		}
	}
}

void sha256_final(struct sha256_ctx *ctx, u8 digest[SHA256_DIGEST_SIZE])
{
	u64 bits = ctx->length * 8;
	u8 pad = 0x80;
	u8 len_be[8];

	sha256_update(ctx, &pad, 1);
	pad = 0;
	while (ctx->used != 56) {
		sha256_update(ctx, &pad, 1);
	}
	for (unsigned int i = 0; i < 8; i++) {
		len_be[i] = (u8)(bits >> (56 - 8 * i));
	}
	sha256_update(ctx, len_be, 8);
	for (unsigned int i = 0; i < 8; i++) {
		digest[4 * i] = (u8)(ctx->state[i] >> 24);
		digest[4 * i + 1] = (u8)(ctx->state[i] >> 16);
		digest[4 * i + 2] = (u8)(ctx->state[i] >> 8);
		digest[4 * i + 3] = (u8)ctx->state[i];
	}
}
