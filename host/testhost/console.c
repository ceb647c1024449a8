/*
 * Test host console: polled PL011 transmit and a small printf.
 *
 * The PL011 is the host's device; the core prints its own "moat:" lines to
 * the same UART. Lines end in "\r\n" because QEMU -nographic puts the
 * terminal in raw mode. The printf knows %s %c %d %i %u %x %X %p %%, the
 * length modifiers l, ll, z, a field width, '0' padding and '-'.
 */
#include "lib.h"
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

struct spec {
	unsigned int width;
	bool zero;
	bool left;
};

static int pad(unsigned int n, char c)
{
	for (unsigned int i = 0; i < n; i++) {
		console_putc(c);
	}
	return (int)n;
}

/* Emit s (length len) in the field described by sp; sign goes before zero padding. */
static int put_field(const struct spec *sp, const char *sign, const char *s, unsigned int len)
{
	unsigned int slen = sign ? (unsigned int)strlen(sign) : 0;
	unsigned int fill = sp->width > len + slen ? sp->width - len - slen : 0;
	int n = 0;

	if (!sp->left && !sp->zero) {
		n += pad(fill, ' ');
	}
	if (sign) {
		console_puts(sign);
		n += (int)slen;
	}
	if (!sp->left && sp->zero) {
		n += pad(fill, '0');
	}
	for (unsigned int i = 0; i < len; i++) {
		console_putc(s[i]);
	}
	n += (int)len;
	if (sp->left) {
		n += pad(fill, ' ');
	}
	return n;
}

static int put_uint(const struct spec *sp, const char *sign, u64 v, unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	unsigned int i = sizeof(buf);

	do {
		buf[--i] = digits[v % base];
		v /= base;
	} while (v);
	return put_field(sp, sign, buf + i, (unsigned int)sizeof(buf) - i);
}

static const char *parse_spec(const char *f, struct spec *sp)
{
	sp->width = 0;
	sp->zero = false;
	sp->left = false;
	for (;; f++) {
		if (*f == '0') {
			sp->zero = true;
		} else if (*f == '-') {
			sp->left = true;
		} else {
			break;
		}
	}
	while (*f >= '0' && *f <= '9') {
		sp->width = sp->width * 10 + (unsigned int)(*f++ - '0');
	}
	return f;
}

/* Fetch an integer argument of the size the length modifier names. */
static u64 arg_uint(va_list *ap, int lng)
{
	return lng ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
}

static s64 arg_int(va_list *ap, int lng)
{
	return lng ? va_arg(*ap, long) : va_arg(*ap, int);
}

static int put_conv(char c, const struct spec *sp, int lng, va_list *ap)
{
	const char *s;
	char ch;
	s64 v;

	switch (c) {
	case 'd':
	case 'i':
		v = arg_int(ap, lng);
		return v < 0 ? put_uint(sp, "-", (u64)0 - (u64)v, 10, false) : put_uint(sp, NULL, (u64)v, 10, false);
	case 'u':
		return put_uint(sp, NULL, arg_uint(ap, lng), 10, false);
	case 'x':
	case 'X':
		return put_uint(sp, NULL, arg_uint(ap, lng), 16, c == 'X');
	case 'p':
		return put_uint(sp, "0x", (u64)(uintptr_t)va_arg(*ap, void *), 16, false);
	case 'c':
		ch = (char)va_arg(*ap, int);
		return put_field(sp, NULL, &ch, 1);
	case 's':
		s = va_arg(*ap, const char *);
		s = s ? s : "(null)";
		return put_field(sp, NULL, s, (unsigned int)strlen(s));
	case '%':
		console_putc('%');
		return 1;
	default:
		console_putc('%');
		console_putc(c);
		return 2;
	}
}

int tvprintf(const char *fmt, va_list ap)
{
	va_list aq;
	struct spec sp;
	int n = 0;
	int lng;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			console_putc(*fmt++);
			n++;
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp);
		/* l, ll and z are all 64-bit on arm64 (LP64) */
		for (lng = 0; *fmt == 'l' || *fmt == 'z'; fmt++) {
			lng = 1;
		}
		if (!*fmt) {
			break;
		}
		n += put_conv(*fmt++, &sp, lng, &aq);
	}
	va_end(aq);
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
