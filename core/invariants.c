/*
 * The ownership invariants of DESIGN §4, written down once as a checker that
 * walks the page database against every stage-2 table. Unit tests, the
 * fuzzer (after every host call) and the QEMU attack suite (MOAT_FN_CHECK)
 * all call this one function.
 *
 *  1. Each page has exactly one owner, from the set the core knows, in a
 *     state that owner may hold.
 *  2. The host stage 2 maps a page iff the host owns it (alone or lending
 *     it) or a VM shares its own page with the host (MEM_SHARE); never a
 *     core page, never a VM's private page, never one pending scrub.
 *  3. A VM's stage 2 maps only pages that VM owns or (normal VMs only)
 *     borrows from the host, and only inside the VM's RAM.
 *  4. Pages pending scrub are mapped nowhere (they are scrubbed on RECLAIM,
 *     before the host sees them).
 *  5. Every stage-2 table page is core-owned (a VM's: serving that VM).
 *  And beyond RAM: the host stage 2 never maps a device page the core
 *  emulates (a redistributor's RD_base, DESIGN §0).
 *  And of the bookkeeping: each VM's stage-2 view names its root and a
 *  VMID of its own; each VM's page index (vm->pages, mem.c) holds exactly
 *  the pages that serve the VM, and a page is on an index iff it serves one;
 *  each VM's MMIO guard record holds distinct pages of its MMIO window.
 *
 * Three scopes, so that a caller checking after every host call need not pay
 * O(RAM pages) each time:
 *  - invariants_check(): everything above. Walks every page of RAM (1, 2, 4,
 *    the host side of 3 and 5, index membership and each index's count), the
 *    whole host stage 2 (2 beyond RAM: identity, no emulated device page;
 *    its table pages the core's own), and the per-VM part below.
 *    MOAT_FN_CHECK, the unit tests, and the fuzzer at the end of every input.
 *  - invariants_check_vms(): O(VM pages), per live VM: its view; its index
 *    (only pages serving it, exactly its count, no cycle); every page on it
 *    checked as in the full walk (state, and 2: the host maps it only if it
 *    is a host page lent to the VM); its stage-2 table (3, 4 on the VM side,
 *    5). The fuzzer after every call.
 *  - invariants_check_page(pa): one page as in the full walk (1, 2, index
 *    membership). The fuzzer after every call, for each page it changed.
 * The full walk alone sees a page that serves a VM but is missing from its
 * index, a page the host should map but does not (or maps when pending
 * scrub) that no call touched, and the host table's own shape.
 *
 * Called by hc_diag.c (CHECK), unit tests and the fuzzer.
 * Lock: callers hold pagedb_lock.
 */
#include "invariants.h"

#include "arch.h"
#include "host_mmio.h"
#include "host_s2.h"
#include "log.h"
#include "moat/abi.h"
#include "pagedb.h"
#include "vgic.h"
#include "vm.h"

static struct log_limiter violation_log;

struct check {
	unsigned int violations;
	const struct vm *vm; /* the VM whose table is being walked */
};

static void violation(struct check *c, const char *what, u64 pa)
{
	c->violations++;
	log_ratelimited(&violation_log, LOG_ERROR, "invariant violated: %s (page 0x%lx)", what, pa);
}

static bool owner_known(u16 owner)
{
	return owner == OWNER_HOST || owner == OWNER_CORE || owner == OWNER_NONE ||
	       (OWNER_IS_VM(owner) && vm_slot(OWNER_VM_ID(owner)));
}

static void check_page_state(struct check *c, u64 pa, const struct page_info *p)
{
	if (!owner_known(p->owner)) {
		violation(c, "owner unknown or a destroyed VM", pa);
	}
	if ((p->owner == OWNER_NONE) != (p->state == PAGE_PENDING_SCRUB)) {
		violation(c, "pending scrub without owner none, or owner none otherwise", pa);
	}
	if (p->state == PAGE_SHARED_OWNED && OWNER_IS_VM(p->owner)) {
		/* A guest's page it shares with the host (MEM_SHARE): the host is the only borrower. */
		if (p->peer != OWNER_HOST || (p->flags & PAGE_FLAG_RUN_PAGE)) {
			violation(c, "VM page shared with someone other than the host", pa);
		}
	} else if (p->state == PAGE_SHARED_OWNED) {
		const struct vm *borrower = OWNER_IS_VM(p->peer) ? vm_slot(OWNER_VM_ID(p->peer)) : NULL;

		if (p->owner != OWNER_HOST || (p->peer != OWNER_CORE && !borrower) ||
		    (borrower && borrower->type == MOAT_VM_PROTECTED)) {
			violation(c, "shared page with a bad owner or borrower", pa);
		}
	}
	if (p->owner == OWNER_CORE && p->peer != OWNER_NONE && !vm_slot(OWNER_VM_ID(p->peer))) {
		violation(c, "core page serving a VM that does not exist", pa);
	}
	if ((p->flags & PAGE_FLAG_RUN_PAGE) && !(p->state == PAGE_SHARED_OWNED && p->peer == OWNER_CORE)) {
		violation(c, "run page not shared with the core", pa);
	}
	if ((p->flags & PAGE_FLAG_UNSHARING) &&
	    !(OWNER_IS_VM(p->owner) && p->state == PAGE_SHARED_OWNED && p->peer == OWNER_HOST)) {
		violation(c, "unshare pending on a page the guest does not share with the host", pa);
	}
}

