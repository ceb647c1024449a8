/*
 * A small, bounded printf formatter (see fmt.h). Stateless and reentrant.
 * Lock: none needed (the output buffer is the caller's).
 */
#include "fmt.h"

#include "lib.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size) {
		o->buf[o->len++] = c;
	}
}

static void put_padded(struct out *o, const char *s, size_t n, unsigned int width, bool left, char pad)
{
	size_t fill = width > n ? width - n : 0;

	if (!left) {
		while (fill--) {
			put(o, pad);
		}
	}
	for (size_t i = 0; i < n; i++) {
		put(o, s[i]);
	}
	if (left) {
		while (fill--) {
			put(o, ' ');
		}
	}
}

static void put_number(struct out *o, u64 v, bool negative, unsigned int base, bool upper, unsigned int width,
		       bool left, char pad)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	if (negative) {
		if (pad == '0' && width) {
			put(o, '-');
			width--;
		} else {
			tmp[sizeof(tmp) - 1 - n++] = '-';
		}
	}
	put_padded(o, &tmp[sizeof(tmp) - n], n, width, left, pad);
}

static u64 fetch_unsigned(va_list *ap, int longness)
{
	if (longness >= 1) {
		return va_arg(*ap, unsigned long);
	}
	return va_arg(*ap, unsigned int);
}

static s64 fetch_signed(va_list *ap, int longness)
{
	if (longness >= 1) {
		return va_arg(*ap, long);
	}
	return va_arg(*ap, int);
}

static void format_one(struct out *o, char conv, int longness, unsigned int width, bool left, char pad, va_list *ap)
{
	switch (conv) {
	case 's': {
		const char *s = va_arg(*ap, const char *);

		if (!s) {
			s = "(null)";
		}
		put_padded(o, s, strnlen(s, 4096), width, left, ' ');
		break;
	}
	case 'c': {
		char c = (char)va_arg(*ap, int);

		put_padded(o, &c, 1, width, left, ' ');
		break;
	}
	case 'd':
	case 'i': {
		s64 v = fetch_signed(ap, longness);

		put_number(o, v < 0 ? (u64)0 - (u64)v : (u64)v, v < 0, 10, false, width, left, pad);
		break;
	}
	case 'u':
		put_number(o, fetch_unsigned(ap, longness), false, 10, false, width, left, pad);
		break;
	case 'x':
	case 'X':
		put_number(o, fetch_unsigned(ap, longness), false, 16, conv == 'X', width, left, pad);
		break;
	case 'p':
		put(o, '0');
		put(o, 'x');
		put_number(o, (u64)(uintptr_t)va_arg(*ap, void *), false, 16, false, width, left, pad);
		break;
	default:
		put(o, '%');
		put(o, conv);
		break;
	}
}

int fmt_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		unsigned int width = 0;
		int longness = 0;
		bool left = false;
		char pad = ' ';

		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;
		if (*fmt == '%') {
			put(&o, *fmt++);
			continue;
		}
		for (; *fmt == '-' || *fmt == '0'; fmt++) {
			left |= *fmt == '-';
			pad = *fmt == '0' ? '0' : pad;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++) {
			width = width * 10 + (unsigned int)(*fmt - '0');
		}
		for (; *fmt == 'l' || *fmt == 'z'; fmt++) {
			longness++;
		}
		if (!*fmt) {
			break;
		}
		format_one(&o, *fmt++, longness, width, left, left ? ' ' : pad, &args);
	}
	va_end(args);
	if (size) {
		buf[o.len] = '\0';
	}
	return (int)o.len;
}

int fmt_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
