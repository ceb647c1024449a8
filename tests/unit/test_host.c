/*
 * Unit tests for the host-facing generic core: host stage-2 construction
 * (core/host_s2.c), host stage-2 aborts (core/host_fault.c), host-call
 * dispatch (core/host_call.c) and trapped SMCs (core/psci.c).
 *
 * A hand-made platform (three RAM banks, core-owned pages, device windows
 * including one overlapping RAM, one straddling a bank's start, one beyond
 * the IPA space and fw_cfg inside a window) is turned into a host stage 2
 * from a heap-backed page pool; every RAM page, every device page and the
 * 1G/2M/4K coverage are then checked against what DESIGN §5 requires. Aborts
 * are checked through the fake architecture (injected syndrome, FAR) and the
 * console buffer (log line contents, rate limiting); host calls and SMCs
 * through the register frame, which must change only where the ABI says.
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
#include "host.h"
#include "host_call.h"
#include "host_s2.h"
#include "log.h"
#include "pagedb.h"
#include "pgtable.h"
#include "psci.h"

#define SZ_4K 0x1000ULL
#define MIB2 (1ULL << 21)
#define GIB (1ULL << 30)
#define POOL_PAGES 128

/* RAM */
#define BANK0 0x40000000ULL /* 2 GiB: GiB 1 holds the core's pages, GiB 2 stays one block */
#define BANK0_SIZE (2 * GIB)
#define BANK1 0x100000000ULL /* 5 x 2 MiB + 5 pages */
#define BANK1_SIZE 0xa05000ULL
#define BANK2 0x200001000ULL /* 511 pages, then one 2 MiB block */
#define BANK2_SIZE 0x3ff000ULL
#define CORE_BASE 0x41003000ULL /* core-owned: 2 MiB + 4 KiB, unaligned on both ends */
#define CORE_SIZE 0x201000ULL

/* Device windows */
#define GICD 0x08000000ULL
#define UART 0x09000000ULL
#define PLATFORM_BUS 0x0c000000ULL /* 16 MiB window holding fw_cfg */
#define FW_CFG 0x0c020000ULL	   /* 0x18 bytes: its page must not be mapped */
#define ODD_WINDOW 0x0a000010ULL   /* 0x20 bytes inside one page */
#define ECAM 0x4010000000ULL	   /* high PCIe ECAM, 256 MiB */
#define OVERLAP_RAM 0x7ff00000ULL  /* inside bank 0: must stay normal RAM */
#define STRADDLE 0x3ff00000ULL	   /* [0x3ff00000, 0x40100000): partly RAM, skipped entirely */
#define BEYOND_IPA (1ULL << 40)

/* A host virtual address and PC for aborts. */
#define HOST_PC 0xffff800010123456ULL
#define HOST_VA 0xffff000041005008ULL
#define SPSR_EL1H 0x3c5ULL

/* ESR_EL2 of a stage-2 data abort from EL1: EC 0x24, IL, ISV, SAS = word, SRT = 5, DFSC = translation L3. */
#define ESR_EL2_DABT (0x24ULL << 26 | 1ULL << 25 | 1ULL << 24 | 2ULL << 22 | 5ULL << 16 | 0x07)
#define ESR_WNR_BIT (1ULL << 6)

static struct {
	struct platform_info plat;
	void *pagedb_storage;
	void *pool_mem;
	struct page_pool pool;
} env;

static void make_platform(struct platform_info *p)
{
	memset(p, 0, sizeof(*p));
	p->mem[0] = (struct fdt_range){ BANK0, BANK0_SIZE };
	p->mem[1] = (struct fdt_range){ BANK1, BANK1_SIZE };
	p->mem[2] = (struct fdt_range){ BANK2, BANK2_SIZE };
	p->nr_mem = 3;
	p->mmio[p->nr_mmio++] = (struct fdt_range){ GICD, 0x10000 };
	p->mmio[p->nr_mmio++] = (struct fdt_range){ UART, 0x1000 };
	p->mmio[p->nr_mmio++] = (struct fdt_range){ OVERLAP_RAM, 0x200000 };
	p->mmio[p->nr_mmio++] = (struct fdt_range){ PLATFORM_BUS, 0x1000000 };
	p->mmio[p->nr_mmio++] = (struct fdt_range){ STRADDLE, 0x200000 };
	p->mmio[p->nr_mmio++] = (struct fdt_range){ ODD_WINDOW, 0x20 };
	p->mmio[p->nr_mmio++] = (struct fdt_range){ ECAM, 0x10000000 };
	p->mmio[p->nr_mmio++] = (struct fdt_range){ BEYOND_IPA, 0x1000 };
	p->gicd = (struct fdt_range){ GICD, 0x10000 };
	p->uart = (struct fdt_range){ UART, 0x1000 };
	p->fw_cfg = (struct fdt_range){ FW_CFG, 0x18 };
}

