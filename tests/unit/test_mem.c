/*
 * Unit tests for the page-ownership transitions (core/mem.c) through the
 * host ABI (host_call_raw) on the fake machine (tests/common/fake_machine.h):
 * DONATE_CORE, SHARE_CORE, UNSHARE_CORE, DONATE_VM, LOAD, SHARE_VM, RECLAIM,
 * VM_CREATE's root claim and VM_DESTROY's teardown.
 *
 * For each: the success path (page-database entry afterwards, host and VM
 * stage 2, page contents, the cache and TLB maintenance the fake arch
 * records) and every refusal docs/ABI.md lists, with its exact error code;
 * after each refusal all of RAM (page database, tables, vCPU state, pages),
 * every VM struct and the maintenance trace are exactly as before and the
 * invariant checker finds nothing (FM_REFUSED). Also: check-then-commit
 * across several pages, memcache exhaustion, the documented check order,
 * host stage-2 block split and re-coalescing, and the reset scrub.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <moat/abi.h>
#include <moat/errors.h>

#include "alloc.h"
#include "fake_arch.h"
#include "fake_machine.h"
#include "host_s2.h"
#include "mem.h"
#include "pagedb.h"
#include "pgtable.h"
#include "vm.h"

#define RAM_MIB 32
#define NO_OP ((size_t)-1)
#define PROT MOAT_VM_PROTECTED
#define NORM MOAT_VM_NORMAL
#define RAM_END (MOAT_GUEST_RAM_BASE + FM_VM_RAM_SIZE)
#define IPA_2M (MOAT_GUEST_RAM_BASE + SZ_2M) /* a 2 MiB region of guest RAM with no table yet */

static struct fake_machine machine;
static struct fake_machine *const m = &machine;

static int setup(void **state)
{
	fake_machine_init(m, RAM_MIB);
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(m);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

#define expect_page(pa, owner, state, peer, flags) expect_page_at((pa), (owner), (state), (peer), (flags), __FILE__, __LINE__)

static void expect_page_at(u64 pa, unsigned int owner, unsigned int st, unsigned int peer, unsigned int flags,
			   const char *file, int line)
{
	struct page_info p = fm_page(pa);

	if (p.owner != owner || p.state != st || p.peer != peer || p.flags != flags) {
		print_error("page 0x%lx: owner %u state %u peer %u flags %u; expected %u %u %u %u\n", (unsigned long)pa,
			    p.owner, p.state, p.peer, p.flags, owner, st, peer, flags);
		_fail(file, line);
	}
}

#define expect_ok(call) expect_ok_at((call), #call, __FILE__, __LINE__)

static void expect_ok_at(long ret, const char *what, const char *file, int line)
{
	if (ret != MOAT_OK) {
		print_error("%s returned %ld\n", what, ret);
		_fail(file, line);
	}
}

static size_t find_op(size_t from, enum fake_op op, u64 arg)
{
	for (size_t i = from; i < fake.nr_ops; i++) {
		if (fake.ops[i].op == op && fake.ops[i].arg == arg) {
			return i;
		}
	}
	return NO_OP;
}

static unsigned int count_ops(size_t from, enum fake_op op)
{
	unsigned int n = 0;

	for (size_t i = from; i < fake.nr_ops; i++) {
		n += fake.ops[i].op == op;
	}
	return n;
}

static u64 stat(u64 which, unsigned int i)
{
	u64 res[3];

	expect_ok(FM_CALLR(res, MOAT_FN_STATS, which));
	return res[i];
}

static u32 memcache_count(const struct fm_vm *v)
{
	return fm_vm_of(v)->memcache.count;
}

/* A finalized VM whose guest powered off: state OFF. */
static struct fm_vm off_vm(unsigned int type)
{
	struct fm_vm v = fm_build_vm(m, type, 0);
	u64 res[3];

	expect_ok(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0));
	assert_int_equal(res[0], MOAT_EXIT_SYSTEM_OFF);
	assert_int_equal(fm_vm_of(&v)->state, VM_OFF);
	return v;
}

/* A page left pending scrub by a destroyed VM (still holding that VM's data). */
static u64 pending_page(void)
{
	struct fm_vm v = fm_build_vm(m, PROT, FM_NO_FINALIZE);

	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	expect_page(v.code_pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0);
	return v.code_pa;
}

/* A destroyed VM's handle. */
static u64 stale_handle(void)
{
	struct fm_vm v = fm_create_vm(m, PROT);

	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	return v.handle;
}

/* Reclaim every page pending scrub. */
static void reclaim_all(void)
{
	for (u64 pa = m->ram_base; pa < m->ram_base + m->ram_size; pa += PAGE_SIZE) {
		if (fm_page(pa).state == PAGE_PENDING_SCRUB) {
			expect_ok(FM_CALL(MOAT_FN_RECLAIM, pa));
		}
	}
}

/* ---- DONATE_CORE ----------------------------------------------------------------------- */

static void test_donate_core_success(void **state)
{
	struct fm_vm v = fm_create_vm(m, PROT);
	u64 pa = fm_host_pages(m, 3);
	size_t mark;

	for (unsigned int i = 0; i < 3; i++) {
		fm_fill(pa + i * PAGE_SIZE, 0xaa);
	}
	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, pa, 3));
	for (unsigned int i = 0; i < 3; i++) {
		u64 p = pa + i * PAGE_SIZE;
		size_t tlbi = find_op(mark, FAKE_TLBI_S2_IPA, p), dc = find_op(mark, FAKE_DC_CIVAC, p);

		expect_page(p, OWNER_CORE, PAGE_OWNED, OWNER_VM(v.slot), 0);
		assert_false(fm_host_mapped(p));
		/* Unmapped from the host (TLB invalidated), then cleaned + invalidated. */
		assert_true(tlbi != NO_OP);
		assert_true(dc != NO_OP);
		assert_true(tlbi < dc);
	}
	assert_true(count_ops(mark, FAKE_TLBI_S1_ALL) >= 1);
	assert_true(fm_host_mapped(pa + 3 * PAGE_SIZE));
	assert_int_equal(memcache_count(&v), 3);
	assert_int_equal(fm_violations(), 0);

	/* The largest count is accepted too. */
	pa = fm_host_pages(m, 512);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, pa, 512));
	assert_int_equal(memcache_count(&v), 515);
	expect_page(pa + 511 * PAGE_SIZE, OWNER_CORE, PAGE_OWNED, OWNER_VM(v.slot), 0);
	assert_int_equal(fm_violations(), 0);
}

static void test_donate_core_refusals(void **state)
{
	struct fm_vm other = fm_build_vm(m, NORM, FM_NO_FINALIZE);
	u64 pending = pending_page();
	u64 stale = stale_handle();
	struct fm_vm v = fm_create_vm(m, PROT);
	u64 host = fm_host_page(m), h = v.handle;

	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_DONATE_CORE, MOAT_HANDLE(20, 0), host, 1);
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_DONATE_CORE, MOAT_HANDLE(MAX_VMS, 0), host, 1);
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_DONATE_CORE, h | 1UL << 32, host, 1);
	FM_REFUSED(m, MOAT_E_STALE, MOAT_FN_DONATE_CORE, stale, host, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, h, host, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, h, host, 513);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, h, host, ~0UL);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_DONATE_CORE, h, host + 8, 1);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_DONATE_CORE, h, host + 0x800, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, h, m->ram_base - PAGE_SIZE, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, h, m->ram_base + m->ram_size, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, h, 0, 1);
	/* Starting before RAM: the first page is not DRAM. */
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, h, m->ram_base - PAGE_SIZE, 2);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, h, m->core_base, 1);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, h, m->pool_pa, 1);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, h, other.run_pa, 1);	 /* shared with the core */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, h, other.code_pa, 1);	 /* another VM's page */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, h, other.root_pa, 1);	 /* core, serving another VM */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, h, other.memcache_pa, 1); /* its memcache */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, h, v.root_pa, 1);	 /* this VM's own root */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, h, pending, 1);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_DONATE_CORE, h, host, 1, 1);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_DONATE_CORE, h, host, 1, 0, 0, 1);
	/* And the host page named in all of those is still the host's. */
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, h, host, 1));
}