/* Whether the host may map the page: its own (alone or lent out), or a VM's the guest shares with it. */
static bool host_should_map(const struct page_info *p)
{
	return p->owner == OWNER_HOST ||
	       (OWNER_IS_VM(p->owner) && p->state == PAGE_SHARED_OWNED && p->peer == OWNER_HOST);
}

static void check_host_mapping(struct check *c, u64 pa, const struct page_info *p)
{
	u64 out;
	unsigned int flags, level;
	bool mapped = pgt_lookup(host_s2(), pa, &out, &flags, &level) && out == pa;

	if (mapped != host_should_map(p)) {
		violation(c, mapped ? "host stage 2 maps a page the host neither owns nor borrows" :
				      "host page missing from its stage 2",
			  pa);
	}
}

/* On an index iff it serves a VM: next is 0 exactly on pages that serve none (pagedb.h). */
static void check_indexed(struct check *c, u64 pa, const struct page_info *p)
{
	if ((pagedb_page_vm(p) != OWNER_NONE) != (p->next != 0)) {
		violation(c, p->next ? "page on a VM's index serves no VM" : "page serving a VM missing from its index",
			  pa);
	}
}

static void check_page(struct check *c, u64 pa, const struct page_info *p)
{
	check_page_state(c, pa, p);
	check_host_mapping(c, pa, p);
	check_indexed(c, pa, p);
}

/* Every page of RAM; and each live VM's index holds as many pages as serve it. */
static void check_pages(struct check *c)
{
	u32 serving[MAX_VMS] = { 0 };

	for (unsigned int b = 0; b < pagedb_nr_banks(); b++) {
		struct fdt_range bank = pagedb_bank(b);

		for (u64 pa = bank.base; pa < bank.base + bank.size; pa += PAGE_SIZE) {
			const struct page_info *p = pagedb_lookup(pa);
			u16 vm = pagedb_page_vm(p);

			check_page(c, pa, p);
			if (vm != OWNER_NONE && OWNER_VM_ID(vm) < MAX_VMS) {
				serving[OWNER_VM_ID(vm)]++;
			}
		}
	}
	/* With check_index (every page on the list serves the VM, count pages, no cycle): the index is exact. */
	for (unsigned int slot = 0; slot < MAX_VMS; slot++) {
		const struct vm *vm = vm_slot(slot);

		if (vm && vm->pages.count != serving[slot]) {
			violation(c, "VM page index count differs from the pages serving the VM", slot);
		}
	}
}

/*
 * Walk c->vm's index, bounded by its count so that a corrupt list cannot
 * loop: only pages serving the VM, ending after exactly count pages. Each
 * page is checked as the full walk checks it.
 */
static void check_index(struct check *c)
{
	const struct page_list *list = &c->vm->pages;
	u16 me = OWNER_VM(c->vm->slot);
	u32 link = list->head, n = 0;
	struct page_info *p;
	u64 pa;

	for (; link && n < list->count; n++) {
		if (!pagedb_link_page(link, &pa, &p)) {
			violation(c, "VM page index links outside the page database", link);
			return;
		}
		if (pagedb_page_vm(p) != me) {
			violation(c, "VM page index holds a page that does not serve the VM", pa);
		}
		check_page(c, pa, p);
		link = pagedb_next_link(link, p);
	}
	if (link || n != list->count) {
		violation(c, "VM page index is longer or shorter than its count, or loops", c->vm->slot);
	}
}

static void vm_leaf(void *ctx, u64 ia, u64 pa, u64 size, unsigned int flags)
{
	struct check *c = ctx;
	u16 me = OWNER_VM(c->vm->slot);

	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		const struct page_info *p = pagedb_lookup(pa + off);
		bool borrowed = p && p->owner == OWNER_HOST && p->state == PAGE_SHARED_OWNED && p->peer == me;

		if (!p || !(p->owner == me || (borrowed && c->vm->type == MOAT_VM_NORMAL))) {
			violation(c, "VM stage 2 maps a page the VM neither owns nor borrows", pa + off);
		}
		if (!vm_ipa_in_ram(c->vm, ia + off)) {
			violation(c, "VM stage 2 maps an IPA outside the VM's RAM", pa + off);
		}
	}
}

