/*
 * Function IDs and results of the guest calls the core answers (guest_call.c,
 * guest_mem.c): the SMCCC architecture calls and the KVM/pKVM vendor-hypervisor
 * service (owner 6), with the IDs of Linux's include/linux/arm-smccc.h and
 * Documentation/virt/kvm/arm/hypercalls.rst. PSCI lives in psci.h.
 * docs/ABI.md ("Guest ABI") documents each call.
 */
#ifndef MOAT_GUEST_CALL_H
#define MOAT_GUEST_CALL_H

#include "types.h"

struct vcpu;

/* SMCCC results (DEN0028): distinct from PSCI's, where -2 is INVALID_PARAMETERS and -3 DENIED. */
#define SMCCC_RET_SUCCESS 0
#define SMCCC_RET_NOT_SUPPORTED (-1)
#define SMCCC_RET_NOT_REQUIRED (-2)
#define SMCCC_RET_INVALID_PARAMETER (-3)

/* Arm architecture calls (owner 0). */
#define SMCCC_ARCH_FEATURES 0x80000001U
#define SMCCC_ARCH_WORKAROUND_1 0x80008000U /* Spectre v2: branch predictor invalidation */
#define SMCCC_ARCH_WORKAROUND_2 0x80007FFFU /* Spectre v4: speculative store bypass */
#define SMCCC_ARCH_WORKAROUND_3 0x80003FFFU /* Spectre-BHB: branch history */

/* Vendor-hypervisor service (owner 6): KVM's functions, as a protected Linux guest calls them. */
#define KVM_CALL_UID 0x8600FF01U	  /* SMC32: x0..x3 = the KVM UID */
#define KVM_FN_FEATURES 0x86000000U	  /* SMC32, function 0: x0..x3 = bitmap of function numbers */
#define KVM_FN_HYP_MEMINFO 0xC6000002U	  /* function 2: x0 = the sharing granule in bytes */
#define KVM_FN_MEM_SHARE 0xC6000003U	  /* function 3: (ipa) */
#define KVM_FN_MEM_UNSHARE 0xC6000004U	  /* function 4: (ipa) */
#define KVM_FN_MMIO_GUARD 0xC6000007U	  /* function 7 (Android: MMIO_GUARD_MAP): (ipa) */
#define KVM_FN_MEM_RELINQUISH 0xC6000009U /* function 9: Android's extension, not upstream: (ipa) */

/* KVM UID 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 as the four result registers carry it. */
#define KVM_UID_0 0xB66FB428UL
#define KVM_UID_1 0xE911C52EUL
#define KVM_UID_2 0x564BCAA9UL
#define KVM_UID_3 0x743A004DUL

/*
 * KVM_FEATURES x0: the functions this core implements -- FEATURES itself (0),
 * HYP_MEMINFO (2), MEM_SHARE (3), MEM_UNSHARE (4), MMIO_GUARD (7),
 * MEM_RELINQUISH (9). Bit 7 only because the guard is enforced (guest_mem.c):
 * a guest that sees it relies on unguarded MMIO never reaching the host.
 */
#define KVM_FEATURES_BITMAP ((1UL << 0) | (1UL << 2) | (1UL << 3) | (1UL << 4) | (1UL << 7) | (1UL << 9))

/* The granule of MEM_SHARE and friends: the core's page. */
#define KVM_HYP_MEMINFO_GRANULE 4096UL

/*
 * guest_mem.c: the memory calls above (fid one of KVM_FN_HYP_MEMINFO ..
 * KVM_FN_MEM_RELINQUISH). Writes the guest's x0, or ends the run with a
 * MEM_FAULT exit and the HVC to be retried; returns the exit reason.
 */
u32 guest_mem_call(struct vcpu *vcpu, u32 fid);

/*
 * guest_mem.c: may an access to ipa, in vm's MMIO window, reach the host as
 * an MMIO exit? False only for a protected VM that opted in to the MMIO guard
 * (its first MMIO_GUARD call) and did not guard ipa's page. Takes vm->lock.
 */
struct vm;
bool guest_mmio_allowed(struct vm *vm, u64 ipa);

#endif
