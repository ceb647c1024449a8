/*
 * The report check of tools/moat-verify (attest_tool.h), kept apart from
 * the command line so that the fuzzer (tests/fuzz/fuzz_report.c) runs the
 * same code on arbitrary bytes. Every field is read from a copy of exactly
 * sizeof(struct moat_report) bytes; nothing is trusted before the signature
 * that covers it has been checked with a key that chains to the trusted
 * device key.
 */
#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "attest_tool.h"
#include "moat/abi.h"

static int ed25519_ok(const uint8_t key[32], const void *msg, size_t len, const uint8_t sig[64])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	if (pkey && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1) {
		ok = EVP_DigestVerify(ctx, sig, 64, msg, len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok;
}

static int differs(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) != 0;
}

#define VERDICT(v, text)                                                                                             \
	do {                                                                                                         \
		*why = (text);                                                                                       \
		return (v);                                                                                          \
	} while (0)

enum report_verdict report_check(const uint8_t *report, size_t len, const struct report_expect *e, const char **why,
				 struct moat_report *out)
{
	struct moat_report r;
	const struct moat_core_cert *cc = &r.core_cert;
	const struct moat_vm_cert *vc = &r.vm_cert;

	if (len != sizeof(r)) {
		VERDICT(REPORT_MALFORMED, "malformed: a report is exactly 592 bytes");
	}
	memcpy(&r, report, sizeof(r));
	if (r.magic != MOAT_REPORT_MAGIC || r.version != MOAT_REPORT_VERSION || r.size != sizeof(r) ||
	    r.reserved != 0 || r.vm_type != MOAT_VM_PROTECTED) {
		VERDICT(REPORT_MALFORMED, "malformed: bad report magic, version, size, VM type or reserved field");
	}
	if (cc->magic != MOAT_CORE_CERT_MAGIC || cc->version != MOAT_REPORT_VERSION ||
	    vc->magic != MOAT_VM_CERT_MAGIC || vc->version != MOAT_REPORT_VERSION) {
		VERDICT(REPORT_MALFORMED, "malformed: bad certificate magic or version");
	}
	/* The chain, from the one key the verifier trusts down to the report. */
	if (differs(cc->device_public_key, e->device_key, 32) ||
	    !ed25519_ok(e->device_key, cc, MOAT_CORE_CERT_SIGNED_SIZE, cc->signature)) {
		VERDICT(REPORT_BAD_DEVICE_SIGNATURE, "bad device signature on the core certificate "
						     "(not signed by the trusted device key)");
	}
	if (!ed25519_ok(cc->core_public_key, vc, MOAT_VM_CERT_SIGNED_SIZE, vc->signature)) {
		VERDICT(REPORT_BAD_CORE_SIGNATURE, "bad core signature on the VM certificate");
	}
	if (!ed25519_ok(vc->vm_public_key, &r, MOAT_REPORT_BODY_SIZE, r.signature)) {
		VERDICT(REPORT_BAD_REPORT_SIGNATURE, "bad report signature");
	}
	if (differs(r.vm_public_key, vc->vm_public_key, 32) || differs(r.vm_measurement, vc->vm_measurement, 32) ||
	    differs(r.core_measurement, cc->core_measurement, 32) || r.core_version != cc->core_version) {
		VERDICT(REPORT_INCONSISTENT, "malformed: the report disagrees with its certificates");
	}
	if (e->core_measurement && differs(cc->core_measurement, e->core_measurement, 32)) {
		VERDICT(REPORT_CORE_MEASUREMENT, "core measurement mismatch");
	}
	if (e->vm_measurement && differs(r.vm_measurement, e->vm_measurement, 32)) {
		VERDICT(REPORT_VM_MEASUREMENT, "VM measurement mismatch");
	}
	if (e->challenge && differs(r.challenge, e->challenge, MOAT_CHALLENGE_SIZE)) {
		VERDICT(REPORT_CHALLENGE, "challenge mismatch (an old or foreign report)");
	}
	if (r.debug != 0) {
		VERDICT(REPORT_DEBUG, "the VM's debug state is on");
	}
	if (out) {
		*out = r;
	}
	VERDICT(REPORT_OK, "OK");
}



void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}
