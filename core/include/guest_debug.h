/*
 * Self-hosted debug of normal VMs (issue 11, Deliver 8; core/guest_debug.c):
 * breakpoints, watchpoints, single step and the OS lock. Protected VMs have
 * none: DebugVer 0 and RAZ/WI (core/guest_refuse.c).
 */
#ifndef MOAT_GUEST_DEBUG_H
#define MOAT_GUEST_DEBUG_H

#include "types.h"

struct vcpu;

/* DBGBCR<n>_EL1 and DBGWCR<n>_EL1 bits a guest may set (core/guest_debug.c says why HMC, SSC and BT[3] are not). */
#define DBGBCR_GUEST_MASK 0x7f01e7UL	/* E, PMC, BAS, LBN, BT[2:0] */
#define DBGWCR_GUEST_MASK 0x1f1f1fffUL /* E, PAC, LSC, BAS, LBN, WT, MASK */
/* MDSCR_EL1 bits a guest may set: SS, TDCC, KDE, MDE. */
#define MDSCR_GUEST_MASK ((1UL << 0) | (1UL << 12) | (1UL << 13) | (1UL << 15))
/* The DBG{B,W}{V,C}R banks the core switches: 16 of each, the most ID_AA64DFR0_EL1.BRPs/WRPs can say. */
#define DBG_MAX_BPS 16U

/* A trapped MSR/MRS (EC 0x18) of a normal VM: true if it was a debug register the core gives it, and was answered. */
bool guest_debug_trap(struct vcpu *vcpu, u64 esr);
/* Called by the arch layer at load (after the guest's EL1 state) and at put (after the host's). */
void guest_debug_load(struct vcpu *vcpu);
void guest_debug_put(struct vcpu *vcpu);

#endif
