/*
 * Test host: test registry, dispatch and the result markers (see test.h).
 */
#include "lib.h"
#include "test.h"

extern const struct testcase __testcases_start[], __testcases_end[];

static const char *current;
static bool failed;

const char *test_current(void)
{
	return current;
}

bool test_has_failed(void)
{
	return failed;
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	failed = true;
	tprintf("TEST-FAIL: %s: %s:%d: ", current ? current : "(none)", file, line);
	va_start(ap, fmt);
	tvprintf(fmt, ap);
	va_end(ap);
	tprintf("\n");
}

static const struct testcase *test_find(const char *name)
{
	for (const struct testcase *t = __testcases_start; t < __testcases_end; t++) {
		if (!strcmp(t->name, name)) {
			return t;
		}
	}
	return NULL;
}

static void test_list(void)
{
	for (const struct testcase *t = __testcases_start; t < __testcases_end; t++) {
		tprintf("TEST-LIST: %s\n", t->name);
	}
}

static void test_run(const struct testcase *t)
{
	current = t->name;
	failed = false;
	tprintf("TEST-START: %s\n", t->name);
	t->fn();
	if (!failed) {
		tprintf("TEST-PASS: %s\n", t->name);
	}
	tprintf("TEST-END: %s\n", t->name);
	current = NULL;
}

void test_dispatch(const char *name)
{
	const struct testcase *t;

	if (!strcmp(name, "list")) {
		test_list();
		return;
	}
	t = test_find(name);
	if (!t) {
		tprintf("TEST-FAIL: %s: no such test; the test host has:\n", name);
		test_list();
		return;
	}
	test_run(t);
}
