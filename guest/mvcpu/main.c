/*
 * mvcpu: four vCPUs on four host CPUs (issue 11 "Tests"), against a VMM that
 * runs each vCPU on its own host CPU and kicks a CPU when a KICK exit names
 * its vCPU (docs/ABI.md "Interrupts").
 *
 * Every vCPU turns its MMU on (one identity map: RAM Normal write-back, the
 * rest Device-nGnRnE), because the exclusives of the spinlock need Normal
 * memory; with the MMU off every access is Device.
 *
 *   1. vCPU 0 starts vCPUs 1..3 with PSCI CPU_ON (context ID = each one's
 *      stack top) and all four add 1 to a shared counter LOCK_ROUNDS times
 *      under an ldaxr/stlxr spinlock:
 *        guest: mvcpu counter=<4 * LOCK_ROUNDS> expected=<same>
 *   2. IPIs: each vCPU i sends SGI (8 + i) to every other vCPU, IPI_ROUNDS
 *      times, each only after the target took the previous one (so none can
 *      merge with the one before); each vCPU counts what it took per SGI:
 *        guest: mvcpu ipis sent=<n> received=<n> wrong=0 spurious=0
 *      (wrong: an SGI from a sender, or in a number, that was never sent).
 *   3. WFI with an interrupt already pending, WFI_ROUNDS times: vCPU 1
 *      masks IRQs and spins; vCPU 0 makes SGI 15 pending on it through
 *      vCPU 1's GICR_ISPENDR0 (a KICK exit names vCPU 1: the host's IPI
 *      may reach vCPU 1 before or after its WFI), then lets vCPU 1 go on to
 *      a WFI. Either the SGI is in a list register by then, or the core finds
 *      it at the WFI trap and resumes vCPU 1 with it there: no WFI exit (the
 *      VMM counts them); vCPU 1 unmasks and takes it:
 *        guest: mvcpu wfi rounds=10 taken=10
 *   3b. A vCPU parked in the host's WFI wait, PARK_ROUNDS times: vCPU 1, IRQs
 *      unmasked, nothing pending and no timer, WFIs (a WFI exit with no
 *      deadline: the host waits for a kick); PARK_DELAY_MS later vCPU 0 makes
 *      an interrupt deliverable to it by a GIC write -- GICD_ISPENDR of SPI 40
 *      routed to vCPU 1, vCPU 1's GICR_ISPENDR0 (SGI 14), GICD_ISENABLER of
 *      SPI 40 left pending while disabled, GICD_IROUTER moving pending SPI 40
 *      from vCPU 7 (which the VM lacks) to vCPU 1. Each ends vCPU 0's run with
 *      a KICK naming vCPU 1, which wakes it; without, it sleeps forever:
 *        guest: mvcpu park rounds=4 taken=4
 *      Then vCPUs 1..3 turn themselves off.
 *   4. vCPU 0 alone: writes 1 to 0x0a000040 (VMM: "ticks start"), runs the
 *      virtual timer at 1 ms for TICKS ticks (CVAL advanced by one period per
 *      tick), spins 5 ms more with it off, writes 2 ("ticks end"):
 *        guest: mvcpu ticks=100 early=0 late=<n> elapsed_ms=<n>
 *      (early: a tick taken before its deadline -- a doubled tick.)
 *   5. guest: mvcpu done, SYSTEM_OFF.
 *
 * With x0 = 1 (make bench, one host CPU under -icount, a VMM that switches to
 * the vCPU a VCPU_ON or KICK exit names and away from one in WFI), vCPUs 0
 * and 1 only, MMU off, and it measures in counter ticks:
 *   guest: mvcpu bench cpu_on_ticks=<t> n=1      CPU_ON to vCPU 1's first instruction
 *   guest: mvcpu bench vtimer_ticks=<t> n=<n>    CVAL reached to the guest's IRQ handler
 *   guest: mvcpu bench ipi_ticks=<t> n=<n>       vCPU 0's SGI write to vCPU 1's IRQ handler
 */
#include "guest.h"

#define PSCI_CPU_ON_64 0xc4000003UL
#define PSCI_CPU_OFF 0x84000002UL
#define PSCI_AFFINITY_INFO_64 0xc4000004UL
#define NR_VCPUS 4
#define LOCK_ROUNDS 2000
#define IPI_ROUNDS 10
#define SGI_BASE 8
#define TICKS 100
#define GICD 0x08000000UL
#define GICR(i) (0x080A0000UL + 0x20000UL * (i))
#define DEV_TICKS 0x0a000040UL
#define WFI_SGI 15
#define WFI_ROUNDS 10
#define PARK_SGI 14
#define PARK_SPI 40
#define PARK_ROUNDS 4
#define PARK_DELAY_MS 50


