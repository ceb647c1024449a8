/*
 * Guest accesses the core answers without effect or refuses (see
 * guest_refuse.h), and the per-VM record that logs each kind once.
 *
 * Whoever runs a guest that misbehaves must be able to tell why from the
 * core's log, but a guest must not be able to flood it: a kind (a register
 * encoding, a function ID, an exception class) is logged the first time a VM
 * hits it, and VM_REFUSALS_LOGGED kinds at most per VM (then one line says
 * that further kinds go unlogged), through a per-VM rate limiter that this
 * bound keeps below its burst: at most VM_REFUSALS_LOGGED + 1 lines per VM. Lines name the VM, the
 * vCPU, the register or call and the outcome; a value a protected guest
 * wrote, or its syndrome beyond the exception class, never appears.
 *
 * Called from the exit handlers (guest_exit.c's table, guest_call.c) of the CPU that has
 * the vCPU loaded. Lock: vm->lock guards the VM's record (vCPUs of one VM may
 * run on several CPUs); it is held for the lookup only, never while logging.
 */
#include "guest_refuse.h"

#include "arch.h"
#include "esr.h"
#include "fmt.h"
#include "guest_debug.h"
#include "guest_exit.h"
#include "guest_pmu.h"
#include "idregs.h"
#include "inject.h"
#include "log.h"
#include "psci.h"
#include "vcpu.h"
#include "vgic.h"

#define SYSREG_NAME_MAX 24

enum refusal_kind { REFUSAL_SYSREG = 1, REFUSAL_CALL, REFUSAL_SMC, REFUSAL_TRAP };

/* True the first time this VM is refused (kind, id): the caller logs it then. */
static bool first_refusal(struct vcpu *vcpu, enum refusal_kind kind, u64 id)
{
	struct vm *vm = vcpu->vm;
	struct refusal_record *rec = &vm->refusals;
	u64 key = ((u64)kind << 32) | (id & 0xffffffffUL);
	bool first = true, now_full = false;
	u32 nr = __atomic_load_n(&rec->nr, __ATOMIC_ACQUIRE);

	/*
	 * A kind already recorded (a guest that repeats one refused call in a loop) needs no lock: keys are
	 * written once, before the count that publishes them (release below), and never change.
	 */
	for (unsigned int i = 0; i < nr; i++) {
		if (rec->key[i] == key) {
			return false;
		}
	}
	spin_lock(&vm->lock);
	for (unsigned int i = 0; i < rec->nr; i++) {
		if (rec->key[i] == key) {
			first = false;
			break;
		}
	}
	if (first && rec->nr < VM_REFUSALS_LOGGED) {
		rec->key[rec->nr] = key;
		__atomic_store_n(&rec->nr, rec->nr + 1, __ATOMIC_RELEASE);
	} else if (first) {
		first = false;
		now_full = !rec->full;
		rec->full = true;
	}
	spin_unlock(&vm->lock);
	if (now_full) {
		log_ratelimited(&rec->limiter, LOG_INFO,
				"vm%u: %u kinds of refused guest access logged; further kinds are not", vm->slot,
				VM_REFUSALS_LOGGED);
	}
	return first;
}

/* ---- system registers (EC 0x18) ----------------------------------------------------- */

struct sysreg_name {
	u32 key;
	const char *name;
};

#define R(op0, op1, crn, crm, op2, name) { SYSREG_KEY(op0, op1, crn, crm, op2), name }

