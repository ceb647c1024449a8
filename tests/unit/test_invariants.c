/*
 * Unit tests for the ownership invariant checker itself (core/invariants.c)
 * and for STATS, on the fake machine (tests/common/fake_machine.h).
 *
 * A consistent machine with VMs in every state (protected and normal,
 * CREATED, FINALIZED, OFF, destroyed with pages pending scrub, host pages
 * shared with the core and with a normal VM) must give 0 violations. Then
 * one thing at a time is corrupted -- a page-database entry through
 * pagedb_lookup(), or a mapping through pgt_map/pgt_unmap on the host's or a
 * VM's stage 2 -- for each invariant of DESIGN §4, the checker must report
 * at least one violation, and after the corruption is undone 0 again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <moat/abi.h>
#include <moat/errors.h>

#include "fake_arch.h"
#include "fake_machine.h"
#include "host_s2.h"
#include "invariants.h"
#include "pagedb.h"
#include "pgtable.h"
#include "vm.h"

#define RAM_MIB 32
#define PROT MOAT_VM_PROTECTED
#define NORM MOAT_VM_NORMAL
#define IPA_2M (MOAT_GUEST_RAM_BASE + SZ_2M)
#define IPA_FREE (MOAT_GUEST_RAM_BASE + PAGE_SIZE) /* unmapped, in a region whose tables exist */

static struct fake_machine machine;
static struct fake_machine *const m = &machine;

/* The consistent machine every test starts from. */
static struct {
	struct fm_vm prot;	  /* protected, finalized, one donated page at IPA_2M */
	struct fm_vm norm;	  /* normal, finalized, one host page lent at IPA_2M */
	struct fm_vm created;	  /* protected, still CREATED */
	struct fm_vm off;	  /* normal, powered off */
	u64 donated, lent;	  /* prot's donated page, norm's borrowed host page */
	u64 pending;		  /* a page pending scrub (a destroyed VM's) */
	unsigned int dead_slot;	  /* that VM's (now free) slot */
	u64 host, shared_core;	  /* a plain host page, one shared with the core */
	u64 reclaimed;		  /* a page of the destroyed VM already reclaimed */
} w;

#define expect_ok(call) assert_int_equal((call), MOAT_OK)

static int setup(void **state)
{
	struct fm_vm dead;
	u64 res[3];

	fake_machine_init(m, RAM_MIB);
	memset(&w, 0, sizeof(w));
	w.prot = fm_build_vm(m, PROT, 0);
	w.norm = fm_build_vm(m, NORM, 0);
	w.created = fm_build_vm(m, PROT, FM_NO_FINALIZE);
	w.off = fm_build_vm(m, NORM, 0);
	expect_ok(FM_CALLR(res, MOAT_FN_VCPU_RUN, w.off.handle, 0)); /* no script: the guest powers off */
	assert_int_equal(res[0], MOAT_EXIT_SYSTEM_OFF);
	w.donated = fm_host_page(m);
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, w.prot.handle, w.donated, IPA_2M));
	w.lent = fm_host_page(m);
	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, w.norm.handle, w.lent, IPA_2M));
	dead = fm_build_vm(m, PROT, 0);
	w.dead_slot = dead.slot;
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, dead.handle));
	w.pending = dead.code_pa;
	w.reclaimed = dead.memcache_pa;
	expect_ok(FM_CALL(MOAT_FN_RECLAIM, w.reclaimed));
	w.host = fm_host_page(m);
	w.shared_core = fm_host_page(m);
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, w.shared_core));
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(m);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

static struct vm *vm_of(const struct fm_vm *v)
{
	return fm_vm_of(v);
}

#define expect_detected(what) expect_detected_at((what), __FILE__, __LINE__)

static void expect_detected_at(const char *what, const char *file, int line)
{
	u64 res[3];

	if (fm_violations() == 0) {
		print_error("corruption not detected: %s\n", what);
		_fail(file, line);
	}
	/* The host sees the same through CHECK. */
	_assert_int_equal(FM_CALLR(res, MOAT_FN_CHECK, 0), MOAT_OK, file, line);
	_assert_true(res[0] >= 1, "CHECK reports the violation", file, line);
}

