/*
 * Polled PL011 output for EL1 images (see console.h).
 */
#include "console.h"

#include "fmt.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define UART_FR_TXFF (1U << 5)

static uint64_t uart_base = PL011_DEFAULT_BASE;

void console_set_base(uint64_t base)
{
	if (base) {
		uart_base = base;
	}
}

static void uart_tx(char c)
{
	volatile uint32_t *fr = (volatile uint32_t *)(uintptr_t)(uart_base + UART_FR);
	volatile uint32_t *dr = (volatile uint32_t *)(uintptr_t)(uart_base + UART_DR);

	while (*fr & UART_FR_TXFF) {
	}
	*dr = (uint8_t)c;
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

int console_vprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = fmt_vformat(buf, sizeof(buf), fmt, ap);

	console_puts(buf);
	return n;
}
