/*
 * Unit tests for core/pagedb.c: the page database (one entry per 4 KiB page
 * of every DRAM bank).
 *
 * Covers pagedb_storage_bytes and pagedb_init for 1-3 hand-made banks (and
 * the argument checks), lookups at the first and last page of each bank and
 * just outside it, the bank-after-bank layout of the storage, the bank
 * walker, pagedb_set_range and owner_name. The database only stores metadata
 * and never dereferences the addresses it describes, so any bank base works;
 * its storage is a heap block of exactly pagedb_storage_bytes(), so an entry
 * computed past the end is an ASan report.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <moat/errors.h>

#include "pagedb.h"

#define SZ_4K 0x1000ULL

static void *storage;
static u64 storage_size;

static void plat_banks(struct platform_info *p, const struct fdt_range *banks, unsigned int n)
{
	memset(p, 0, sizeof(*p));
	for (unsigned int i = 0; i < n; i++) {
		p->mem[i] = banks[i];
	}
	p->nr_mem = n;
}

/* Init with zeroed storage of exactly the size asked for. */
static void db_init(const struct platform_info *p)
{
	u64 bytes = pagedb_storage_bytes(p);

	free(storage);
	storage = calloc(1, bytes);
	storage_size = bytes;
	assert_non_null(storage);
	assert_int_equal(pagedb_init(p, storage, bytes), MOAT_OK);
}

static int teardown(void **state)
{
	free(storage);
	storage = NULL;
	return 0;
}

static const struct fdt_range three_banks[] = {
	{ 0x40000000, 0x10000000 },	  /* 256 MiB */
	{ 0x80000000, 0x3000 },		  /* 3 pages */
	{ 0x100000000ULL, 0x40000000 }, /* 1 GiB above 4 GiB */
};

static void test_storage_bytes(void **state)
{
	struct platform_info p;

	plat_banks(&p, three_banks, 1);
	assert_int_equal(pagedb_storage_bytes(&p), 0x10000 * sizeof(struct page_info));
	plat_banks(&p, three_banks, 2);
	assert_int_equal(pagedb_storage_bytes(&p), (0x10000 + 3) * sizeof(struct page_info));
	plat_banks(&p, three_banks, 3);
	assert_int_equal(pagedb_storage_bytes(&p), (0x10000 + 3 + 0x40000) * sizeof(struct page_info));
	plat_banks(&p, three_banks, 0);
	assert_int_equal(pagedb_storage_bytes(&p), 0);
	/* An all-zero entry means "host owns it": init needs no writes. */
	assert_int_equal(OWNER_HOST, 0);
	assert_int_equal(PAGE_OWNED, 0);
}

static void test_init_rejects_bad_arguments(void **state)
{
	struct platform_info p;
	static u8 buf[64];

	plat_banks(&p, three_banks, 0);
	assert_int_equal(pagedb_init(&p, buf, sizeof(buf)), MOAT_E_INVAL);
	plat_banks(&p, three_banks, 2);
	assert_int_equal(pagedb_init(&p, buf, pagedb_storage_bytes(&p) - 1), MOAT_E_INVAL);
	assert_int_equal(pagedb_init(&p, buf, 0), MOAT_E_INVAL);
	p.nr_mem = PLAT_MAX_MEM + 1;
	assert_int_equal(pagedb_init(&p, buf, sizeof(buf)), MOAT_E_INVAL);
}