/* Check-then-commit: a bad page anywhere in the run refuses the call before any page moves. */
static void test_donate_core_check_then_commit(void **state)
{
	struct fm_vm other = fm_build_vm(m, NORM, FM_NO_FINALIZE);
	struct fm_vm v = fm_create_vm(m, PROT);
	u64 pa = fm_host_pages(m, 3);

	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, pa + 2 * PAGE_SIZE));
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, v.handle, pa, 3);
	expect_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_HOST, 0);
	expect_page(pa + PAGE_SIZE, OWNER_HOST, PAGE_OWNED, OWNER_HOST, 0);
	assert_true(fm_host_mapped(pa) && fm_host_mapped(pa + PAGE_SIZE));
	assert_int_equal(memcache_count(&v), 0);

	/* The third page another VM's. */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, v.handle, other.code_pa - 2 * PAGE_SIZE, 3);
	/* The run crossing into the core's memory. */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, v.handle, m->core_base - 2 * PAGE_SIZE, 3);
	/* A run starting below RAM. */
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, v.handle, m->ram_base - 2 * PAGE_SIZE, 3);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, pa, 2));
}

/*
 * docs/ABI.md "Check order": addresses are checked alignment, then range,
 * then ownership. A run whose first page is not the host's and whose second
 * is not DRAM is a range error.
 */
static void test_donate_core_check_order(void **state)
{
	struct fm_vm v = fm_create_vm(m, PROT);
	u64 last = m->ram_base + m->ram_size - PAGE_SIZE; /* the core's: PERM alone */

	/* Handle before everything, count before addresses, alignment before range. */
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_DONATE_CORE, MOAT_HANDLE(9, 0), 1, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, v.handle, 1, 0);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_DONATE_CORE, v.handle, 1, 1);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, v.handle, last, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, v.handle, last, 2);
}

/* ---- SHARE_CORE / UNSHARE_CORE --------------------------------------------------------- */

static void test_share_unshare_core_success(void **state)
{
	u64 pa = fm_host_page(m);
	unsigned int level = fm_host_level(pa);
	size_t mark;

	fm_fill(pa, 0xaa);
	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, pa));
	expect_page(pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE, 0);
	assert_int_equal(fm_host_level(pa), level); /* stays mapped, block untouched */
	assert_true(fm_page_is(pa, 0xaa));
	assert_int_equal(count_ops(mark, FAKE_TLBI_S2_IPA), 0);
	assert_int_equal(stat(MOAT_STATS_STATES, 1), 1);
	assert_int_equal(fm_violations(), 0);

	expect_ok(FM_CALL(MOAT_FN_UNSHARE_CORE, pa));
	expect_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_NONE, 0);
	assert_int_equal(fm_host_level(pa), level);
	assert_true(fm_page_is(pa, 0xaa));
	assert_int_equal(stat(MOAT_STATS_STATES, 1), 0);
	assert_int_equal(fm_violations(), 0);
	/* And again: the transition is repeatable. */
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, pa));
	expect_page(pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE, 0);
}

static void test_share_core_refusals(void **state)
{
	struct fm_vm normal = fm_build_vm(m, NORM, 0);
	u64 pending = pending_page();
	u64 shared_vm = fm_host_page(m), shared = fm_host_page(m), host = fm_host_page(m);

	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, normal.handle, shared_vm, MOAT_GUEST_RAM_BASE + PAGE_SIZE));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, shared));
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_SHARE_CORE, host + 1);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_SHARE_CORE, host + 0x800);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_SHARE_CORE, 1); /* alignment before range */
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SHARE_CORE, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SHARE_CORE, m->ram_base - PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SHARE_CORE, m->ram_base + m->ram_size);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SHARE_CORE, FM_UART);
	FM_REFUSED(m, MOAT_E_EXIST, MOAT_FN_SHARE_CORE, shared);
	FM_REFUSED(m, MOAT_E_EXIST, MOAT_FN_SHARE_CORE, normal.run_pa);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_CORE, m->core_base);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_CORE, normal.root_pa);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_CORE, normal.memcache_pa);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_CORE, normal.code_pa);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_CORE, shared_vm);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_CORE, pending);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_SHARE_CORE, host, 1);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_SHARE_CORE, host, 0, 0, 0, 0, 1);
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, host));
}

static void test_unshare_core_refusals(void **state)
{
	struct fm_vm normal = fm_build_vm(m, NORM, 0);
	u64 pending = pending_page();
	u64 shared_vm = fm_host_page(m), host = fm_host_page(m), shared = fm_host_page(m);

	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, normal.handle, shared_vm, MOAT_GUEST_RAM_BASE + PAGE_SIZE));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, shared));
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_UNSHARE_CORE, shared + 4);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_UNSHARE_CORE, m->ram_base - PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_UNSHARE_CORE, m->ram_base + m->ram_size);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_UNSHARE_CORE, host);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_UNSHARE_CORE, shared_vm);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_UNSHARE_CORE, m->core_base);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_UNSHARE_CORE, normal.root_pa);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_UNSHARE_CORE, normal.code_pa);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_UNSHARE_CORE, pending);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_UNSHARE_CORE, normal.run_pa);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_UNSHARE_CORE, shared, 1);
	expect_page(normal.run_pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE, PAGE_FLAG_RUN_PAGE);
	/* Once the VM is gone the run page is detached and can be unshared. */
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, normal.handle));
	expect_page(normal.run_pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE, 0);
	expect_ok(FM_CALL(MOAT_FN_UNSHARE_CORE, normal.run_pa));
	expect_ok(FM_CALL(MOAT_FN_UNSHARE_CORE, shared));
	assert_int_equal(fm_violations(), 0);
}

/* ---- DONATE_VM / LOAD / SHARE_VM: success ----------------------------------------------- */