static void vm_table(void *ctx, u64 table_pa)
{
	struct check *c = ctx;
	const struct page_info *p = pagedb_lookup(table_pa);

	if (!p || p->owner != OWNER_CORE || p->peer != OWNER_VM(c->vm->slot)) {
		violation(c, "VM stage-2 table page not the core's on behalf of that VM", table_pa);
	}
}

/* One stage-2 view of c->vm: its VTTBR names its own root and a VMID no other view uses; then its table. */
static void check_view(struct check *c, const struct stage2 *view, const struct pgt_visitor *vv)
{
	u64 root = virt_to_phys(view->pgt.root);

	if (view->vttbr != (root | (u64)view->vmid << VTTBR_VMID_SHIFT) || view->vmid == 0) {
		violation(c, "VM stage-2 VTTBR does not name its root and a guest VMID", root);
	}
	for (unsigned int slot = 0; slot < MAX_VMS; slot++) {
		const struct vm *other = vm_slot(slot);

		if (other && other != c->vm && other->s2.vmid == view->vmid) {
			violation(c, "two VM stage-2 views share a VMID", root);
		}
	}
	/* The root is two pages, claimed at VM_CREATE. */
	vm_table(c, root);
	vm_table(c, root + PAGE_SIZE);
	pgt_walk(&view->pgt, vv);
}

/* The host stage 2 is an identity map; identity-mapped RAM pages are checked one by one in check_pages(). */
static void host_leaf(void *ctx, u64 ia, u64 pa, u64 size, unsigned int flags)
{
	if (ia != pa) {
		violation(ctx, "host stage 2 maps an IPA to a different PA", pa);
	}
	if (host_mmio_overlaps(ia, size)) {
		violation(ctx, "host stage 2 maps a device page the core emulates", ia);
	}
}

static void host_table(void *ctx, u64 table_pa)
{
	const struct page_info *p = pagedb_lookup(table_pa);

	if (!p || p->owner != OWNER_CORE || p->peer != OWNER_NONE) {
		violation(ctx, "host stage-2 table page not the core's own", table_pa);
	}
}

/*
 * The VM's MMIO guard record (guest_mem.c): no more entries than it holds, each a page of the VM's
 * MMIO window outside the vGIC, none twice, none for a normal VM. Under the VM's lock, after
 * pagedb_lock (the order of pagedb.h): a guest's MMIO_GUARD on another CPU appends to it.
 */
static void check_mmio_guard(struct check *c, struct vm *vm)
{
	const struct mmio_guard *g = &vm->mmio_guard;

	spin_lock(&vm->lock);
	if (g->nr > VM_MMIO_GUARD_MAX || (g->nr && !vm_is_protected(vm))) {
		violation(c, "MMIO guard record overfull, or kept for a normal VM", vm->slot);
	} else {
		for (u32 i = 0; i < g->nr; i++) {
			bool dup = false;

			for (u32 j = 0; j < i; j++) {
				dup |= g->page[j] == g->page[i];
			}
			if (dup || !IS_ALIGNED(g->page[i], PAGE_SIZE) || !vm_ipa_in_mmio(vm, g->page[i]) ||
			    vgic_owns_ipa(vm, g->page[i])) {
				violation(c, "MMIO guard record: a page twice, outside the MMIO window or in the vGIC",
					  g->page[i]);
			}
		}
	}
	spin_unlock(&vm->lock);
}

static void check_vms(struct check *c)
{
	struct pgt_visitor vv = { vm_leaf, vm_table, c };

	for (unsigned int slot = 0; slot < MAX_VMS; slot++) {
		struct vm *vm = vm_slot(slot);

		c->vm = vm;
		if (vm) {
			check_index(c);
			check_view(c, &vm->s2, &vv);
			check_mmio_guard(c, vm);
		}
	}
}

unsigned int invariants_check(void)
{
	struct check c = { 0, NULL };
	struct pgt_visitor hv = { host_leaf, host_table, &c };

	check_pages(&c);
	pgt_walk(host_s2(), &hv);
	check_vms(&c);
	return c.violations;
}

unsigned int invariants_check_vms(void)
{
	struct check c = { 0, NULL };

	check_vms(&c);
	return c.violations;
}

unsigned int invariants_check_page(u64 pa)
{
	struct check c = { 0, NULL };
	const struct page_info *p = pagedb_lookup(pa);

	if (p) {
		check_page(&c, pa, p);
	}
	return c.violations;
}
