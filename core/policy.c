/*
 * The owner's boot policy (policy.h, docs/attestation.md "Owner policy and
 * signatures"): moat.owner_key=<64 hex digits> (an Ed25519 public key) and
 * moat.policy=enforce|open from the bootargs.
 *
 * Owns the one policy struct. policy_init() is called once by boot_main()
 * on the boot CPU before the host runs; afterwards the struct never changes,
 * so policy_get() readers (FINALIZE, attestation) take no lock.
 * policy_parse() is pure (the fuzzer calls it).
 *
 * The bootargs come from whoever booted the machine. A mistake in them must
 * never open what the owner meant to close, so every doubt resolves to the
 * safe side: an unreadable or ambiguous key is no key, an unknown or
 * ambiguous mode is enforce. A repeated parameter is accepted only when every
 * copy agrees: "last one wins" would let one appended word silently replace
 * the owner's key.
 */
#include "policy.h"

#include "lib.h"
#include "log.h"
#include "sha256.h"

#define KEY_PARAM "moat.owner_key"
#define MODE_PARAM "moat.policy"
#define KEY_HEX_DIGITS 64

static struct moat_policy policy;

const struct moat_policy *policy_get(void)
{
	return &policy;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Exactly 64 hex digits -> 32 bytes; false on anything else. */
static bool parse_key(const char *s, size_t len, u8 key[32])
{
	if (len != KEY_HEX_DIGITS) {
		return false;
	}
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			return false;
		}
		key[i] = (u8)(hi << 4 | lo);
	}
	return true;
}

/* "open" / "enforce" -> 0 / 1; -1 on anything else (including a bare "moat.policy"). */
static int parse_mode(const char *s, size_t len)
{
	if (len == 4 && !strncmp(s, "open", 4)) {
		return 0;
	}
	if (len == 7 && !strncmp(s, "enforce", 7)) {
		return 1;
	}
	return -1;
}

/* The value of a "param" or "param=value" word, or NULL if the word is another parameter. */
static const char *match_param(const char *word, size_t n, const char *param, size_t *vlen)
{
	size_t plen = strlen(param);

	if (n < plen || strncmp(word, param, plen) || (n > plen && word[plen] != '=')) {
		return NULL;
	}
	*vlen = n > plen ? n - plen - 1 : 0;
	return word + MIN(n, plen + 1);
}

unsigned int policy_parse(const char *bootargs, struct moat_policy *out)
{
	unsigned int bad = 0;
	int mode = 0; /* default: open */
	bool have_mode = false;
	u8 key[32] = { 0 };
	const char *v;
	size_t n, vlen;

	memset(out, 0, sizeof(*out));
	for (const char *p = bootargs; *p; p += n ? n : 1) {
		for (n = 0; p[n] && !is_space(p[n]); n++) {
		}
		if ((v = match_param(p, n, KEY_PARAM, &vlen))) {
			if (!parse_key(v, vlen, key) || (out->have_owner_key && memcmp(key, out->owner_key, 32))) {
				bad |= POLICY_BAD_KEY;
			}
			memcpy(out->owner_key, key, 32);
			out->have_owner_key = true;
		} else if ((v = match_param(p, n, MODE_PARAM, &vlen))) {
			int m = parse_mode(v, vlen);

			if (m < 0 || (have_mode && m != mode)) {
				bad |= POLICY_BAD_MODE;
			}
			mode = m;
			have_mode = true;
		}
	}
	if (bad & POLICY_BAD_KEY) {
		out->have_owner_key = false;
		memset(out->owner_key, 0, sizeof(out->owner_key));
	}
	out->enforce = (bad & POLICY_BAD_MODE) || mode == 1;
	return bad;
}

void policy_key_id(const u8 public_key[32], u8 id[8])
{
	struct sha256_ctx ctx;
	u8 digest[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, public_key, 32);
	sha256_final(&ctx, digest);
	memcpy(id, digest, 8);
}

void policy_init(const char *bootargs)
{
	unsigned int bad = policy_parse(bootargs, &policy);
	u8 id[8];
	u64 id_word = 0;

	if (bad & POLICY_BAD_KEY) {
		log_err("policy: bootargs " KEY_PARAM "= is not 64 hex digits or is given twice with different values: "
			"ignored, no owner key");
	}
	if (bad & POLICY_BAD_MODE) {
		log_err("policy: bootargs " MODE_PARAM "= is not open or enforce, or is given twice with different "
			"values: enforce");
	}
	if (policy.have_owner_key) {
		policy_key_id(policy.owner_key, id);
		for (unsigned int i = 0; i < 8; i++) {
			id_word = id_word << 8 | id[i];
		}
		log_info("policy: %s, owner key ID %016lx", policy.enforce ? "enforce" : "open", id_word);
	} else if (policy.enforce) {
		log_err("policy: enforce without an owner key: every protected VM's FINALIZE is "
			"refused (no signature can name the owner key)");
	} else {
		log_info("policy: open, no owner key");
	}
}