static void donate_vm_success(unsigned int type)
{
	struct fm_vm v = fm_build_vm(m, type, 0); /* finalized: demand paging */
	u64 pa = fm_host_page(m), pa2 = fm_host_page(m), out;
	u32 mc = memcache_count(&v);
	unsigned int flags;
	size_t mark, tlbi, dc, ic;

	fm_fill(pa, 0xaa);
	fm_fill(pa2, 0xaa);
	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, pa, IPA_2M));
	expect_page(pa, OWNER_VM(v.slot), PAGE_OWNED, OWNER_NONE, 0);
	assert_false(fm_host_mapped(pa));
	assert_true(fm_vm_lookup(v.slot, IPA_2M, &out, &flags));
	assert_int_equal(out, pa);
	assert_int_equal(flags, PGT_RWX);
	assert_true(fm_vm_lookup(v.slot, IPA_2M + 0x123, &out, &flags));
	assert_int_equal(out, pa + 0x123);
	assert_false(fm_vm_lookup(v.slot, IPA_2M + PAGE_SIZE, &out, &flags));
	assert_true(fm_page_is(pa, 0));
	tlbi = find_op(mark, FAKE_TLBI_S2_IPA, pa);
	dc = find_op(mark, FAKE_DC_CIVAC, pa);
	assert_true(tlbi != NO_OP && dc != NO_OP && tlbi < dc);
	/* The zeroed page is mapped executable: no stale host instructions may stay in the I-cache (PIPT). */
	ic = find_op(dc, FAKE_IC_INVAL_POU, pa);
	assert_true(ic != NO_OP && dc < ic);
	/* A fresh 2 MiB region of the VM's IPA space took one level-3 table from the memcache. */
	assert_int_equal(memcache_count(&v), mc - 1);
	assert_int_equal(fm_violations(), 0);

	/* The next page of the same region needs no table. */
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, pa2, IPA_2M + PAGE_SIZE));
	assert_int_equal(memcache_count(&v), mc - 1);
	assert_true(fm_page_is(pa2, 0));
	assert_true(fm_vm_lookup(v.slot, IPA_2M + PAGE_SIZE, &out, &flags) && out == pa2);
	/* The last page of RAM. */
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, fm_host_page(m), RAM_END - PAGE_SIZE));
	assert_int_equal(stat(MOAT_STATS_OWNERS, 2), 4); /* code page + three donated */
	assert_int_equal(fm_violations(), 0);
}

static void test_donate_vm_success_protected(void **state)
{
	donate_vm_success(PROT);
}

static void test_donate_vm_success_normal(void **state)
{
	donate_vm_success(NORM);
}

static void test_donate_vm_before_finalize(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, FM_NO_FINALIZE);
	u64 pa = fm_host_page(m);

	fm_fill(pa, 0x11);
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, pa, MOAT_GUEST_RAM_BASE + PAGE_SIZE));
	assert_true(fm_page_is(pa, 0));
	expect_page(pa, OWNER_VM(v.slot), PAGE_OWNED, OWNER_NONE, 0);
}

static void test_load_success(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, FM_NO_FINALIZE);
	u64 pa = fm_host_page(m), out;
	u8 *bytes = (u8 *)(uintptr_t)pa;
	unsigned int flags;
	size_t mark, tlbi, dc, ic;

	for (unsigned int i = 0; i < PAGE_SIZE; i++) {
		bytes[i] = (u8)(i * 7 + 3);
	}
	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_LOAD, v.handle, pa, MOAT_GUEST_RAM_BASE + PAGE_SIZE));
	expect_page(pa, OWNER_VM(v.slot), PAGE_OWNED, OWNER_NONE, 0);
	assert_false(fm_host_mapped(pa));
	assert_true(fm_vm_lookup(v.slot, MOAT_GUEST_RAM_BASE + PAGE_SIZE, &out, &flags));
	assert_int_equal(out, pa);
	assert_int_equal(flags, PGT_RWX);
	for (unsigned int i = 0; i < PAGE_SIZE; i++) {
		if (bytes[i] != (u8)(i * 7 + 3)) {
			fail_msg("LOAD changed byte %u of the page", i);
		}
	}
	/* Host mapping gone (TLBI), cleaned to PoC, then the I-cache invalidated before the guest can run it. */
	tlbi = find_op(mark, FAKE_TLBI_S2_IPA, pa);
	dc = find_op(mark, FAKE_DC_CIVAC, pa);
	ic = find_op(dc == NO_OP ? mark : dc, FAKE_IC_INVAL_POU, pa);
	assert_true(tlbi != NO_OP && dc != NO_OP && ic != NO_OP);
	assert_true(tlbi < dc && dc < ic);
	assert_int_equal(fm_violations(), 0);
}

static void test_share_vm_success(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0);
	u64 pa = fm_host_page(m), out;
	unsigned int level = fm_host_level(pa), flags;
	size_t mark;

	fm_fill(pa, 0xaa);
	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, v.handle, pa, IPA_2M));
	expect_page(pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_VM(v.slot), 0);
	assert_int_equal(fm_host_level(pa), level); /* the host keeps it, block and all */
	assert_int_equal(find_op(mark, FAKE_TLBI_S2_IPA, pa), NO_OP);
	assert_true(fm_page_is(pa, 0xaa));
	/* Mapped executable for a guest that may run with its MMU off: memory, not caches, must hold it. */
	assert_true(find_op(mark, FAKE_DC_CIVAC, pa) != NO_OP);
	assert_true(find_op(find_op(mark, FAKE_DC_CIVAC, pa), FAKE_IC_INVAL_POU, pa) != NO_OP);
	assert_true(fm_vm_lookup(v.slot, IPA_2M, &out, &flags));
	assert_int_equal(out, pa);
	assert_int_equal(flags, PGT_RWX);
	assert_int_equal(stat(MOAT_STATS_STATES, 2), 1);
	assert_int_equal(fm_violations(), 0);

	/* Destroy: the page goes back to the host as it was, not scrubbed, still mapped. */
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	expect_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_NONE, 0);
	assert_int_equal(fm_host_level(pa), level);
	assert_true(fm_page_is(pa, 0xaa));
	assert_int_equal(fm_violations(), 0);
}

/* ---- DONATE_VM / LOAD / SHARE_VM: refusals ----------------------------------------------- */

/*
 * The refusals DONATE_VM, LOAD and SHARE_VM share ("as DONATE_VM"): v must be
 * a VM that accepts fid with a full memcache, empty a VM that accepts it but
 * has no memcache, one a VM with exactly one memcache page.
 */
static void give_refusals(u64 fid, const struct fm_vm *v, const struct fm_vm *empty, const struct fm_vm *one)
{
	struct fm_vm other = fm_build_vm(m, NORM, 0);
	u64 pending = pending_page();
	u64 shared_vm = fm_host_page(m), shared_core = fm_host_page(m), host = fm_host_page(m);
	u64 h = v->handle, ipa = IPA_2M;

	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, other.handle, shared_vm, MOAT_GUEST_RAM_BASE + PAGE_SIZE));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, shared_core));

	FM_REFUSED(m, MOAT_E_NOENT, fid, MOAT_HANDLE(25, 0), host, ipa);
	FM_REFUSED(m, MOAT_E_NOENT, fid, MOAT_HANDLE(0xffff, 0), host, ipa);
	FM_REFUSED(m, MOAT_E_STALE, fid, stale_handle(), host, ipa);
	FM_REFUSED(m, MOAT_E_ALIGN, fid, h, host + 8, ipa);
	FM_REFUSED(m, MOAT_E_ALIGN, fid, h, host, ipa + 8);
	FM_REFUSED(m, MOAT_E_ALIGN, fid, h, host + 0x800, ipa + 0x800);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, m->ram_base - PAGE_SIZE, ipa);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, m->ram_base + m->ram_size, ipa);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, FM_UART, ipa);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, host, MOAT_GUEST_RAM_BASE - PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, host, RAM_END);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, host, FM_VM_MMIO_BASE);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, host, 0);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, host, 1UL << 40);
	FM_REFUSED(m, MOAT_E_RANGE, fid, h, host, ~0UL << PAGE_SHIFT);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, m->core_base, ipa);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, m->pool_pa, ipa);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, shared_core, ipa);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, v->run_pa, ipa);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, shared_vm, ipa);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, other.code_pa, ipa);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, other.root_pa, ipa);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, v->code_pa, ipa); /* the VM's own page */
	FM_REFUSED(m, MOAT_E_PERM, fid, h, v->memcache_pa, ipa);
	FM_REFUSED(m, MOAT_E_PERM, fid, h, pending, ipa);
	/* The VM's own LOADed page: for LOAD the order rule (test_vm.c test_load_order) answers first. */
	FM_REFUSED(m, fid == MOAT_FN_LOAD ? MOAT_E_ORDER : MOAT_E_EXIST, fid, h, host, MOAT_GUEST_RAM_BASE);
	FM_REFUSED(m, MOAT_E_INVAL, fid, h, host, ipa, 1);
	FM_REFUSED(m, MOAT_E_INVAL, fid, h, host, ipa, 0, 0, 1);
	/* Memcache: none, or one page where a fresh region may need two. */
	FM_REFUSED(m, MOAT_E_NOMEM, fid, empty->handle, host, MOAT_GUEST_RAM_BASE);
	FM_REFUSED(m, MOAT_E_NOMEM, fid, empty->handle, host, ipa);
	FM_REFUSED(m, MOAT_E_NOMEM, fid, one->handle, host, MOAT_GUEST_RAM_BASE);
	/* Check order: handle > state > alignment > range > ownership > memcache. */
	FM_REFUSED(m, MOAT_E_ALIGN, fid, h, 8, ipa);		      /* misaligned and not DRAM */
	FM_REFUSED(m, MOAT_E_ALIGN, fid, h, host, RAM_END + 8);	      /* misaligned and out of range */
	FM_REFUSED(m, MOAT_E_RANGE, fid, empty->handle, host, RAM_END); /* range before memcache */
	FM_REFUSED(m, MOAT_E_PERM, fid, empty->handle, m->core_base, ipa); /* ownership before memcache */
	/* After all that, the same host page goes through. */
	expect_ok(FM_CALL(fid, h, host, ipa));
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, one->handle, fm_host_page(m), 1));
	expect_ok(FM_CALL(fid, one->handle, fm_host_page(m), MOAT_GUEST_RAM_BASE));
}