#define expect_clean() _assert_int_equal(fm_violations(), 0, __FILE__, __LINE__)

/* Replace a page's database entry, expect a violation, put it back, expect none. */
#define corrupt_entry(pa, owner, st, peer, flags, what)                                                              \
	corrupt_entry_at((pa), (struct page_info){ (owner), (peer), (st), (flags), 0 }, (what), __FILE__, __LINE__)

static void corrupt_entry_at(u64 pa, struct page_info bad, const char *what, const char *file, int line)
{
	struct page_info *p = pagedb_lookup(pa), saved;

	_assert_true(p != NULL, "page is DRAM", file, line);
	saved = *p;
	/* One thing at a time: the page stays on whatever VM page index it is on. */
	bad.next = saved.next;
	*p = bad;
	expect_detected_at(what, file, line);
	*p = saved;
	_assert_int_equal(fm_violations(), 0, file, line);
}

/* Map pa at ia in a stage 2 (the host's or a VM's), expect a violation, unmap, expect none. */
static void corrupt_map(struct pgtable *pgt, u64 ia, u64 pa, const char *what)
{
	u64 out;
	unsigned int flags, level;

	assert_false(pgt_lookup(pgt, ia, &out, &flags, &level));
	expect_ok(pgt_map(pgt, ia, pa, PAGE_SIZE, PGT_RWX));
	expect_detected(what);
	expect_ok(pgt_unmap(pgt, ia, PAGE_SIZE));
	expect_clean();
}

struct tables {
	u64 pa[64];
	unsigned int n;
};

static void add_table(void *ctx, u64 table_pa)
{
	struct tables *t = ctx;

	assert_true(t->n < 64);
	t->pa[t->n++] = table_pa;
}

static void no_leaf(void *ctx, u64 ia, u64 pa, u64 size, unsigned int flags)
{
}

static struct tables tables_of(const struct pgtable *pgt)
{
	struct tables t = { { 0 }, 0 };
	struct pgt_visitor v = { no_leaf, add_table, &t };

	pgt_walk(pgt, &v);
	return t;
}

/* ---- the consistent machine ---------------------------------------------------------------- */

static void test_consistent_machine(void **state)
{
	u64 res[3];

	assert_int_equal(vm_of(&w.prot)->state, VM_FINALIZED);
	assert_int_equal(vm_of(&w.created)->state, VM_CREATED);
	assert_int_equal(vm_of(&w.off)->state, VM_OFF);
	assert_null(vm_slot(w.dead_slot));
	assert_int_equal(fm_page(w.pending).state, PAGE_PENDING_SCRUB);
	expect_clean();
	expect_ok(FM_CALLR(res, MOAT_FN_CHECK, 0));
	assert_int_equal(res[0], 0);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_CHECK, 1);
}

/* ---- invariant 1: one owner, a state it may hold --------------------------------------------- */

static void test_owner_and_state(void **state)
{
	const struct page_info p = fm_page(w.pending);

	corrupt_entry(w.pending, OWNER_NONE, PAGE_OWNED, OWNER_NONE, 0, "owner none, state owned");
	corrupt_entry(w.pending, OWNER_NONE, PAGE_SHARED_OWNED, OWNER_CORE, 0, "owner none, state shared");
	corrupt_entry(w.pending, 7, PAGE_OWNED, OWNER_NONE, 0, "an owner ID the core does not know");
	corrupt_entry(w.pending, OWNER_VM(w.dead_slot), PAGE_OWNED, OWNER_NONE, 0, "owned by a destroyed VM");
	corrupt_entry(w.pending, OWNER_VM(MAX_VMS + 3), PAGE_OWNED, OWNER_NONE, 0, "owned by a VM slot beyond the table");
	corrupt_entry(w.host, OWNER_HOST, PAGE_PENDING_SCRUB, OWNER_NONE, 0, "a host page pending scrub");
	corrupt_entry(w.donated, OWNER_VM(w.prot.slot), PAGE_PENDING_SCRUB, OWNER_NONE, 0, "a VM page pending scrub");
	corrupt_entry(w.pending, OWNER_CORE, PAGE_SHARED_OWNED, OWNER_VM(w.norm.slot), 0, "the core lends a page");
	corrupt_entry(w.host, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_VM(w.dead_slot), 0, "lent to a destroyed VM");
	corrupt_entry(w.host, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_HOST, 0, "lent to itself");
	assert_memory_equal(&p, pagedb_lookup(w.pending), sizeof(p));
}

