/*
 * Unit tests for the lock-held record of core/include/spinlock.h on the fake
 * arch: spin_is_held() answers for the asking CPU only (fake.cpu plays the
 * CPU), a released lock reads all-zero again (so that snapshots of structs
 * holding locks compare equal), and the fake arch's hook sees each
 * acquisition before it happens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_arch.h"
#include "spinlock.h"

static int setup(void **state)
{
	fake_reset();
	return 0;
}

static void test_held_by_this_cpu_only(void **state)
{
	struct spinlock l = { 0 };

	assert_false(spin_is_held(&l));
	fake.cpu = 3;
	spin_lock(&l);
	assert_true(spin_is_held(&l));
	/* Another CPU asking: held, but not by it. */
	fake.cpu = 0;
	assert_false(spin_is_held(&l));
	fake.cpu = 3;
	spin_unlock(&l);
	assert_false(spin_is_held(&l));
	assert_int_equal(l.locked, 0);
	assert_int_equal(l.owner, 0);
}

static u32 *hooked[4];
static unsigned int nr_hooked;

static void record(u32 *word)
{
	if (nr_hooked < 4) {
		hooked[nr_hooked] = word;
	}
	nr_hooked++;
	/* Before the acquisition: nobody holds it yet. */
	assert_int_equal(*word, 0);
}

static void test_hook_sees_each_acquisition(void **state)
{
	struct spinlock a = { 0 }, b = { 0 };

	nr_hooked = 0;
	fake_spin_hook = record;
	spin_lock(&a);
	spin_unlock(&a);
	spin_lock(&b);
	spin_unlock(&b);
	fake_spin_hook = NULL;
	assert_int_equal(nr_hooked, 2);
	assert_ptr_equal(hooked[0], &a.locked);
	assert_ptr_equal(hooked[1], &b.locked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_held_by_this_cpu_only, setup),
		cmocka_unit_test_setup(test_hook_sees_each_acquisition, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
