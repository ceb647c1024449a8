/*
 * Unit tests for core/pgtable.c: the VMSAv8-64 (4 KiB granule) table builder
 * used for the core's EL2 stage 1 and every stage 2.
 *
 * Covers argument checks, block sizes chosen for each alignment, lookups and
 * flag round trips, the raw descriptor bits against the Arm ARM encodings
 * (spelled out here independently of pgtable.h), block splitting and
 * re-coalescing with table-page accounting, break-before-make on live tables
 * (the order of barriers and TLBIs in the fake trace and -- on x86-64 Linux --
 * the value of the entry at the moment each op is issued), allocation
 * failure, pgt_destroy, the pgt_pages_needed() bound, and a randomized model
 * test against a page-by-page reference.
 *
 * In the fake build a table page's "physical address" is its host pointer, so
 * table pages come from aligned_alloc().
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
/* The write watch below single-steps with the x86 trap flag; elsewhere only the op order is checked. */
#ifndef HAVE_WRITE_WATCH
#if defined(__x86_64__) && defined(__linux__)
#define HAVE_WRITE_WATCH 1
#else
#define HAVE_WRITE_WATCH 0
#endif
#endif
#if HAVE_WRITE_WATCH
#include <ucontext.h>
#endif

#include <moat/errors.h>

#include "fake_arch.h"
#include "pgtable.h"

/* ---------------------------------------------------------------- Arm ARM encodings */

/* VMSAv8-64 descriptor fields (Arm ARM D8.3), written out independently of pgtable.h. */
#define D_VALID (1ULL << 0)
#define D_TABLE (1ULL << 1) /* levels 0-2: table; level 3: page */
#define D_OA_MASK 0x0000fffffffff000ULL
#define D_AF (1ULL << 10)
#define D_SH_INNER (3ULL << 8)
#define D_XN (1ULL << 54)
/* Stage 2 */
#define D_S2_MEMATTR(x) ((u64)(x) << 2)
#define D_S2AP_R (1ULL << 6)
#define D_S2AP_W (1ULL << 7)
/* Stage 1, EL2 translation regime */
#define D_S1_ATTRIDX(x) ((u64)(x) << 2)
#define D_S1_AP1 (1ULL << 6) /* RES1 at EL2 (no EL0 access) */
#define D_S1_AP2_RO (1ULL << 7)

#define SZ_4K 0x1000ULL
#define GIB (1ULL << 30)
#define MIB2 (1ULL << 21)

/* ---------------------------------------------------------------- counting allocator */

#define MAX_FREE_LOG 64

struct counting_alloc {
	long allocs, frees;
	long limit; /* allocations allowed before returning NULL; < 0 = unlimited */
	long failures;
	size_t free_op[MAX_FREE_LOG]; /* fake.nr_ops when each of the first frees happened */
};

static void *ca_alloc(void *ctx)
{
	struct counting_alloc *ca = ctx;
	void *page;

	if (ca->limit >= 0 && ca->allocs >= ca->limit) {
		ca->failures++;
		return NULL;
	}
	page = aligned_alloc(4096, 4096);
	assert_non_null(page);
	memset(page, 0, 4096);
	ca->allocs++;
	return page;
}

static void ca_free(void *ctx, void *page)
{
	struct counting_alloc *ca = ctx;

	assert_non_null(page);
	assert_true(((uintptr_t)page & 4095) == 0);
	if (ca->frees < MAX_FREE_LOG) {
		ca->free_op[ca->frees] = fake.nr_ops;
	}
	ca->frees++;
	memset(page, 0x5a, 4096); /* a use after the core freed it reads junk, then ASan stops it */
	free(page);
}

struct tpgt {
	struct pgtable pgt;
	u64 *root;
	struct counting_alloc ca;
};

static void tpgt_init(struct tpgt *t, enum pgt_stage stage, unsigned int ia_bits)
{
	struct pgt_allocator a;

	memset(t, 0, sizeof(*t));
	t->ca.limit = -1;
	t->root = aligned_alloc(8192, 8192);
	assert_non_null(t->root);
	memset(t->root, 0, 8192);
	a.alloc_page = ca_alloc;
	a.free_page = ca_free;
	a.ctx = &t->ca;
	assert_int_equal(pgt_init(&t->pgt, stage, ia_bits, t->root, &a), MOAT_OK);
}

/* Destroy and check that every table page came back. */
static void tpgt_fini(struct tpgt *t)
{
	t->pgt.live = false;
	pgt_destroy(&t->pgt);
	assert_int_equal(t->ca.frees, t->ca.allocs);
	for (unsigned int i = 0; i < 1024; i++) {
		assert_int_equal(t->root[i], 0);
	}
	free(t->root);
	t->root = NULL;
}

/* ---------------------------------------------------------------- raw walk */

/* The entry that translates ia at `level` (walking tables above it), or NULL if a walk stops earlier. */
static u64 *raw_entry(const struct tpgt *t, u64 ia, unsigned int level)
{
	u64 *table = t->root;
	unsigned int entries = t->pgt.ia_bits == 40 ? 1024 : 512;

	for (unsigned int lvl = 1; lvl <= 3; lvl++) {
		unsigned int shift = 12 + 9 * (3 - lvl);
		u64 *e = &table[(ia >> shift) & (entries - 1)];

		if (lvl == level) {
			return e;
		}
		if ((*e & (D_VALID | D_TABLE)) != (D_VALID | D_TABLE)) {
			return NULL;
		}
		table = (u64 *)(uintptr_t)(*e & D_OA_MASK);
		entries = 512;
	}
	return NULL;
}

/* Checks report the caller's line (cmocka's _assert_* take file and line). */
#define expect_lookup(t, ia, pa, flags, level) expect_lookup_at((t), (ia), (pa), (flags), (level), __FILE__, __LINE__)
#define expect_unmapped(t, ia) expect_unmapped_at((t), (ia), __FILE__, __LINE__)
#define expect_leaf_bytes(t, l1, l2, l3) expect_leaf_bytes_at((t), (l1), (l2), (l3), __FILE__, __LINE__)

static void expect_lookup_at(const struct tpgt *t, u64 ia, u64 pa, unsigned int flags, unsigned int level,
			     const char *file, int line)
{
	u64 out_pa = 0;
	unsigned int out_flags = 0, out_level = 0;

	_assert_true(pgt_lookup(&t->pgt, ia, &out_pa, &out_flags, &out_level), "pgt_lookup", file, line);
	_assert_int_equal(out_pa, pa, file, line);
	_assert_int_equal(out_flags, flags, file, line);
	_assert_int_equal(out_level, level, file, line);
}

static void expect_unmapped_at(const struct tpgt *t, u64 ia, const char *file, int line)
{
	u64 pa;
	unsigned int flags, level;

	_assert_true(!pgt_lookup(&t->pgt, ia, &pa, &flags, &level), "!pgt_lookup", file, line);
}

static void expect_leaf_bytes_at(const struct tpgt *t, u64 l1, u64 l2, u64 l3, const char *file, int line)
{
	u64 bytes[4];

	pgt_leaf_bytes(&t->pgt, bytes);
	_assert_int_equal(bytes[0], 0, file, line);
	_assert_int_equal(bytes[1], l1, file, line);
	_assert_int_equal(bytes[2], l2, file, line);
	_assert_int_equal(bytes[3], l3, file, line);
}

static bool is_tlbi(enum fake_op op)
{
	return op == FAKE_TLBI_S2_IPA || op == FAKE_TLBI_S1_ALL || op == FAKE_TLBI_S12_ALL ||
	       op == FAKE_TLBI_EL2_VA || op == FAKE_TLBI_EL2_ALL;
}

static size_t count_tlbi(void)
{
	size_t n = 0;

	for (size_t i = 0; i < fake.nr_ops; i++) {
		n += is_tlbi(fake.ops[i].op);
	}
	return n;
}

