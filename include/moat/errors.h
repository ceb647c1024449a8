/*
 * moat ABI: the one error enum shared by the core, hosts, VMMs and guests.
 *
 * Every core call returns 0 on success or one of these negative values in x0.
 * -1 is SMCCC NOT_SUPPORTED so that a caller probing an unknown function ID
 * gets the answer the SMC Calling Convention promises.
 */
#ifndef MOAT_ERRORS_H
#define MOAT_ERRORS_H

enum moat_error {
	MOAT_OK = 0,
	MOAT_E_NOT_SUPPORTED = -1, /* unknown function ID (SMCCC NOT_SUPPORTED) */
	MOAT_E_INVAL = -2,	   /* malformed argument, non-zero reserved argument */
	MOAT_E_NOMEM = -3,	   /* memcache or core heap exhausted */
	MOAT_E_PERM = -4,	   /* caller does not own what it names */
	MOAT_E_BUSY = -5,	   /* object in use (vCPU running, VM has vCPUs loaded) */
	MOAT_E_NOENT = -6,	   /* no such VM or vCPU */
	MOAT_E_STALE = -7,	   /* handle generation does not match: object was destroyed */
	MOAT_E_STATE = -8,	   /* call not allowed in the object's lifecycle state */
	MOAT_E_RANGE = -9,	   /* address outside RAM, outside the VM's IPA space, or an index out of range */
	MOAT_E_ALIGN = -10,	   /* address not page-aligned */
	MOAT_E_EXIST = -11,	   /* IPA already mapped, object already exists */
	MOAT_E_CORRUPT = -12,	   /* malformed input blob (device tree, image) */
	/* ABI 1.3 (issue 14: measured and verified boot) */
	MOAT_E_ORDER = -13,	    /* LOAD not in strictly ascending IPA order (the measurement's defined order) */
	MOAT_E_UNSIGNED = -14,	    /* enforce mode: FINALIZE of a protected VM without an owner signature */
	MOAT_E_WRONG_KEY = -15,	    /* signature blob names a key other than the owner key */
	MOAT_E_BAD_SIGNATURE = -16, /* signature blob names the owner key but does not verify */
	MOAT_E_NO_IDENTITY = -17,   /* the core has no device secret: no attestation or sealing */
};

#endif