/* A VM of type that accepts fid, with no memcache (empty) or one page (one). */
static void empty_and_one(unsigned int type, struct fm_vm *empty, struct fm_vm *one)
{
	*empty = fm_create_vm(m, type);
	*one = fm_create_vm(m, type);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, one->handle, fm_host_page(m), 1));
}

static void test_donate_vm_refusals_protected(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0), empty, one;

	empty_and_one(PROT, &empty, &one);
	give_refusals(MOAT_FN_DONATE_VM, &v, &empty, &one);
}

static void test_donate_vm_refusals_normal(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0), empty, one;

	empty_and_one(NORM, &empty, &one);
	give_refusals(MOAT_FN_DONATE_VM, &v, &empty, &one);
}

static void test_load_refusals(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, FM_NO_FINALIZE), empty, one;
	struct fm_vm fin = fm_build_vm(m, PROT, 0);
	struct fm_vm off = off_vm(NORM);
	u64 host = fm_host_page(m);

	empty_and_one(PROT, &empty, &one);
	give_refusals(MOAT_FN_LOAD, &v, &empty, &one);
	/* Only while CREATED; the lifecycle state is checked before the addresses. */
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_LOAD, fin.handle, host, IPA_2M);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_LOAD, fin.handle, host + 4, IPA_2M);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_LOAD, fin.handle, m->core_base, MOAT_GUEST_RAM_BASE);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_LOAD, off.handle, host, IPA_2M);
}

static void test_share_vm_refusals(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0), empty, one;
	struct fm_vm prot = fm_build_vm(m, PROT, FM_NO_FINALIZE);
	u64 host = fm_host_page(m);

	empty_and_one(NORM, &empty, &one);
	give_refusals(MOAT_FN_SHARE_VM, &v, &empty, &one);
	/* Never for a protected VM, whatever its state and however good the page. */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_VM, prot.handle, host, IPA_2M);
	expect_ok(FM_CALL(MOAT_FN_FINALIZE, prot.handle));
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_VM, prot.handle, host, IPA_2M);
	/* A page already lent to this VM cannot be lent again at another IPA. */
	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, v.handle, host, IPA_2M + PAGE_SIZE));
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_VM, v.handle, host, IPA_2M + 2 * PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_VM, v.handle, host, IPA_2M + 2 * PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_SHARE_CORE, host);
}

/*
 * docs/ABI.md "Check order": addresses are checked alignment, then range,
 * then ownership. An IPA outside the VM's RAM is a range error even when the
 * page named is not the host's.
 */
static void give_check_order(u64 fid, const struct fm_vm *v)
{
	struct fm_vm other = fm_build_vm(m, NORM, 0);

	FM_REFUSED(m, MOAT_E_RANGE, fid, v->handle, m->core_base, RAM_END);
	FM_REFUSED(m, MOAT_E_RANGE, fid, v->handle, other.code_pa, 0);
	FM_REFUSED(m, MOAT_E_RANGE, fid, v->handle, other.run_pa, FM_VM_MMIO_BASE);
}

static void test_give_vm_check_order(void **state)
{
	struct fm_vm fin = fm_build_vm(m, PROT, 0), created = fm_build_vm(m, PROT, FM_NO_FINALIZE);
	struct fm_vm norm = fm_build_vm(m, NORM, 0);

	give_check_order(MOAT_FN_DONATE_VM, &fin);
	give_check_order(MOAT_FN_LOAD, &created);
	give_check_order(MOAT_FN_SHARE_VM, &norm);
}

/* A VM that is OFF takes no more memory (STATE, checked before the addresses). */
static void test_give_vm_off_state(void **state)
{
	struct fm_vm prot = off_vm(PROT), norm = off_vm(NORM);
	u64 host = fm_host_page(m);

	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_DONATE_VM, prot.handle, host, IPA_2M);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_DONATE_VM, prot.handle, host + 8, IPA_2M);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_DONATE_VM, prot.handle, m->core_base, RAM_END);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_DONATE_VM, norm.handle, host, IPA_2M);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_SHARE_VM, norm.handle, host, IPA_2M);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_LOAD, prot.handle, host, IPA_2M);
	/* DONATE_CORE is not a lifecycle call: still allowed. */
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, prot.handle, host, 1));
}

/* Memcache exhaustion: nothing moves, not even the host page. */
static void test_memcache_exhaustion(void **state)
{
	struct fm_vm v = fm_create_vm(m, PROT);
	u64 pa = fm_host_page(m);

	fm_fill(pa, 0xaa);
	FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_DONATE_VM, v.handle, pa, MOAT_GUEST_RAM_BASE);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, fm_host_page(m), 1));
	FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_DONATE_VM, v.handle, pa, MOAT_GUEST_RAM_BASE);
	assert_true(fm_page_is(pa, 0xaa));
	assert_true(fm_host_mapped(pa));
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, fm_host_page(m), 1));
	/* Two pages: a level-2 and a level-3 table for the first page of RAM. */
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, pa, MOAT_GUEST_RAM_BASE));
	assert_int_equal(memcache_count(&v), 0);
	assert_true(fm_page_is(pa, 0));
	/* An IPA already mapped is EXIST, whatever the memcache holds (ownership before capacity). */
	FM_REFUSED(m, MOAT_E_EXIST, MOAT_FN_DONATE_VM, v.handle, fm_host_page(m), MOAT_GUEST_RAM_BASE);
	/* VCPU_CREATE needs one page too; the run page stays unattached when it fails. */
	{
		u64 run = fm_host_page(m);

		expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, run));
		FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_VCPU_CREATE, v.handle, 0, run);
		expect_page(run, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE, 0);
	}
	assert_int_equal(fm_violations(), 0);
}

