/*
 * The PMU of normal VMs (issue 11, Deliver 8; docs/architecture.md "Normal
 * VMs and the PMU"). Owns each normal vCPU's PMU registers while they are
 * not in the CPU, and the host's while a normal vCPU's are.
 *
 * How: a switch, not an emulation. A normal vCPU's first PMU access (all of
 * them trap: MDCR_EL2.TPM/TPMCR stay set in guest context) saves the host's
 * PMU registers and loads the vCPU's; from then on every load/put of that
 * vCPU switches them. The real counters then count the guest's cycles and
 * events at its EL1/EL0, and the host's counters neither count the guest
 * nor see its values. Emulating the counters in memory could not count
 * anything. A guest that never touches the PMU costs nothing, and the host
 * keeps counting it as before (its event filters, not the core, decide).
 * Each trapped access is replayed at EL2 by the host's PMU emulation
 * (core/host_pmu.c, pmu_emulate), which clears the EL2 filter bit (NSH) of
 * every event-type write, so a guest cannot count the core.
 *
 * Kept in memory, the CPU holding a derived value while the guest runs:
 * PMINTEN. The CPU gets PMINTEN & ~PMOVS -- only counters whose overflow
 * would be news -- so the physical overflow IRQ (PPI 23, which sits in the
 * host's redistributor and which a Linux host with a PMU driver enables)
 * fires once per new guest overflow, exits to EL2 (HCR_EL2.IMO) and is
 * masked at the source right there: the overflowed counters leave the
 * CPU's PMINTEN, so the physical line drops and the host, which owns that
 * INTID, never takes an interrupt of the guest's counters. The guest's own
 * line is computed from its state instead (guest_pmu_irq_level: PMCR.E and
 * PMOVS & PMINTEN, the architecture's condition) and drives its virtual
 * PPI 23 through the vGIC, level-sensitive, as the virtual timer's PPI 27.
 * Why not PMINTEN = 0 in the CPU and polling: an overflow while the guest
 * spins without trapping would wait for an unrelated exit. Why not the
 * guest's PMINTEN as it is: a set overflow flag would hold the physical
 * line high and re-exit at once. Where the host left PPI 23 disabled, the
 * line is still right at the next exit: it is computed on every exit
 * (guest_pmu_exit), after every trapped PMU access and at put.
 *
 * PMUSERENR_EL0 is the guest's in the CPU while its PMU is loaded: the
 * architecture checks it before MDCR_EL2.TPM, so a guest EL0 access it
 * forbids traps to the guest's own EL1, and one it allows traps here (TPM
 * stays set) and is replayed like an EL1 access. Guest EL1 writes of it
 * trap (TPM) and land in memory and in the CPU. At put it is 0 again (the
 * arch layer then gives the host its own back).
 *
 * The state lives here, outside struct vcpu (whose 1.5 KiB budget is the
 * protected vCPU's), one slot per (VM slot, vCPU index); vcpu->pmu_used,
 * false in a new vCPU, says the slot is this vCPU's (zeroed at first use).
 *
 * Callers: guest_sysreg_trap (core/guest_refuse.c) for traps of normal VMs;
 * guest_exit_handle (core/guest_exit.c) on every exit; arch_vcpu_load/put.
 * No lock: a slot is touched only by the CPU that has the vCPU loaded,
 * host_saved[cpu] only by its CPU between load and put (the vGIC takes its
 * own lock for the line).
 */
#include "arch.h"
#include "config.h"
#include "esr.h"
#include "guest_pmu.h"
#include "inject.h"
#include "pmu.h"
#include "vcpu.h"
#include "vgic.h"
#include "vm.h"

#define PMU_EV_MAX 31U
/* PMCR_EL0 bits a guest may set: E, P, C, D, X, DP, LC. LP (PMUv3p5) and up are beyond the PMUv3p4 it is shown. */
#define PMCR_GUEST_MASK 0x7fUL
#define PMU_ALL_COUNTERS 0xffffffffUL /* PMCNTEN/PMOVS/PMINTEN: event counters 0..30 and the cycle counter (31) */
#define PMCR_E 1UL

struct pmu_state {
	u64 pmcr, pmselr, pmcnten, pmovs, pminten, pmuserenr, pmccfiltr, pmccntr;
	u64 evtyper[PMU_EV_MAX], evcntr[PMU_EV_MAX];
	u64 hw_inten; /* PMINTENSET in the CPU while live: guest_pmu_hw_inten() when last set */
	bool live;    /* this vCPU's registers are in the CPU (between a switch-in and put) */
	bool line;    /* the level last given to the vGIC for its PPI 23 */
};

static struct pmu_state vcpu_pmu[MAX_VMS][MAX_VCPUS];
static struct pmu_state host_saved[MAX_CPUS];

static struct pmu_state *state_of(const struct vcpu *vcpu)
{
	return &vcpu_pmu[vcpu->vm->slot % MAX_VMS][vcpu->index % MAX_VCPUS];
}

