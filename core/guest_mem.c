/*
 * The guest's memory calls of the KVM vendor-hypervisor service (pKVM's
 * guest ABI, docs/ABI.md "Guest ABI"): HYP_MEMINFO, MEM_SHARE, MEM_UNSHARE,
 * MMIO_GUARD and Android's MEM_RELINQUISH. The ownership transitions are
 * mem.c's (mem_guest_*); this module validates what the guest passed and
 * turns the outcome into an SMCCC result, so that nothing a guest passes
 * reaches a transition unchecked:
 *   - x1 must be a granule-aligned IPA inside the VM's RAM (MMIO_GUARD: its
 *     MMIO window), x2 and x3 zero (HYP_MEMINFO: x1..x3 zero); otherwise
 *     INVALID_PARAMETER and nothing changes;
 *   - a page not in the state the call starts from (sharing a page twice,
 *     unsharing one never shared, relinquishing a shared page, a host page a
 *     normal VM borrows) is INVALID_PARAMETER too, nothing changes.
 * MEM_SHARE of a RAM page nothing backs yet ends the run with a MEM_FAULT
 * exit for it, the guest's PC back on the HVC: once the host has donated the
 * page, the guest issues the same call again (pKVM does the same).
 *
 * MEM_UNSHARE of a shared page ends the run too, with an UNSHARE exit naming
 * the page and the guest's PC back on the HVC (ABI 1.2): the host may have
 * mapped the page into its processes (a VMM's mmap, found through
 * GUEST_SHARED), and only it can take those mappings down; once the page left
 * its stage 2, a mapping left behind is an external abort in the host (a
 * SIGBUS for a process, an Oops for a kernel access through it). The host
 * drops them and runs the vCPU again; the retried call then completes. It
 * completes only for the vCPU the host was told about (vcpu->unshare_ipa),
 * and only if no MEM_SHARE happened since (vm->share_gen): otherwise another
 * vCPU may have unshared and shared the page again meanwhile, the host may
 * have mapped it afresh, and the host is asked again. A host that never runs
 * the vCPU again stalls only this guest; VM_DESTROY takes the page as any
 * shared one.
 *
 * MMIO_GUARD (KVM_FEATURES bit 7) is enforced for a protected VM once it
 * opted in with its first accepted call: from then on only the pages it
 * guarded (vm->mmio_guard, see vm.h for the bound) reach the host as MMIO
 * exits, and an access to any other page of its MMIO window gets an external
 * abort and no exit (guest_mmio_allowed, called by guest_exit.c's stage-2
 * abort handler). Before that first call nothing changes, so a guest that
 * never calls it, or its early console before the call, works as before. The
 * guard protects the guest from leaking through accesses it never meant for a
 * device -- a stray pointer into the window, a device the host slipped into
 * the devicetree -- so a normal VM, whose every page the host sees anyway,
 * has its calls accepted and counted, not enforced. Guarding a page of the
 * core's vGIC succeeds, takes no entry and opts nothing in: those accesses
 * never reach the host (and see mmio_guard() for the early console that
 * depends on it). There is no unguard: Linux 6.12 guards on ioremap and never unguards
 * (Android's MMIO_GUARD_UNMAP, function 8, is not upstream).
 *
 * Called from guest_hvc() (guest_call.c) on the CPU that has the vCPU
 * loaded. Lock: takes pagedb_lock, then the VM's lock (the order of
 * pagedb.h), for the transitions; no lock across the exit.
 */
#include "guest_call.h"

#include "arch.h"
#include "guest_exit.h"
#include "log.h"
#include "mem.h"
#include "vcpu.h"
#include "vgic.h"

static const char *call_name(u32 fid)
{
	switch (fid) {
	case KVM_FN_MEM_SHARE:
		return "MEM_SHARE";
	case KVM_FN_MEM_UNSHARE:
		return "MEM_UNSHARE";
	case KVM_FN_MMIO_GUARD:
		return "MMIO_GUARD";
	case KVM_FN_MEM_RELINQUISH:
		return "MEM_RELINQUISH";
	default:
		return "HYP_MEMINFO";
	}
}

