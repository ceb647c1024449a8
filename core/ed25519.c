/*
 * Ed25519 (RFC 8032 §5.1, pure variant, no context), written from the RFC.
 * Owns no state. Callers: the owner-policy check (verify, core/policy.c) and
 * the attestation code (public key and sign with keys derived in the core).
 * Lock: none; pure functions on the caller's buffers.
 *
 * Verification rule (docs/attestation.md, "Ed25519 verification rule"): a
 * signature (R, S) of message M under public key A is accepted only if
 *   1. S < L (strict: S + L would also satisfy the equation, a second,
 *      "malleated" signature of the same message);
 *   2. A and R are canonical encodings (y < p, and not x = 0 with the sign
 *      bit set) of points on the curve;
 *   3. neither A nor R has small order ([8]P != identity), so a key or a
 *      nonce from the 8-element torsion subgroup cannot make one signature
 *      valid for many messages or keys;
 *   4. [S]B == R + [k]A with k = SHA-512(R || A || M) mod L, compared as
 *      encodings, without multiplying by the cofactor 8 (cofactorless).
 * With 1-3 a valid signature has one encoding and every check is exact.
 * Verification works on public data and is variable-time.
 *
 * Key derivation and signing handle the seed, the secret scalar s and the
 * nonce r. They run in constant time: the only scalar multiplication is a
 * fixed 4-bit window over all 64 nibbles whose table entry is picked with a
 * masked select that reads all 16 entries; field and scalar arithmetic have
 * no branch or memory index depending on values; secrets are wiped after use.
 * (This assumes the CPU's 64-bit multiply, MUL/UMULH on arm64, takes the same
 * time for all operands, as it does on the cores moat targets.)
 *
 * Cost (x86-64 gcc -O2, callgrind; arm64 is of the same order): public key
 * about 1.1 M instructions, sign 2.4 M (two base-point multiplications, see
 * ed25519_sign), verify 2.7 M. Deepest stack about 4.6 KiB (verify, mostly the
 * window table of 16 points in pt_scalarmult).
 *
 * Field elements mod p = 2^255 - 19 are five 51-bit limbs (radix 2^51) in
 * u64, multiplied with 128-bit products. Every function leaves limbs below
 * 2^52 and accepts inputs up to that; fe_tobytes gives the canonical value.
 * Points are extended homogeneous coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
 * x*y = T/Z (RFC 8032 §5.1.4).
 */
#include "ed25519.h"

#include "kdf.h"
#include "lib.h"
#include "sha512.h"

typedef unsigned __int128 u128;

#define LIMB_MASK ((1ULL << 51) - 1)

typedef struct {
	u64 v[5];
} fe;

struct point {
	fe x, y, z, t;
};

/* Constants of edwards25519 (RFC 8032 §5.1), little-endian like every encoding. */
static const u8 d_bytes[32] = { /* d = -121665/121666 mod p */
	0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
	0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52,
};
static const u8 sqrtm1_bytes[32] = { /* 2^((p-1)/4) mod p, a square root of -1 */
	0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
	0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b,
};
static const u8 base_x[32] = { /* B's x, the even root */
	0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25, 0x95, 0x60, 0xc7, 0x2c, 0x69,
	0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2, 0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21,
};
static const u8 base_y[32] = { /* B's y = 4/5 mod p */
	0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
};
static const u8 order_l[32] = { /* L = 2^252 + 27742317777372353535851937790883648493, B's order */
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};
/* Exponents: p - 2 = 2^255 - 21 (inverse, Fermat) and (p - 5) / 8 = 2^252 - 3 (square root, §5.1.3). */
static const u8 exp_invert[32] = { [0] = 0xeb, [1 ... 30] = 0xff, [31] = 0x7f };
static const u8 exp_sqrt[32] = { [0] = 0xfd, [1 ... 30] = 0xff, [31] = 0x0f };
/* The identity (0, 1) encoded: what [8]P gives for each of the 8 small-order points. */
static const u8 identity_bytes[32] = { 1 };

