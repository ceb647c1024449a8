/*
 * kbench: the side-by-side benchmark guest of `make bench` (issue 13, DESIGN §16).
 *
 * Uses only what every hypervisor offers a standard arm64 VM of QEMU virt's
 * shape, so the same image runs under moat-vmm on moat (normal and protected)
 * and on stock KVM / pKVM (moat-vmm --backend kvm), and -- workload only --
 * directly on bare QEMU at EL1:
 *   - HVC (SMCCC) with PSCI CPU_ON, and an unassigned OEM function ID;
 *   - the GICv3 distributor at 0x08000000 and redistributors at 0x080A0000;
 *   - the virtual timer (PPI 11 = INTID 27);
 *   - an MMIO address nothing claims (0x0a000000: QEMU virt's virtio-mmio
 *     slots, which moat-vmm does not model: reads return 0 on both backends);
 *   - RAM at 0x40000000 of at least 160 MiB (make bench gives 256 MiB).
 *
 * Every time is a raw CNTVCT_EL0 delta (isb before each read), printed with the
 * counter frequency, one machine-readable line per metric:
 *   kbench: entry cntpct=<c> freq=<f>          CNTPCT_EL0 at the image's first instruction
 *   kbench: hvc n=<n> ticks=<t> freq=<f>       null HVC: unknown function ID -> NOT_SUPPORTED
 *   kbench: mmio n=<n> ticks=<t> freq=<f>      32-bit read of 0x0a000000: an exit to the VMM
 *   kbench: gicd n=<n> ticks=<t> freq=<f>      32-bit read of GICD_TYPER (the hypervisor's vGIC)
 *   kbench: cpu_on n=1 ticks=<t> freq=<f>      CPU_ON call to vCPU 1's first instruction
 *   kbench: ipi n=<n> ticks=<t> freq=<f>       SGI write to the other vCPU's IRQ handler (one way;
 *                                              ping-pong, both vCPUs wait in WFI)
 *   kbench: vtimer n=<n> ticks=<t> freq=<f>    CNTV_CVAL reached to the IRQ handler (vCPU spinning)
 *   kbench: touch n=<n> ticks=<t> freq=<f>     first write to each of n fresh 4 KiB pages (contiguous)
 *   kbench: touch2m n=<n> ticks=<t> freq=<f>   the same, one page per 2 MiB
 *   kbench: workload bytes=<b> ticks=<t> freq=<f> sha256=<hex>
 *   kbench: done
 * ticks/n is the cost of one operation. The HVC's status must be -1 and the
 * MMIO read 0, else the line ends in " BAD" (the test checks).
 *
 * The workload (CPU + memory): a 64 MiB working set (buffers A and B of
 * 32 MiB each, written before the clock starts so no first touch is timed):
 * copy A to B, B to A, twice (128 MiB moved), then SHA-256 of A's first
 * 4 MiB; the digest is fixed (A holds a splitmix64 sequence), so a wrong copy
 * shows.
 *
 * x0 = 0 (bare QEMU -kernel kbench.elf, no VMM: QEMU enters ELF images with
 * x0 = 0) runs the workload only, WORKLOAD_BARE_REPS times. A VMM enters with
 * x0 = the devicetree address, never 0.
 *
 * The MMU is on (identity map, RAM Normal write-back, the rest Device) on both
 * vCPUs, so the workload runs as an OS's would and the vCPUs share cacheable
 * memory.
 */
#include "guest.h"
#include "sha256.h"

#define FID_UNKNOWN 0x83000001UL /* SMCCC OEM service, unassigned: NOT_SUPPORTED from moat and KVM */
#define PSCI_CPU_ON_64 0xc4000003UL
#define GICD 0x08000000UL
#define GICD_TYPER (GICD + 0x4)
#define GICR(i) (0x080A0000UL + 0x20000UL * (i))
#define MMIO_UNCLAIMED 0x0a000000UL
#define SGI_PING 1 /* vCPU 0 -> vCPU 1 */
#define SGI_PONG 2 /* vCPU 1 -> vCPU 0 */
#define INTID_VTIMER 27

