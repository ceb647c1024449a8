/*
 * Host calls on a VM's interrupt lines (docs/ABI.md): VM_SET_SPIS, which
 * lists the SPIs the host may drive (its virtual devices; part of the
 * measurement), and IRQ_LINE, which drives one of them. The model itself is
 * vgic.c's.
 *
 * Called only from the host-call table (host_call.c).
 * Lock: vm->lock for the call (vm_lock: the handle's generation checked under
 * it), then the VM's vgic lock inside vgic.c. No pagedb_lock: no page moves.
 * IRQ_LINE costs O(1) and never waits for a running vCPU, so a flood of them
 * delays nothing but the caller.
 */
#include "host_call.h"

#include "moat/abi.h"
#include "vgic.h"
#include "vm.h"

int hc_vm_set_spis(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 mask = args->a[1]; /* bit n: INTID 32 + n */
	int ret;
	struct vm *vm = vm_lock(handle, &ret);

	if (!vm) {
		return ret;
	}
	ret = vgic_set_spis(vm, mask);
	spin_unlock(&vm->lock);
	return ret;
}

int hc_irq_line(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 intid = args->a[1];
	u64 level = args->a[2];
	int ret;
	struct vm *vm = vm_lock(handle, &ret);

	if (!vm) {
		return ret;
	}
	/* x1: the vCPU the SPI is routed to, so that the host can kick it if it runs on another CPU. */
	ret = vgic_irq_line(vm, intid, level, &args->res[0]);
	spin_unlock(&vm->lock);
	return ret;
}
