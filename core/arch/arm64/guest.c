/*
 * arm64 side of running a vCPU (DESIGN §6, §12): switching the EL1 context
 * and the EL2 controls between host and guest, entering the guest, and the
 * lazy FP/SIMD switch.
 *
 * Load/put happen once per VCPU_RUN; exits the core answers itself re-enter
 * the guest without touching either context. FP/SIMD moves only when the
 * guest first uses it (CPTR_EL2.TFP trap), and is handed back to the host on
 * put, so no guest value is left in a register the host can read.
 */
#include "arch.h"
#include "arm64_pmu.h"
#include "guest_debug.h"
#include "guest_pmu.h"
#include "arm64_timer.h"
#include "guest_exit.h"
#include "idregs.h"
#include "percpu.h"
#include "sysreg.h"
#include "vcpu.h"
#include "vm.h"

u64 __guest_enter(struct cpu_regs *guest, struct percpu *pcpu);
u64 __take_pending_serror(void);
void __guest_exit(u64 kind) __attribute__((noreturn));
void __fpsimd_save(struct fpsimd_state *s);
void __fpsimd_restore(const struct fpsimd_state *s);

/*
 * EL2 controls while a guest runs: stage 2 on, interrupts to EL2, SMC/WFx/cache-by-set-way/impl-defined trapped,
 * ID registers answered by the core (idregs.c), LORegions trapped (RAZ/WI: their registers are not switched).
 */
#define HCR_GUEST                                                                                                    \
	(HCR_VM | HCR_SWIO | HCR_FMO | HCR_IMO | HCR_AMO | HCR_FB | HCR_BSU_IS | HCR_TWI | HCR_TWE | HCR_TSC |       \
	 HCR_TIDCP | HCR_TACR | HCR_TSW | HCR_RW | HCR_TID3 | HCR_TLOR)
/*
 * Every guest access to the PMU and the debug registers traps (DESIGN §6):
 * protected VMs get RAZ/WI; normal VMs their own PMU (guest_pmu.c) and
 * debug registers (guest_debug.c), switched but still trapped, so that every
 * value they write passes the core's masks. TDE stays 0: the guest's debug
 * exceptions are taken at its own EL1, never at EL2.
 */
#define MDCR_GUEST_TRAPS (MDCR_TPMCR | MDCR_TPM | MDCR_TDA | MDCR_TDOSA | MDCR_TDRA)
#define MPIDR_RES1 (1UL << 31)

#define GUEST_SYSREGS(X)                                                                                             \
	X(SYS_SCTLR_EL1, sctlr_el1)                                                                                  \
	X(SYS_TTBR0_EL1, ttbr0_el1)                                                                                  \
	X(SYS_TTBR1_EL1, ttbr1_el1)                                                                                  \
	X(SYS_TCR_EL1, tcr_el1)                                                                                      \
	X(SYS_MAIR_EL1, mair_el1)                                                                                    \
	X(SYS_AMAIR_EL1, amair_el1)                                                                                  \
	X(SYS_VBAR_EL1, vbar_el1)                                                                                    \
	X(SYS_CONTEXTIDR_EL1, contextidr_el1)                                                                        \
	X(SYS_TPIDR_EL0, tpidr_el0)                                                                                  \
	X(SYS_TPIDR_EL1, tpidr_el1)                                                                                  \
	X(SYS_TPIDRRO_EL0, tpidrro_el0)                                                                              \
	X(SYS_ESR_EL1, esr_el1)                                                                                      \
	X(SYS_FAR_EL1, far_el1)                                                                                      \
	X(SYS_AFSR0_EL1, afsr0_el1)                                                                                  \
	X(SYS_AFSR1_EL1, afsr1_el1)                                                                                  \
	X(SYS_PAR_EL1, par_el1)                                                                                      \
	X(SYS_CPACR_EL1, cpacr_el1)                                                                                  \
	X(SYS_CNTKCTL_EL1, cntkctl_el1)                                                                              \
	X(SYS_SP_EL0, sp_el0)                                                                                        \
	X(SYS_SP_EL1, sp_el1)                                                                                        \
	X(SYS_ELR_EL1, elr_el1)                                                                                      \
	X(SYS_SPSR_EL1, spsr_el1)                                                                                    \
	X(SYS_CSSELR_EL1, csselr_el1)                                                                                \
	X(SYS_MDSCR_EL1, mdscr_el1)                                                                                  \
	X(SYS_CNTV_CTL_EL0, cntv_ctl_el0)                                                                            \
	X(SYS_CNTV_CVAL_EL0, cntv_cval_el0)                                                                          \
	X(SYS_ICH_VMCR_EL2, S3_4_C12_C11_7)