/* Fresh page database (with the core's pages marked) and host stage 2. */
static void build_host(void)
{
	u64 bytes;

	make_platform(&env.plat);
	bytes = pagedb_storage_bytes(&env.plat);
	free(env.pagedb_storage);
	env.pagedb_storage = calloc(1, bytes);
	assert_non_null(env.pagedb_storage);
	assert_int_equal(pagedb_init(&env.plat, env.pagedb_storage, bytes), MOAT_OK);
	pagedb_set_range(CORE_BASE, CORE_SIZE, OWNER_CORE, PAGE_OWNED);

	free(env.pool_mem);
	env.pool_mem = aligned_alloc(8192, POOL_PAGES * SZ_4K);
	assert_non_null(env.pool_mem);
	memset(env.pool_mem, 0xa5, POOL_PAGES * SZ_4K);
	page_pool_init(&env.pool, (u64)(uintptr_t)env.pool_mem, POOL_PAGES * SZ_4K);
	assert_int_equal(host_s2_init(&env.plat, &env.pool), MOAT_OK);
}

static int group_setup(void **state)
{
	fake_reset();
	return 0;
}

static int group_teardown(void **state)
{
	free(env.pagedb_storage);
	free(env.pool_mem);
	env.pagedb_storage = env.pool_mem = NULL;
	return 0;
}

static int test_setup(void **state)
{
	fake_reset();
	return 0;
}

static bool lookup(u64 ia, u64 *pa, unsigned int *flags, unsigned int *level)
{
	return pgt_lookup(host_s2(), ia, pa, flags, level);
}

#define expect_host_page(ia, flags) expect_host_page_at((ia), (flags), __FILE__, __LINE__)
#define expect_no_page(ia) expect_no_page_at((ia), __FILE__, __LINE__)

static void expect_host_page_at(u64 ia, unsigned int want, const char *file, int line)
{
	u64 pa = 0;
	unsigned int flags = 0, level;

	_assert_true(lookup(ia, &pa, &flags, &level), "mapped", file, line);
	_assert_int_equal(pa, ia, file, line);
	_assert_int_equal(flags, want, file, line);
}

static void expect_no_page_at(u64 ia, const char *file, int line)
{
	u64 pa;
	unsigned int flags, level;

	_assert_true(!lookup(ia, &pa, &flags, &level), "not mapped", file, line);
}

static bool console_has(const char *s)
{
	return strstr(fake.console, s) != NULL;
}

static unsigned int console_lines(void)
{
	unsigned int n = 0;

	for (size_t i = 0; i < fake.console_len; i++) {
		n += fake.console[i] == '\n';
	}
	return n;
}

/* ---------------------------------------------------------------- host stage 2 */

static void test_s2_ram_identity_rwx(void **state)
{
	build_host();
	assert_int_equal(host_s2()->ia_bits, 40);
	assert_int_equal(host_s2()->stage, PGT_STAGE2);
	assert_int_equal(host_s2()->root_entries, 1024);
	assert_int_equal((uintptr_t)host_s2()->root & 8191, 0);
	for (unsigned int b = 0; b < env.plat.nr_mem; b++) {
		u64 base = env.plat.mem[b].base, end = base + env.plat.mem[b].size;

		for (u64 pa = base; pa < end; pa += SZ_4K) {
			bool core = pa >= CORE_BASE && pa < CORE_BASE + CORE_SIZE;
			u64 out;
			unsigned int flags, level;
			bool mapped = lookup(pa + 0x10, &out, &flags, &level);

			assert_int_equal(pagedb_lookup(pa)->owner, core ? OWNER_CORE : OWNER_HOST);
			if (core) {
				if (mapped) {
					fail_msg("core page 0x%llx is mapped for the host", (unsigned long long)pa);
				}
				continue;
			}
			if (!mapped || out != pa + 0x10 || flags != PGT_RWX) {
				fail_msg("host page 0x%llx: mapped %d to 0x%llx flags %u", (unsigned long long)pa, mapped,
					 (unsigned long long)out, mapped ? flags : 0);
			}
		}
		/* Nothing just outside a bank is RAM-mapped. */
		if (b != 0) {
			expect_no_page(base - SZ_4K);
		}
		expect_no_page(end);
	}
}