/* ---- RECLAIM --------------------------------------------------------------------------- */

static void test_reclaim_success(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	u64 d = fm_host_page(m);
	u64 pending_before;
	size_t mark;

	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, d, IPA_2M));
	fm_fill(d, 0xcc); /* the guest's secret */
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	pending_before = stat(MOAT_STATS_STATES, 0);
	assert_int_equal(pending_before, 2 + FM_VM_MEMCACHE_PAGES + 2);

	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_RECLAIM, d));
	expect_page(d, OWNER_HOST, PAGE_OWNED, OWNER_NONE, 0);
	assert_true(fm_page_is(d, 0));
	assert_true(fm_host_mapped(d));
	assert_true(find_op(mark, FAKE_DC_CVAC, d) != NO_OP);
	/* The guest may have executed from it: the host must not fetch its stale instructions. */
	assert_true(find_op(find_op(mark, FAKE_DC_CVAC, d), FAKE_IC_INVAL_POU, d) != NO_OP);
	assert_int_equal(stat(MOAT_STATS_STATES, 0), pending_before - 1);
	assert_int_equal(fm_violations(), 0);

	/* The loaded page, the root, the memcache (vCPU state, tables): all of it comes back zeroed. */
	mark = fake.nr_ops;
	reclaim_all();
	assert_int_equal(stat(MOAT_STATS_STATES, 0), 0);
	assert_int_equal(count_ops(mark, FAKE_DC_CVAC), pending_before - 1);
	assert_int_equal(count_ops(mark, FAKE_IC_INVAL_POU), pending_before - 1);
	for (u64 pa = v.root_pa; pa < v.root_pa + 2 * PAGE_SIZE; pa += PAGE_SIZE) {
		expect_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_NONE, 0);
		assert_true(fm_page_is(pa, 0));
	}
	for (unsigned int i = 0; i < FM_VM_MEMCACHE_PAGES; i++) {
		u64 pa = v.memcache_pa + i * PAGE_SIZE;

		expect_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_NONE, 0);
		assert_true(fm_page_is(pa, 0));
		assert_true(fm_host_mapped(pa));
	}
	assert_true(fm_page_is(v.code_pa, 0));
	assert_int_equal(stat(MOAT_STATS_OWNERS, 2), 0);
	assert_int_equal(fm_violations(), 0);
	{
		struct host_s2_coverage c;

		host_s2_ram_coverage(&c);
		assert_int_equal(c.unmapped, 0);
		assert_int_equal(c.by_level[3], 0); /* every block re-formed */
	}
	assert_int_equal(host_s2_pool_free(), m->pool_free_at_boot);
}

static void test_reclaim_refusals(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0);
	u64 shared_vm = fm_host_page(m), shared = fm_host_page(m), host = fm_host_page(m);
	u64 pending = pending_page();
	struct vcpu *vcpu = fm_vcpu(&v, 0);

	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, v.handle, shared_vm, IPA_2M));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, shared));
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_RECLAIM, pending + 8);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_RECLAIM, 0x10);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_RECLAIM, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_RECLAIM, m->ram_base - PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_RECLAIM, m->ram_base + m->ram_size);
	/* Still a live VM's, or the core's on its behalf. */
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_RECLAIM, v.code_pa);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_RECLAIM, v.root_pa);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_RECLAIM, v.root_pa + PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_RECLAIM, (u64)(uintptr_t)vcpu);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_RECLAIM, v.memcache_pa + (FM_VM_MEMCACHE_PAGES - 1) * PAGE_SIZE);
	/* Not pending scrub. */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_RECLAIM, host);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_RECLAIM, shared);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_RECLAIM, v.run_pa);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_RECLAIM, shared_vm);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_RECLAIM, m->core_base);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_RECLAIM, m->pool_pa);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_RECLAIM, pending, 1);
	expect_ok(FM_CALL(MOAT_FN_RECLAIM, pending));
	/* Twice: the second time the page is the host's again. */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_RECLAIM, pending);
}

/* ---- VM_CREATE's root claim ------------------------------------------------------------- */

static void test_vm_create_root_success(void **state)
{
	u64 root = fm_host_pair(m), res[3];
	unsigned int slot;
	size_t mark;

	fm_fill(root, 0xaa);
	fm_fill(root + PAGE_SIZE, 0xaa);
	mark = fake.nr_ops;
	expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, PROT, 1, root, FM_VM_RAM_SIZE, FM_VM_MMIO_BASE, FM_VM_MMIO_SIZE));
	slot = (unsigned int)(res[0] & 0xffff);
	assert_int_equal(res[0] >> 32, 0);
	assert_int_equal(res[1], 0);
	assert_int_equal(res[2], 0);
	for (u64 pa = root; pa < root + 2 * PAGE_SIZE; pa += PAGE_SIZE) {
		size_t tlbi = find_op(mark, FAKE_TLBI_S2_IPA, pa), dc = find_op(mark, FAKE_DC_CIVAC, pa);

		expect_page(pa, OWNER_CORE, PAGE_OWNED, OWNER_VM(slot), 0);
		assert_false(fm_host_mapped(pa));
		assert_true(fm_page_is(pa, 0));
		assert_true(tlbi != NO_OP && dc != NO_OP && tlbi < dc);
	}
	assert_ptr_equal(vm_slot(slot)->s2.pgt.root, (void *)(uintptr_t)root);
	/* A reused VMID is flushed before use. */
	assert_true(count_ops(mark, FAKE_TLBI_S12_ALL) >= 1);
	assert_int_equal(stat(MOAT_STATS_OBJECTS, 0), 1);
	assert_int_equal(fm_violations(), 0);
	/* Without an MMIO window. */
	expect_ok(FM_CALL(MOAT_FN_VM_CREATE, NORM, MAX_VCPUS, fm_host_pair(m), PAGE_SIZE, 0, 0));
	assert_int_equal(fm_violations(), 0);
}

static void test_vm_create_refusals(void **state)
{
	struct fm_vm other = fm_build_vm(m, NORM, 0);
	u64 pending = ALIGN_DOWN(pending_page(), 2 * PAGE_SIZE);
	u64 root = fm_host_pair(m), shared = fm_host_pair(m);
	const u64 ram = FM_VM_RAM_SIZE, mb = FM_VM_MMIO_BASE, ms = FM_VM_MMIO_SIZE;
	const u64 ipa_top = 1UL << 40;

	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, shared + PAGE_SIZE));
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VM_CREATE, 2, 1, root, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VM_CREATE, ~0UL, 1, root, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VM_CREATE, 1UL << 32 | PROT, 1, root, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 0, root, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, MAX_VCPUS + 1, root, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1UL << 32 | 1, root, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VM_CREATE, PROT, 1, root + PAGE_SIZE, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VM_CREATE, PROT, 1, root + 8, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VM_CREATE, PROT, 1, root, ram + 0x800, mb, ms);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VM_CREATE, PROT, 1, root, ram, mb + 0x10, ms);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VM_CREATE, PROT, 1, root, ram, mb, 0x800);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, 0, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ipa_top, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ipa_top - MOAT_GUEST_RAM_BASE + PAGE_SIZE, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ~0UL << PAGE_SHIFT, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ram, MOAT_GUEST_RAM_BASE, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ram, MOAT_GUEST_RAM_BASE + ram - PAGE_SIZE, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ram, MOAT_GUEST_RAM_BASE - PAGE_SIZE,
		   2 * PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ram, 0, ipa_top);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ram, ipa_top, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ram, ipa_top - PAGE_SIZE, 2 * PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, ram, ~0UL << PAGE_SHIFT, 2 * PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, m->ram_base - 2 * PAGE_SIZE, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, m->ram_base + m->ram_size, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, 0, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VM_CREATE, PROT, 1, m->core_base, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VM_CREATE, PROT, 1, shared, ram, mb, ms); /* 2nd page shared */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VM_CREATE, PROT, 1, other.root_pa, ram, mb, ms);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VM_CREATE, PROT, 1, ALIGN_DOWN(other.code_pa, 2 * PAGE_SIZE), ram, mb, ms);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VM_CREATE, PROT, 1, pending, ram, mb, ms);
	/* Check order: type, then vCPU count, then alignment. */
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VM_CREATE, 7, 0, root + 1, 0, 1, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 0, root + 1, 0, 1, 1);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VM_CREATE, PROT, 1, root, 0, 1, 1);
	expect_ok(FM_CALL(MOAT_FN_VM_CREATE, PROT, 1, root, ram, mb, ms));
}

