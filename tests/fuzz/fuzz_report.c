/*
 * libFuzzer harness for the report check of tools/moat-verify
 * (tools/report_check.c), host-native, with OpenSSL as the tool uses it.
 *
 * At start-up it makes one valid report with keys of its own (a device
 * key, a core key, a VM key, chained as the core chains them), so that the
 * fuzzer reaches every check, not only the format checks. An input is
 *   byte 0 even: a list of (le16 offset, xor byte) edits applied to the
 *                valid report, then checked in full;
 *   byte 0 odd:  the rest of the input checked as a report, as it is (any
 *                length).
 * Oracle: the verdict is OK exactly when the bytes checked are the valid
 * report's -- every byte of a report is covered by a signature or a format
 * check, so any change must be refused -- and a refusal always has a reason.
 * A violation aborts (libFuzzer records the input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest_tool.h"
#include "moat/abi.h"

static struct moat_report valid;
static uint8_t device_pub[32];
static const uint8_t vm_meas[32] = { 0x11, 0x22, 0x33 };
static const uint8_t core_meas[32] = { 0x44, 0x55, 0x66 };
static const uint8_t challenge[MOAT_CHALLENGE_SIZE] = { 0x77, 0x88, [63] = 0x99 };

static void keypair(uint8_t seed_byte, EVP_PKEY **key, uint8_t pub[32])
{
	uint8_t seed[32];
	size_t len = 32;

	memset(seed, seed_byte, sizeof(seed));
	*key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (!*key || EVP_PKEY_get_raw_public_key(*key, pub, &len) != 1) {
		abort();
	}
}

static void sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = 64;

	if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, msg, len) != 1) {
		abort();
	}
	EVP_MD_CTX_free(ctx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct moat_core_cert *cc = &valid.core_cert;
	struct moat_vm_cert *vc = &valid.vm_cert;
	EVP_PKEY *device, *core, *vm;

	keypair(1, &device, device_pub);
	keypair(2, &core, cc->core_public_key);
	keypair(3, &vm, vc->vm_public_key);
	cc->magic = MOAT_CORE_CERT_MAGIC;
	cc->version = MOAT_REPORT_VERSION;
	memcpy(cc->core_measurement, core_meas, 32);
	cc->core_version = 0x10003;
	memcpy(cc->device_public_key, device_pub, 32);
	sign(device, cc, MOAT_CORE_CERT_SIGNED_SIZE, cc->signature);
	vc->magic = MOAT_VM_CERT_MAGIC;
	vc->version = MOAT_REPORT_VERSION;
	memcpy(vc->vm_measurement, vm_meas, 32);
	sign(core, vc, MOAT_VM_CERT_SIGNED_SIZE, vc->signature);
	valid.magic = MOAT_REPORT_MAGIC;
	valid.version = MOAT_REPORT_VERSION;
	valid.size = sizeof(valid);
	memcpy(valid.vm_measurement, vm_meas, 32);
	memcpy(valid.challenge, challenge, sizeof(challenge));
	memcpy(valid.core_measurement, core_meas, 32);
	valid.core_version = 0x10003;
	valid.vm_type = MOAT_VM_PROTECTED;
	memcpy(valid.vm_public_key, vc->vm_public_key, 32);
	sign(vm, &valid, MOAT_REPORT_BODY_SIZE, valid.signature);
	EVP_PKEY_free(device);
	EVP_PKEY_free(core);
	EVP_PKEY_free(vm);
	return 0;
}

static void violation(const char *what)
{
	fprintf(stderr, "VIOLATION: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_expect e = { device_pub, vm_meas, challenge, core_meas };
	uint8_t buf[sizeof(valid)];
	const uint8_t *report = buf;
	size_t len = sizeof(buf);
	const char *why = NULL;
	enum report_verdict v;

	if (size == 0) {
		return 0;
	}
	if (data[0] & 1) {
		report = data + 1;
		len = size - 1;
	} else {
		memcpy(buf, &valid, sizeof(buf));
		for (size_t i = 1; i + 3 <= size; i += 3) {
			buf[(data[i] | data[i + 1] << 8) % sizeof(buf)] ^= data[i + 2];
		}
	}
	v = report_check(report, len, &e, &why, NULL);
	if (!why || !*why) {
		violation("a verdict without a reason");
	}
	if ((v == REPORT_OK) != (len == sizeof(valid) && memcmp(report, &valid, sizeof(valid)) == 0)) {
		violation(v == REPORT_OK ? "a changed report passed" : "the valid report failed");
	}
	return 0;
}