#define HVC_N 1000
#define MMIO_N 1000
#define GICD_N 1000
#define IPI_ROUNDS 100 /* two one-way IPIs each */
#define VTIMER_N 100
#define TOUCH_N 256
#define TOUCH_BASE 0x40400000UL /* above the image (which ends below 0x40100000), below the buffers */
#define TOUCH_2M_N 16
#define TOUCH_2M_BASE 0x46000000UL /* above the buffers: 16 x 2 MiB, below the DTB at the top of 256 MiB */
#define WORK_A 0x42000000UL
#define WORK_B 0x44000000UL
#define WORK_BYTES (32UL << 20)
#define WORK_PASSES 2
#define WORK_SHA_BYTES (4UL << 20)
#define WORKLOAD_BARE_REPS 5


extern char secondary_entry[];
extern uint64_t guest_entry_cntpct; /* start.S */
void secondary_main(uint64_t context, uint64_t first);

static uint64_t stack1[1024] __attribute__((aligned(16)));
static uint64_t freq;

/* Written by IRQ handlers or the other vCPU. */
static volatile uint64_t cpu_on_t0, cpu_on_ticks, vcpu1_ready;
static volatile uint64_t ping_t0, pong_t0, ipi_ticks, pings, pongs;
static volatile uint64_t deadline, vtimer_ticks, vtimer_irqs;
static uint64_t vtimer_lost;


static unsigned int self(void)
{
	return (unsigned int)(read_sysreg(mpidr_el1) & 0xff);
}

static void send_sgi(unsigned int intid, unsigned int target)
{
	write_sysreg(S3_0_C12_C11_5, (uint64_t)intid << 24 | 1UL << target); /* ICC_SGI1R_EL1, Aff1..3 = 0 */
	__asm__ volatile("isb" ::: "memory");
}

static void irq(void)
{
	uint64_t iar = read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
	uint32_t intid = (uint32_t)(iar & 0xffffff);
	uint64_t now = read_cntvct();

	if (intid == INTID_VTIMER) {
		vtimer_ticks += now - deadline;
		write_sysreg(cntv_ctl_el0, 0);
		vtimer_irqs++;
	} else if (intid == SGI_PING) {
		ipi_ticks += now - ping_t0;
		pings++;
		pong_t0 = read_cntvct();
		send_sgi(SGI_PONG, 0);
	} else if (intid == SGI_PONG) {
		ipi_ticks += now - pong_t0;
		pongs++;
	}
	if (intid < 1020) {
		write_sysreg(S3_0_C12_C12_1, iar); /* ICC_EOIR1_EL1 */
	}
}

static void enable_intid(uint64_t sgi_frame, uint32_t intid)
{
	uint32_t bit = 1U << intid;

	mmio_write32(sgi_frame + 0x80, mmio_read32(sgi_frame + 0x80) | bit); /* GICR_IGROUPR0: group 1 */
	mmio_write32(sgi_frame + 0x400 + (intid & ~3U), 0xa0a0a0a0);       /* GICR_IPRIORITYR: 0xa0 */
	mmio_write32(sgi_frame + 0x100, bit);				      /* GICR_ISENABLER0 */
}

/* This vCPU's redistributor and CPU interface: the two SGIs and the virtual timer, IRQs unmasked. */
static void gic_on(void)
{
	uint64_t rd = GICR(self());

	mmio_write32(rd + 0x14, 0); /* GICR_WAKER: awake */
	while (mmio_read32(rd + 0x14) & 4) {
	}
	enable_intid(rd + 0x10000, SGI_PING);
	enable_intid(rd + 0x10000, SGI_PONG);
	enable_intid(rd + 0x10000, INTID_VTIMER);
	write_sysreg(S3_0_C4_C6_0, 0xff); /* ICC_PMR_EL1 */
	write_sysreg(S3_0_C12_C12_7, 1);  /* ICC_IGRPEN1_EL1 */
	__asm__ volatile("isb; msr daifclr, #2" ::: "memory");
}

/*
 * Wait in WFI until *v >= n. IRQs are masked around the test so an interrupt
 * between the test and the WFI cannot be lost (WFI wakes on a pending IRQ
 * even when masked); the handler runs in the window where they are unmasked.
 */