/* No free slot: NOMEM; a slot freed by VM_DESTROY is used again. */
static void test_vm_create_table_full(void **state)
{
	u64 root = fm_host_pair(m), res[3];

	for (unsigned int i = 0; i < MAX_VMS; i++) {
		expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, PROT, 1, fm_host_pair(m), PAGE_SIZE, 0, 0));
	}
	FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_VM_CREATE, PROT, 1, root, PAGE_SIZE, 0, 0);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VM_CREATE, 2, 1, root, PAGE_SIZE, 0, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, root, 0, 0, 0);
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, res[0]));
	expect_ok(FM_CALL(MOAT_FN_VM_CREATE, PROT, 1, root, PAGE_SIZE, 0, 0));
}

/*
 * docs/ABI.md: VM_CREATE's errors in check order end with "NOMEM no free VM
 * slot" ("addresses ... then memcache capacity"): with the table full, a bad
 * root page is still reported as what is wrong with it.
 */
static void test_vm_create_check_order_full_table(void **state)
{
	u64 res[3];

	for (unsigned int i = 0; i < MAX_VMS; i++) {
		expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, PROT, 1, fm_host_pair(m), PAGE_SIZE, 0, 0));
	}
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VM_CREATE, PROT, 1, fm_host_pair(m) + PAGE_SIZE, PAGE_SIZE, 0, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VM_CREATE, PROT, 1, 0, PAGE_SIZE, 0, 0);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VM_CREATE, PROT, 1, m->core_base, PAGE_SIZE, 0, 0);
}

/* docs/ABI.md lists VM_CREATE's ALIGN (root_pa not 8 KiB-aligned) before RANGE (ram_size 0). */
static void test_vm_create_check_order_root_align(void **state)
{
	u64 root = fm_host_pair(m);

	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VM_CREATE, PROT, 1, root + PAGE_SIZE, 0, FM_VM_MMIO_BASE, FM_VM_MMIO_SIZE);
}

/* ---- VM_DESTROY's teardown -------------------------------------------------------------- */

struct table_pages {
	u64 pa[16];
	unsigned int n;
};

static void collect_table(void *ctx, u64 table_pa)
{
	struct table_pages *t = ctx;

	assert_true(t->n < 16);
	t->pa[t->n++] = table_pa;
}

static void ignore_leaf(void *ctx, u64 ia, u64 pa, u64 size, unsigned int flags)
{
}

static void test_vm_destroy_teardown(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0);
	struct fm_vm bystander = fm_build_vm(m, PROT, 0);
	u64 donated = fm_host_page(m), lent = fm_host_page(m);
	u64 vcpu_pa = (u64)(uintptr_t)fm_vcpu(&v, 0);
	struct table_pages t = { { 0 }, 0 };
	struct pgt_visitor visit = { ignore_leaf, collect_table, &t };
	size_t mark;

	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, donated, IPA_2M));
	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, v.handle, lent, IPA_2M + PAGE_SIZE));
	fm_fill(lent, 0x3c);
	pgt_walk(&fm_vm_of(&v)->s2.pgt, &visit);
	assert_int_equal(t.n, 3); /* level 2, level 3 for the code page, level 3 for IPA_2M */

	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	/* Every page of the VM and every core page serving it: pending scrub, owner none. */
	expect_page(v.root_pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0);
	expect_page(v.root_pa + PAGE_SIZE, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0);
	for (unsigned int i = 0; i < FM_VM_MEMCACHE_PAGES; i++) {
		expect_page(v.memcache_pa + i * PAGE_SIZE, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0);
		assert_false(fm_host_mapped(v.memcache_pa + i * PAGE_SIZE));
	}
	expect_page(vcpu_pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0);
	for (unsigned int i = 0; i < t.n; i++) {
		expect_page(t.pa[i], OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0);
	}
	expect_page(v.code_pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0);
	expect_page(donated, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE, 0);
	assert_false(fm_host_mapped(v.code_pa));
	assert_false(fm_host_mapped(donated));
	assert_false(fm_host_mapped(v.root_pa));
	/* Host pages lent to it: the host's again, untouched; the run page detached but still shared. */
	expect_page(lent, OWNER_HOST, PAGE_OWNED, OWNER_NONE, 0);
	assert_true(fm_host_mapped(lent));
	assert_true(fm_page_is(lent, 0x3c));
	expect_page(v.run_pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE, 0);
	assert_true(fm_host_mapped(v.run_pa));
	/* The VMID's TLB entries go before its pages can be reused. */
	assert_true(count_ops(mark, FAKE_TLBI_S12_ALL) >= 1);
	assert_int_equal(stat(MOAT_STATS_STATES, 0), 2 + FM_VM_MEMCACHE_PAGES + 2);
	assert_int_equal(stat(MOAT_STATS_OBJECTS, 0), 1);
	assert_int_equal(stat(MOAT_STATS_OBJECTS, 1), 1);
	assert_null(vm_slot(v.slot));
	/* The bystander is untouched. */
	expect_page(bystander.code_pa, OWNER_VM(bystander.slot), PAGE_OWNED, OWNER_NONE, 0);
	expect_page(bystander.root_pa, OWNER_CORE, PAGE_OWNED, OWNER_VM(bystander.slot), 0);
	expect_page(bystander.run_pa, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE, PAGE_FLAG_RUN_PAGE);
	assert_int_equal(fm_violations(), 0);
}

static struct {
	u64 handle;
	bool called;
	struct fake_machine *m;
} destroy_hook;

/* Runs inside arch_guest_run: the vCPU is loaded on this CPU. */
static void destroy_while_running(struct vcpu *vcpu, unsigned int n)
{
	if (n != 0) {
		return;
	}
	destroy_hook.called = true;
	FM_REFUSED(destroy_hook.m, MOAT_E_BUSY, MOAT_FN_VM_DESTROY, destroy_hook.handle);
}

/* A view's flush: one FAKE_S2_FLUSH_VMID naming its VTTBR, then TLBI VMALLS12E1IS and DSB under that VTTBR. */
static void expect_flush(size_t mark, u64 vttbr)
{
	size_t flush = find_op(mark, FAKE_S2_FLUSH_VMID, vttbr);

	assert_true(flush != NO_OP);
	assert_int_equal(fake.ops[flush + 1].op, FAKE_TLBI_S12_ALL);
	assert_int_equal(fake.ops[flush + 2].op, FAKE_DSB_ISH);
	/* Back on the host's VTTBR afterwards. */
	assert_int_equal(fake.vttbr, 0);
}

