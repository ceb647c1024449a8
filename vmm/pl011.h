/*
 * An Arm PL011 UART (PrimeCell r1p5, as QEMU models it) on the VMM's stdin/stdout: enough for Linux's
 * amba-pl011 driver and its earlycon, and for the guest SDK's polled console. Transmit is instant
 * (every DR write goes straight to the tx callback, so the TX FIFO always reads empty); receive has a
 * real FIFO fed by the VMM's input thread. The interrupt output (RIS & IMSC != 0) drives the irq
 * callback whenever it changes.
 *
 * Thread-safety: one mutex per UART guards every field; vCPU threads (MMIO exits) and the input thread
 * call in concurrently. Both callbacks are made with that mutex held, so the line levels they report
 * reach the hypervisor in the order the model produced them.
 */
#ifndef MOAT_VMM_PL011_H
#define MOAT_VMM_PL011_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL011_FIFO_DEPTH 16 /* r1p5 (PeriphID2 revision 1): Linux sizes its FIFO use from the ID */

/* Register offsets (PL011 TRM, 3.2) and the bits this model gives meaning to. */
#define PL011_DR 0x000
#define PL011_RSR 0x004
#define PL011_FR 0x018
#define PL011_ILPR 0x020
#define PL011_IBRD 0x024
#define PL011_FBRD 0x028
#define PL011_LCR_H 0x02c
#define PL011_CR 0x030
#define PL011_IFLS 0x034
#define PL011_IMSC 0x038
#define PL011_RIS 0x03c
#define PL011_MIS 0x040
#define PL011_ICR 0x044
#define PL011_DMACR 0x048
#define PL011_ID_BASE 0xfe0 /* PeriphID0..3, PCellID0..3: one byte per word up to 0xffc */

#define PL011_FR_BUSY (1U << 3)
#define PL011_FR_RXFE (1U << 4)
#define PL011_FR_TXFF (1U << 5)
#define PL011_FR_RXFF (1U << 6)
#define PL011_FR_TXFE (1U << 7)
#define PL011_LCR_H_FEN (1U << 4)
#define PL011_INT_RX (1U << 4)
#define PL011_INT_TX (1U << 5)
#define PL011_INT_RT (1U << 6)
#define PL011_INT_ALL 0x7ffU

struct pl011 {
	pthread_mutex_t lock;
	pthread_cond_t rx_space; /* signalled when the guest takes a byte out of the RX FIFO */
	uint8_t rx[PL011_FIFO_DEPTH];
	unsigned int rx_head, rx_count;
	uint32_t ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr, ilpr;
	uint32_t tx_ris; /* PL011_INT_TX once a byte went out, until the guest clears it in ICR */
	bool line;	 /* the interrupt level last reported through irq() */
	bool closed;	 /* pl011_close: wake and refuse the input thread */
	void (*tx)(void *ctx, uint8_t byte);
	void (*irq)(void *ctx, bool level);
	void *ctx;
};

void pl011_init(struct pl011 *u, void (*tx)(void *, uint8_t), void (*irq)(void *, bool), void *ctx);
/* One guest access at offset off (0..0xfff) of the UART's page; size 1, 2, 4 or 8 bytes. */
uint64_t pl011_read(struct pl011 *u, uint64_t off, unsigned int size);
void pl011_write(struct pl011 *u, uint64_t off, unsigned int size, uint64_t value);
/* Input: queues up to n bytes in the RX FIFO, returns how many fitted (0 when full). */
size_t pl011_receive(struct pl011 *u, const uint8_t *buf, size_t n);
/* Blocks until the RX FIFO has room or pl011_close; returns false after close. */
bool pl011_wait_rx_space(struct pl011 *u);
void pl011_close(struct pl011 *u);

#endif
