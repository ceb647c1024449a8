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

#endif