/* One line per refused call, through the VM's own limiter: a guest can fill only its own budget. */
static long refuse(struct vcpu *vcpu, u32 fid, u64 ipa)
{
	log_ratelimited(&vcpu->vm->refusals.limiter, LOG_INFO, "vm%u vcpu%u: HVC %s of IPA page 0x%lx: INVALID_PARAMETER",
			vcpu->vm->slot, vcpu->index, call_name(fid), ALIGN_DOWN(ipa, PAGE_SIZE));
	return SMCCC_RET_INVALID_PARAMETER;
}

/* True when the page is in the VM's guard record. Caller holds vm->lock. */
static bool mmio_guarded(const struct vm *vm, u64 page)
{
	for (u32 i = 0; i < vm->mmio_guard.nr; i++) {
		if (vm->mmio_guard.page[i] == page) {
			return true;
		}
	}
	return false;
}

/* MMIO_GUARD of ipa (granule-aligned, x2 and x3 zero): the SMCCC result. */
static long mmio_guard(struct vcpu *vcpu, u64 ipa)
{
	struct vm *vm = vcpu->vm;
	bool enforce = vm_is_protected(vm), first, full = false;

	if (!vm_ipa_in_mmio(vm, ipa)) {
		return refuse(vcpu, KVM_FN_MMIO_GUARD, ipa);
	}
	spin_lock(&vm->lock);
	if (vgic_owns_ipa(vm, ipa)) {
		/*
		 * The core answers these pages itself, guarded or not: no entry, and no opt-in either. A Linux
		 * guest guards the GIC first (init_IRQ), long before its UART driver guards the UART (an
		 * arch_initcall): were that the opt-in, every line its earlycon -- a fixmap mapping of the UART,
		 * never ioremapped, never guarded -- printed in between would be refused, and the guest would
		 * fault inside printk. From the UART's own guard on, earlycon writes a guarded page.
		 */
		vm->mmio_guarded++;
		spin_unlock(&vm->lock);
		return SMCCC_RET_SUCCESS;
	}
	first = !vm->mmio_guard.enrolled;
	if (enforce && !mmio_guarded(vm, ipa)) {
		full = vm->mmio_guard.nr == VM_MMIO_GUARD_MAX;
		if (!full) {
			vm->mmio_guard.page[vm->mmio_guard.nr++] = ipa;
		}
	}
	/* A refused call opts nothing in: the guest may not even know the call exists. */
	if (!full) {
		vm->mmio_guard.enrolled = true;
		vm->mmio_guarded++;
	}
	spin_unlock(&vm->lock);
	if (full) {
		log_ratelimited(&vm->refusals.limiter, LOG_INFO,
				"vm%u vcpu%u: HVC MMIO_GUARD of IPA page 0x%lx: %u pages guarded already, the most: "
				"INVALID_PARAMETER",
				vm->slot, vcpu->index, ipa, VM_MMIO_GUARD_MAX);
		return SMCCC_RET_INVALID_PARAMETER;
	}
	if (first) {
		log_ratelimited(&vm->refusals.limiter, LOG_INFO, "vm%u vcpu%u: first MMIO_GUARD (IPA page 0x%lx): %s",
				vm->slot, vcpu->index, ipa,
				enforce ? "unguarded MMIO is refused from now on" : "counted, not enforced (normal VM)");
	}
	return SMCCC_RET_SUCCESS;
}

bool guest_mmio_allowed(struct vm *vm, u64 ipa)
{
	bool allowed;

	if (!vm_is_protected(vm)) {
		return true;
	}
	spin_lock(&vm->lock);
	allowed = !vm->mmio_guard.enrolled || mmio_guarded(vm, ALIGN_DOWN(ipa, PAGE_SIZE));
	spin_unlock(&vm->lock);
	return allowed;
}

/*
 * The transition for fid on ipa, under both locks: 0 or a moat error.
 *
 * The vCPU is loaded: VTTBR_EL2 holds its VM's view, and a TLBI by IPA acts
 * on the VMID there. The transitions edit the host's stage 2 as well as the
 * VM's and expect what host calls run with, the host's VTTBR (VMID 0), so
 * switch to it for them -- an unshare's TLBI would otherwise miss the host's
 * entry and leave it usable -- and back to the VM's view before the guest is
 * entered again.
 */