/* ---- invariant 2: the host stage 2 maps exactly the host's pages ------------------------------ */

static void test_host_maps_core_page(void **state)
{
	/* Through the database: a mapped page that says it is the core's. */
	corrupt_entry(w.host, OWNER_CORE, PAGE_OWNED, OWNER_NONE, 0, "host maps a core page (entry)");
	corrupt_entry(w.host, OWNER_CORE, PAGE_OWNED, OWNER_VM(w.prot.slot), 0, "host maps a VM's core page (entry)");
	/* Through the table: a core page (a VM's root; the core's own data) mapped for the host. */
	corrupt_map(host_s2(), w.prot.root_pa, w.prot.root_pa, "host maps a VM's stage-2 root");
	corrupt_map(host_s2(), w.prot.memcache_pa, w.prot.memcache_pa, "host maps a memcache page");
	corrupt_map(host_s2(), m->pagedb_pa, m->pagedb_pa, "host maps the page database");
	/* Mapped at the right IPA but to the wrong page: the host would reach a core page. */
	{
		u64 out;
		unsigned int flags, level;

		expect_ok(pgt_unmap(host_s2(), w.host, PAGE_SIZE));
		expect_ok(pgt_map(host_s2(), w.host, w.prot.root_pa, PAGE_SIZE, PGT_RWX));
		assert_true(pgt_lookup(host_s2(), w.host, &out, &flags, &level) && out == w.prot.root_pa);
		expect_detected("host IPA of a host page mapped to a core page");
		expect_ok(pgt_map(host_s2(), w.host, w.host, PAGE_SIZE, PGT_RWX));
		expect_clean();
	}
}

/*
 * The host stage 2 is an identity map, but a corrupted table could map some
 * other IPA (one that is not DRAM, so no identity lookup visits it) onto a
 * core or VM page: the host could reach the page all the same (DESIGN §4,
 * invariant 2: "never a CORE page, never a protected VM's unshared page").
 */
static void test_host_maps_core_page_elsewhere(void **state)
{
	const u64 ipa = 0x20000000UL; /* neither DRAM nor a device window */

	corrupt_map(host_s2(), ipa, w.prot.root_pa, "host IPA 0x20000000 mapped to a VM's stage-2 root");
	corrupt_map(host_s2(), ipa, w.donated, "host IPA 0x20000000 mapped to a protected VM's page");
	corrupt_map(host_s2(), ipa, m->pagedb_pa, "host IPA 0x20000000 mapped to the page database");
}

static void test_host_maps_vm_page(void **state)
{
	corrupt_map(host_s2(), w.donated, w.donated, "host maps a protected VM's page");
	corrupt_map(host_s2(), w.prot.code_pa, w.prot.code_pa, "host maps a protected VM's loaded page");
	corrupt_map(host_s2(), w.norm.code_pa, w.norm.code_pa, "host maps a normal VM's own page");
	corrupt_map(host_s2(), w.pending, w.pending, "host maps a page pending scrub");
	corrupt_entry(w.host, OWNER_VM(w.prot.slot), PAGE_OWNED, OWNER_NONE, 0, "a mapped page handed to a VM (entry)");
	corrupt_entry(w.host, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0, "a mapped page pending scrub (entry)");
}

