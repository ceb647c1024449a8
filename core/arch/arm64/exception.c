/*
 * C side of the EL2 vectors: decode why we trapped and hand the trap to the
 * generic module that owns it. Exceptions taken at EL2 itself are bugs in the
 * core: they print a full dump (syndrome, addresses, registers) and power the
 * machine off -- except a synchronous external abort on a device access the
 * core made on the host's behalf (exfixup.h), which resumes at its fixup.
 */
#include "arch.h"
#include "cpu_power.h"
#include "exfixup.h"
#include "host.h"
#include "log.h"
#include "percpu.h"
#include "pmu.h"
#include "sysreg.h"

void el2_trap(struct cpu_regs *regs, u64 slot);
extern const char __serror_window[], __serror_window_end[];

#define FSC_SEA_PARITY 0x18UL /* synchronous parity or ECC error on the access, not on a walk */

/*
 * vectors.S passes the vector slot, VBAR_EL2 offset / 0x80: four groups by
 * where the exception came from, each with sync, IRQ, FIQ and SError entries
 * in that order (Arm ARM D1.10.2, "Exception vectors").
 */
enum vector_from { FROM_EL2_SP0, FROM_EL2_SPX, FROM_LOWER_A64, FROM_LOWER_A32 };
enum vector_type { VECTOR_SYNC, VECTOR_IRQ, VECTOR_FIQ, VECTOR_SERROR };
#define VECTOR_FROM(slot) ((enum vector_from)((slot) / 4))
#define VECTOR_TYPE(slot) ((enum vector_type)((slot) % 4))
#define VECTOR_SLOT(from, type) ((from)*4 + (type))

/* The guest exit each type is, from AArch64 and AArch32 alike (guest_exit.h says why). */
static const enum guest_exit_kind guest_exit_kind[] = {
	[VECTOR_SYNC] = GUEST_EXIT_SYNC,
	[VECTOR_IRQ] = GUEST_EXIT_IRQ,
	[VECTOR_FIQ] = GUEST_EXIT_FIQ,
	[VECTOR_SERROR] = GUEST_EXIT_SERROR,
};

static const char *const slot_name[16] = {
	"EL2t sync", "EL2t IRQ", "EL2t FIQ", "EL2t SError", "EL2h sync", "EL2h IRQ", "EL2h FIQ", "EL2h SError",
	"lower sync", "lower IRQ", "lower FIQ", "lower SError", "lower32 sync", "lower32 IRQ", "lower32 FIQ",
	"lower32 SError",
};

static void __attribute__((noreturn)) core_fault(struct cpu_regs *regs, u64 slot)
{
	log_err("core exception: %s", slot_name[slot % 16]);
	log_err("ESR_EL2 0x%016lx (EC 0x%02lx)  FAR_EL2 0x%016lx", read_sysreg(esr_el2), ESR_EC(read_sysreg(esr_el2)),
		read_sysreg(far_el2));
	log_err("ELR_EL2 0x%016lx  SPSR_EL2 0x%016lx  SP 0x%016lx", regs->elr, regs->spsr,
		(u64)(uintptr_t)(regs + 1));
	for (unsigned int i = 0; i < 30; i += 2) {
		log_err("x%-2u 0x%016lx  x%-2u 0x%016lx", i, regs->x[i], i + 1, regs->x[i + 1]);
	}
	log_err("x30 0x%016lx", regs->x[30]);
	panic("unrecoverable exception in the core");
}

/* ---- synchronous traps from the host, by exception class ---------------------------- */

static void host_hvc(struct cpu_regs *regs, u64 esr)
{
	host_call(regs, (u16)ESR_IMM16(esr));
}

static void host_smc_trap(struct cpu_regs *regs, u64 esr)
{
	host_smc(regs);
}

static void host_sysreg(struct cpu_regs *regs, u64 esr)
{
	/* ID registers (HCR_EL2.TID3) are answered from the host view. */
	if (host_idreg_trap(regs, esr)) {
		return;
	}
	/* PMU registers, trapped on CPUs whose PMU cannot leave EL2 out by itself; from EL1 or EL0. */
	host_sysreg_trap(regs, esr);
}