static void wait_for(volatile uint64_t *v, uint64_t n)
{
	__asm__ volatile("msr daifset, #2" ::: "memory");
	while (*v < n) {
		__asm__ volatile("wfi; msr daifclr, #2; isb; msr daifset, #2" ::: "memory");
	}
	__asm__ volatile("msr daifclr, #2" ::: "memory");
}

static void line(const char *name, uint64_t n, uint64_t ticks, bool ok)
{
	printf("kbench: %s n=%lu ticks=%lu freq=%lu%s\n", name, n, ticks, freq, ok ? "" : " BAD");
}

static void bench_hvc(void)
{
	bool ok = true;
	uint64_t t0 = read_cntvct();

	for (int i = 0; i < HVC_N; i++) {
		ok &= hvc_call(FID_UNKNOWN, 0, 0, 0).status == -1;
	}
	line("hvc", HVC_N, read_cntvct() - t0, ok);
}

static void bench_mmio(void)
{
	uint32_t acc = 0;
	uint64_t t0 = read_cntvct();

	for (int i = 0; i < MMIO_N; i++) {
		acc |= mmio_read32(MMIO_UNCLAIMED);
	}
	line("mmio", MMIO_N, read_cntvct() - t0, acc == 0);
}

static void bench_gicd(void)
{
	uint32_t first = mmio_read32(GICD_TYPER), acc = first;
	uint64_t t0 = read_cntvct();

	for (int i = 0; i < GICD_N; i++) {
		acc &= mmio_read32(GICD_TYPER);
	}
	/* ITLinesNumber (bits 4:0) says how many SPIs exist: a real GICD_TYPER is never 0 and never changes. */
	line("gicd", GICD_N, read_cntvct() - t0, first != 0 && acc == first);
}

static void bench_smp(void)
{
	long r;

	cpu_on_t0 = read_cntvct();
	r = hvc_call(PSCI_CPU_ON_64, 1, (uint64_t)secondary_entry, (uint64_t)&stack1[1024]).status;
	if (r != 0) {
		printf("kbench: cpu_on -> %ld BAD\n", r);
		return;
	}
	for (uint64_t end = read_cntvct() + 10 * freq; !vcpu1_ready;) {
		if (read_cntvct() > end) {
			printf("kbench: cpu_on: vCPU 1 not up after 10 s BAD\n");
			return;
		}
		__asm__ volatile("yield");
	}
	line("cpu_on", 1, cpu_on_ticks, true);
	for (uint64_t i = 1; i <= IPI_ROUNDS; i++) {
		ping_t0 = read_cntvct();
		send_sgi(SGI_PING, 1);
		wait_for(&pongs, i);
	}
	line("ipi", 2 * IPI_ROUNDS, ipi_ticks, pings == IPI_ROUNDS && pongs == IPI_ROUNDS);
}

static void bench_vtimer(void)
{
	/*
	 * 2000 ticks ahead: past the CVAL write and the enable on every system measured here. An
	 * interrupt that has not come 1 s after its deadline is lost: counted (the line is BAD), the
	 * timer turned off, and the next one tried, so a hypervisor that drops one cannot hang the run.
	 */
	for (uint64_t i = 1; i <= VTIMER_N; i++) {
		deadline = read_cntvct() + 2000;
		write_sysreg(cntv_cval_el0, deadline);
		write_sysreg(cntv_ctl_el0, 1);
		while (vtimer_irqs < i - vtimer_lost) {
			if (read_cntvct() > deadline + freq) {
				write_sysreg(cntv_ctl_el0, 0);
				__asm__ volatile("isb" ::: "memory");
				if (vtimer_irqs < i - vtimer_lost) {
					vtimer_lost++;
				}
			}
		}
	}
	if (vtimer_lost) {
		printf("kbench: vtimer lost=%lu\n", vtimer_lost);
	}
	line("vtimer", VTIMER_N - vtimer_lost, vtimer_ticks, vtimer_lost == 0);
}