static void expect_op(size_t i, enum fake_op op, u64 arg)
{
	assert_true(i < fake.nr_ops);
	if (fake.ops[i].op != op) {
		fail_msg("op %zu is %d, expected %d", i, (int)fake.ops[i].op, (int)op);
	}
	assert_int_equal(fake.ops[i].arg, arg);
}

/* Deterministic PRNG (xorshift64*), fixed seeds so failures reproduce. */
static u64 rng_state;

static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static u64 rnd_below(u64 n)
{
	return rnd() % n;
}

/* ---------------------------------------------------------------- write watch */

/*
 * Records every store to one table page together with fake.nr_ops at that
 * moment, so a test can tell what an entry held when each barrier or TLBI
 * was issued. The page is made read-only; the SIGSEGV handler re-enables
 * writes and sets the x86 trap flag; after the single store, the SIGTRAP
 * handler logs the entry's new value and write-protects the page again.
 */
#define MAX_WRITES 2048

struct write_event {
	size_t nr_ops; /* trace length when the store happened */
	u64 *addr;
	u64 value; /* value after the store */
};

#if HAVE_WRITE_WATCH
static struct {
	char *page;
	void *fault_addr;
	size_t nr;
	struct write_event ev[MAX_WRITES];
	struct sigaction old_segv, old_trap;
} watch;

static void watch_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	char *a = si->si_addr;

	if (!watch.page || a < watch.page || a >= watch.page + 4096) {
		/* A real crash: let the previous handler (cmocka/ASan) report it. */
		sigaction(SIGSEGV, &watch.old_segv, NULL);
		return;
	}
	watch.fault_addr = a;
	mprotect(watch.page, 4096, PROT_READ | PROT_WRITE);
	uc->uc_mcontext.gregs[REG_EFL] |= 0x100; /* TF: trap after the store */
}

static void watch_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	u64 *entry = (u64 *)((uintptr_t)watch.fault_addr & ~(uintptr_t)7);

	if (watch.nr < MAX_WRITES) {
		watch.ev[watch.nr].nr_ops = fake.nr_ops;
		watch.ev[watch.nr].addr = entry;
		watch.ev[watch.nr].value = *entry;
		watch.nr++;
	}
	mprotect(watch.page, 4096, PROT_READ);
	uc->uc_mcontext.gregs[REG_EFL] &= ~0x100;
}

static void watch_start(void *page)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	watch.nr = 0;
	watch.page = page;
	sa.sa_sigaction = watch_segv;
	assert_int_equal(sigaction(SIGSEGV, &sa, &watch.old_segv), 0);
	sa.sa_sigaction = watch_trap;
	assert_int_equal(sigaction(SIGTRAP, &sa, &watch.old_trap), 0);
	assert_int_equal(mprotect(page, 4096, PROT_READ), 0);
}

static void watch_stop(void)
{
	assert_int_equal(mprotect(watch.page, 4096, PROT_READ | PROT_WRITE), 0);
	sigaction(SIGSEGV, &watch.old_segv, NULL);
	sigaction(SIGTRAP, &watch.old_trap, NULL);
	watch.page = NULL;
}

/* The stores to entry, in order. */
static size_t writes_to(const u64 *entry, struct write_event *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < watch.nr && n < max; i++) {
		if (watch.ev[i].addr == entry) {
			out[n++] = watch.ev[i];
		}
	}
	return n;
}
#else
static void watch_start(void *page)
{
}

static void watch_stop(void)
{
}
#endif

/* ---------------------------------------------------------------- pgt_init */

static void test_init_rejects_bad_arguments(void **state)
{
	struct pgtable pgt;
	struct counting_alloc ca = { .limit = -1 };
	struct pgt_allocator a = { ca_alloc, ca_free, &ca };
	u64 *root = aligned_alloc(8192, 8192);

	assert_non_null(root);
	memset(root, 0, 8192);
	assert_int_equal(pgt_init(&pgt, PGT_STAGE2, 38, root, &a), MOAT_E_INVAL);
	assert_int_equal(pgt_init(&pgt, PGT_STAGE2, 41, root, &a), MOAT_E_INVAL);
	assert_int_equal(pgt_init(&pgt, PGT_STAGE2, 48, root, &a), MOAT_E_INVAL);
	assert_int_equal(pgt_init(&pgt, PGT_STAGE1_EL2, 0, root, &a), MOAT_E_INVAL);
	assert_int_equal(pgt_init(&pgt, PGT_STAGE1_EL2, 64, root, &a), MOAT_E_INVAL);
	/* 40 bits: two concatenated tables need 8 KiB alignment; 4 KiB is not enough. */
	assert_int_equal(pgt_init(&pgt, PGT_STAGE2, 40, root + 512, &a), MOAT_E_INVAL);
	assert_int_equal(pgt_init(&pgt, PGT_STAGE2, 40, root + 1, &a), MOAT_E_INVAL);
	/* 39 bits: page alignment. */
	assert_int_equal(pgt_init(&pgt, PGT_STAGE1_EL2, 39, root + 1, &a), MOAT_E_INVAL);
	assert_int_equal(pgt_init(&pgt, PGT_STAGE1_EL2, 39, (u64 *)((char *)root + 2048), &a), MOAT_E_INVAL);

	assert_int_equal(pgt_init(&pgt, PGT_STAGE1_EL2, 39, root + 512, &a), MOAT_OK);
	assert_int_equal(pgt.root_entries, 512);
	assert_int_equal(pgt.start_level, 1);
	assert_int_equal(pgt.ia_bits, 39);
	assert_false(pgt.live);

	assert_int_equal(pgt_init(&pgt, PGT_STAGE2, 40, root, &a), MOAT_OK);
	assert_int_equal(pgt.root_entries, 1024);
	assert_int_equal(pgt.start_level, 1);
	assert_int_equal(pgt.ia_bits, 40);
	assert_int_equal(pgt.stage, PGT_STAGE2);
	assert_false(pgt.live);
	assert_int_equal(ca.allocs, 0);
	free(root);
}

/* ---------------------------------------------------------------- block sizes and lookups */

static void test_block_level_follows_alignment(void **state)
{
	struct tpgt t;

	tpgt_init(&t, PGT_STAGE2, 40);
	/* 1 GiB-aligned GiB -> one level-1 block, no table page. */
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x80000000, GIB, PGT_RWX), MOAT_OK);
	assert_int_equal(t.ca.allocs, 0);
	expect_lookup(&t, 0x40000000, 0x80000000, PGT_RWX, 1);
	expect_lookup(&t, 0x7fffffff, 0xbfffffff, PGT_RWX, 1);
	expect_lookup(&t, 0x5abcdef8, 0x9abcdef8, PGT_RWX, 1);
	expect_unmapped(&t, 0x3ffff000);
	expect_unmapped(&t, 0x80000000);
	expect_leaf_bytes(&t, GIB, 0, 0);

	/* 2 MiB-aligned 2 MiB -> one level-2 block under one new table. */
	assert_int_equal(pgt_map(&t.pgt, 0x100200000, 0x7fe00000, MIB2, PGT_RW), MOAT_OK);
	assert_int_equal(t.ca.allocs, 1);
	expect_lookup(&t, 0x100200000, 0x7fe00000, PGT_RW, 2);
	expect_lookup(&t, 0x1003fffff, 0x7fffffff, PGT_RW, 2);
	expect_lookup(&t, 0x100312345, 0x7ff12345, PGT_RW, 2);
	expect_unmapped(&t, 0x100400000);
	expect_unmapped(&t, 0x1001ff000);

	/* An odd page -> level 3, one more table. */
	assert_int_equal(pgt_map(&t.pgt, 0x100401000, 0x12345000, SZ_4K, PGT_R), MOAT_OK);
	assert_int_equal(t.ca.allocs, 2);
	expect_lookup(&t, 0x100401000, 0x12345000, PGT_R, 3);
	expect_lookup(&t, 0x100401ffc, 0x12345ffc, PGT_R, 3);
	expect_unmapped(&t, 0x100400000);
	expect_unmapped(&t, 0x100402000);
	expect_leaf_bytes(&t, GIB, MIB2, SZ_4K);

	/* A GiB whose PA is only 2 MiB-aligned cannot use a 1 GiB block. */
	assert_int_equal(pgt_map(&t.pgt, 0x200000000, 0x80200000, GIB, PGT_RW), MOAT_OK);
	expect_lookup(&t, 0x200000000, 0x80200000, PGT_RW, 2);
	expect_lookup(&t, 0x23ffff000, 0xc01ff000, PGT_RW, 2);
	expect_leaf_bytes(&t, GIB, GIB + MIB2, SZ_4K);

	/* A GiB whose PA is only page-aligned: 512 level-3 tables. */
	assert_int_equal(pgt_map(&t.pgt, 0x300000000, 0x1000, GIB, PGT_R | PGT_DEVICE), MOAT_OK);
	expect_lookup(&t, 0x300000000, 0x1000, PGT_R | PGT_DEVICE, 3);
	expect_lookup(&t, 0x33ffffabc, 0x40000abc, PGT_R | PGT_DEVICE, 3);
	expect_leaf_bytes(&t, GIB, GIB + MIB2, GIB + SZ_4K);

	/* The last GiB of a 40-bit space, and the top two concatenated entries. */
	assert_int_equal(pgt_map(&t.pgt, (1ULL << 40) - GIB, 0x40000000, GIB, PGT_RW), MOAT_OK);
	expect_lookup(&t, (1ULL << 40) - 1, 0x7fffffff, PGT_RW, 1);
	assert_ptr_equal(raw_entry(&t, (1ULL << 40) - 1, 1), &t.root[1023]);
	tpgt_fini(&t);
}

