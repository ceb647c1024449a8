/*
 * Unit tests for core/fmt.c: the core's bounded printf formatter.
 *
 * Covers every conversion the core uses (%s %c %d %i %u %x %X %p %%, the l,
 * ll and z length modifiers, field width with the 0 and - flags) against
 * fixed expected strings and against the C library's snprintf where the two
 * must agree; and truncation: for every buffer size, output is a NUL-
 * terminated prefix of the full text, the return value is what was written,
 * and nothing is written past the buffer (canary bytes after it, and heap
 * buffers of exactly that size so ASan sees any overflow). Size 1 gives "",
 * size 0 writes nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

#define expect_fmt(want, ...) expect_fmt_at(__FILE__, __LINE__, (want), __VA_ARGS__)

/* Format into a roomy buffer; compare text and return value. */
static void __attribute__((format(printf, 4, 5)))
expect_fmt_at(const char *file, int line, const char *want, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	memset(buf, 0x7f, sizeof(buf));
	va_start(ap, fmt);
	n = fmt_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, want) != 0) {
		fail_msg("%s:%d: format \"%s\" gave \"%s\", expected \"%s\"", file, line, fmt, buf, want);
	}
	_assert_int_equal(n, strlen(want), file, line);
}

/*
 * For formats the compiler's printf checker rejects on purpose (malformed, or
 * flag combinations it warns about): the format goes through a variable.
 */
#define expect_fmt_unchecked(want, fmt, arg) expect_fmt_unchecked_at(__FILE__, __LINE__, (want), (fmt), (arg))

static void expect_fmt_unchecked_at(const char *file, int line, const char *want, const char *fmt, unsigned int arg)
{
	char buf[64];
	int n;

	memset(buf, 0x7f, sizeof(buf));
	n = fmt_format(buf, sizeof(buf), fmt, arg);
	if (strcmp(buf, want) != 0) {
		fail_msg("%s:%d: format \"%s\" gave \"%s\", expected \"%s\"", file, line, fmt, buf, want);
	}
	_assert_int_equal(n, strlen(want), file, line);
}

#define expect_like_libc(...) expect_like_libc_at(__FILE__, __LINE__, __VA_ARGS__)

