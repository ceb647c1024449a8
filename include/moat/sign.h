/*
 * moat ABI 1.3: the owner's signature of a VM measurement, shared by the
 * core, moat.ko, moat-vmm, the test host and tools/moat-sign.
 *
 * FINALIZE's x2 is the PA of a host page shared with the core
 * (MOAT_FN_SHARE_CORE) whose first MOAT_SIG_SIZE bytes hold this blob, or 0
 * for none. The core copies the blob out of the page once, then checks the
 * copy (docs/ABI.md, FINALIZE; docs/attestation.md, "Owner policy and
 * signatures").
 *
 * Layout: fixed, little-endian, no padding (offsets in the comments).
 * Signed message: MOAT_SIG_DOMAIN (19 bytes, no NUL) || measurement (32
 * bytes), 51 bytes, Ed25519 (RFC 8032, pure). The domain string keeps an
 * owner signature over a measurement from being valid for anything else the
 * same key might sign, and "-v1" lets a later format never be confused with
 * this one.
 */
#ifndef MOAT_SIGN_H
#define MOAT_SIGN_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define MOAT_SIG_MAGIC 0x4749534dU /* "MSIG" as little-endian bytes */
#define MOAT_SIG_VERSION 1
#define MOAT_SIG_KEY_ID_SIZE 8	      /* first 8 bytes of SHA-256(owner public key) */
#define MOAT_SIG_MEASUREMENT_SIZE 32  /* the VM measurement (SHA-256) */
#define MOAT_SIG_SIGNATURE_SIZE 64    /* Ed25519 signature R || S */
#define MOAT_SIG_DOMAIN "moat-measurement-v1"
#define MOAT_SIG_DOMAIN_LEN 19
#define MOAT_SIG_MESSAGE_LEN (MOAT_SIG_DOMAIN_LEN + MOAT_SIG_MEASUREMENT_SIZE)

struct moat_signature {
	uint32_t magic;						/*   0: MOAT_SIG_MAGIC */
	uint16_t version;					/*   4: MOAT_SIG_VERSION */
	uint16_t flags;						/*   6: reserved, 0 */
	uint8_t key_id[MOAT_SIG_KEY_ID_SIZE];			/*   8: which key signed */
	uint8_t measurement[MOAT_SIG_MEASUREMENT_SIZE];		/*  16: what was signed */
	uint8_t signature[MOAT_SIG_SIGNATURE_SIZE];		/*  48: Ed25519 over the message */
};								/* 112 bytes */

#define MOAT_SIG_SIZE 112

#endif
