/*
 * Test host console: polled PL011 transmit and a small printf.
 *
 * The PL011 is the host's device; the core prints its own "moat:" lines to
 * the same UART. Lines end in "\r\n" because QEMU -nographic puts the
 * terminal in raw mode. The printf knows %s %c %d %i %u %x %X %p %%, the
 * length modifiers l, ll, z, a field width, '0' padding and '-'.
 */
#include "lib.h"
#include "fmt.h"
#include "testhost.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define UART_FR_TXFF (1U << 5)

static u64 uart_base = PL011_DEFAULT_BASE;

void console_set_base(u64 base)
{
	if (base) {
		uart_base = base;
	}
}

static void uart_tx(char c)
{
	volatile u32 *fr = (volatile u32 *)(uart_base + UART_FR);
	volatile u32 *dr = (volatile u32 *)(uart_base + UART_DR);

	while (*fr & UART_FR_TXFF) {
	}
	*dr = (u8)c;
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

/* Formatting is core/fmt.c's (bounded, shared with the core); lines longer than the buffer are cut. */
int tvprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = fmt_vformat(buf, sizeof(buf), fmt, ap);

	console_puts(buf);
	return n;
}

int tprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = tvprintf(fmt, ap);
	va_end(ap);
	return n;
}
