/*
 * Guest console: printf over the shared EL1 PL011 console (lib/el1/console.c)
 * at GUEST_UART_BASE.
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
#include "console.h"
#include "guest.h"

int vprintf(const char *fmt, va_list ap)
{
	return console_vprintf(fmt, ap);
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
