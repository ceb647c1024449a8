/*
 * moat-attest: the user-space side of moat_attest.ko inside a protected Linux guest of moat
 * (docs/attestation.md "From a Linux guest"). One ioctl on /dev/moat-attest per command:
 *
 *   moat-attest measurement               MOAT-MEASUREMENT: <64 hex digits>
 *   moat-attest report --challenge HEX    MOAT-REPORT: <the signed report in hex>
 *   moat-attest sealing-key-id            MOAT-SEALING-KEY-ID: <SHA-256 of the sealing key in hex>
 *
 * The sealing key itself is never printed: its SHA-256 tells two keys apart without revealing
 * either. Exit status: 0 done, 1 the core or the device refused (the reason on stderr), 2 usage.
 * Built static for arm64 (mk/linux.mk) with the core's own SHA-256 (core/sha256.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hex.h"
#include "moat_attest.h"
#include "sha256.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: moat-attest measurement | report --challenge HEX | sealing-key-id | --help\n"
		     "  measurement              print the VM's measurement (MOAT-MEASUREMENT: <hex>)\n"
		     "  report --challenge HEX   print a signed attestation report for a %d-byte challenge\n"
		     "                           (exactly %d hex digits) as MOAT-REPORT: <hex>\n"
		     "  sealing-key-id           print the SHA-256 of the VM's sealing key (MOAT-SEALING-KEY-ID:\n"
		     "                           <hex>); the key itself is never printed\n"
		     "Talks to %s (moat_attest.ko). Exit status: 0 done, 1 refused (reason on stderr), 2 usage.\n",
		MOAT_ATTEST_CHALLENGE_SIZE, 2 * MOAT_ATTEST_CHALLENGE_SIZE, MOAT_ATTEST_DEVICE);
}

static void print_hex(const char *prefix, const unsigned char *p, size_t n)
{
	printf("%s: ", prefix);
	for (size_t i = 0; i < n; i++) {
		printf("%02x", p[i]);
	}
	printf("\n");
}



/* The core's refusals, as moat_attest.ko maps them (moat_attest.h), in words. */
static const char *why(int err)
{
	switch (err) {
	case EOPNOTSUPP:
		return "the core answered NOT_SUPPORTED: not a protected VM of moat, or a core without attestation calls";
	case ENOKEY:
		return "the core answered NO_IDENTITY: it was booted without a device secret";
	case EPERM:
		return "the core answered PERM: it refused the answer page";
	case ENOTTY:
		return "not moat_attest.ko's device";
	default:
		return strerror(err);
	}
}

static int call(const char *what, unsigned long cmd, void *arg)
{
	int fd = open(MOAT_ATTEST_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "moat-attest: %s: %s%s\n", MOAT_ATTEST_DEVICE, strerror(errno),
			errno == ENOENT ? " (is moat_attest.ko loaded?)" : "");
		return 1;
	}
	if (ioctl(fd, cmd, arg) < 0) {
		int err = errno;

		fprintf(stderr, "moat-attest: %s: %s\n", what, why(err));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static int cmd_measurement(void)
{
	struct moat_attest_measurement m;

	if (call("measurement", MOAT_ATTEST_GET_MEASUREMENT, &m)) {
		return 1;
	}
	print_hex("MOAT-MEASUREMENT", m.measurement, sizeof(m.measurement));
	return 0;
}

static int cmd_report(const char *challenge_hex)
{
	static struct moat_attest_report r; /* 4 KiB: not on the stack */

	memset(&r, 0, sizeof(r));
	if (hex_decode(challenge_hex, r.challenge, sizeof(r.challenge)) != 0) {
		fprintf(stderr, "moat-attest: --challenge wants exactly %zu hex digits (%zu bytes)\n",
			2 * sizeof(r.challenge), sizeof(r.challenge));
		return 2;
	}
	if (call("report", MOAT_ATTEST_GET_REPORT, &r)) {
		return 1;
	}
	if (r.size == 0 || r.size > sizeof(r.report)) {
		fprintf(stderr, "moat-attest: report: the module says %u bytes\n", r.size);
		return 1;
	}
	print_hex("MOAT-REPORT", r.report, r.size);
	return 0;
}

static int cmd_sealing_key_id(void)
{
	struct moat_attest_sealing_key k;
	unsigned char id[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;

	if (call("sealing key", MOAT_ATTEST_GET_SEALING_KEY, &k)) {
		return 1;
	}
	sha256_init(&ctx);
	sha256_update(&ctx, k.key, sizeof(k.key));
	sha256_final(&ctx, id);
	/* Done with the key: wipe it and the hash state that saw it. */
	explicit_bzero(&k, sizeof(k));
	explicit_bzero(&ctx, sizeof(ctx));
	print_hex("MOAT-SEALING-KEY-ID", id, sizeof(id));
	return 0;
}

int main(int argc, char **argv)
{
	/*
	 * One write() per answer: a report line is over a thousand characters, and a console shared
	 * with other output must not get it in pieces.
	 */
	static char out_buf[16384];

	setvbuf(stdout, out_buf, _IOFBF, sizeof(out_buf));
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "measurement")) {
		return cmd_measurement();
	}
	if (argc == 2 && !strcmp(argv[1], "sealing-key-id")) {
		return cmd_sealing_key_id();
	}
	if (argc == 4 && !strcmp(argv[1], "report") && !strcmp(argv[2], "--challenge")) {
		return cmd_report(argv[3]);
	}
	usage(stderr);
	return 2;
}
