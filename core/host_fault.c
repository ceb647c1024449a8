/*
 * Host stage-2 aborts (DESIGN §4), and the host's other traps. On a
 * translation fault the host touched an address its stage 2 does not map. If
 * the page is (now) the host's, a block split or merge on another CPU was in
 * its break-before-make window: return and let the host retry. Otherwise the
 * host gets a synchronous external abort at its own EL1 vector -- its
 * problem, never the core's -- and one rate-limited log line names the page,
 * its owner and the host PC.
 *
 * Any other stage-2 fault (a permission fault: an instruction fetch from an
 * execute-never device page) is refused the same way. Retrying it would only
 * bounce the host between EL1 and EL2 forever: a permission fault does not go
 * away when a break-before-make window closes, because the core never maps a
 * host page with fewer permissions during one.
 *
 * Other traps: an ID-register read (HCR_EL2.TID3) is answered from the host
 * view (idregs.c); a trap nobody handles gets an undefined instruction.
 *
 * Lock: takes pagedb_lock to read ownership consistently with the table.
 */
#include "arch.h"
#include "host.h"
#include "host_mmio.h"
#include "host_s2.h"
#include "idregs.h"
#include "inject.h"
#include "log.h"
#include "pagedb.h"

static struct log_limiter abort_log;
static struct log_limiter trap_log;

static const char *access_kind(u64 esr)
{
	if (((esr >> ESR_EC_SHIFT) & 0x3f) == EC_IABT_LOWER) {
		return "instruction fetch";
	}
	return (esr & ESR_WNR) ? "write" : "read";
}

/* Under pagedb_lock: true if the host owns or borrows the page, or it is a mapped device page. */
static bool host_may_access(u64 ipa, u16 *owner)
{
	struct page_info *page = pagedb_lookup(ipa);
	u64 pa;
	unsigned int flags, level;

	if (page) {
		*owner = page->owner;
		return page->owner == OWNER_HOST ||
		       (page->state == PAGE_SHARED_OWNED && page->peer == OWNER_HOST);
	}
	*owner = OWNER_NONE;
	return pgt_lookup(host_s2(), ipa, &pa, &flags, &level);
}

/* Not a translation fault: no retry, and no IPA (HPFAR_EL2 may be UNKNOWN), so name the host's address. */
static void refuse_other_fault(struct cpu_regs *regs, const struct host_abort *abort)
{
	const char *kind = FSC_TYPE(abort->esr) == FSC_TYPE_PERMISSION ? "permission fault" : "fault";

	log_ratelimited(&abort_log, LOG_WARN,
			"host %s at VA 0x%lx, host PC 0x%lx: stage-2 %s (FSC 0x%lx), refused, external abort injected",
			access_kind(abort->esr), abort->far, regs->elr, kind, ESR_FSC(abort->esr));
	arch_inject_el1_sync(regs, sea_syndrome(abort->esr, regs->spsr), abort->far);
}

void host_abort(struct cpu_regs *regs, const struct host_abort *abort)
{
	char name[16];
	const char *who;
	u16 owner;
	bool retry;

	if (FSC_TYPE(abort->esr) != FSC_TYPE_TRANSLATION) {
		refuse_other_fault(regs, abort);
		return;
	}
	spin_lock(&pagedb_lock);
	retry = host_may_access(abort->ipa, &owner);
	spin_unlock(&pagedb_lock);
	if (retry) {
		return;
	}
	if (host_mmio_is_emulated(abort->ipa) && ESR_EC(abort->esr) == EC_DABT_LOWER &&
	    host_mmio_emulate(regs, abort)) {
		return;
	}
	who = pagedb_lookup(abort->ipa) ? owner_name(owner, name, sizeof(name)) : "none: not RAM";
	log_ratelimited(&abort_log, LOG_WARN,
			"host %s of PA 0x%lx (page 0x%lx, owner %s) at host PC 0x%lx: refused, external abort injected",
			access_kind(abort->esr), abort->ipa, ALIGN_DOWN(abort->ipa, PAGE_SIZE), who, regs->elr);
	arch_inject_el1_sync(regs, sea_syndrome(abort->esr, regs->spsr), abort->far);
}

/* Traps the host meets by using what its ID registers do not advertise (idregs.c). */
static const char *hidden_feature(u64 esr)
{
	switch (ESR_EC(esr)) {
	case EC_SVE:
		return "SVE";
	case EC_SME:
		return "SME";
	case EC_SYSREG:
		return "a read-only or trapped system register";
	default:
		return NULL;
	}
}

void host_unexpected_trap(struct cpu_regs *regs, u64 esr)
{
	const char *hidden = hidden_feature(esr);

	if (hidden) {
		log_ratelimited(&trap_log, LOG_WARN,
				"host used %s (ESR_EL2 0x%lx) at PC 0x%lx: not the host's, undefined instruction",
				hidden, esr, regs->elr);
	} else {
		log_ratelimited(&trap_log, LOG_WARN,
				"unexpected trap from host (ESR_EL2 0x%lx) at PC 0x%lx: undefined instruction injected",
				esr, regs->elr);
	}
	arch_inject_el1_sync(regs, undef_syndrome(), 0);
}

bool host_idreg_trap(struct cpu_regs *regs, u64 esr)
{
	switch (idreg_trap(IDREG_HOST, esr, regs)) {
	case IDREG_READ:
		return true;
	case IDREG_WRITE:
		/* ID registers are read-only: a write is UNDEFINED, as on the CPU itself. */
		host_unexpected_trap(regs, esr);
		return true;
	default:
		return false;
	}
}