static void test_stage1_blocks_and_lookup(void **state)
{
	struct tpgt t;

	tpgt_init(&t, PGT_STAGE1_EL2, 39);
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, GIB, PGT_RW), MOAT_OK);
	assert_int_equal(pgt_map(&t.pgt, 0x7fc000000, 0x9000000, MIB2, PGT_RW | PGT_DEVICE), MOAT_OK);
	assert_int_equal(pgt_map(&t.pgt, 0x7fffff000, 0x45678000, SZ_4K, PGT_R | PGT_X), MOAT_OK);
	expect_lookup(&t, 0x40001234, 0x40001234, PGT_RW, 1);
	expect_lookup(&t, 0x7fc001008, 0x9001008, PGT_RW | PGT_DEVICE, 2);
	expect_lookup(&t, 0x7fffff010, 0x45678010, PGT_R | PGT_X, 3);
	expect_leaf_bytes(&t, GIB, MIB2, SZ_4K);
	tpgt_fini(&t);
}

/* Every portable flag combination a stage can encode comes back from pgt_lookup unchanged. */
static void test_flags_round_trip(void **state)
{
	/* Stage 2 encodes R, W, X and the memory type independently: all 16 combinations. */
	static const unsigned int s1_flags[] = {
		PGT_R, PGT_RW, PGT_R | PGT_X, PGT_RWX, PGT_R | PGT_DEVICE, PGT_RW | PGT_DEVICE,
		PGT_R | PGT_X | PGT_DEVICE, PGT_RWX | PGT_DEVICE,
	};
	struct tpgt t;

	tpgt_init(&t, PGT_STAGE2, 40);
	for (unsigned int f = 0; f < 16; f++) {
		u64 base = 0x100000000ULL + f * 4 * MIB2;

		assert_int_equal(pgt_map(&t.pgt, base, 0x40000000 + f * MIB2, MIB2, f), MOAT_OK);
		assert_int_equal(pgt_map(&t.pgt, base + 2 * MIB2 + SZ_4K, 0x50000000 + f * SZ_4K, SZ_4K, f), MOAT_OK);
		expect_lookup(&t, base + 0x1234, 0x40001234 + f * MIB2, f, 2);
		expect_lookup(&t, base + 2 * MIB2 + SZ_4K + 8, 0x50000008 + f * SZ_4K, f, 3);
	}
	for (unsigned int f = 0; f < 16; f++) {
		assert_int_equal(pgt_map(&t.pgt, (u64)(f + 10) * GIB, (u64)(f + 1) * GIB, GIB, f), MOAT_OK);
		expect_lookup(&t, (u64)(f + 10) * GIB + 0x1000, (u64)(f + 1) * GIB + 0x1000, f, 1);
	}
	tpgt_fini(&t);

	/* EL2 stage 1 has no write-only or no-access encoding: every valid entry is readable. */
	tpgt_init(&t, PGT_STAGE1_EL2, 39);
	for (unsigned int i = 0; i < ARRAY_SIZE(s1_flags); i++) {
		u64 base = 0x200000000ULL + i * 4 * MIB2;

		assert_int_equal(pgt_map(&t.pgt, base, 0x40000000 + i * MIB2, MIB2, s1_flags[i]), MOAT_OK);
		assert_int_equal(pgt_map(&t.pgt, base + MIB2 + 3 * SZ_4K, 0x60000000, SZ_4K, s1_flags[i]), MOAT_OK);
		assert_int_equal(pgt_map(&t.pgt, (u64)(i + 16) * GIB, (u64)(i + 1) * GIB, GIB, s1_flags[i]), MOAT_OK);
		expect_lookup(&t, base + 0x10, 0x40000010 + i * MIB2, s1_flags[i], 2);
		expect_lookup(&t, base + MIB2 + 3 * SZ_4K, 0x60000000, s1_flags[i], 3);
		expect_lookup(&t, (u64)(i + 16) * GIB + 0x2000, (u64)(i + 1) * GIB + 0x2000, s1_flags[i], 1);
	}
	tpgt_fini(&t);
}

/* ---------------------------------------------------------------- raw descriptors */

static void test_stage2_descriptor_bits(void **state)
{
	struct tpgt t;
	u64 *e;

	tpgt_init(&t, PGT_STAGE2, 40);
	/* Normal RWX 1 GiB block: MemAttr 0b1111, S2AP RW, SH inner, AF, executable. */
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0xc0000000, GIB, PGT_RWX), MOAT_OK);
	e = raw_entry(&t, 0x40000000, 1);
	assert_ptr_equal(e, &t.root[1]);
	assert_int_equal(*e, 0xc0000000ULL | D_VALID | D_S2_MEMATTR(0xf) | D_S2AP_R | D_S2AP_W | D_SH_INNER | D_AF);
	/* Device RW 2 MiB block: MemAttr 0b0001 (Device-nGnRE), not executable. */
	assert_int_equal(pgt_map(&t.pgt, 0x8000000, 0x8000000, MIB2, PGT_RW | PGT_DEVICE), MOAT_OK);
	e = raw_entry(&t, 0x8000000, 2);
	assert_non_null(e);
	assert_int_equal(*e, 0x8000000ULL | D_VALID | D_S2_MEMATTR(0x1) | D_S2AP_R | D_S2AP_W | D_AF | D_XN);
	/* The level-1 entry above it is a table descriptor pointing at a page-aligned table. */
	e = raw_entry(&t, 0x8000000, 1);
	assert_int_equal(*e & (D_VALID | D_TABLE), D_VALID | D_TABLE);
	assert_int_equal(*e & ~(D_OA_MASK | D_VALID | D_TABLE), 0);
	/* Normal read-only non-executable 4 KiB page: bit 1 set at level 3, S2AP = 0b01. */
	assert_int_equal(pgt_map(&t.pgt, 0x8201000, 0x1234567000, SZ_4K, PGT_R), MOAT_OK);
	e = raw_entry(&t, 0x8201000, 3);
	assert_non_null(e);
	assert_int_equal(*e, 0x1234567000ULL | D_VALID | D_TABLE | D_S2_MEMATTR(0xf) | D_S2AP_R | D_SH_INNER | D_AF |
				     D_XN);
	/* Write-only and no-access are expressible at stage 2. */
	assert_int_equal(pgt_map(&t.pgt, 0x8202000, 0x2000, SZ_4K, PGT_W), MOAT_OK);
	assert_int_equal(*raw_entry(&t, 0x8202000, 3),
			 0x2000ULL | D_VALID | D_TABLE | D_S2_MEMATTR(0xf) | D_S2AP_W | D_SH_INNER | D_AF | D_XN);
	assert_int_equal(pgt_map(&t.pgt, 0x8203000, 0x3000, SZ_4K, 0), MOAT_OK);
	assert_int_equal(*raw_entry(&t, 0x8203000, 3),
			 0x3000ULL | D_VALID | D_TABLE | D_S2_MEMATTR(0xf) | D_SH_INNER | D_AF | D_XN);
	/* Device executable page (stage 2 does not forbid it; XN clear). */
	assert_int_equal(pgt_map(&t.pgt, 0x8204000, 0x9000000, SZ_4K, PGT_R | PGT_X | PGT_DEVICE), MOAT_OK);
	assert_int_equal(*raw_entry(&t, 0x8204000, 3),
			 0x9000000ULL | D_VALID | D_TABLE | D_S2_MEMATTR(0x1) | D_S2AP_R | D_AF);

	/* pgt_leaf_attrs is the same encoding without address and type bits. */
	assert_int_equal(pgt_leaf_attrs(PGT_STAGE2, PGT_RWX),
			 D_S2_MEMATTR(0xf) | D_S2AP_R | D_S2AP_W | D_SH_INNER | D_AF);
	assert_int_equal(pgt_leaf_attrs(PGT_STAGE2, PGT_RW | PGT_DEVICE),
			 D_S2_MEMATTR(0x1) | D_S2AP_R | D_S2AP_W | D_AF | D_XN);
	tpgt_fini(&t);
}