/* ---------------------------------------------------------------- field arithmetic mod p */

static u64 load64_le(const u8 *p)
{
	u64 v = 0;

	for (unsigned int i = 0; i < 8; i++) {
		v |= (u64)p[i] << (8 * i);
	}
	return v;
}

static void store64_le(u8 *p, u64 v)
{
	for (unsigned int i = 0; i < 8; i++) {
		p[i] = (u8)(v >> (8 * i));
	}
}

static void fe_set(fe *h, u64 small)
{
	*h = (fe){ { small, 0, 0, 0, 0 } };
}

/* Move each limb's bits above 51 into the next; the carry out of the top is 2^255 = 19 (mod p). */
static void fe_carry(fe *h)
{
	for (unsigned int i = 0; i < 4; i++) {
		h->v[i + 1] += h->v[i] >> 51;
		h->v[i] &= LIMB_MASK;
	}
	h->v[0] += 19 * (h->v[4] >> 51);
	h->v[4] &= LIMB_MASK;
}

static void fe_add(fe *h, const fe *f, const fe *g)
{
	for (unsigned int i = 0; i < 5; i++) {
		h->v[i] = f->v[i] + g->v[i];
	}
	fe_carry(h);
}

/* f - g computed as f + 4p - g: 4p's limbs exceed any g's (< 2^52), so no limb goes negative. */
static void fe_sub(fe *h, const fe *f, const fe *g)
{
	h->v[0] = f->v[0] + 4 * (LIMB_MASK - 18) - g->v[0];
	for (unsigned int i = 1; i < 5; i++) {
		h->v[i] = f->v[i] + 4 * LIMB_MASK - g->v[i];
	}
	fe_carry(h);
}

/*
 * Schoolbook product. Limb i+j >= 5 stands for 2^(51(i+j)) = 2^255 * 2^(51(i+j-5)),
 * and 2^255 = 19 (mod p), so it folds into limb i+j-5 times 19 (b1..b4 are 19 * g's limbs).
 * With limbs < 2^52 each sum stays below 5 * 2^52 * 19 * 2^52 < 2^113. Written
 * out rather than looped: this is where signing spends most of its time.
 * h may alias f or g.
 */
static void fe_mul(fe *h, const fe *f, const fe *g)
{
	const u64 *a = f->v, *b = g->v;
	u64 b1 = 19 * b[1], b2 = 19 * b[2], b3 = 19 * b[3], b4 = 19 * b[4];
	u128 t0, t1, t2, t3, t4;
	u64 c;

	t0 = (u128)a[0] * b[0] + (u128)a[1] * b4 + (u128)a[2] * b3 + (u128)a[3] * b2 + (u128)a[4] * b1;
	t1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b4 + (u128)a[3] * b3 + (u128)a[4] * b2;
	t2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] + (u128)a[3] * b4 + (u128)a[4] * b3;
	t3 = (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] + (u128)a[3] * b[0] + (u128)a[4] * b4;
	t4 = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] + (u128)a[3] * b[1] + (u128)a[4] * b[0];
	/*
	 * Carry: each limb keeps 51 bits and the top carry wraps around times 19.
	 * t4 has no 19-multiplied term, so t4 < 2^107 and c < 2^56: 19 * c fits in 64 bits.
	 */
	t1 += (u64)(t0 >> 51);
	t2 += (u64)(t1 >> 51);
	t3 += (u64)(t2 >> 51);
	t4 += (u64)(t3 >> 51);
	c = (u64)(t4 >> 51);
	h->v[0] = ((u64)t0 & LIMB_MASK) + 19 * c;
	h->v[1] = (u64)t1 & LIMB_MASK;
	h->v[2] = (u64)t2 & LIMB_MASK;
	h->v[3] = (u64)t3 & LIMB_MASK;
	h->v[4] = (u64)t4 & LIMB_MASK;
	h->v[1] += h->v[0] >> 51;
	h->v[0] &= LIMB_MASK;
}

