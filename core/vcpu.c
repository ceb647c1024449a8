/*
 * vCPUs (see vcpu.h): creation, the run loop and exit handling, and register
 * access for normal VMs.
 *
 * The run loop stays in guest context for everything the core answers itself
 * (PSCI and SMCCC calls, trapped system registers, lazy FP/SIMD): no stage-2
 * switch, no host-state save. Only exits the host must see leave the loop,
 * and they tell the host no more than the exit needs (DESIGN §6): never a
 * protected guest's registers, never an instruction decoded on its behalf
 * when the hardware syndrome does not describe the access (ISV = 0).
 */
#include "vcpu.h"

#include "arch.h"
#include "esr.h"
#include "guest_refuse.h"
#include "inject.h"
#include "lib.h"
#include "log.h"
#include "mem.h"
#include "pagedb.h"

#define PSTATE_EL1H_MASKED 0x3c5UL
#define SCTLR_EL1_MMU_OFF 0x30d00800UL
/* PSTATE bits a host may set for a normal VM: NZCV, DAIF and an EL0/EL1 mode. */
#define PSTATE_SETTABLE (0xf0000000UL | 0x3c0UL | 0xfUL)
#define CNTV_CTL_ENABLE (1UL << 0)
#define CNTV_CTL_IMASK (1UL << 1)

static struct log_limiter guest_log;

/* ---- creation and register access ---------------------------------------- */

int vcpu_create(struct vm *vm, u64 index, u64 run_pa)
{
	struct vcpu *vcpu;
	int ret;

	if (vm->state != VM_CREATED) {
		return MOAT_E_STATE;
	}
	if (index >= vm->max_vcpus) {
		return MOAT_E_RANGE;
	}
	if (vm->vcpus[index]) {
		return MOAT_E_EXIST;
	}
	ret = mem_attach_run_page(run_pa);
	if (ret) {
		return ret;
	}
	vcpu = memcache_alloc(vm);
	if (!vcpu) {
		mem_detach_run_page(run_pa);
		return MOAT_E_NOMEM;
	}
	vcpu->vm = vm;
	vcpu->index = (u32)index;
	vcpu->run_pa = run_pa;
	vcpu->run = phys_to_virt(run_pa);
	vcpu->ctx.regs.spsr = PSTATE_EL1H_MASKED;
	vcpu->ctx.sys[SYS_SCTLR_EL1] = SCTLR_EL1_MMU_OFF;
	vm->vcpus[index] = vcpu;
	return MOAT_OK;
}

static int find_vcpu(struct vm *vm, u64 index, struct vcpu **out)
{
	if (index >= vm->max_vcpus) {
		return MOAT_E_RANGE;
	}
	if (!vm->vcpus[index]) {
		return MOAT_E_NOENT;
	}
	*out = vm->vcpus[index];
	return (*out)->loaded ? MOAT_E_BUSY : MOAT_OK;
}

/* Where register `reg` lives in the context, or NULL for an unknown ID. */
static u64 *reg_slot(struct vcpu *vcpu, u64 reg)
{
	struct guest_context *c = &vcpu->ctx;

	if (reg <= 30) {
		return &c->regs.x[reg];
	}
	switch (reg) {
	case MOAT_REG_SP_EL0:
		return &c->sys[SYS_SP_EL0];
	case MOAT_REG_PC:
		return &c->regs.elr;
	case MOAT_REG_PSTATE:
		return &c->regs.spsr;
	case MOAT_REG_SP_EL1:
		return &c->sys[SYS_SP_EL1];
	case MOAT_REG_ELR_EL1:
		return &c->sys[SYS_ELR_EL1];
	case MOAT_REG_SPSR_EL1:
		return &c->sys[SYS_SPSR_EL1];
	default:
		return NULL;
	}
}

static int access_reg(struct vm *vm, u64 index, u64 reg, struct vcpu **vcpu, u64 **slot)
{
	int ret;

	if (vm_is_protected(vm)) {
		return MOAT_E_PERM;
	}
	ret = find_vcpu(vm, index, vcpu);
	if (ret) {
		return ret;
	}
	*slot = reg_slot(*vcpu, reg);
	return *slot ? MOAT_OK : MOAT_E_RANGE;
}

int vcpu_get_reg(struct vm *vm, u64 index, u64 reg, u64 *value)
{
	struct vcpu *vcpu;
	u64 *slot;
	int ret = access_reg(vm, index, reg, &vcpu, &slot);

	if (!ret) {
		*value = *slot;
	}
	return ret;
}

/* A PSTATE the guest may hold: AArch64 EL0t, EL1t or EL1h -- never EL2, or the ERET would enter EL2. */
static bool pstate_valid(u64 value)
{
	u64 mode = value & PSR_MODE_MASK;

	return !(value & ~PSTATE_SETTABLE) && (mode == PSR_MODE_EL0T || mode == PSR_MODE_EL1T || mode == PSR_MODE_EL1H);
}