static void test_stage1_el2_descriptor_bits(void **state)
{
	struct tpgt t;
	u64 *e;

	tpgt_init(&t, PGT_STAGE1_EL2, 39);
	/* Text: normal (AttrIndx 0), read-only (AP[2]), executable. */
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, SZ_4K, PGT_R | PGT_X), MOAT_OK);
	e = raw_entry(&t, 0x40000000, 3);
	assert_non_null(e);
	assert_int_equal(*e, 0x40000000ULL | D_VALID | D_TABLE | D_S1_ATTRIDX(0) | D_S1_AP1 | D_S1_AP2_RO | D_SH_INNER |
				     D_AF);
	/* Data: normal RW, XN. */
	assert_int_equal(pgt_map(&t.pgt, 0x40001000, 0x40001000, SZ_4K, PGT_RW), MOAT_OK);
	assert_int_equal(*raw_entry(&t, 0x40001000, 3),
			 0x40001000ULL | D_VALID | D_TABLE | D_S1_AP1 | D_SH_INNER | D_AF | D_XN);
	/* Rodata: normal RO, XN. */
	assert_int_equal(pgt_map(&t.pgt, 0x40002000, 0x40002000, SZ_4K, PGT_R), MOAT_OK);
	assert_int_equal(*raw_entry(&t, 0x40002000, 3),
			 0x40002000ULL | D_VALID | D_TABLE | D_S1_AP1 | D_S1_AP2_RO | D_SH_INNER | D_AF | D_XN);
	/* UART: device (AttrIndx 1 = MAIR_EL2 Attr1 = 0x04 Device-nGnRE), RW, XN, as a 2 MiB block. */
	assert_int_equal(pgt_map(&t.pgt, 0x9000000, 0x9000000, MIB2, PGT_RW | PGT_DEVICE), MOAT_OK);
	e = raw_entry(&t, 0x9000000, 2);
	assert_non_null(e);
	assert_int_equal(*e & D_TABLE, 0);
	assert_int_equal(*e & ~D_OA_MASK, D_VALID | D_S1_ATTRIDX(1) | D_S1_AP1 | D_SH_INNER | D_AF | D_XN);
	assert_int_equal(*e & D_OA_MASK, 0x9000000);
	/* A 1 GiB block at level 1. */
	assert_int_equal(pgt_map(&t.pgt, 0x80000000, 0x80000000, GIB, PGT_RW), MOAT_OK);
	assert_int_equal(t.root[2], 0x80000000ULL | D_VALID | D_S1_AP1 | D_SH_INNER | D_AF | D_XN);
	/* MAIR_EL2_VALUE agrees with the indexes: Attr0 = 0xff (Normal WB RWA), Attr1 = 0x04 (nGnRE). */
	assert_int_equal(MAIR_EL2_VALUE & 0xff, 0xff);
	assert_int_equal((MAIR_EL2_VALUE >> 8) & 0xff, 0x04);
	assert_int_equal(MAIR_IDX_NORMAL, 0);
	assert_int_equal(MAIR_IDX_DEVICE, 1);
	tpgt_fini(&t);
}

/* ---------------------------------------------------------------- split and merge */

static void test_unmap_splits_gib_block(void **state)
{
	const u64 ia = 0x40000000, pa = 0x1c0000000ULL, hole = ia + 0x12345000;
	u64 bytes[4];
	struct tpgt t;

	tpgt_init(&t, PGT_STAGE2, 40);
	assert_int_equal(pgt_map(&t.pgt, ia, pa, GIB, PGT_RW), MOAT_OK);
	assert_int_equal(pgt_unmap(&t.pgt, hole, SZ_4K), MOAT_OK);
	assert_int_equal(t.ca.allocs, 2); /* one level-2 and one level-3 table */
	for (u64 off = 0; off < GIB; off += SZ_4K) {
		u64 out;
		unsigned int flags, level;

		if (ia + off == hole) {
			assert_false(pgt_lookup(&t.pgt, ia + off, &out, &flags, &level));
			continue;
		}
		if (!pgt_lookup(&t.pgt, ia + off + 0x18, &out, &flags, &level) || out != pa + off + 0x18 ||
		    flags != PGT_RW) {
			fail_msg("page 0x%llx: translation changed by the split", (unsigned long long)(ia + off));
		}
		assert_int_equal(level, (ia + off) >> 21 == hole >> 21 ? 3 : 2);
	}
	pgt_leaf_bytes(&t.pgt, bytes);
	assert_int_equal(bytes[1], 0);
	assert_int_equal(bytes[2], 511 * MIB2);
	assert_int_equal(bytes[3], 511 * SZ_4K);
	assert_int_equal(bytes[1] + bytes[2] + bytes[3], GIB - SZ_4K);
	/* The split copies attributes exactly. */
	assert_int_equal(*raw_entry(&t, ia, 2), (pa & D_OA_MASK) | D_VALID | pgt_leaf_attrs(PGT_STAGE2, PGT_RW));
	assert_int_equal(*raw_entry(&t, hole + SZ_4K, 3),
			 (pa + hole + SZ_4K - ia) | D_VALID | D_TABLE | pgt_leaf_attrs(PGT_STAGE2, PGT_RW));
	assert_int_equal(*raw_entry(&t, hole, 3), 0);

	/* Mapping the whole GiB again collapses it to one level-1 leaf and frees both tables. */
	assert_int_equal(pgt_map(&t.pgt, ia, pa, GIB, PGT_RW), MOAT_OK);
	assert_int_equal(t.ca.frees, 2);
	expect_lookup(&t, hole, pa + (hole - ia), PGT_RW, 1);
	expect_leaf_bytes(&t, GIB, 0, 0);
	assert_int_equal(t.root[1], pa | D_VALID | pgt_leaf_attrs(PGT_STAGE2, PGT_RW));
	tpgt_fini(&t);
}

