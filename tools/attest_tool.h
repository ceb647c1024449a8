/*
 * Shared by tools/moat-provision.c, tools/moat-verify.c and
 * tools/report_check.c (and the report-parser fuzzer): the report check, and
 * small hex and file helpers. Host-native; Ed25519 and SHA-256 from OpenSSL.
 */
#ifndef MOAT_ATTEST_TOOL_H
#define MOAT_ATTEST_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "hex.h"
#include "moat/attest.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the report is little-endian and read in place: a big-endian host needs byte swaps here"
#endif

/* What a verifier expects; NULL for a value it does not check (device_key is required). */
struct report_expect {
	const uint8_t *device_key;	 /* 32: the device public key (tools/moat-provision) */
	const uint8_t *vm_measurement;	 /* 32 */
	const uint8_t *challenge;	 /* MOAT_CHALLENGE_SIZE */
	const uint8_t *core_measurement; /* 32 */
};

enum report_verdict {
	REPORT_OK = 0,
	REPORT_MALFORMED,
	REPORT_BAD_DEVICE_SIGNATURE, /* core certificate not signed by the trusted device key */
	REPORT_BAD_CORE_SIGNATURE,   /* VM certificate not signed by the certified core key */
	REPORT_BAD_REPORT_SIGNATURE, /* body not signed by the certified VM key */
	REPORT_INCONSISTENT,	     /* body and certificates disagree */
	REPORT_CORE_MEASUREMENT,     /* core measurement is not the expected one */
	REPORT_VM_MEASUREMENT,	     /* VM measurement is not the expected one */
	REPORT_CHALLENGE,	     /* challenge is not the expected one (a replay) */
	REPORT_DEBUG,		     /* the VM's debug state is not off */
};

/*
 * Check report[0..len) against e, in the order of docs/attestation.md:
 * format, the three signatures from the device key down, consistency, then
 * the expected values. *why gets a one-line reason (static storage).
 * On REPORT_OK, *out (if not NULL) gets a copy of the report.
 */
enum report_verdict report_check(const uint8_t *report, size_t len, const struct report_expect *e, const char **why,
				 struct moat_report *out);


/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);

#endif