static void test_vm_view_flushed_on_create_and_destroy(void **state)
{
	u64 root = fm_host_pair(m), res[3], vttbr;
	const struct vm *vm;
	unsigned int slot;
	size_t mark = fake.nr_ops;

	expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, PROT, 1, root, FM_VM_RAM_SIZE, FM_VM_MMIO_BASE, FM_VM_MMIO_SIZE));
	slot = (unsigned int)(res[0] & 0xffff);
	vm = vm_slot(slot);
	/* The view: the VM's root, VMID slot + 1 (0 is the host's), and the VTTBR naming both. */
	assert_int_equal(vm->s2.vmid, slot + 1);
	vttbr = root | (u64)(slot + 1) << VTTBR_VMID_SHIFT;
	assert_int_equal(vm->s2.vttbr, vttbr);
	assert_ptr_equal(vm->s2.pgt.root, (void *)(uintptr_t)root);
	expect_flush(mark, vttbr);

	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, res[0]));
	expect_flush(mark, vttbr);
	assert_int_equal(fm_violations(), 0);
}

/* ---- each VM's page index (mem.c) ------------------------------------------------------ */

/* Pages of RAM serving the VM in slot, and pages on any index (next != 0). */
static unsigned int ram_serving(unsigned int slot, unsigned int *indexed)
{
	unsigned int n = 0;

	*indexed = 0;
	for (unsigned int b = 0; b < pagedb_nr_banks(); b++) {
		struct fdt_range bank = pagedb_bank(b);

		for (u64 pa = bank.base; pa < bank.base + bank.size; pa += PAGE_SIZE) {
			const struct page_info *p = pagedb_lookup(pa);

			n += pagedb_page_vm(p) == OWNER_VM(slot);
			*indexed += p->next != 0;
		}
	}
	return n;
}

/* The index holds exactly the pages serving the VM, each once. */
static void expect_index_exact(const struct vm *vm)
{
	unsigned int indexed, n = 0;
	u32 link = vm->pages.head;
	struct page_info *p;
	u64 pa;

	assert_int_equal(vm->pages.count, ram_serving(vm->slot, &indexed));
	for (; link; link = pagedb_next_link(link, p), n++) {
		assert_true(n < vm->pages.count);
		assert_true(pagedb_link_page(link, &pa, &p));
		assert_int_equal(pagedb_page_vm(p), OWNER_VM(vm->slot));
	}
	assert_int_equal(n, vm->pages.count);
}

static void test_vm_page_index(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0), bystander = fm_build_vm(m, PROT, 0);
	struct vm *vm = fm_vm_of(&v);
	u64 donated = fm_host_page(m), lent = fm_host_page(m), core = fm_host_page(m);
	unsigned int before, indexed, bystander_pages = fm_vm_of(&bystander)->pages.count;

	/* Root (2), memcache, vCPU state and run page aside: the LOADed code page. */
	expect_index_exact(vm);
	assert_true(vm->pages.count >= 3);
	before = vm->pages.count;
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, donated, IPA_2M));
	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, v.handle, lent, IPA_2M + PAGE_SIZE));
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, core, 1));
	/* Each transition indexes its page; the DONATE_VM's stage-2 tables come from pages already indexed. */
	assert_int_equal(vm->pages.count, before + 3);
	expect_index_exact(vm);
	expect_index_exact(fm_vm_of(&bystander));
	/* A failed call indexes nothing. */
	assert_int_equal(FM_CALL(MOAT_FN_DONATE_VM, v.handle, donated, IPA_2M + 2 * PAGE_SIZE), MOAT_E_PERM);
	assert_int_equal(vm->pages.count, before + 3);

	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	/* Emptied; every page it held is off every index, the bystander's index is untouched. */
	assert_int_equal(vm->pages.head, 0);
	assert_int_equal(vm->pages.count, 0);
	assert_int_equal(ram_serving(v.slot, &indexed), 0);
	assert_int_equal(indexed, bystander_pages);
	assert_int_equal(fm_page(donated).next, 0);
	assert_int_equal(fm_page(lent).next, 0);
	expect_index_exact(fm_vm_of(&bystander));
	/* A new VM in the same slot starts with an empty index (plus its root). */
	v = fm_build_vm(m, NORM, 0);
	expect_index_exact(fm_vm_of(&v));
	assert_int_equal(fm_violations(), 0);
}

static void test_vm_destroy_refusals(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	u64 stale = stale_handle(), res[3];

	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_VM_DESTROY, MOAT_HANDLE(17, 0));
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_VM_DESTROY, MOAT_HANDLE(MAX_VMS, 0));
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_VM_DESTROY, v.handle | 1UL << 40);
	FM_REFUSED(m, MOAT_E_STALE, MOAT_FN_VM_DESTROY, stale);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VM_DESTROY, v.handle, 1);
	/* A vCPU in the middle of a run: BUSY. */
	destroy_hook.handle = v.handle;
	destroy_hook.m = m;
	destroy_hook.called = false;
	fake.exit_hook = destroy_while_running;
	fake_queue_exit(9, 0, 0, 0); /* an IRQ exit ends the run */
	expect_ok(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0));
	assert_true(destroy_hook.called);
	assert_int_equal(res[0], MOAT_EXIT_IRQ);
	fake.exit_hook = NULL;
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	FM_REFUSED(m, MOAT_E_STALE, MOAT_FN_VM_DESTROY, v.handle);
}

/* ---- host stage-2 block split and re-coalescing ----------------------------------------- */

static void test_host_block_split_and_merge(void **state)
{
	const u64 block = m->ram_base + 8 * SZ_2M; /* a 2 MiB block no helper has touched */
	const u64 page = block + 5 * PAGE_SIZE;
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	u64 pool_before = host_s2_pool_free();
	size_t mark;

	assert_true(IS_ALIGNED(block, SZ_2M));
	assert_int_equal(fm_host_level(block), 2);
	assert_int_equal(fm_host_level(page), 2);
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, page, IPA_2M));
	/* Split: the rest of the block stays mapped, by 4 KiB pages now; one table from the boot pool. */
	assert_int_equal(fm_host_level(page), 0);
	assert_int_equal(fm_host_level(block), 3);
	assert_int_equal(fm_host_level(page - PAGE_SIZE), 3);
	assert_int_equal(fm_host_level(block + SZ_2M - PAGE_SIZE), 3);
	assert_int_equal(fm_host_level(block + SZ_2M), 2);
	assert_int_equal(host_s2_pool_free(), pool_before - 1);
	assert_int_equal(fm_violations(), 0);

	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	mark = fake.nr_ops;
	expect_ok(FM_CALL(MOAT_FN_RECLAIM, page));
	/* Whole again: one 2 MiB block, replaced break-before-make, the table page back in the pool. */
	assert_int_equal(fm_host_level(page), 2);
	assert_int_equal(fm_host_level(block), 2);
	assert_int_equal(host_s2_pool_free(), pool_before);
	assert_true(count_ops(mark, FAKE_TLBI_S12_ALL) + count_ops(mark, FAKE_TLBI_S2_IPA) >= 1);
	assert_int_equal(fm_violations(), 0);
	/* Reclaiming the rest re-forms the helpers' block too: the pool is as after boot. */
	reclaim_all();
	assert_int_equal(host_s2_pool_free(), m->pool_free_at_boot);
	assert_int_equal(fm_host_level(m->ram_base), 2);
	assert_int_equal(fm_violations(), 0);
}

/* ---- the boot pool --------------------------------------------------------------------------- */

