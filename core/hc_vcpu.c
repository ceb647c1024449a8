/*
 * Host calls on one vCPU (docs/ABI.md): VCPU_CREATE, VCPU_RUN, VCPU_GET_REG,
 * VCPU_SET_REG. Thin wrappers: each unpacks x1..x6 into named values (VM
 * handle, vCPU index, run-page PA, register ID) once, looks the VM up and
 * hands vcpu.c typed arguments; the run loop itself is vcpu.c's.
 *
 * Called only from the host-call table (host_call.c).
 * Lock: pagedb_lock, then vm->lock, for VCPU_CREATE (it claims the run page)
 * and the register calls. VCPU_RUN takes only vm->lock, to look the handle up
 * and mark the vCPU loaded, and holds no lock while the guest runs; it
 * unmarks the vCPU under vm->lock afterwards.
 */
#include "host_call.h"

#include "moat/abi.h"
#include "vcpu.h"
#include "vm.h"

int hc_vcpu_create(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 index = args->a[1];
	u64 run_pa = args->a[2];
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	return vm_unlock_with_pagedb(vm, vcpu_create(vm, index, run_pa));
}

int hc_vcpu_run(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 index = args->a[1];
	struct vcpu *vcpu;
	bool flush_local;
	int ret;
	/*
	 * The lookup with its generation check and the loaded mark under one hold
	 * of vm->lock, without pagedb_lock (a run must not wait for page calls):
	 * a VM destroyed and its slot reused between an unlocked lookup and the
	 * lock would have the new VM's vCPU run under the old VM's handle.
	 */
	struct vm *vm = vm_lock(handle, &ret);

	if (!vm) {
		return ret;
	}
	ret = vcpu_start_run(vm, index, &vcpu, &flush_local);
	spin_unlock(&vm->lock);
	if (ret) {
		return ret;
	}
	return vcpu_run(vcpu, flush_local, &args->res[0]);
}

int hc_vcpu_get_reg(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 index = args->a[1];
	u64 reg = args->a[2]; /* MOAT_REG_* */
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	return vm_unlock_with_pagedb(vm, vcpu_get_reg(vm, index, reg, &args->res[0]));
}

int hc_vcpu_set_reg(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 index = args->a[1];
	u64 reg = args->a[2]; /* MOAT_REG_* */
	u64 value = args->a[3];
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	return vm_unlock_with_pagedb(vm, vcpu_set_reg(vm, index, reg, value));
}
