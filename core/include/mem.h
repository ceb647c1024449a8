/*
 * Page-ownership transitions (DESIGN §4), each written once as
 * check-then-commit: every party's state is checked first (including that
 * table pages for the commit are available), then everything changes; a
 * failed check changes nothing.
 *
 * Callers hold pagedb_lock (and the VM's lock when a VM is named).
 */
#ifndef MOAT_MEM_H
#define MOAT_MEM_H

#include "stage2.h"
#include "types.h"
#include "vm.h"

enum vm_page_kind {
	VM_PAGE_ZEROED,	  /* DONATE_VM: contents cleared */
	VM_PAGE_MEASURED, /* LOAD: contents kept and hashed */
	VM_PAGE_SHARED,	  /* SHARE_VM: host keeps the page, the VM borrows it */
};

/* Validate host pages the host wants to give or lend (alignment, range, ownership): 0 or an error. */
int mem_check_host_page(u64 pa);
int mem_check_host_pages(u64 pa, u64 npages);

int mem_donate_core(struct vm *vm, u64 pa, u64 npages);
int mem_share_core(u64 pa);
int mem_unshare_core(u64 pa);
int mem_give_vm(struct vm *vm, u64 pa, u64 ipa, enum vm_page_kind kind);
int mem_reclaim(u64 pa);

/*
 * VM_CREATE's root: two host pages become the core's, serving this VM, and go
 * on its page index (so: after the VM is initialised). Check first, then take.
 */
int mem_check_root(u64 root_pa);
int mem_take_root(struct vm *vm, u64 root_pa);
/* VM_DESTROY: every page on the VM's index to pending-scrub, borrowed host pages back; O(VM pages). */
void mem_vm_teardown(struct vm *vm);
/*
 * Before a system reset: zero and clean to PoC every page the host does not own
 * (the core's own pages excepted: the next boot reserves them again). Caller
 * holds pagedb_lock. Returns the number of pages scrubbed.
 */
u64 mem_scrub_for_reset(void);

/*
 * Guest memory calls (guest_mem.c) on the VM's page at ipa, which the caller
 * has checked to be page-aligned and inside the VM's RAM. MOAT_E_NOENT: no
 * page backs ipa yet (the caller asks the host to fault one in); MOAT_E_PERM:
 * the page is not in the state the call starts from.
 *   share:      VM OWNED              -> VM SHARED_OWNED, peer HOST, mapped RW in the host stage 2
 *   unshare:    VM SHARED_OWNED (HOST) -> VM OWNED, unmapped from the host stage 2 first. In two
 *               steps: without host_released the page is only marked UNSHARING and the answer
 *               is MOAT_E_BUSY (the caller asks the host to drop its own mappings first);
 *               with it, the transition
 *   relinquish: VM OWNED              -> NONE PENDING_SCRUB, unmapped from the VM's stage 2,
 *               off the VM's index; RECLAIM scrubs it for the host
 */
int mem_guest_share(struct vm *vm, u64 ipa);
int mem_guest_unshare(struct vm *vm, u64 ipa, bool host_released);
int mem_guest_relinquish(struct vm *vm, u64 ipa);
/*
 * GUEST_SHARED: the PA of the page the guest shares with the host at ipa, so
 * the host may map it into its processes. MOAT_E_ALIGN, MOAT_E_RANGE (outside
 * RAM), MOAT_E_PERM for any page the host may not start mapping: unbacked,
 * private, borrowed from the host, or UNSHARING. Caller holds both locks.
 */
int mem_guest_shared_pa(struct vm *vm, u64 ipa, u64 *pa);

/*
 * The guest calls that write secrets (attest.c): the PA of the VM's own page
 * at ipa that nobody else can see (VM OWNED, not shared, not borrowed).
 * MOAT_E_ALIGN, MOAT_E_RANGE (outside RAM), MOAT_E_NOENT (nothing backs
 * ipa yet), MOAT_E_PERM (any other page). Caller holds both locks.
 */
int mem_guest_private_pa(struct vm *vm, u64 ipa, u64 *pa);
/* Attach/detach a run page (a host page shared with the core). */
int mem_attach_run_page(u64 pa);
void mem_detach_run_page(u64 pa);
/*
 * Copy len (<= PAGE_SIZE) bytes from the start of a host page shared with the
 * core (FINALIZE's signature blob): MOAT_E_ALIGN, _RANGE or _PERM if pa is not
 * one. The host may write the page meanwhile: callers check only the copy.
 */
int mem_copy_from_core_shared(u64 pa, void *dst, size_t len);

#endif
