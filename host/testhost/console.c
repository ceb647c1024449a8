/*
 * Test host console: tprintf over the shared EL1 PL011 console
 * (lib/el1/console.c). The PL011 is the host's device; the core prints its
 * own "moat:" lines to the same UART.
 */
#include "console.h"
#include "testhost.h"

int tvprintf(const char *fmt, va_list ap)
{
	return console_vprintf(fmt, ap);
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