/* f^e for a public constant exponent e (255 bits): square-and-multiply, branching on e only. */
static void fe_pow(fe *h, const fe *f, const u8 e[32])
{
	fe r;

	fe_set(&r, 1);
	for (int i = 254; i >= 0; i--) {
		fe_mul(&r, &r, &r);
		if ((e[i / 8] >> (i % 8)) & 1) {
			fe_mul(&r, &r, f);
		}
	}
	*h = r;
}

/* The low 255 bits of s; bit 255 (the sign of x in a point encoding) is ignored. */
static void fe_frombytes(fe *h, const u8 s[32])
{
	u64 w0 = load64_le(s), w1 = load64_le(s + 8), w2 = load64_le(s + 16), w3 = load64_le(s + 24);

	h->v[0] = w0 & LIMB_MASK;
	h->v[1] = (w0 >> 51 | w1 << 13) & LIMB_MASK;
	h->v[2] = (w1 >> 38 | w2 << 26) & LIMB_MASK;
	h->v[3] = (w2 >> 25 | w3 << 39) & LIMB_MASK;
	h->v[4] = (w3 >> 12) & LIMB_MASK;
}

/*
 * The canonical encoding (value in [0, p)). Two carries bring every limb below
 * 2^51, so h < 2^255 < 2p; q = 1 exactly when h + 19 >= 2^255, i.e. h >= p,
 * and then h + 19 - 2^255 = h - p is what remains after dropping bit 255.
 */
static void fe_tobytes(u8 s[32], const fe *h)
{
	fe t = *h;
	u64 q;

	fe_carry(&t);
	fe_carry(&t);
	q = (t.v[0] + 19) >> 51;
	for (unsigned int i = 1; i < 5; i++) {
		q = (t.v[i] + q) >> 51;
	}
	t.v[0] += 19 * q;
	for (unsigned int i = 0; i < 4; i++) {
		t.v[i + 1] += t.v[i] >> 51;
		t.v[i] &= LIMB_MASK;
	}
	t.v[4] &= LIMB_MASK;
	store64_le(s, t.v[0] | t.v[1] << 51);
	store64_le(s + 8, t.v[1] >> 13 | t.v[2] << 38);
	store64_le(s + 16, t.v[2] >> 26 | t.v[3] << 25);
	store64_le(s + 24, t.v[3] >> 39 | t.v[4] << 12);
}

static bool fe_equal(const fe *f, const fe *g)
{
	u8 a[32], b[32];

	fe_tobytes(a, f);
	fe_tobytes(b, g);
	return memcmp(a, b, 32) == 0; /* public values only (decoding) */
}

static bool is_zero(const u8 s[32])
{
	u8 acc = 0;

	for (unsigned int i = 0; i < 32; i++) {
		acc |= s[i];
	}
	return acc == 0;
}

/* h = f where mask is all ones, unchanged where it is zero: no branch on the mask. */
static void fe_cmov(fe *h, const fe *f, u64 mask)
{
	for (unsigned int i = 0; i < 5; i++) {
		h->v[i] ^= (h->v[i] ^ f->v[i]) & mask;
	}
}

/* ---------------------------------------------------------------- points */

static void pt_identity(struct point *p)
{
	fe_set(&p->x, 0);
	fe_set(&p->y, 1);
	fe_set(&p->z, 1);
	fe_set(&p->t, 0);
}

static void pt_base(struct point *p)
{
	fe_frombytes(&p->x, base_x);
	fe_frombytes(&p->y, base_y);
	fe_set(&p->z, 1);
	fe_mul(&p->t, &p->x, &p->y);
}

