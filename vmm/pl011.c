/*
 * The PL011 model (see pl011.h for what it owns and its lock).
 *
 * Interrupts, as QEMU's pl011 and what Linux's amba-pl011 expects of them:
 *  - RX is level: raised while the RX FIFO holds a byte (any fill level counts as "at the trigger
 *    level": the guest sees no receive-timeout latency to wait for), cleared by reading DR empty.
 *    ICR cannot clear it while bytes remain, so no byte is ever stranded without an interrupt.
 *  - TX is latched: every DR write empties the FIFO at once, which on the hardware is the FIFO
 *    falling through its trigger level, so TXRIS is set; the guest clears it in ICR. Linux only
 *    unmasks TXIM when it has more to send than fits the FIFO, and then refills from the interrupt.
 * The output line is RIS & IMSC != 0 (the UARTINTR of the TRM), reported on every change only.
 */
#include <string.h>

#include "pl011.h"

#define PL011_CR_RESET 0x300U /* TXE | RXE, UART disabled */
#define PL011_IFLS_RESET 0x12U /* both FIFOs at 1/2 */

/* PeriphID0..3 = 0x00141011 (part 0x011, designer 0x41 'A', revision 1), PCellID0..3 = 0xb105f00d. */
static const uint8_t pl011_id[8] = { 0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

void pl011_init(struct pl011 *u, void (*tx)(void *, uint8_t), void (*irq)(void *, bool), void *ctx)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->rx_space, NULL);
	u->cr = PL011_CR_RESET;
	u->ifls = PL011_IFLS_RESET;
	u->tx = tx;
	u->irq = irq;
	u->ctx = ctx;
}

static uint32_t raw_status(const struct pl011 *u)
{
	return (u->rx_count ? PL011_INT_RX : 0) | u->tx_ris;
}

/* Called with the lock held after anything that can change RIS or IMSC. */
static void update_line(struct pl011 *u)
{
	bool level = (raw_status(u) & u->imsc) != 0;

	if (level != u->line) {
		u->line = level;
		if (u->irq) {
			u->irq(u->ctx, level);
		}
	}
}

/* Without FEN the PL011 holds one byte ("character mode"). */
static unsigned int rx_capacity(const struct pl011 *u)
{
	return (u->lcr_h & PL011_LCR_H_FEN) ? PL011_FIFO_DEPTH : 1;
}

static uint32_t read_dr(struct pl011 *u)
{
	uint32_t v;

	if (u->rx_count == 0) {
		return 0;
	}
	v = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % PL011_FIFO_DEPTH;
	u->rx_count--;
	pthread_cond_broadcast(&u->rx_space);
	return v;
}

static uint32_t read_reg(struct pl011 *u, uint64_t reg)
{
	if (reg >= PL011_ID_BASE) {
		return pl011_id[(reg - PL011_ID_BASE) / 4];
	}
	switch (reg) {
	case PL011_DR:
		return read_dr(u);
	case PL011_FR:
		return PL011_FR_TXFE | (u->rx_count ? 0 : PL011_FR_RXFE) |
		       (u->rx_count >= rx_capacity(u) ? PL011_FR_RXFF : 0);
	case PL011_ILPR:
		return u->ilpr;
	case PL011_IBRD:
		return u->ibrd;
	case PL011_FBRD:
		return u->fbrd;
	case PL011_LCR_H:
		return u->lcr_h;
	case PL011_CR:
		return u->cr;
	case PL011_IFLS:
		return u->ifls;
	case PL011_IMSC:
		return u->imsc;
	case PL011_RIS:
		return raw_status(u);
	case PL011_MIS:
		return raw_status(u) & u->imsc;
	case PL011_DMACR:
		return u->dmacr;
	default:
		return 0; /* RSR (no errors ever), ICR (write-only), reserved space */
	}
}

static void write_reg(struct pl011 *u, uint64_t reg, uint32_t v)
{
	switch (reg) {
	case PL011_DR:
		if (u->tx) {
			u->tx(u->ctx, (uint8_t)v);
		}
		u->tx_ris = PL011_INT_TX;
		break;
	case PL011_ILPR:
		u->ilpr = v & 0xff;
		break;
	case PL011_IBRD:
		u->ibrd = v & 0xffff;
		break;
	case PL011_FBRD:
		u->fbrd = v & 0x3f;
		break;
	case PL011_LCR_H:
		u->lcr_h = v & 0xff;
		break;
	case PL011_CR:
		u->cr = v & 0xffff;
		break;
	case PL011_IFLS:
		u->ifls = v & 0x3f;
		break;
	case PL011_IMSC:
		u->imsc = v & PL011_INT_ALL;
		break;
	case PL011_ICR:
		u->tx_ris &= ~v;
		break;
	case PL011_DMACR:
		u->dmacr = v & 0x7;
		break;
	default:
		break; /* RSR/ECR (no errors to clear), read-only and reserved registers */
	}
	update_line(u);
}

uint64_t pl011_read(struct pl011 *u, uint64_t off, unsigned int size)
{
	uint64_t v;

	pthread_mutex_lock(&u->lock);
	/* A narrower read of a register returns its bytes at that offset; reading DR pops a byte either way. */
	v = read_reg(u, off & 0xffc) >> (8 * (off & 3));
	update_line(u);
	pthread_mutex_unlock(&u->lock);
	return size >= 4 ? v : v & ((1ULL << (8 * size)) - 1);
}

void pl011_write(struct pl011 *u, uint64_t off, unsigned int size, uint64_t value)
{
	/* Registers are written whole from their first byte (strb to DR is how some consoles send);
	 * a write that starts inside a register changes nothing. */
	if (off & 3) {
		return;
	}
	pthread_mutex_lock(&u->lock);
	write_reg(u, off, size >= 4 ? (uint32_t)value : (uint32_t)(value & ((1ULL << (8 * size)) - 1)));
	pthread_mutex_unlock(&u->lock);
}

size_t pl011_receive(struct pl011 *u, const uint8_t *buf, size_t n)
{
	size_t done = 0;

	pthread_mutex_lock(&u->lock);
	while (done < n && u->rx_count < rx_capacity(u)) {
		u->rx[(u->rx_head + u->rx_count) % PL011_FIFO_DEPTH] = buf[done++];
		u->rx_count++;
	}
	update_line(u);
	pthread_mutex_unlock(&u->lock);
	return done;
}

bool pl011_wait_rx_space(struct pl011 *u)
{
	bool open;

	pthread_mutex_lock(&u->lock);
	while (!u->closed && u->rx_count >= rx_capacity(u)) {
		pthread_cond_wait(&u->rx_space, &u->lock);
	}
	open = !u->closed;
	pthread_mutex_unlock(&u->lock);
	return open;
}

void pl011_close(struct pl011 *u)
{
	pthread_mutex_lock(&u->lock);
	u->closed = true;
	pthread_cond_broadcast(&u->rx_space);
	pthread_mutex_unlock(&u->lock);
}