/* Every bank's first and last page resolve; the pages just outside do not. */
static void check_banks(const struct fdt_range *banks, unsigned int n)
{
	u64 storage_bytes = storage_size;
	struct page_info *pages = storage;
	u64 index = 0;

	assert_int_equal(pagedb_nr_banks(), n);
	for (unsigned int i = 0; i < n; i++) {
		u64 base = banks[i].base, end = banks[i].base + banks[i].size, npages = banks[i].size / SZ_4K;
		struct fdt_range b = pagedb_bank(i);

		assert_int_equal(b.base, base);
		assert_int_equal(b.size, banks[i].size);
		/* Entries are laid out bank after bank, page after page. */
		assert_ptr_equal(pagedb_lookup(base), &pages[index]);
		assert_ptr_equal(pagedb_lookup(base + 0x7ff), &pages[index]);
		assert_ptr_equal(pagedb_lookup(base + SZ_4K), npages > 1 ? &pages[index + 1] : NULL);
		assert_ptr_equal(pagedb_lookup(end - SZ_4K), &pages[index + npages - 1]);
		assert_ptr_equal(pagedb_lookup(end - 1), &pages[index + npages - 1]);
		assert_null(pagedb_lookup(base - 1));
		assert_null(pagedb_lookup(base - SZ_4K));
		assert_null(pagedb_lookup(end));
		assert_null(pagedb_lookup(end + SZ_4K - 1));
		assert_int_equal(pagedb_lookup(base)->owner, OWNER_HOST);
		assert_int_equal(pagedb_lookup(end - 1)->state, PAGE_OWNED);
		index += npages;
	}
	/* The last bank's last entry is the last one of the storage. */
	assert_int_equal(index * sizeof(struct page_info), storage_bytes);
	assert_null(pagedb_lookup(0));
	assert_null(pagedb_lookup(~0ULL));
	assert_null(pagedb_lookup(~0ULL - SZ_4K + 1));
}

static void test_one_bank(void **state)
{
	struct platform_info p;

	plat_banks(&p, three_banks, 1);
	db_init(&p);
	check_banks(three_banks, 1);
}

static void test_two_banks(void **state)
{
	struct platform_info p;

	plat_banks(&p, three_banks, 2);
	db_init(&p);
	check_banks(three_banks, 2);
	/* The gap between banks is not RAM. */
	assert_null(pagedb_lookup(0x50000000));
	assert_null(pagedb_lookup(0x7ffff000));
}

static void test_three_banks(void **state)
{
	struct platform_info p;

	plat_banks(&p, three_banks, 3);
	db_init(&p);
	check_banks(three_banks, 3);
	assert_null(pagedb_lookup(0x80003000));
	assert_null(pagedb_lookup(0xfffff000));
	assert_null(pagedb_lookup(0x140000000ULL));
}

/* A bank that does not start or end on a page boundary keeps only its whole pages. */
static void test_ragged_bank(void **state)
{
	static const struct fdt_range ragged[] = { { 0x40000800, 0x3000 } }; /* whole pages: 0x40001000-0x40002fff */
	struct platform_info p;

	plat_banks(&p, ragged, 1);
	db_init(&p);
	assert_int_equal(pagedb_bank(0).base, 0x40001000);
	assert_int_equal(pagedb_bank(0).size, 0x2000);
	assert_null(pagedb_lookup(0x40000800));
	assert_null(pagedb_lookup(0x40000fff));
	assert_ptr_equal(pagedb_lookup(0x40001000), storage);
	assert_ptr_equal(pagedb_lookup(0x40002fff), (struct page_info *)storage + 1);
	assert_null(pagedb_lookup(0x40003000));
	assert_null(pagedb_lookup(0x40003800));
}