extern char secondary_entry[];
void secondary_main(uint64_t context, uint64_t first); /* guest/lib/secondary.S calls it */

static uint64_t stacks[NR_VCPUS][1024] __attribute__((aligned(16)));
static volatile uint32_t lock;
static volatile uint64_t counter;
static volatile unsigned int arrived, lock_done, ipi_done;
/* received[target][sender]: SGIs (SGI_BASE + sender) target took. */
static volatile unsigned int received[NR_VCPUS][NR_VCPUS];
static volatile unsigned int sent[NR_VCPUS], wrong, spurious;
static volatile unsigned int ticks, early, late;
static volatile unsigned int wfi_ready, wfi_go, wfi_taken;
static volatile unsigned int park_ready, park_taken;
static uint64_t period, deadline;
#define BENCH_N 100
static volatile bool bench;
static volatile uint64_t bench_t0, bench_on, bench_timer, bench_ipi, bench_ipis, bench_ready;

static unsigned int self(void)
{
	return (unsigned int)(read_sysreg(mpidr_el1) & 0xff);
}

static void atomic_inc(volatile unsigned int *p)
{
	unsigned int v, fail;

	__asm__ volatile("1: ldaxr %w0, [%2]\n"
			 "   add %w0, %w0, #1\n"
			 "   stlxr %w1, %w0, [%2]\n"
			 "   cbnz %w1, 1b\n"
			 : "=&r"(v), "=&r"(fail)
			 : "r"(p)
			 : "memory");
}

static void spin_lock(volatile uint32_t *l)
{
	uint32_t v, fail;

	/* No WFE: the core traps it like WFI, and each would be an exit. */
	__asm__ volatile("1: ldaxr %w0, [%2]\n"
			 "   cbz %w0, 2f\n"
			 "   yield\n"
			 "   b 1b\n"
			 "2: stxr %w1, %w3, [%2]\n"
			 "   cbnz %w1, 1b\n"
			 : "=&r"(v), "=&r"(fail)
			 : "r"(l), "r"(1)
			 : "memory");
}

static void spin_unlock(volatile uint32_t *l)
{
	__asm__ volatile("stlr wzr, [%0]" : : "r"(l) : "memory");
}


static uint64_t stack_top(unsigned int i)
{
	return (uint64_t)&stacks[i][1024];
}

static void irq(void)
{
	uint64_t iar = read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
	uint32_t intid = (uint32_t)(iar & 0xffffff);
	unsigned int me = self();

	if (bench) {
		uint64_t now = read_cntvct();

		if (intid == 27) {
			bench_timer += now - deadline;
			write_sysreg(cntv_ctl_el0, 0);
			ticks++;
		} else if (intid == SGI_BASE) {
			bench_ipi += now - bench_t0;
			bench_ipis++;
		}
	} else if (intid == 27) {
		if (read_cntvct() < deadline) {
			early++;
		} else if (read_cntvct() > deadline + period) {
			late++;
		}
		if (++ticks < TICKS) {
			deadline += period;
			write_sysreg(cntv_cval_el0, deadline);
		} else {
			write_sysreg(cntv_ctl_el0, 0);
		}
	} else if (intid == WFI_SGI && me == 1) {
		wfi_taken++;
	} else if ((intid == PARK_SGI || intid == PARK_SPI) && me == 1) {
		park_taken++;
	} else if (intid >= SGI_BASE && intid < SGI_BASE + NR_VCPUS && intid - SGI_BASE != me) {
		received[me][intid - SGI_BASE]++;
	} else if (intid >= 1020) {
		spurious++;
	} else {
		atomic_inc(&wrong);
	}
	__asm__ volatile("isb");
	if (intid < 1020) {
		write_sysreg(S3_0_C12_C12_1, iar); /* ICC_EOIR1_EL1 */
	}
}

static void enable(uint64_t frame, uint32_t intid)
{
	uint64_t n = intid / 32, bit = 1U << (intid % 32);

	mmio_write32(frame + 0x80 + 4 * n, mmio_read32(frame + 0x80 + 4 * n) | bit); /* group 1 */
	mmio_write32(frame + 0x400 + (intid & ~3U), 0xa0a0a0a0);		     /* priority 0xa0 */
	mmio_write32(frame + 0x100 + 4 * n, bit);
}

/* This vCPU's redistributor and CPU interface: SGIs 8..11 and the timer enabled, IRQs unmasked. */
static void gic_on(void)
{
	uint64_t rd = GICR(self());

	mmio_write32(rd + 0x14, 0); /* GICR_WAKER: awake */
	while (mmio_read32(rd + 0x14) & 4) {
	}
	for (uint32_t i = 0; i < NR_VCPUS; i++) {
		enable(rd + 0x10000, SGI_BASE + i);
	}
	enable(rd + 0x10000, WFI_SGI);
	enable(rd + 0x10000, PARK_SGI);
	enable(rd + 0x10000, 27);
	write_sysreg(S3_0_C4_C6_0, 0xff); /* ICC_PMR_EL1 */
	write_sysreg(S3_0_C12_C12_7, 1);  /* ICC_IGRPEN1_EL1 */
	__asm__ volatile("isb; msr daifclr, #2" ::: "memory");
}