static void test_s2_devices(void **state)
{
	const unsigned int dev = PGT_RW | PGT_DEVICE;

	build_host();
	expect_host_page(GICD, dev);
	expect_host_page(GICD + 0xf000, dev);
	expect_no_page(GICD + 0x10000);
	expect_host_page(UART, dev);
	expect_no_page(UART + SZ_4K);
	expect_host_page(0x0a000000, dev); /* the page holding an unaligned window */
	expect_no_page(0x0a001000);
	expect_host_page(ECAM, dev);
	expect_host_page(ECAM + 0x10000000 - SZ_4K, dev);
	expect_no_page(ECAM + 0x10000000);

	/* fw_cfg's page is cut out of its window; the rest of the window stays. */
	expect_host_page(PLATFORM_BUS, dev);
	expect_host_page(FW_CFG - SZ_4K, dev);
	expect_no_page(FW_CFG);
	expect_host_page(FW_CFG + SZ_4K, dev);
	expect_host_page(PLATFORM_BUS + 0x1000000 - SZ_4K, dev);

	/* A window overlapping RAM is not mapped as a device: the RAM stays normal memory. */
	expect_host_page(OVERLAP_RAM, PGT_RWX);
	expect_host_page(OVERLAP_RAM + 0x1ff000, PGT_RWX);
	/* A window straddling a bank's start is skipped entirely (also its non-RAM part). */
	expect_no_page(STRADDLE);
	expect_no_page(BANK0 - SZ_4K);
	expect_host_page(BANK0, PGT_RWX);
	/* Beyond the 40-bit IPA space: skipped, with a warning. */
	assert_true(console_has("not mapped"));
	/* Addresses that are neither RAM nor a window stay unmapped. */
	expect_no_page(0);
	expect_no_page(0x20000000);
	expect_no_page(0x09001000);
}

static void test_s2_coverage(void **state)
{
	struct host_s2_coverage c;
	u64 bytes[4];

	build_host();
	host_s2_ram_coverage(&c);
	assert_int_equal(c.ram_bytes, BANK0_SIZE - CORE_SIZE + BANK1_SIZE + BANK2_SIZE);
	assert_int_equal(c.unmapped, 0);
	/* GiB 2 of bank 0 is one block; GiB 1 loses two 2 MiB blocks to the core's unaligned range. */
	assert_int_equal(c.by_level[1], GIB);
	assert_int_equal(c.by_level[2], (510 + 5 + 1) * MIB2);
	assert_int_equal(c.by_level[3], (3 + 508 + 5 + 511) * SZ_4K);
	assert_int_equal(c.by_level[1] + c.by_level[2] + c.by_level[3], c.ram_bytes);

	/* The whole table: RAM plus the device windows (64 KiB + 4 KiB + 16 MiB - 4 KiB + 4 KiB + 256 MiB). */
	pgt_leaf_bytes(host_s2(), bytes);
	assert_int_equal(bytes[1] + bytes[2] + bytes[3],
			 c.ram_bytes + 0x10000 + SZ_4K + 0x1000000 - SZ_4K + SZ_4K + 0x10000000);
}

/*
 * The coverage report looks each leaf up once and reads the rest of a block from the page database:
 * a block that maps elsewhere counts as unmapped for every page of it, and a page inside a host
 * block that the page database no longer gives the host is left out of the count, as per page.
 */
static void test_s2_coverage_per_block(void **state)
{
	const u64 blk = BANK0 + 100 * MIB2; /* a 2 MiB block of GiB 1 */
	struct host_s2_coverage c, before;

	build_host();
	host_s2_ram_coverage(&before);
	assert_int_equal(pgt_unmap(host_s2(), blk, MIB2), MOAT_OK);
	assert_int_equal(pgt_map(host_s2(), blk, blk + MIB2, MIB2, PGT_RWX), MOAT_OK);
	host_s2_ram_coverage(&c);
	assert_int_equal(c.ram_bytes, before.ram_bytes);
	assert_int_equal(c.unmapped, MIB2);
	assert_int_equal(c.by_level[2], before.by_level[2] - MIB2);

	/* Identity again; then the page database takes one page of the block from the host. */
	assert_int_equal(pgt_unmap(host_s2(), blk, MIB2), MOAT_OK);
	assert_int_equal(pgt_map(host_s2(), blk, blk, MIB2, PGT_RWX), MOAT_OK);
	pagedb_set_range(blk + 7 * SZ_4K, SZ_4K, OWNER_CORE, PAGE_OWNED);
	host_s2_ram_coverage(&c);
	assert_int_equal(c.ram_bytes, before.ram_bytes - SZ_4K);
	assert_int_equal(c.unmapped, 0);
	assert_int_equal(c.by_level[2], before.by_level[2] - SZ_4K);
	assert_int_equal(c.by_level[1], before.by_level[1]);
	assert_int_equal(c.by_level[3], before.by_level[3]);
}

