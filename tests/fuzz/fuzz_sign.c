/*
 * libFuzzer harness for the owner-policy parsers (issue 14, item 7): the
 * bootargs policy parser (policy_parse, core/policy.c) and the signature
 * blob parser and verdict (sign_parse / sign_check, core/sign.c), on the
 * host-native build of the generic core. scripts/run-fuzz.sh builds and runs
 * it briefly after the host-ABI harness (FINALIZE with blobs in shared pages
 * is fuzzed there, through the whole host call).
 *
 * Input: byte 0 picks the target (even: policy, odd: blob), the rest is the
 * bootargs string / the blob bytes. Checked, beyond "no crash, no sanitizer
 * report":
 *   policy: deterministic; a bad key leaves no key and zero bytes; a bad or
 *           repeated-and-different mode is enforce; without the parameter
 *           names in the input, the default (open, no key, nothing bad); a
 *           key it accepts is spelled as 64 hex digits right after
 *           "moat.owner_key=" in the input;
 *   blob:   sign_parse accepts exactly the blobs with the magic, version 1
 *           and flags 0 (and copies all 112 bytes); sign_check's verdict
 *           follows the documented order for every policy (none, open, open
 *           with key, enforce, enforce with key) and VM type, and says OK
 *           to a blob only if it names the owner key, carries the measurement
 *           and verifies.
 * A failed check prints "VIOLATION: ..." and abort()s.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <moat/errors.h>
#include <moat/sign.h>

#include "ed25519.h"
#include "policy.h"
#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 300

static void __attribute__((noreturn, format(printf, 1, 2))) violation(const char *fmt, ...)
{
	va_list ap;

	fputs("VIOLATION: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static int hexval(char c)
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

/* Some "moat.owner_key=" in s is followed by exactly the hex of key. */
static bool key_spelled(const char *s, const u8 key[32])
{
	static const char param[] = "moat.owner_key=";

	for (const char *p = strstr(s, param); p; p = strstr(p + 1, param)) {
		const char *v = p + strlen(param);
		bool same = strlen(v) >= 64;

		for (unsigned int i = 0; same && i < 32; i++) {
			same = hexval(v[2 * i]) >= 0 && hexval(v[2 * i + 1]) >= 0 &&
			       (u8)(hexval(v[2 * i]) << 4 | hexval(v[2 * i + 1])) == key[i];
		}
		if (same) {
			return true;
		}
	}
	return false;
}

static void fuzz_policy(const uint8_t *data, size_t size)
{
	static const u8 zero[32];
	char args[MAX_ARGS + 1];
	struct moat_policy a, b;
	unsigned int bad, bad2;
	size_t n = size < MAX_ARGS ? size : MAX_ARGS;

	memcpy(args, data, n);
	args[n] = '\0';
	bad = policy_parse(args, &a);
	bad2 = policy_parse(args, &b);
	if (bad != bad2 || memcmp(&a, &b, sizeof(a))) {
		violation("policy_parse is not deterministic on \"%s\"", args);
	}
	if (bad & ~(POLICY_BAD_KEY | POLICY_BAD_MODE)) {
		violation("policy_parse flags 0x%x", bad);
	}
	if ((bad & POLICY_BAD_KEY) && (a.have_owner_key || memcmp(a.owner_key, zero, 32))) {
		violation("a bad key left a key behind: \"%s\"", args);
	}
	if (!a.have_owner_key && memcmp(a.owner_key, zero, 32)) {
		violation("no key but key bytes: \"%s\"", args);
	}
	if ((bad & POLICY_BAD_MODE) && !a.enforce) {
		violation("a bad mode is not enforce: \"%s\"", args);
	}
	if (!strstr(args, "moat.policy") && (a.enforce || (bad & POLICY_BAD_MODE))) {
		violation("enforce without moat.policy: \"%s\"", args);
	}
	if (!strstr(args, "moat.owner_key") && (a.have_owner_key || (bad & POLICY_BAD_KEY))) {
		violation("a key without moat.owner_key: \"%s\"", args);
	}
	if (a.have_owner_key && !key_spelled(args, a.owner_key)) {
		violation("a key the input does not spell: \"%s\"", args);
	}
}