static void test_set_range(void **state)
{
	struct platform_info p;
	struct page_info *e;

	plat_banks(&p, three_banks, 3);
	db_init(&p);
	pagedb_set_range(0x40100000, 0x4000, OWNER_CORE, PAGE_OWNED);
	assert_int_equal(pagedb_lookup(0x400ff000)->owner, OWNER_HOST);
	for (u64 pa = 0x40100000; pa < 0x40104000; pa += SZ_4K) {
		e = pagedb_lookup(pa);
		assert_int_equal(e->owner, OWNER_CORE);
		assert_int_equal(e->state, PAGE_OWNED);
		assert_int_equal(e->peer, OWNER_NONE);
		assert_int_equal(e->flags, 0);
	}
	assert_int_equal(pagedb_lookup(0x40104000)->owner, OWNER_HOST);
	assert_int_equal(pagedb_lookup(0x40104000)->peer, 0);

	/* A single page, to a VM, in another state. */
	pagedb_set_range(0x80001000, SZ_4K, OWNER_VM(7), PAGE_PENDING_SCRUB);
	assert_int_equal(pagedb_lookup(0x80000000)->owner, OWNER_HOST);
	assert_int_equal(pagedb_lookup(0x80001000)->owner, OWNER_VM(7));
	assert_int_equal(pagedb_lookup(0x80001000)->state, PAGE_PENDING_SCRUB);
	assert_int_equal(pagedb_lookup(0x80002000)->owner, OWNER_HOST);

	/* Whole last bank, then back to the host. */
	pagedb_set_range(0x100000000ULL, 0x40000000, OWNER_NONE, PAGE_PENDING_SCRUB);
	assert_int_equal(pagedb_lookup(0x100000000ULL)->owner, OWNER_NONE);
	assert_int_equal(pagedb_lookup(0x13ffff000ULL)->owner, OWNER_NONE);
	pagedb_set_range(0x100000000ULL, 0x40000000, OWNER_HOST, PAGE_OWNED);
	assert_int_equal(pagedb_lookup(0x120000000ULL)->owner, OWNER_HOST);
	assert_int_equal(pagedb_lookup(0x120000000ULL)->state, PAGE_OWNED);

	/* set_range resets the peer and flags of a page that had them. */
	e = pagedb_lookup(0x40200000);
	e->peer = OWNER_VM(1);
	e->flags = PAGE_FLAG_RUN_PAGE;
	e->state = PAGE_SHARED_OWNED;
	pagedb_set_range(0x40200000, SZ_4K, OWNER_CORE, PAGE_OWNED);
	assert_int_equal(e->owner, OWNER_CORE);
	assert_int_equal(e->peer, OWNER_NONE);
	assert_int_equal(e->flags, 0);
	assert_int_equal(e->state, PAGE_OWNED);

	/* Size 0 changes nothing. */
	pagedb_set_range(0x40000000, 0, OWNER_CORE, PAGE_OWNED);
	assert_int_equal(pagedb_lookup(0x40000000)->owner, OWNER_HOST);
}

/*
 * Page lists across three banks: LIFO, the last page links to itself, a page
 * off every list has next 0, links name pages bank after bank, and a link
 * outside the database names nothing.
 */
static void test_page_lists(void **state)
{
	struct platform_info p;
	struct page_list a = { 0, 0 }, b = { 0, 0 };
	const u64 pas[] = { 0x40000000, 0x80002000, 0x13ffff000ULL, 0x4ffff000 };
	struct page_info *page;
	u64 pa;
	u32 link;
	unsigned int n = 0;

	plat_banks(&p, three_banks, 3);
	db_init(&p);
	assert_false(pagedb_list_pop(&a, &pa));
	for (unsigned int i = 0; i < 4; i++) {
		pagedb_list_push(i == 1 ? &b : &a, pas[i]);
		assert_int_not_equal(pagedb_lookup(pas[i])->next, 0);
	}
	assert_int_equal(a.count, 3);
	assert_int_equal(b.count, 1);
	/* b's only page is its own last: it links to itself. */
	assert_true(pagedb_link_page(b.head, &pa, &page));
	assert_int_equal(pa, pas[1]);
	assert_ptr_equal(page, pagedb_lookup(pas[1]));
	assert_int_equal(page->next, b.head);
	assert_int_equal(pagedb_next_link(b.head, page), 0);
	/* a walks newest first. */
	for (link = a.head; link; link = pagedb_next_link(link, page), n++) {
		static const unsigned int order[] = { 3, 2, 0 };

		assert_true(n < 3);
		assert_true(pagedb_link_page(link, &pa, &page));
		assert_int_equal(pa, pas[order[n]]);
	}
	assert_int_equal(n, 3);
	/* Links outside the database name nothing; 0 is the end. */
	assert_false(pagedb_link_page(0, &pa, &page));
	assert_false(pagedb_link_page((u32)(storage_size / sizeof(struct page_info)) + 1, &pa, &page));
	assert_true(pagedb_link_page((u32)(storage_size / sizeof(struct page_info)), &pa, &page));
	assert_int_equal(pa, 0x13ffff000ULL);
	/* Popping takes them off, newest first, each with next 0 again. */
	assert_true(pagedb_list_pop(&a, &pa));
	assert_int_equal(pa, pas[3]);
	assert_int_equal(pagedb_lookup(pas[3])->next, 0);
	assert_true(pagedb_list_pop(&a, &pa));
	assert_true(pagedb_list_pop(&a, &pa));
	assert_int_equal(pa, pas[0]);
	assert_false(pagedb_list_pop(&a, &pa));
	assert_int_equal(a.head, 0);
	assert_int_equal(a.count, 0);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(pagedb_lookup(pas[i])->next, i == 1 ? b.head : 0);
	}
}

