/*
 * Self-hosted debug of normal VMs (issue 11, Deliver 8; docs/architecture.md
 * "Normal VMs and self-hosted debug"): breakpoints, watchpoints, single step and the
 * OS lock, so that gdb-style tools work inside them. Owns each normal vCPU's
 * breakpoint and watchpoint registers and OS lock while they are not in the
 * CPU, and the host's while a normal vCPU's are.
 *
 * How: a switch, as for the PMU (guest_pmu.c). Every guest access to a debug
 * register traps (MDCR_EL2.TDA, TDOSA, TDRA stay set in guest context, for
 * normal VMs too). A normal vCPU's first access saves the host's DBGBVR/BCR,
 * DBGWVR/WCR and OS lock and loads the vCPU's; from then on every load/put of
 * that vCPU switches them. A guest that never touches debug costs nothing at
 * load/put beyond one test, and the host's registers stay in the CPU while it
 * runs: harmless, since they match only while MDSCR_EL1.MDE (breakpoints,
 * watchpoints) or SS (step) is set, and MDSCR_EL1 is the guest's (switched
 * with the EL1 state, arch layer), which the guest can set only through a
 * trapped write, i.e. after its own registers are in.
 *
 * Every access stays trapped even once the registers are the guest's, so that
 * each value a guest writes passes through the masks below (the CPU would
 * take the raw value):
 *   - DBGBCR/DBGWCR.HMC and SSC are cleared. With HMC = 0 and SSC = 0 a
 *     breakpoint or watchpoint can match only at EL1 and EL0 (PMC/PAC say
 *     which); HMC = 1 would let it match at EL2, i.e. in the core, between a
 *     guest exit and the put that takes the guest's values out. Today such a
 *     match raises no exception at EL2 (the debug target is EL1: MDCR_EL2.TDE
 *     = 0, HCR_EL2.TGE = 0, so MDSCR_EL1.KDE does not reach EL2, and the core
 *     runs with PSTATE.D set), but it is a debug event all the same -- an
 *     external debugger's halt, or an exception should the core's debug
 *     configuration ever change -- about where the core executes or what it
 *     touches. SSC selects the security state; guests have only Non-secure.
 *   - DBGBCR.BT[3] is cleared: the VMID and CONTEXTIDR_EL2 comparisons exist
 *     only for software at EL2, which a guest is shown it does not have.
 *   - MDSCR_EL1 keeps SS, TDCC, KDE and MDE: the rest are the external
 *     debugger's or read-only.
 * Debug exceptions of the guest are taken at its own EL1: MDCR_EL2.TDE = 0 in
 * guest context (the core never sets it), so breakpoint, watchpoint and
 * software step exceptions never reach EL2. The OS lock is the CPU's own:
 * while the guest's registers are in, the CPU's OSLK is the guest's (it
 * resets locked, as the CPU's does); a guest that locks it stops its own
 * debug exceptions, as on the machine. The OS double lock is not offered
 * (DoubleLock 0xf: OSDLR_EL1 RAZ/WI, guest_refuse.c), nor are the debug
 * communication channel, MDRAR_EL1 and the claim tags (RAZ/WI).
 *
 * The state lives here, outside struct vcpu (whose 1.5 KiB budget is the
 * protected vCPU's), one slot per (VM slot, vCPU index); vcpu->dbg_used,
 * false in a new vCPU, says the slot is this vCPU's (reset at first use).
 *
 * Callers: guest_sysreg_trap (core/guest_refuse.c) for traps of normal VMs;
 * arch_vcpu_load/put. No lock: a slot is touched only by the CPU that has the
 * vCPU loaded, host_saved[cpu] only by its CPU between load and put.
 */
#include "guest_debug.h"

#include "arch.h"
#include "config.h"
#include "esr.h"
#include "idregs.h"
#include "vcpu.h"
#include "vm.h"

#define OSLSR_OSLK (1UL << 1)
/* OSLSR_EL1 as a guest reads it: OSLM = 0b10 (bits 3 and 0: the OS lock is implemented) and OSLK. */
#define OSLSR_GUEST_MASK ((1UL << 3) | OSLSR_OSLK | (1UL << 0))

struct dbg_state {
	u64 bvr[DBG_MAX_BPS], wvr[DBG_MAX_BPS];
	u32 bcr[DBG_MAX_BPS], wcr[DBG_MAX_BPS];
	bool oslk; /* the OS lock is locked */
	bool live; /* this vCPU's registers are in the CPU (between a switch-in and put) */
};

static struct dbg_state vcpu_dbg[MAX_VMS][MAX_VCPUS];
static struct dbg_state host_saved[MAX_CPUS];

static struct dbg_state *state_of(const struct vcpu *vcpu)
{
	return &vcpu_dbg[vcpu->vm->slot % MAX_VMS][vcpu->index % MAX_VCPUS];
}

/* How many registers the CPU has in a bank: ID_AA64DFR0_EL1.BRPs (bits 15:12) or WRPs (23:20), plus one. */
static unsigned int bank_size(unsigned int shift)
{
	unsigned int n = (unsigned int)((idreg_value(IDREG_CPU, ID_AA64DFR0) >> shift) & 0xf) + 1;

	return n < DBG_MAX_BPS ? n : DBG_MAX_BPS;
}

static unsigned int nr_brps(void)
{
	return bank_size(12);
}

static unsigned int nr_wrps(void)
{
	return bank_size(20);
}

