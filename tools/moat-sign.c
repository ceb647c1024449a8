/*
 * moat-sign: the VM owner's signing tool (docs/attestation.md, "Owner policy
 * and signatures"). Host-native; Ed25519 and SHA-256 from OpenSSL's libcrypto.
 *
 *   moat-sign keygen --out KEY                   new Ed25519 key (PEM, mode 0600);
 *                                                prints moat.owner_key=<hex> for the core's bootargs
 *   moat-sign pubkey --key KEY                   print the key's moat.owner_key=<hex> and key ID
 *   moat-sign sign --key KEY --measurement HEX --out SIG
 *                                                write the signature blob (include/moat/sign.h)
 *   moat-sign show SIG [--owner-key HEX]         print a blob; with --owner-key, verify it as the core would
 *
 * The blob and the signed message ("moat-measurement-v1" || measurement) are
 * defined once, in include/moat/sign.h; exit status: 0 ok, 1 failure (one
 * line on stderr says why), 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hex.h"
#include "moat/sign.h"

#define KEY_SIZE 32

static const char usage_text[] =
	"usage: moat-sign keygen --out KEY\n"
	"       moat-sign pubkey --key KEY\n"
	"       moat-sign sign --key KEY --measurement HEX --out SIG\n"
	"       moat-sign show SIG [--owner-key HEX]\n"
	"\n"
	"  keygen   write a new Ed25519 private key (PEM) to KEY and print the public key\n"
	"           as moat.owner_key=<64 hex digits> for the core's bootargs\n"
	"  pubkey   print the public key and key ID of KEY\n"
	"  sign     sign a VM measurement (64 hex digits: FINALIZE's / moat-measure's) and\n"
	"           write the signature blob moat-vmm --signature passes to the core\n"
	"  show     print a signature blob; with --owner-key, check it as an enforcing core would\n";

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;
	unsigned long e = ERR_get_error();

	fputs("moat-sign: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e) {
		fprintf(stderr, " (%s)", ERR_error_string(e, NULL));
	}
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((noreturn)) usage(const char *why)
{
	if (why && *why) {
		fprintf(stderr, "moat-sign: %s\n", why);
	}
	fputs(usage_text, why ? stderr : stdout);
	exit(why ? 2 : 0);
}



static void print_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%02x", p[i]);
	}
}

static void key_id(const uint8_t pub[KEY_SIZE], uint8_t id[MOAT_SIG_KEY_ID_SIZE])
{
	uint8_t digest[32];
	unsigned int len = 0;

	if (!EVP_Digest(pub, KEY_SIZE, digest, &len, EVP_sha256(), NULL) || len != sizeof(digest)) {
		die("SHA-256 failed");
	}
	memcpy(id, digest, MOAT_SIG_KEY_ID_SIZE);
}

static void raw_public_key(EVP_PKEY *pkey, uint8_t pub[KEY_SIZE])
{
	size_t len = KEY_SIZE;

	if (!EVP_PKEY_get_raw_public_key(pkey, pub, &len) || len != KEY_SIZE) {
		die("cannot read the public key");
	}
}

static void print_public(EVP_PKEY *pkey)
{
	uint8_t pub[KEY_SIZE], id[MOAT_SIG_KEY_ID_SIZE];

	raw_public_key(pkey, pub);
	key_id(pub, id);
	printf("moat.owner_key=");
	print_hex(stdout, pub, KEY_SIZE);
	printf("\nkey ID: ");
	print_hex(stdout, id, sizeof(id));
	printf("\n");
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *pkey;

	if (!f) {
		die("cannot open key %s: %s", path, strerror(errno));
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey) {
		die("%s is not a PEM private key", path);
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		die("%s is not an Ed25519 key", path);
	}
	return pkey;
}

static int cmd_keygen(const char *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pkey = NULL;
	FILE *f;
	int fd;

	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &pkey) <= 0) {
		die("Ed25519 key generation failed");
	}
	/* A private key: never world-readable, never silently replaced. */
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		die("cannot create %s: %s", out, strerror(errno));
	}
	f = fdopen(fd, "w");
	if (!f || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) || fclose(f)) {
		unlink(out);
		die("cannot write %s", out);
	}
	print_public(pkey);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return 0;
}