/* Which VM a page serves: the pages a VM's index holds. */
static void test_page_vm(void **state)
{
	struct page_info p = { OWNER_VM(3), OWNER_NONE, PAGE_OWNED, 0, 0 };

	assert_int_equal(pagedb_page_vm(&p), OWNER_VM(3));
	p = (struct page_info){ OWNER_CORE, OWNER_VM(4), PAGE_OWNED, 0, 0 };
	assert_int_equal(pagedb_page_vm(&p), OWNER_VM(4));
	p = (struct page_info){ OWNER_HOST, OWNER_VM(5), PAGE_SHARED_OWNED, 0, 0 };
	assert_int_equal(pagedb_page_vm(&p), OWNER_VM(5));
	p = (struct page_info){ OWNER_HOST, OWNER_CORE, PAGE_SHARED_OWNED, PAGE_FLAG_RUN_PAGE, 0 };
	assert_int_equal(pagedb_page_vm(&p), OWNER_NONE);
	p = (struct page_info){ OWNER_CORE, OWNER_NONE, PAGE_OWNED, 0, 0 };
	assert_int_equal(pagedb_page_vm(&p), OWNER_NONE);
	p = (struct page_info){ OWNER_NONE, OWNER_NONE, PAGE_PENDING_SCRUB, 0, 0 };
	assert_int_equal(pagedb_page_vm(&p), OWNER_NONE);
	p = (struct page_info){ OWNER_HOST, OWNER_NONE, PAGE_OWNED, 0, 0 };
	assert_int_equal(pagedb_page_vm(&p), OWNER_NONE);
}

static void test_owner_name(void **state)
{
	char buf[16];

	assert_string_equal(owner_name(OWNER_HOST, buf, sizeof(buf)), "host");
	assert_string_equal(owner_name(OWNER_CORE, buf, sizeof(buf)), "core");
	assert_string_equal(owner_name(OWNER_NONE, buf, sizeof(buf)), "none");
	assert_string_equal(owner_name(OWNER_VM(7), buf, sizeof(buf)), "vm7");
	assert_string_equal(owner_name(OWNER_VM(0), buf, sizeof(buf)), "vm0");
	assert_string_equal(owner_name(OWNER_VM(1234), buf, sizeof(buf)), "vm1234");
	/* The largest VM owner still fits the documented 16 bytes. */
	assert_string_equal(owner_name(0xffff, buf, sizeof(buf)), "vm65519");
	/* A VM name is written into the caller's buffer. */
	assert_ptr_equal(owner_name(OWNER_VM(3), buf, sizeof(buf)), buf);
	assert_true(OWNER_IS_VM(OWNER_VM(0)));
	assert_false(OWNER_IS_VM(OWNER_NONE));
	assert_int_equal(OWNER_VM_ID(OWNER_VM(42)), 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storage_bytes),
		cmocka_unit_test(test_init_rejects_bad_arguments),
		cmocka_unit_test(test_one_bank),
		cmocka_unit_test(test_two_banks),
		cmocka_unit_test(test_three_banks),
		cmocka_unit_test(test_ragged_bank),
		cmocka_unit_test(test_set_range),
		cmocka_unit_test_teardown(test_page_lists, teardown),
		cmocka_unit_test(test_page_vm),
		cmocka_unit_test(test_owner_name),
	};

	return cmocka_run_group_tests_name("pagedb", tests, NULL, teardown);
}
