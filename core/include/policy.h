/*
 * The owner's boot policy (issue 14): an Ed25519 owner public key and the
 * enforce mode, read once from the bootargs before the host runs and fixed
 * afterwards (so read without a lock). Implemented in core/policy.c.
 */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include "types.h"

struct moat_policy {
	bool have_owner_key;
	bool enforce; /* FINALIZE of a protected VM needs the owner's signature */
	u8 owner_key[32];
};

const struct moat_policy *policy_get(void);

/*
 * What policy_parse() found wrong (0: nothing). Each problem resolves to
 * the safe side: a bad or conflicting key is no key (a signature then names
 * "another" key: MOAT_E_WRONG_KEY; enforce without a key refuses every
 * protected VM), a bad or conflicting mode is enforce.
 */
#define POLICY_BAD_KEY (1U << 0)  /* moat.owner_key not 64 hex digits, or given twice with different values */
#define POLICY_BAD_MODE (1U << 1) /* moat.policy neither open nor enforce, or given twice with different values */

/* Parse the bootargs into *out (pure: the boot path and the fuzzer). Returns POLICY_BAD_* flags. */
unsigned int policy_parse(const char *bootargs, struct moat_policy *out);
/* Boot CPU, before the host runs: parse, keep for policy_get(), log mode and key ID. */
void policy_init(const char *bootargs);
/* The key ID a signature blob names: the first 8 bytes of SHA-256(public key). */
void policy_key_id(const u8 public_key[32], u8 id[8]);

#endif