static void wait_all(volatile unsigned int *v, unsigned int n)
{
	while (*v < n) {
		__asm__ volatile("yield");
	}
}

/* Step 3 (see the top of the file): vCPUs 0 and 1 only. */
static void wfi_phase(unsigned int me)
{
	for (unsigned int round = 1; round <= WFI_ROUNDS; round++) {
		if (me == 1) {
			__asm__ volatile("msr daifset, #2; isb" ::: "memory");
			wfi_ready = round;
			while (wfi_go < round) {
				__asm__ volatile("yield");
			}
			__asm__ volatile("dsb sy; wfi; msr daifclr, #2; isb" ::: "memory");
			while (wfi_taken < round) {
				__asm__ volatile("yield");
			}
		} else if (me == 0) {
			while (wfi_ready < round) {
				__asm__ volatile("yield");
			}
			mmio_write32(GICR(1) + 0x10000 + 0x200, 1U << WFI_SGI); /* GICR_ISPENDR0 of vCPU 1 */
			__asm__ volatile("dsb sy" ::: "memory");
			wfi_go = round;
			while (wfi_taken < round) {
				__asm__ volatile("yield");
			}
		}
	}
}

/* Step 3b (see the top of the file): vCPUs 0 and 1 only. */
static void park_phase(unsigned int me)
{
	uint32_t spi_bit = 1U << (PARK_SPI % 32), spi_reg = 4 * (PARK_SPI / 32);
	uint64_t irouter = GICD + 0x6000 + 8 * PARK_SPI;

	if (me == 0) {
		enable(GICD, PARK_SPI);
		mmio_write32(irouter, 1); /* Aff0 = vCPU 1 */
	}
	for (unsigned int round = 1; round <= PARK_ROUNDS; round++) {
		if (me == 1) {
			park_ready = round;
			while (park_taken < round) {
				__asm__ volatile("dsb sy; wfi" ::: "memory");
			}
		} else if (me == 0) {
			while (park_ready < round) {
				__asm__ volatile("yield");
			}
			if (round == 3) {
				mmio_write32(GICD + 0x180 + spi_reg, spi_bit); /* ICENABLER: pending but disabled */
				mmio_write32(GICD + 0x200 + spi_reg, spi_bit);
			} else if (round == 4) {
				mmio_write32(irouter, 7); /* a vCPU the VM lacks: undelivered */
				mmio_write32(GICD + 0x200 + spi_reg, spi_bit);
			}
			/* Long enough for vCPU 1 to reach its WFI and the host to park it (the test host counts). */
			for (uint64_t end = read_cntvct() + PARK_DELAY_MS * period; read_cntvct() < end;) {
			}
			if (round == 1) {
				mmio_write32(GICD + 0x200 + spi_reg, spi_bit); /* GICD_ISPENDR */
			} else if (round == 2) {
				mmio_write32(GICR(1) + 0x10000 + 0x200, 1U << PARK_SGI); /* GICR_ISPENDR0 of vCPU 1 */
			} else if (round == 3) {
				mmio_write32(GICD + 0x100 + spi_reg, spi_bit); /* GICD_ISENABLER */
			} else {
				mmio_write32(irouter, 1); /* GICD_IROUTER */
			}
			while (park_taken < round) {
				__asm__ volatile("yield");
			}
		}
	}
}

static void work(void)
{
	unsigned int me = self();

	guest_mmu_on();
	gic_on();
	atomic_inc(&arrived);
	wait_all(&arrived, NR_VCPUS);
	for (unsigned int i = 0; i < LOCK_ROUNDS; i++) {
		spin_lock(&lock);
		counter = counter + 1; /* a plain read-modify-write: only the lock keeps it exact */
		spin_unlock(&lock);
	}
	atomic_inc(&lock_done);
	wait_all(&lock_done, NR_VCPUS);
	/* Round-robin over the targets; each SGI only once the target took the one before from us. */
	for (unsigned int round = 1; round <= IPI_ROUNDS; round++) {
		for (unsigned int t = 0; t < NR_VCPUS; t++) {
			if (t == me) {
				continue;
			}
			write_sysreg(S3_0_C12_C11_5, (uint64_t)(SGI_BASE + me) << 24 | 1UL << t); /* ICC_SGI1R_EL1 */
			__asm__ volatile("isb");
			atomic_inc(&sent[t]);
			while (received[t][me] < round) {
				__asm__ volatile("yield");
			}
		}
	}
	atomic_inc(&ipi_done);
	wait_all(&ipi_done, NR_VCPUS);
	wfi_phase(me);
	park_phase(me);
}