/* Registers and instructions guests are known to reach through the traps the core sets. */
static const struct sysreg_name sysreg_names[] = {
	R(1, 0, 7, 6, 2, "DC ISW"),		/* set/way maintenance: HCR_EL2.TSW */
	R(1, 0, 7, 10, 2, "DC CSW"),
	R(1, 0, 7, 14, 2, "DC CISW"),
	R(2, 0, 0, 2, 0, "MDCCINT_EL1"),	/* debug: MDCR_EL2.TDA/TDOSA/TDRA */
	R(2, 0, 0, 2, 2, "MDSCR_EL1"),
	R(2, 0, 1, 0, 0, "MDRAR_EL1"),
	R(2, 0, 1, 0, 4, "OSLAR_EL1"),
	R(2, 0, 1, 1, 4, "OSLSR_EL1"),
	R(2, 0, 1, 3, 4, "OSDLR_EL1"),
	R(2, 0, 1, 4, 4, "DBGPRCR_EL1"),
	R(2, 0, 7, 8, 6, "DBGCLAIMSET_EL1"),
	R(2, 0, 7, 9, 6, "DBGCLAIMCLR_EL1"),
	R(2, 0, 7, 14, 6, "DBGAUTHSTATUS_EL1"),
	R(2, 3, 0, 1, 0, "MDCCSR_EL0"),
	R(3, 0, 1, 0, 1, "ACTLR_EL1"),		/* HCR_EL2.TACR */
	R(3, 0, 2, 1, 0, "APIAKEYLO_EL1"),	/* pointer-authentication keys: HCR_EL2.APK = 0 */
	R(3, 0, 2, 1, 1, "APIAKEYHI_EL1"),
	R(3, 0, 2, 1, 2, "APIBKEYLO_EL1"),
	R(3, 0, 2, 1, 3, "APIBKEYHI_EL1"),
	R(3, 0, 2, 2, 0, "APDAKEYLO_EL1"),
	R(3, 0, 2, 2, 1, "APDAKEYHI_EL1"),
	R(3, 0, 2, 2, 2, "APDBKEYLO_EL1"),
	R(3, 0, 2, 2, 3, "APDBKEYHI_EL1"),
	R(3, 0, 2, 3, 0, "APGAKEYLO_EL1"),
	R(3, 0, 2, 3, 1, "APGAKEYHI_EL1"),
	R(3, 0, 5, 3, 0, "ERRIDR_EL1"),		/* RAS error records: HCR_EL2.TERR */
	R(3, 0, 5, 3, 1, "ERRSELR_EL1"),
	R(3, 0, 5, 4, 0, "ERXFR_EL1"),
	R(3, 0, 5, 4, 1, "ERXCTLR_EL1"),
	R(3, 0, 5, 4, 2, "ERXSTATUS_EL1"),
	R(3, 0, 5, 4, 3, "ERXADDR_EL1"),
	R(3, 0, 5, 5, 0, "ERXMISC0_EL1"),
	R(3, 0, 5, 5, 1, "ERXMISC1_EL1"),
	R(3, 0, 9, 14, 1, "PMINTENSET_EL1"),	/* PMU: MDCR_EL2.TPM/TPMCR */
	R(3, 0, 9, 14, 2, "PMINTENCLR_EL1"),
	R(3, 0, 10, 4, 0, "LORSA_EL1"),		/* LORegions: HCR_EL2.TLOR */
	R(3, 0, 10, 4, 1, "LOREA_EL1"),
	R(3, 0, 10, 4, 2, "LORN_EL1"),
	R(3, 0, 10, 4, 3, "LORC_EL1"),
	R(3, 0, 10, 4, 7, "LORID_EL1"),
	R(3, 0, 13, 0, 7, "SCXTNUM_EL1"),	/* HCR_EL2.EnSCXT = 0 */
	R(3, 3, 9, 12, 0, "PMCR_EL0"),
	R(3, 3, 9, 12, 1, "PMCNTENSET_EL0"),
	R(3, 3, 9, 12, 2, "PMCNTENCLR_EL0"),
	R(3, 3, 9, 12, 3, "PMOVSCLR_EL0"),
	R(3, 3, 9, 12, 4, "PMSWINC_EL0"),
	R(3, 3, 9, 12, 5, "PMSELR_EL0"),
	R(3, 3, 9, 12, 6, "PMCEID0_EL0"),
	R(3, 3, 9, 12, 7, "PMCEID1_EL0"),
	R(3, 3, 9, 13, 0, "PMCCNTR_EL0"),
	R(3, 3, 9, 13, 1, "PMXEVTYPER_EL0"),
	R(3, 3, 9, 13, 2, "PMXEVCNTR_EL0"),
	R(3, 3, 9, 14, 0, "PMUSERENR_EL0"),
	R(3, 3, 9, 14, 3, "PMOVSSET_EL0"),
	R(3, 3, 13, 0, 7, "SCXTNUM_EL0"),
	R(3, 3, 14, 2, 0, "CNTP_TVAL_EL0"),	/* EL1 physical timer, the host's: CNTHCTL_EL2.EL1PCEN = 0 */
	R(3, 3, 14, 2, 1, "CNTP_CTL_EL0"),
	R(3, 3, 14, 2, 2, "CNTP_CVAL_EL0"),
	R(3, 3, 14, 15, 7, "PMCCFILTR_EL0"),
};

