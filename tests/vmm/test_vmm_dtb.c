/*
 * Unit tests for vmm/dtb.c: the devicetree moat-vmm gives a guest, read back with libfdt and checked
 * node by node against what Linux needs (and QEMU virt has); --dtb adoption; determinism (a protected
 * VM's measurement covers the DTB). Host-native under ASan + UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

#define BUF_SIZE (64 * 1024)

static void *build(const struct vmm_dtb_params *p)
{
	void *buf = calloc(1, BUF_SIZE);

	assert_int_equal(vmm_dtb_build(buf, BUF_SIZE, p), 0);
	assert_int_equal(fdt_check_full(buf, fdt_totalsize(buf)), 0);
	return buf;
}

static int node(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	if (off < 0) {
		fail_msg("no node %s: %s", path, fdt_strerror(off));
	}
	return off;
}

/* The property's bytes; its length must be len (or any, with len < 0). */
static const void *prop(const void *fdt, const char *path, const char *name, int len)
{
	int got;
	const void *v = fdt_getprop(fdt, node(fdt, path), name, &got);

	if (v == NULL) {
		fail_msg("%s has no %s", path, name);
	}
	if (len >= 0 && got != len) {
		fail_msg("%s %s: %d bytes, want %d", path, name, got, len);
	}
	return v;
}

static uint32_t cell(const void *fdt, const char *path, const char *name, int i)
{
	return fdt32_to_cpu(((const fdt32_t *)prop(fdt, path, name, -1))[i]);
}

/* 64-bit values in a property are only 4-byte aligned in the blob. */
static uint64_t u64_at(const void *v, int i)
{
	fdt64_t x;

	memcpy(&x, (const char *)v + 8 * i, sizeof(x));
	return fdt64_to_cpu(x);
}

static void assert_strings(const void *fdt, const char *path, const char *name, const char *want, int len)
{
	assert_memory_equal(prop(fdt, path, name, len), want, (size_t)len);
}

static void test_root_memory_chosen(void **state)
{
	struct vmm_dtb_params p = { .mem_size = 256 * VMM_MIB, .cpus = 1, .cmdline = "console=ttyAMA0 earlycon" };
	void *fdt = build(&p);

	assert_string_equal(prop(fdt, "/", "compatible", -1), "linux,dummy-virt");
	assert_int_equal(cell(fdt, "/", "#address-cells", 0), 2);
	assert_int_equal(cell(fdt, "/", "#size-cells", 0), 2);
	assert_string_equal(prop(fdt, "/memory@40000000", "device_type", -1), "memory");
	assert_int_equal(cell(fdt, "/memory@40000000", "reg", 0), 0);
	assert_int_equal(cell(fdt, "/memory@40000000", "reg", 1), 0x40000000);
	assert_int_equal(cell(fdt, "/memory@40000000", "reg", 2), 0);
	assert_int_equal(cell(fdt, "/memory@40000000", "reg", 3), 256 * VMM_MIB);
	assert_string_equal(prop(fdt, "/chosen", "bootargs", -1), "console=ttyAMA0 earlycon");
	assert_string_equal(prop(fdt, "/chosen", "stdout-path", -1), "/pl011@9000000");
	assert_string_equal(prop(fdt, "/aliases", "serial0", -1), "/pl011@9000000");
	/* no initrd, no seeds (deterministic for the measurement) */
	assert_null(fdt_getprop(fdt, node(fdt, "/chosen"), "linux,initrd-start", NULL));
	assert_null(fdt_getprop(fdt, node(fdt, "/chosen"), "kaslr-seed", NULL));
	assert_null(fdt_getprop(fdt, node(fdt, "/chosen"), "rng-seed", NULL));
	free(fdt);
}

/* 5 GiB of RAM: the size needs both cells. */
static void test_memory_above_4g(void **state)
{
	struct vmm_dtb_params p = { .mem_size = 5 * VMM_GIB, .cpus = 1 };
	void *fdt = build(&p);

	assert_int_equal(cell(fdt, "/memory@40000000", "reg", 2), 1);
	assert_int_equal(cell(fdt, "/memory@40000000", "reg", 3), 0x40000000);
	assert_string_equal(prop(fdt, "/chosen", "bootargs", -1), "");
	free(fdt);
}

