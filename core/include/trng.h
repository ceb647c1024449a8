/*
 * The core's DRBG and the SMCCC TRNG for guests (core/trng.c).
 */
#ifndef MOAT_TRNG_H
#define MOAT_TRNG_H

#include "types.h"

struct vcpu;

/* SMCCC TRNG 1.0 function IDs (Arm DEN0098). */
#define TRNG_VERSION 0x84000050UL
#define TRNG_FEATURES 0x84000051UL
#define TRNG_GET_UUID 0x84000052UL
#define TRNG_RND32 0x84000053UL
#define TRNG_RND64 0xC4000053UL

/* Instantiate the DRBG with material, or mix material into an instantiated one. */
void trng_seed(const void *material, size_t len);
/* len bytes of DRBG output; false (out untouched) before any seed. */
bool trng_generate(void *out, size_t len);
/* A TRNG call in the guest's x0..x3, answered there; false if x0 is no TRNG function. */
bool trng_guest_call(struct vcpu *vcpu);
/* Unit tests: back to unseeded. */
void trng_reset_for_test(void);

#endif