/* Pages the core takes after boot leave the host's view; given back, blocks re-form. */
static void test_s2_unmap_and_remap_page(void **state)
{
	const u64 page = 0x80123000; /* inside bank 0's 1 GiB block */
	struct host_s2_coverage c;
	u64 before = 0;
	size_t i;

	build_host();
	assert_true(host_s2()->live);
	assert_true(host_s2_can_unmap(page, SZ_4K));
	before = env.pool.nr_free;
	fake_reset();
	pagedb_set_range(page, SZ_4K, OWNER_CORE, PAGE_OWNED);
	host_s2_unmap_page(page);
	expect_no_page(page);
	expect_host_page(page - SZ_4K, PGT_RWX);
	expect_host_page(page + SZ_4K, PGT_RWX);
	assert_int_equal(env.pool.nr_free, before - 2);
	/* Live table: the GiB block was broken and flushed before the table went in. */
	i = fake_find_op(0, FAKE_TLBI_S2_IPA);
	assert_true(i != (size_t)-1);
	assert_int_equal(fake.ops[i].arg, 0x80000000);
	assert_true(fake_find_op(0, FAKE_TLBI_S1_ALL) != (size_t)-1);
	host_s2_ram_coverage(&c);
	assert_int_equal(c.unmapped, 0);
	assert_int_equal(c.by_level[1], 0);

	/* Back to the host: one 1 GiB block again, table pages returned to the pool. */
	pagedb_set_range(page, SZ_4K, OWNER_HOST, PAGE_OWNED);
	host_s2_map_page(page);
	host_s2_ram_coverage(&c);
	assert_int_equal(c.unmapped, 0);
	assert_int_equal(c.by_level[1], GIB);
	assert_int_equal(env.pool.nr_free, before);
	{
		u64 pa;
		unsigned int flags, level;

		assert_true(lookup(page, &pa, &flags, &level));
		assert_int_equal(level, 1);
		assert_int_equal(flags, PGT_RWX);
	}
}

/* ---------------------------------------------------------------- host aborts */

static void abort_at(u64 ipa, u64 esr, u64 spsr, struct cpu_regs *regs)
{
	struct host_abort a = { esr, HOST_VA, ipa };

	memset(regs, 0, sizeof(*regs));
	regs->elr = HOST_PC;
	regs->spsr = spsr;
	host_abort(regs, &a);
}

static void test_abort_core_page_injects(void **state)
{
	struct cpu_regs regs, before;
	char page_hex[32], pc_hex[32];

	build_host();
	fake_reset();
	abort_at(CORE_BASE + 0x2008, ESR_EL2_DABT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 1);
	/* EC 0x25 (data abort, same EL), IL, DFSC 0x10; ISV and the rest of the ISS dropped. */
	assert_int_equal(fake.last_esr_el1, 0x25ULL << 26 | 1ULL << 25 | 0x10);
	assert_int_equal(fake.last_esr_el1, 0x96000010ULL);
	assert_int_equal(fake.last_far_el1, HOST_VA);
	/* One log line naming the CPU, the page, its owner and the host PC. */
	snprintf(page_hex, sizeof(page_hex), "0x%llx", (unsigned long long)(CORE_BASE + 0x2000));
	snprintf(pc_hex, sizeof(pc_hex), "0x%llx", (unsigned long long)HOST_PC);
	assert_true(console_has("moat: cpu0:"));
	assert_true(console_has(page_hex));
	assert_true(console_has("owner core"));
	assert_true(console_has(pc_hex));
	assert_false(console_has("not RAM"));
	assert_int_equal(console_lines(), 1);
	/* The core itself did not touch the frame: injection is the arch layer's job. */
	memset(&before, 0, sizeof(before));
	before.elr = HOST_PC;
	before.spsr = SPSR_EL1H;
	assert_memory_equal(&regs, &before, sizeof(regs));

	/* A write: WnR copied, "write" in the log. */
	fake_reset();
	abort_at(CORE_BASE, ESR_EL2_DABT | ESR_WNR_BIT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 1);
	assert_int_equal(fake.last_esr_el1, 0x96000050ULL);
	assert_true(console_has("write"));

	/* From EL0: EC 0x24. An instruction fetch from EL1: EC 0x21. */
	fake_reset();
	abort_at(CORE_BASE, ESR_EL2_DABT, 0x0, &regs);
	assert_int_equal(fake.last_esr_el1, 0x92000010ULL);
	fake_reset();
	abort_at(CORE_BASE, 0x20ULL << 26 | 1ULL << 25 | 0x07, SPSR_EL1H, &regs);
	assert_int_equal(fake.last_esr_el1, 0x86000010ULL);
	assert_true(console_has("instruction fetch"));
}

