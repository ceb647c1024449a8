/*
 * Host calls on a VM as a whole (docs/ABI.md): VM_CREATE, VM_DESTROY,
 * SET_BOOT, FINALIZE, MEASUREMENT. Thin wrappers: each unpacks x1..x6 into
 * named values once, takes the locks, and combines the VM table (vm.c),
 * ownership transitions (mem.c) and vCPUs; the check order of each call is
 * the one docs/ABI.md documents.
 *
 * Called only from the host-call table (host_call.c).
 * Lock: pagedb_lock, then vm->lock, both held for a call's whole duration
 * (vm_lock_with_pagedb); VM_CREATE takes the new slot's vm->lock only to fill
 * it, since VCPU_RUN looks handles up under vm->lock alone (vm_lock).
 */
#include "host_call.h"

#include "lib.h"
#include "log.h"
#include "mem.h"
#include "moat/abi.h"
#include "pagedb.h"
#include "sign.h"
#include "vcpu.h"
#include "vm.h"

int hc_vm_create(struct host_call_args *args)
{
	struct vm_config cfg = {
		.type = args->a[0],
		.max_vcpus = args->a[1],
		.ram_size = args->a[3],
		.mmio_base = args->a[4],
		.mmio_size = args->a[5],
	};
	u64 root_pa = args->a[2];
	struct vm *vm;
	int ret = vm_check_config(&cfg, root_pa);

	if (ret) {
		return ret;
	}
	spin_lock(&pagedb_lock);
	ret = mem_check_root(root_pa);
	vm = ret ? NULL : vm_alloc_slot();
	if (!ret && !vm) {
		ret = MOAT_E_NOMEM;
	}
	if (!ret) {
		/* A VCPU_RUN holding a stale handle to this slot looks it up under vm->lock alone. */
		spin_lock(&vm->lock);
		vm_init(vm, &cfg, root_pa);
		/*
		 * After vm_init, which clears the VM's page index: the root pages go on
		 * it. Checked just above, under the same lock: taking it cannot fail.
		 */
		CHECK(mem_take_root(vm, root_pa) == MOAT_OK);
		spin_unlock(&vm->lock);
		args->res[0] = vm_handle(vm);
		log_info("vm%u created: %s, %u vCPU(s), RAM %lu MiB, MMIO 0x%lx+0x%lx", vm->slot,
			 vm_is_protected(vm) ? "protected" : "normal", vm->max_vcpus, vm->ram_size >> 20, vm->mmio_base,
			 vm->mmio_size);
	}
	spin_unlock(&pagedb_lock);
	return ret;
}

static bool any_vcpu_loaded(const struct vm *vm)
{
	for (unsigned int i = 0; i < MAX_VCPUS; i++) {
		if (vm->vcpus[i] && vm->vcpus[i]->loaded) {
			return true;
		}
	}
	return false;
}

int hc_vm_destroy(struct host_call_args *args)
{
	u64 handle = args->a[0];
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	/* A vCPU running on another CPU still uses the VM's pages and tables. */
	if (any_vcpu_loaded(vm)) {
		return vm_unlock_with_pagedb(vm, MOAT_E_BUSY);
	}
	for (unsigned int i = 0; i < MAX_VCPUS; i++) {
		if (vm->vcpus[i]) {
			mem_detach_run_page(vm->vcpus[i]->run_pa);
		}
	}
	/* No stage-1 or stage-2 entry of this VMID may outlive its pages. */
	arch_s2_flush_vmid(&vm->s2);
	mem_vm_teardown(vm);
	log_info("vm%u destroyed: its pages wait for RECLAIM (scrubbed on the way back)", vm->slot);
	vm_release(vm);
	return vm_unlock_with_pagedb(vm, MOAT_OK);
}

int hc_set_boot(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 pc = args->a[1]; /* an IPA */
	u64 x0 = args->a[2];
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	if (vm->state != VM_CREATED) {
		return vm_unlock_with_pagedb(vm, MOAT_E_STATE);
	}
	if (!IS_ALIGNED(pc, 4)) {
		return vm_unlock_with_pagedb(vm, MOAT_E_ALIGN);
	}
	if (!vm_ipa_in_ram(vm, pc)) {
		return vm_unlock_with_pagedb(vm, MOAT_E_RANGE);
	}
	vm->boot_pc = pc;
	vm->boot_x0 = x0;
	vm->boot_set = true;
	return vm_unlock_with_pagedb(vm, MOAT_OK);
}

static void boot_vcpu0(struct vm *vm)
{
	struct cpu_regs *regs = &vm->vcpus[0]->ctx.regs;

	regs->x[0] = vm->boot_x0;
	regs->elr = vm->boot_pc;
}

int hc_finalize(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 sig_pa = args->a[1]; /* the owner's signature blob (ABI 1.3), 0: none */
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	if (vm->state != VM_CREATED || !vm->vcpus[0] || !vm->boot_set) {
		return vm_unlock_with_pagedb(vm, MOAT_E_STATE);
	}
	/* The owner's policy decides before anything commits: a refused VM stays CREATED. */
	ret = sign_finalize_check(vm, sig_pa);
	if (ret) {
		return vm_unlock_with_pagedb(vm, ret);
	}
	vm_finalize(vm);
	boot_vcpu0(vm);
	/* x1..x3: the first 24 bytes of the digest; MEASUREMENT gives any word. */
	for (unsigned int i = 0; i < 3; i++) {
		memcpy(&args->res[i], &vm->measurement[8 * i], 8);
	}
	log_info("vm%u finalized", vm->slot);
	return vm_unlock_with_pagedb(vm, MOAT_OK);
}

int hc_measurement(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 word = args->a[1];
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	/* Before FINALIZE there is no digest yet, only a running hash. */
	if (vm->state == VM_CREATED) {
		return vm_unlock_with_pagedb(vm, MOAT_E_STATE);
	}
	if (word > 3) {
		return vm_unlock_with_pagedb(vm, MOAT_E_RANGE);
	}
	memcpy(&args->res[0], &vm->measurement[8 * word], 8);
	return vm_unlock_with_pagedb(vm, MOAT_OK);
}