static void bench_secondary(uint64_t first)
{
	bench_on = first - bench_t0;
	gic_on();
	bench_ready = 1;
	while (bench_ipis < BENCH_N) {
		__asm__ volatile("wfi");
	}
}

/* vCPU 0's half of the bench (see the top of the file). */
static void bench_main(void)
{
	bench = true;
	gic_on();
	bench_t0 = read_cntvct();
	hvc_call(PSCI_CPU_ON_64, 1, (uint64_t)secondary_entry, stack_top(1));
	while (!bench_ready) {
		__asm__ volatile("wfi");
	}
	for (unsigned int i = 1; i <= BENCH_N; i++) {
		bench_t0 = read_cntvct();
		write_sysreg(S3_0_C12_C11_5, (uint64_t)SGI_BASE << 24 | 1UL << 1); /* ICC_SGI1R_EL1 */
		while (bench_ipis < i) {
			__asm__ volatile("wfi");
		}
	}
	for (unsigned int i = 1; i <= BENCH_N; i++) {
		deadline = read_cntvct() + 2000;
		write_sysreg(cntv_cval_el0, deadline);
		write_sysreg(cntv_ctl_el0, 1);
		while (ticks < i) {
		}
	}
	printf("guest: mvcpu bench cpu_on_ticks=%lu n=1\n", bench_on);
	printf("guest: mvcpu bench vtimer_ticks=%lu n=%u\n", bench_timer, BENCH_N);
	printf("guest: mvcpu bench ipi_ticks=%lu n=%u\n", bench_ipi, BENCH_N);
}

void secondary_main(uint64_t context, uint64_t first)
{
	if (bench) {
		bench_secondary(first);
		hvc_call(PSCI_CPU_OFF, 0, 0, 0);
	}
	work();
	hvc_call(PSCI_CPU_OFF, 0, 0, 0);
}


void guest_main(uint64_t x0)
{
	unsigned int total_sent = 0, total_received = 0, bad = 0;
	uint64_t start, elapsed;

	period = read_sysreg(cntfrq_el0) / 1000;
	guest_irq_handler = irq;
	mmio_write32(GICD, 2); /* EnableGrp1 */
	guest_mmu_build();
	if (x0 == 1) {
		bench_main();
		return;
	}
	for (unsigned int i = 1; i < NR_VCPUS; i++) {
		long r = hvc_call(PSCI_CPU_ON_64, i, (uint64_t)secondary_entry, stack_top(i)).status;

		if (r) {
			printf("guest: mvcpu cpu_on(%u) -> %ld\n", i, r);
		}
	}
	work();
	printf("guest: mvcpu counter=%lu expected=%u\n", counter, NR_VCPUS * LOCK_ROUNDS);
	/* Let a stray doubled SGI show up before counting. */
	for (uint64_t end = read_cntvct() + 5 * period; read_cntvct() < end;) {
	}
	for (unsigned int t = 0; t < NR_VCPUS; t++) {
		total_sent += sent[t];
		for (unsigned int s = 0; s < NR_VCPUS; s++) {
			total_received += received[t][s];
			bad += received[t][s] != (s == t ? 0 : IPI_ROUNDS);
		}
	}
	printf("guest: mvcpu ipis sent=%u received=%u wrong=%u spurious=%u\n", total_sent, total_received,
	       wrong + bad, spurious);
	printf("guest: mvcpu wfi rounds=%u taken=%u\n", WFI_ROUNDS, wfi_taken);
	printf("guest: mvcpu park rounds=%u taken=%u\n", PARK_ROUNDS, park_taken);
	for (unsigned int i = 1; i < NR_VCPUS; i++) {
		while (hvc_call(PSCI_AFFINITY_INFO_64, i, 0, 0).status != 1) {
			__asm__ volatile("yield");
		}
	}

	mmio_write32(DEV_TICKS, 1);
	start = read_cntvct();
	deadline = start + period;
	write_sysreg(cntv_cval_el0, deadline);
	write_sysreg(cntv_ctl_el0, 1);
	while (ticks < TICKS && read_cntvct() - start < 5000 * period) {
	}
	for (uint64_t end = read_cntvct() + 5 * period; read_cntvct() < end;) {
	}
	elapsed = (read_cntvct() - start) / period;
	mmio_write32(DEV_TICKS, 2);
	printf("guest: mvcpu ticks=%u early=%u late=%u elapsed_ms=%lu\n", ticks, early, late, elapsed);
	printf("guest: mvcpu done\n");
}
