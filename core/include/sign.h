/*
 * FINALIZE's owner-signature check (core/sign.c; the blob is
 * include/moat/sign.h, the rules docs/attestation.md "Owner policy and
 * signatures").
 */
#ifndef MOAT_CORE_SIGN_H
#define MOAT_CORE_SIGN_H

#include "moat/sign.h"
#include "policy.h"
#include "types.h"

struct vm;

/* A blob's bytes -> *out: MOAT_OK, or MOAT_E_CORRUPT (short, magic, version, flags). Pure. */
int sign_parse(const void *buf, size_t len, struct moat_signature *out);

/*
 * The policy's verdict on a (parsed) blob, NULL for none, for a VM whose
 * measurement is `measurement`: MOAT_OK, MOAT_E_UNSIGNED, MOAT_E_WRONG_KEY or
 * MOAT_E_BAD_SIGNATURE, in that order of checks. Pure.
 */
int sign_check(const struct moat_policy *pol, bool protected, const struct moat_signature *blob,
	       const u8 measurement[32]);

/*
 * FINALIZE's whole check, before anything commits: copy the blob out of the
 * host page sig_pa (0: none) once, parse it, and judge it against the
 * measurement the VM will have. Errors: MOAT_E_ALIGN / _RANGE / _PERM (sig_pa
 * is not a host page shared with the core), then sign_parse's, then
 * sign_check's. Changes nothing. Caller holds pagedb_lock and vm->lock.
 */
int sign_finalize_check(struct vm *vm, u64 sig_pa);

#endif