static int cmd_pubkey(const char *key)
{
	EVP_PKEY *pkey = read_key(key);

	print_public(pkey);
	EVP_PKEY_free(pkey);
	return 0;
}

static void message_of(const uint8_t measurement[MOAT_SIG_MEASUREMENT_SIZE], uint8_t msg[MOAT_SIG_MESSAGE_LEN])
{
	memcpy(msg, MOAT_SIG_DOMAIN, MOAT_SIG_DOMAIN_LEN);
	memcpy(msg + MOAT_SIG_DOMAIN_LEN, measurement, MOAT_SIG_MEASUREMENT_SIZE);
}

/* The blob's bytes, little-endian whatever this machine is. */
static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = n; i-- > 0;) {
		v = v << 8 | p[i];
	}
	return v;
}

static int cmd_sign(const char *key, const char *hex, const char *out)
{
	uint8_t measurement[MOAT_SIG_MEASUREMENT_SIZE], msg[MOAT_SIG_MESSAGE_LEN], blob[MOAT_SIG_SIZE] = { 0 };
	uint8_t pub[KEY_SIZE];
	size_t siglen = MOAT_SIG_SIGNATURE_SIZE;
	EVP_MD_CTX *md;
	EVP_PKEY *pkey;
	FILE *f;

	if (hex_decode(hex, measurement, sizeof(measurement)) != 0) {
		die("--measurement must be 64 hex digits (the 32-byte VM measurement), got \"%s\"", hex);
	}
	pkey = read_key(key);
	raw_public_key(pkey, pub);
	message_of(measurement, msg);
	md = EVP_MD_CTX_new();
	/* Ed25519 is "pure": no digest is named, the whole message is signed in one call. */
	if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) <= 0 ||
	    EVP_DigestSign(md, blob + offsetof(struct moat_signature, signature), &siglen, msg, sizeof(msg)) <= 0 ||
	    siglen != MOAT_SIG_SIGNATURE_SIZE) {
		die("signing failed");
	}
	put_le(blob + offsetof(struct moat_signature, magic), MOAT_SIG_MAGIC, 4);
	put_le(blob + offsetof(struct moat_signature, version), MOAT_SIG_VERSION, 2);
	key_id(pub, blob + offsetof(struct moat_signature, key_id));
	memcpy(blob + offsetof(struct moat_signature, measurement), measurement, sizeof(measurement));
	f = fopen(out, "wb");
	if (!f || fwrite(blob, sizeof(blob), 1, f) != 1 || fclose(f)) {
		die("cannot write %s: %s", out, strerror(errno));
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return 0;
}

static bool verify(const uint8_t pub[KEY_SIZE], const uint8_t *blob)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, KEY_SIZE);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t msg[MOAT_SIG_MESSAGE_LEN];
	bool ok;

	if (!pkey || !md) {
		die("%s", "the owner key is not a valid Ed25519 public key");
	}
	message_of(blob + offsetof(struct moat_signature, measurement), msg);
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) > 0 &&
	     EVP_DigestVerify(md, blob + offsetof(struct moat_signature, signature), MOAT_SIG_SIGNATURE_SIZE, msg,
			      sizeof(msg)) == 1;
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return ok;
}

