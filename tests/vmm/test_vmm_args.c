/*
 * Unit tests for vmm/args.c: the command line and size syntax of moat-vmm, with the exact messages a
 * user sees. Host-native under ASan + UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capture.h"
#include "vmm.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

/* Parses argv (NULL-terminated) with stderr and stdout captured; *msg gets stderr. */
static int parse(char **argv, struct vmm_args *a, const char **msg)
{
	static struct capture err, out;
	int argc = 0, r;

	while (argv[argc]) {
		argc++;
	}
	capture_begin(&err, 2);
	capture_begin(&out, 1);
	r = vmm_parse_args(argc, argv, a);
	capture_end(&out);
	*msg = capture_end(&err);
	return r;
}

static void test_size_suffixes(void **state)
{
	uint64_t v;

	assert_true(vmm_parse_size("256M", &v));
	assert_int_equal(v, 256ULL << 20);
	assert_true(vmm_parse_size("1G", &v));
	assert_int_equal(v, 1ULL << 30);
	assert_true(vmm_parse_size("1g", &v));
	assert_int_equal(v, 1ULL << 30);
	assert_true(vmm_parse_size("512KiB", &v));
	assert_int_equal(v, 512ULL << 10);
	assert_true(vmm_parse_size("2MB", &v));
	assert_int_equal(v, 2ULL << 20);
	assert_true(vmm_parse_size("4096B", &v));
	assert_int_equal(v, 4096);
	assert_true(vmm_parse_size("1T", &v));
	assert_int_equal(v, 1ULL << 40);
	/* QEMU's -m convention: a bare number is MiB. */
	assert_true(vmm_parse_size("64", &v));
	assert_int_equal(v, 64ULL << 20);
	/* Hex is bytes. */
	assert_true(vmm_parse_size("0x10000000", &v));
	assert_int_equal(v, 0x10000000ULL);
}

static void test_size_rejects(void **state)
{
	static const char *const bad[] = {
		"",	 "M",	  "0",	   "0M",  "-1M", "1.5G", "256 M", "256MM", "256Mi", "256X",
		"0x",	 "0x10M", "0xg",   "1BB", "1iB", " 1M",	 "1M ",	  "+1M",
		"18446744073709551616", /* 2^64: overflows while reading digits */
		"17179869184G",		/* 2^34 GiB = 2^64 bytes: overflows in the shift */
	};
	uint64_t v = 12345;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vmm_parse_size(bad[i], &v)) {
			fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)v);
		}
	}
	assert_int_equal(v, 12345); /* never written on failure */
}

static void test_defaults(void **state)
{
	char *argv[] = { "moat-vmm", "run", "--kernel", "img", NULL };
	struct vmm_args a;
	const char *msg;

	assert_int_equal(parse(argv, &a, &msg), 0);
	assert_string_equal(msg, "");
	assert_string_equal(a.kernel, "img");
	assert_null(a.initrd);
	assert_null(a.cmdline);
	assert_null(a.dtb);
	assert_null(a.dump_dtb);
	assert_null(a.signature);
	assert_int_equal(a.mem_size, 256ULL << 20);
	assert_int_equal(a.cpus, 1);
	assert_false(a.protected_vm);
	assert_string_equal(a.backend, "moat");
}

static void test_every_option(void **state)
{
	char *argv[] = {
		"moat-vmm",    "run",
		"--kernel",    "Image",
		"--initrd",    "rd.cpio",
		"--cmdline",   "console=ttyAMA0 quiet",
		"--mem",       "1G",
		"--cpus",      "4",
		"--protected", "--dtb",
		"my.dtb",      "--dump-dtb",
		"out.dtb",     "--signature",
		"vm.sig",      NULL,
	};
	struct vmm_args a;
	const char *msg;

	assert_int_equal(parse(argv, &a, &msg), 0);
	assert_string_equal(a.kernel, "Image");
	assert_string_equal(a.initrd, "rd.cpio");
	assert_string_equal(a.cmdline, "console=ttyAMA0 quiet");
	assert_int_equal(a.mem_size, 1ULL << 30);
	assert_int_equal(a.cpus, 4);
	assert_true(a.protected_vm);
	assert_string_equal(a.dtb, "my.dtb");
	assert_string_equal(a.dump_dtb, "out.dtb");
	assert_string_equal(a.signature, "vm.sig");
}