static void test_cpus_psci(void **state)
{
	struct vmm_dtb_params p = { .mem_size = 64 * VMM_MIB, .cpus = 3 };
	void *fdt = build(&p);
	char path[32];
	int n = 0, off;

	assert_int_equal(cell(fdt, "/cpus", "#address-cells", 0), 1);
	assert_int_equal(cell(fdt, "/cpus", "#size-cells", 0), 0);
	for (unsigned int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/cpus/cpu@%u", i);
		assert_string_equal(prop(fdt, path, "device_type", -1), "cpu");
		assert_int_equal(cell(fdt, path, "reg", 0), i); /* MPIDR Aff0, as the core's VMPIDR_EL2 */
		assert_string_equal(prop(fdt, path, "enable-method", -1), "psci");
	}
	fdt_for_each_subnode(off, fdt, node(fdt, "/cpus")) {
		n++;
	}
	assert_int_equal(n, 3);
	assert_strings(fdt, "/psci", "compatible", "arm,psci-1.0\0arm,psci-0.2", 26);
	assert_string_equal(prop(fdt, "/psci", "method", -1), "hvc");
	free(fdt);
}

static void test_gic_timer_uart(void **state)
{
	struct vmm_dtb_params p = { .mem_size = 64 * VMM_MIB, .cpus = 4 };
	void *fdt = build(&p);
	uint32_t gic, clk;
	static const uint32_t timer[12] = { 1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4 };
	static const uint64_t gic_reg[4] = { 0x08000000, 0x10000, 0x080a0000, 4 * 0x20000 };

	assert_string_equal(prop(fdt, "/intc@8000000", "compatible", -1), "arm,gic-v3");
	assert_int_equal(cell(fdt, "/intc@8000000", "#interrupt-cells", 0), 3);
	prop(fdt, "/intc@8000000", "interrupt-controller", 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(u64_at(prop(fdt, "/intc@8000000", "reg", 32), i), gic_reg[i]);
	}
	gic = cell(fdt, "/intc@8000000", "phandle", 0);
	assert_int_equal(cell(fdt, "/", "interrupt-parent", 0), gic);

	assert_strings(fdt, "/timer", "compatible", "arm,armv8-timer\0arm,armv7-timer", 32);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(cell(fdt, "/timer", "interrupts", i), timer[i]);
	}
	prop(fdt, "/timer", "always-on", 0);

	assert_strings(fdt, "/pl011@9000000", "compatible", "arm,pl011\0arm,primecell", 24);
	assert_int_equal(cell(fdt, "/pl011@9000000", "reg", 1), 0x09000000);
	assert_int_equal(cell(fdt, "/pl011@9000000", "reg", 3), 0x1000);
	assert_int_equal(cell(fdt, "/pl011@9000000", "interrupts", 0), 0); /* SPI */
	assert_int_equal(cell(fdt, "/pl011@9000000", "interrupts", 1), 1); /* 1 = INTID 33 */
	assert_int_equal(cell(fdt, "/pl011@9000000", "interrupts", 2), 4); /* level-high */
	assert_strings(fdt, "/pl011@9000000", "clock-names", "uartclk\0apb_pclk", 17);
	clk = cell(fdt, "/apb-pclk", "phandle", 0);
	assert_int_not_equal(clk, gic);
	assert_int_equal(cell(fdt, "/pl011@9000000", "clocks", 0), clk);
	assert_int_equal(cell(fdt, "/pl011@9000000", "clocks", 1), clk);
	assert_string_equal(prop(fdt, "/apb-pclk", "compatible", -1), "fixed-clock");
	assert_int_equal(cell(fdt, "/apb-pclk", "#clock-cells", 0), 0);
	assert_int_equal(cell(fdt, "/apb-pclk", "clock-frequency", 0), 24000000);
	/* stdout-path resolves */
	assert_int_equal(fdt_path_offset(fdt, prop(fdt, "/chosen", "stdout-path", -1)), node(fdt, "/pl011@9000000"));
	free(fdt);
}