/* The register's name, or its encoding alone ("S3_3_C9_C12_0") when it has none in the tables. */
static const char *sysreg_name(u64 esr, char *buf, size_t size)
{
	u32 key = (u32)ESR_SYSREG_KEY(esr);
	unsigned int op0 = (unsigned int)ESR_SYSREG_OP0(esr), crm = (unsigned int)ESR_SYSREG_CRM(esr);
	unsigned int op2 = (unsigned int)ESR_SYSREG_OP2(esr);
	static const char *const dbg[4] = { "DBGBVR", "DBGBCR", "DBGWVR", "DBGWCR" };

	for (unsigned int i = 0; i < ARRAY_SIZE(sysreg_names); i++) {
		if (sysreg_names[i].key == key) {
			return sysreg_names[i].name;
		}
	}
	if (op0 == 3 && !ESR_SYSREG_OP1(esr) && !ESR_SYSREG_CRN(esr) && idreg_name(IDREG_INDEX(crm, op2))) {
		return idreg_name(IDREG_INDEX(crm, op2));
	}
	/* DBG{B,W}{V,C}R<n>_EL1: op0 2, op1 0, CRn 0, CRm n, op2 4..7 */
	if (op0 == 2 && !ESR_SYSREG_OP1(esr) && !ESR_SYSREG_CRN(esr) && op2 >= 4) {
		fmt_format(buf, size, "%s%u_EL1", dbg[op2 - 4], crm);
		return buf;
	}
	return NULL;
}

u32 guest_sysreg_trap(struct vcpu *vcpu, const struct guest_exit *e)
{
	u64 esr = e->esr;
	char encoding[SYSREG_NAME_MAX], buf[SYSREG_NAME_MAX];
	enum idreg_trap_result id =
		idreg_trap(vm_is_protected(vcpu->vm) ? IDREG_GUEST : IDREG_GUEST_NORMAL, esr, &vcpu->ctx.regs);
	bool read = esr & ESR_SYSREG_READ;
	const char *name, *outcome;

	if (vgic_sysreg_trap(vcpu, esr)) {
		/* ICC_SGI1R_EL1 and friends: the vGIC's. An SGI to another vCPU reaches it
		 * at its next entry: the host must kick it if it runs on another CPU. */
		return vgic_kick_exit(vcpu);
	}
	if (guest_pmu_trap(vcpu, esr)) {
		return MOAT_EXIT_NONE; /* a normal VM's own PMU (guest_pmu.c); protected VMs: RAZ/WI below */
	}
	if (guest_debug_trap(vcpu, esr)) {
		return MOAT_EXIT_NONE; /* a normal VM's own breakpoints, watchpoints, MDSCR, OS lock (guest_debug.c) */
	}
	if (id == IDREG_READ) {
		return MOAT_EXIT_NONE; /* answered from the guest view: not a refusal */
	}
	if (id == IDREG_WRITE) {
		/* ID registers are read-only: the write is UNDEFINED, as on the CPU itself. */
		arch_inject_el1_sync(&vcpu->ctx.regs, undef_syndrome(), 0);
		outcome = "undefined instruction injected";
	} else {
		unsigned int rt = (unsigned int)ESR_SYSREG_RT(esr);

		if (read && rt != 31) {
			vcpu->ctx.regs.x[rt] = 0;
		}
		regs_skip_insn(&vcpu->ctx.regs);
		outcome = ESR_SYSREG_OP0(esr) == 1 ? "ignored" : "read as zero, writes ignored (RAZ/WI)";
	}
	if (first_refusal(vcpu, REFUSAL_SYSREG, ESR_SYSREG_KEY(esr))) {
		name = sysreg_name(esr, buf, sizeof(buf));
		fmt_format(encoding, sizeof(encoding), "S%lu_%lu_C%lu_C%lu_%lu", ESR_SYSREG_OP0(esr),
			   ESR_SYSREG_OP1(esr), ESR_SYSREG_CRN(esr), ESR_SYSREG_CRM(esr), ESR_SYSREG_OP2(esr));
		log_ratelimited(&vcpu->vm->refusals.limiter, LOG_INFO, "vm%u vcpu%u: %s %s (%s): %s", vcpu->vm->slot,
				vcpu->index, ESR_SYSREG_OP0(esr) == 1 ? "SYS" : (read ? "MRS" : "MSR"),
				name ? name : "register", encoding, outcome);
	}
	return MOAT_EXIT_NONE;
}