/* Counters stopped first, so neither side's counts move while the other's are written. */
static void save(struct pmu_state *s)
{
	unsigned int n_ctrs = pmu_counters();

	s->pmcnten = arch_pmu_read(PMU_pmcntenset_el0);
	arch_pmu_write(PMU_pmcntenclr_el0, PMU_ALL_COUNTERS);
	arch_isb();
	s->pmcr = arch_pmu_read(PMU_pmcr_el0);
	s->pmselr = arch_pmu_read(PMU_pmselr_el0);
	s->pmovs = arch_pmu_read(PMU_pmovsset_el0);
	s->pmccfiltr = arch_pmu_read(PMU_pmccfiltr_el0);
	s->pmccntr = arch_pmu_read(PMU_pmccntr_el0);
	for (unsigned int n = 0; n < n_ctrs && n < PMU_EV_MAX; n++) {
		s->evtyper[n] = pmu_indexed_access(PMU_pmxevtyper_el0, n, true, 0);
		s->evcntr[n] = pmu_indexed_access(PMU_pmxevcntr_el0, n, true, 0);
	}
}

/* Enables last: the counters start only once all their values are in. */
static void restore(const struct pmu_state *s)
{
	unsigned int n_ctrs = pmu_counters();

	for (unsigned int n = 0; n < n_ctrs && n < PMU_EV_MAX; n++) {
		pmu_indexed_access(PMU_pmxevtyper_el0, n, false, s->evtyper[n]);
		pmu_indexed_access(PMU_pmxevcntr_el0, n, false, s->evcntr[n]);
	}
	arch_pmu_write(PMU_pmccfiltr_el0, s->pmccfiltr);
	arch_pmu_write(PMU_pmccntr_el0, s->pmccntr);
	arch_pmu_write(PMU_pmovsclr_el0, PMU_ALL_COUNTERS);
	arch_pmu_write(PMU_pmovsset_el0, s->pmovs);
	arch_pmu_write(PMU_pmselr_el0, s->pmselr);
	arch_pmu_write(PMU_pmcr_el0, s->pmcr);
	arch_isb();
	arch_pmu_write(PMU_pmcntenset_el0, s->pmcnten);
}

bool guest_pmu_irq_level(u64 pmcr, u64 pmovs, u64 pminten)
{
	return (pmcr & PMCR_E) && (pmovs & pminten & PMU_ALL_COUNTERS);
}

u64 guest_pmu_hw_inten(u64 pmovs, u64 pminten)
{
	return pminten & ~pmovs & PMU_ALL_COUNTERS;
}

static void set_line(struct vcpu *vcpu, struct pmu_state *s, bool high)
{
	if (high != s->line) {
		vgic_set_ppi_level(vcpu, VGIC_INTID_PMU, high);
		s->line = high;
	}
}

/*
 * The guest's line from the live registers, and the CPU's PMINTEN brought
 * in line with them. Returns whether the physical PMU IRQ was asserted by
 * a guest counter (PMCR.E and an overflow among the interrupts the CPU had
 * enabled): the interrupt that made an IRQ exit, if it was this one. Only
 * the bits that change are written: on most exits none.
 */
static bool update(struct vcpu *vcpu, struct pmu_state *s)
{
	u64 pmcr = arch_pmu_read(PMU_pmcr_el0), pmovs = arch_pmu_read(PMU_pmovsset_el0);
	u64 hw = guest_pmu_hw_inten(pmovs, s->pminten);
	bool fired = (pmcr & PMCR_E) && (pmovs & s->hw_inten);

	if (hw != s->hw_inten) {
		/* Clear first: the physical line must drop before anything the guest has not seen is enabled. */
		if (s->hw_inten & ~hw) {
			arch_pmu_write(PMU_pmintenclr_el1, s->hw_inten & ~hw);
		}
		if (hw & ~s->hw_inten) {
			arch_pmu_write(PMU_pmintenset_el1, hw & ~s->hw_inten);
		}
		s->hw_inten = hw;
	}
	set_line(vcpu, s, guest_pmu_irq_level(pmcr, pmovs, s->pminten));
	return fired;
}

static void switch_in(struct vcpu *vcpu)
{
	struct pmu_state *host = &host_saved[arch_cpu_index() % MAX_CPUS], *s = state_of(vcpu);

	save(host);
	host->pminten = arch_pmu_read(PMU_pmintenset_el1);
	/* No overflow IRQ of the host's counters while the guest's are in (restore sets the guest's flags). */
	arch_pmu_write(PMU_pmintenclr_el1, PMU_ALL_COUNTERS);
	restore(s);
	s->hw_inten = guest_pmu_hw_inten(s->pmovs, s->pminten);
	arch_pmu_write(PMU_pmintenset_el1, s->hw_inten);
	arch_pmu_write(PMU_pmuserenr_el0, s->pmuserenr);
	s->live = true;
}

void guest_pmu_load(struct vcpu *vcpu)
{
	if (vcpu->pmu_used && !vm_is_protected(vcpu->vm)) {
		switch_in(vcpu);
	}
}