/* The initrd properties exist at build time and are set in place after the layout: same size. */
static void test_initrd_in_place(void **state)
{
	struct vmm_dtb_params p = { .mem_size = 64 * VMM_MIB, .cpus = 1, .has_initrd = true };
	void *fdt = build(&p);
	uint32_t size = fdt_totalsize(fdt);

	assert_int_equal(vmm_dtb_set_initrd(fdt, 0x43000000, 0x43123456), 0);
	assert_int_equal(fdt_totalsize(fdt), size);
	assert_int_equal(u64_at(prop(fdt, "/chosen", "linux,initrd-start", 8), 0), 0x43000000);
	assert_int_equal(u64_at(prop(fdt, "/chosen", "linux,initrd-end", 8), 0), 0x43123456);
	free(fdt);

	p.has_initrd = false;
	fdt = build(&p);
	assert_int_equal(vmm_dtb_set_initrd(fdt, 1, 2), -FDT_ERR_NOTFOUND);
	free(fdt);
}

/* Same parameters, same bytes: nothing random or time-dependent goes into a measured DTB. */
static void test_deterministic(void **state)
{
	struct vmm_dtb_params p = { .mem_size = 128 * VMM_MIB, .cpus = 2, .cmdline = "x", .has_initrd = true };
	void *a = build(&p), *b = build(&p);

	assert_int_equal(fdt_totalsize(a), fdt_totalsize(b));
	assert_memory_equal(a, b, fdt_totalsize(a));
	free(a);
	free(b);
}

static void test_too_small_buffer(void **state)
{
	struct vmm_dtb_params p = { .mem_size = 64 * VMM_MIB, .cpus = 8 };
	char buf[256];

	assert_int_equal(vmm_dtb_build(buf, sizeof(buf), &p), -FDT_ERR_NOSPACE);
}

/* --dtb: the user's tree is kept, /chosen gets bootargs and the initrd; a tree without /chosen gets one. */
static void test_adopt(void **state)
{
	struct vmm_dtb_params user_p = { .mem_size = 64 * VMM_MIB, .cpus = 2, .cmdline = "from the file" };
	struct vmm_dtb_params p = { .cmdline = "from --cmdline", .has_initrd = true };
	void *user = build(&user_p), *out = calloc(1, BUF_SIZE), *bare = calloc(1, 4096);

	assert_int_equal(vmm_dtb_adopt(user, fdt_totalsize(user), out, BUF_SIZE, &p), 0);
	assert_string_equal(prop(out, "/chosen", "bootargs", -1), "from --cmdline");
	assert_int_equal(u64_at(prop(out, "/chosen", "linux,initrd-start", 8), 0), 0);
	assert_int_equal(vmm_dtb_set_initrd(out, 0x44000000, 0x44001000), 0);
	assert_int_equal(cell(out, "/cpus/cpu@1", "reg", 0), 1); /* the user's nodes are kept */
	assert_int_equal(fdt_totalsize(out) <= BUF_SIZE, 1);

	/* no --cmdline: the file's bootargs stay */
	p.cmdline = NULL;
	p.has_initrd = false;
	assert_int_equal(vmm_dtb_adopt(user, fdt_totalsize(user), out, BUF_SIZE, &p), 0);
	assert_string_equal(prop(out, "/chosen", "bootargs", -1), "from the file");

	/* a tree with no /chosen */
	assert_int_equal(fdt_create_empty_tree(bare, 4096), 0);
	p.cmdline = "c";
	assert_int_equal(vmm_dtb_adopt(bare, 4096, out, BUF_SIZE, &p), 0);
	assert_string_equal(prop(out, "/chosen", "bootargs", -1), "c");
	free(user);
	free(out);
	free(bare);
}

static void test_adopt_rejects_garbage(void **state)
{
	struct vmm_dtb_params user_p = { .mem_size = 64 * VMM_MIB, .cpus = 1 };
	struct vmm_dtb_params p = { 0 };
	void *user = build(&user_p), *out = calloc(1, BUF_SIZE);
	char junk[64] = "this is not a devicetree";

	assert_true(vmm_dtb_adopt(junk, sizeof(junk), out, BUF_SIZE, &p) < 0);
	/* a truncated file: the header says more bytes than were read */
	assert_true(vmm_dtb_adopt(user, fdt_totalsize(user) - 8, out, BUF_SIZE, &p) < 0);
	free(user);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_memory_chosen), cmocka_unit_test(test_memory_above_4g),
		cmocka_unit_test(test_cpus_psci),	   cmocka_unit_test(test_gic_timer_uart),
		cmocka_unit_test(test_initrd_in_place),	   cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_too_small_buffer),   cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_adopt_rejects_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