static void __attribute__((format(printf, 3, 4))) expect_like_libc_at(const char *file, int line, const char *fmt, ...)
{
	char ours[256], libc[256];
	va_list ap, ap2;
	int n;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = fmt_vformat(ours, sizeof(ours), fmt, ap);
	vsnprintf(libc, sizeof(libc), fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (strcmp(ours, libc) != 0) {
		fail_msg("%s:%d: format \"%s\" gave \"%s\", libc \"%s\"", file, line, fmt, ours, libc);
	}
	_assert_int_equal(n, strlen(libc), file, line);
}

static void test_strings_and_chars(void **state)
{
	expect_fmt("", "%s", "");
	expect_fmt("hello", "%s", "hello");
	expect_fmt("a-b-c", "%s-%s-%s", "a", "b", "c");
	{
		const char *volatile null_str = NULL; /* hidden from the compiler's null-%s check */

		expect_fmt("(null)", "%s", null_str);
	}
	expect_fmt("x", "%c", 'x');
	expect_fmt("[A]", "[%c]", 65);
	expect_fmt("ab      |", "%-8s|", "ab");
	expect_fmt("      ab|", "%8s|", "ab");
	expect_fmt("abcdefghij|", "%-8s|", "abcdefghij"); /* width is a minimum */
	expect_fmt("    z", "%5c", 'z');
	expect_fmt("z    |", "%-5c|", 'z');
	expect_fmt("plain text, no conversions", "plain text, no conversions");
	expect_like_libc("%s=%s;", "key", "value");
	expect_like_libc("%-10s|%10s|", "left", "right");
}

static void test_signed(void **state)
{
	expect_fmt("0", "%d", 0);
	expect_fmt("42", "%d", 42);
	expect_fmt("-42", "%d", -42);
	expect_fmt("-7", "%i", -7);
	expect_fmt("2147483647", "%d", INT_MAX);
	expect_fmt("-2147483648", "%d", INT_MIN);
	expect_fmt("-2147483648", "%ld", (long)INT_MIN);
	expect_fmt("-9223372036854775808", "%ld", LONG_MIN);
	expect_fmt("9223372036854775807", "%ld", LONG_MAX);
	expect_fmt("-9223372036854775808", "%lld", LLONG_MIN);
	expect_fmt("   42", "%5d", 42);
	expect_fmt("  -42", "%5d", -42);
	expect_fmt("42   |", "%-5d|", 42);
	expect_fmt("-42  |", "%-5d|", -42);
	expect_fmt("00042", "%05d", 42);
	expect_fmt("-0042", "%05d", -42);
	expect_fmt("-42", "%02d", -42);
	expect_fmt("123456", "%3d", 123456);
	/* An int argument is read as int: no sign-extension surprises. */
	expect_fmt("-1 4294967295", "%d %u", -1, (unsigned int)-1);
	expect_like_libc("%d|%5d|%-5d|%05d|%ld", -123, 7, -7, -7, -1234567890123L);
	expect_like_libc("%i %li", INT_MIN, LONG_MIN);
}

static void test_unsigned_and_hex(void **state)
{
	expect_fmt("0", "%u", 0U);
	expect_fmt("4294967295", "%u", UINT_MAX);
	expect_fmt("18446744073709551615", "%lu", ULONG_MAX);
	expect_fmt("18446744073709551615", "%llu", ULLONG_MAX);
	expect_fmt("123", "%zu", (size_t)123);
	expect_fmt("0", "%x", 0U);
	expect_fmt("deadbeef", "%x", 0xdeadbeefU);
	expect_fmt("DEADBEEF", "%X", 0xdeadbeefU);
	expect_fmt("ffffffffffffffff", "%lx", ~0UL);
	expect_fmt("40000000", "%lx", 0x40000000UL);
	expect_fmt("0x41005000", "0x%lx", 0x41005000UL);
	expect_fmt("0000000000001234", "%016lx", 0x1234UL);
	expect_fmt("ffff800010123456", "%016lx", 0xffff800010123456UL);
	expect_fmt("    beef", "%8x", 0xbeefU);
	expect_fmt("beef    |", "%-8x|", 0xbeefU);
	expect_fmt("000000ff", "%08x", 0xffU);
	expect_fmt_unchecked("ff      |", "%-08x|", 0xffU); /* '-' wins over '0' */
	expect_fmt("cafe", "%llx", 0xcafeULL);
	expect_like_libc("%u %x %X %lx %016lx %8x %-8x|", 3000000000U, 0xabcU, 0xabcU, 0x123456789abcUL, 0xfUL, 0x1U,
			 0x2U);
}

static void test_pointer_and_percent(void **state)
{
	expect_fmt("0x1234", "%p", (void *)0x1234);
	expect_fmt("0xffff800010123456", "%p", (void *)0xffff800010123456UL);
	expect_fmt("0x0", "%p", NULL);
	expect_fmt("%", "%%");
	expect_fmt("100%", "%d%%", 100);
	expect_fmt("%d", "%%d");
	expect_fmt("a%%b", "a%%%%b");
	expect_like_libc("%p", (void *)0x7fff1234);
	expect_like_libc("%d%% of %s", 50, "pages");
}

static void test_mixed_line(void **state)
{
	/* The shape of the core's abort log line. */
	expect_fmt("moat: cpu0: host read of PA 0x41005008 (page 0x41005000, owner core) at host PC 0xffff800010123456",
		   "moat: cpu%u: host %s of PA 0x%lx (page 0x%lx, owner %s%s) at host PC 0x%lx", 0U, "read", 0x41005008UL,
		   0x41005000UL, "core", "", 0xffff800010123456UL);
	expect_fmt("vm7", "vm%u", 7U);
	expect_fmt("a1b-2c", "a%db%dc", 1, -2);
}

/* Not supported or malformed: no crash, nothing read past the format string. */
static void test_odd_formats(void **state)
{
	expect_fmt_unchecked("%q", "%q", 0);
	expect_fmt_unchecked("x", "x%", 0);
	expect_fmt_unchecked("x", "x%5", 0);
	expect_fmt_unchecked("x", "x%l", 0);
	expect_fmt_unchecked("x", "x%-0", 0);
}

/* Truncated output: a prefix, always terminated, never past the buffer, return value = bytes written. */
static void check_truncation(const char *full, const char *fmt, ...)
{
	size_t len = strlen(full);

	for (size_t size = 0; size <= len + 3; size++) {
		unsigned char area[300];
		char *heap = NULL;
		va_list ap;
		int n;

		assert_true(len + 16 < sizeof(area));
		memset(area, 0xcc, sizeof(area));
		va_start(ap, fmt);
		n = fmt_vformat((char *)area, size, fmt, ap);
		va_end(ap);
		for (size_t i = size; i < sizeof(area); i++) {
			if (area[i] != 0xcc) {
				fail_msg("format \"%s\", size %zu: byte %zu after the buffer was written", fmt, size, i);
			}
		}
		if (size == 0) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_int_equal(n, MIN(len, size - 1));
		assert_int_equal(area[n], '\0');
		assert_memory_equal(area, full, (size_t)n);

		/* The same into a heap block of exactly `size` bytes, under ASan. */
		heap = malloc(size);
		assert_non_null(heap);
		va_start(ap, fmt);
		n = fmt_vformat(heap, size, fmt, ap);
		va_end(ap);
		assert_int_equal(n, MIN(len, size - 1));
		assert_int_equal(heap[n], '\0');
		assert_memory_equal(heap, full, (size_t)n);
		free(heap);
	}
}

static void test_truncation(void **state)
{
	check_truncation("hello, world", "hello, %s", "world");
	check_truncation("-9223372036854775808|", "%ld|", LONG_MIN);
	check_truncation("0000000000001234", "%016lx", 0x1234UL);
	check_truncation("ab      |", "%-8s|", "ab");
	check_truncation("   42", "%5d", 42);
	check_truncation("-0042", "%05d", -42);
	check_truncation("0xdeadbeef", "%p", (void *)0xdeadbeefUL);
	check_truncation("100%", "%d%%", 100);
	check_truncation("c", "%c", 'c');
	check_truncation("", "%s", "");
	check_truncation("moat: cpu3: warning: page 0x40000000 owner vm12",
			 "moat: cpu%u: warning: page 0x%lx owner %s", 3U, 0x40000000UL, "vm12");
}

static void test_size_one_and_zero(void **state)
{
	char buf[4] = { 'x', 'y', 'z', 'w' };

	assert_int_equal(fmt_format(buf, 1, "%s", "anything"), 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'y');
	assert_int_equal(fmt_format(buf, 1, "%d", 12345), 0);
	assert_string_equal(buf, "");
	buf[0] = 'q';
	assert_int_equal(fmt_format(buf, 0, "%s", "anything"), 0);
	assert_int_equal(buf[0], 'q');
	/* size 0 with a NULL buffer is allowed (nothing is written). */
	assert_int_equal(fmt_format(NULL, 0, "%d", 1), 0);
}

/* A very long %s argument is cut, not read or written past the limits. */
static void test_long_argument(void **state)
{
	char *big = malloc(10001);
	char out[64];

	assert_non_null(big);
	memset(big, 'a', 10000);
	big[10000] = '\0';
	assert_int_equal(fmt_format(out, sizeof(out), "[%s]", big), 63);
	assert_int_equal(out[0], '[');
	assert_int_equal(out[62], 'a');
	assert_int_equal(out[63], '\0');
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_and_chars),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_unsigned_and_hex),
		cmocka_unit_test(test_pointer_and_percent),
		cmocka_unit_test(test_mixed_line),
		cmocka_unit_test(test_odd_formats),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_size_one_and_zero),
		cmocka_unit_test(test_long_argument),
	};

	return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
