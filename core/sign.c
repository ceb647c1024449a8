/*
 * The owner-signature gate of FINALIZE (sign.h): parses the signature blob
 * (include/moat/sign.h) and decides, from the boot policy (policy.c),
 * whether a VM may be finalized.
 *
 * Called from hc_finalize() under pagedb_lock and vm->lock; sign_parse()
 * and sign_check() are pure (unit tests, the fuzzer). Owns no state.
 *
 * The blob lives in a host page: the host can rewrite it at any moment, even
 * while this CPU reads it. So it is copied once into core memory and only the
 * copy is ever looked at; what was checked is what was decided on.
 */
#include "sign.h"

#include "ed25519.h"
#include "lib.h"
#include "log.h"
#include "mem.h"
#include "moat/errors.h"
#include "vm.h"

_Static_assert(sizeof(struct moat_signature) == MOAT_SIG_SIZE, "signature blob layout");

int sign_parse(const void *buf, size_t len, struct moat_signature *out)
{
	if (len < MOAT_SIG_SIZE) {
		return MOAT_E_CORRUPT;
	}
	memcpy(out, buf, MOAT_SIG_SIZE);
	/* flags must be 0 so that a later version can give them a meaning old cores never ignore. */
	if (out->magic != MOAT_SIG_MAGIC || out->version != MOAT_SIG_VERSION || out->flags) {
		return MOAT_E_CORRUPT;
	}
	return MOAT_OK;
}

int sign_check(const struct moat_policy *pol, bool protected, const struct moat_signature *blob,
	       const u8 measurement[32])
{
	u8 message[MOAT_SIG_MESSAGE_LEN];
	u8 id[MOAT_SIG_KEY_ID_SIZE];

	if (!blob) {
		/* Normal VMs are never gated: the host can read and change them anyway. */
		return pol->enforce && protected ? MOAT_E_UNSIGNED : MOAT_OK;
	}
	/*
	 * A given blob is always checked, in open mode too (a VMM can test its
	 * signing before the owner turns enforce on). The key ID first, so that
	 * "signed by someone else" and "tampered" are told apart; with no owner
	 * key, every blob names another key.
	 */
	if (!pol->have_owner_key) {
		return MOAT_E_WRONG_KEY;
	}
	policy_key_id(pol->owner_key, id);
	if (memcmp(id, blob->key_id, sizeof(id))) {
		return MOAT_E_WRONG_KEY;
	}
	/* Public values on both sides: no constant-time compare needed. */
	if (memcmp(blob->measurement, measurement, MOAT_SIG_MEASUREMENT_SIZE)) {
		return MOAT_E_BAD_SIGNATURE;
	}
	memcpy(message, MOAT_SIG_DOMAIN, MOAT_SIG_DOMAIN_LEN);
	memcpy(message + MOAT_SIG_DOMAIN_LEN, measurement, MOAT_SIG_MEASUREMENT_SIZE);
	if (!ed25519_verify(pol->owner_key, message, sizeof(message), blob->signature)) {
		return MOAT_E_BAD_SIGNATURE;
	}
	return MOAT_OK;
}

int sign_finalize_check(struct vm *vm, u64 sig_pa)
{
	static struct log_limiter refused_log;
	u8 raw[MOAT_SIG_SIZE], measurement[32];
	struct moat_signature blob;
	int ret = MOAT_OK;

	if (sig_pa) {
		ret = mem_copy_from_core_shared(sig_pa, raw, sizeof(raw));
		if (!ret) {
			ret = sign_parse(raw, sizeof(raw), &blob);
		}
	}
	if (!ret) {
		vm_final_measurement(vm, measurement);
		ret = sign_check(policy_get(), vm_is_protected(vm), sig_pa ? &blob : NULL, measurement);
	}
	if (ret) {
		log_ratelimited(&refused_log, LOG_INFO, "vm%u FINALIZE refused: signature blob at 0x%lx: error %d",
				vm->slot, sig_pa, ret);
	}
	return ret;
}