void guest_pmu_put(struct vcpu *vcpu)
{
	struct pmu_state *s = state_of(vcpu);
	const struct pmu_state *host = &host_saved[arch_cpu_index() % MAX_CPUS];

	if (!vcpu->pmu_used || vm_is_protected(vcpu->vm) || !s->live) {
		return;
	}
	/* First: no guest overflow may raise the physical IRQ once the host's context is back. */
	arch_pmu_write(PMU_pmintenclr_el1, PMU_ALL_COUNTERS);
	arch_pmu_write(PMU_pmuserenr_el0, 0);
	save(s);
	s->live = false;
	s->hw_inten = 0;
	/* The line as the guest leaves it; it cannot change until the next load (its counters are out). */
	set_line(vcpu, s, guest_pmu_irq_level(s->pmcr, s->pmovs, s->pminten));
	restore(host);
	arch_pmu_write(PMU_pmintenset_el1, host->pminten);
	arch_isb();
}

bool guest_pmu_exit(struct vcpu *vcpu)
{
	struct pmu_state *s = state_of(vcpu);

	if (!vcpu->pmu_used || vm_is_protected(vcpu->vm) || !s->live) {
		return false;
	}
	return update(vcpu, s);
}

static bool is_reg(u64 esr, unsigned int op1, unsigned int crm, unsigned int op2)
{
	return ESR_SYSREG_OP0(esr) == 3 && ESR_SYSREG_OP1(esr) == op1 && ESR_SYSREG_CRN(esr) == 9 &&
	       ESR_SYSREG_CRM(esr) == crm && ESR_SYSREG_OP2(esr) == op2;
}

/*
 * The registers kept in memory, and the PMCR write mask; false: replay the
 * access on the CPU. From EL0, PMINTEN and a PMUSERENR write are UNDEFINED
 * (taken at the guest's EL1, never trapped here): should one arrive anyway,
 * it goes to the replay, whose EL0 rules refuse it.
 */
static bool in_memory(struct pmu_state *s, struct cpu_regs *regs, u64 esr)
{
	bool read = (esr & ESR_SYSREG_READ) != 0;
	unsigned int rt = (unsigned int)ESR_SYSREG_RT(esr);
	u64 v = rt == 31 ? 0 : regs->x[rt], *slot;
	bool el0 = spsr_is_el0(regs->spsr);

	if (is_reg(esr, 3, 14, 0) && !(el0 && !read)) {
		slot = &s->pmuserenr;
		v &= 0xfUL; /* EN, SW, CR, ER */
		if (!read) {
			arch_pmu_write(PMU_pmuserenr_el0, v); /* live: it decides the guest's EL0 accesses */
		}
	} else if ((is_reg(esr, 0, 14, 1) || is_reg(esr, 0, 14, 2)) && !el0) {
		slot = &s->pminten;
		if (!read) {
			*slot = ESR_SYSREG_OP2(esr) == 1 ? (*slot | v) : (*slot & ~v);
			*slot &= PMU_ALL_COUNTERS;
			return true;
		}
	} else if (is_reg(esr, 3, 12, 0) && !read) {
		arch_pmu_write(PMU_pmcr_el0, v & PMCR_GUEST_MASK);
		return true;
	} else {
		return false;
	}
	if (read) {
		if (rt != 31) {
			regs->x[rt] = *slot;
		}
	} else {
		*slot = v;
	}
	return true;
}

/*
 * The PMU's encodings: op0 3, CRn 9, CRm 12..14 (op1 0 or 3), and PMEVCNTR/PMEVTYPER/PMCCFILTR
 * at op1 3, CRn 14, CRm 8..15. Checked before anything is switched, so that another register
 * a normal guest touches (ACTLR, CNTP_*) neither marks its PMU used nor loads it.
 */
static bool is_pmu_encoding(u64 esr)
{
	u64 op1 = ESR_SYSREG_OP1(esr), crn = ESR_SYSREG_CRN(esr), crm = ESR_SYSREG_CRM(esr);

	if (ESR_SYSREG_OP0(esr) != 3 || (op1 != 0 && op1 != 3)) {
		return false;
	}
	return (crn == 9 && crm >= 12 && crm <= 14) || (crn == 14 && op1 == 3 && crm >= 8);
}

bool guest_pmu_trap(struct vcpu *vcpu, u64 esr)
{
	struct pmu_state *s = state_of(vcpu);
	struct cpu_regs *regs = &vcpu->ctx.regs;

	if (vm_is_protected(vcpu->vm) || !pmu_counters() || !is_pmu_encoding(esr)) {
		return false;
	}
	if (!vcpu->pmu_used) {
		/* First PMU access of this vCPU: its slot may hold a previous VM's values. */
		*s = (struct pmu_state){ 0 };
		vcpu->pmu_used = true;
	}
	if (!s->live) {
		switch_in(vcpu);
	}
	if (!in_memory(s, regs, esr) && !pmu_emulate(regs, esr)) {
		return false;
	}
	regs_skip_insn(regs); /* MSR/MRS are always 32-bit instructions */
	/* PMOVS, PMINTEN, PMCR.E or a counter (a PMSWINC wrap) may have moved the line. */
	update(vcpu, s);
	return true;
}
