/*
 * Unit tests for the emulated redistributor pages (core/host_mmio.c) and
 * what depends on them: the host stage 2 (core/host_s2.c), the host abort
 * path (core/host_fault.c) and the invariant checker (core/invariants.c).
 *
 * The redistributor window is real memory mapped at a fixed low address
 * (the fake arch's device accessors dereference the PA), with a GICR_TYPER
 * written into each frame the test wants to exist. fake.device_fault makes
 * chosen accesses behave like a device answering with an external abort,
 * which is what the EL2 exception fixup turns arch_device_read/write's
 * result into on arm64. Each test checks what the host sees (registers,
 * injected syndrome and FAR), which device accesses the core made, and the
 * core's log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <moat/errors.h>

#include "alloc.h"
#include "fake_arch.h"
#include "host.h"
#include "host_mmio.h"
#include "host_s2.h"
#include "invariants.h"
#include "pagedb.h"
#include "pgtable.h"

/* Both below ASan's low-memory limit and inside the host's 40-bit IPA space. */
#define RAM_HINT 0x60000000ULL
#define RAM_SIZE (16ULL << 20)
#define POOL_PAGES 64 /* at the top of RAM, the core's: they hold the host stage 2 */
#define GICR_HINT 0x30000000ULL
#define HINT_STEP 0x02000000ULL
#define WINDOW_FRAMES 8
#define STRIDE GICR_FRAME_STRIDE

#define TYPER 0x8
#define TYPER_VLPIS (1ULL << 1)
#define TYPER_LAST (1ULL << 4)
#define GICR_CTLR 0x0
#define GICR_IIDR 0x4
#define GICR_WAKER 0x14
#define GICR_PROPBASER 0x70

#define HOST_PC 0xffff800010123456ULL
#define HOST_VA 0xffff000008123000ULL
#define SPSR_EL1H 0x3c5ULL

/* ESR_EL2 of a stage-2 data abort from EL1: EC 0x24, IL, ISV, SAS, SRT, DFSC = translation L3. */
#define DABT(sas, srt) (0x24ULL << 26 | 1ULL << 25 | 1ULL << 24 | (u64)(sas) << 22 | (u64)(srt) << 16 | 0x07)
#define WNR (1ULL << 6)
/* What DESIGN §4 has the host see: EC 0x25, IL, WnR copied, DFSC 0x10, ISV 0. */
#define SEA_READ 0x96000010ULL
#define SEA_WRITE 0x96000050ULL

static struct {
	struct platform_info plat;
	void *pagedb_storage;
	struct page_pool pool;
	u64 ram;	     /* RAM's PA (== its address here) */
	u64 gicr;	     /* the window's PA */
	u64 gicr_size;
	u64 fault_from;	     /* device accesses at or above this PA fault (0: none) */
	u64 highest_touched; /* highest PA any device access was attempted at */
} env;

static bool device_fault(u64 pa, bool write)
{
	(void)write;
	if (pa > env.highest_touched) {
		env.highest_touched = pa;
	}
	return env.fault_from && pa >= env.fault_from;
}