static void test_unmap_edges_and_whole(void **state)
{
	struct tpgt t;

	tpgt_init(&t, PGT_STAGE2, 40);
	/* 8 MiB at 2 MiB alignment: four level-2 blocks. Cut 4 KiB + 2 MiB + 4 KiB out of the middle. */
	assert_int_equal(pgt_map(&t.pgt, 0x80000000, 0x80000000, 4 * MIB2, PGT_RWX), MOAT_OK);
	expect_leaf_bytes(&t, 0, 4 * MIB2, 0);
	assert_int_equal(pgt_unmap(&t.pgt, 0x80000000 + MIB2 - SZ_4K, MIB2 + 2 * SZ_4K), MOAT_OK);
	expect_leaf_bytes(&t, 0, MIB2, 2 * (MIB2 - SZ_4K));
	expect_unmapped(&t, 0x801ff000);
	expect_unmapped(&t, 0x80200000);
	expect_unmapped(&t, 0x80400000);
	expect_lookup(&t, 0x801fe000, 0x801fe000, PGT_RWX, 3);
	expect_lookup(&t, 0x80401000, 0x80401000, PGT_RWX, 3);
	expect_lookup(&t, 0x80000000, 0x80000000, PGT_RWX, 3);
	expect_lookup(&t, 0x80600000, 0x80600000, PGT_RWX, 2);
	/* Unmapping what is not mapped is fine and changes nothing. */
	assert_int_equal(pgt_unmap(&t.pgt, 0x80200000, MIB2), MOAT_OK);
	assert_int_equal(pgt_unmap(&t.pgt, 0x500000000ULL, 3 * GIB), MOAT_OK);
	expect_leaf_bytes(&t, 0, MIB2, 2 * (MIB2 - SZ_4K));
	/* Unmapping a whole GiB drops the tables below it. */
	assert_int_equal(pgt_unmap(&t.pgt, 0x80000000, GIB), MOAT_OK);
	expect_leaf_bytes(&t, 0, 0, 0);
	assert_int_equal(t.ca.frees, t.ca.allocs);
	assert_int_equal(t.root[2], 0);
	tpgt_fini(&t);
}

/* ---------------------------------------------------------------- break-before-make */

/*
 * Replacing the valid 2 MiB block at ia on a live stage 2: checks the exact
 * op sequence and, with the write watch, that the entry held 0 while the
 * TLBIs were issued and got its new value only after the last DSB.
 */
static void test_bbm_live_stage2_block_replace(void **state)
{
	int ret;
	const u64 ia = 0x80200000;
	struct write_event w[8];
	struct tpgt t;
	u64 *e, new_desc;
	size_t n;

	tpgt_init(&t, PGT_STAGE2, 40);
	assert_int_equal(pgt_map(&t.pgt, ia, 0x40200000, MIB2, PGT_RWX), MOAT_OK);
	t.pgt.live = true;
	e = raw_entry(&t, ia, 2);
	assert_non_null(e);
	fake_reset();
	watch_start((void *)((uintptr_t)e & ~(uintptr_t)4095));
	ret = pgt_map(&t.pgt, ia, 0x60000000, MIB2, PGT_RW);
	watch_stop();
	assert_int_equal(ret, MOAT_OK);
	new_desc = 0x60000000ULL | D_VALID | pgt_leaf_attrs(PGT_STAGE2, PGT_RW);
	assert_int_equal(*e, new_desc);
	assert_int_equal(fake.nr_ops, 7);
	expect_op(0, FAKE_DSB_ISHST, 0);
	expect_op(1, FAKE_TLBI_S2_IPA, ia);
	expect_op(2, FAKE_DSB_ISH, 0);
	expect_op(3, FAKE_TLBI_S1_ALL, 0);
	expect_op(4, FAKE_DSB_ISH, 0);
	expect_op(5, FAKE_DSB_ISHST, 0); /* after the new entry */
	expect_op(6, FAKE_ISB, 0);
	expect_lookup(&t, ia + 0x1000, 0x60001000, PGT_RW, 2);
#if HAVE_WRITE_WATCH
	n = writes_to(e, w, ARRAY_SIZE(w));
	assert_int_equal(n, 2);
	assert_int_equal(w[0].value, 0);
	assert_int_equal(w[0].nr_ops, 0); /* invalidated before the first DSB */
	assert_int_equal(w[1].value, new_desc);
	assert_int_equal(w[1].nr_ops, 5); /* new entry only after TLBI ...; DSB ISH */
	assert_int_equal(watch.nr, 2);	  /* nothing else in the table was touched */
#else
	(void)w;
	(void)n;
#endif
	tpgt_fini(&t);
}

/* Splitting a live 1 GiB block (unmap one page): block -> table is itself a BBM on the level-1 entry. */
static void test_bbm_live_stage2_split(void **state)
{
	int ret;
	const u64 ia = 0x40000000, page = 0x40403000;
	struct write_event w[8];
	struct tpgt t;
	size_t i, n;
	u64 *l1;

	tpgt_init(&t, PGT_STAGE2, 40);
	assert_int_equal(pgt_map(&t.pgt, ia, ia, GIB, PGT_RWX), MOAT_OK);
	t.pgt.live = true;
	l1 = &t.root[1];
	fake_reset();
	watch_start(t.root); /* entries 0..511 of the root */
	ret = pgt_unmap(&t.pgt, page, SZ_4K);
	watch_stop();
	assert_int_equal(ret, MOAT_OK);
	/* Level-1 block at 1 GiB broken, flushed by its IPA, then the table installed. */
	i = fake_find_op(0, FAKE_TLBI_S2_IPA);
	assert_true(i != (size_t)-1);
	assert_int_equal(fake.ops[i].arg, ia);
	assert_true(i >= 1);
	expect_op(i - 1, FAKE_DSB_ISHST, 0);
	expect_op(i + 1, FAKE_DSB_ISH, 0);
	expect_op(i + 2, FAKE_TLBI_S1_ALL, 0);
	expect_op(i + 3, FAKE_DSB_ISH, 0);
	expect_op(i + 4, FAKE_DSB_ISHST, 0);
	expect_op(i + 5, FAKE_ISB, 0);
	/* Then the level-2 block at 0x40400000, then the page itself. */
	i = fake_find_op(i + 1, FAKE_TLBI_S2_IPA);
	assert_true(i != (size_t)-1);
	assert_int_equal(fake.ops[i].arg, 0x40400000);
	expect_op(i + 1, FAKE_DSB_ISH, 0);
	expect_op(i + 2, FAKE_TLBI_S1_ALL, 0);
	i = fake_find_op(i + 1, FAKE_TLBI_S2_IPA);
	assert_true(i != (size_t)-1);
	assert_int_equal(fake.ops[i].arg, page);
	expect_op(i + 1, FAKE_DSB_ISH, 0);
	expect_op(i + 2, FAKE_TLBI_S1_ALL, 0);
	expect_op(i + 3, FAKE_DSB_ISH, 0);
	assert_int_equal(fake_find_op(i + 1, FAKE_TLBI_S2_IPA), (size_t)-1);
	assert_int_equal(fake_find_op(0, FAKE_TLBI_S12_ALL), (size_t)-1);
	expect_unmapped(&t, page);
	expect_lookup(&t, page + SZ_4K, page + SZ_4K, PGT_RWX, 3);
	expect_lookup(&t, ia, ia, PGT_RWX, 2);
#if HAVE_WRITE_WATCH
	n = writes_to(l1, w, ARRAY_SIZE(w));
	assert_int_equal(n, 2);
	assert_int_equal(w[0].value, 0);
	i = fake_find_op(0, FAKE_TLBI_S2_IPA);
	assert_true(w[0].nr_ops <= i - 1);
	assert_int_equal(w[1].value & (D_VALID | D_TABLE), D_VALID | D_TABLE);
	assert_int_equal(w[1].nr_ops, i + 4);
#else
	(void)w;
	(void)n;
	(void)l1;
#endif
	tpgt_fini(&t);
}

/*
 * Re-coalescing on a live table: a table entry replaced by a block needs the
 * whole-VMID flush (leaves may be cached for any address under the table),
 * and the old table pages are freed only after that flush completed.
 */
