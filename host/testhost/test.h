/*
 * Test host: the test framework.
 *
 * TEST(name) { ... } defines a test and registers it in the .testcases
 * section; the DTB's bootargs token "test=NAME" picks the one to run. The
 * UART markers are a stable interface for tests/integration:
 *
 *   TEST-START: NAME
 *   TEST-FAIL: NAME: <file>:<line>: <reason>     (one per failed check)
 *   TEST-PASS: NAME                              (only if no check failed)
 *   TEST-END: NAME
 *
 * CHECK() and CHECK_EQ() report a failure and let the test carry on; both
 * evaluate to true when the check held, so a test can stop early on a
 * failure that makes the rest meaningless.
 */
#ifndef TESTHOST_TEST_H
#define TESTHOST_TEST_H

#include "probe.h"
#include "sysreg.h"
#include "testhost.h"

struct testcase {
	const char *name;
	void (*fn)(void);
};

#define TEST(tname)                                                                          \
	static void test_fn_##tname(void);                                                   \
	static const struct testcase testcase_##tname                                        \
		__attribute__((used, section(".testcases"), aligned(8))) = { #tname, test_fn_##tname }; \
	static void test_fn_##tname(void)

void test_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *test_current(void);
bool test_has_failed(void);
/* Run the test named by bootargs (or the "list" pseudo-test). */
void test_dispatch(const char *name);

#define CHECK(cond, fmt, ...)                                                                         \
	({                                                                                            \
		bool __ok = !!(cond);                                                                 \
		if (!__ok) {                                                                          \
			test_fail_at(__FILE__, __LINE__, "`%s` is false: " fmt, #cond, ##__VA_ARGS__); \
		}                                                                                     \
		__ok;                                                                                 \
	})

#define CHECK_EQ(actual, expected)                                                                      \
	({                                                                                              \
		u64 __a = (u64)(actual), __e = (u64)(expected);                                         \
		bool __ok = __a == __e;                                                                 \
		if (!__ok) {                                                                            \
			test_fail_at(__FILE__, __LINE__, "%s is 0x%lx, expected %s = 0x%lx", #actual, __a, \
				     #expected, __e);                                                   \
		}                                                                                       \
		__ok;                                                                                   \
	})

#endif