/*
 * RFC 8032 §5.1.4 addition for a = -1. The formula is complete on edwards25519
 * (d is not a square): it is right for P == Q and for the identity, so the
 * scalar multiplication needs no special case (and no branch). r may alias p or q.
 */
static void pt_add(struct point *r, const struct point *p, const struct point *q)
{
	fe a, b, c, d, e, f, g, h, d2;

	fe_frombytes(&d2, d_bytes);
	fe_add(&d2, &d2, &d2);
	fe_sub(&a, &p->y, &p->x);
	fe_sub(&h, &q->y, &q->x);
	fe_mul(&a, &a, &h); /* A = (Y1-X1)*(Y2-X2) */
	fe_add(&b, &p->y, &p->x);
	fe_add(&h, &q->y, &q->x);
	fe_mul(&b, &b, &h); /* B = (Y1+X1)*(Y2+X2) */
	fe_mul(&c, &p->t, &q->t);
	fe_mul(&c, &c, &d2); /* C = T1*2*d*T2 */
	fe_mul(&d, &p->z, &q->z);
	fe_add(&d, &d, &d); /* D = Z1*2*Z2 */
	fe_sub(&e, &b, &a);
	fe_sub(&f, &d, &c);
	fe_add(&g, &d, &c);
	fe_add(&h, &b, &a);
	fe_mul(&r->x, &e, &f);
	fe_mul(&r->y, &g, &h);
	fe_mul(&r->t, &e, &h);
	fe_mul(&r->z, &f, &g);
}

/* RFC 8032 §5.1.4 doubling (cheaper than pt_add(r, p, p), same result). r may alias p. */
static void pt_double(struct point *r, const struct point *p)
{
	fe a, b, c, e, f, g, h;

	fe_mul(&a, &p->x, &p->x); /* A = X1^2 */
	fe_mul(&b, &p->y, &p->y); /* B = Y1^2 */
	fe_mul(&c, &p->z, &p->z);
	fe_add(&c, &c, &c); /* C = 2*Z1^2 */
	fe_add(&h, &a, &b); /* H = A+B */
	fe_add(&e, &p->x, &p->y);
	fe_mul(&e, &e, &e);
	fe_sub(&e, &h, &e); /* E = H-(X1+Y1)^2 */
	fe_sub(&g, &a, &b); /* G = A-B */
	fe_add(&f, &c, &g); /* F = C+G */
	fe_mul(&r->x, &e, &f);
	fe_mul(&r->y, &g, &h);
	fe_mul(&r->t, &e, &h);
	fe_mul(&r->z, &f, &g);
}

/* §5.1.2: y with the low bit of x in bit 255. Constant-time (the inversion's exponent is fixed). */
static void pt_encode(u8 s[32], const struct point *p)
{
	fe zinv, x, y;
	u8 xb[32];

	fe_pow(&zinv, &p->z, exp_invert);
	fe_mul(&x, &p->x, &zinv);
	fe_mul(&y, &p->y, &zinv);
	fe_tobytes(s, &y);
	fe_tobytes(xb, &x);
	s[31] |= (u8)((xb[0] & 1) << 7);
}

/*
 * §5.1.3, strictly: fails for y >= p, for a y with no x on the curve, and for
 * x = 0 with the sign bit set (all three would give a second encoding of a point
 * or none). x = sqrt(u/v) with u = y^2 - 1, v = d*y^2 + 1, computed as
 * u*v^3 * (u*v^7)^((p-5)/8), then fixed up by sqrt(-1) when v*x^2 = -u.
 */
