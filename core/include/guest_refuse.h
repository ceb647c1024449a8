/*
 * Guest accesses the core answers without effect or refuses (see
 * guest_refuse.c): trapped system registers, SMCs, instructions of hidden
 * features, and PSCI/SMCCC calls it denies or does not know. Each kind is
 * logged once per VM, naming the register encoding or the function ID and
 * what the guest got -- never a value the guest wrote.
 */
#ifndef MOAT_GUEST_REFUSE_H
#define MOAT_GUEST_REFUSE_H

#include "types.h"

struct vcpu;

/* EC 0x18: ID registers from the guest view; any other register reads as zero, writes are ignored. */
bool guest_sysreg_trap(struct vcpu *vcpu, u64 esr);
/* EC 0x17: guests call through HVC; an SMC reaches no firmware and gets NOT_SUPPORTED. */
bool guest_smc(struct vcpu *vcpu);
/* Any trap the core has no handler for (hidden SVE, SME, PAuth...): undefined instruction. */
bool guest_undef_trap(struct vcpu *vcpu, u64 esr);
/* guest_hvc() denied fid (PSCI_RET_DENIED) or does not implement it (PSCI_RET_NOT_SUPPORTED). */
void guest_call_refused(struct vcpu *vcpu, u64 fid, long ret);

#endif
