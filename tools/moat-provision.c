/*
 * moat-provision: what a verifier needs to trust a moat device, computed
 * offline from what the device owner holds (docs/attestation.md):
 *
 *   moat-provision --secret FILE [--core moat.bin]
 *
 * prints
 *   device-public-key: <64 hex>   Ed25519 public key of HKDF-SHA-256(secret, "moat-device-id"):
 *                                 the key tools/moat-verify --device-key trusts
 *   core-measurement: <64 hex>    with --core: SHA-256 of the image's text + rodata (the
 *                                 length is the Image header's res2 field), as the core
 *                                 measures itself at boot
 * Host-native, with OpenSSL's libcrypto -- not the core's own crypto -- so
 * that the two agree only if both are right. Exit 0, 1 on bad input, 2 on
 * usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "attest_tool.h"

#define IMAGE_MAX (64UL << 20)
#define IMAGE_MAGIC_OFFSET 0x38
#define IMAGE_MEASURED_SIZE_OFFSET 0x20 /* res2 (core/arch/arm64/head.S) */

static const char usage_text[] =
	"usage: moat-provision --secret FILE [--core moat.bin]\n"
	"\n"
	"Prints the device's public identity (device-public-key: <hex>), derived from the\n"
	"32-byte device secret in FILE, and with --core the core measurement the core reports\n"
	"(core-measurement: <hex>). A verifier trusts the device key printed here, never one\n"
	"read off the host.\n";

static void __attribute__((noreturn)) die(int code, const char *msg)
{
	fprintf(stderr, "moat-provision: %s\n", msg);
	exit(code);
}

/* HKDF-SHA-256 (RFC 5869), no salt (HashLen zero bytes), 32 bytes of output: one HMAC for each step. */
static void hkdf32(uint8_t out[32], const uint8_t *ikm, size_t ikm_len, const char *info)
{
	static const uint8_t zero_salt[32];
	uint8_t prk[32], msg[128];
	size_t info_len = strlen(info);
	unsigned int len = 32;

	if (info_len + 1 > sizeof(msg)) {
		die(1, "info too long");
	}
	HMAC(EVP_sha256(), zero_salt, 32, ikm, ikm_len, prk, &len);
	memcpy(msg, info, info_len);
	msg[info_len] = 1;
	HMAC(EVP_sha256(), prk, 32, msg, info_len + 1, out, &len);
	OPENSSL_cleanse(prk, sizeof(prk));
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "moat-provision: cannot open %s\n", path);
		exit(2);
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	const char *secret_path = NULL, *core_path = NULL;
	uint8_t secret[33], seed[32], pub[32], digest[32];
	char hex[65];
	size_t pub_len = 32, n;
	EVP_PKEY *key;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			fputs(usage_text, stderr);
			return 2;
		}
		if (!strcmp(argv[i], "--secret")) {
			secret_path = argv[++i];
		} else if (!strcmp(argv[i], "--core")) {
			core_path = argv[++i];
		} else {
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (!secret_path) {
		fputs(usage_text, stderr);
		return 2;
	}

	if (read_file(secret_path, secret, sizeof(secret)) != 32) {
		die(1, "the device secret file must hold exactly 32 bytes");
	}
	hkdf32(seed, secret, 32, "moat-device-id");
	OPENSSL_cleanse(secret, sizeof(secret));
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (!key || EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 || pub_len != 32) {
		die(1, "OpenSSL could not make the Ed25519 key");
	}
	EVP_PKEY_free(key);
	hex_encode(pub, 32, hex);
	printf("device-public-key: %s\n", hex);

	if (core_path) {
		uint8_t *img = malloc(IMAGE_MAX);
		uint64_t measured;

		if (!img) {
			die(1, "out of memory");
		}
		n = read_file(core_path, img, IMAGE_MAX);
		if (n < 0x40 || memcmp(img + IMAGE_MAGIC_OFFSET, "ARM\x64", 4)) {
			die(1, "not a moat core image (no arm64 Image header): give build/moat.bin");
		}
		memcpy(&measured, img + IMAGE_MEASURED_SIZE_OFFSET, 8);
		if (measured < 0x40 || measured > n) {
			die(1, "the image's measured size (header res2) is not inside the file");
		}
		SHA256(img, measured, digest);
		free(img);
		hex_encode(digest, 32, hex);
		printf("core-measurement: %s\n", hex);
	}
	return 0;
}
