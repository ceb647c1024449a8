/*
 * Unit tests for core/alloc.c: the page pool (bump allocator with a free
 * list) that feeds the core's page tables.
 *
 * Covers init rounding, zeroing on every allocation (also of a page freed
 * dirty), exhaustion, reuse of freed pages, page_pool_alloc_pair's 8 KiB
 * alignment with exact nr_free accounting when the bump pointer sits on an
 * odd page, and the pgt_allocator callbacks (also driving a real pgtable).
 * Pool memory is a heap block, so any access outside it is an ASan report.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <moat/errors.h>

#include "alloc.h"
#include "fake_arch.h"
#include "pgtable.h"

#define SZ_4K 0x1000UL
#define POOL_PAGES 64

struct fixture {
	u8 *mem; /* POOL_PAGES pages, 8 KiB-aligned */
	struct page_pool pool;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f) {
		return -1;
	}
	f->mem = aligned_alloc(8192, POOL_PAGES * SZ_4K);
	if (!f->mem) {
		free(f);
		return -1;
	}
	/* Dirty memory: every page handed out must have been zeroed by the pool. */
	memset(f->mem, 0xa5, POOL_PAGES * SZ_4K);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->mem);
	free(f);
	return 0;
}

static u64 addr(const void *p)
{
	return (u64)(uintptr_t)p;
}

static void assert_zero_page(const void *page)
{
	const u8 *b = page;

	for (size_t i = 0; i < SZ_4K; i++) {
		if (b[i]) {
			fail_msg("byte %zu of page %p is 0x%02x, not zero", i, page, b[i]);
		}
	}
}

static void test_init_rounds_to_pages(void **state)
{
	struct fixture *f = *state;
	u64 base = addr(f->mem);

	page_pool_init(&f->pool, base, POOL_PAGES * SZ_4K);
	assert_int_equal(f->pool.next, base);
	assert_int_equal(f->pool.end, base + POOL_PAGES * SZ_4K);
	assert_int_equal(f->pool.nr_free, POOL_PAGES);
	assert_null(f->pool.free_list);

	/* A ragged region shrinks to the whole pages inside it. */
	page_pool_init(&f->pool, base + 100, 10 * SZ_4K);
	assert_int_equal(f->pool.next, base + SZ_4K);
	assert_int_equal(f->pool.end, base + 10 * SZ_4K);
	assert_int_equal(f->pool.nr_free, 9);

	/* Less than a page, or no whole page inside: empty, never negative. */
	page_pool_init(&f->pool, base + 100, 200);
	assert_int_equal(f->pool.nr_free, 0);
	assert_null(page_pool_alloc(&f->pool));
	assert_null(page_pool_alloc_pair(&f->pool));
	page_pool_init(&f->pool, base + SZ_4K - 8, SZ_4K);
	assert_int_equal(f->pool.nr_free, 0);
	assert_null(page_pool_alloc(&f->pool));
	page_pool_init(&f->pool, base, 0);
	assert_int_equal(f->pool.nr_free, 0);
	assert_null(page_pool_alloc(&f->pool));
}

static void test_alloc_all_zeroed_then_exhausted(void **state)
{
	struct fixture *f = *state;
	u64 base = addr(f->mem);
	u8 seen[POOL_PAGES] = { 0 };

	page_pool_init(&f->pool, base, POOL_PAGES * SZ_4K);
	for (unsigned int i = 0; i < POOL_PAGES; i++) {
		u8 *p = page_pool_alloc(&f->pool);
		u64 idx;

		assert_non_null(p);
		assert_true(addr(p) >= base && addr(p) < base + POOL_PAGES * SZ_4K);
		assert_int_equal(addr(p) & (SZ_4K - 1), 0);
		idx = (addr(p) - base) / SZ_4K;
		assert_int_equal(seen[idx], 0); /* never the same page twice */
		seen[idx] = 1;
		assert_zero_page(p);
		memset(p, 0xee, SZ_4K); /* the caller dirties it */
		assert_int_equal(f->pool.nr_free, POOL_PAGES - 1 - i);
	}
	assert_null(page_pool_alloc(&f->pool));
	assert_null(page_pool_alloc(&f->pool));
	assert_int_equal(f->pool.nr_free, 0);
	assert_null(page_pool_alloc_pair(&f->pool));
	assert_int_equal(f->pool.nr_free, 0);
}