/* --opt=value works too, and the parser starts afresh on every call (getopt keeps global state). */
static void test_equals_form_and_reparse(void **state)
{
	char *argv1[] = { "moat-vmm", "run", "--mem=512M", "--kernel=k1", NULL };
	char *argv2[] = { "moat-vmm", "run", "--kernel", "k2", NULL };
	struct vmm_args a;
	const char *msg;

	assert_int_equal(parse(argv1, &a, &msg), 0);
	assert_int_equal(a.mem_size, 512ULL << 20);
	assert_string_equal(a.kernel, "k1");
	assert_int_equal(parse(argv2, &a, &msg), 0);
	assert_string_equal(a.kernel, "k2");
	assert_int_equal(a.mem_size, 256ULL << 20);
}

static void test_help(void **state)
{
	char *argv1[] = { "moat-vmm", "--help", NULL };
	char *argv2[] = { "moat-vmm", "run", "--kernel", "x", "--help", NULL };
	struct capture out;
	struct vmm_args a;
	const char *text;

	capture_begin(&out, 1);
	assert_int_equal(vmm_parse_args(2, argv1, &a), 1);
	text = capture_end(&out);
	assert_non_null(strstr(text, "usage: moat-vmm run --kernel IMG"));
	assert_non_null(strstr(text, "--protected"));
	assert_non_null(strstr(text, "Exit status: 0 guest SYSTEM_OFF, 3 guest SYSTEM_RESET"));
	capture_begin(&out, 1);
	assert_int_equal(vmm_parse_args(5, argv2, &a), 1);
	assert_non_null(strstr(capture_end(&out), "usage:"));
}

struct bad_case {
	char *argv[10];
	const char *message; /* a substring stderr must hold */
};

static void test_bad_arguments(void **state)
{
	static const struct bad_case cases[] = {
		{ { "moat-vmm", NULL }, "moat-vmm: no command (want: run)" },
		{ { "moat-vmm", "start", NULL }, "moat-vmm: unknown command 'start' (want: run)" },
		{ { "moat-vmm", "run", NULL }, "moat-vmm: --kernel IMG is required" },
		{ { "moat-vmm", "run", "--kernel", NULL }, "moat-vmm: bad option '--kernel'" },
		{ { "moat-vmm", "run", "--kernel", "k", "--frobnicate", NULL }, "moat-vmm: bad option '--frobnicate'" },
		{ { "moat-vmm", "run", "--kernel", "k", "extra", NULL }, "moat-vmm: unexpected argument 'extra'" },
		{ { "moat-vmm", "run", "--kernel", "k", "--mem", "lots", NULL },
		  "moat-vmm: --mem 'lots': want a size such as 256M or 1G, a multiple of 4 KiB" },
		{ { "moat-vmm", "run", "--kernel", "k", "--mem", "4097B", NULL }, "--mem '4097B': want a size" },
		{ { "moat-vmm", "run", "--kernel", "k", "--mem", "2T", NULL },
		  "moat-vmm: --mem '2T': larger than the guest address space" },
		{ { "moat-vmm", "run", "--kernel", "k", "--cpus", "0", NULL },
		  "moat-vmm: --cpus '0': want a number from 1 to 64" },
		{ { "moat-vmm", "run", "--kernel", "k", "--cpus", "65", NULL }, "--cpus '65': want a number" },
		{ { "moat-vmm", "run", "--kernel", "k", "--cpus", "-1", NULL }, "--cpus '-1': want a number" },
		{ { "moat-vmm", "run", "--kernel", "k", "--cpus", "2x", NULL }, "--cpus '2x': want a number" },
		{ { "moat-vmm", "run", "--kernel", "k", "--backend", "xen", NULL },
		  "moat-vmm: --backend 'xen': want moat or kvm" },
		{ { "moat-vmm", "run", "--kernel", "k", "--backend", "kvm", "--signature", "s", NULL },
		  "moat-vmm: --signature is for the moat core (--backend moat); KVM checks none" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmm_args a;
		const char *msg;

		assert_int_equal(parse((char **)cases[i].argv, &a, &msg), -1);
		if (strstr(msg, cases[i].message) == NULL) {
			fail_msg("case %zu: stderr '%s' lacks '%s'", i, msg, cases[i].message);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_suffixes), cmocka_unit_test(test_size_rejects),
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_equals_form_and_reparse), cmocka_unit_test(test_help),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