static void test_host_page_unmapped(void **state)
{
	const u64 pages[] = { w.host, w.shared_core, w.lent, w.prot.run_pa, w.reclaimed };

	for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++) {
		expect_ok(pgt_unmap(host_s2(), pages[i], PAGE_SIZE));
		expect_detected("a host page missing from the host stage 2");
		expect_ok(pgt_map(host_s2(), pages[i], pages[i], PAGE_SIZE, PGT_RWX));
		expect_clean();
	}
	/* Through the database: an unmapped page that says it is the host's. */
	corrupt_entry(w.pending, OWNER_HOST, PAGE_OWNED, OWNER_NONE, 0, "pending page claimed by the host");
	corrupt_entry(m->core_base, OWNER_HOST, PAGE_OWNED, OWNER_NONE, 0, "core page claimed by the host");
}

/* ---- invariant 3: a VM maps only what it owns or (normal VMs) borrows --------------------------- */

static void test_vm_maps_other_vm_page(void **state)
{
	struct pgtable *prot = &vm_of(&w.prot)->s2.pgt, *norm = &vm_of(&w.norm)->s2.pgt;

	corrupt_map(prot, IPA_FREE, w.norm.code_pa, "protected VM maps a normal VM's page");
	corrupt_map(norm, IPA_FREE, w.prot.code_pa, "normal VM maps a protected VM's page");
	corrupt_map(prot, IPA_FREE, w.created.code_pa, "a VM maps another protected VM's page");
	corrupt_map(&vm_of(&w.created)->s2.pgt, IPA_FREE, w.donated, "a CREATED VM maps a running VM's page");
	/* Not another VM's, but not the VM's either. */
	corrupt_map(prot, IPA_FREE, w.host, "a VM maps a host page it was not lent");
	corrupt_map(norm, IPA_FREE, w.host, "a normal VM maps a host page it was not lent");
	corrupt_map(prot, IPA_FREE, w.prot.root_pa, "a VM maps its own stage-2 root");
	corrupt_map(prot, IPA_FREE, w.prot.memcache_pa, "a VM maps its memcache");
	corrupt_map(prot, IPA_FREE, m->pagedb_pa, "a VM maps the page database");
	corrupt_map(prot, IPA_FREE, w.prot.run_pa, "a VM maps its run page");
	/* Its own page, but outside its RAM. */
	corrupt_map(prot, FM_VM_MMIO_BASE, w.donated, "a VM maps its page in its MMIO window");
	/* Through the database: the page the VM maps changes hands. */
	corrupt_entry(w.donated, OWNER_VM(w.norm.slot), PAGE_OWNED, OWNER_NONE, 0, "a VM maps a page now another's");
	corrupt_entry(w.lent, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_VM(w.off.slot), 0, "lent to another VM");
	corrupt_entry(w.lent, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE, 0, "lent to the core, mapped in a VM");
}

static void test_protected_maps_host_shared_page(void **state)
{
	struct pgtable *prot = &vm_of(&w.prot)->s2.pgt;
	struct page_info *p = pagedb_lookup(w.host), saved = *p;

	/* A host page lent to a normal VM, mapped in a protected one. */
	corrupt_map(prot, IPA_FREE, w.lent, "protected VM maps a page lent to a normal VM");
	/*
	 * A host page "lent" to the protected VM itself: wrong in the database
	 * already, and the mapping is a violation of its own (a protected VM
	 * never maps a page it does not own).
	 */
	p->state = PAGE_SHARED_OWNED;
	p->peer = OWNER_VM(w.prot.slot);
	expect_detected("a host page lent to a protected VM");
	{
		unsigned int unmapped = fm_violations();

		expect_ok(pgt_map(prot, IPA_FREE, w.host, PAGE_SIZE, PGT_RWX));
		expect_detected("protected VM maps a host page lent to it");
		assert_true(fm_violations() > unmapped);
		expect_ok(pgt_unmap(prot, IPA_FREE, PAGE_SIZE));
	}
	*p = saved;
	expect_clean();
	/* The same for the normal VM is fine: that is SHARE_VM (which also puts the page on the VM's index). */
	p->state = PAGE_SHARED_OWNED;
	p->peer = OWNER_VM(w.norm.slot);
	pagedb_list_push(&vm_of(&w.norm)->pages, w.host);
	expect_ok(pgt_map(&vm_of(&w.norm)->s2.pgt, IPA_FREE, w.host, PAGE_SIZE, PGT_RWX));
	expect_clean();
	expect_ok(pgt_unmap(&vm_of(&w.norm)->s2.pgt, IPA_FREE, PAGE_SIZE));
	{
		u64 popped;

		assert_true(pagedb_list_pop(&vm_of(&w.norm)->pages, &popped));
		assert_int_equal(popped, w.host);
	}
	*p = saved;
	expect_clean();
	/* A normal VM's borrowed page whose VM turns protected. */
	vm_of(&w.norm)->type = PROT;
	expect_detected("a protected VM borrows a host page");
	vm_of(&w.norm)->type = NORM;
	expect_clean();
}