/* ---- SMC and other traps ------------------------------------------------------------- */

u32 guest_smc(struct vcpu *vcpu, const struct guest_exit *e)
{
	u64 fid = vcpu->ctx.regs.x[0];

	vcpu->ctx.regs.x[0] = (u64)(s64)PSCI_RET_NOT_SUPPORTED;
	regs_skip_insn(&vcpu->ctx.regs);
	if (first_refusal(vcpu, REFUSAL_SMC, fid)) {
		log_ratelimited(&vcpu->vm->refusals.limiter, LOG_INFO,
				"vm%u vcpu%u: SMC function 0x%lx: NOT_SUPPORTED (guests call the core with HVC; "
				"no SMC reaches firmware)",
				vcpu->vm->slot, vcpu->index, fid);
	}
	return MOAT_EXIT_NONE;
}

static const char *trap_name(u64 ec)
{
	switch (ec) {
	case EC_UNKNOWN:
		return "unknown instruction";
	case EC_PAUTH:
		return "pointer authentication instruction, hidden from guests";
	case EC_SVE:
		return "SVE instruction or register, hidden from guests";
	case EC_ERET_PAUTH:
		return "ERETAA/ERETAB, pointer authentication hidden from guests";
	case EC_SME:
		return "SME instruction or register, hidden from guests";
	default:
		return "unhandled trap";
	}
}

u32 guest_undef_trap(struct vcpu *vcpu, const struct guest_exit *e)
{
	u64 esr = e->esr;
	u64 ec = ESR_EC(esr);
	char syndrome[32] = "";

	arch_inject_el1_sync(&vcpu->ctx.regs, undef_syndrome(), 0);
	if (first_refusal(vcpu, REFUSAL_TRAP, ec)) {
		/* A protected guest's syndrome is its own business: beyond the class, name it only for normal VMs. */
		if (!vm_is_protected(vcpu->vm)) {
			fmt_format(syndrome, sizeof(syndrome), ", ESR 0x%lx", esr);
		}
		log_ratelimited(&vcpu->vm->refusals.limiter, LOG_INFO,
				"vm%u vcpu%u: %s (EC 0x%lx%s): undefined instruction injected", vcpu->vm->slot,
				vcpu->index, trap_name(ec), ec, syndrome);
	}
	return MOAT_EXIT_NONE;
}

/* ---- PSCI and SMCCC calls ------------------------------------------------------------ */

static const char *call_name(u64 fid)
{
	switch (fid) {
	case PSCI_CPU_ON_32:
	case PSCI_CPU_ON_64:
		return "PSCI CPU_ON";
	case PSCI_CPU_OFF:
		return "PSCI CPU_OFF";
	default:
		return "function";
	}
}

void guest_call_refused(struct vcpu *vcpu, u64 fid, long ret)
{
	/* This vCPU repeating the ID it was last refused (a guest's null-call loop): recorded already, nothing to do. */
	if (vcpu->refused_call == fid + 1) {
		return;
	}
	vcpu->refused_call = fid + 1;
	if (first_refusal(vcpu, REFUSAL_CALL, fid)) {
		log_ratelimited(&vcpu->vm->refusals.limiter, LOG_INFO, "vm%u vcpu%u: HVC %s 0x%lx: %s", vcpu->vm->slot,
				vcpu->index, call_name(fid), fid, ret == PSCI_RET_DENIED ? "DENIED" : "NOT_SUPPORTED");
	}
}