/* ---- virtual GIC CPU interface (vgic.c owns the state) ---- */
#define ICH_AP0R(n) S3_4_C12_C8_##n
#define ICH_AP1R(n) S3_4_C12_C9_##n
#define ICH_VTR_EL2 S3_4_C12_C11_1
#define ICH_MISR_EL2 S3_4_C12_C11_2
#define ICH_HCR_EL2 S3_4_C12_C11_0
/* One level more, so that the names above expand before read_sysreg/write_sysreg stringify them. */
#define RD(r) read_sysreg(r)
#define WR(r, v) write_sysreg(r, v)
#define ICH_VTR_LISTREGS(v) (((v)&0x1f) + 1)
#define ICH_VTR_PREBITS(v) ((((v) >> 26) & 0x7) + 1)
#define ICH_VMCR_EL2 S3_4_C12_C11_7

unsigned int arch_vgic_nr_lrs(void)
{
	/* Read once: every CPU of the machine has the same interface (a racing first read writes the same value). */
	static unsigned int nr;

	if (!nr) {
		unsigned int n = ICH_VTR_LISTREGS(RD(ICH_VTR_EL2));

		nr = n < VGIC_MAX_LRS ? n : VGIC_MAX_LRS;
	}
	return nr;
}

/*
 * Virtual preemption bits (ICH_VTR_EL2.PREbits + 1: 5, 6 or 7). They, not
 * the priority bits (PRIbits, which may be more), say how many ICH_AP<g>R<n>
 * exist: one per 32 preemption levels (1, 2, 4; an absent one is UNDEFINED
 * to access), and that bit k of them stands for group priority k << (8 - bits).
 */
static unsigned int pre_bits(void)
{
	static unsigned int bits; /* as in arch_vgic_nr_lrs() */

	if (!bits) {
		bits = ICH_VTR_PREBITS(RD(ICH_VTR_EL2));
	}
	return bits;
}

static unsigned int nr_aprs(void)
{
	unsigned int bits = pre_bits();

	return bits >= 7 ? 4 : bits == 6 ? 2 : 1;
}

static void apr_restore(const struct vgic_cpu *c)
{
	unsigned int n = nr_aprs();

	/* Fall through from the highest the CPU has: the others are UNDEFINED to access. */
	switch (n) {
	case 4:
		WR(ICH_AP0R(3), c->ap0r[3]);
		WR(ICH_AP1R(3), c->ap1r[3]);
		WR(ICH_AP0R(2), c->ap0r[2]);
		WR(ICH_AP1R(2), c->ap1r[2]);
		/* fallthrough */
	case 2:
		WR(ICH_AP0R(1), c->ap0r[1]);
		WR(ICH_AP1R(1), c->ap1r[1]);
		/* fallthrough */
	default:
		WR(ICH_AP0R(0), c->ap0r[0]);
		WR(ICH_AP1R(0), c->ap1r[0]);
	}
}

static void apr_read(u32 *ap0r, u32 *ap1r)
{
	unsigned int n = nr_aprs();

	switch (n) {
	case 4:
		ap0r[3] = (u32)RD(ICH_AP0R(3));
		ap1r[3] = (u32)RD(ICH_AP1R(3));
		ap0r[2] = (u32)RD(ICH_AP0R(2));
		ap1r[2] = (u32)RD(ICH_AP1R(2));
		/* fallthrough */
	case 2:
		ap0r[1] = (u32)RD(ICH_AP0R(1));
		ap1r[1] = (u32)RD(ICH_AP1R(1));
		/* fallthrough */
	default:
		ap0r[0] = (u32)RD(ICH_AP0R(0));
		ap1r[0] = (u32)RD(ICH_AP1R(0));
	}
}