static void test_free_dirty_then_alloc_zeroed(void **state)
{
	struct fixture *f = *state;
	u8 *a, *b, *c, *p;

	page_pool_init(&f->pool, addr(f->mem), 4 * SZ_4K);
	a = page_pool_alloc(&f->pool);
	b = page_pool_alloc(&f->pool);
	c = page_pool_alloc(&f->pool);
	assert_non_null(c);
	assert_int_equal(f->pool.nr_free, 1);
	memset(a, 0x11, SZ_4K);
	memset(b, 0x22, SZ_4K);
	page_pool_free(&f->pool, a);
	page_pool_free(&f->pool, b);
	assert_int_equal(f->pool.nr_free, 3);

	/* Freed pages are reused (most recent first) before fresh ones, and zeroed. */
	p = page_pool_alloc(&f->pool);
	assert_ptr_equal(p, b);
	assert_zero_page(p);
	p = page_pool_alloc(&f->pool);
	assert_ptr_equal(p, a);
	assert_zero_page(p);
	p = page_pool_alloc(&f->pool);
	assert_ptr_equal(p, f->mem + 3 * SZ_4K);
	assert_zero_page(p);
	assert_int_equal(f->pool.nr_free, 0);
	assert_null(page_pool_alloc(&f->pool));

	/* Free after exhaustion makes exactly that page available again. */
	memset(c, 0x33, SZ_4K);
	page_pool_free(&f->pool, c);
	assert_int_equal(f->pool.nr_free, 1);
	p = page_pool_alloc(&f->pool);
	assert_ptr_equal(p, c);
	assert_zero_page(p);
	assert_null(page_pool_alloc(&f->pool));
}

static void test_alloc_pair_aligned(void **state)
{
	struct fixture *f = *state;
	u64 base = addr(f->mem); /* 8 KiB-aligned */
	u8 *pair, *p;

	page_pool_init(&f->pool, base, 8 * SZ_4K);
	pair = page_pool_alloc_pair(&f->pool);
	assert_non_null(pair);
	assert_int_equal(addr(pair) & 8191, 0);
	assert_ptr_equal(pair, f->mem);
	assert_zero_page(pair);
	assert_zero_page(pair + SZ_4K);
	assert_int_equal(f->pool.nr_free, 6);

	/* Bump pointer on an odd page: the pair skips one page, which goes to the free list. */
	p = page_pool_alloc(&f->pool); /* base + 8K */
	assert_ptr_equal(p, f->mem + 2 * SZ_4K);
	assert_int_equal(f->pool.nr_free, 5);
	pair = page_pool_alloc_pair(&f->pool);
	assert_non_null(pair);
	assert_int_equal(addr(pair) & 8191, 0);
	assert_ptr_equal(pair, f->mem + 4 * SZ_4K);
	assert_zero_page(pair);
	assert_zero_page(pair + SZ_4K);
	assert_int_equal(f->pool.nr_free, 3); /* 5 - 2: the skipped page is still counted */
	/* The skipped page is not lost: it is the next single page handed out. */
	p = page_pool_alloc(&f->pool);
	assert_ptr_equal(p, f->mem + 3 * SZ_4K);
	assert_zero_page(p);
	assert_int_equal(f->pool.nr_free, 2);
	/* Then the rest, and nr_free reaches 0 exactly when the pool is empty. */
	assert_ptr_equal(page_pool_alloc(&f->pool), f->mem + 6 * SZ_4K);
	assert_ptr_equal(page_pool_alloc(&f->pool), f->mem + 7 * SZ_4K);
	assert_int_equal(f->pool.nr_free, 0);
	assert_null(page_pool_alloc(&f->pool));
}

/* The pool itself starts on an odd page: the first pair skips it. */
static void test_alloc_pair_odd_start(void **state)
{
	struct fixture *f = *state;
	u8 *pair;

	page_pool_init(&f->pool, addr(f->mem) + SZ_4K, 5 * SZ_4K); /* pages 1..5 */
	assert_int_equal(f->pool.nr_free, 5);
	pair = page_pool_alloc_pair(&f->pool);
	assert_ptr_equal(pair, f->mem + 2 * SZ_4K);
	assert_int_equal(f->pool.nr_free, 3);
	pair = page_pool_alloc_pair(&f->pool);
	assert_ptr_equal(pair, f->mem + 4 * SZ_4K);
	assert_int_equal(f->pool.nr_free, 1);
	assert_null(page_pool_alloc_pair(&f->pool));
	assert_int_equal(f->pool.nr_free, 1);
	assert_ptr_equal(page_pool_alloc(&f->pool), f->mem + SZ_4K);
	assert_int_equal(f->pool.nr_free, 0);
	assert_null(page_pool_alloc(&f->pool));
}