static void save(struct dbg_state *s)
{
	unsigned int nb = nr_brps(), nw = nr_wrps();

	for (unsigned int n = 0; n < nb; n++) {
		s->bvr[n] = arch_dbg_read(DBG_BVR, n);
		s->bcr[n] = (u32)arch_dbg_read(DBG_BCR, n);
	}
	for (unsigned int n = 0; n < nw; n++) {
		s->wvr[n] = arch_dbg_read(DBG_WVR, n);
		s->wcr[n] = (u32)arch_dbg_read(DBG_WCR, n);
	}
	s->oslk = (arch_dbg_read(DBG_OSLSR, 0) & OSLSR_OSLK) != 0;
}

/*
 * The order does not matter for the core: at EL2 nothing here can match (the
 * debug target is EL1). The ERET into the guest, or the ISB at the end of
 * arch_vcpu_load/put, makes the new values effective.
 */
static void restore(const struct dbg_state *s)
{
	unsigned int nb = nr_brps(), nw = nr_wrps();

	for (unsigned int n = 0; n < nb; n++) {
		arch_dbg_write(DBG_BVR, n, s->bvr[n]);
		arch_dbg_write(DBG_BCR, n, s->bcr[n]);
	}
	for (unsigned int n = 0; n < nw; n++) {
		arch_dbg_write(DBG_WVR, n, s->wvr[n]);
		arch_dbg_write(DBG_WCR, n, s->wcr[n]);
	}
	arch_dbg_write(DBG_OSLAR, 0, s->oslk ? 1 : 0);
}

static void switch_in(struct vcpu *vcpu)
{
	save(&host_saved[arch_cpu_index() % MAX_CPUS]);
	restore(state_of(vcpu));
	state_of(vcpu)->live = true;
}

void guest_debug_load(struct vcpu *vcpu)
{
	if (vcpu->dbg_used && !vm_is_protected(vcpu->vm)) {
		switch_in(vcpu);
	}
}

void guest_debug_put(struct vcpu *vcpu)
{
	struct dbg_state *s;

	if (!vcpu->dbg_used || vm_is_protected(vcpu->vm)) {
		return; /* first: the common case costs one load and a branch */
	}
	s = state_of(vcpu);
	if (!s->live) {
		return;
	}
	save(s);
	s->live = false;
	restore(&host_saved[arch_cpu_index() % MAX_CPUS]);
}

/*
 * Which register of the ones a normal guest gets, and its index in a bank:
 * DBG{B,W}{V,C}R<n>_EL1 (op0 2, op1 0, CRn 0, CRm n, op2 4..7) for the n the
 * CPU has, MDSCR_EL1 (2, 0, 0, 2, 2), OSLAR_EL1 (2, 0, 1, 0, 4) written and
 * OSLSR_EL1 (2, 0, 1, 1, 4) read. false for everything else: the other debug
 * registers stay RAZ/WI, and a bank register the CPU lacks too.
 */
static bool decode(u64 esr, enum dbg_reg *reg, unsigned int *n)
{
	static const enum dbg_reg banks[4] = { DBG_BVR, DBG_BCR, DBG_WVR, DBG_WCR };
	unsigned int crn = (unsigned int)ESR_SYSREG_CRN(esr), crm = (unsigned int)ESR_SYSREG_CRM(esr);
	unsigned int op2 = (unsigned int)ESR_SYSREG_OP2(esr);
	bool read = (esr & ESR_SYSREG_READ) != 0;

	if (ESR_SYSREG_OP0(esr) != 2 || ESR_SYSREG_OP1(esr) != 0) {
		return false;
	}
	*n = crm;
	if (crn == 0 && op2 >= 4) {
		*reg = banks[op2 - 4];
		return crm < (*reg == DBG_BVR || *reg == DBG_BCR ? nr_brps() : nr_wrps());
	}
	if (crn == 0 && crm == 2 && op2 == 2) {
		*reg = DBG_MDSCR;
		return true;
	}
	if (crn == 1 && crm == 0 && op2 == 4 && !read) {
		*reg = DBG_OSLAR;
		return true;
	}
	if (crn == 1 && crm == 1 && op2 == 4 && read) {
		*reg = DBG_OSLSR;
		return true;
	}
	return false;
}

static u64 guest_value(enum dbg_reg reg, u64 v)
{
	switch (reg) {
	case DBG_BCR:
		return v & DBGBCR_GUEST_MASK;
	case DBG_WCR:
		return v & DBGWCR_GUEST_MASK;
	case DBG_MDSCR:
		return v & MDSCR_GUEST_MASK;
	case DBG_OSLAR:
		return v & 1; /* OSLK */
	case DBG_OSLSR:
		return v & OSLSR_GUEST_MASK;
	default:
		return v; /* addresses: the CPU ignores or sign-extends the bits it has no use for */
	}
}

bool guest_debug_trap(struct vcpu *vcpu, u64 esr)
{
	struct dbg_state *s = state_of(vcpu);
	struct cpu_regs *regs = &vcpu->ctx.regs;
	unsigned int rt = (unsigned int)ESR_SYSREG_RT(esr), n;
	enum dbg_reg reg;

	if (vm_is_protected(vcpu->vm) || !idregs_have(IDREG_CPU, FEAT_DEBUG) || !decode(esr, &reg, &n)) {
		return false;
	}
	if (!vcpu->dbg_used) {
		/* First debug access of this vCPU: its slot may hold a previous VM's values. The OS lock resets locked. */
		*s = (struct dbg_state){ .oslk = true };
		vcpu->dbg_used = true;
	}
	if (!s->live) {
		switch_in(vcpu);
	}
	if (esr & ESR_SYSREG_READ) {
		if (rt != 31) {
			regs->x[rt] = guest_value(reg, arch_dbg_read(reg, n));
		}
	} else {
		arch_dbg_write(reg, n, guest_value(reg, rt == 31 ? 0 : regs->x[rt]));
	}
	regs_skip_insn(regs); /* MSR/MRS are always 32-bit instructions */
	return true;
}