static void host_stage2_abort(struct cpu_regs *regs, u64 esr)
{
	struct host_abort abort = { .esr = esr, .far = read_sysreg(far_el2) };

	abort.ipa = HPFAR_IPA(read_sysreg(hpfar_el2)) | (abort.far & (PAGE_SIZE - 1));
	host_abort(regs, &abort);
}

/*
 * One handler per exception class; a class with no entry is an undefined
 * instruction for the host (host_unexpected_trap). A module that traps a new
 * class from the host adds one `[EC_...] = fn` line here; a new trapped
 * system register goes into host_sysreg's chain, which dispatches EC 0x18.
 */
typedef void host_sync_handler(struct cpu_regs *regs, u64 esr);
static host_sync_handler *const host_sync_handlers[ESR_EC_COUNT] = {
	[EC_HVC64] = host_hvc,
	[EC_SMC64] = host_smc_trap,
	[EC_SYSREG] = host_sysreg,
	[EC_IABT_LOWER] = host_stage2_abort,
	[EC_DABT_LOWER] = host_stage2_abort,
};

static void host_sync(struct cpu_regs *regs)
{
	u64 esr = read_sysreg(esr_el2);
	host_sync_handler *handler = host_sync_handlers[ESR_EC(esr)];

	(handler ? handler : host_unexpected_trap)(regs, esr);
}

/* ---- traps at EL2 ---------------------------------------------------------------------- */

/*
 * A device the core accessed for the host answered with an external abort.
 * Only that: a translation or permission fault at EL2, or an abort on a
 * table walk, means the core's own tables are wrong and stays fatal.
 */
static bool device_abort_fixup(struct cpu_regs *regs)
{
	u64 esr = read_sysreg(esr_el2);
	u64 fsc = ESR_FSC(esr);

	if (ESR_EC(esr) != EC_DABT_SAME || (fsc != FSC_SEA && fsc != FSC_SEA_PARITY)) {
		return false;
	}
	return exfixup_apply(regs);
}

/* The guest's in-flight SError, taken on purpose in __take_pending_serror's window. */
static bool in_serror_window(const struct cpu_regs *regs)
{
	return regs->elr >= (u64)(uintptr_t)__serror_window && regs->elr <= (u64)(uintptr_t)__serror_window_end;
}

/* An exception the core took itself: a bug, but for the two it causes on purpose. */
static void core_trap(struct cpu_regs *regs, u64 slot)
{
	/* The core always runs on SP_EL2, so EL2t's slots never hold a device access or the SError window. */
	if (slot == VECTOR_SLOT(FROM_EL2_SPX, VECTOR_SYNC) && device_abort_fixup(regs)) {
		return;
	}
	if (slot == VECTOR_SLOT(FROM_EL2_SPX, VECTOR_SERROR) && in_serror_window(regs)) {
		return;
	}
	core_fault(regs, slot);
}

void el2_trap(struct cpu_regs *regs, u64 slot)
{
	enum vector_type type = VECTOR_TYPE(slot);
	struct percpu *pc = this_cpu();

	if (VECTOR_FROM(slot) < FROM_LOWER_A64) {
		core_trap(regs, slot);
		return;
	}
	if (pc->guest_regs) {
		if (type == VECTOR_SYNC && arch_guest_fast(pc, regs)) {
			return; /* answered: el2_exit ERETs straight back into the guest */
		}
		arch_guest_trap(regs, guest_exit_kind[type]);
	}
	/* A CPU that enters EL2 from the host while another one resets the machine waits here (cpu_power.c). */
	cpu_power_host_trap();
	/*
	 * Interrupts and SErrors are routed to the host (IMO = FMO = AMO = 0),
	 * so these cannot arrive from it; never let the host crash the core.
	 */
	if (type == VECTOR_SYNC) {
		host_sync(regs);
	}
}