static void test_bbm_live_stage2_merge(void **state)
{
	int ret;
	const u64 ia = 0x140000000ULL;
	struct write_event w[8];
	struct tpgt t;
	size_t i, n;

	tpgt_init(&t, PGT_STAGE2, 40);
	assert_int_equal(pgt_map(&t.pgt, ia, ia, GIB, PGT_RWX), MOAT_OK);
	assert_int_equal(pgt_unmap(&t.pgt, ia + 0x10000, SZ_4K), MOAT_OK);
	assert_int_equal(t.ca.allocs, 2);
	t.pgt.live = true;
	fake_reset();
	watch_start(t.root);
	ret = pgt_map(&t.pgt, ia, ia, GIB, PGT_RWX);
	watch_stop();
	assert_int_equal(ret, MOAT_OK);
	assert_int_equal(t.ca.frees, 2);
	expect_op(0, FAKE_DSB_ISHST, 0);
	expect_op(1, FAKE_TLBI_S12_ALL, 0);
	expect_op(2, FAKE_DSB_ISH, 0);
	expect_op(3, FAKE_TLBI_S1_ALL, 0);
	expect_op(4, FAKE_DSB_ISH, 0);
	expect_op(5, FAKE_DSB_ISHST, 0);
	expect_op(6, FAKE_ISB, 0);
	assert_int_equal(fake.nr_ops, 7);
	/* Freed table pages left only after the flush completed. */
	for (i = 0; i < 2; i++) {
		assert_true(t.ca.free_op[i] >= 5);
	}
	expect_leaf_bytes(&t, GIB, 0, 0);
#if HAVE_WRITE_WATCH
	n = writes_to(&t.root[5], w, ARRAY_SIZE(w));
	assert_int_equal(n, 2);
	assert_int_equal(w[0].value, 0);
	assert_int_equal(w[0].nr_ops, 0);
	assert_int_equal(w[1].value, ia | D_VALID | pgt_leaf_attrs(PGT_STAGE2, PGT_RWX));
	assert_int_equal(w[1].nr_ops, 5);
#else
	(void)w;
	(void)n;
#endif
	tpgt_fini(&t);
}

/* A table that is not live yet (being built at boot) gets no TLB maintenance at all. */
static void test_no_tlbi_when_not_live(void **state)
{
	struct tpgt t;

	tpgt_init(&t, PGT_STAGE2, 40);
	fake_reset();
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, GIB, PGT_RWX), MOAT_OK);
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x80000000, GIB, PGT_RW), MOAT_OK);	/* replace */
	assert_int_equal(pgt_unmap(&t.pgt, 0x40201000, SZ_4K), MOAT_OK);			/* split */
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x80000000, GIB, PGT_RW), MOAT_OK);	/* merge */
	assert_int_equal(pgt_unmap(&t.pgt, 0x40000000, GIB), MOAT_OK);
	assert_true(fake.nr_ops > 0);
	assert_int_equal(count_tlbi(), 0);
	assert_int_equal(fake_find_op(0, FAKE_ISB), (size_t)-1);
	tpgt_fini(&t);

	tpgt_init(&t, PGT_STAGE1_EL2, 39);
	fake_reset();
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, 4 * MIB2, PGT_RW), MOAT_OK);
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, 4 * MIB2, PGT_R), MOAT_OK);
	assert_int_equal(pgt_unmap(&t.pgt, 0x40001000, SZ_4K), MOAT_OK);
	assert_int_equal(count_tlbi(), 0);
	tpgt_fini(&t);
}

/* A first mapping into an empty (invalid) entry of a live table needs no TLBI either. */
static void test_live_map_into_invalid_entry(void **state)
{
	struct tpgt t;

	tpgt_init(&t, PGT_STAGE2, 40);
	t.pgt.live = true;
	fake_reset();
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, MIB2, PGT_RW), MOAT_OK);
	assert_int_equal(count_tlbi(), 0);
	/* Each written entry is published with DSB ISHST; ISB. */
	assert_int_equal(fake.nr_ops, 4);
	expect_op(0, FAKE_DSB_ISHST, 0);
	expect_op(1, FAKE_ISB, 0);
	expect_op(2, FAKE_DSB_ISHST, 0);
	expect_op(3, FAKE_ISB, 0);
	tpgt_fini(&t);
}

static void test_bbm_live_stage1(void **state)
{
	const u64 va = 0x40200000;
	struct tpgt t;
	size_t i;

	tpgt_init(&t, PGT_STAGE1_EL2, 39);
	assert_int_equal(pgt_map(&t.pgt, va, va, MIB2, PGT_RW), MOAT_OK);
	t.pgt.live = true;

	/* Replace a block: TLBI VAE2IS by its VA, nothing stage-2 or guest related. */
	fake_reset();
	assert_int_equal(pgt_map(&t.pgt, va, va, MIB2, PGT_R), MOAT_OK);
	assert_int_equal(fake.nr_ops, 5);
	expect_op(0, FAKE_DSB_ISHST, 0);
	expect_op(1, FAKE_TLBI_EL2_VA, va);
	expect_op(2, FAKE_DSB_ISH, 0);
	expect_op(3, FAKE_DSB_ISHST, 0);
	expect_op(4, FAKE_ISB, 0);
	expect_lookup(&t, va + 8, va + 8, PGT_R, 2);

	/* Split by unmapping one page: the block's VA, then the page's VA. */
	fake_reset();
	assert_int_equal(pgt_unmap(&t.pgt, va + 0x5000, SZ_4K), MOAT_OK);
	i = fake_find_op(0, FAKE_TLBI_EL2_VA);
	assert_true(i != (size_t)-1 && i >= 1);
	assert_int_equal(fake.ops[i].arg, va);
	expect_op(i - 1, FAKE_DSB_ISHST, 0);
	expect_op(i + 1, FAKE_DSB_ISH, 0);
	i = fake_find_op(i + 1, FAKE_TLBI_EL2_VA);
	assert_true(i != (size_t)-1);
	assert_int_equal(fake.ops[i].arg, va + 0x5000);
	expect_op(i + 1, FAKE_DSB_ISH, 0);
	assert_int_equal(fake_find_op(0, FAKE_TLBI_S2_IPA), (size_t)-1);
	assert_int_equal(fake_find_op(0, FAKE_TLBI_S1_ALL), (size_t)-1);
	assert_int_equal(fake_find_op(0, FAKE_TLBI_S12_ALL), (size_t)-1);

	/* Merge back: a table replaced by a block flushes all EL2 entries. */
	fake_reset();
	assert_int_equal(pgt_map(&t.pgt, va, va, MIB2, PGT_R), MOAT_OK);
	expect_op(0, FAKE_DSB_ISHST, 0);
	expect_op(1, FAKE_TLBI_EL2_ALL, 0);
	expect_op(2, FAKE_DSB_ISH, 0);
	expect_op(3, FAKE_DSB_ISHST, 0);
	expect_op(4, FAKE_ISB, 0);
	assert_int_equal(t.ca.frees, 1);
	assert_true(t.ca.free_op[0] >= 3);
	assert_int_equal(fake_find_op(0, FAKE_TLBI_S1_ALL), (size_t)-1);
	tpgt_fini(&t);
}

/* ---------------------------------------------------------------- failures */