static void apr_save(struct vgic_cpu *c)
{
	apr_read(c->ap0r, c->ap1r);
}

u64 arch_vgic_vmcr(void)
{
	return RD(ICH_VMCR_EL2);
}

u32 arch_vgic_running_priority(void)
{
	u32 ap0r[VGIC_MAX_APR] = { 0 }, ap1r[VGIC_MAX_APR] = { 0 };
	unsigned int n = nr_aprs();

	apr_read(ap0r, ap1r);
	/* Lowest bit = highest active group priority: the running priority, as ICV_RPR_EL1 would read. */
	for (unsigned int i = 0; i < n; i++) {
		u32 active = ap0r[i] | ap1r[i];

		if (active) {
			return (32 * i + (u32)__builtin_ctz(active)) << (8 - pre_bits());
		}
	}
	return 0xff; /* idle */
}

#define LR_CASE(n, reg)                                                                                              	case n:                                                                                                      		if (write) {                                                                                         			write_sysreg(reg, *v);                                                                       		} else {                                                                                             			*v = read_sysreg(reg);                                                                       		}                                                                                                    		break;

/* ICH_LR<n>_EL2: the register number is part of the instruction. */
static void lr_access(unsigned int n, u64 *v, bool write)
{
	switch (n) {
		LR_CASE(0, S3_4_C12_C12_0)
		LR_CASE(1, S3_4_C12_C12_1)
		LR_CASE(2, S3_4_C12_C12_2)
		LR_CASE(3, S3_4_C12_C12_3)
		LR_CASE(4, S3_4_C12_C12_4)
		LR_CASE(5, S3_4_C12_C12_5)
		LR_CASE(6, S3_4_C12_C12_6)
		LR_CASE(7, S3_4_C12_C12_7)
		LR_CASE(8, S3_4_C12_C13_0)
		LR_CASE(9, S3_4_C12_C13_1)
		LR_CASE(10, S3_4_C12_C13_2)
		LR_CASE(11, S3_4_C12_C13_3)
		LR_CASE(12, S3_4_C12_C13_4)
		LR_CASE(13, S3_4_C12_C13_5)
		LR_CASE(14, S3_4_C12_C13_6)
		LR_CASE(15, S3_4_C12_C13_7)
	default:
		break;
	}
}

/*
 * Before entry: the LRs vgic_flush() chose, and the virtual interface on.
 * Only LRs that hold something now or held something at the last exit are
 * written (the others are zero in the CPU already: put zeroes them, and the
 * hardware never fills an invalid LR), so an idle vGIC costs no LR access.
 */
static void vgic_enter(struct vcpu *vcpu)
{
	unsigned int nr = arch_vgic_nr_lrs();
	u32 live = 0;

	for (unsigned int i = 0; i < nr; i++) {
		if (vcpu->vgic.lr[i] || (vcpu->vgic.lr_live & (1U << i))) {
			lr_access(i, &vcpu->vgic.lr[i], true);
		}
		live |= vcpu->vgic.lr[i] ? 1U << i : 0;
	}
	vcpu->vgic.lr_live = live;
	WR(ICH_HCR_EL2, vcpu->vgic.hcr | ICH_HCR_EN);
}

/* The LRs in use, back into the vCPU's copy (they stay loaded). */
static void vgic_read_lrs(struct vcpu *vcpu)
{
	for (u32 live = vcpu->vgic.lr_live; live; live &= live - 1) {
		unsigned int i = (unsigned int)__builtin_ctz(live);

		lr_access(i, &vcpu->vgic.lr[i], false);
	}
}

/* After exit: what the guest made of them, and why a maintenance interrupt may be pending. */
static void vgic_exit(struct vcpu *vcpu)
{
	vgic_read_lrs(vcpu);
	vcpu->vgic.misr = vcpu->vgic.lr_live || vcpu->vgic.hcr ? (u32)RD(ICH_MISR_EL2) : 0;
}

/*
 * At CPU init, once ICH_HCR_EL2 is 0: no LR or active priority left by
 * firmware or a previous life of the machine (their reset values are
 * UNKNOWN). vgic_enter() writes only the LRs a vCPU uses, so a stale one
 * would reach the first guest.
 */