static void test_abort_vm_page_injects(void **state)
{
	struct cpu_regs regs;
	struct page_info *p;

	build_host();
	pagedb_set_range(0x90000000, SZ_4K, OWNER_VM(3), PAGE_OWNED);
	fake_reset();
	abort_at(0x90000abc, ESR_EL2_DABT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 1);
	assert_true(console_has("owner vm3"));
	assert_true(console_has("0x90000000"));

	/* The VM lends the page to the host: the host may touch it, so it just retries. */
	p = pagedb_lookup(0x90000000);
	p->state = PAGE_SHARED_OWNED;
	p->peer = OWNER_HOST;
	fake_reset();
	abort_at(0x90000abc, ESR_EL2_DABT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 0);
	assert_int_equal(fake.console_len, 0);
	/* Lent to someone else: still refused. */
	p->peer = OWNER_VM(4);
	abort_at(0x90000abc, ESR_EL2_DABT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 1);
	pagedb_set_range(0x90000000, SZ_4K, OWNER_HOST, PAGE_OWNED);
}

/* A fault on the host's own page is a break-before-make window elsewhere: retry, silently. */
static void test_abort_host_page_retries(void **state)
{
	struct cpu_regs regs, expect;

	build_host();
	fake_reset();
	abort_at(0x80000000, ESR_EL2_DABT, SPSR_EL1H, &regs);
	abort_at(BANK1 + 0x5000, ESR_EL2_DABT | ESR_WNR_BIT, SPSR_EL1H, &regs);
	abort_at(CORE_BASE - SZ_4K, ESR_EL2_DABT, 0, &regs);
	assert_int_equal(fake.injected, 0);
	assert_int_equal(fake.console_len, 0);
	memset(&expect, 0, sizeof(expect));
	expect.elr = HOST_PC;
	expect.spsr = 0;
	assert_memory_equal(&regs, &expect, sizeof(regs));
	/* A mapped device page: also a retry. */
	abort_at(UART + 0x18, ESR_EL2_DABT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 0);
}

/*
 * A stage-2 permission fault on a page the host does own (a fetch from an
 * execute-never device page, a write to a read-only page) never goes away by
 * retrying: it is refused and logged. The IPA handed in is garbage on purpose
 * (HPFAR_EL2 is UNKNOWN for permission faults): the refusal must not use it.
 */
static void test_abort_permission_fault_injects(void **state)
{
	struct cpu_regs regs;
	char va_hex[32];

	build_host();
	fake_reset();
	/* IABT from EL1, IFSC 0x0f: permission fault, level 3. */
	abort_at(0xdead000, 0x20ULL << 26 | 1ULL << 25 | 0x0f, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 1);
	assert_int_equal(fake.last_esr_el1, 0x86000010ULL);
	assert_int_equal(fake.last_far_el1, HOST_VA);
	snprintf(va_hex, sizeof(va_hex), "0x%llx", (unsigned long long)HOST_VA);
	assert_true(console_has("permission fault"));
	assert_true(console_has("instruction fetch"));
	assert_true(console_has(va_hex));
	assert_false(console_has("0xdead000"));
	/* A data permission fault on the host's own RAM page (DFSC 0x0d, level 1): refused as well, from EL0 too. */
	fake_reset();
	abort_at(0x80000000, (ESR_EL2_DABT & ~0x3fULL) | 0x0d | ESR_WNR_BIT, 0, &regs);
	assert_int_equal(fake.injected, 1);
	assert_int_equal(fake.last_esr_el1, 0x92000050ULL);
}

static void test_abort_not_ram_injects(void **state)
{
	struct cpu_regs regs;

	build_host();
	fake_reset();
	abort_at(0x20000010, ESR_EL2_DABT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 1);
	assert_int_equal(fake.last_esr_el1, 0x96000010ULL);
	assert_int_equal(fake.last_far_el1, HOST_VA);
	assert_true(console_has("not RAM"));
	assert_true(console_has("0x20000000"));
	/* fw_cfg is inside a window but cut out of it: refused too. */
	fake_reset();
	abort_at(FW_CFG + 0x10, ESR_EL2_DABT | ESR_WNR_BIT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 1);
	assert_int_equal(fake.last_esr_el1, 0x96000050ULL);
	assert_true(console_has("not RAM"));
	/* Beyond RAM and the IPA space. */
	fake_reset();
	abort_at(BEYOND_IPA + 0x1000, ESR_EL2_DABT, SPSR_EL1H, &regs);
	assert_int_equal(fake.injected, 1);
}

/* Runs last: the abort limiter is static and earlier tests used part of its burst. */
static void test_abort_log_rate_limited(void **state)
{
	struct cpu_regs regs;
	unsigned int lines;

	build_host();
	fake_reset();
	for (unsigned int i = 0; i < 100; i++) {
		abort_at(CORE_BASE + i * SZ_4K, ESR_EL2_DABT, SPSR_EL1H, &regs);
	}
	assert_int_equal(fake.injected, 100); /* every abort is injected, only the log is limited */
	lines = console_lines();
	assert_true(lines >= 1);
	assert_true(lines <= LOG_BURST + 2);
	assert_true(console_has("suppressed"));

	fake_reset();
	for (unsigned int i = 0; i < 2000; i++) {
		abort_at(CORE_BASE, ESR_EL2_DABT, SPSR_EL1H, &regs);
	}
	assert_int_equal(fake.injected, 2000);
	assert_true(console_lines() <= 2000 / LOG_SAMPLE + 1);
	assert_true(console_has("(255 similar lines suppressed)"));
}