static void *pool_taken[1024];
static unsigned int nr_pool_taken;

/* Leave exactly left pages in the core's boot pool (what host stage-2 splits draw on). */
static void pool_leave(u64 left)
{
	while (m->pool.nr_free > left) {
		assert_true(nr_pool_taken < ARRAY_SIZE(pool_taken));
		pool_taken[nr_pool_taken++] = page_pool_alloc(&m->pool);
		assert_non_null(pool_taken[nr_pool_taken - 1]);
	}
	while (m->pool.nr_free < left && nr_pool_taken) {
		page_pool_free(&m->pool, pool_taken[--nr_pool_taken]);
	}
	assert_int_equal(host_s2_pool_free(), left);
}

/*
 * docs/ABI.md: every call that takes a page from the host needs the boot
 * pool to cover the block splits, checked before any change (NOMEM, after
 * the address checks). A page the host keeps (SHARE_VM, SHARE_CORE) needs
 * nothing from it.
 */
static void test_boot_pool_exhaustion(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0), created = fm_build_vm(m, PROT, FM_NO_FINALIZE);
	struct fm_vm norm = fm_build_vm(m, NORM, 0);
	const u64 aligned = m->ram_base + 8 * SZ_2M; /* a whole 2 MiB block of host pages */
	u64 host = fm_host_page(m), pair = fm_host_pair(m), lent = fm_host_page(m), shared = fm_host_page(m);

	nr_pool_taken = 0;
	for (u64 left = 0; left < 2; left++) {
		pool_leave(left);
		FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_DONATE_CORE, v.handle, host, 1);
		FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_DONATE_VM, v.handle, host, IPA_2M);
		FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_LOAD, created.handle, host, MOAT_GUEST_RAM_BASE + PAGE_SIZE);
		FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_VM_CREATE, PROT, 1, pair, FM_VM_RAM_SIZE, 0, 0);
		/* The other checks come first. */
		FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_DONATE_CORE, v.handle, m->core_base, 1);
		FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_DONATE_CORE, v.handle, m->ram_base - PAGE_SIZE, 1);
		FM_REFUSED(m, MOAT_E_EXIST, MOAT_FN_DONATE_VM, v.handle, host, MOAT_GUEST_RAM_BASE);
		FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VM_CREATE, PROT, 1, v.root_pa, FM_VM_RAM_SIZE, 0, 0);
	}
	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, norm.handle, lent, IPA_2M));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, shared));
	assert_int_equal(fm_violations(), 0);

	/* A level-2 and a level-3 table per page at worst; 512 pages across two 2 MiB blocks need three. */
	pool_leave(2);
	FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_DONATE_CORE, v.handle, aligned + PAGE_SIZE, 512);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, aligned, 512));
	assert_int_equal(fm_host_level(aligned), 0);
	pool_leave(2);
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, host, IPA_2M));
	pool_leave(2);
	expect_ok(FM_CALL(MOAT_FN_VM_CREATE, PROT, 1, pair, FM_VM_RAM_SIZE, 0, 0));
	pool_leave(m->pool.nr_free + nr_pool_taken);
	assert_int_equal(nr_pool_taken, 0);
	assert_int_equal(fm_violations(), 0);
}

/* ---- reset scrub --------------------------------------------------------------------------- */

static void test_scrub_for_reset(void **state)
{
	struct fm_vm prot = fm_build_vm(m, PROT, 0);
	struct fm_vm norm = fm_build_vm(m, NORM, 0);
	u64 pending = pending_page();
	u64 donated = fm_host_page(m), lent = fm_host_page(m), host = fm_host_page(m), shared = fm_host_page(m);
	u64 vcpu_pa = (u64)(uintptr_t)fm_vcpu(&prot, 0);
	struct fm_snapshot s;
	unsigned int scrubbed = 0;
	u64 reported;
	size_t mark;

	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, prot.handle, donated, IPA_2M));
	fm_fill(donated, 0xcc);
	expect_ok(FM_CALL(MOAT_FN_SHARE_VM, norm.handle, lent, IPA_2M));
	fm_fill(lent, 0x99);
	fm_fill(host, 0xaa);
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, shared));
	fm_fill(shared, 0x77);
	fm_fill(prot.run_pa, 0x66);
	fm_vcpu(&prot, 0)->ctx.regs.x[5] = 0x5ec2e7;
	assert_false(fm_page_is(pending, 0));

	fm_snapshot_take(m, &s);
	mark = fake.nr_ops;
	spin_lock(&pagedb_lock);
	reported = mem_scrub_for_reset();
	spin_unlock(&pagedb_lock);

	for (u64 pa = m->ram_base; pa < m->ram_base + m->ram_size; pa += PAGE_SIZE) {
		struct page_info p = fm_page(pa);
		bool keep = p.owner == OWNER_HOST || (p.owner == OWNER_CORE && p.peer == OWNER_NONE);
		const u8 *before = s.ram + (pa - m->ram_base);

		if (keep) {
			if (memcmp(before, (const void *)(uintptr_t)pa, PAGE_SIZE)) {
				fail_msg("page 0x%lx (owner %u peer %u) changed by the reset scrub", (unsigned long)pa,
					 p.owner, p.peer);
			}
			continue;
		}
		scrubbed++;
		if (!fm_page_is(pa, 0) || find_op(mark, FAKE_DC_CVAC, pa) == NO_OP) {
			fail_msg("page 0x%lx (owner %u state %u peer %u) not zeroed and cleaned", (unsigned long)pa, p.owner,
				 p.state, p.peer);
		}
	}
	fm_snapshot_release(&s);
	/* The next boot may execute from these pages: no guest instruction may linger in an I-cache. */
	assert_true(fake.nr_ops > mark && fake.ops[fake.nr_ops - 1].op == FAKE_IC_IALLUIS);
	/* Named pages, to be sure the classification above saw them. */
	assert_true(fm_page_is(prot.code_pa, 0));
	assert_true(fm_page_is(donated, 0));
	assert_true(fm_page_is(pending, 0));
	assert_true(fm_page_is(vcpu_pa, 0));
	assert_true(fm_page_is(prot.root_pa, 0));
	assert_true(fm_page_is(norm.code_pa, 0));
	assert_true(fm_page_is(lent, 0x99));
	assert_true(fm_page_is(host, 0xaa));
	assert_true(fm_page_is(shared, 0x77));
	assert_true(fm_page_is(prot.run_pa, 0x66)); /* the run page is the host's: kept */
	assert_false(fm_page_is(m->pagedb_pa, 0));
	/* Each VM: root, memcache (vCPU state and tables inside), its LOADed page; prot: one donated page. */
	assert_int_equal(scrubbed, 3 * (2 + FM_VM_MEMCACHE_PAGES + 1) + 1);
	assert_int_equal(count_ops(mark, FAKE_DC_CVAC), scrubbed);
	assert_int_equal(reported, scrubbed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_donate_core_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_donate_core_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_donate_core_check_then_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_donate_core_check_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share_unshare_core_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share_core_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unshare_core_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_donate_vm_success_protected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_donate_vm_success_normal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_donate_vm_before_finalize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share_vm_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_donate_vm_refusals_protected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_donate_vm_refusals_normal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share_vm_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_give_vm_check_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_give_vm_off_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memcache_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_create_root_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_create_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_create_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_create_check_order_full_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_create_check_order_root_align, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_destroy_teardown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_view_flushed_on_create_and_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_page_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_destroy_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_block_split_and_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_pool_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scrub_for_reset, setup, teardown),
	};

	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
