/*
 * moat attestation report (ABI 1.3, MOAT_GFN_REPORT): the bytes the core
 * writes into the guest's page, shared verbatim by the core, the guests, the
 * Linux guest driver and tools/moat-verify. docs/attestation.md explains the
 * key chain behind the three signatures.
 *
 * Fixed layout, every multi-byte integer little-endian, no padding (the
 * _Static_asserts below pin every size). A verifier that trusts only the
 * device public key (tools/moat-provision derives it offline from the device
 * secret) checks, in this order:
 *   1. core_cert.signature: Ed25519 by core_cert.device_public_key (== the
 *      trusted key) over core_cert up to its signature;
 *   2. vm_cert.signature: by core_cert.core_public_key over vm_cert up to its
 *      signature;
 *   3. signature: by vm_cert.vm_public_key over the report body (every byte
 *      before `signature`);
 *   4. the copies agree: body.vm_public_key == vm_cert.vm_public_key,
 *      body.vm_measurement == vm_cert.vm_measurement, body.core_measurement ==
 *      core_cert.core_measurement, body.core_version == core_cert.core_version;
 *   5. the values are the expected ones (VM measurement, challenge, and if the
 *      verifier knows it, the core measurement).
 */
#ifndef MOAT_ATTEST_H
#define MOAT_ATTEST_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define MOAT_REPORT_MAGIC 0x5452504dU	 /* "MPRT" little-endian */
#define MOAT_CORE_CERT_MAGIC 0x5452434dU /* "MCRT" */
#define MOAT_VM_CERT_MAGIC 0x5452564dU	 /* "MVRT" */
#define MOAT_REPORT_VERSION 1

#define MOAT_CHALLENGE_SIZE 64

/* core_cert.policy bits: the owner policy the core booted with (core/include/policy.h). */
#define MOAT_POLICY_OWNER_KEY 0x1 /* owner_key is set (else it is all zero) */
#define MOAT_POLICY_ENFORCE 0x2	  /* FINALIZE of a protected VM needs the owner's signature */

/* Signed by the device key at core boot: binds the core's key to the core's identity. */
struct moat_core_cert {
	uint32_t magic;	  /* MOAT_CORE_CERT_MAGIC */
	uint32_t version; /* MOAT_REPORT_VERSION */
	uint8_t core_measurement[32]; /* SHA-256 of the core image's text + rodata (docs/attestation.md) */
	uint32_t core_version;	      /* (ABI major << 16) | minor */
	uint32_t policy;	      /* MOAT_POLICY_* */
	uint8_t owner_key[32];
	uint8_t core_public_key[32];
	uint8_t device_public_key[32]; /* the signer */
	uint8_t signature[64];
};

/* Signed by the core key: binds a VM's attestation key to the VM's measurement. */
struct moat_vm_cert {
	uint32_t magic;	  /* MOAT_VM_CERT_MAGIC */
	uint32_t version; /* MOAT_REPORT_VERSION */
	uint8_t vm_measurement[32];
	uint8_t vm_public_key[32];
	uint8_t signature[64];
};

struct moat_report {
	/* The body, signed by the VM's attestation key. */
	uint32_t magic;	  /* MOAT_REPORT_MAGIC */
	uint16_t version; /* MOAT_REPORT_VERSION */
	uint16_t size;	  /* sizeof(struct moat_report) */
	uint8_t vm_measurement[32];
	uint8_t challenge[MOAT_CHALLENGE_SIZE]; /* the guest's, as it passed it */
	uint8_t core_measurement[32];
	uint32_t core_version;
	uint32_t vm_type; /* MOAT_VM_PROTECTED */
	uint32_t debug;	  /* 0: no debugger can reach the VM (protected VMs' debug state is the core's alone) */
	uint32_t reserved; /* 0 */
	uint8_t vm_public_key[32];
	uint8_t signature[64];
	/* The chain up to the device key. */
	struct moat_vm_cert vm_cert;
	struct moat_core_cert core_cert;
};

#define MOAT_REPORT_BODY_SIZE 184 /* bytes the report signature covers */
#define MOAT_CORE_CERT_SIGNED_SIZE 144
#define MOAT_VM_CERT_SIGNED_SIZE 72

_Static_assert(sizeof(struct moat_core_cert) == MOAT_CORE_CERT_SIGNED_SIZE + 64, "core cert layout");
_Static_assert(sizeof(struct moat_vm_cert) == MOAT_VM_CERT_SIGNED_SIZE + 64, "VM cert layout");
_Static_assert(sizeof(struct moat_report) == MOAT_REPORT_BODY_SIZE + 64 + 136 + 208, "report layout");
_Static_assert(__builtin_offsetof(struct moat_report, signature) == MOAT_REPORT_BODY_SIZE, "report body");
_Static_assert(__builtin_offsetof(struct moat_core_cert, signature) == MOAT_CORE_CERT_SIGNED_SIZE, "core cert");
_Static_assert(__builtin_offsetof(struct moat_vm_cert, signature) == MOAT_VM_CERT_SIGNED_SIZE, "VM cert");

#define MOAT_REPORT_SIZE 592

_Static_assert(sizeof(struct moat_report) == MOAT_REPORT_SIZE, "report size");

#endif
