/*
 * Guest console: polled output on the PL011 at GUEST_UART_BASE and a small
 * printf.
 *
 * Under moat every register access is an MMIO exit to the VMM, which
 * emulates only DR (32-bit writes of one character) and FR (reads as 0:
 * never full). Accesses are single 32-bit "ldr w"/"str w" (mmio_*32), the
 * only form the core forwards. Lines end in "\r\n" for QEMU's raw terminal.
 *
 * printf knows %s %c %d %i %u %x %p %%, the length modifiers l, ll and z
 * (all 64-bit), a field width and '0' padding. Nothing here uses FP/SIMD,
 * so it may be called with live vector registers.
 */
#include "fmt.h"
#include "guest.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define UART_FR_TXFF (1U << 5)

static void uart_tx(char c)
{
	while (mmio_read32(GUEST_UART_BASE + UART_FR) & UART_FR_TXFF) {
	}
	mmio_write32(GUEST_UART_BASE + UART_DR, (uint8_t)c);
}

void console_putc(char c)
{
	if (c == '\n') {
		uart_tx('\r');
	}
	uart_tx(c);
}

void console_puts(const char *s)
{
	while (*s) {
		console_putc(*s++);
	}
}

/* Formatting is core/fmt.c's, the same bounded formatter the core and the test host use. */
int vprintf(const char *fmt, va_list ap)
{
	char buf[256];
	int n = fmt_vformat(buf, sizeof(buf), fmt, ap);

	console_puts(buf);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
