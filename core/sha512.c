/*
 * SHA-512 as specified in FIPS 180-4, written from the specification. It
 * owns nothing but the caller's context; its only caller is core/ed25519.c
 * (RFC 8032 hashes keys, nonces and challenges with SHA-512).
 * Big-endian message schedule and output; byte-wise loads so it works on any
 * alignment (the core runs with strict alignment).
 * Lock: none; pure functions on a context that belongs to its caller.
 *
 * Secret inputs (the Ed25519 seed, the nonce prefix) pass through here: the
 * code has no branch or memory index that depends on the data, only on
 * lengths, so it is constant-time in the bytes it hashes.
 */
#include "sha512.h"

#include "lib.h"

/* FIPS 180-4 §4.2.3: the first 64 bits of the fractional parts of the cube roots of the first 80 primes. */
static const u64 round_constants[80] = {
	0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
	0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
	0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
	0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
	0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
	0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
	0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
	0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
	0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
	0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
	0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
	0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
	0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
	0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
	0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
	0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
	0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
	0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
	0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
	0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

static u64 rotr(u64 x, unsigned int n)
{
	return (x >> n) | (x << (64 - n));
}

/* One 128-byte block (FIPS 180-4 §6.4.2); working variables as named locals, as in sha256.c. */
static void compress(u64 state[8], const u8 block[128])
{
	u64 w[80];
	u64 a = state[0], b = state[1], c = state[2], d = state[3];
	u64 e = state[4], f = state[5], g = state[6], h = state[7];

	for (unsigned int i = 0; i < 16; i++) {
		w[i] = 0;
		for (unsigned int j = 0; j < 8; j++) {
			w[i] = w[i] << 8 | block[8 * i + j];
		}
	}
	for (unsigned int i = 16; i < 80; i++) {
		u64 s0 = rotr(w[i - 15], 1) ^ rotr(w[i - 15], 8) ^ (w[i - 15] >> 7);
		u64 s1 = rotr(w[i - 2], 19) ^ rotr(w[i - 2], 61) ^ (w[i - 2] >> 6);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	for (unsigned int i = 0; i < 80; i++) {
		u64 s1 = rotr(e, 14) ^ rotr(e, 18) ^ rotr(e, 41);
		u64 t1 = h + s1 + ((e & f) ^ (~e & g)) + round_constants[i] + w[i];
		u64 t2 = (rotr(a, 28) ^ rotr(a, 34) ^ rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));

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

void sha512_init(struct sha512_ctx *ctx)
{
	/* FIPS 180-4 §5.3.5: fractional parts of the square roots of the first 8 primes. */
	static const u64 initial[8] = { 0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
					0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
					0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL };

	memcpy(ctx->state, initial, sizeof(initial));
	ctx->length = 0;
	ctx->used = 0;
}

void sha512_update(struct sha512_ctx *ctx, const void *data, size_t len)
{
	const u8 *p = data;

	ctx->length += len;
	while (len) {
		size_t take = MIN(len, 128 - ctx->used);

		memcpy(ctx->block + ctx->used, p, take);
		ctx->used += (u32)take;
		p += take;
		len -= take;
		if (ctx->used == 128) {
			compress(ctx->state, ctx->block);
			ctx->used = 0;
		}
	}
}

/*
 * Pad with 0x80, zeros up to 112 mod 128, then the message length in bits as
 * a 128-bit big-endian number (its top 64 bits are the length's top 3 bits).
 */
void sha512_final(struct sha512_ctx *ctx, u8 digest[SHA512_DIGEST_SIZE])
{
	u64 hi = ctx->length >> 61, lo = ctx->length << 3;
	u8 pad = 0x80;
	u8 len_be[16];

	sha512_update(ctx, &pad, 1);
	pad = 0;
	while (ctx->used != 112) {
		sha512_update(ctx, &pad, 1);
	}
	for (unsigned int i = 0; i < 8; i++) {
		len_be[i] = (u8)(hi >> (56 - 8 * i));
		len_be[8 + i] = (u8)(lo >> (56 - 8 * i));
	}
	sha512_update(ctx, len_be, 16);
	for (unsigned int i = 0; i < 64; i++) {
		digest[i] = (u8)(ctx->state[i / 8] >> (56 - 8 * (i % 8)));
	}
}
