/*
 * Minimal C library for the EL2 core and the bare-metal test images.
 * Byte-wise or naturally aligned accesses only: these run before the MMU is
 * on, when all memory is Device memory and unaligned accesses fault.
 * Lock: none (no state).
 */
#include "lib.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if (IS_ALIGNED((uintptr_t)d | (uintptr_t)s | n, 8)) {
		for (size_t i = 0; i < n; i += 8) {
			*(u64 *)(d + i) = *(const u64 *)(s + i);
		}
		return dst;
	}
	for (size_t i = 0; i < n; i++) {
		d[i] = s[i];
	}
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if (d <= s || d >= s + n) {
		return memcpy(dst, src, n);
	}
	while (n--) {
		d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	u8 *d = dst;

	if (c == 0 && IS_ALIGNED((uintptr_t)d | n, 8)) {
		for (size_t i = 0; i < n; i += 8) {
			*(u64 *)(d + i) = 0;
		}
		return dst;
	}
	for (size_t i = 0; i < n; i++) {
		d[i] = (u8)c;
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i]) {
			return x[i] < y[i] ? -1 : 1;
		}
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n]) {
		n++;
	}
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n]) {
		n++;
	}
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i] || !a[i]) {
			return (u8)a[i] - (u8)b[i];
		}
	}
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, SIZE_MAX);
}
