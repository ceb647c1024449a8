/*
 * C side of the EL2 vectors: decode why we trapped and hand the trap to the
 * generic module that owns it. Exceptions taken at EL2 itself are bugs in the
 * core: they print a full dump (syndrome, addresses, registers) and power the
 * machine off -- except a synchronous external abort on a device access the
 * core made on the host's behalf (exfixup.h), which resumes at its fixup.
 */
#include "arch.h"
#include "exfixup.h"
#include "host.h"
#include "log.h"
#include "percpu.h"
#include "pmu.h"
#include "sysreg.h"

void el2_trap(struct cpu_regs *regs, u64 kind);
extern const char __serror_window[], __serror_window_end[];

#define FSC_SEA_PARITY 0x18UL /* synchronous parity or ECC error on the access, not on a walk */
void arch_guest_trap(struct cpu_regs *frame, u64 kind) __attribute__((noreturn));

static const char *const kind_name[16] = {
	"EL2t sync", "EL2t IRQ", "EL2t FIQ", "EL2t SError", "EL2h sync", "EL2h IRQ", "EL2h FIQ", "EL2h SError",
	"lower sync", "lower IRQ", "lower FIQ", "lower SError", "lower32 sync", "lower32 IRQ", "lower32 FIQ",
	"lower32 SError",
};

static void __attribute__((noreturn)) core_fault(struct cpu_regs *regs, u64 kind)
{
	log_err("core exception: %s", kind_name[kind & 15]);
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

static void host_sync(struct cpu_regs *regs)
{
	u64 esr = read_sysreg(esr_el2);
	struct host_abort abort;

	switch (ESR_EC(esr)) {
	case EC_HVC64:
		host_call(regs, (u16)(esr & 0xffff));
		break;
	case EC_SMC64:
		host_smc(regs);
		break;
	case EC_SYSREG:
		/* ID registers (HCR_EL2.TID3) are answered from the host view. */
		if (host_idreg_trap(regs, esr)) {
			break;
		}
		/* PMU registers, trapped on CPUs whose PMU cannot leave EL2 out by itself; from EL1 or EL0. */
		host_sysreg_trap(regs, esr);
		break;
	case EC_DABT_LOWER:
	case EC_IABT_LOWER:
		abort.esr = esr;
		abort.far = read_sysreg(far_el2);
		abort.ipa = HPFAR_IPA(read_sysreg(hpfar_el2)) | (abort.far & (PAGE_SIZE - 1));
		host_abort(regs, &abort);
		break;
	default:
		host_unexpected_trap(regs, esr);
		break;
	}
}

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

void el2_trap(struct cpu_regs *regs, u64 kind)
{
	if (kind >= 8 && this_cpu()->guest_regs) {
		arch_guest_trap(regs, kind);
	}
	switch (kind) {
	case 8:
	case 12:
		host_sync(regs);
		return;
	case 9:
	case 10:
	case 11:
	case 13:
	case 14:
	case 15:
		/*
		 * Interrupts and SErrors are routed to the host (IMO = FMO = AMO = 0),
		 * so these cannot arrive from it; never let the host crash the core.
		 */
		return;
	case 4: /* EL2h sync: the core always runs on SP_EL2, so slot 0 (EL2t) never holds a device access */
		if (device_abort_fixup(regs)) {
			return;
		}
		core_fault(regs, kind);
	case 7:
		/* The guest's in-flight SError, taken on purpose in __take_pending_serror's window. */
		if (regs->elr >= (u64)(uintptr_t)__serror_window && regs->elr <= (u64)(uintptr_t)__serror_window_end) {
			return;
		}
		core_fault(regs, kind);
	default:
		core_fault(regs, kind);
	}
}