/* ---------------------------------------------------------------- host calls */

static void fill_args(struct host_call_args *a)
{
	memset(a, 0, sizeof(*a));
	a->res[0] = a->res[1] = a->res[2] = 0xdeadbeefULL;
}

static void test_host_call_version(void **state)
{
	struct host_call_args a;

	fill_args(&a);
	assert_int_equal(host_call_raw(MOAT_FN_VERSION, &a), MOAT_OK);
	assert_int_equal(a.res[0], 0x10003);
	assert_int_equal(a.res[0], ((u64)MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR);
	assert_int_equal(a.res[1], 0);
	assert_int_equal(a.res[2], 0);
	assert_int_equal(MOAT_FN_VERSION, 0xC6000100UL);
}

static void test_host_call_reserved_args(void **state)
{
	struct host_call_args a;

	for (unsigned int i = 0; i < HOST_CALL_MAX_ARGS; i++) {
		fill_args(&a);
		a.a[i] = 1ULL << (i * 7);
		assert_int_equal(host_call_raw(MOAT_FN_VERSION, &a), MOAT_E_INVAL);
		assert_int_equal(a.res[0], 0);
		assert_int_equal(a.res[1], 0);
		assert_int_equal(a.res[2], 0);
	}
	fill_args(&a);
	a.a[5] = ~0ULL;
	assert_int_equal(host_call_raw(MOAT_FN_VERSION, &a), MOAT_E_INVAL);
}

static void test_host_call_unknown(void **state)
{
	static const u64 fids[] = {
		MOAT_FN(MOAT_FN_COUNT),
		MOAT_FN(0xeff),			/* 0xC6000FFF */
		0xC600FFFFULL,			/* top of the vendor-hypervisor range */
		0xC60000FFULL,			/* just below the first host call */
		0xC6000000ULL,			/* vendor-hypervisor service 0 (e.g. UID queries) */
		0x86000100ULL,			/* SMC32 alias of VERSION */
		0x84000000ULL,			/* PSCI_VERSION over HVC */
		0x80000000ULL,			/* SMCCC_VERSION */
		0,
		0xC6000100ULL | (1ULL << 32),	/* VERSION with upper bits set */
		0xFFFFFFFFC6000100ULL,
		~0ULL,
	};
	struct host_call_args a;

	for (unsigned int i = 0; i < sizeof(fids) / sizeof(fids[0]); i++) {
		fill_args(&a);
		if (host_call_raw(fids[i], &a) != MOAT_E_NOT_SUPPORTED) {
			fail_msg("fid 0x%llx not refused", (unsigned long long)fids[i]);
		}
		assert_int_equal(a.res[0], 0);
		assert_int_equal(a.res[1], 0);
		assert_int_equal(a.res[2], 0);
	}
	assert_int_equal(MOAT_E_NOT_SUPPORTED, -1);
}

static void fill_frame(struct cpu_regs *r)
{
	for (unsigned int i = 0; i < 31; i++) {
		r->x[i] = 0x1111111111111111ULL * (i % 15 + 1) + i;
	}
	r->elr = HOST_PC;
	r->spsr = SPSR_EL1H;
	r->pad = 0x5a5a;
}

/* Everything except x0..x3 is exactly as the host left it. */
static void expect_frame_kept(const struct cpu_regs *r, const struct cpu_regs *orig)
{
	for (unsigned int i = 4; i < 31; i++) {
		assert_int_equal(r->x[i], orig->x[i]);
	}
	assert_int_equal(r->elr, orig->elr);
	assert_int_equal(r->spsr, orig->spsr);
	assert_int_equal(r->pad, orig->pad);
}

static void test_host_call_frame(void **state)
{
	struct cpu_regs r, orig;

	/* HVC #0 VERSION: x0 = 0, x1 = version, x2 = x3 = 0. */
	fill_frame(&r);
	r.x[0] = MOAT_FN_VERSION;
	for (unsigned int i = 1; i <= 6; i++) {
		r.x[i] = 0;
	}
	orig = r;
	host_call(&r, 0);
	assert_int_equal(r.x[0], 0);
	assert_int_equal(r.x[1], 0x10003);
	assert_int_equal(r.x[2], 0);
	assert_int_equal(r.x[3], 0);
	expect_frame_kept(&r, &orig);

	/* A non-zero reserved argument in x6: INVAL, results zero. */
	fill_frame(&r);
	r.x[0] = MOAT_FN_VERSION;
	r.x[1] = r.x[2] = r.x[3] = r.x[4] = r.x[5] = 0;
	orig = r;
	host_call(&r, 0);
	assert_int_equal((s64)r.x[0], MOAT_E_INVAL);
	assert_int_equal(r.x[1], 0);
	assert_int_equal(r.x[2], 0);
	assert_int_equal(r.x[3], 0);
	expect_frame_kept(&r, &orig);

	/* HVC with a non-zero immediate: NOT_SUPPORTED whatever x0 says, nothing else touched. */
	for (unsigned int imm = 1; imm <= 0xffff; imm = imm * 3 + 1) {
		fill_frame(&r);
		r.x[0] = MOAT_FN_VERSION;
		for (unsigned int i = 1; i <= 6; i++) {
			r.x[i] = 0;
		}
		orig = r;
		host_call(&r, (u16)imm);
		assert_int_equal(r.x[0], (u64)-1);
		assert_int_equal(r.x[1], 0);
		expect_frame_kept(&r, &orig);
	}

	/* Unknown function: -1 in x0, x1..x3 zero. */
	fill_frame(&r);
	r.x[0] = 0xC6001234ULL;
	orig = r;
	host_call(&r, 0);
	assert_int_equal(r.x[0], (u64)-1);
	assert_int_equal(r.x[1], 0);
	assert_int_equal(r.x[2], 0);
	assert_int_equal(r.x[3], 0);
	expect_frame_kept(&r, &orig);
}

/* ---------------------------------------------------------------- trapped SMCs */

static void smc(struct cpu_regs *r, u64 fid)
{
	fill_frame(r);
	r->x[0] = fid;
	r->x[1] = 0x101; /* e.g. a target MPIDR */
	host_smc(r);
}

static void test_smc_forwarded(void **state)
{
	static const u64 forwarded[] = { PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET, PSCI_VERSION, PSCI_FEATURES,
					 PSCI_AFFINITY_INFO_64, PSCI_CPU_OFF };
	struct cpu_regs r, orig;

	for (unsigned int i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
		fake_reset();
		fill_frame(&orig);
		smc(&r, forwarded[i]);
		assert_int_equal(fake.firmware_calls, 1);
		assert_int_equal(fake.last_firmware_fid, forwarded[i]);
		assert_int_equal(r.x[0], 0); /* the fake firmware's answer */
		assert_int_equal(r.elr, HOST_PC + 4);
		for (unsigned int x = 4; x < 31; x++) {
			assert_int_equal(r.x[x], orig.x[x]);
		}
	}
	fake_reset();
	smc(&r, PSCI_SYSTEM_OFF);
	assert_true(console_has("SYSTEM_OFF"));
}

/* CPU_ON is vetted by cpu_power.c (test_cpu_power.c): a target the DTB does not list is refused, never forwarded. */
static void test_smc_cpu_on_unknown_target(void **state)
{
	struct cpu_regs r;

	fake_reset();
	smc(&r, PSCI_CPU_ON_64); /* MPIDR 0x101: this test's platform lists no CPU */
	assert_int_equal((s64)r.x[0], PSCI_RET_INVALID_PARAMS);
	assert_int_equal(fake.firmware_calls, 0);
	assert_int_equal(r.elr, HOST_PC + 4);
	smc(&r, PSCI_CPU_ON_32);
	assert_int_equal((s64)r.x[0], -2);
	assert_int_equal(fake.firmware_calls, 0);
	assert_int_equal(r.elr, HOST_PC + 4);
}

static void test_smc_unknown_not_forwarded(void **state)
{
	static const u64 fids[] = {
		0xC2000400ULL, /* a SiP/standard-secure 64-bit call (not PSCI) */
		0x84000050ULL, /* unallocated PSCI range */
		SMCCC_VERSION, /* 0x80000000 */
		0x80000001ULL, /* SMCCC_ARCH_FEATURES */
		0xB2000000ULL, /* trusted OS */
		(1ULL << 32) | PSCI_SYSTEM_OFF,
		0,
	};
	struct cpu_regs r, orig;

	for (unsigned int i = 0; i < sizeof(fids) / sizeof(fids[0]); i++) {
		fake_reset();
		fill_frame(&orig);
		smc(&r, fids[i]);
		if ((s64)r.x[0] != PSCI_RET_NOT_SUPPORTED || fake.firmware_calls != 0) {
			fail_msg("SMC 0x%llx: x0 = %lld, %u firmware calls", (unsigned long long)fids[i],
				 (long long)r.x[0], fake.firmware_calls);
		}
		assert_int_equal(r.elr, HOST_PC + 4);
		for (unsigned int x = 4; x < 31; x++) {
			assert_int_equal(r.x[x], orig.x[x]);
		}
	}
}

/*
 * SYSTEM_RESET2: refused before any scrub when the firmware lacks it (QEMU
 * 7.2) or the type is a vendor or reserved one; type 0 (warm reset) is
 * scrubbed for and forwarded like SYSTEM_RESET.
 */
static void test_smc_system_reset2(void **state)
{
	static const u64 fids[] = { PSCI_SYSTEM_RESET2_64, PSCI_SYSTEM_RESET2_32 };
	static const struct {
		u64 type;
		s64 ret;
	} refused[] = {
		{ 0x80000000ULL, PSCI_RET_NOT_SUPPORTED }, /* vendor */
		{ 0x80000001ULL, PSCI_RET_NOT_SUPPORTED },
		{ 1, PSCI_RET_INVALID_PARAMS },		   /* reserved architectural */
		{ 0x7fffffffULL, PSCI_RET_INVALID_PARAMS },
	};
	struct cpu_regs r;

	for (unsigned int f = 0; f < 2; f++) {
		/* The firmware does not implement it: its PSCI_FEATURES is asked, nothing else happens. */
		fake_reset();
		fake.firmware_unsupported = fids[f];
		fill_frame(&r);
		r.x[0] = fids[f];
		r.x[1] = 0;
		host_smc(&r);
		assert_int_equal((s64)r.x[0], PSCI_RET_NOT_SUPPORTED);
		assert_int_equal(fake.firmware_calls, 1);
		assert_int_equal(fake.firmware_fids[0], PSCI_FEATURES);
		assert_int_equal(r.elr, HOST_PC + 4);
		assert_false(console_has("reset: scrubbed"));

		for (unsigned int i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			fake_reset();
			fill_frame(&r);
			r.x[0] = fids[f];
			r.x[1] = refused[i].type;
			host_smc(&r);
			assert_int_equal((s64)r.x[0], refused[i].ret);
			assert_int_equal(fake.firmware_calls, 1);
			assert_false(console_has("reset: scrubbed"));
		}

		/* Warm reset: scrub (nothing but host and core pages here), then forward the call as it came. */
		fake_reset();
		fill_frame(&r);
		r.x[0] = fids[f];
		r.x[1] = PSCI_RESET2_WARM;
		host_smc(&r);
		assert_int_equal(fake.firmware_calls, 2);
		assert_int_equal(fake.firmware_fids[0], PSCI_FEATURES);
		assert_int_equal(fake.firmware_fids[1], fids[f]);
		assert_int_equal(r.x[0], 0); /* the fake firmware's answer */
		assert_true(console_has("reset: scrubbed 0 pages not owned by the host"));
		spin_lock(&pagedb_lock); /* released again */
		spin_unlock(&pagedb_lock);
	}
}

static void test_smc_cpu_suspend_is_standby(void **state)
{
	struct cpu_regs r;

	fake_reset();
	smc(&r, PSCI_CPU_SUSPEND_64);
	assert_int_equal(r.x[0], PSCI_RET_SUCCESS);
	assert_int_equal(fake.firmware_calls, 0);
	assert_true(fake_find_op(0, FAKE_WFI) != (size_t)-1);
	assert_int_equal(r.elr, HOST_PC + 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_s2_ram_identity_rwx, test_setup),
		cmocka_unit_test_setup(test_s2_devices, test_setup),
		cmocka_unit_test_setup(test_s2_coverage, test_setup),
		cmocka_unit_test_setup(test_s2_coverage_per_block, test_setup),
		cmocka_unit_test_setup(test_s2_unmap_and_remap_page, test_setup),
		cmocka_unit_test_setup(test_abort_core_page_injects, test_setup),
		cmocka_unit_test_setup(test_abort_vm_page_injects, test_setup),
		cmocka_unit_test_setup(test_abort_host_page_retries, test_setup),
		cmocka_unit_test_setup(test_abort_permission_fault_injects, test_setup),
		cmocka_unit_test_setup(test_abort_not_ram_injects, test_setup),
		cmocka_unit_test_setup(test_abort_log_rate_limited, test_setup),
		cmocka_unit_test_setup(test_host_call_version, test_setup),
		cmocka_unit_test_setup(test_host_call_reserved_args, test_setup),
		cmocka_unit_test_setup(test_host_call_unknown, test_setup),
		cmocka_unit_test_setup(test_host_call_frame, test_setup),
		cmocka_unit_test_setup(test_smc_forwarded, test_setup),
		cmocka_unit_test_setup(test_smc_cpu_on_unknown_target, test_setup),
		cmocka_unit_test_setup(test_smc_unknown_not_forwarded, test_setup),
		cmocka_unit_test_setup(test_smc_system_reset2, test_setup),
		cmocka_unit_test_setup(test_smc_cpu_suspend_is_standby, test_setup),
	};

	return cmocka_run_group_tests_name("host", tests, group_setup, group_teardown);
}
