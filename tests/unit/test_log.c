/*
 * Unit tests for the core's log (core/log.c) against a UART that never
 * drains: the host owns the PL011 and may disable it or stall it with flow
 * control, and the core must neither hang nor lose count.
 *
 * QEMU's PL011 never sets TXFF, so the integration suite cannot show this:
 * the fake arch's console stands in, with a switch that keeps its FIFO full
 * and a counter of polls. The fake counter advances by one per read, so the
 * bound on waiting shows up as a bound on polls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fake_arch.h"
#include "log.h"

/* CONSOLE_WAIT_US in core/log.c at the fake arch's 62.5 MHz counter, with slack for the loop's own reads. */
#define MAX_POLLS_PER_WAIT (62500000ULL / 1000000 * 2000 + 16)

static int setup(void **state)
{
	fake_reset();
	return 0;
}

static unsigned int count_lines(void)
{
	unsigned int n = 0;

	for (size_t i = 0; i < fake.console_len; i++) {
		n += fake.console[i] == '\n';
	}
	return n;
}

static void test_healthy_console_writes_whole_lines(void **state)
{
	u64 before = log_dropped_bytes();

	log_info("hello %u", 42u);
	assert_string_equal(fake.console, "moat: cpu0: hello 42\r\n");
	assert_int_equal(log_dropped_bytes(), before);
}

static void test_stuck_console_is_bounded_and_counted(void **state)
{
	u64 before = log_dropped_bytes(), polls;
	char expect[64];

	fake.console_full = true;
	log_info("first line while the UART is stuck");
	/* One bounded wait, then the line is dropped: nothing written, every byte counted. */
	polls = fake.console_polls;
	assert_true(polls > 1);
	assert_true(polls <= MAX_POLLS_PER_WAIT);
	assert_int_equal(fake.console_len, 0);
	assert_int_equal(log_dropped_bytes() - before,
			 strlen("moat: cpu0: first line while the UART is stuck\n"));

	/* Still stuck: the next lines cost one poll each, no second wait. */
	for (unsigned int i = 0; i < 100; i++) {
		log_warn("line %u", i);
	}
	assert_int_equal(fake.console_polls - polls, 100);
	assert_int_equal(fake.console_len, 0);

	/* The UART moves again: a note says how much was lost, then the line itself. */
	fake.console_full = false;
	snprintf(expect, sizeof(expect), "console busy: %lu bytes of log dropped",
		 (unsigned long)(log_dropped_bytes() - before));
	log_info("back");
	assert_non_null(strstr(fake.console, expect));
	assert_non_null(strstr(fake.console, "moat: cpu0: back\r\n"));
	assert_int_equal(count_lines(), 2);

	/* Recovered: the next line waits normally again and no note repeats. */
	fake_reset();
	log_info("normal");
	assert_string_equal(fake.console, "moat: cpu0: normal\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_healthy_console_writes_whole_lines, setup),
		cmocka_unit_test_setup(test_stuck_console_is_bounded_and_counted, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