/* The owner key of the policies below, and another key: test-only, from fixed seeds. */
static u8 owner_pub[32], other_pub[32];

static void fuzz_blob(const uint8_t *data, size_t size)
{
	struct moat_signature blob, raw;
	struct moat_policy pols[5] = { { 0 } };
	u8 measurement[32], id[8], msg[MOAT_SIG_MESSAGE_LEN];
	bool well_formed;
	int ret;

	memset(&raw, 0, sizeof(raw));
	memcpy(&raw, data, size < sizeof(raw) ? size : sizeof(raw));
	well_formed = size >= MOAT_SIG_SIZE && raw.magic == MOAT_SIG_MAGIC && raw.version == MOAT_SIG_VERSION &&
		      raw.flags == 0;
	ret = sign_parse(data, size, &blob);
	if (ret != (well_formed ? MOAT_OK : MOAT_E_CORRUPT)) {
		violation("sign_parse of %zu bytes: %d, want %d", size, ret, well_formed ? MOAT_OK : MOAT_E_CORRUPT);
	}
	if (!well_formed) {
		return;
	}
	if (memcmp(&blob, data, MOAT_SIG_SIZE)) {
		violation("sign_parse changed the blob");
	}
	/* The measurement the VM "has": the blob's own, or (last input bit set) another one. */
	memcpy(measurement, blob.measurement, 32);
	measurement[31] ^= data[size - 1] & 1;
	pols[1].enforce = false;
	pols[2].have_owner_key = true;
	pols[3].enforce = true;
	pols[4].enforce = pols[4].have_owner_key = true;
	memcpy(pols[2].owner_key, (data[size - 1] & 2) ? other_pub : owner_pub, 32);
	memcpy(pols[4].owner_key, pols[2].owner_key, 32);
	for (unsigned int p = 0; p < 5; p++) {
		for (int prot = 0; prot < 2; prot++) {
			const struct moat_policy *pol = &pols[p];
			int want_none = pol->enforce && prot ? MOAT_E_UNSIGNED : MOAT_OK, want;

			if (sign_check(pol, prot, NULL, measurement) != want_none) {
				violation("no blob, policy %u, protected %d: not %d", p, prot, want_none);
			}
			if (!pol->have_owner_key) {
				want = MOAT_E_WRONG_KEY;
			} else {
				policy_key_id(pol->owner_key, id);
				memcpy(msg, MOAT_SIG_DOMAIN, MOAT_SIG_DOMAIN_LEN);
				memcpy(msg + MOAT_SIG_DOMAIN_LEN, measurement, 32);
				want = memcmp(id, blob.key_id, 8)			? MOAT_E_WRONG_KEY
				       : memcmp(blob.measurement, measurement, 32)	? MOAT_E_BAD_SIGNATURE
				       : !ed25519_verify(pol->owner_key, msg, sizeof(msg), blob.signature) ? MOAT_E_BAD_SIGNATURE
													    : MOAT_OK;
			}
			ret = sign_check(pol, prot, &blob, measurement);
			if (ret != want) {
				violation("blob, policy %u, protected %d: %d, want %d", p, prot, ret, want);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		static const u8 seed_owner[32] = { [0 ... 31] = 0x5e }, seed_other[32] = { [0 ... 31] = 0x7a };

		ed25519_public_key(owner_pub, seed_owner);
		ed25519_public_key(other_pub, seed_other);
		ready = true;
	}
	if (size == 0) {
		return 0;
	}
	if (data[0] & 1) {
		fuzz_blob(data + 1, size - 1);
	} else {
		fuzz_policy(data + 1, size - 1);
	}
	return 0;
}
