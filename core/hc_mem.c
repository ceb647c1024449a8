/*
 * Host calls that move memory (docs/ABI.md, DESIGN §4): DONATE_CORE,
 * DONATE_VM, LOAD, SHARE_VM, SHARE_CORE, UNSHARE_CORE, RECLAIM, and the
 * GUEST_SHARED query. Thin
 * wrappers: each unpacks x1..x6 into named values (handle, PA, IPA, count)
 * once, takes the locks and calls the one transition in mem.c that does the
 * work, check-then-commit.
 *
 * Called only from the host-call table (host_call.c).
 * Lock: pagedb_lock for every call, then the named VM's vm->lock, both for
 * the call's whole duration.
 */
#include "host_call.h"

#include "mem.h"
#include "moat/abi.h"
#include "pagedb.h"
#include "vm.h"

int hc_donate_core(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 pa = args->a[1];
	u64 npages = args->a[2];
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	return vm_unlock_with_pagedb(vm, mem_donate_core(vm, pa, npages));
}

/* DONATE_VM, LOAD and SHARE_VM: one host page to one IPA of a VM, differing in what happens to its contents. */
static int give_vm(struct host_call_args *args, enum vm_page_kind kind)
{
	u64 handle = args->a[0];
	u64 pa = args->a[1];
	u64 ipa = args->a[2];
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	/* The measurement is fixed at FINALIZE: nothing measured may come later. */
	if (kind == VM_PAGE_MEASURED && vm->state != VM_CREATED) {
		return vm_unlock_with_pagedb(vm, MOAT_E_STATE);
	}
	/* A protected VM's memory is never visible to the host. */
	if (kind == VM_PAGE_SHARED && vm_is_protected(vm)) {
		return vm_unlock_with_pagedb(vm, MOAT_E_PERM);
	}
	return vm_unlock_with_pagedb(vm, mem_give_vm(vm, pa, ipa, kind));
}

int hc_donate_vm(struct host_call_args *args)
{
	return give_vm(args, VM_PAGE_ZEROED);
}

int hc_load(struct host_call_args *args)
{
	return give_vm(args, VM_PAGE_MEASURED);
}

int hc_share_vm(struct host_call_args *args)
{
	return give_vm(args, VM_PAGE_SHARED);
}

/* GUEST_SHARED: read-only; the host learns only what it could learn by reading the page (or failing to). */
int hc_guest_shared(struct host_call_args *args)
{
	u64 handle = args->a[0];
	u64 ipa = args->a[1];
	int ret;
	struct vm *vm = vm_lock_with_pagedb(handle, &ret);

	if (!vm) {
		return ret;
	}
	return vm_unlock_with_pagedb(vm, mem_guest_shared_pa(vm, ipa, &args->res[0]));
}

/* SHARE_CORE, UNSHARE_CORE, RECLAIM: one host page, no VM named, pagedb_lock only. */
static int host_page_call(int (*transition)(u64 pa), u64 pa)
{
	int ret;

	spin_lock(&pagedb_lock);
	ret = transition(pa);
	spin_unlock(&pagedb_lock);
	return ret;
}

int hc_share_core(struct host_call_args *args)
{
	u64 pa = args->a[0];

	return host_page_call(mem_share_core, pa);
}

int hc_unshare_core(struct host_call_args *args)
{
	u64 pa = args->a[0];

	return host_page_call(mem_unshare_core, pa);
}

int hc_reclaim(struct host_call_args *args)
{
	u64 pa = args->a[0];

	return host_page_call(mem_reclaim, pa);
}