static bool pt_decode(struct point *p, const u8 s[32])
{
	unsigned int sign = s[31] >> 7;
	fe u, v, v3, x, vx2, t, one;
	u8 check[32];

	fe_frombytes(&p->y, s);
	fe_tobytes(check, &p->y);
	check[31] |= (u8)(sign << 7);
	if (memcmp(check, s, 32) != 0) {
		return false; /* y >= p: the canonical re-encoding differs */
	}
	fe_set(&one, 1);
	fe_mul(&u, &p->y, &p->y);
	fe_frombytes(&t, d_bytes);
	fe_mul(&v, &u, &t);
	fe_sub(&u, &u, &one);
	fe_add(&v, &v, &one);
	fe_mul(&v3, &v, &v);
	fe_mul(&v3, &v3, &v); /* v^3 */
	fe_mul(&t, &v3, &v3);
	fe_mul(&t, &t, &v);
	fe_mul(&t, &t, &u); /* u*v^7 */
	fe_pow(&t, &t, exp_sqrt);
	fe_mul(&x, &u, &v3);
	fe_mul(&x, &x, &t);
	fe_mul(&vx2, &x, &x);
	fe_mul(&vx2, &vx2, &v);
	if (!fe_equal(&vx2, &u)) {
		fe_set(&t, 0);
		fe_sub(&u, &t, &u);
		if (!fe_equal(&vx2, &u)) {
			return false; /* u/v is not a square: no point has this y */
		}
		fe_frombytes(&t, sqrtm1_bytes);
		fe_mul(&x, &x, &t);
	}
	fe_tobytes(check, &x);
	if (sign && is_zero(check)) {
		return false; /* x = 0 has no negative: sign bit set is a second encoding */
	}
	if ((check[0] & 1) != sign) {
		fe_set(&t, 0);
		fe_sub(&x, &t, &x);
	}
	p->x = x;
	fe_set(&p->z, 1);
	fe_mul(&p->t, &x, &p->y);
	return true;
}

/* Mask of all ones if a == b, else zero, without a branch: (x | -x) has its top bit set iff x != 0. */
static u64 eq_mask(u64 a, u64 b)
{
	u64 x = a ^ b;

	return ((x | (0 - x)) >> 63) - 1;
}

/* r = table[index], reading every entry so that the memory access pattern does not depend on index. */
static void pt_select(struct point *r, const struct point table[16], unsigned int index)
{
	*r = table[0];
	for (unsigned int j = 1; j < 16; j++) {
		u64 mask = eq_mask(j, index);

		fe_cmov(&r->x, &table[j].x, mask);
		fe_cmov(&r->y, &table[j].y, mask);
		fe_cmov(&r->z, &table[j].z, mask);
		fe_cmov(&r->t, &table[j].t, mask);
	}
}

/*
 * r = [k]p for a 256-bit little-endian k, in constant time: a fixed 4-bit window
 * from the top nibble down, always 4 doublings and one addition of
 * table[nibble] = [nibble]p (table[0] is the identity, added like any other).
 */
static void pt_scalarmult(struct point *r, const struct point *p, const u8 k[32])
{
	struct point table[16], q, sel;

	pt_identity(&table[0]);
	for (unsigned int i = 1; i < 16; i++) {
		pt_add(&table[i], &table[i - 1], p);
	}
	pt_identity(&q);
	for (int i = 63; i >= 0; i--) {
		unsigned int nibble = (k[i / 2] >> (4 * (i & 1))) & 15;

		for (unsigned int j = 0; j < 4; j++) {
			pt_double(&q, &q);
		}
		pt_select(&sel, table, nibble);
		pt_add(&q, &q, &sel);
	}
	*r = q;
	secret_wipe(&q, sizeof(q)); /* intermediate multiples reveal the scalar's top bits */
	secret_wipe(&sel, sizeof(sel));
}

/* [8]p == identity: p is one of the 8 points of small order (the torsion subgroup). */
static bool pt_small_order(const struct point *p)
{
	struct point q;
	u8 s[32];

	pt_double(&q, p);
	pt_double(&q, &q);
	pt_double(&q, &q);
	pt_encode(s, &q);
	return memcmp(s, identity_bytes, 32) == 0;
}

/* ---------------------------------------------------------------- scalars mod L */