/* ---- invariant 4: pages pending scrub are mapped nowhere ---------------------------------------- */

static void test_pending_page_mapped(void **state)
{
	corrupt_map(&vm_of(&w.prot)->s2.pgt, IPA_FREE, w.pending, "a VM maps a page pending scrub");
	corrupt_map(&vm_of(&w.norm)->s2.pgt, IPA_FREE, w.pending, "a normal VM maps a page pending scrub");
	corrupt_entry(w.donated, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0, "a mapped VM page marked pending");
	corrupt_entry(w.lent, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0, "a lent page marked pending");
	corrupt_map(host_s2(), w.pending, w.pending, "the host maps a page pending scrub");
}

/* ---- core pages, flags ----------------------------------------------------------------------------- */

static void test_core_page_of_destroyed_vm(void **state)
{
	corrupt_entry(w.pending, OWNER_CORE, PAGE_OWNED, OWNER_VM(w.dead_slot), 0, "core page serving a destroyed VM");
	corrupt_entry(w.pending, OWNER_CORE, PAGE_OWNED, OWNER_VM(MAX_VMS + 1), 0, "core page serving no VM slot");
	corrupt_entry(w.pending, OWNER_CORE, PAGE_OWNED, OWNER_HOST, 0, "core page serving the host");
}

static void test_run_page_flag(void **state)
{
	corrupt_entry(w.host, OWNER_HOST, PAGE_OWNED, OWNER_NONE, PAGE_FLAG_RUN_PAGE, "run page not shared");
	corrupt_entry(w.lent, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_VM(w.norm.slot), PAGE_FLAG_RUN_PAGE,
		      "run page lent to a VM");
	corrupt_entry(w.donated, OWNER_VM(w.prot.slot), PAGE_OWNED, OWNER_NONE, PAGE_FLAG_RUN_PAGE, "run page a VM's");
	corrupt_entry(w.pending, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, PAGE_FLAG_RUN_PAGE, "run page pending");
	corrupt_entry(w.prot.root_pa, OWNER_CORE, PAGE_OWNED, OWNER_VM(w.prot.slot), PAGE_FLAG_RUN_PAGE,
		      "run page the core's");
	/* A real run page and a plain page shared with the core are both fine. */
	assert_int_equal(fm_page(w.prot.run_pa).flags, PAGE_FLAG_RUN_PAGE);
	assert_int_equal(fm_page(w.shared_core).flags, 0);
	expect_clean();
}

/* ---- invariant 5: stage-2 table pages are the core's --------------------------------------------- */

