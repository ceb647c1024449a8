/*
 * Unit tests for PPI 26 in the host's redistributor (core/host_timer.c): the
 * frame of the calling CPU is found by GICR_TYPER affinity among the frames
 * host_mmio.c found at boot; PPI 26 is made Group 1, priority 0 and enabled
 * only when it is not enabled already (one read otherwise); nothing else of
 * the host's SGI/PPI registers changes; a device fault or an unknown CPU
 * leaves it alone and says so.
 *
 * The window is real memory at a fixed low address (the fake arch's device
 * accessors dereference the PA), so a write-1-to-set register simply holds
 * what was written; the tests check exact register contents and the number
 * of device accesses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>

#include <moat/errors.h>

#include "config.h"
#include "fake_arch.h"
#include "host_mmio.h"
#include "host_timer.h"

#define GICR_HINT 0x30000000ULL
#define HINT_STEP 0x02000000ULL
#define FRAMES 2
#define STRIDE GICR_FRAME_STRIDE
#define TYPER 0x8
#define TYPER_LAST (1ULL << 4)
#define SGI 0x10000
#define IGROUPR0 (SGI + 0x80)
#define ISENABLER0 (SGI + 0x100)
#define IPRIORITYR6 (SGI + 0x400 + 24) /* INTIDs 24..27, INTID 26 in byte 2 */
#define BIT26 (1U << 26)

/* Frame 0: MPIDR 0 (Aff0 0); frame 1: Aff3 1, Aff1 2, Aff0 3 -- the packing GICR_TYPER[63:32] uses. */
#define MPIDR_CPU0 0x80000000ULL /* bit 31 is RES1 in MPIDR, not affinity */
#define MPIDR_CPU1 0x0100000203ULL
#define AFF_CPU1 0x01000203ULL

static u64 gicr;
static u64 fault_pa;

static bool device_fault(u64 pa, bool write)
{
	(void)write;
	return fault_pa && pa == fault_pa;
}

static u32 *reg32(u64 pa)
{
	return (u32 *)(uintptr_t)pa;
}

static int setup(void **state)
{
	struct platform_info plat;

	(void)state;
	fake_reset();
	fake.device_fault = device_fault;
	fault_pa = 0;
	for (u64 hint = GICR_HINT; !gicr && hint < 0x7e000000ULL; hint += HINT_STEP) {
		void *p = mmap((void *)(uintptr_t)hint, FRAMES * STRIDE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (p != MAP_FAILED && (u64)(uintptr_t)p == hint) {
			gicr = hint;
		} else if (p != MAP_FAILED) {
			munmap(p, FRAMES * STRIDE);
		}
	}
	assert_true(gicr != 0);
	*(u64 *)(uintptr_t)(gicr + TYPER) = 1;
	*(u64 *)(uintptr_t)(gicr + STRIDE + TYPER) = 1 | 1ULL << 8 | AFF_CPU1 << 32 | TYPER_LAST;
	/* As Linux leaves them: every PPI off, all Group 1, priority 0xa0 (gic_cpu_config). */
	for (unsigned int f = 0; f < FRAMES; f++) {
		*reg32(gicr + f * STRIDE + IGROUPR0) = ~0U & ~BIT26;
		*reg32(gicr + f * STRIDE + IPRIORITYR6) = 0xa0a0a0a0;
	}
	memset(&plat, 0, sizeof(plat));
	plat.nr_cpus = FRAMES;
	plat.gicr = (struct fdt_range){ gicr, FRAMES * STRIDE };
	assert_int_equal(host_mmio_init(&plat), MOAT_OK);
	assert_int_equal(host_mmio_nr_pages(), FRAMES);
	fake.console_len = 0;
	fake.console[0] = '\0';
	fake.device_reads = fake.device_writes = fake.device_faults = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	munmap((void *)(uintptr_t)gicr, FRAMES * STRIDE);
	gicr = 0;
	return 0;
}

/* Each test uses its own CPU index: the frame look-up is cached per CPU for the process. */

static void test_enables_in_own_frame_only(void **state)
{
	u64 f1 = gicr + STRIDE;

	(void)state;
	assert_true(host_timer_irq_ready(1, MPIDR_CPU1));
	assert_int_equal(*reg32(f1 + ISENABLER0), BIT26);
	assert_int_equal(*reg32(f1 + IGROUPR0), ~0U);	       /* bit 26 set, the others as the host left them */
	assert_int_equal(*reg32(f1 + IPRIORITYR6), 0xa000a0a0); /* byte 2 (INTID 26) = 0x00, the rest kept */
	/* Frame 0 (another CPU's redistributor) untouched. */
	assert_int_equal(*reg32(gicr + ISENABLER0), 0);
	assert_int_equal(*reg32(gicr + IPRIORITYR6), 0xa0a0a0a0);
	/* TYPER of both frames, ISENABLER0, then read-modify-write of IGROUPR0 and IPRIORITYR6, then the enable. */
	assert_int_equal(fake.device_reads, 2 + 1 + 2);
	assert_int_equal(fake.device_writes, 3);
	assert_non_null(strstr(fake.console, "PPI 26 (CNTHP) in redistributor"));
}

static void test_already_enabled_one_read(void **state)
{
	(void)state;
	*reg32(gicr + ISENABLER0) = BIT26 | 1;
	assert_true(host_timer_irq_ready(0, MPIDR_CPU0));
	fake.device_reads = fake.device_writes = 0;
	assert_true(host_timer_irq_ready(0, MPIDR_CPU0));
	assert_int_equal(fake.device_reads, 1);
	assert_int_equal(fake.device_writes, 0);
	/* The host disables it again (Linux does at CPU bring-up): the next arm notices and re-enables. */
	*reg32(gicr + ISENABLER0) = 1;
	assert_true(host_timer_irq_ready(0, MPIDR_CPU0));
	assert_int_equal(*reg32(gicr + ISENABLER0), BIT26);
	assert_int_equal(fake.device_writes, 3);
}

static void test_unknown_affinity(void **state)
{
	(void)state;
	assert_false(host_timer_irq_ready(2, 0x5));
	assert_non_null(strstr(fake.console, "no redistributor with affinity 0x5 for CPU 2"));
	assert_int_equal(fake.device_writes, 0);
	/* Remembered: no second walk over the frames. */
	fake.device_reads = 0;
	assert_false(host_timer_irq_ready(2, 0x5));
	assert_int_equal(fake.device_reads, 0);
	assert_false(host_timer_irq_ready(MAX_CPUS, 0));
}

static void test_device_fault(void **state)
{
	u64 f1 = gicr + STRIDE;

	(void)state;
	fault_pa = f1 + IPRIORITYR6;
	assert_false(host_timer_irq_ready(3, MPIDR_CPU1));
	/* The group was written before the fault; the enable never happened. */
	assert_int_equal(*reg32(f1 + IGROUPR0), ~0U);
	assert_int_equal(*reg32(f1 + ISENABLER0), 0);
	assert_int_equal(fake.device_faults, 1);
	assert_non_null(strstr(fake.console, "device access faulted"));
	fault_pa = f1 + ISENABLER0;
	fake.device_writes = 0;
	assert_false(host_timer_irq_ready(3, MPIDR_CPU1));
	assert_int_equal(fake.device_writes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enables_in_own_frame_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_already_enabled_one_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_affinity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_fault, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
