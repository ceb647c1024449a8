/*
 * vCPUs (see vcpu.h): creation, register access for normal VMs, and the run
 * loop. What each exit means is guest_exit.c's business.
 *
 * The run loop stays in guest context for everything the core answers itself
 * (PSCI and SMCCC calls, trapped system registers, lazy FP/SIMD): no stage-2
 * switch, no host-state save. Only exits the host must see leave the loop
 * (guest_exit.c decides which).
 *
 * Lock: vm->lock guards a vCPU while it is not loaded (creation, register
 * access, loading and unloading; the callers in hc_vcpu.c hold it). A loaded
 * vCPU belongs to the one physical CPU running it, which needs no lock.
 */
#include "vcpu.h"

#include "arch.h"
#include "cpu_power.h"
#include "esr.h"
#include "guest_exit.h"
#include "inject.h"
#include "lib.h"
#include "mem.h"
#include "pagedb.h"

#define PSTATE_EL1H_MASKED 0x3c5UL
#define SCTLR_EL1_MMU_OFF 0x30d00800UL
/* PSTATE bits a host may set for a normal VM: NZCV, DAIF and an EL0/EL1 mode. */
#define PSTATE_SETTABLE (0xf0000000UL | 0x3c0UL | 0xfUL)
#define CNTV_CTL_ENABLE (1UL << 0)
#define CNTV_CTL_IMASK (1UL << 1)

/* ---- creation and register access ---------------------------------------- */

int vcpu_create(struct vm *vm, u64 index, u64 run_pa)
{
	struct vcpu *vcpu;
	int ret;

	CHECK_PAGEDB_VM_LOCKED(vm); /* the run page's flag is the page database's */
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
	vcpu = memcache_alloc(&vm->memcache);
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
	/* vCPU 0 starts at SET_BOOT's entry; the others are off until the guest's own CPU_ON (guest_psci.c). */
	vcpu->power = index == 0 ? VCPU_POWER_ON : VCPU_POWER_OFF;
	vgic_cpu_init(&vcpu->vgic);
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

	CHECK_LOCKED(&vm->lock);
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

/* ---- the run loop ------------------------------------------------------------ */

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
	regs_skip_insn(&vcpu->ctx.regs); /* the load is complete */
	r->pending = false;
}

static u64 timer_deadline(const struct vcpu *vcpu)
{
	u64 ctl = vcpu->ctx.sys[SYS_CNTV_CTL_EL0];

	return (ctl & CNTV_CTL_ENABLE) && !(ctl & CNTV_CTL_IMASK) ? vcpu->ctx.sys[SYS_CNTV_CVAL_EL0] : ~0UL;
}

int vcpu_start_run(struct vm *vm, u64 index, struct vcpu **out, bool *flush_local)
{
	unsigned int cpu = arch_cpu_index();
	int ret;

	CHECK_LOCKED(&vm->lock);
	ret = vm->state == VM_FINALIZED ? find_vcpu(vm, index, out) : MOAT_E_STATE;
	if (!ret) {
		/* Loaded even when off, so that a concurrent VCPU_RUN of it is BUSY and its run page stays one CPU's. */
		(*out)->off_at_load = !vcpu_power_up(*out);
		(*out)->loaded = true;
		*flush_local = false;
		/* An off vCPU never reaches this CPU's TLBs: the vCPU that last ran here still did. */
		if (!(*out)->off_at_load) {
			*flush_local = vm->last_vcpu[cpu] != (int)index;
			vm->last_vcpu[cpu] = (int)index;
		}
	}
	return ret;
}

/* Enter the guest until an exit the host must see. */
static u32 run_guest(struct vcpu *vcpu, bool flush_local)
{
	struct guest_exit e;
	u32 reason;

	complete_mmio_read(vcpu);
	arch_vcpu_load(vcpu, flush_local);
	do {
		vgic_flush(vcpu);
		cpu_power_guest_enter();
		arch_guest_run(vcpu, &e);
		cpu_power_guest_exit();
		vgic_sync(vcpu);
		reason = guest_exit_handle(vcpu, &e);
	} while (reason == MOAT_EXIT_NONE);
	arch_vcpu_put(vcpu);
	return reason;
}

int vcpu_run(struct vcpu *vcpu, bool flush_local, u64 *exit_reason)
{
	struct vm *vm = vcpu->vm;
	u32 reason;

	if (vcpu->off_at_load) {
		/* Nothing to run until a CPU_ON of the guest's names this vCPU (a VCPU_ON exit says so). */
		reason = exit_to_host(vcpu, MOAT_EXIT_VCPU_OFF);
	} else {
		reason = run_guest(vcpu, flush_local);
	}
	if (reason == MOAT_EXIT_WFI) {
		/* The timer registers are in ctx only after the put. A WFE waits for no deadline (guest_exit.c). */
		vcpu->run->u.wfi.deadline = vcpu->wfe_exit ? 0 : timer_deadline(vcpu);
	}
	vcpu->wfe_exit = false; /* set by the WFE trap for this one report: CPU_SUSPEND's WFI exit never sees it */
	spin_lock(&vm->lock);
	if (reason == MOAT_EXIT_SYSTEM_OFF || reason == MOAT_EXIT_SYSTEM_RESET) {
		vm->state = VM_OFF;
	}
	vcpu->loaded = false;
	spin_unlock(&vm->lock);
	*exit_reason = reason;
	return MOAT_OK;
}
