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
struct guest_exit;

/*
 * Handlers in guest_exit.c's table (guest_sync_handler): each answers in the
 * core and returns MOAT_EXIT_NONE, the guest continues.
 */
/* EC 0x18: ID registers from the guest view; any other register reads as zero, writes are ignored. */
u32 guest_sysreg_trap(struct vcpu *vcpu, const struct guest_exit *e);
/* EC 0x17: guests call through HVC; an SMC reaches no firmware and gets NOT_SUPPORTED. */
u32 guest_smc(struct vcpu *vcpu, const struct guest_exit *e);
/* Any class the table has no handler for (hidden SVE, SME, PAuth...): undefined instruction. */
u32 guest_undef_trap(struct vcpu *vcpu, const struct guest_exit *e);
/* guest_hvc() denied fid (PSCI_RET_DENIED) or does not implement it (PSCI_RET_NOT_SUPPORTED). */
void guest_call_refused(struct vcpu *vcpu, u64 fid, long ret);

#endif
