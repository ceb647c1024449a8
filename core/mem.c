/*
 * Page-ownership transitions (see mem.h and DESIGN §4).
 *
 * Every transition first checks all pages and resources involved and only
 * then commits, so an error changes nothing. The commit order for a page
 * leaving the host is: unmap it from the host stage 2 (break-before-make,
 * TLB invalidated), clean+invalidate it so no dirty host line can later be
 * written back over the new owner's data, prepare its contents, clean to PoC
 * (a guest with its MMU off reads memory, not caches), invalidate the
 * I-cache for it (every VM page is mapped executable, and a PIPT I-cache may
 * still hold the host's instructions at that address), then record the new
 * owner and map it for that owner. A page coming back to the host is zeroed,
 * cleaned and its I-cache lines dropped before the host maps it again, so
 * the host can neither read nor execute what the guest left there.
 *
 * Each VM keeps an index of the pages that serve it (vm->pages, a list
 * threaded through the page database: pages it owns, core pages working for
 * it, host pages it borrows; pagedb_page_vm() says which VM a page serves).
 * A page joins it in the same commit that makes it serve the VM (set_vm_page:
 * VM_CREATE's root, DONATE_CORE, DONATE_VM, LOAD, SHARE_VM) and leaves it
 * only at VM_DESTROY, which empties the whole index, so that VM_DESTROY and
 * the invariant checker's per-VM part cost O(VM pages), not O(RAM pages).
 * No other transition touches a page that serves a VM: their checks demand a
 * host page not lent out (PERM otherwise), and RECLAIM takes only a page
 * pending scrub (BUSY or PERM for one serving a VM). A transition that makes
 * a single page stop serving a VM (a guest relinquishing one) must take it
 * off the index too: pagedb_list_pop() of the head, or a walk to unlink it.
 *
 * Lock: callers hold pagedb_lock, and the VM's lock when a VM is named.
 */
#include "mem.h"

#include "arch.h"
#include "host_s2.h"
#include "lib.h"
#include "log.h"
#include "moat/abi.h"
#include "pagedb.h"
#include "pgtable.h"

/* A single-page map into an empty region of a stage 2 needs a level-2 and a level-3 table. */
#define S2_TABLES_PER_PAGE 2
#define DONATE_CORE_MAX_PAGES 512

int mem_check_host_page(u64 pa)
{
	return mem_check_host_pages(pa, 1);
}