/* Zeroed memory at an address that is its own PA: the first free 32 MiB-aligned slot from hint, below 2 GiB. */
static u64 map_fixed(u64 hint, u64 size)
{
	for (; hint + size <= 0x7e000000ULL; hint += HINT_STEP) {
		void *p = mmap((void *)(uintptr_t)hint, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

		if (p == MAP_FAILED) {
			continue;
		}
		if ((u64)(uintptr_t)p == hint) {
			return hint;
		}
		munmap(p, size);
	}
	fail_msg("cannot map 0x%llx bytes below 2 GiB", (unsigned long long)size);
	return 0;
}

static void map_window(unsigned int frames)
{
	env.gicr_size = (u64)frames * STRIDE;
	env.gicr = map_fixed(GICR_HINT, env.gicr_size);
}

static void unmap_window(void)
{
	if (env.gicr) {
		munmap((void *)(uintptr_t)env.gicr, env.gicr_size);
	}
	env.gicr = env.gicr_size = 0;
}

static u64 *reg64(u64 pa)
{
	return (u64 *)(uintptr_t)pa;
}

static u32 *reg32(u64 pa)
{
	return (u32 *)(uintptr_t)pa;
}

/* Frames 0..n-1 exist (QEMU's GICR_TYPER: PLPIS, processor number, Last on the final one); the rest read 0. */
static void populate(unsigned int n, u64 extra_typer)
{
	for (unsigned int i = 0; i < n; i++) {
		u64 rd = env.gicr + i * STRIDE;

		*reg64(rd + TYPER) = 1 | (u64)i << 8 | (u64)i << 32 | extra_typer | (i == n - 1 ? TYPER_LAST : 0);
		*reg32(rd + GICR_IIDR) = 0x0300043b;
		*reg32(rd + GICR_WAKER) = 0x6;
	}
}

/* A platform with one RAM bank, the redistributor window as its only device, n CPUs. */
static void make_platform(unsigned int cpus)
{
	struct platform_info *p = &env.plat;

	memset(p, 0, sizeof(*p));
	p->mem[0] = (struct fdt_range){ env.ram, RAM_SIZE };
	p->nr_mem = 1;
	p->nr_cpus = cpus;
	p->mmio[p->nr_mmio++] = (struct fdt_range){ env.gicr, env.gicr_size };
	p->gicr = (struct fdt_range){ env.gicr, env.gicr_size };
}

/* Page database and host stage 2 for env.plat, as boot does after host_mmio_init. */
static void build_host_s2(void)
{
	u64 bytes = pagedb_storage_bytes(&env.plat);
	u64 pool = env.ram + RAM_SIZE - POOL_PAGES * PAGE_SIZE;

	free(env.pagedb_storage);
	env.pagedb_storage = calloc(1, bytes);
	assert_non_null(env.pagedb_storage);
	assert_int_equal(pagedb_init(&env.plat, env.pagedb_storage, bytes), MOAT_OK);
	pagedb_set_range(pool, POOL_PAGES * PAGE_SIZE, OWNER_CORE, PAGE_OWNED);
	page_pool_init(&env.pool, pool, POOL_PAGES * PAGE_SIZE);
	assert_int_equal(host_s2_init(&env.plat, &env.pool), MOAT_OK);
}

/* A machine whose window holds WINDOW_FRAMES frames of which `cpus` exist; booted. */
static void boot_machine(unsigned int cpus)
{
	env.ram = map_fixed(RAM_HINT, RAM_SIZE);
	map_window(WINDOW_FRAMES);
	populate(cpus, 0);
	make_platform(cpus);
	assert_int_equal(host_mmio_init(&env.plat), MOAT_OK);
	build_host_s2();
	fake.console_len = 0;
	fake.console[0] = '\0';
	fake.device_reads = fake.device_writes = fake.device_faults = 0;
}

static bool console_has(const char *s)
{
	return strstr(fake.console, s) != NULL;
}

static int test_setup(void **state)
{
	fake_reset();
	memset(&env, 0, sizeof(env));
	fake.device_fault = device_fault;
	return 0;
}

static int test_teardown(void **state)
{
	unmap_window();
	if (env.ram) {
		munmap((void *)(uintptr_t)env.ram, RAM_SIZE);
	}
	free(env.pagedb_storage);
	memset(&env, 0, sizeof(env));
	fake_reset();
	/* Leave no emulated page behind for the next test's host stage 2. */
	env.plat.gicr.size = 0;
	host_mmio_init(&env.plat);
	return 0;
}

/* One trapped host access to pa through the real abort path (host_fault.c). */
static void host_access(u64 pa, u64 esr, struct cpu_regs *regs)
{
	struct host_abort a = { .esr = esr, .far = HOST_VA | (pa & (PAGE_SIZE - 1)), .ipa = pa };

	host_abort(regs, &a);
}

static struct cpu_regs host_regs(void)
{
	struct cpu_regs r;

	memset(&r, 0, sizeof(r));
	for (unsigned int i = 0; i < 31; i++) {
		r.x[i] = 0x1111111111111111ULL * (i % 15 + 1);
	}
	r.elr = HOST_PC;
	r.spsr = SPSR_EL1H;
	return r;
}

/* ---------------------------------------------------------------- finding frames */

static void test_walk_stops_at_last(void **state)
{
	for (unsigned int cpus = 1; cpus <= 4; cpus++) {
		fake_reset();
		fake.device_fault = device_fault;
		env.highest_touched = 0;
		map_window(WINDOW_FRAMES);
		populate(cpus, 0);
		make_platform(cpus);
		assert_int_equal(host_mmio_init(&env.plat), MOAT_OK);
		assert_int_equal(host_mmio_nr_pages(), cpus);
		for (unsigned int i = 0; i < cpus; i++) {
			assert_int_equal(host_mmio_page(i), env.gicr + i * STRIDE);
		}
		/* One GICR_TYPER read per existing frame, nothing past the last one, no writes. */
		assert_int_equal(fake.device_reads, cpus);
		assert_int_equal(fake.device_writes, 0);
		assert_int_equal(env.highest_touched, env.gicr + (cpus - 1) * STRIDE + TYPER);
		assert_false(host_mmio_is_emulated(env.gicr + cpus * STRIDE));
		assert_true(console_has("redistributor frame(s) emulated"));
		assert_false(console_has("warning"));
		unmap_window();
	}
}

static void test_walk_gicv4_stride(void **state)
{
	/* With VLPIS each redistributor spans four 64 KiB frames. */
	map_window(WINDOW_FRAMES);
	for (unsigned int i = 0; i < 3; i++) {
		*reg64(env.gicr + i * 2 * STRIDE + TYPER) = 1 | TYPER_VLPIS | (i == 2 ? TYPER_LAST : 0);
	}
	make_platform(3);
	assert_int_equal(host_mmio_init(&env.plat), MOAT_OK);
	assert_int_equal(host_mmio_nr_pages(), 3);
	assert_int_equal(host_mmio_page(1), env.gicr + 2 * STRIDE);
	assert_int_equal(host_mmio_page(2), env.gicr + 4 * STRIDE);
	assert_false(host_mmio_is_emulated(env.gicr + STRIDE));
}

static void test_walk_fault_ends_walk(void **state)
{
	/* The DTB says 4 CPUs, no frame says Last, and frame 2 does not answer: frames 0 and 1 only. */
	map_window(WINDOW_FRAMES);
	populate(4, 0);
	*reg64(env.gicr + 3 * STRIDE + TYPER) &= ~TYPER_LAST;
	make_platform(4);
	env.fault_from = env.gicr + 2 * STRIDE;
	assert_int_equal(host_mmio_init(&env.plat), MOAT_OK);
	assert_int_equal(host_mmio_nr_pages(), 2);
	assert_int_equal(fake.device_faults, 1);
	assert_int_equal(env.highest_touched, env.gicr + 2 * STRIDE + TYPER);
	assert_true(console_has("faulted: no redistributor there"));
	assert_true(console_has("2 redistributor frame(s) found but the DTB lists 4 CPU(s)"));
}

static void test_walk_without_last_covers_window(void **state)
{
	/* Every frame exists and none says Last (a DTB window sized exactly): all of them, no read beyond. */
	map_window(WINDOW_FRAMES);
	populate(WINDOW_FRAMES, 0);
	*reg64(env.gicr + (WINDOW_FRAMES - 1) * STRIDE + TYPER) &= ~TYPER_LAST;
	make_platform(WINDOW_FRAMES);
	assert_int_equal(host_mmio_init(&env.plat), MOAT_OK);
	assert_int_equal(host_mmio_nr_pages(), WINDOW_FRAMES);
	assert_int_equal(env.highest_touched, env.gicr + (WINDOW_FRAMES - 1) * STRIDE + TYPER);
}

static void test_walk_too_many_frames(void **state)
{
	/* More redistributors than the core can track would leave LPI registers to the host: boot must stop. */
	map_window(GICR_MAX_FRAMES + 2);
	populate(GICR_MAX_FRAMES + 1, 0);
	make_platform(GICR_MAX_FRAMES + 1);
	assert_int_equal(host_mmio_init(&env.plat), MOAT_E_RANGE);
	assert_int_equal(fake.device_reads, GICR_MAX_FRAMES);
	assert_true(console_has("LPIs could not be kept off"));
}

static void test_walk_misaligned_window(void **state)
{
	map_window(WINDOW_FRAMES);
	populate(1, 0);
	make_platform(1);
	env.plat.gicr.base += 0x800;
	assert_int_equal(host_mmio_init(&env.plat), MOAT_E_ALIGN);
	assert_int_equal(host_mmio_nr_pages(), 0);
	assert_int_equal(fake.device_reads, 0);
}

static void test_no_window(void **state)
{
	make_platform(1);
	env.plat.gicr = (struct fdt_range){ 0, 0 };
	assert_int_equal(host_mmio_init(&env.plat), MOAT_OK);
	assert_int_equal(host_mmio_nr_pages(), 0);
	assert_int_equal(fake.device_reads, 0);
}

/* ---------------------------------------------------------------- host stage 2 and invariants */

static void test_s2_unmaps_existing_frames_only(void **state)
{
	u64 pa;
	unsigned int flags, level;

	boot_machine(2);
	for (unsigned int i = 0; i < WINDOW_FRAMES; i++) {
		u64 rd = env.gicr + i * STRIDE;

		/* RD_base of an existing frame is the core's to emulate; everything else is the host's device. */
		assert_int_equal(pgt_lookup(host_s2(), rd, &pa, &flags, &level), i >= 2);
		assert_true(pgt_lookup(host_s2(), rd + PAGE_SIZE, &pa, &flags, &level));
		assert_true(pgt_lookup(host_s2(), rd + 0x10000, &pa, &flags, &level)); /* SGI_base */
		assert_int_equal(pa, rd + 0x10000);
	}
	assert_int_equal(invariants_check(), 0);
	/* The checker notices an emulated page mapped for the host. */
	assert_int_equal(pgt_map(host_s2(), env.gicr + STRIDE, env.gicr + STRIDE, PAGE_SIZE, PGT_RW | PGT_DEVICE),
			 MOAT_OK);
	assert_int_equal(invariants_check(), 1);
	assert_true(console_has("host stage 2 maps a device page the core emulates"));
}

/* ---------------------------------------------------------------- emulation */

static void test_emulate_existing_frame(void **state)
{
	u64 rd;
	struct cpu_regs r, before;

	boot_machine(2);
	rd = env.gicr + STRIDE;

	/* 64-bit read of GICR_TYPER into x3: passes through. The host was single-stepping that load
	 * (SPSR.SS set): the core completed it, so SS is cleared as the CPU would have, and the host's
	 * step exception comes right after the load, not one instruction later. */
	r = host_regs();
	r.spsr |= PSR_SS;
	host_access(rd + TYPER, DABT(3, 3) | 1ULL << 15, &r);
	assert_int_equal(r.x[3], *reg64(rd + TYPER));
	assert_int_equal(r.elr, HOST_PC + 4);
	assert_int_equal(r.spsr & PSR_SS, 0);
	assert_int_equal(fake.device_reads, 1);

	/* Writing EnableLPIs from x7: the device sees the write without it. */
	r = host_regs();
	r.x[7] = 0x3;
	*reg32(rd + GICR_CTLR) = 0;
	host_access(rd + GICR_CTLR, DABT(2, 7) | WNR, &r);
	assert_int_equal(*reg32(rd + GICR_CTLR), 0x2);
	assert_int_equal(r.elr, HOST_PC + 4);

	/* PROPBASER: written nowhere, reads 0 without a device access. */
	*reg64(rd + GICR_PROPBASER) = 0xabcd;
	r = host_regs();
	host_access(rd + GICR_PROPBASER, DABT(3, 4) | WNR, &r);
	assert_int_equal(*reg64(rd + GICR_PROPBASER), 0xabcd);
	r = host_regs();
	before = r;
	host_access(rd + GICR_PROPBASER, DABT(3, 4) | 1ULL << 15, &r);
	assert_int_equal(r.x[4], 0);
	before.x[4] = 0;
	before.elr += 4;
	assert_memory_equal(&r, &before, sizeof(r));
	assert_int_equal(fake.device_reads, 1);
	assert_int_equal(fake.device_writes, 1);
	assert_int_equal(fake.injected, 0);
	assert_int_equal(fake.console_len, 0);
}

/* The device answers an emulated access with an external abort: the host gets the §4 abort, the core carries on. */
static void test_device_fault_read_injects(void **state)
{
	struct cpu_regs r, before;
	char pa_hex[32], pc_hex[32];
	u64 rd;

	boot_machine(2);
	rd = env.gicr + STRIDE;
	env.fault_from = rd; /* frame 1 stops answering */
	r = host_regs();
	before = r;
	host_access(rd + TYPER, DABT(3, 5) | 1ULL << 15, &r);
	assert_int_equal(fake.device_faults, 1);
	assert_int_equal(fake.injected, 1);
	assert_int_equal(fake.last_esr_el1, SEA_READ);
	assert_int_equal(fake.last_far_el1, HOST_VA | TYPER);
	/* No register loaded, no instruction skipped (the fake arch leaves ELR to the injection it records). */
	assert_memory_equal(&r, &before, sizeof(r));
	snprintf(pa_hex, sizeof(pa_hex), "0x%llx", (unsigned long long)(rd + TYPER));
	snprintf(pc_hex, sizeof(pc_hex), "0x%llx", (unsigned long long)HOST_PC);
	assert_true(console_has("moat: cpu0: warning: host read of GICR PA"));
	assert_true(console_has(pa_hex));
	assert_true(console_has(pc_hex));
	assert_true(console_has("device access faulted, external abort injected"));

	/* The core carries on: frame 0 still answers, frame 1 still aborts. */
	r = host_regs();
	host_access(env.gicr + GICR_IIDR, DABT(2, 2), &r);
	assert_int_equal(r.x[2], 0x0300043b);
	assert_int_equal(r.elr, HOST_PC + 4);
	assert_int_equal(fake.injected, 1);
	r = host_regs();
	host_access(rd + GICR_IIDR, DABT(2, 2), &r);
	assert_int_equal(fake.injected, 2);
}

static void test_device_fault_write_injects(void **state)
{
	struct cpu_regs r, before;
	u64 rd;

	boot_machine(1);
	rd = env.gicr;
	env.fault_from = rd;
	/* From EL0 (SPSR EL0t): EC 0x24, WnR set. */
	r = host_regs();
	r.spsr = 0;
	before = r;
	host_access(rd + GICR_WAKER, DABT(2, 9) | WNR, &r);
	assert_int_equal(fake.device_faults, 1);
	assert_int_equal(fake.device_writes, 0);
	assert_int_equal(fake.injected, 1);
	assert_int_equal(fake.last_esr_el1, 0x92000050ULL);
	assert_memory_equal(&r, &before, sizeof(r));
	assert_true(console_has("host write of GICR PA"));
	/* From EL1. */
	r = host_regs();
	host_access(rd + GICR_CTLR, DABT(2, 9) | WNR, &r);
	assert_int_equal(fake.last_esr_el1, SEA_WRITE);
	assert_int_equal(fake.injected, 2);
}

static void test_unemulatable_syndrome_refused(void **state)
{
	struct cpu_regs r;

	boot_machine(1);
	/* ISV = 0 (e.g. a load pair): no device access, the ordinary refusal. */
	r = host_regs();
	host_access(env.gicr + GICR_CTLR, DABT(3, 1) & ~(1ULL << 24), &r);
	/* A byte access. */
	host_access(env.gicr + GICR_CTLR, DABT(0, 1), &r);
	/* A misaligned word. */
	host_access(env.gicr + 2, DABT(2, 1), &r);
	assert_int_equal(fake.device_reads + fake.device_writes + fake.device_faults, 0);
	assert_int_equal(fake.injected, 3);
	assert_true(console_has("refused, external abort injected"));
}

static void test_device_fault_log_rate_limited(void **state)
{
	struct cpu_regs r;
	unsigned int lines = 0;

	boot_machine(1);
	env.fault_from = env.gicr;
	for (unsigned int i = 0; i < 1000; i++) {
		r = host_regs();
		host_access(env.gicr + GICR_CTLR, DABT(2, 1), &r);
	}
	assert_int_equal(fake.injected, 1000);
	for (const char *p = fake.console; (p = strstr(p, "device access faulted")) != NULL; p++) {
		lines++;
	}
	assert_true(lines >= 1 && lines < 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_stops_at_last, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_walk_gicv4_stride, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_walk_fault_ends_walk, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_walk_without_last_covers_window, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_walk_too_many_frames, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_walk_misaligned_window, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_no_window, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_s2_unmaps_existing_frames_only, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_emulate_existing_frame, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_device_fault_read_injects, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_device_fault_write_injects, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_unemulatable_syndrome_refused, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_device_fault_log_rate_limited, test_setup, test_teardown),
	};

	return cmocka_run_group_tests_name("host_mmio", tests, NULL, NULL);
}