/* Not enough room for an aligned pair: NULL, and nothing changes. */
static void test_alloc_pair_exhaustion(void **state)
{
	struct fixture *f = *state;
	struct page_pool before;

	/* Two pages starting on an odd page: 2 pages free, but no aligned pair. */
	page_pool_init(&f->pool, addr(f->mem) + SZ_4K, 2 * SZ_4K);
	before = f->pool;
	assert_null(page_pool_alloc_pair(&f->pool));
	assert_memory_equal(&before, &f->pool, sizeof(before));
	assert_ptr_equal(page_pool_alloc(&f->pool), f->mem + SZ_4K);
	assert_ptr_equal(page_pool_alloc(&f->pool), f->mem + 2 * SZ_4K);
	assert_int_equal(f->pool.nr_free, 0);

	/* One page: never a pair. */
	page_pool_init(&f->pool, addr(f->mem), SZ_4K);
	assert_null(page_pool_alloc_pair(&f->pool));
	assert_int_equal(f->pool.nr_free, 1);

	/* Pages on the free list are not contiguous-guaranteed: a pair needs fresh memory. */
	page_pool_init(&f->pool, addr(f->mem), 2 * SZ_4K);
	{
		void *a = page_pool_alloc(&f->pool), *b = page_pool_alloc(&f->pool);

		page_pool_free(&f->pool, b);
		page_pool_free(&f->pool, a);
	}
	assert_int_equal(f->pool.nr_free, 2);
	assert_null(page_pool_alloc_pair(&f->pool));
	assert_int_equal(f->pool.nr_free, 2);
}

/* nr_free always equals what can actually be allocated, across a mixed sequence. */
static void test_nr_free_matches_reality(void **state)
{
	struct fixture *f = *state;
	void *held[POOL_PAGES];
	unsigned int nheld = 0;
	u64 count = 0;

	page_pool_init(&f->pool, addr(f->mem) + SZ_4K, (POOL_PAGES - 1) * SZ_4K);
	held[nheld++] = page_pool_alloc_pair(&f->pool); /* pages 2-3; skips page 1 */
	held[nheld++] = page_pool_alloc(&f->pool);	/* page 1, from the free list */
	held[nheld++] = page_pool_alloc(&f->pool);	/* page 4 */
	held[nheld++] = page_pool_alloc_pair(&f->pool); /* pages 6-7; skips page 5 */
	assert_ptr_equal(held[0], f->mem + 2 * SZ_4K);
	assert_ptr_equal(held[1], f->mem + SZ_4K);
	assert_ptr_equal(held[2], f->mem + 4 * SZ_4K);
	assert_ptr_equal(held[3], f->mem + 6 * SZ_4K);
	assert_int_equal(f->pool.nr_free, POOL_PAGES - 1 - 6);
	page_pool_free(&f->pool, held[1]);
	page_pool_free(&f->pool, held[2]);
	for (void *p; (p = page_pool_alloc(&f->pool)) != NULL;) {
		assert_zero_page(p);
		count++;
	}
	/* 63 pages: 4 in the two pairs, everything else came back one by one. */
	assert_int_equal(count, POOL_PAGES - 1 - 4);
	assert_int_equal(f->pool.nr_free, 0);
}

static void test_allocator_callbacks(void **state)
{
	struct fixture *f = *state;
	struct pgt_allocator a;
	struct pgtable pgt;
	u64 *root, pa;
	unsigned int flags, level;
	u8 *p;

	page_pool_init(&f->pool, addr(f->mem), POOL_PAGES * SZ_4K);
	a = page_pool_allocator(&f->pool);
	assert_ptr_equal(a.ctx, &f->pool);
	assert_non_null(a.alloc_page);
	assert_non_null(a.free_page);
	p = a.alloc_page(a.ctx);
	assert_ptr_equal(p, f->mem);
	assert_zero_page(p);
	assert_int_equal(f->pool.nr_free, POOL_PAGES - 1);
	memset(p, 0x77, SZ_4K);
	a.free_page(a.ctx, p);
	assert_int_equal(f->pool.nr_free, POOL_PAGES);
	p = a.alloc_page(a.ctx);
	assert_ptr_equal(p, f->mem);
	assert_zero_page(p);
	a.free_page(a.ctx, p);

	/* Drive a real stage 2 from the pool: every table page comes back on destroy. */
	root = page_pool_alloc_pair(&f->pool); /* pages 2-3; page 1 is skipped onto the free list */
	assert_non_null(root);
	assert_int_equal(pgt_init(&pgt, PGT_STAGE2, 40, root, &a), MOAT_OK);
	assert_int_equal(f->pool.nr_free, POOL_PAGES - 2);
	assert_int_equal(pgt_map(&pgt, 0x40001000, 0x40001000, 0x5000, PGT_RW), MOAT_OK);
	assert_int_equal(pgt_map(&pgt, 0x80000000, 0x80000000, 1UL << 30, PGT_RWX), MOAT_OK);
	assert_int_equal(f->pool.nr_free, POOL_PAGES - 2 - 2);
	assert_true(pgt_lookup(&pgt, 0x40003008, &pa, &flags, &level));
	assert_int_equal(pa, 0x40003008);
	assert_int_equal(level, 3);
	pgt_destroy(&pgt);
	assert_int_equal(f->pool.nr_free, POOL_PAGES - 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_rounds_to_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_all_zeroed_then_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_dirty_then_alloc_zeroed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_pair_aligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_pair_odd_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_pair_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nr_free_matches_reality, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocator_callbacks, setup, teardown),
	};

	fake_reset();
	return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
