/*
 * Test host: C entry point and panic.
 *
 * head.S calls testhost_main() with the boot CPU's x0. We find the DTB, pick
 * the test named by "test=NAME" in /chosen/bootargs, run it and power the
 * machine off through PSCI, which ends QEMU (-no-reboot).
 */
#include "lib.h"
#include "sysreg.h"
#include "test.h"

#define TEST_NAME_MAX 64

void panic(const char *fmt, ...)
{
	static bool in_panic;
	const char *t = test_current();
	va_list ap;

	/* A fault while panicking (no PSCI conduit, say) must not recurse. */
	if (in_panic) {
		for (;;) {
			__asm__ volatile("wfi");
		}
	}
	in_panic = true;
	tprintf("TESTHOST-PANIC: ");
	va_start(ap, fmt);
	tvprintf(fmt, ap);
	va_end(ap);
	tprintf("\n");
	if (t) {
		tprintf("TEST-FAIL: %s: test host panicked\n", t);
	}
	psci_system_off();
}

static void print_boot_info(u64 x0)
{
	tprintf("testhost: EL%u, DTB at 0x%lx (%s, %lu bytes), image 0x%lx-0x%lx\n", current_el(), plat.dtb,
		plat.dtb_from_x0 ? "from x0" : "found by scanning", plat.dtb_size,
		(u64)(uintptr_t)__image_start, (u64)(uintptr_t)__image_end);
	if (!plat.dtb_from_x0) {
		tprintf("testhost: x0 was 0x%lx, not a DTB (standalone boot?)\n", x0);
	}
}

void testhost_main(u64 x0)
{
	char name[TEST_NAME_MAX];
	const char *why;

	if (platform_init(x0, &why)) {
		panic("no usable DTB (x0 = 0x%lx): %s", x0, why);
	}
	print_boot_info(x0);
	if (!bootargs_get(plat.info.bootargs, "test", name, sizeof(name))) {
		memcpy(name, "(none)", sizeof("(none)"));
	}
	test_dispatch(name);
	psci_system_off();
}