static void test_nomem(void **state)
{
	struct tpgt t;

	/* An odd page on an empty table needs a level-2 and a level-3 table. */
	for (long limit = 0; limit <= 2; limit++) {
		tpgt_init(&t, PGT_STAGE2, 40);
		t.ca.limit = limit;
		assert_int_equal(pgt_map(&t.pgt, 0x40201000, 0x40201000, SZ_4K, PGT_RW),
				 limit < 2 ? MOAT_E_NOMEM : MOAT_OK);
		if (limit < 2) {
			expect_unmapped(&t, 0x40201000);
		} else {
			expect_lookup(&t, 0x40201000, 0x40201000, PGT_RW, 3);
		}
		tpgt_fini(&t);
	}

	/* A long unaligned range runs out part-way: an error, no wrong translation, no leak. */
	tpgt_init(&t, PGT_STAGE2, 40);
	t.ca.limit = 5;
	assert_int_equal(pgt_map(&t.pgt, 0x40001000, 0x80002000, 64 * MIB2, PGT_RW), MOAT_E_NOMEM);
	assert_int_equal(t.ca.allocs, 5);
	for (u64 off = 0; off < 64 * MIB2; off += SZ_4K) {
		u64 pa;
		unsigned int flags, level;

		if (pgt_lookup(&t.pgt, 0x40001000 + off, &pa, &flags, &level)) {
			assert_int_equal(pa, 0x80002000 + off);
			assert_int_equal(flags, PGT_RW);
		}
	}
	tpgt_fini(&t);

	/* Splitting a block on unmap when no page is left: the block stays intact. */
	tpgt_init(&t, PGT_STAGE2, 40);
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, GIB, PGT_RWX), MOAT_OK);
	t.ca.limit = 0;
	assert_int_equal(pgt_unmap(&t.pgt, 0x40300000, SZ_4K), MOAT_E_NOMEM);
	expect_lookup(&t, 0x40300000, 0x40300000, PGT_RWX, 1);
	expect_leaf_bytes(&t, GIB, 0, 0);
	/* One page: the level-1 split succeeds, the level-2 one fails; everything else still maps. */
	t.ca.limit = 1;
	assert_int_equal(pgt_unmap(&t.pgt, 0x40300000, SZ_4K), MOAT_E_NOMEM);
	for (u64 off = 0; off < GIB; off += MIB2) {
		expect_lookup(&t, 0x40000000 + off + 0x3000, 0x40000000 + off + 0x3000, PGT_RWX, 2);
	}
	/* With memory, the same unmap completes. */
	t.ca.limit = -1;
	assert_int_equal(pgt_unmap(&t.pgt, 0x40300000, SZ_4K), MOAT_OK);
	expect_unmapped(&t, 0x40300000);
	expect_leaf_bytes(&t, 0, 511 * MIB2, 511 * SZ_4K);
	tpgt_fini(&t);
}