/*
 * out = in mod L for a little-endian in of len bytes (32 or 64), bit by bit
 * from the top: r = 2r + bit, then subtract L if r >= L. r < L keeps 2r + 1 <
 * 2^254 within four words. The subtraction is always done and kept or dropped
 * by mask, so the time depends on len only (in may be secret: the nonce).
 */
static void sc_reduce(u8 out[32], const u8 *in, size_t len)
{
	u64 r[4] = { 0 }, l[4];

	for (unsigned int j = 0; j < 4; j++) {
		l[j] = load64_le(order_l + 8 * j);
	}
	for (size_t i = 8 * len; i-- > 0;) {
		u64 t[4], borrow = 0, keep;

		r[3] = r[3] << 1 | r[2] >> 63;
		r[2] = r[2] << 1 | r[1] >> 63;
		r[1] = r[1] << 1 | r[0] >> 63;
		r[0] = r[0] << 1 | ((in[i / 8] >> (i % 8)) & 1);
		for (unsigned int j = 0; j < 4; j++) {
			u128 diff = (u128)r[j] - l[j] - borrow;

			t[j] = (u64)diff;
			borrow = (u64)(diff >> 64) & 1;
		}
		keep = borrow - 1; /* all ones when r >= L (no borrow): take r - L */
		for (unsigned int j = 0; j < 4; j++) {
			r[j] = (t[j] & keep) | (r[j] & ~keep);
		}
	}
	for (unsigned int j = 0; j < 4; j++) {
		store64_le(out + 8 * j, r[j]);
	}
	secret_wipe(r, sizeof(r));
}

/* out = (a * b + c) mod L for 256-bit a, b, c: the 512-bit sum, then sc_reduce. Constant-time. */
static void sc_muladd(u8 out[32], const u8 a[32], const u8 b[32], const u8 c[32])
{
	u64 x[4], y[4], prod[8] = { 0 }, carry = 0;
	u8 wide[64];

	for (unsigned int i = 0; i < 4; i++) {
		x[i] = load64_le(a + 8 * i);
		y[i] = load64_le(b + 8 * i);
	}
	for (unsigned int i = 0; i < 4; i++) {
		u64 hi = 0;

		for (unsigned int j = 0; j < 4; j++) {
			u128 t = (u128)x[i] * y[j] + prod[i + j] + hi;

			prod[i + j] = (u64)t;
			hi = (u64)(t >> 64);
		}
		prod[i + 4] = hi;
	}
	for (unsigned int i = 0; i < 8; i++) {
		u128 t = (u128)prod[i] + (i < 4 ? load64_le(c + 8 * i) : 0) + carry;

		store64_le(wide + 8 * i, (u64)t);
		carry = (u64)(t >> 64); /* a*b < 2^512 - 2^257 leaves room for c: no carry out of the top */
	}
	sc_reduce(out, wide, sizeof(wide));
	secret_wipe(x, sizeof(x));
	secret_wipe(y, sizeof(y));
	secret_wipe(prod, sizeof(prod));
	secret_wipe(wide, sizeof(wide));
}

/* S < L, compared from the most significant byte (public: part of a signature). */
static bool sc_is_canonical(const u8 s[32])
{
	for (int i = 31; i >= 0; i--) {
		if (s[i] != order_l[i]) {
			return s[i] < order_l[i];
		}
	}
	return false; /* S == L */
}

/* ---------------------------------------------------------------- Ed25519 */

/* k = SHA-512(first || second || msg) mod L: the challenge (R, A) and the nonce (prefix, nothing). */
static void hash_to_scalar(u8 k[32], const u8 *first, size_t first_len, const u8 *second, size_t second_len,
			   const void *msg, size_t len)
{
	struct sha512_ctx c;
	u8 h[SHA512_DIGEST_SIZE];

	sha512_init(&c);
	sha512_update(&c, first, first_len);
	sha512_update(&c, second, second_len);
	sha512_update(&c, msg, len);
	sha512_final(&c, h);
	sc_reduce(k, h, sizeof(h));
	secret_wipe(&c, sizeof(c));
	secret_wipe(h, sizeof(h));
}