static int cmd_show(const char *path, const char *owner_hex)
{
	uint8_t blob[MOAT_SIG_SIZE + 1], owner[KEY_SIZE], id[MOAT_SIG_KEY_ID_SIZE];
	uint32_t magic;
	unsigned int version, flags;
	FILE *f = fopen(path, "rb");
	size_t n;

	if (owner_hex && hex_decode(owner_hex, owner, sizeof(owner)) != 0) {
		die("--owner-key must be 64 hex digits, got \"%s\"", owner_hex);
	}
	if (!f) {
		die("cannot open %s: %s", path, strerror(errno));
	}
	n = fread(blob, 1, sizeof(blob), f);
	fclose(f);
	if (n != MOAT_SIG_SIZE) {
		die("%s is %s than a signature blob (%u bytes): corrupt", path, n < MOAT_SIG_SIZE ? "shorter" : "longer",
		    MOAT_SIG_SIZE);
	}
	magic = (uint32_t)get_le(blob + offsetof(struct moat_signature, magic), 4);
	version = (unsigned int)get_le(blob + offsetof(struct moat_signature, version), 2);
	flags = (unsigned int)get_le(blob + offsetof(struct moat_signature, flags), 2);
	printf("magic:       0x%08x%s\n", magic, magic == MOAT_SIG_MAGIC ? " (MSIG)" : " (wrong)");
	printf("version:     %u\n", version);
	printf("flags:       0x%x\n", flags);
	printf("key ID:      ");
	print_hex(stdout, blob + offsetof(struct moat_signature, key_id), MOAT_SIG_KEY_ID_SIZE);
	printf("\nmeasurement: ");
	print_hex(stdout, blob + offsetof(struct moat_signature, measurement), MOAT_SIG_MEASUREMENT_SIZE);
	printf("\nsignature:   ");
	print_hex(stdout, blob + offsetof(struct moat_signature, signature), MOAT_SIG_SIGNATURE_SIZE);
	printf("\n");
	if (magic != MOAT_SIG_MAGIC || version != MOAT_SIG_VERSION || flags) {
		die("%s: not a version %u signature blob (the core answers MOAT_E_CORRUPT)", path, MOAT_SIG_VERSION);
	}
	if (!owner_hex) {
		return 0;
	}
	/* The core's order: key ID, then the signature (the measurement is the core's to compare). */
	key_id(owner, id);
	if (memcmp(id, blob + offsetof(struct moat_signature, key_id), sizeof(id))) {
		die("%s: signed by another key than the owner key (the core answers MOAT_E_WRONG_KEY)", path);
	}
	if (!verify(owner, blob)) {
		die("%s: the signature does not verify (the core answers MOAT_E_BAD_SIGNATURE)", path);
	}
	printf("verdict:     valid signature by the owner key\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *key = NULL, *measurement = NULL, *owner = NULL, *file = NULL, *cmd;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? "no command" : NULL);
	}
	cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const char **opt = NULL;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(NULL);
		} else if (!strcmp(argv[i], "--out")) {
			opt = &out;
		} else if (!strcmp(argv[i], "--key")) {
			opt = &key;
		} else if (!strcmp(argv[i], "--measurement")) {
			opt = &measurement;
		} else if (!strcmp(argv[i], "--owner-key")) {
			opt = &owner;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "moat-sign: unknown option %s\n", argv[i]);
			usage("");
		} else if (!file) {
			file = argv[i];
			continue;
		} else {
			usage("too many arguments");
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "moat-sign: %s needs a value\n", argv[i]);
			usage("");
		}
		*opt = argv[++i];
	}
	if (!strcmp(cmd, "keygen") && out && !key && !measurement && !owner && !file) {
		return cmd_keygen(out);
	}
	if (!strcmp(cmd, "pubkey") && key && !out && !measurement && !owner && !file) {
		return cmd_pubkey(key);
	}
	if (!strcmp(cmd, "sign") && key && measurement && out && !owner && !file) {
		return cmd_sign(key, measurement, out);
	}
	if (!strcmp(cmd, "show") && file && !out && !key && !measurement) {
		return cmd_show(file, owner);
	}
	if (strcmp(cmd, "keygen") && strcmp(cmd, "pubkey") && strcmp(cmd, "sign") && strcmp(cmd, "show")) {
		fprintf(stderr, "moat-sign: unknown command \"%s\"\n", cmd);
		usage("");
	}
	fprintf(stderr, "moat-sign %s: missing or unexpected arguments\n", cmd);
	usage("");
}
