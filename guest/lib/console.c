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

static unsigned int str_len(const char *s)
{
	unsigned int n = 0;

	while (s[n]) {
		n++;
	}
	return n;
}

/* One conversion's field: minimum width, and '0' or ' ' as the fill. */
struct field {
	unsigned int width;
	char fill;
};

static int put_fill(const struct field *f, unsigned int len)
{
	unsigned int n = f->width > len ? f->width - len : 0;

	for (unsigned int i = 0; i < n; i++) {
		console_putc(f->fill);
	}
	return (int)n;
}

/* A string in its field, right-aligned. */
static int put_str(const struct field *f, const char *s, unsigned int len)
{
	int n = put_fill(f, len);

	for (unsigned int i = 0; i < len; i++) {
		console_putc(s[i]);
	}
	return n + (int)len;
}

/* An unsigned number; a '-' (neg) goes before zero fill, after space fill. */
static int put_num(const struct field *f, uint64_t v, unsigned int base, bool neg)
{
	char buf[24];
	unsigned int i = sizeof(buf);
	struct field rest = *f;
	int n = 0;

	do {
		buf[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg) {
		buf[--i] = '-';
		if (f->fill == '0') {
			console_putc('-');
			i++;
			n = 1;
			rest.width = f->width ? f->width - 1 : 0;
		}
	}
	return n + put_str(&rest, buf + i, (unsigned int)sizeof(buf) - i);
}

static int put_signed(const struct field *f, int64_t v)
{
	return v < 0 ? put_num(f, (uint64_t)0 - (uint64_t)v, 10, true) : put_num(f, (uint64_t)v, 10, false);
}

/* Handle the conversion character c; l is true for l, ll and z. */
static int put_conv(char c, const struct field *f, bool l, va_list *ap)
{
	const char *s;
	char ch;

	switch (c) {
	case 'd':
	case 'i':
		return put_signed(f, l ? va_arg(*ap, long) : va_arg(*ap, int));
	case 'u':
		return put_num(f, l ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int), 10, false);
	case 'x':
		return put_num(f, l ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int), 16, false);
	case 'p':
		console_puts("0x");
		return 2 + put_num(f, (uintptr_t)va_arg(*ap, void *), 16, false);
	case 'c':
		ch = (char)va_arg(*ap, int);
		return put_str(f, &ch, 1);
	case 's':
		s = va_arg(*ap, const char *);
		s = s ? s : "(null)";
		return put_str(f, s, str_len(s));
	default:
		/* "%%", and an unknown conversion printed as itself */
		console_putc(c);
		return 1;
	}
}

int vprintf(const char *fmt, va_list ap)
{
	va_list aq;
	struct field f;
	bool l;
	int n = 0;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			console_putc(*fmt++);
			n++;
			continue;
		}
		fmt++;
		f.fill = *fmt == '0' ? '0' : ' ';
		for (f.width = 0; *fmt >= '0' && *fmt <= '9'; fmt++) {
			f.width = f.width * 10 + (unsigned int)(*fmt - '0');
		}
		for (l = false; *fmt == 'l' || *fmt == 'z'; fmt++) {
			l = true;
		}
		if (!*fmt) {
			break;
		}
		n += put_conv(*fmt++, &f, l, &aq);
	}
	va_end(aq);
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
