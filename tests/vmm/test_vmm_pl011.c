/*
 * Unit tests for vmm/pl011.c (the UART model: registers, ID, FIFO, interrupt line) and vmm/mmio.c
 * (dispatch and the unclaimed-access report). Host-native under ASan + UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "mmio.h"
#include "pl011.h"

/* What the model did to the outside world. */
struct sink {
	char out[256];
	unsigned int nout;
	int levels[64]; /* every irq() call, in order */
	unsigned int nlevels;
};

static void sink_tx(void *ctx, uint8_t b)
{
	struct sink *s = ctx;

	s->out[s->nout++] = (char)b;
}

static void sink_irq(void *ctx, bool level)
{
	struct sink *s = ctx;

	s->levels[s->nlevels++] = level;
}

static struct pl011 uart;
static struct sink sink;

static int setup(void **state)
{
	memset(&sink, 0, sizeof(sink));
	pl011_init(&uart, sink_tx, sink_irq, &sink);
	return 0;
}

static uint32_t rd(uint64_t off)
{
	return (uint32_t)pl011_read(&uart, off, 4);
}

static void wr(uint64_t off, uint32_t v)
{
	pl011_write(&uart, off, 4, v);
}

static void test_id_registers(void **state)
{
	static const uint32_t id[8] = { 0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

	for (int i = 0; i < 8; i++) {
		assert_int_equal(rd(0xfe0 + 4 * i), id[i]);
	}
	assert_int_equal(sink.nlevels, 0);
}

static void test_reset_state_and_registers(void **state)
{
	assert_int_equal(rd(PL011_FR), PL011_FR_TXFE | PL011_FR_RXFE); /* 0x90, as QEMU */
	assert_int_equal(rd(PL011_CR), 0x300);
	assert_int_equal(rd(PL011_IFLS), 0x12);
	assert_int_equal(rd(PL011_IMSC), 0);
	assert_int_equal(rd(PL011_RIS), 0);
	wr(PL011_IBRD, 0x12345678);
	wr(PL011_FBRD, 0xff);
	wr(PL011_LCR_H, 0x170);
	wr(PL011_CR, 0x10301);
	wr(PL011_DMACR, 0xff);
	assert_int_equal(rd(PL011_IBRD), 0x5678);
	assert_int_equal(rd(PL011_FBRD), 0x3f);
	assert_int_equal(rd(PL011_LCR_H), 0x70);
	assert_int_equal(rd(PL011_CR), 0x301);
	assert_int_equal(rd(PL011_DMACR), 0x7);
	assert_int_equal(rd(PL011_RSR), 0);
	assert_int_equal(rd(0x800), 0); /* reserved */
	/* a byte read of FR gets its low byte */
	assert_int_equal(pl011_read(&uart, PL011_FR, 1), 0x90);
}

static void test_tx(void **state)
{
	wr(PL011_DR, 'h');
	pl011_write(&uart, PL011_DR, 1, 'i'); /* strb */
	pl011_write(&uart, PL011_DR + 1, 1, 'X'); /* starts inside DR: ignored */
	wr(PL011_DR, 0x100 | '!');		  /* only the data byte goes out */
	assert_int_equal(sink.nout, 3);
	assert_memory_equal(sink.out, "hi!", 3);
	assert_int_equal(rd(PL011_FR) & (PL011_FR_TXFF | PL011_FR_BUSY), 0); /* never full, never busy */
	assert_int_equal(sink.nlevels, 0); /* TXIM masked: no line */
}

/* TX is latched on each write and cleared by ICR; the line follows RIS & IMSC. */
static void test_tx_interrupt(void **state)
{
	wr(PL011_DR, 'a');
	assert_int_equal(rd(PL011_RIS), PL011_INT_TX);
	assert_int_equal(rd(PL011_MIS), 0);
	wr(PL011_IMSC, PL011_INT_TX);
	assert_int_equal(rd(PL011_MIS), PL011_INT_TX);
	assert_int_equal(sink.nlevels, 1);
	assert_int_equal(sink.levels[0], 1);
	wr(PL011_DR, 'b'); /* already high: no second call */
	assert_int_equal(sink.nlevels, 1);
	wr(PL011_ICR, PL011_INT_TX);
	assert_int_equal(rd(PL011_RIS), 0);
	assert_int_equal(sink.nlevels, 2);
	assert_int_equal(sink.levels[1], 0);
}

static void test_rx_fifo_and_interrupt(void **state)
{
	wr(PL011_LCR_H, PL011_LCR_H_FEN);
	assert_int_equal(pl011_receive(&uart, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(rd(PL011_FR) & (PL011_FR_RXFE | PL011_FR_RXFF), 0);
	assert_int_equal(rd(PL011_RIS), PL011_INT_RX);
	assert_int_equal(sink.nlevels, 0); /* masked */
	wr(PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
	assert_int_equal(sink.nlevels, 1);
	assert_int_equal(sink.levels[0], 1);
	wr(PL011_ICR, PL011_INT_ALL); /* cannot clear RX while bytes wait */
	assert_int_equal(rd(PL011_RIS), PL011_INT_RX);
	assert_int_equal(rd(PL011_DR), 'a');
	assert_int_equal(sink.nlevels, 1);
	assert_int_equal(rd(PL011_DR), 'b');
	assert_int_equal(sink.nlevels, 2);
	assert_int_equal(sink.levels[1], 0);
	assert_int_equal(rd(PL011_FR) & PL011_FR_RXFE, PL011_FR_RXFE);
	assert_int_equal(rd(PL011_DR), 0); /* empty FIFO */
	assert_int_equal(sink.nlevels, 2);
}

static void test_rx_capacity(void **state)
{
	uint8_t buf[40];

	memset(buf, 'x', sizeof(buf));
	/* Character mode (FEN clear, the reset state): one byte. */
	assert_int_equal(pl011_receive(&uart, buf, sizeof(buf)), 1);
	assert_int_equal(rd(PL011_FR) & PL011_FR_RXFF, PL011_FR_RXFF);
	assert_int_equal(pl011_receive(&uart, buf, 1), 0);
	wr(PL011_LCR_H, PL011_LCR_H_FEN);
	assert_int_equal(pl011_receive(&uart, buf, sizeof(buf)), PL011_FIFO_DEPTH - 1);
	assert_int_equal(rd(PL011_FR) & PL011_FR_RXFF, PL011_FR_RXFF);
	for (int i = 0; i < PL011_FIFO_DEPTH; i++) {
		assert_int_equal(rd(PL011_DR), 'x');
	}
	assert_int_equal(rd(PL011_FR) & PL011_FR_RXFE, PL011_FR_RXFE);
	/* wrap-around keeps order */
	assert_int_equal(pl011_receive(&uart, (const uint8_t *)"0123456789", 10), 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(rd(PL011_DR), '0' + i);
	}
}

static void *waiter(void *arg)
{
	return (void *)(uintptr_t)pl011_wait_rx_space(arg);
}

/* The input thread blocks while the FIFO is full, wakes when the guest reads, and is released by close. */
static void test_rx_wait(void **state)
{
	pthread_t t;
	void *ret;

	assert_int_equal(pl011_receive(&uart, (const uint8_t *)"z", 1), 1); /* character mode: full */
	assert_int_equal(pthread_create(&t, NULL, waiter, &uart), 0);
	usleep(20 * 1000);
	assert_int_equal(rd(PL011_DR), 'z');
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((uintptr_t)ret, 1);

	assert_int_equal(pl011_receive(&uart, (const uint8_t *)"z", 1), 1);
	assert_int_equal(pthread_create(&t, NULL, waiter, &uart), 0);
	usleep(20 * 1000);
	pl011_close(&uart);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((uintptr_t)ret, 0);
}

/* ---- mmio.c ---- */

static uint64_t fake_read(void *dev, uint64_t off, unsigned int size)
{
	return 0x1000 + off + size;
}

static void fake_write(void *dev, uint64_t off, unsigned int size, uint64_t value)
{
	uint64_t *last = dev;

	last[0] = off;
	last[1] = size;
	last[2] = value;
}

static void test_mmio_dispatch_and_report(void **state)
{
	static struct mmio_bus bus;
	uint64_t last[3] = { 0 };
	struct mmio_device d = { .name = "fake", .base = 0x09000000, .size = 0x1000, .read = fake_read,
				 .write = fake_write, .dev = last };
	struct mmio_device overlap = d;
	struct capture c;
	const char *text;

	mmio_init(&bus);
	assert_int_equal(mmio_add(&bus, &d), 0);
	overlap.base = 0x09000ff0;
	assert_int_equal(mmio_add(&bus, &overlap), -1);
	assert_int_equal(mmio_access(&bus, 0x09000018, 4, 0, 0), 0x1000 + 0x18 + 4);
	mmio_access(&bus, 0x09000ffc, 2, 1, 0xbeef);
	assert_int_equal(last[0], 0xffc);
	assert_int_equal(last[1], 2);
	assert_int_equal(last[2], 0xbeef);
	/* unclaimed: reads are zero, every access counted per address */
	assert_int_equal(mmio_access(&bus, 0x0a000000, 4, 0, 0), 0);
	assert_int_equal(mmio_access(&bus, 0x0a000000, 4, 0, 0), 0);
	mmio_access(&bus, 0x0a000000, 4, 1, 7);
	mmio_access(&bus, 0x09001000, 1, 1, 7); /* just past the device */
	assert_int_equal(mmio_access(&bus, 0x08ffffff, 1, 0, 0), 0);

	capture_begin(&c, 2);
	mmio_report(&bus, stderr);
	text = capture_end(&c);
	assert_string_equal(text, "moat-vmm: unclaimed MMIO at 0x8ffffff: 1 reads, 0 writes\n"
				  "moat-vmm: unclaimed MMIO at 0x9001000: 0 reads, 1 writes\n"
				  "moat-vmm: unclaimed MMIO at 0xa000000: 2 reads, 1 writes\n");
}

static void test_mmio_report_overflow_and_empty(void **state)
{
	static struct mmio_bus bus;
	struct capture c;
	const char *text;

	mmio_init(&bus);
	capture_begin(&c, 2);
	mmio_report(&bus, stderr);
	assert_string_equal(capture_end(&c), "");
	for (unsigned int i = 0; i < MMIO_MAX_UNCLAIMED + 3; i++) {
		mmio_access(&bus, 0x10000000 + 8 * i, 8, (int)(i % 2), 0);
	}
	capture_begin(&c, 2);
	mmio_report(&bus, stderr);
	text = capture_end(&c);
	assert_non_null(strstr(text, "moat-vmm: unclaimed MMIO at 0x10000000: 1 reads, 0 writes\n"));
	/* i = 64, 65, 66 did not fit: reads at 64 and 66, a write at 65 */
	assert_non_null(strstr(text, "moat-vmm: unclaimed MMIO at further addresses (over 64): 2 reads, 1 writes\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_id_registers, setup),
		cmocka_unit_test_setup(test_reset_state_and_registers, setup),
		cmocka_unit_test_setup(test_tx, setup),
		cmocka_unit_test_setup(test_tx_interrupt, setup),
		cmocka_unit_test_setup(test_rx_fifo_and_interrupt, setup),
		cmocka_unit_test_setup(test_rx_capacity, setup),
		cmocka_unit_test_setup(test_rx_wait, setup),
		cmocka_unit_test(test_mmio_dispatch_and_report),
		cmocka_unit_test(test_mmio_report_overflow_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
