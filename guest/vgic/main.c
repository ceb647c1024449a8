/*
 * vgic: the GIC the core emulates for a guest (DESIGN §9), used as a
 * bare-metal OS would use it.
 *
 *   1. Reads GICD_TYPER, GICD_IIDR, GICD_PIDR2 and GICR_TYPER:
 *        guest: vgic typer=0x<v> iidr=0x<v> pidr2=0x<v> gicr_typer=0x<v>
 *   2. Enables group 1 in GICD and the CPU interface, wakes its
 *      redistributor, enables PPI 27 (virtual timer), SGI 5 and SPIs 33, 34.
 *   3. Ticks: writes 1 to 0x0a000040 (VMM: "ticks start"), runs the virtual
 *      timer at 1 ms (CVAL advanced by one period per tick) for 20 ticks,
 *      spinning with IRQs unmasked and no trap, then 5 ms more with the
 *      timer off, and writes 2 to 0x0a000040 ("ticks end"):
 *        guest: vgic ticks=20
 *        guest: vgic late=<n> elapsed_ms=<n>
 *      (late: ticks taken more than one period after their deadline.)
 *   4. SGI 5 to itself through ICC_SGI1R_EL1: guest: vgic sgi=1
 *   5. SPIs: three times, writes 33 to 0x0a000044 (VMM: raise SPI 33 with
 *      IRQ_LINE); the handler acknowledges at the device by writing 33 to
 *      0x0a000048 (VMM: lower it). Then writes 34 to 0x0a000044 (the VMM
 *      must be refused: 34 is not in the VM's list) and waits 2 ms:
 *        guest: vgic spi33=3 spi34=0 spurious=0
 *   6. Garbage: with IRQs masked, writes pseudo-random values to every
 *      32-bit register of the GICD and of its GICR frames (RD and SGI), then
 *      reads GICD_IIDR back: guest: vgic garbage iidr=0x<v>
 *   7. guest: vgic done
 */
#include "guest.h"

#define GICD 0x08000000UL
#define GICR 0x080A0000UL
#define GICR_SGI (GICR + 0x10000UL)
#define DEV_TICKS 0x0a000040UL
#define DEV_RAISE 0x0a000044UL
#define DEV_ACK 0x0a000048UL
#define TICKS 20

#define write_sysreg(reg, v) __asm__ volatile("msr " #reg ", %0" : : "r"((uint64_t)(v)) : "memory")

static volatile unsigned int ticks, late, sgis, spi33, spi34, spurious;
static uint64_t period, deadline;

static void irq(void)
{
	uint64_t iar = read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
	uint32_t intid = (uint32_t)(iar & 0xffffff);

	if (intid == 27) {
		if (read_cntvct() > deadline + period) {
			late++;
		}
		if (++ticks < TICKS) {
			deadline += period;
			write_sysreg(cntv_cval_el0, deadline);
		} else {
			write_sysreg(cntv_ctl_el0, 0);
		}
	} else if (intid == 5) {
		sgis++;
	} else if (intid == 33) {
		spi33++;
		mmio_write32(DEV_ACK, 33); /* the device drops its line */
	} else if (intid == 34) {
		spi34++;
	} else {
		spurious++;
	}
	__asm__ volatile("isb");
	if (intid < 1020) {
		write_sysreg(S3_0_C12_C12_1, iar); /* ICC_EOIR1_EL1: drop priority and deactivate (EOImode 0) */
	}
}

static void enable(uint64_t frame, uint32_t intid)
{
	uint64_t n = intid / 32, bit = 1U << (intid % 32);

	mmio_write32(frame + 0x80 + 4 * n, mmio_read32(frame + 0x80 + 4 * n) | bit); /* group 1 */
	mmio_write32(frame + 0x400 + (intid & ~3U), 0xa0a0a0a0);		     /* priority 0xa0 */
	mmio_write32(frame + 0x100 + 4 * n, bit);
}

static void spin_ms(uint64_t ms)
{
	uint64_t end = read_cntvct() + ms * (period);

	while (read_cntvct() < end) {
	}
}

/* Wait, IRQs unmasked, until *v reaches want or ms pass. */
static void wait_for(volatile unsigned int *v, unsigned int want, uint64_t ms)
{
	uint64_t end = read_cntvct() + ms * period;

	while (*v < want && read_cntvct() < end) {
	}
}

/* Pseudo-random values into every 32-bit register of the GICD and of this vCPU's GICR frames. */
static void garbage(void)
{
	uint64_t x = 0x9e3779b97f4a7c15UL;

	for (uint64_t off = 0; off < 0x30000; off += 4) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		mmio_write32(off < 0x10000 ? GICD + off : GICR + off - 0x10000, (uint32_t)x);
	}
}

void guest_main(uint64_t x0)
{
	uint64_t start, elapsed;

	period = read_sysreg(cntfrq_el0) / 1000;
	guest_irq_handler = irq;
	printf("guest: vgic typer=0x%x iidr=0x%x pidr2=0x%x gicr_typer=0x%lx\n", mmio_read32(GICD + 4),
	       mmio_read32(GICD + 8), mmio_read32(GICD + 0xffe8),
	       (uint64_t)mmio_read32(GICR + 8) | (uint64_t)mmio_read32(GICR + 12) << 32);

	mmio_write32(GICD, 2);	      /* EnableGrp1 */
	mmio_write32(GICR + 0x14, 0); /* GICR_WAKER: awake */
	while (mmio_read32(GICR + 0x14) & 4) {
	}
	enable(GICR_SGI, 27);
	enable(GICR_SGI, 5);
	enable(GICD, 33);
	enable(GICD, 34);
	write_sysreg(S3_0_C4_C6_0, 0xff); /* ICC_PMR_EL1 */
	write_sysreg(S3_0_C12_C12_7, 1);  /* ICC_IGRPEN1_EL1 */
	__asm__ volatile("isb; msr daifclr, #2" ::: "memory");

	mmio_write32(DEV_TICKS, 1);
	start = read_cntvct();
	deadline = start + period;
	write_sysreg(cntv_cval_el0, deadline);
	write_sysreg(cntv_ctl_el0, 1);
	wait_for(&ticks, TICKS, 2000);
	spin_ms(5);
	elapsed = (read_cntvct() - start) / period;
	mmio_write32(DEV_TICKS, 2);
	printf("guest: vgic ticks=%u\n", ticks);
	printf("guest: vgic late=%u elapsed_ms=%lu\n", late, elapsed);

	write_sysreg(S3_0_C12_C11_5, 5UL << 24 | 1); /* ICC_SGI1R_EL1: SGI 5 to Aff0 0, i.e. this vCPU */
	wait_for(&sgis, 1, 100);
	printf("guest: vgic sgi=%u\n", sgis);

	for (unsigned int i = 1; i <= 3; i++) {
		mmio_write32(DEV_RAISE, 33);
		wait_for(&spi33, i, 100);
	}
	mmio_write32(DEV_RAISE, 34);
	spin_ms(2);
	printf("guest: vgic spi33=%u spi34=%u spurious=%u\n", spi33, spi34, spurious);
	__asm__ volatile("msr daifset, #2" ::: "memory");
	garbage();
	printf("guest: vgic garbage iidr=0x%x\n", mmio_read32(GICD + 8));
	printf("guest: vgic done\n");
}
