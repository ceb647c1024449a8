/*
 * Traps from the host, as the generic core sees them: host calls (HVC),
 * firmware calls (trapped SMC), and stage-2 aborts. The arm64 vectors decode
 * ESR_EL2 and call these; each returns with the frame updated for ERET.
 */
#ifndef MOAT_HOST_H
#define MOAT_HOST_H

#include "regs.h"
#include "types.h"

/* HVC from the host: imm16 is the HVC immediate (only 0 is valid). */
void host_call(struct cpu_regs *regs, u16 imm16);

/* Trapped SMC from the host (PSCI and other SMCCC services). Advances ELR past the SMC. */
void host_smc(struct cpu_regs *regs);

struct host_abort {
	u64 esr; /* ESR_EL2 of the stage-2 abort */
	u64 far; /* FAR_EL2: the host's virtual address */
	/*
	 * Faulting IPA (== PA for the identity-mapped host), from HPFAR_EL2. Only
	 * meaningful for translation faults: HPFAR_EL2 is UNKNOWN for a stage-2
	 * permission fault on hardware, so the generic code never reads it then.
	 */
	u64 ipa;
};

/*
 * Stage-2 abort from the host: retry (a translation fault on a page the host
 * owns, ownership in flux on another CPU) or inject an external abort.
 */
void host_abort(struct cpu_regs *regs, const struct host_abort *abort);

/* Any other trap from the host: an undefined-instruction exception for it. */
void host_unexpected_trap(struct cpu_regs *regs, u64 esr);
/*
 * MRS/MSR trapped from the host (EC 0x18) in the ID space (HCR_EL2.TID3): a read is answered from the host view,
 * a write is UNDEFINED. False: not an ID register, nothing done.
 */
bool host_idreg_trap(struct cpu_regs *regs, u64 esr);

#endif
