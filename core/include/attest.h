/*
 * Device identity, attestation and sealing (core/attest.c; docs/attestation.md).
 */
#ifndef MOAT_CORE_ATTEST_H
#define MOAT_CORE_ATTEST_H

#include "types.h"

struct vcpu;

#define ATTEST_SECRET_SIZE 32

/*
 * Boot, before the host runs (boot.c): measure the core's text + rodata
 * (core_image[0..core_len)) and, when secret is not NULL and not all zero
 * (a page the firmware never filled), derive the device key, the CDIs, the
 * core key and the core certificate from it; returns whether it did. The
 * caller wipes its own copy of the secret; everything derived that is not
 * kept is wiped here. Without a secret the core has no identity and the
 * report and sealing calls answer MOAT_E_NO_IDENTITY.
 */
bool attest_init(const void *core_image, size_t core_len, const u8 *secret);

bool attest_have_identity(void);
/* The core measurement (also without a secret: it needs none). */
const u8 *attest_core_measurement(void);

/*
 * The guest calls MOAT_GFN_MEASUREMENT / _REPORT / _SEALING_KEY from guest_hvc
 * (guest_call.c) on the CPU that has vcpu loaded: writes x0/x1, or ends the
 * run with a MEM_FAULT exit for an unbacked page (the HVC is retried, as for
 * MEM_SHARE). Returns the exit reason.
 */
u32 attest_guest_call(struct vcpu *vcpu, u32 fid);

/* The core's test hooks for unit tests (ARCH=fake): forget the identity. */
void attest_reset_for_test(void);

#endif
