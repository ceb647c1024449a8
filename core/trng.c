/*
 * Entropy the host does not control: an HMAC-DRBG (NIST SP 800-90A rev. 1,
 * §10.1.2, over HMAC-SHA-256) seeded at boot, before the host runs, from
 * the firmware's /chosen/rng-seed and kaslr-seed (QEMU's, boot.c) and from
 * the device secret when there is one (attest.c); and the SMCCC TRNG 1.0
 * interface (Arm DEN0098) that guests call to read it.
 *
 * Owns: the DRBG state (K, V) and drbg_lock, which guards it. Called by
 * boot.c (trng_seed, trng_generate for the host's own DTB seeds), attest.c
 * (trng_seed) and guest_hvc in guest_call.c (trng_guest_call, any guest on
 * any CPU). Nothing else is locked while drbg_lock is held.
 *
 * The host's own TRNG probe stays NOT_SUPPORTED (psci.c, DESIGN §12): the
 * host gets its entropy from the seeds in its DTB, which are DRBG output,
 * so it never learns the core's seed or the guests' values. With no seed at
 * all the DRBG is not instantiated and RND answers NO_ENTROPY.
 *
 * Without a reseed counter: SP 800-90A allows 2^48 generate calls per seed,
 * far beyond what guests can ask for in a boot, and the core has no fresh
 * entropy source to reseed from anyway.
 */
#include "trng.h"

#include "guest_call.h"
#include "kdf.h"
#include "lib.h"
#include "spinlock.h"
#include "vcpu.h"

#define DRBG_SEED_MAX 96

static struct {
	struct spinlock lock;
	bool seeded;
	u8 k[32];
	u8 v[32];
} drbg;

/* HMAC_DRBG_Update (§10.1.2.2): K, V from the provided data (up to DRBG_SEED_MAX bytes). */
static void drbg_update(const u8 *data, size_t len)
{
	u8 msg[32 + 1 + DRBG_SEED_MAX];

	for (u8 round = 0; round < 2; round++) {
		memcpy(msg, drbg.v, 32);
		msg[32] = round;
		if (len) {
			memcpy(msg + 33, data, len);
		}
		hmac_sha256(drbg.k, drbg.k, 32, msg, 33 + len);
		hmac_sha256(drbg.v, drbg.k, 32, drbg.v, 32);
		if (!len) {
			break;
		}
	}
	secret_wipe(msg, sizeof(msg));
}

void trng_seed(const void *material, size_t len)
{
	const u8 *p = material;

	spin_lock(&drbg.lock);
	if (!drbg.seeded) {
		/* Instantiate (§10.1.2.3): K = 0x00..., V = 0x01..., then update with the seed. */
		memset(drbg.k, 0, 32);
		memset(drbg.v, 1, 32);
		drbg.seeded = true;
	}
	/* Reseed (§10.1.2.4) is the same update: one chunk at a time. */
	while (len) {
		size_t n = MIN(len, DRBG_SEED_MAX);

		drbg_update(p, n);
		p += n;
		len -= n;
	}
	spin_unlock(&drbg.lock);
}

bool trng_generate(void *out, size_t len)
{
	u8 *o = out;

	spin_lock(&drbg.lock);
	if (!drbg.seeded) {
		spin_unlock(&drbg.lock);
		return false;
	}
	/* Generate (§10.1.2.5), no additional input. */
	while (len) {
		size_t n = MIN(len, 32);

		hmac_sha256(drbg.v, drbg.k, 32, drbg.v, 32);
		memcpy(o, drbg.v, n);
		o += n;
		len -= n;
	}
	drbg_update(NULL, 0);
	spin_unlock(&drbg.lock);
	return true;
}

void trng_reset_for_test(void)
{
	secret_wipe(&drbg, sizeof(drbg));
}

/* ---- SMCCC TRNG 1.0 for guests ---------------------------------------------------- */

#define TRNG_VERSION_1_0 0x10000UL
#define TRNG_RET_INVALID_PARAMETERS (-2L)
#define TRNG_RET_NO_ENTROPY (-3L)

/*
 * GET_UUID: this implementation's UUID 6d6f6174-2d74-726e-a7c1-4d4f41540001
 * (random, made for moat), as four 32-bit words in w0..w3. w0 must not be
 * 0xffffffff, which would read as NOT_SUPPORTED.
 */
#define TRNG_UUID_0 0x74616f6dUL
#define TRNG_UUID_1 0x6e72742dUL
#define TRNG_UUID_2 0x4f4dc1a7UL
#define TRNG_UUID_3 0x01005441UL

static bool is_trng_function(u64 fid)
{
	switch (fid) {
	case TRNG_VERSION:
	case TRNG_FEATURES:
	case TRNG_GET_UUID:
	case TRNG_RND32:
	case TRNG_RND64:
		return true;
	default:
		return false;
	}
}

/*
 * RND32 / RND64 (x1 = N bits, 1..96 / 1..192): the N bits are the low bits
 * of x3 (then x2, then x1), per register 32 (RND32) or 64 (RND64) bits;
 * every bit above N is zero, and all of x1..x3 are zero on an error.
 */
static void rnd(u64 *x, unsigned int width)
{
	/* RND32 is an SMC32 call: only w1 counts. */
	u64 bits = width == 32 ? (u32)x[1] : x[1], words[3] = { 0, 0, 0 };
	u64 mask = width == 32 ? 0xffffffffUL : ~0UL;

	x[1] = x[2] = x[3] = 0;
	if (bits == 0 || bits > 3 * width) {
		x[0] = (u64)TRNG_RET_INVALID_PARAMETERS;
		return;
	}
	if (!trng_generate(words, sizeof(words))) {
		x[0] = (u64)TRNG_RET_NO_ENTROPY;
		return;
	}
	for (unsigned int i = 0; i < 3; i++) {
		u64 left = bits > i * width ? bits - i * width : 0;
		u64 w = words[i] & mask;

		if (left < width) {
			w &= (1UL << left) - 1; /* left < 64 here: no shift by 64 */
		}
		x[3 - i] = w;
	}
	secret_wipe(words, sizeof(words));
	x[0] = 0;
}

bool trng_guest_call(struct vcpu *vcpu)
{
	u64 *x = vcpu->ctx.regs.x;

	switch (x[0]) {
	case TRNG_VERSION:
		x[0] = TRNG_VERSION_1_0;
		break;
	case TRNG_FEATURES:
		x[0] = is_trng_function((u32)x[1]) ? 0 : (u64)SMCCC_RET_NOT_SUPPORTED; /* SMC32: w1 */
		break;
	case TRNG_GET_UUID:
		x[0] = TRNG_UUID_0;
		x[1] = TRNG_UUID_1;
		x[2] = TRNG_UUID_2;
		x[3] = TRNG_UUID_3;
		break;
	case TRNG_RND32:
		rnd(x, 32);
		break;
	case TRNG_RND64:
		rnd(x, 64);
		break;
	default:
		return false;
	}
	return true;
}