void arch_vgic_cpu_reset(void)
{
	u64 zero = 0;

	for (unsigned int i = 0; i < arch_vgic_nr_lrs(); i++) {
		lr_access(i, &zero, true);
	}
	apr_restore(&(struct vgic_cpu){ 0 });
}

u64 arch_vtimer_ctl(void)
{
	return read_sysreg(cntv_ctl_el0);
}

void arch_vtimer_set_ctl(u64 ctl)
{
	write_sysreg(cntv_ctl_el0, ctl);
	arch_isb();
}

static void save_el1(u64 *sys)
{
#define SAVE(idx, reg) sys[idx] = read_sysreg(reg);
	GUEST_SYSREGS(SAVE)
#undef SAVE
}

static void restore_el1(const u64 *sys)
{
#define RESTORE(idx, reg) write_sysreg(reg, sys[idx]);
	GUEST_SYSREGS(RESTORE)
#undef RESTORE
}

void arch_vcpu_load(struct vcpu *vcpu, bool flush_local)
{
	struct percpu *pc = this_cpu();

	pc->loaded_vcpu = vcpu;
	pc->guest_fp_loaded = false;
	/* First, before any guest state goes in: the host's counters must not count a protected guest. */
	if (vm_is_protected(vcpu->vm)) {
		arm64_pmu_stop_host(pc);
	}
	arm64_pmu_hide_host_el0(pc);
	save_el1(pc->host_sys);
	arm64_timer_guest_load(pc->host_sys); /* the host's CNTV deadline onto CNTHP for the run */
	restore_el1(vcpu->ctx.sys);
	write_sysreg(vttbr_el2, vcpu->vm->s2.vttbr);
	write_sysreg(hcr_el2, guest_el2.hcr | (vcpu->serror_pending ? HCR_VSE : 0));
	write_sysreg(cptr_el2, guest_el2.cptr);
	/* The host's HPMN and EL2 PMU prohibition (HPMD/HCCD) stay; its PMU traps become the guest's. */
	write_sysreg(mdcr_el2, host_el2.mdcr | MDCR_GUEST_TRAPS);
	write_sysreg(cnthctl_el2, CNTHCTL_EL1PCTEN);
	write_sysreg(cntvoff_el2, 0);
	write_sysreg(vmpidr_el2, MPIDR_RES1 | vcpu->index);
	apr_restore(&vcpu->vgic);
	guest_pmu_load(vcpu); /* a normal vCPU that used its PMU: the host's counters out, its own in */
	/* A normal vCPU that used debug: the host's breakpoints and OS lock out, its own in. Tested here: no call. */
	if (vcpu->dbg_used) {
		guest_debug_load(vcpu);
	}
	arch_isb();
	if (flush_local) {
		/* Another vCPU of this VM ran here last: its local TLB and I-cache context must not leak. */
		__asm__ volatile("tlbi vmalle1; ic iallu; dsb nsh; isb" ::: "memory");
	}
}

void arch_vcpu_put(struct vcpu *vcpu)
{
	struct percpu *pc = this_cpu();

	arm64_timer_guest_put(); /* the host's CNTV is back below: CNTHP off before the ERET to EL1 */
	save_el1(vcpu->ctx.sys);
	restore_el1(pc->host_sys);
	apr_save(&vcpu->vgic);
	/* The host has no virtual interface: off, and no guest LR or priority state left behind. */
	WR(ICH_HCR_EL2, 0);
	for (u32 live = vcpu->vgic.lr_live; live; live &= live - 1) {
		u64 zero = 0;

		lr_access((unsigned int)__builtin_ctz(live), &zero, true);
	}
	vcpu->vgic.lr_live = 0;
	apr_restore(&(struct vgic_cpu){ 0 });
	if (pc->guest_fp_loaded) {
		write_sysreg(cptr_el2, host_el2.cptr);
		arch_isb();
		__fpsimd_save(&vcpu->ctx.fp);
		__fpsimd_restore(&pc->host_fp);
		pc->guest_fp_loaded = false;
	}
	write_sysreg(hcr_el2, host_el2.hcr);
	write_sysreg(vttbr_el2, host_el2.vttbr);
	write_sysreg(cptr_el2, host_el2.cptr);
	write_sysreg(mdcr_el2, host_el2.mdcr);
	write_sysreg(cnthctl_el2, host_el2.cnthctl);
	write_sysreg(vmpidr_el2, pc->host_vmpidr);
	guest_pmu_put(vcpu);
	if (vcpu->dbg_used) {
		guest_debug_put(vcpu); /* after restore_el1: the host's MDSCR_EL1 comes back with its own breakpoints */
	}
	/* Last, once no guest state is left in a register: the host's counters run again. */
	arm64_pmu_restore_host_el0(pc);
	arm64_pmu_restart_host(pc);
	arch_isb();
	pc->loaded_vcpu = NULL;
}