static void bench_touch(void)
{
	uint64_t t0 = read_cntvct();
	bool ok = true;

	for (uint64_t i = 0; i < TOUCH_N; i++) {
		*(volatile uint64_t *)(TOUCH_BASE + i * GUEST_PAGE_SIZE) = i;
	}
	t0 = read_cntvct() - t0;
	for (uint64_t i = 0; i < TOUCH_N; i++) {
		ok &= *(volatile uint64_t *)(TOUCH_BASE + i * GUEST_PAGE_SIZE) == i;
	}
	line("touch", TOUCH_N, t0, ok);

	/*
	 * The same, one page per 2 MiB: where the hypervisor maps a first touch with a 2 MiB block
	 * (KVM on a host with transparent huge pages), the 256 neighbouring pages above cost one fault
	 * between them; here every touch is a fault of its own, whatever the mapping size.
	 */
	t0 = read_cntvct();
	for (uint64_t i = 0; i < TOUCH_2M_N; i++) {
		*(volatile uint64_t *)(TOUCH_2M_BASE + (i << 21)) = i;
	}
	t0 = read_cntvct() - t0;
	ok = true;
	for (uint64_t i = 0; i < TOUCH_2M_N; i++) {
		ok &= *(volatile uint64_t *)(TOUCH_2M_BASE + (i << 21)) == i;
	}
	line("touch2m", TOUCH_2M_N, t0, ok);
}

static void copy64(uint64_t *dst, const uint64_t *src, uint64_t bytes)
{
	for (uint64_t i = 0; i < bytes / 8; i += 2) {
		uint64_t a = src[i], b = src[i + 1];

		dst[i] = a;
		dst[i + 1] = b;
	}
}

static void workload(void)
{
	uint64_t *a = (uint64_t *)WORK_A, *b = (uint64_t *)WORK_B, state = 0, t0;
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];

	/* Untimed: fill A with splitmix64 (seed 0), zero B -- every page of both is touched here. */
	for (uint64_t i = 0; i < WORK_BYTES / 8; i++) {
		uint64_t z = (state += 0x9e3779b97f4a7c15UL);

		z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9UL;
		z = (z ^ z >> 27) * 0x94d049bb133111ebUL;
		a[i] = z ^ z >> 31;
		b[i] = 0;
	}
	t0 = read_cntvct();
	for (int pass = 0; pass < WORK_PASSES; pass++) {
		copy64(b, a, WORK_BYTES);
		copy64(a, b, WORK_BYTES);
	}
	sha256_init(&ctx);
	sha256_update(&ctx, a, WORK_SHA_BYTES);
	sha256_final(&ctx, digest);
	t0 = read_cntvct() - t0;
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
		hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 15];
	}
	hex[2 * SHA256_DIGEST_SIZE] = 0;
	printf("kbench: workload bytes=%lu ticks=%lu freq=%lu sha256=%s\n", 2 * WORK_BYTES, t0, freq, hex);
}

void secondary_main(uint64_t context, uint64_t first)
{
	(void)context;
	guest_mmu_on(); /* first: cpu_on_t0 was written through vCPU 0's cacheable mapping */
	cpu_on_ticks = first - cpu_on_t0;
	gic_on();
	vcpu1_ready = 1;
	for (;;) {
		__asm__ volatile("wfi");
	}
}

void guest_main(uint64_t x0)
{
	freq = read_sysreg(cntfrq_el0);
	guest_irq_handler = irq;
	guest_mmu_build();
	guest_mmu_on();
	if (x0 == 0) {
		printf("kbench: bare freq=%lu\n", freq);
		for (int i = 0; i < WORKLOAD_BARE_REPS; i++) {
			workload();
		}
		printf("kbench: done\n");
		return;
	}
	printf("kbench: entry cntpct=%lu freq=%lu\n", guest_entry_cntpct, freq);
	mmio_write32(GICD, 2); /* GICD_CTLR.EnableGrp1 (ARE is on: both vGICs are GICv3 with affinity routing) */
	gic_on();
	bench_hvc();
	bench_mmio();
	bench_gicd();
	bench_touch();
	bench_vtimer();
	bench_smp();
	workload();
	printf("kbench: done\n");
}
