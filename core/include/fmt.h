/*
 * printf-style formatting into a buffer, for the core's log and the test
 * images. Supports %s %c %d %i %u %x %X %p %%, the l/ll/z length modifiers,
 * a field width and the 0 and - flags. Always NUL-terminates; returns the
 * number of characters written (truncated output is cut, never overflowed).
 */
#ifndef MOAT_FMT_H
#define MOAT_FMT_H

#include <stdarg.h>

#include "types.h"

int fmt_vformat(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