static void test_vm_table_page_not_core(void **state)
{
	struct tables t = tables_of(&vm_of(&w.prot)->s2.pgt);
	u16 me = OWNER_VM(w.prot.slot);

	assert_int_equal(t.n, 3); /* a level-2 table, level-3 tables for the loaded and the donated page */
	for (unsigned int i = 0; i < t.n; i++) {
		corrupt_entry(t.pa[i], me, PAGE_OWNED, OWNER_NONE, 0, "VM table page owned by the VM");
		corrupt_entry(t.pa[i], OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0, "VM table page pending scrub");
		corrupt_entry(t.pa[i], OWNER_CORE, PAGE_OWNED, OWNER_NONE, 0, "VM table page the core's own");
		corrupt_entry(t.pa[i], OWNER_CORE, PAGE_OWNED, OWNER_VM(w.norm.slot), 0, "VM table page serving another VM");
	}
	/* The two root pages, which no walk visits. */
	corrupt_entry(w.prot.root_pa, me, PAGE_OWNED, OWNER_NONE, 0, "VM root page owned by the VM");
	corrupt_entry(w.prot.root_pa + PAGE_SIZE, OWNER_CORE, PAGE_OWNED, OWNER_VM(w.norm.slot), 0,
		      "second root page serving another VM");
	/* A table page the VM's stage 2 took from outside its memcache: a host page. */
	{
		u64 *l2 = (u64 *)(uintptr_t)t.pa[0]; /* the walk visits the level-2 table first */
		u64 saved;
		unsigned int idx = (unsigned int)(FM_VM_RAM_SIZE / SZ_2M + 1); /* beyond the VM's RAM */

		saved = l2[idx];
		assert_int_equal(saved, 0);
		l2[idx] = w.host | PTE_TABLE | PTE_VALID; /* a zeroed host page as a level-3 table */
		expect_detected("VM stage-2 table page owned by the host");
		l2[idx] = saved;
		expect_clean();
	}
}

static void test_host_table_page_not_core(void **state)
{
	struct tables t = tables_of(host_s2());

	assert_true(t.n >= 1);
	for (unsigned int i = 0; i < t.n; i++) {
		assert_int_equal(fm_page(t.pa[i]).owner, OWNER_CORE);
		corrupt_entry(t.pa[i], OWNER_CORE, PAGE_OWNED, OWNER_VM(w.prot.slot), 0, "host table page serving a VM");
		corrupt_entry(t.pa[i], OWNER_VM(w.prot.slot), PAGE_OWNED, OWNER_NONE, 0, "host table page a VM's");
	}
}

/* ---- after all that ------------------------------------------------------------------------------- */

/* A VM's stage-2 view: its VTTBR names its root and VMID, and no two views share a VMID. */
static void test_view_vttbr_and_vmid(void **state)
{
	struct stage2 *prot = &vm_of(&w.prot)->s2, *norm = &vm_of(&w.norm)->s2;
	u64 vttbr = prot->vttbr;
	u16 vmid = norm->vmid;

	expect_clean();
	prot->vttbr ^= 1UL << VTTBR_VMID_SHIFT;
	expect_detected("a VTTBR naming another VMID than its view's");
	prot->vttbr = vttbr;
	expect_clean();
	norm->vmid = prot->vmid;
	norm->vttbr = virt_to_phys(norm->pgt.root) | (u64)norm->vmid << VTTBR_VMID_SHIFT;
	expect_detected("two views with one VMID");
	norm->vmid = vmid;
	norm->vttbr = virt_to_phys(norm->pgt.root) | (u64)vmid << VTTBR_VMID_SHIFT;
	expect_clean();
}

/* ---- each VM's page index, and the checker's scopes --------------------------------------------- */

static unsigned int vms_violations(void)
{
	return invariants_check_vms();
}

/* A page that serves a VM but is missing from its index: only the full walk can see it. */
static void test_index_missing_page(void **state)
{
	struct page_list *list = &vm_of(&w.prot)->pages, saved = *list;
	struct page_info *first;
	u64 pa;

	assert_true(pagedb_link_page(list->head, &pa, &first));
	assert_true(pagedb_list_pop(list, &pa));
	expect_detected("a page serving a VM, off its index");
	/* The rest of the index is consistent: the per-VM scope cannot tell. */
	assert_int_equal(vms_violations(), 0);
	/* The page itself, checked alone, can. */
	assert_true(invariants_check_page(pa) >= 1);
	pagedb_list_push(list, pa);
	assert_int_equal(list->head, saved.head);
	expect_clean();
}

