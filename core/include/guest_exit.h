/*
 * Why a vCPU stopped running, as the arch layer reports it, and the one
 * place each reason is handled (guest_exit.c): synchronous exits through a
 * table indexed by exception class, the others by kind.
 *
 * Called from vcpu_run() on the physical CPU that has the vCPU loaded; no
 * lock (a loaded vCPU is driven only by that CPU, see vcpu.h).
 */
#ifndef MOAT_GUEST_EXIT_H
#define MOAT_GUEST_EXIT_H

#include "esr.h"
#include "types.h"

struct vcpu;
struct cpu_regs;

/*
 * What kind of exit: the arch layer maps its vectors onto these. A lower EL
 * in AArch32 (a guest's EL0 task) exits through the same kinds as AArch64:
 * the syndrome's EC already says what trapped, and nothing the core does
 * depends on the register width of the context that trapped.
 */
enum guest_exit_kind {
	/* Starts at 1 so that a zeroed struct guest_exit is no valid exit. */
	GUEST_EXIT_SYNC = 1, /* synchronous exception: ESR_EL2.EC says which (guest_exit.c's table) */
	GUEST_EXIT_IRQ,	     /* a physical interrupt: the host's */
	GUEST_EXIT_FIQ,	     /* likewise */
	GUEST_EXIT_SERROR,   /* a physical SError taken while the guest ran: the guest's */
	/*
	 * arch_guest_run did not enter the guest at all: a physical SError was
	 * already pending before entry, so it is the host's (or the core's), and
	 * the host must take it at EL1 once its own context is back.
	 */
	GUEST_EXIT_NOT_ENTERED,
};

/* Why arch_guest_run returned: the kind plus the syndrome registers. */
struct guest_exit {
	enum guest_exit_kind kind;
	u64 esr;
	u64 far; /* meaningful for aborts only: stale for anything else */
	u64 ipa; /* faulting IPA for stage-2 aborts (HPFAR_EL2 | FAR[11:0]) */
	/* A physical SError was still in flight when the guest exited, and was taken at EL2: the guest's. */
	bool serror;
};

/*
 * A handler of one exception class (see the table in guest_exit.c for how to
 * add one). Returns MOAT_EXIT_NONE when the guest simply continues (the
 * handler has advanced or redirected its PC as the exit needs), or the exit
 * reason for the host, returned by exit_to_host() before the handler fills
 * in the run page's fields for that reason.
 */
typedef u32 guest_sync_handler(struct vcpu *vcpu, const struct guest_exit *e);

/* Handle one exit: MOAT_EXIT_NONE while the guest should continue, else the reason the run ends. */
u32 guest_exit_handle(struct vcpu *vcpu, const struct guest_exit *e);

/*
 * The fast path (docs/architecture.md, "The exit path"), called by the
 * arm64 EL2 vector on a synchronous exit of a loaded vCPU, with only its
 * general registers saved (regs, the exception frame):
 * guest_exit_may_be_fast(esr) says from the syndrome alone whether the exit
 * is of a class the fast path may answer; guest_exit_fast() then answers it
 * on regs and returns true if the guest may continue at once, its EL1
 * system registers, timer, vGIC and FP state still live in the CPU; false
 * (regs untouched) for the exits that take the full path (arch_guest_run).
 * e holds esr, far and ipa (no SError: the arch layer checked).
 */
static inline bool guest_exit_may_be_fast(u64 esr)
{
	return ESR_EC(esr) == EC_HVC64 || ESR_EC(esr) == EC_DABT_LOWER; /* inline: it runs on every guest exit */
}
bool guest_exit_fast(struct vcpu *vcpu, const struct guest_exit *e, struct cpu_regs *regs);

/*
 * The run ends for reason: wipes the run page (nothing from an earlier exit,
 * or planted by the host, survives into this one), writes the reason, and
 * returns it.
 */
u32 exit_to_host(struct vcpu *vcpu, u32 reason);

#endif