static int transition(struct vcpu *vcpu, u32 fid, u64 ipa)
{
	struct vm *vm = vcpu->vm;
	bool released;
	int ret;

	arch_s2_switch_to_host();
	spin_lock(&pagedb_lock);
	spin_lock(&vm->lock);
	if (fid == KVM_FN_MEM_SHARE) {
		ret = mem_guest_share(vm, ipa);
		vm->share_gen += ret == MOAT_OK;
	} else if (fid == KVM_FN_MEM_UNSHARE) {
		/* The host dropped its mappings of ipa when it saw this vCPU's exit, and nobody shared since. */
		released = vcpu->unshare_ipa == ipa && vcpu->unshare_gen == vm->share_gen;
		ret = mem_guest_unshare(vm, ipa, released);
		vcpu->unshare_ipa = ret == MOAT_E_BUSY ? ipa : 0;
		vcpu->unshare_gen = vm->share_gen;
	} else {
		ret = mem_guest_relinquish(vm, ipa);
	}
	spin_unlock(&vm->lock);
	spin_unlock(&pagedb_lock);
	arch_s2_switch_to(&vm->s2);
	return ret;
}

/* The host is to drop its mappings of ipa first: the run ends, the HVC runs again at the next VCPU_RUN. */
static u32 unshare_exit(struct vcpu *vcpu, u64 ipa)
{
	vcpu->ctx.regs.elr -= 4;
	exit_to_host(vcpu, MOAT_EXIT_UNSHARE);
	vcpu->run->u.unshare.ipa = ipa;
	return MOAT_EXIT_UNSHARE;
}

static u32 demand_page(struct vcpu *vcpu, u64 ipa)
{
	/* ELR is past the HVC: back onto it, so that the call runs again once the page is there. */
	vcpu->ctx.regs.elr -= 4;
	exit_to_host(vcpu, MOAT_EXIT_MEM_FAULT);
	vcpu->run->u.mem_fault.ipa = ipa;
	return MOAT_EXIT_MEM_FAULT;
}

u32 guest_mem_call(struct vcpu *vcpu, u32 fid)
{
	u64 *x = vcpu->ctx.regs.x;
	struct vm *vm = vcpu->vm;
	u64 ipa = x[1];
	long ret = SMCCC_RET_SUCCESS;
	int err;

	if (fid == KVM_FN_HYP_MEMINFO) {
		x[0] = x[1] | x[2] | x[3] ? (u64)SMCCC_RET_INVALID_PARAMETER : KVM_HYP_MEMINFO_GRANULE;
		return MOAT_EXIT_NONE;
	}
	if (x[2] || x[3] || !IS_ALIGNED(ipa, KVM_HYP_MEMINFO_GRANULE)) {
		x[0] = (u64)refuse(vcpu, fid, ipa);
		return MOAT_EXIT_NONE;
	}
	if (fid == KVM_FN_MMIO_GUARD) {
		x[0] = (u64)mmio_guard(vcpu, ipa);
		return MOAT_EXIT_NONE;
	}
	if (!vm_ipa_in_ram(vm, ipa)) {
		x[0] = (u64)refuse(vcpu, fid, ipa);
		return MOAT_EXIT_NONE;
	}
	err = transition(vcpu, fid, ipa);
	if (err == MOAT_E_NOENT && fid == KVM_FN_MEM_SHARE) {
		return demand_page(vcpu, ipa);
	}
	if (err == MOAT_E_BUSY && fid == KVM_FN_MEM_UNSHARE) {
		return unshare_exit(vcpu, ipa);
	}
	/* Relinquishing a page nothing backs gives nothing away: done, as asked. */
	if (err && !(err == MOAT_E_NOENT && fid == KVM_FN_MEM_RELINQUISH)) {
		ret = refuse(vcpu, fid, ipa);
	}
	x[0] = (u64)ret;
	return MOAT_EXIT_NONE;
}