int vcpu_set_reg(struct vm *vm, u64 index, u64 reg, u64 value)
{
	struct vcpu *vcpu;
	u64 *slot;
	int ret = access_reg(vm, index, reg, &vcpu, &slot);

	if (ret) {
		return ret;
	}
	if (reg == MOAT_REG_PSTATE && !pstate_valid(value)) {
		return MOAT_E_INVAL;
	}
	*slot = value;
	return MOAT_OK;
}

/* ---- exits ------------------------------------------------------------------ */

static void set_reg_value(struct vcpu *vcpu, unsigned int reg, u64 value)
{
	if (reg != 31) {
		vcpu->ctx.regs.x[reg] = value;
	}
}

/* Finish an MMIO read with the value the host left in the run page. */
static void complete_mmio_read(struct vcpu *vcpu)
{
	struct pending_mmio_read *r = &vcpu->mmio_read;
	u64 value;

	if (!r->pending) {
		return;
	}
	value = *(volatile u64 *)&vcpu->run->u.mmio.value;
	set_reg_value(vcpu, r->reg, load_result(value, r->size, r->sign_extend, r->sixty_four));
	vcpu->ctx.regs.elr += 4;
	r->pending = false;
}

static void exit_to_host(struct vcpu *vcpu, u32 reason)
{
	struct moat_run *run = vcpu->run;

	/* Nothing from an earlier exit (or planted by the host) survives into this one. */
	memset(run, 0, sizeof(*run));
	run->exit_reason = reason;
}

static bool mmio_exit(struct vcpu *vcpu, const struct guest_exit *e, u32 *reason)
{
	u64 esr = e->esr;
	unsigned int size = 1U << ESR_SAS(esr);
	u64 mask = size == 8 ? ~0UL : (1UL << (size * 8)) - 1;
	struct moat_run *run = vcpu->run;

	exit_to_host(vcpu, MOAT_EXIT_MMIO);
	run->u.mmio.ipa = e->ipa;
	run->u.mmio.size = size;
	if (esr & ESR_WNR) {
		unsigned int rt = (unsigned int)ESR_SRT(esr);

		run->u.mmio.is_write = 1;
		run->u.mmio.value = (rt == 31 ? 0 : vcpu->ctx.regs.x[rt]) & mask;
		vcpu->ctx.regs.elr += 4;
	} else {
		vcpu->mmio_read = (struct pending_mmio_read){
			.pending = true,
			.sign_extend = (esr & ESR_SSE) != 0,
			.sixty_four = (esr & ESR_SF) != 0,
			.reg = (u8)ESR_SRT(esr),
			.size = (u8)size,
		};
	}
	*reason = MOAT_EXIT_MMIO;
	return false;
}

/* Nothing the host could emulate: the guest gets a synchronous external abort, the host is told. */
static bool guest_fault(struct vcpu *vcpu, const struct guest_exit *e, u32 *reason)
{
	/* Only what the host learns anyway (the page); never a protected guest's PC or offset. */
	log_ratelimited(&guest_log, LOG_INFO, "vm%u vcpu%u: access to IPA page 0x%lx: external abort injected",
			vcpu->vm->slot, vcpu->index, ALIGN_DOWN(e->ipa, PAGE_SIZE));
	arch_inject_el1_sync(&vcpu->ctx.regs, sea_syndrome(e->esr, vcpu->ctx.regs.spsr), e->far);
	exit_to_host(vcpu, MOAT_EXIT_GUEST_FAULT);
	vcpu->run->u.guest_fault.ipa = ALIGN_DOWN(e->ipa, PAGE_SIZE);
	*reason = MOAT_EXIT_GUEST_FAULT;
	return false;
}

static bool is_mapped(struct vm *vm, u64 ipa)
{
	u64 pa;
	unsigned int flags, level;

	return pgt_lookup(&vm->s2.pgt, ipa, &pa, &flags, &level);
}

static bool stage2_abort(struct vcpu *vcpu, const struct guest_exit *e, u32 *reason)
{
	struct vm *vm = vcpu->vm;
	bool data = ESR_EC(e->esr) == EC_DABT_LOWER;

	if (vm_ipa_in_ram(vm, e->ipa) && !is_mapped(vm, e->ipa)) {
		exit_to_host(vcpu, MOAT_EXIT_MEM_FAULT);
		vcpu->run->u.mem_fault.ipa = ALIGN_DOWN(e->ipa, PAGE_SIZE);
		*reason = MOAT_EXIT_MEM_FAULT;
		return false;
	}
	if (data && vm_ipa_in_mmio(vm, e->ipa) && (e->esr & ESR_ISV) && !(e->esr & ESR_S1PTW)) {
		return mmio_exit(vcpu, e, reason);
	}
	return guest_fault(vcpu, e, reason);
}