/* A page on an index that does not serve the VM; a count that lies; a cycle; a link outside RAM. */
static void test_index_corrupt(void **state)
{
	struct page_list *list = &vm_of(&w.prot)->pages, saved = *list;
	struct page_info *p;
	u32 tail = 0;
	u64 pa;

	pagedb_list_push(list, w.host);
	expect_detected("a host page on a VM's index");
	assert_true(vms_violations() >= 1);
	assert_true(invariants_check_page(w.host) >= 1);
	assert_true(pagedb_list_pop(list, &pa));
	assert_int_equal(pa, w.host);
	expect_clean();

	list->count++;
	expect_detected("an index count one too high");
	assert_true(vms_violations() >= 1);
	list->count -= 2;
	expect_detected("an index count one too low");
	assert_true(vms_violations() >= 1);
	*list = saved;
	expect_clean();

	/* The last page links back to the first: the walk stops at the count and reports. */
	for (u32 link = list->head; link; link = pagedb_next_link(link, p)) {
		assert_true(pagedb_link_page(link, &pa, &p));
		tail = link;
	}
	assert_true(pagedb_link_page(tail, &pa, &p));
	p->next = list->head;
	expect_detected("an index that loops");
	assert_true(vms_violations() >= 1);
	p->next = 0xfffffff0;
	expect_detected("an index linking outside the page database");
	assert_true(vms_violations() >= 1);
	p->next = tail;
	expect_clean();
}

/* The per-VM scope sees what the full check sees of a VM's own table and of the pages on its index. */
static void test_vm_scope(void **state)
{
	struct pgtable *prot = &vm_of(&w.prot)->s2.pgt;

	assert_int_equal(vms_violations(), 0);
	expect_ok(pgt_map(prot, IPA_FREE, w.pending, PAGE_SIZE, PGT_RWX));
	assert_true(vms_violations() >= 1);
	expect_ok(pgt_unmap(prot, IPA_FREE, PAGE_SIZE));
	assert_int_equal(vms_violations(), 0);
	/* The host maps a page of the VM's index (its donated page). */
	expect_ok(pgt_map(host_s2(), w.donated, w.donated, PAGE_SIZE, PGT_RWX));
	assert_true(vms_violations() >= 1);
	assert_true(invariants_check_page(w.donated) >= 1);
	expect_detected("host maps a VM's page");
	expect_ok(pgt_unmap(host_s2(), w.donated, PAGE_SIZE));
	expect_clean();
	/* Outside RAM: nothing to check. */
	assert_int_equal(invariants_check_page(0x1000), 0);
}

static void test_lifecycle_stays_clean(void **state)
{
	/* Every host call the machine above took kept the invariants; so does tearing it all down. */
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, w.prot.handle));
	expect_clean();
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, w.norm.handle));
	expect_clean();
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, w.created.handle));
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, w.off.handle));
	for (u64 pa = m->ram_base; pa < m->ram_base + m->ram_size; pa += PAGE_SIZE) {
		if (fm_page(pa).state == PAGE_PENDING_SCRUB) {
			expect_ok(FM_CALL(MOAT_FN_RECLAIM, pa));
			expect_clean();
		}
	}
	assert_int_equal(host_s2_pool_free(), m->pool_free_at_boot);
}

/* ---- STATS ------------------------------------------------------------------------------------------ */

static void stats(u64 which, u64 out[3])
{
	expect_ok(FM_CALLR(out, MOAT_FN_STATS, which));
}