/* docs/ABI.md's order: alignment, then range (every page), then ownership (every page). */
int mem_check_host_pages(u64 pa, u64 npages)
{
	if (!IS_ALIGNED(pa, PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	for (u64 i = 0; i < npages; i++) {
		if (!pagedb_lookup(pa + i * PAGE_SIZE)) {
			return MOAT_E_RANGE;
		}
	}
	for (u64 i = 0; i < npages; i++) {
		struct page_info *page = pagedb_lookup(pa + i * PAGE_SIZE);

		if (page->owner != OWNER_HOST || page->state != PAGE_OWNED) {
			return MOAT_E_PERM;
		}
	}
	return MOAT_OK;
}

static void set_page(u64 pa, u16 owner, enum page_state state, u16 peer)
{
	struct page_info *page = pagedb_lookup(pa);

	page->owner = owner;
	page->state = (u8)state;
	page->peer = peer;
	page->flags = 0;
}

/* A page starts serving vm: recorded in the database and on the VM's index, in one step. */
static void set_vm_page(struct vm *vm, u64 pa, u16 owner, enum page_state state, u16 peer)
{
	set_page(pa, owner, state, peer);
	pagedb_list_push(&vm->pages, pa);
}

/* Commit: the host loses the page; no stale host cache line survives. */
static void take_from_host(u64 pa)
{
	host_s2_unmap_page(pa);
	arch_dcache_clean_inval_poc(pa, PAGE_SIZE);
}

int mem_donate_core(struct vm *vm, u64 pa, u64 npages)
{
	int ret;

	CHECK_PAGEDB_VM_LOCKED(vm);
	if (npages == 0 || npages > DONATE_CORE_MAX_PAGES) {
		return MOAT_E_RANGE;
	}
	ret = mem_check_host_pages(pa, npages);
	if (ret) {
		return ret;
	}
	if (!host_s2_can_unmap(pa, npages * PAGE_SIZE)) {
		return MOAT_E_NOMEM;
	}
	for (u64 i = 0; i < npages; i++) {
		take_from_host(pa + i * PAGE_SIZE);
		set_vm_page(vm, pa + i * PAGE_SIZE, OWNER_CORE, PAGE_OWNED, OWNER_VM(vm->slot));
		memcache_free(&vm->memcache, phys_to_virt(pa + i * PAGE_SIZE));
	}
	return MOAT_OK;
}

/* The one place mem.c picks the view a VM's pages are mapped into: one per VM until trust levels land. */
static struct stage2 *vm_view(struct vm *vm)
{
	return &vm->s2;
}

/* TLBIs of the edit act on the VMID in VTTBR_EL2: the view's, for the edit only. */
static int s2_map_page(struct stage2 *view, u64 ipa, u64 pa)
{
	int ret;

	arch_s2_switch_to(view);
	ret = pgt_map(&view->pgt, ipa, pa, PAGE_SIZE, PGT_RWX);
	arch_s2_switch_to_host();
	return ret;
}

int mem_check_root(u64 root_pa)
{
	int ret;

	CHECK_LOCKED(&pagedb_lock);
	if (!IS_ALIGNED(root_pa, 2 * PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	ret = mem_check_host_pages(root_pa, 2);
	if (!ret && !host_s2_can_unmap(root_pa, 2 * PAGE_SIZE)) {
		ret = MOAT_E_NOMEM;
	}
	return ret;
}

int mem_take_root(struct vm *vm, u64 root_pa)
{
	int ret = mem_check_root(root_pa);

	CHECK_LOCKED(&pagedb_lock); /* the slot is being claimed: its VM lock is not needed yet */
	if (ret) {
		return ret;
	}
	for (u64 pa = root_pa; pa < root_pa + 2 * PAGE_SIZE; pa += PAGE_SIZE) {
		take_from_host(pa);
		set_vm_page(vm, pa, OWNER_CORE, PAGE_OWNED, OWNER_VM(vm->slot));
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	}
	return MOAT_OK;
}

int mem_share_core(u64 pa)
{
	struct page_info *page;
	int ret = mem_check_host_page(pa);

	CHECK_LOCKED(&pagedb_lock);
	if (ret == MOAT_E_PERM) {
		page = pagedb_lookup(pa);
		if (page->owner == OWNER_HOST && page->state == PAGE_SHARED_OWNED && page->peer == OWNER_CORE) {
			return MOAT_E_EXIST;
		}
	}
	if (ret) {
		return ret;
	}
	set_page(pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE);
	return MOAT_OK;
}

static int check_shared_with_core(u64 pa)
{
	struct page_info *page;

	if (!IS_ALIGNED(pa, PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	page = pagedb_lookup(pa);
	if (!page) {
		return MOAT_E_RANGE;
	}
	if (page->owner != OWNER_HOST || page->state != PAGE_SHARED_OWNED || page->peer != OWNER_CORE) {
		return MOAT_E_PERM;
	}
	return MOAT_OK;
}

/* A host page shared with the core and not serving as a vCPU's run page. */
static int check_shared_unattached(u64 pa)
{
	int ret = check_shared_with_core(pa);

	if (!ret && (pagedb_lookup(pa)->flags & PAGE_FLAG_RUN_PAGE)) {
		ret = MOAT_E_BUSY;
	}
	return ret;
}

int mem_unshare_core(u64 pa)
{
	int ret = check_shared_unattached(pa);

	CHECK_LOCKED(&pagedb_lock);
	if (!ret) {
		set_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_NONE);
	}
	return ret;
}

int mem_attach_run_page(u64 pa)
{
	int ret = check_shared_unattached(pa);

	CHECK_LOCKED(&pagedb_lock);
	if (!ret) {
		pagedb_lookup(pa)->flags |= PAGE_FLAG_RUN_PAGE;
	}
	return ret;
}

int mem_copy_from_core_shared(u64 pa, void *dst, size_t len)
{
	int ret = check_shared_with_core(pa);

	CHECK_LOCKED(&pagedb_lock);
	if (!ret) {
		memcpy(dst, phys_to_virt(pa), MIN(len, PAGE_SIZE));
	}
	return ret;
}

void mem_detach_run_page(u64 pa)
{
	struct page_info *page = pagedb_lookup(pa);

	CHECK_LOCKED(&pagedb_lock);
	if (page) {
		page->flags &= (u8)~PAGE_FLAG_RUN_PAGE;
	}
}

/*
 * State, then alignment, then range, then (LOAD only) order, then ownership, then what is already there,
 * then capacity. The order rule (docs/measurement.md): a LOAD's IPA is above every earlier LOAD's, so the
 * image digest has one defined page order; it is an argument check, so it comes with the IPA's others,
 * before anything about the page.
 */
static int check_give_vm(struct vm *vm, u64 pa, u64 ipa, enum vm_page_kind kind)
{
	u64 out;
	unsigned int flags, level;
	int ret;

	if (vm->state == VM_OFF) {
		return MOAT_E_STATE;
	}
	if (!IS_ALIGNED(pa | ipa, PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	if (!pagedb_lookup(pa) || !vm_ipa_in_ram(vm, ipa)) {
		return MOAT_E_RANGE;
	}
	if (kind == VM_PAGE_MEASURED && ipa < vm->next_load_ipa) {
		return MOAT_E_ORDER;
	}
	ret = mem_check_host_page(pa);
	if (ret) {
		return ret;
	}
	if (pgt_lookup(&vm_view(vm)->pgt, ipa, &out, &flags, &level)) {
		return MOAT_E_EXIST;
	}
	if (vm->memcache.count < S2_TABLES_PER_PAGE) {
		return MOAT_E_NOMEM;
	}
	if (kind != VM_PAGE_SHARED && !host_s2_can_unmap(pa, PAGE_SIZE)) {
		return MOAT_E_NOMEM;
	}
	return MOAT_OK;
}

/* Prepare the contents of a page the VM now owns, then make them visible to an MMU-off guest. */
static void prepare_vm_page(struct vm *vm, u64 pa, u64 ipa, enum vm_page_kind kind)
{
	void *va = phys_to_virt(pa);

	if (kind == VM_PAGE_ZEROED) {
		memset(va, 0, PAGE_SIZE);
	} else if (kind == VM_PAGE_MEASURED) {
		vm_measure_page(vm, ipa, va);
		/* Only a LOAD that succeeds moves the order on (check_give_vm refused the others). */
		vm->next_load_ipa = ipa + PAGE_SIZE;
	}
	arch_dcache_clean_inval_poc(pa, PAGE_SIZE);
	arch_icache_inval_pou(pa, PAGE_SIZE);
}

int mem_give_vm(struct vm *vm, u64 pa, u64 ipa, enum vm_page_kind kind)
{
	int ret = check_give_vm(vm, pa, ipa, kind);

	CHECK_PAGEDB_VM_LOCKED(vm);
	if (ret) {
		return ret;
	}
	if (kind == VM_PAGE_SHARED) {
		/* The host keeps writing it through its caches; the guest may start with its MMU off. */
		arch_dcache_clean_inval_poc(pa, PAGE_SIZE);
		arch_icache_inval_pou(pa, PAGE_SIZE);
		set_vm_page(vm, pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_VM(vm->slot));
	} else {
		take_from_host(pa);
		prepare_vm_page(vm, pa, ipa, kind);
		set_vm_page(vm, pa, OWNER_VM(vm->slot), PAGE_OWNED, OWNER_NONE);
	}
	ret = s2_map_page(vm_view(vm), ipa, pa);
	/* The memcache was checked to hold enough table pages. */
	CHECK(ret == MOAT_OK);
	return MOAT_OK;
}

int mem_reclaim(u64 pa)
{
	struct page_info *page;

	CHECK_LOCKED(&pagedb_lock);
	if (!IS_ALIGNED(pa, PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	page = pagedb_lookup(pa);
	if (!page) {
		return MOAT_E_RANGE;
	}
	if (OWNER_IS_VM(page->owner) || (page->owner == OWNER_CORE && page->peer != OWNER_NONE)) {
		return MOAT_E_BUSY;
	}
	if (page->state != PAGE_PENDING_SCRUB) {
		return MOAT_E_PERM;
	}
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	arch_dcache_clean_poc(pa, PAGE_SIZE);
	/* The guest may have executed from this page: its instructions must not outlive the scrub. */
	arch_icache_inval_pou(pa, PAGE_SIZE);
	set_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_NONE);
	host_s2_map_page(pa);
	return MOAT_OK;
}

/*
 * The page the VM's stage 2 maps at ipa, if it is the VM's own and in state
 * want (PAGE_SHARED_OWNED means shared with the host). The three guest memory
 * calls differ only in want; each refusal changes nothing.
 */
static int vm_own_page(struct vm *vm, u64 ipa, enum page_state want, u64 *pa)
{
	struct page_info *page;
	unsigned int flags, level;

	CHECK_PAGEDB_VM_LOCKED(vm);
	if (!pgt_lookup(&vm_view(vm)->pgt, ipa, pa, &flags, &level)) {
		return MOAT_E_NOENT;
	}
	*pa = ALIGN_DOWN(*pa, PAGE_SIZE);
	page = pagedb_lookup(*pa);
	/* A host page the VM borrows (SHARE_VM) is not the guest's to share or give away. */
	if (!page || page->owner != OWNER_VM(vm->slot) || page->state != want ||
	    (want == PAGE_SHARED_OWNED && page->peer != OWNER_HOST)) {
		return MOAT_E_PERM;
	}
	return MOAT_OK;
}

int mem_guest_share(struct vm *vm, u64 ipa)
{
	u64 pa;
	int ret = vm_own_page(vm, ipa, PAGE_OWNED, &pa);

	if (ret) {
		return ret;
	}
	/*
	 * A guest with its MMU off wrote past the caches: drop any line the host
	 * could otherwise read stale data from.
	 */
	arch_dcache_clean_inval_poc(pa, PAGE_SIZE);
	set_page(pa, OWNER_VM(vm->slot), PAGE_SHARED_OWNED, OWNER_HOST);
	host_s2_lend_page(pa);
	return MOAT_OK;
}

int mem_guest_unshare(struct vm *vm, u64 ipa, bool host_released)
{
	u64 pa;
	int ret = vm_own_page(vm, ipa, PAGE_SHARED_OWNED, &pa);

	if (ret) {
		return ret;
	}
	if (!host_released) {
		/*
		 * The host may still map the page into its processes (a VMM's mmap):
		 * only the host can drop those mappings, and once the page leaves its
		 * stage 2 a leftover one is an external abort in the host. Mark it so
		 * that mem_guest_shared_pa() hands it out no more; the guest's call
		 * completes when the host runs the vCPU again (guest_mem.c).
		 */
		pagedb_lookup(pa)->flags |= PAGE_FLAG_UNSHARING;
		return MOAT_E_BUSY;
	}
	/*
	 * The host's mapping goes first (break-before-make, TLBI), so that no host
	 * access lands once the guest is told the page is private again; then no
	 * dirty host line may be written back over what the guest writes next.
	 */
	host_s2_unmap_page(pa);
	arch_dcache_clean_inval_poc(pa, PAGE_SIZE);
	set_page(pa, OWNER_VM(vm->slot), PAGE_OWNED, OWNER_NONE);
	return MOAT_OK;
}

int mem_guest_shared_pa(struct vm *vm, u64 ipa, u64 *pa)
{
	int ret;

	CHECK_PAGEDB_VM_LOCKED(vm);
	if (!IS_ALIGNED(ipa, PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	if (!vm_ipa_in_ram(vm, ipa)) {
		return MOAT_E_RANGE;
	}
	ret = vm_own_page(vm, ipa, PAGE_SHARED_OWNED, pa);
	/* Unbacked, private, or on its way back to the guest: nothing the host may start to map. */
	if (ret || (pagedb_lookup(*pa)->flags & PAGE_FLAG_UNSHARING)) {
		*pa = 0;
		return MOAT_E_PERM;
	}
	return MOAT_OK;
}

int mem_guest_private_pa(struct vm *vm, u64 ipa, u64 *pa)
{
	CHECK_PAGEDB_VM_LOCKED(vm);
	if (!IS_ALIGNED(ipa, PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	if (!vm_ipa_in_ram(vm, ipa)) {
		return MOAT_E_RANGE;
	}
	return vm_own_page(vm, ipa, PAGE_OWNED, pa);
}

int mem_guest_relinquish(struct vm *vm, u64 ipa)
{
	struct stage2 *view = vm_view(vm);
	u64 pa;
	/* A shared page is unshared first: the host must not keep a mapping of a page pending scrub. */
	int ret = vm_own_page(vm, ipa, PAGE_OWNED, &pa);

	if (ret) {
		return ret;
	}
	/* Break-before-make under the VM's VMID: the TLBIs of the edit act on the VMID in VTTBR_EL2. */
	arch_s2_switch_to(view);
	ret = pgt_unmap(&view->pgt, ALIGN_DOWN(ipa, PAGE_SIZE), PAGE_SIZE);
	arch_s2_switch_to_host();
	/* A level-3 entry (the VM's pages are mapped page by page): removing it needs no table page. */
	CHECK(ret == MOAT_OK);
	CHECK(pagedb_list_remove(&vm->pages, pa));
	/* Nobody's until RECLAIM zeroes it: the host never sees what the guest left there. */
	set_page(pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE);
	return MOAT_OK;
}

/* Walks the VM's index only: every page serving the VM is on it (see the top of this file). */
void mem_vm_teardown(struct vm *vm)
{
	u64 pa;

	CHECK_PAGEDB_VM_LOCKED(vm);
	while (pagedb_list_pop(&vm->pages, &pa)) {
		struct page_info *page = pagedb_lookup(pa);

		if (page->owner == OWNER_HOST) {
			/* Lent by the host (SHARE_VM): the host's alone again, contents untouched. */
			set_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_NONE);
		} else {
			if (page->state == PAGE_SHARED_OWNED && page->peer == OWNER_HOST) {
				/* Shared by the guest (MEM_SHARE): the host's view goes before the page is nobody's. */
				host_s2_unmap_page(pa);
			}
			/* The VM's own, or the core's working for it: nobody's until RECLAIM scrubs it. */
			set_page(pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE);
		}
	}
}

u64 mem_scrub_for_reset(void)
{
	u64 scrubbed = 0;

	CHECK_LOCKED(&pagedb_lock);
	for (unsigned int b = 0; b < pagedb_nr_banks(); b++) {
		struct fdt_range bank = pagedb_bank(b);

		for (u64 pa = bank.base; pa < bank.base + bank.size; pa += PAGE_SIZE) {
			struct page_info *page = pagedb_lookup(pa);
			bool core_own = page->owner == OWNER_CORE && page->peer == OWNER_NONE;

			if (page->owner != OWNER_HOST && !core_own) {
				memset(phys_to_virt(pa), 0, PAGE_SIZE);
				arch_dcache_clean_poc(pa, PAGE_SIZE);
				scrubbed++;
			}
		}
	}
	/* The rebooted host may execute from any of these pages: drop every I-cache line once. */
	arch_icache_inval_all();
	return scrubbed;
}