/* First FP/SIMD use by the guest since load: park the host's registers, bring in the guest's. */
static void fpsimd_to_guest(struct percpu *pc, struct vcpu *vcpu)
{
	write_sysreg(cptr_el2, guest_el2.cptr & ~CPTR_TFP);
	arch_isb();
	__fpsimd_save(&pc->host_fp);
	__fpsimd_restore(&vcpu->ctx.fp);
	pc->guest_fp_loaded = true;
}

void arch_vcpu_sync_serror(struct vcpu *vcpu)
{
	u64 hcr = read_sysreg(hcr_el2) & ~HCR_VSE;

	write_sysreg(hcr_el2, hcr | (vcpu->serror_pending ? HCR_VSE : 0));
}

/*
 * A physical SError pending before the guest has run an instruction is not
 * the guest's: the host's or the core's (DESIGN §12). ISR_EL1 read at EL2
 * shows the physical state whatever HCR_EL2.AMO says.
 */
static bool physical_serror_pending(void)
{
	arch_isb();
	return (read_sysreg(isr_el1) & ISR_A) != 0;
}

void arch_guest_run(struct vcpu *vcpu, struct guest_exit *exit)
{
	struct percpu *pc = this_cpu();

	for (;;) {
		if (physical_serror_pending()) {
			/* The put gives the host its HCR_EL2.AMO = 0 back: it takes the SError at EL1. */
			*exit = (struct guest_exit){ .kind = GUEST_EXIT_NOT_ENTERED };
			return;
		}
		vgic_enter(vcpu);
		exit->kind = (enum guest_exit_kind)__guest_enter(&vcpu->ctx.regs, pc);
		vgic_exit(vcpu);
		if (exit->kind == GUEST_EXIT_NOT_ENTERED) {
			/* arch_guest_fast answered a call, then found an SError that arose after the guest's exit. */
			*exit = (struct guest_exit){ .kind = GUEST_EXIT_NOT_ENTERED };
			vcpu->serror_pending = vcpu->serror_pending && (read_sysreg(hcr_el2) & HCR_VSE) != 0;
			return;
		}
		exit->esr = read_sysreg(esr_el2);
		exit->far = read_sysreg(far_el2);
		exit->ipa = HPFAR_IPA(read_sysreg(hpfar_el2)) | (exit->far & (PAGE_SIZE - 1));
		/* After the syndrome registers: taking the SError overwrites them. */
		exit->serror = __take_pending_serror() != 0;
		if (vcpu->serror_pending) {
			/* The guest may have taken its virtual SError: the hardware cleared VSE then. */
			vcpu->serror_pending = (read_sysreg(hcr_el2) & HCR_VSE) != 0;
		}
		if (exit->kind == GUEST_EXIT_SYNC && ESR_EC(exit->esr) == EC_FP_ASIMD && !pc->guest_fp_loaded &&
		    !exit->serror) {
			fpsimd_to_guest(pc, vcpu);
			continue;
		}
		return;
	}
}

/* DSB SY: every access still outstanding (the guest's, at an exit) completes; ISB: ISR_EL1 is current. */
static bool serror_in_flight(void)
{
	__asm__ volatile("dsb sy; isb" ::: "memory");
	return (read_sysreg(isr_el1) & ISR_A) != 0;
}

