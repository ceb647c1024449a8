/*
 * Guest PSCI power management of vCPUs (DESIGN §8, docs/ABI.md "Guest ABI"):
 * CPU_ON, CPU_OFF and AFFINITY_INFO, with each vCPU's power state kept in
 * the core (vcpu->power), never taken from the host.
 *
 * A vCPU is OFF, ON_PENDING (a CPU_ON succeeded; it has not run since) or ON.
 * vCPU 0 is ON from VCPU_CREATE (the host's SET_BOOT entry), every other one
 * OFF until a CPU_ON of the guest's names it, with the guest's entry point
 * and context ID -- the host cannot start a vCPU anywhere. The host learns
 * only which vCPU became runnable (the VCPU_ON exit of the caller) and that a
 * vCPU has nothing to run (the VCPU_OFF exit: after its CPU_OFF, and for a
 * VCPU_RUN of a vCPU that is off, which the host may then wait on).
 *
 * PSCI's answers exactly: a target MPIDR names vCPU Aff0 of this VM (Aff1..3
 * and every other bit zero; for the 32-bit calls, bits 31:0 of x1), and the
 * vCPU must exist, else INVALID_PARAMETERS; CPU_ON of a vCPU that is ON ->
 * ALREADY_ON, ON_PENDING -> ON_PENDING; an entry point that is not a
 * 4-byte-aligned IPA in the VM's RAM -> INVALID_ADDRESS. Every check and the
 * state change happen under one hold of the VM lock, so of CPU_ONs racing
 * for one target exactly one succeeds. CPU_OFF of the last vCPU that is on
 * is allowed: the VM then only waits.
 *
 * Called from guest_hvc() (guest_call.c) on the CPU that has the caller
 * loaded, and from vcpu_start_run() (vcpu.c), under vm->lock.
 * Lock: vm->lock guards every vCPU's power state and pending entry.
 */
#include "guest_exit.h"
#include "lib.h"
#include "psci.h"
#include "vcpu.h"

#define PSCI_AFFINITY_ON 0
#define PSCI_AFFINITY_OFF 1
#define PSCI_AFFINITY_ON_PENDING 2
#define PSTATE_EL1H_MASKED 0x3c5UL
#define SCTLR_EL1_MMU_OFF 0x30d00800UL

/* The vCPU an MPIDR names, or NULL (INVALID_PARAMETERS). Caller holds vm->lock. */
static struct vcpu *target_vcpu(struct vm *vm, u64 mpidr, bool smc32)
{
	if (smc32) {
		mpidr &= 0xffffffffUL; /* SMC32: the upper half of x1 is not an argument */
	}
	if (mpidr >= vm->max_vcpus) {
		return NULL;
	}
	return vm->vcpus[mpidr];
}

u32 guest_psci_cpu_on(struct vcpu *vcpu, bool smc32)
{
	u64 *x = vcpu->ctx.regs.x;
	struct vm *vm = vcpu->vm;
	u64 entry = smc32 ? x[2] & 0xffffffffUL : x[2];
	u64 context = smc32 ? x[3] & 0xffffffffUL : x[3];
	struct vcpu *target;
	long ret = PSCI_RET_SUCCESS;

	spin_lock(&vm->lock);
	target = target_vcpu(vm, x[1], smc32);
	if (!target) {
		ret = PSCI_RET_INVALID_PARAMS;
	} else if (target->power == VCPU_POWER_ON) {
		ret = PSCI_RET_ALREADY_ON;
	} else if (target->power == VCPU_POWER_ON_PENDING) {
		ret = PSCI_RET_ON_PENDING;
	} else if (!IS_ALIGNED(entry, 4) || !vm_ipa_in_ram(vm, entry)) {
		ret = PSCI_RET_INVALID_ADDRESS;
	} else {
		target->power = VCPU_POWER_ON_PENDING;
		target->on_entry = entry;
		target->on_context = context;
	}
	spin_unlock(&vm->lock);
	x[0] = (u64)ret;
	if (ret != PSCI_RET_SUCCESS) {
		return MOAT_EXIT_NONE;
	}
	/* The host schedules vCPUs: tell it which one has something to run now. */
	exit_to_host(vcpu, MOAT_EXIT_VCPU_ON);
	vcpu->run->u.vcpu_on.index = target->index;
	return MOAT_EXIT_VCPU_ON;
}

u32 guest_psci_cpu_off(struct vcpu *vcpu)
{
	spin_lock(&vcpu->vm->lock);
	vcpu->power = VCPU_POWER_OFF;
	spin_unlock(&vcpu->vm->lock);
	/* Never returns to the caller: its next life starts at a CPU_ON's entry point. */
	return exit_to_host(vcpu, MOAT_EXIT_VCPU_OFF);
}

long guest_psci_affinity_info(struct vcpu *vcpu, bool smc32)
{
	u64 *x = vcpu->ctx.regs.x;
	struct vm *vm = vcpu->vm;
	u64 level = smc32 ? x[2] & 0xffffffffUL : x[2];
	struct vcpu *target;
	long ret;

	/* Only affinity level 0 (PSCI 1.0 makes the others optional): a vCPU is the only node. */
	if (level != 0) {
		return PSCI_RET_INVALID_PARAMS;
	}
	spin_lock(&vm->lock);
	target = target_vcpu(vm, x[1], smc32);
	if (!target) {
		ret = PSCI_RET_INVALID_PARAMS;
	} else if (target->power == VCPU_POWER_ON) {
		ret = PSCI_AFFINITY_ON;
	} else {
		ret = target->power == VCPU_POWER_ON_PENDING ? PSCI_AFFINITY_ON_PENDING : PSCI_AFFINITY_OFF;
	}
	spin_unlock(&vm->lock);
	return ret;
}

bool vcpu_power_up(struct vcpu *vcpu)
{
	struct guest_context *c = &vcpu->ctx;

	CHECK_LOCKED(&vcpu->vm->lock);
	if (vcpu->power == VCPU_POWER_OFF) {
		return false;
	}
	if (vcpu->power == VCPU_POWER_ON_PENDING) {
		/*
		 * The state PSCI gives a CPU that CPU_ON starts: at the entry point,
		 * x0 = the context ID, EL1h with DAIF masked, MMU and caches off.
		 * The other registers are the vCPU's own from before its CPU_OFF
		 * (the same VM's); the general ones are cleared all the same.
		 */
		memset(c->regs.x, 0, sizeof(c->regs.x));
		c->regs.x[0] = vcpu->on_context;
		c->regs.elr = vcpu->on_entry;
		c->regs.spsr = PSTATE_EL1H_MASKED;
		c->sys[SYS_SCTLR_EL1] = SCTLR_EL1_MMU_OFF;
		vcpu->mmio_read.pending = false;
		vcpu->power = VCPU_POWER_ON;
	}
	return true;
}