/*
 * §5.1.5: h = SHA-512(seed); s = h[0..32) with bits 0-2 and 255 cleared and bit
 * 254 set (a multiple of the cofactor, fixed length); h[32..64) is the nonce prefix.
 */
static void expand_seed(u8 h[SHA512_DIGEST_SIZE], const u8 seed[ED25519_SEED_SIZE])
{
	struct sha512_ctx c;

	sha512_init(&c);
	sha512_update(&c, seed, ED25519_SEED_SIZE);
	sha512_final(&c, h);
	secret_wipe(&c, sizeof(c));
	h[0] &= 0xf8;
	h[31] &= 0x7f;
	h[31] |= 0x40;
}

static void base_mult_encode(u8 out[32], const u8 scalar[32])
{
	struct point b, p;

	pt_base(&b);
	pt_scalarmult(&p, &b, scalar);
	pt_encode(out, &p);
	secret_wipe(&p, sizeof(p));
}

void ed25519_public_key(u8 public_key[ED25519_PUBLIC_KEY_SIZE], const u8 seed[ED25519_SEED_SIZE])
{
	u8 h[SHA512_DIGEST_SIZE];

	expand_seed(h, seed);
	base_mult_encode(public_key, h);
	secret_wipe(h, sizeof(h));
}

/*
 * §5.1.6. The public key is derived from the seed again rather than taken from
 * the caller: signing one message under the same seed with two different
 * "public keys" gives S1 - S2 = (k1 - k2) * s, which reveals s. The argument is
 * kept for the interface; the extra base-point multiplication is the price.
 */
void ed25519_sign(u8 signature[ED25519_SIGNATURE_SIZE], const u8 seed[ED25519_SEED_SIZE],
		  const u8 public_key[ED25519_PUBLIC_KEY_SIZE], const void *msg, size_t len)
{
	u8 h[SHA512_DIGEST_SIZE], a[32], r[32], k[32];

	expand_seed(h, seed);
	base_mult_encode(a, h);
	hash_to_scalar(r, h + 32, 32, NULL, 0, msg, len); /* r = SHA-512(prefix || M) mod L */
	base_mult_encode(signature, r);                  /* R = [r]B */
	hash_to_scalar(k, signature, 32, a, 32, msg, len); /* k = SHA-512(R || A || M) mod L */
	sc_muladd(signature + 32, k, h, r);              /* S = (r + k * s) mod L */
	secret_wipe(h, sizeof(h));
	secret_wipe(r, sizeof(r));
}

/* The rule in the header comment, checked in its order: cheap and structural checks first. */
bool ed25519_verify(const u8 public_key[ED25519_PUBLIC_KEY_SIZE], const void *msg, size_t len,
		    const u8 signature[ED25519_SIGNATURE_SIZE])
{
	struct point a, r, b, lhs, rhs;
	u8 k[32], lhs_bytes[32], rhs_bytes[32];

	if (!sc_is_canonical(signature + 32)) {
		return false;
	}
	if (!pt_decode(&a, public_key) || !pt_decode(&r, signature)) {
		return false;
	}
	if (pt_small_order(&a) || pt_small_order(&r)) {
		return false;
	}
	hash_to_scalar(k, signature, 32, public_key, 32, msg, len);
	pt_base(&b);
	pt_scalarmult(&lhs, &b, signature + 32);
	pt_scalarmult(&rhs, &a, k);
	pt_add(&rhs, &rhs, &r);
	pt_encode(lhs_bytes, &lhs);
	pt_encode(rhs_bytes, &rhs);
	return memcmp(lhs_bytes, rhs_bytes, 32) == 0;
}
