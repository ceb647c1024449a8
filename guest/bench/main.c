/*
 * bench: the cost of the two kinds of exit (DESIGN §16), for `make bench`.
 *
 *   - 10000 x HVC PSCI_VERSION: answered by the core, no host exit;
 *   - 2000 x 32-bit MMIO write to IPA 0x0a000030 (value = the iteration
 *     number): each one an MMIO exit the VMM just completes;
 *   - 2000 x 32-bit read of GICD_TYPER (IPA 0x08000004): a data abort the
 *     core's vGIC answers, no host exit.
 *
 * Output (raw CNTVCT_EL0 deltas; under -icount they are deterministic):
 *   guest: bench hvc_ticks=<n> n=10000
 *   guest: bench gicd_ticks=<n> n=2000
 *   guest: bench mmio_ticks=<n> n=2000
 * then SYSTEM_OFF.
 *
 * With x0 = n != 0 it only spins n iterations at EL1, with no exit on the
 * way (the PMU test's guest work), prints "guest: bench spun <n>" and powers
 * off. With bit 63 of x0 set as well, each iteration is an HVC PSCI_VERSION
 * (answered by the core's fast path: the host's timer test, timer.c).
 */
#include "guest.h"

#define BENCH_HVC_N 10000
#define BENCH_MMIO_N 2000
#define BENCH_MMIO_IPA 0x0a000030UL
#define BENCH_GICD_TYPER 0x08000004UL

static uint64_t bench_hvc(void)
{
	uint64_t t0 = read_cntvct();

	for (int i = 0; i < BENCH_HVC_N; i++) {
		hvc_call(PSCI_VERSION, 0, 0, 0);
	}
	return read_cntvct() - t0;
}

static uint64_t bench_mmio(void)
{
	uint64_t t0 = read_cntvct();

	for (uint32_t i = 0; i < BENCH_MMIO_N; i++) {
		mmio_write32(BENCH_MMIO_IPA, i);
	}
	return read_cntvct() - t0;
}

static uint64_t bench_gicd(void)
{
	uint64_t t0 = read_cntvct();

	for (uint32_t i = 0; i < BENCH_MMIO_N; i++) {
		(void)mmio_read32(BENCH_GICD_TYPER);
	}
	return read_cntvct() - t0;
}

#define BENCH_SPIN_HVC (1UL << 63)

static void spin(uint64_t n)
{
	if (n & BENCH_SPIN_HVC) {
		n &= ~BENCH_SPIN_HVC;
		for (volatile uint64_t i = 0; i < n; i++) {
			hvc_call(PSCI_VERSION, 0, 0, 0);
		}
	} else {
		for (volatile uint64_t i = 0; i < n; i++) {
		}
	}
	printf("guest: bench spun %lu\n", n);
}

void guest_main(uint64_t x0)
{
	uint64_t hvc, mmio, gicd;

	if (x0) {
		spin(x0);
		return;
	}
	hvc = bench_hvc();
	mmio = bench_mmio();
	gicd = bench_gicd();
	printf("guest: bench hvc_ticks=%lu n=%d\n", hvc, BENCH_HVC_N);
	printf("guest: bench gicd_ticks=%lu n=%d\n", gicd, BENCH_MMIO_N);
	printf("guest: bench mmio_ticks=%lu n=%d\n", mmio, BENCH_MMIO_N);
}
