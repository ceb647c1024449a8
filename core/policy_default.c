/*
 * TEMPORARY (attest branch only): the default owner policy -- no owner key,
 * open mode -- until the `sign` branch's core/policy.c (bootargs
 * moat.owner_key / moat.policy) is merged; then this file goes.
 * Weak, so that core/policy.c's policy_get() wins if both are linked.
 */
#include "policy.h"

__attribute__((weak)) const struct moat_policy *policy_get(void)
{
	static const struct moat_policy none;

	return &none;
}