/*
 * The fast path (docs/architecture.md, "The exit path"): a synchronous exit
 * the core answers from the guest's general registers alone
 * (guest_exit_fast) is answered on the exception frame, and el2_exit ERETs
 * straight back into the guest: no __guest_exit/__guest_enter, no LR
 * save/restore, no vGIC flush/sync, and the guest's EL1 registers, timer
 * and FP/SIMD state never leave the CPU (they are not the host's while a
 * vCPU is loaded: load/put switch them).
 *
 * SError attribution stays as on the full path: one in flight when the
 * guest exited is the guest's, so it takes the full path, whose
 * __take_pending_serror window counts it against the guest; one that
 * appears while the core answers is not the guest's, so the run ends with
 * GUEST_EXIT_NOT_ENTERED as if re-entry had found it (the answer is kept).
 * The host's interrupts need no check: with HCR_EL2.IMO set, one pending
 * (its timer deadline on CNTHP, a stop or kick SGI) is taken at EL2 from
 * the guest's next instruction, an IRQ exit on the full path.
 */
bool arch_guest_fast(struct percpu *pc, struct cpu_regs *frame)
{
	struct vcpu *vcpu = pc->loaded_vcpu;
	struct guest_exit e;

	e.esr = read_sysreg(esr_el2);
	if (!guest_exit_may_be_fast(e.esr) || serror_in_flight()) {
		return false;
	}
	e.kind = GUEST_EXIT_SYNC;
	e.serror = false;
	e.far = e.ipa = 0;
	if (ESR_EC(e.esr) != EC_HVC64) {
		/* An abort: where, and the LRs, which vGIC reads show (the copy must be what the CPU holds now). */
		e.far = read_sysreg(far_el2);
		e.ipa = HPFAR_IPA(read_sysreg(hpfar_el2)) | (e.far & (PAGE_SIZE - 1));
		vgic_read_lrs(vcpu);
	}
	if (!guest_exit_fast(vcpu, &e, frame)) {
		return false;
	}
	if (serror_in_flight()) {
		arch_guest_trap(frame, GUEST_EXIT_NOT_ENTERED);
	}
	return true;
}

void arch_guest_trap(struct cpu_regs *frame, enum guest_exit_kind kind)
{
	*this_cpu()->guest_regs = *frame;
	__guest_exit(kind);
}

void arch_s2_switch_to(const struct stage2 *view)
{
	write_sysreg(vttbr_el2, view->vttbr);
	arch_isb();
}

void arch_s2_switch_to_host(void)
{
	write_sysreg(vttbr_el2, host_el2.vttbr);
	arch_isb();
}

void arch_s2_flush_vmid(const struct stage2 *view)
{
	/* The ISB in arch_s2_switch_to() makes the TLBI see the view's VMID, not the host's. */
	arch_s2_switch_to(view);
	arch_tlbi_s12_all();
	arch_dsb_ish();
	arch_s2_switch_to_host();
}

struct guest_el2_config guest_el2;

/*
 * From the guest view of the ID registers (idregs.c), the traps that make its
 * hiding real: what guests are not shown, they cannot use either. Called once
 * at boot, after idregs_init().
 */
void arch_guest_el2_init(void)
{
	guest_el2.hcr = HCR_GUEST;
	/* TERR is RES0 without RAS; with it, the error records are the machine's, not the guest's. */
	if (idregs_have(IDREG_CPU, FEAT_RAS) && !idregs_have(IDREG_GUEST, FEAT_RAS)) {
		guest_el2.hcr |= HCR_TERR;
	}
	guest_el2.cptr = CPTR_EL2_RES1 | CPTR_TFP | CPTR_TTA;
	/* TZ/TSM: RES1 where SVE/SME are absent, a trap where they are hidden. */
	if (!idregs_have(IDREG_GUEST, FEAT_SVE)) {
		guest_el2.cptr |= CPTR_TZ;
	}
	if (!idregs_have(IDREG_GUEST, FEAT_SME)) {
		guest_el2.cptr |= CPTR_TSM;
	}
	/* TAM is RES0 without AMU. */
	if (idregs_have(IDREG_CPU, FEAT_AMU) && !idregs_have(IDREG_GUEST, FEAT_AMU)) {
		guest_el2.cptr |= CPTR_TAM;
	}
}