static void test_range_checks(void **state)
{
	struct tpgt t;
	u64 pa;
	unsigned int flags, level;

	tpgt_init(&t, PGT_STAGE2, 40);
	assert_int_equal(pgt_map(&t.pgt, 0x40000800, 0x40000000, SZ_4K, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000008, SZ_4K, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, SZ_4K + 1, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, 0x800, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, 0x40000000, 0x40000000, 0, PGT_RW), MOAT_E_INVAL);
	/* Beyond 2^40, straddling it, and sizes that wrap around. */
	assert_int_equal(pgt_map(&t.pgt, 1ULL << 40, 0x40000000, SZ_4K, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, (1ULL << 40) - SZ_4K, 0x40000000, 2 * SZ_4K, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, 0, 0, (1ULL << 40) + SZ_4K, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, 0x1000, 0, (u64)0 - SZ_4K, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, (u64)0 - SZ_4K, 0, SZ_4K, PGT_RW), MOAT_E_INVAL);
	/* An output address beyond the 48-bit descriptor field. */
	assert_int_equal(pgt_map(&t.pgt, 0, 1ULL << 48, SZ_4K, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_unmap(&t.pgt, 0x40000800, SZ_4K), MOAT_E_INVAL);
	assert_int_equal(pgt_unmap(&t.pgt, 0x40000000, 0x1800), MOAT_E_INVAL);
	assert_int_equal(pgt_unmap(&t.pgt, 0x40000000, 0), MOAT_E_INVAL);
	assert_int_equal(pgt_unmap(&t.pgt, 1ULL << 40, SZ_4K), MOAT_E_INVAL);
	assert_int_equal(pgt_unmap(&t.pgt, (1ULL << 40) - SZ_4K, 2 * SZ_4K), MOAT_E_INVAL);
	assert_int_equal(pgt_unmap(&t.pgt, 0x1000, (u64)0 - SZ_4K), MOAT_E_INVAL);
	assert_int_equal(t.ca.allocs, 0);
	expect_leaf_bytes(&t, 0, 0, 0);
	/* The whole 40-bit space is valid in one call. */
	assert_int_equal(pgt_map(&t.pgt, 0, 0, 1ULL << 40, PGT_RW), MOAT_OK);
	expect_leaf_bytes(&t, 1ULL << 40, 0, 0);
	assert_int_equal(t.ca.allocs, 0);
	/* Lookups beyond the input range fail rather than aliasing into the table. */
	assert_true(pgt_lookup(&t.pgt, (1ULL << 40) - 1, &pa, &flags, &level));
	assert_false(pgt_lookup(&t.pgt, 1ULL << 40, &pa, &flags, &level));
	assert_false(pgt_lookup(&t.pgt, (1ULL << 41) + 0x1000, &pa, &flags, &level));
	assert_false(pgt_lookup(&t.pgt, ~0ULL, &pa, &flags, &level));
	assert_int_equal(pgt_unmap(&t.pgt, 0, 1ULL << 40), MOAT_OK);
	expect_leaf_bytes(&t, 0, 0, 0);
	tpgt_fini(&t);

	tpgt_init(&t, PGT_STAGE1_EL2, 39);
	assert_int_equal(pgt_map(&t.pgt, 1ULL << 39, 0, SZ_4K, PGT_RW), MOAT_E_INVAL);
	assert_int_equal(pgt_map(&t.pgt, (1ULL << 39) - GIB, 0, GIB, PGT_RW), MOAT_OK);
	assert_true(pgt_lookup(&t.pgt, (1ULL << 39) - 8, &pa, &flags, &level));
	assert_false(pgt_lookup(&t.pgt, 1ULL << 39, &pa, &flags, &level));
	assert_false(pgt_lookup(&t.pgt, (1ULL << 40) - 8, &pa, &flags, &level));
	tpgt_fini(&t);
}

static void test_destroy_frees_everything(void **state)
{
	struct tpgt t;

	tpgt_init(&t, PGT_STAGE2, 40);
	assert_int_equal(pgt_map(&t.pgt, 0x0, 0x0, 3 * GIB, PGT_RWX), MOAT_OK);
	assert_int_equal(pgt_map(&t.pgt, 0x8000000000ULL - GIB, 0x1000, 8 * MIB2, PGT_RW), MOAT_OK);
	assert_int_equal(pgt_unmap(&t.pgt, 0x40123000, 0x3000), MOAT_OK);
	assert_int_equal(pgt_map(&t.pgt, 0xff00001000ULL, 0x7000, 0x5000, PGT_R), MOAT_OK);
	assert_int_equal(pgt_map(&t.pgt, (1ULL << 40) - 4 * MIB2, 0x200000, 4 * MIB2, PGT_R), MOAT_OK);
	assert_true(t.ca.allocs > 10);
	fake_reset();
	/* tpgt_fini: pgt_destroy, then every allocated page must have been freed and the root cleared. */
	tpgt_fini(&t);
	assert_int_equal(count_tlbi(), 0);
}

/* ---------------------------------------------------------------- pgt_pages_needed */

static void test_pages_needed_is_upper_bound(void **state)
{
	unsigned int worst_cases = 0;

	/* The smallest worst case: 3 pages across a GiB boundary, PA offset unlike IA's. */
	{
		struct tpgt t;

		tpgt_init(&t, PGT_STAGE2, 40);
		t.ca.limit = pgt_pages_needed(&t.pgt, 3 * SZ_4K);
		assert_int_equal(pgt_map(&t.pgt, 5 * GIB - SZ_4K, 0x3000, 3 * SZ_4K, PGT_RW), MOAT_OK);
		assert_int_equal(t.ca.allocs, 4);
		tpgt_fini(&t);
	}
	rng_state = 0x5eed0001;
	for (unsigned int iter = 0; iter < 300; iter++) {
		struct tpgt t;
		u64 size, ia, pa, max_ia = 1ULL << 40;
		unsigned int bound;

		switch (rnd_below(4)) {
		case 0: /* a few pages */
			size = (1 + rnd_below(64)) * SZ_4K;
			break;
		case 1: /* up to 64 MiB */
			size = (1 + rnd_below(16384)) * SZ_4K;
			break;
		case 2: /* whole 2 MiB blocks */
			size = (1 + rnd_below(1024)) * MIB2;
			break;
		default: /* up to 4 GiB, any page count */
			size = (1 + rnd_below(1 << 20)) * SZ_4K;
			break;
		}
		ia = rnd_below((max_ia - size) / SZ_4K + 1) * SZ_4K;
		if (size > SZ_4K && size < 64 * GIB && rnd_below(2)) {
			/* Straddle a GiB boundary: the worst case for the level-2 tables. */
			ia = (1 + rnd_below(1000)) * GIB - (1 + rnd_below(size / SZ_4K - 1)) * SZ_4K;
		}
		switch (rnd_below(4)) {
		case 0: /* any page: blocks impossible when the offsets differ */
			pa = rnd_below(1ULL << 35) * SZ_4K;
			break;
		case 1: /* same offset in a 2 MiB block */
			pa = rnd_below(1ULL << 25) * MIB2 + (ia & (MIB2 - 1));
			break;
		default: /* same offset in a GiB */
			pa = rnd_below(1ULL << 16) * GIB + (ia & (GIB - 1));
			break;
		}
		if (size > 256 * MIB2 && (pa & (MIB2 - 1)) != (ia & (MIB2 - 1))) {
			size = 256 * MIB2 + SZ_4K; /* keep the test quick: page-granular mappings are costly */
		}
		tpgt_init(&t, PGT_STAGE2, 40);
		bound = pgt_pages_needed(&t.pgt, size);
		t.ca.limit = bound;
		if (pgt_map(&t.pgt, ia, pa, size, PGT_RW) != MOAT_OK) {
			fail_msg("iter %u: map ia 0x%llx pa 0x%llx size 0x%llx failed with %u pages", iter,
				 (unsigned long long)ia, (unsigned long long)pa, (unsigned long long)size, bound);
		}
		assert_true(t.ca.allocs <= (long)bound);
		worst_cases += t.ca.allocs == (long)bound;
		/* Unmapping any range out of a block-mapped table stays within the bound too. */
		tpgt_fini(&t);
		tpgt_init(&t, PGT_STAGE2, 40);
		assert_int_equal(pgt_map(&t.pgt, 0, 0, 1ULL << 40, PGT_RW), MOAT_OK);
		t.ca.limit = bound;
		assert_int_equal(pgt_unmap(&t.pgt, ia, size), MOAT_OK);
		assert_true(t.ca.allocs <= (long)bound);
		tpgt_fini(&t);
	}
	/* The bound is tight: some random ranges needed every page of it. */
	assert_true(worst_cases > 0);
}

/* ---------------------------------------------------------------- randomized model */

#define MODEL_BASE 0x1c0000000ULL /* a GiB boundary: blocks from 2 MiB down */
#define MODEL_PAGES (64ULL * 1024 * 1024 / SZ_4K)

struct model_page {
	bool mapped;
	unsigned int flags;
	u64 pa;
};

static struct model_page model[MODEL_PAGES];

static void model_check(const struct tpgt *t, unsigned int op)
{
	u64 bytes[4], mapped = 0;

	for (u64 i = 0; i < MODEL_PAGES; i++) {
		u64 ia = MODEL_BASE + i * SZ_4K, pa;
		unsigned int flags, level;
		bool ok = pgt_lookup(&t->pgt, ia + (i & 0xff8), &pa, &flags, &level);

		if (ok != model[i].mapped ||
		    (ok && (pa != model[i].pa + (i & 0xff8) || flags != model[i].flags))) {
			fail_msg("op %u: page 0x%llx: table %s 0x%llx/%x, model %s 0x%llx/%x", op,
				 (unsigned long long)ia, ok ? "maps" : "unmapped", (unsigned long long)pa, ok ? flags : 0,
				 model[i].mapped ? "maps" : "unmapped", (unsigned long long)model[i].pa, model[i].flags);
		}
		mapped += model[i].mapped;
	}
	expect_unmapped(t, MODEL_BASE - SZ_4K);
	expect_unmapped(t, MODEL_BASE + MODEL_PAGES * SZ_4K);
	pgt_leaf_bytes(&t->pgt, bytes);
	assert_int_equal(bytes[1] + bytes[2] + bytes[3], mapped * SZ_4K);
	assert_int_equal(bytes[1], 0);
}

static void test_random_model(void **state)
{
	unsigned int blocks_seen = 0;
	struct tpgt t;

	rng_state = 0x6d6f6174; /* "moat" */
	memset(model, 0, sizeof(model));
	tpgt_init(&t, PGT_STAGE2, 40);
	for (unsigned int op = 0; op < 2000; op++) {
		u64 first, pages, pa = 0;
		unsigned int kind = (unsigned int)rnd_below(10), flags = (unsigned int)rnd_below(16);
		bool unmap = rnd_below(4) == 0;
		u64 bytes[4];

		if (kind < 4) { /* 1..16 pages anywhere */
			first = rnd_below(MODEL_PAGES);
			pages = 1 + rnd_below(16);
			pa = rnd_below(1ULL << 24) * SZ_4K;
		} else if (kind < 7) { /* whole 2 MiB blocks */
			first = rnd_below(MODEL_PAGES / 512) * 512;
			pages = (1 + rnd_below(4)) * 512;
			pa = rnd_below(1ULL << 15) * MIB2;
		} else { /* long unaligned ranges; half of them keep the 2 MiB offset so blocks form inside */
			first = rnd_below(MODEL_PAGES);
			pages = 1 + rnd_below(2048);
			pa = rnd_below(1ULL << 24) * SZ_4K;
			if (rnd_below(2)) {
				pa = ALIGN_DOWN(pa, MIB2) + ((first * SZ_4K) & (MIB2 - 1));
			}
		}
		pages = MIN(pages, MODEL_PAGES - first);
		if (unmap) {
			assert_int_equal(pgt_unmap(&t.pgt, MODEL_BASE + first * SZ_4K, pages * SZ_4K), MOAT_OK);
		} else {
			assert_int_equal(pgt_map(&t.pgt, MODEL_BASE + first * SZ_4K, pa, pages * SZ_4K, flags),
					 MOAT_OK);
		}
		for (u64 i = 0; i < pages; i++) {
			model[first + i].mapped = !unmap;
			model[first + i].pa = pa + i * SZ_4K;
			model[first + i].flags = flags;
		}
		model_check(&t, op);
		pgt_leaf_bytes(&t.pgt, bytes);
		blocks_seen += bytes[2] != 0;
	}
	/* The mix must actually have exercised blocks, splits and merges. */
	assert_true(blocks_seen > 100);
	assert_true(t.ca.frees > 0);
	tpgt_fini(&t);
}

static int group_setup(void **state)
{
	fake_reset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_arguments),
		cmocka_unit_test(test_block_level_follows_alignment),
		cmocka_unit_test(test_stage1_blocks_and_lookup),
		cmocka_unit_test(test_flags_round_trip),
		cmocka_unit_test(test_stage2_descriptor_bits),
		cmocka_unit_test(test_stage1_el2_descriptor_bits),
		cmocka_unit_test(test_unmap_splits_gib_block),
		cmocka_unit_test(test_unmap_edges_and_whole),
		cmocka_unit_test(test_bbm_live_stage2_block_replace),
		cmocka_unit_test(test_bbm_live_stage2_split),
		cmocka_unit_test(test_bbm_live_stage2_merge),
		cmocka_unit_test(test_no_tlbi_when_not_live),
		cmocka_unit_test(test_live_map_into_invalid_entry),
		cmocka_unit_test(test_bbm_live_stage1),
		cmocka_unit_test(test_nomem),
		cmocka_unit_test(test_range_checks),
		cmocka_unit_test(test_destroy_frees_everything),
		cmocka_unit_test(test_pages_needed_is_upper_bound),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests_name("pgtable", tests, group_setup, NULL);
}