static bool handle_sync(struct vcpu *vcpu, const struct guest_exit *e, u32 *reason)
{
	switch (ESR_EC(e->esr)) {
	case EC_HVC64:
		if (guest_hvc(vcpu, reason)) {
			return true;
		}
		exit_to_host(vcpu, *reason);
		return false;
	case EC_SMC64:
		/* Guests use the HVC conduit; an SMC never reaches firmware. */
		return guest_smc(vcpu);
	case EC_WFX:
		vcpu->ctx.regs.elr += 4;
		exit_to_host(vcpu, MOAT_EXIT_WFI);
		*reason = MOAT_EXIT_WFI;
		return false;
	case EC_SYSREG:
		/* ID registers from the guest view; debug, PMU, set/way and the rest RAZ/WI. */
		return guest_sysreg_trap(vcpu, e->esr);
	case EC_DABT_LOWER:
	case EC_IABT_LOWER:
		return stage2_abort(vcpu, e, reason);
	default:
		/* Hidden features (SVE, SME, PAuth) and anything else unhandled: undefined instruction. */
		return guest_undef_trap(vcpu, e->esr);
	}
}

/*
 * A physical SError while the guest ran, or still in flight when it exited
 * (the arch layer made sure one pending from before entry never gets here):
 * the guest's. It gets a virtual SError, as a machine would deliver it,
 * once it unmasks PSTATE.A; the host is not involved. FAR_EL2 and HPFAR_EL2
 * do not describe an SError -- they hold whatever the last abort left,
 * possibly a host address -- so nothing of them goes anywhere.
 */
static void guest_serror(struct vcpu *vcpu)
{
	log_ratelimited(&guest_log, LOG_INFO, "vm%u vcpu%u: physical SError while the guest ran: virtual SError pending",
			vcpu->vm->slot, vcpu->index);
	vcpu->serror_pending = true;
	arch_vcpu_sync_serror(vcpu);
}

/* Returns true while the guest should simply continue. */
static bool handle_exit(struct vcpu *vcpu, const struct guest_exit *e, u32 *reason)
{
	if (e->serror) {
		guest_serror(vcpu);
	}
	switch (e->kind) {
	case 8:
	case 12:
		return handle_sync(vcpu, e, reason);
	case 9:
	case 10:
	case 13:
	case 14:
	case GUEST_EXIT_NOT_ENTERED:
		/* A physical interrupt or SError for the host: it takes it once back at EL1. */
		exit_to_host(vcpu, MOAT_EXIT_IRQ);
		*reason = MOAT_EXIT_IRQ;
		return false;
	default:
		guest_serror(vcpu);
		return true;
	}
}

static u64 timer_deadline(const struct vcpu *vcpu)
{
	u64 ctl = vcpu->ctx.sys[SYS_CNTV_CTL_EL0];

	return (ctl & CNTV_CTL_ENABLE) && !(ctl & CNTV_CTL_IMASK) ? vcpu->ctx.sys[SYS_CNTV_CVAL_EL0] : ~0UL;
}

static int start_run(struct vm *vm, u64 index, struct vcpu **out, bool *flush_local)
{
	unsigned int cpu = arch_cpu_index();
	int ret;

	spin_lock(&vm->lock);
	ret = vm->state == VM_FINALIZED ? find_vcpu(vm, index, out) : MOAT_E_STATE;
	if (!ret) {
		(*out)->loaded = true;
		*flush_local = vm->last_vcpu[cpu] != (int)index;
		vm->last_vcpu[cpu] = (int)index;
	}
	spin_unlock(&vm->lock);
	return ret;
}

int vcpu_run(struct vm *vm, u64 index, u64 *exit_reason)
{
	struct guest_exit e;
	struct vcpu *vcpu;
	bool flush_local;
	u32 reason = MOAT_EXIT_NONE;
	int ret = start_run(vm, index, &vcpu, &flush_local);

	if (ret) {
		return ret;
	}
	complete_mmio_read(vcpu);
	arch_vcpu_load(vcpu, flush_local);
	do {
		arch_guest_run(vcpu, &e);
	} while (handle_exit(vcpu, &e, &reason));
	arch_vcpu_put(vcpu);
	if (reason == MOAT_EXIT_WFI) {
		vcpu->run->u.wfi.deadline = timer_deadline(vcpu);
	}
	spin_lock(&vm->lock);
	if (reason == MOAT_EXIT_SYSTEM_OFF || reason == MOAT_EXIT_SYSTEM_RESET) {
		vm->state = VM_OFF;
	}
	vcpu->loaded = false;
	spin_unlock(&vm->lock);
	*exit_reason = reason;
	return MOAT_OK;
}
