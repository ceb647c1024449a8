/*
 * moat-verify: check a moat attestation report (include/moat/attest.h,
 * docs/attestation.md) against the device public key -- the one key a
 * verifier trusts, from tools/moat-provision, never read off the host -- and
 * the expected VM measurement (tools/moat-measure), optionally the expected
 * challenge and core measurement.
 *
 *   moat-verify --report FILE --device-key HEX|FILE --measurement HEX
 *               [--challenge HEX] [--core-measurement HEX]
 *
 * FILE holds the 592-byte report, binary or hex (whitespace ignored); "-"
 * reads stdin. Prints "OK: ..." (exit 0) or "FAIL: <reason>" (exit 1);
 * usage errors and unreadable files exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_tool.h"

#define MAX_INPUT (64 * 1024)

static const char usage_text[] =
	"usage: moat-verify --report FILE --device-key HEX|FILE --measurement HEX\n"
	"                   [--challenge HEX] [--core-measurement HEX]\n"
	"\n"
	"Checks a moat attestation report: the core certificate is signed by the device key\n"
	"(tools/moat-provision derives it from the device secret), the VM certificate by the\n"
	"core key, the report by the VM key; then the VM measurement (64 hex digits, from\n"
	"tools/moat-measure or FINALIZE), and if given the challenge (128 hex digits) and the\n"
	"core measurement (64 hex digits, from tools/moat-provision).\n"
	"FILE: the 592-byte report, binary or hex; - for stdin.\n"
	"Prints OK: ... and exits 0, or FAIL: <reason> and exits 1; exit 2 on usage errors.\n";

static void __attribute__((noreturn)) usage_error(const char *msg)
{
	fprintf(stderr, "moat-verify: %s\n%s", msg, usage_text);
	exit(2);
}

static size_t read_all(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t n;

	if (!f) {
		fprintf(stderr, "moat-verify: cannot open %s\n", path);
		exit(2);
	}
	n = fread(buf, 1, cap, f);
	if (f != stdin) {
		fclose(f);
	}
	return n;
}

/* A hex argument of n bytes, or a file holding it. */
static void hex_arg(const char *what, const char *arg, uint8_t *out, size_t n)
{
	static char text[MAX_INPUT + 1];
	size_t len;

	if (hex_decode(arg, out, n) == 0) {
		return;
	}
	if (strlen(arg) != 2 * n) {
		FILE *f = fopen(arg, "r");

		if (f) {
			len = fread(text, 1, MAX_INPUT, f);
			fclose(f);
			text[len] = 0;
			if (hex_decode(text, out, n) == 0) {
				return;
			}
		}
	}
	fprintf(stderr, "moat-verify: %s must be %zu hex digits (or a file holding them)\n", what, 2 * n);
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t input[MAX_INPUT + 1];
	uint8_t device_key[32], measurement[32], challenge[MOAT_CHALLENGE_SIZE], core_measurement[32];
	uint8_t report[sizeof(struct moat_report)];
	struct report_expect e = { 0 };
	const char *report_path = NULL, *why = "";
	char hex[2 * 64 + 1], core_hex[65];
	struct moat_report r;
	size_t n;

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!val) {
			usage_error("missing value");
		}
		i++;
		if (!strcmp(opt, "--report")) {
			report_path = val;
		} else if (!strcmp(opt, "--device-key")) {
			hex_arg("--device-key", val, device_key, 32);
			e.device_key = device_key;
		} else if (!strcmp(opt, "--measurement")) {
			hex_arg("--measurement", val, measurement, 32);
			e.vm_measurement = measurement;
		} else if (!strcmp(opt, "--challenge")) {
			hex_arg("--challenge", val, challenge, MOAT_CHALLENGE_SIZE);
			e.challenge = challenge;
		} else if (!strcmp(opt, "--core-measurement")) {
			hex_arg("--core-measurement", val, core_measurement, 32);
			e.core_measurement = core_measurement;
		} else {
			usage_error("unknown option");
		}
	}
	if (!report_path || !e.device_key || !e.vm_measurement) {
		usage_error("--report, --device-key and --measurement are required");
	}

	n = read_all(report_path, input, MAX_INPUT);
	if (n == sizeof(report) && hex_decode((const char *)input, report, sizeof(report)) != 0) {
		memcpy(report, input, sizeof(report)); /* binary */
	} else {
		input[n] = 0;
		if (memchr(input, 0, n) || hex_decode((const char *)input, report, sizeof(report)) != 0) {
			printf("FAIL: malformed: not a 592-byte report, in binary or hex\n");
			return 1;
		}
	}
	if (report_check(report, sizeof(report), &e, &why, &r) != REPORT_OK) {
		printf("FAIL: %s\n", why);
		return 1;
	}
	hex_encode(r.vm_measurement, 32, hex);
	hex_encode(r.core_measurement, 32, core_hex);
	printf("OK: VM measurement %s, core measurement %s, core %u.%u, policy 0x%x%s, challenge %s\n", hex, core_hex,
	       r.core_version >> 16, r.core_version & 0xffff, r.core_cert.policy,
	       r.core_cert.policy & MOAT_POLICY_ENFORCE ? " (enforce)" : "",
	       e.challenge ? "matches" : "not checked");
	return 0;
}