static void test_stats(void **state)
{
	/* Per VM built by fm_build_vm: root (2) + memcache: core; run page: host, shared with the core; one LOADed page. */
	const u64 core_per_vm = 2 + FM_VM_MEMCACHE_PAGES;
	const u64 ram_pages = m->ram_size / PAGE_SIZE, core_pages = (m->ram_base + m->ram_size - m->core_base) / PAGE_SIZE;
	/* Four live VMs (prot, norm, created, off) plus the destroyed one (its pages pending but one reclaimed). */
	const u64 pending = core_per_vm + 1 - 1;
	const u64 vm_pages = 4 + 1;		     /* each live VM's LOADed page, prot's donated page */
	const u64 core = core_pages + 4 * core_per_vm; /* donated page's table came out of prot's memcache */
	const u64 host = ram_pages - core - vm_pages - pending;
	u64 res[3];
	unsigned int vcpus = 0;

	stats(MOAT_STATS_OWNERS, res);
	assert_int_equal(res[0], host);
	assert_int_equal(res[1], core);
	assert_int_equal(res[2], vm_pages);
	stats(MOAT_STATS_STATES, res);
	assert_int_equal(res[0], pending);
	assert_int_equal(res[1], 5 + 1); /* five run pages (one of the destroyed VM) + shared_core */
	assert_int_equal(res[2], 1);	 /* lent */
	stats(MOAT_STATS_OBJECTS, res);
	assert_int_equal(res[0], 4);
	for (unsigned int s = 0; s < MAX_VMS; s++) {
		if (vm_slot(s)) {
			for (unsigned int i = 0; i < MAX_VCPUS; i++) {
				vcpus += vm_slot(s)->vcpus[i] != NULL;
			}
		}
	}
	assert_int_equal(vcpus, 4);
	assert_int_equal(res[1], 4);
	/* Everything came out of the first 2 MiB of RAM: one host block split, one table from the pool. */
	assert_int_equal(res[2], m->pool_free_at_boot - 1);
	assert_int_equal(res[2], host_s2_pool_free());

	/* A hand count of the database agrees. */
	{
		u64 by_owner[3] = { 0 }, by_state[3] = { 0 };

		for (u64 pa = m->ram_base; pa < m->ram_base + m->ram_size; pa += PAGE_SIZE) {
			struct page_info p = fm_page(pa);

			by_owner[0] += p.owner == OWNER_HOST;
			by_owner[1] += p.owner == OWNER_CORE;
			by_owner[2] += OWNER_IS_VM(p.owner);
			by_state[0] += p.state == PAGE_PENDING_SCRUB;
			by_state[1] += p.state == PAGE_SHARED_OWNED && p.peer == OWNER_CORE;
			by_state[2] += p.state == PAGE_SHARED_OWNED && OWNER_IS_VM(p.peer);
		}
		assert_int_equal(by_owner[0], host);
		assert_int_equal(by_owner[1], core);
		assert_int_equal(by_owner[2], vm_pages);
		assert_int_equal(by_state[0], pending);
		assert_int_equal(by_state[1], 6);
		assert_int_equal(by_state[2], 1);
		assert_int_equal(by_owner[0] + by_owner[1] + by_owner[2] + by_state[0], ram_pages);
	}

	/* One more transition of each kind moves the counts by one. */
	expect_ok(FM_CALL(MOAT_FN_RECLAIM, w.pending));
	stats(MOAT_STATS_STATES, res);
	assert_int_equal(res[0], pending - 1);
	stats(MOAT_STATS_OWNERS, res);
	assert_int_equal(res[0], host + 1);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, w.prot.handle, w.host, 1));
	stats(MOAT_STATS_OWNERS, res);
	assert_int_equal(res[0], host);
	assert_int_equal(res[1], core + 1);

	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_STATS, 3);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_STATS, ~0UL);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_STATS, 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_consistent_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_and_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_maps_core_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_maps_core_page_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_maps_vm_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_page_unmapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_maps_other_vm_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protected_maps_host_shared_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_page_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_page_of_destroyed_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_page_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_table_page_not_core, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_table_page_not_core, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_vttbr_and_vmid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_missing_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_stays_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
	};

	return cmocka_run_group_tests_name("invariants", tests, NULL, NULL);
}
