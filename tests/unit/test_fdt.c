/*
 * Unit tests for core/fdt.c (and parse_u64 in core/parse.c), host-native
 * under ASan + UBSan.
 *
 * Fixtures are real QEMU "virt" device trees (tests/unit/data, regenerated
 * by regen.sh); hand-made trees are built with libfdt's sequential writer or,
 * for deliberately broken structure blocks, byte by byte. Blobs under test
 * live in heap buffers of exactly their size, so any read past the end is an
 * ASan report rather than a silent pass.
 *
 * Two clashes with libfdt shape this file. libfdt.h includes <fdt.h>, which
 * the -Icore/include search path resolves to moat's own fdt.h, so the libfdt
 * subset used here is declared below instead. And libfdt exports its own
 * fdt_check_header: this executable's definition interposes on libfdt's
 * internal call to it, so fdt_check_full comes from a second copy of libfdt
 * loaded with dlmopen() into a link namespace of its own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <moat/errors.h>

#include "fdt.h"
#include "lib.h"

#define DST_SIZE (64 * 1024)

/* libfdt (Debian libfdt-dev, -lfdt): sequential writer and read-only lookups. */
int fdt_create(void *buf, int bufsize);
int fdt_finish_reservemap(void *fdt);
int fdt_begin_node(void *fdt, const char *name);
int fdt_property(void *fdt, const char *name, const void *val, int len);
int fdt_end_node(void *fdt);
int fdt_finish(void *fdt);
int fdt_path_offset(const void *fdt, const char *path);
const void *fdt_getprop(const void *fdt, int nodeoffset, const char *name, int *lenp);
int fdt_first_property_offset(const void *fdt, int nodeoffset);
int fdt_next_property_offset(const void *fdt, int offset);
const void *fdt_getprop_by_offset(const void *fdt, int offset, const char **namep, int *lenp);
#define FDT_ERR_NOTFOUND 1

/* Structure-block tokens and header field offsets, from the DT specification. */
enum { FDT_BEGIN_NODE = 1, FDT_END_NODE = 2, FDT_PROP = 3, FDT_NOP = 4, FDT_END = 9 };
enum { HDR_MAGIC = 0, HDR_TOTAL = 4, HDR_OFF_DT = 8, HDR_OFF_STR = 12, HDR_OFF_RSV = 16,
       HDR_VERSION = 20, HDR_LAST_COMP = 24, HDR_SIZE_STR = 32, HDR_SIZE_DT = 36 };

static int (*libfdt_check_full)(const void *fdt, size_t bufsize);

/* ---------------------------------------------------------------- helpers */

static const struct fixture {
	const char *file;
	uint64_t mem;
	unsigned int cpus;
} fixtures[] = {
	{ "virt-256M-smp1.dtb", 256ULL << 20, 1 },
	{ "virt-1G-smp1.dtb", 1ULL << 30, 1 },
	{ "virt-1G-smp2.dtb", 1ULL << 30, 2 },
	{ "virt-4G-smp4.dtb", 4ULL << 30, 4 },
};

/* Read a fixture into a heap buffer of exactly its size. */
static uint8_t *load(const char *file, size_t *size)
{
	const char *dir = getenv("MOAT_TEST_DATA");
	char path[512];
	uint8_t *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/unit/data", file);
	f = fopen(path, "rb");
	if (!f) {
		fail_msg("cannot open %s (set MOAT_TEST_DATA or run from the repo root)", path);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	assert_true(n > 0);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static uint8_t *dup_blob(const void *src, size_t size)
{
	uint8_t *p = malloc(size);

	assert_non_null(p);
	memcpy(p, src, size);
	return p;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static uint32_t hdr(const void *blob, unsigned int field)
{
	return get32((const uint8_t *)blob + field);
}

static bool has_range(const struct fdt_range *r, unsigned int n, uint64_t base, uint64_t size)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (r[i].base == base && r[i].size == size) {
			return true;
		}
	}
	return false;
}

/* Parse and insist on success, printing the reason otherwise. */
static void parse_ok(const void *blob, size_t size, struct platform_info *pi)
{
	const char *why = NULL;
	int err = fdt_check_header(blob, size, &why);

	if (!err) {
		err = fdt_parse_platform(blob, pi, &why);
	}
	if (err) {
		fail_msg("parse failed: %d (%s)", err, why ? why : "?");
	}
}

/* Parse and expect err with a reason mentioning word. */
static void parse_fails(const void *blob, size_t size, int expect, const char *word)
{
	struct platform_info pi;
	const char *why = NULL;
	int err = fdt_check_header(blob, size, &why);

	if (!err) {
		err = fdt_parse_platform(blob, &pi, &why);
		assert_int_equal(pi.nr_mem, 0); /* cleared on failure */
	}
	assert_int_equal(err, expect);
	assert_non_null(why);
	if (!strstr(why, word)) {
		fail_msg("reason \"%s\" does not mention \"%s\"", why, word);
	}
}

/* ---------------------------------------------------------------- libfdt-built trees */

/* Tree under construction with libfdt's sequential writer. */
#define SW_SIZE 8192

static void sw_u32(void *fdt, const char *name, uint32_t v)
{
	uint8_t be[4];

	put32(be, v);
	assert_int_equal(fdt_property(fdt, name, be, 4), 0);
}

static void sw_string(void *fdt, const char *name, const char *v)
{
	assert_int_equal(fdt_property(fdt, name, v, (int)strlen(v) + 1), 0);
}

static void *sw_start(uint32_t ac, uint32_t sc)
{
	void *fdt = malloc(SW_SIZE);

	assert_non_null(fdt);
	assert_int_equal(fdt_create(fdt, SW_SIZE), 0);
	assert_int_equal(fdt_finish_reservemap(fdt), 0);
	assert_int_equal(fdt_begin_node(fdt, ""), 0);
	if (ac) {
		sw_u32(fdt, "#address-cells", ac);
	}
	if (sc) {
		sw_u32(fdt, "#size-cells", sc);
	}
	return fdt;
}

/* Property of n numbers, each `cells` cells wide. */
static void sw_cells(void *fdt, const char *name, const uint64_t *v, int n, int cells)
{
	uint8_t c[256];
	int i, k = 0;

	assert_true(n * cells <= 64);
	for (i = 0; i < n; i++) {
		if (cells == 2) {
			put32(c + k, (uint32_t)(v[i] >> 32));
			k += 4;
		}
		put32(c + k, (uint32_t)v[i]);
		k += 4;
	}
	assert_int_equal(fdt_property(fdt, name, c, k), 0);
}

static void sw_memory(void *fdt, const char *name, const uint64_t *reg, int n, int cells)
{
	assert_int_equal(fdt_begin_node(fdt, name), 0);
	sw_string(fdt, "device_type", "memory");
	sw_cells(fdt, "reg", reg, n, cells);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void sw_cpus(void *fdt, const uint64_t *mpidr, int n, uint32_t ac)
{
	char name[32];
	int i;

	assert_int_equal(fdt_begin_node(fdt, "cpus"), 0);
	sw_u32(fdt, "#address-cells", ac);
	sw_u32(fdt, "#size-cells", 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)mpidr[i]);
		assert_int_equal(fdt_begin_node(fdt, name), 0);
		sw_string(fdt, "device_type", "cpu");
		sw_cells(fdt, "reg", &mpidr[i], 1, (int)ac);
		assert_int_equal(fdt_end_node(fdt), 0);
	}
	assert_int_equal(fdt_end_node(fdt), 0);
}

/* Close the root and return a heap copy of exactly totalsize bytes. */
static uint8_t *sw_finish(void *fdt, size_t *size)
{
	uint8_t *blob;

	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_finish(fdt), 0);
	*size = hdr(fdt, HDR_TOTAL);
	blob = dup_blob(fdt, *size);
	free(fdt);
	return blob;
}

/* A minimal valid tree: one memory bank, one cpu, 2/2 cells. */
static uint8_t *sw_minimal(size_t *size, void (*extra)(void *fdt))
{
	static const uint64_t mem[] = { 0x40000000, 0x10000000 };
	static const uint64_t cpu0[] = { 0 };
	void *fdt = sw_start(2, 2);

	sw_memory(fdt, "memory@40000000", mem, 2, 2);
	sw_cpus(fdt, cpu0, 1, 1);
	if (extra) {
		extra(fdt);
	}
	return sw_finish(fdt, size);
}

/* ---------------------------------------------------------------- raw trees */

/* A structure block assembled token by token, for blobs libfdt refuses to make. */
struct raw {
	uint8_t dt[4096];
	size_t n;
};

/* Strings block of raw trees; offsets below index into it. */
static const char raw_strings[] = "reg\0device_type\0#address-cells\0#size-cells";
enum { S_REG = 0, S_DEVTYPE = 4, S_ACELLS = 16, S_SCELLS = 31 };

static void raw_u32(struct raw *r, uint32_t v)
{
	assert_true(r->n + 4 <= sizeof(r->dt));
	put32(r->dt + r->n, v);
	r->n += 4;
}

static void raw_begin(struct raw *r, const char *name)
{
	size_t len = strlen(name) + 1;

	raw_u32(r, FDT_BEGIN_NODE);
	memset(r->dt + r->n, 0, (len + 3) & ~(size_t)3);
	memcpy(r->dt + r->n, name, len);
	r->n += (len + 3) & ~(size_t)3;
}

static void raw_prop(struct raw *r, uint32_t nameoff, const void *val, uint32_t len)
{
	raw_u32(r, FDT_PROP);
	raw_u32(r, len);
	raw_u32(r, nameoff);
	memset(r->dt + r->n, 0, (len + 3) & ~3U);
	memcpy(r->dt + r->n, val, len);
	r->n += (len + 3) & ~3U;
}

static void raw_prop_u32(struct raw *r, uint32_t nameoff, uint32_t v)
{
	uint8_t be[4];

	put32(be, v);
	raw_prop(r, nameoff, be, 4);
}

/* Root properties, memory@40000000 and /cpus/cpu@0, root left open. */
static void raw_body(struct raw *r)
{
	static const uint8_t reg[16] = { 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 };

	raw_begin(r, "");
	raw_prop_u32(r, S_ACELLS, 2);
	raw_prop_u32(r, S_SCELLS, 2);
	raw_begin(r, "memory@40000000");
	raw_prop(r, S_DEVTYPE, "memory", 7);
	raw_prop(r, S_REG, reg, 16);
	raw_u32(r, FDT_END_NODE);
	raw_begin(r, "cpus");
	raw_prop_u32(r, S_ACELLS, 1);
	raw_prop_u32(r, S_SCELLS, 0);
	raw_begin(r, "cpu@0");
	raw_prop(r, S_DEVTYPE, "cpu", 4);
	raw_prop_u32(r, S_REG, 0);
	raw_u32(r, FDT_END_NODE);
	raw_u32(r, FDT_END_NODE);
}

/* Wrap a structure block in a header: rsvmap at 40, struct at 56, strings after. */
static uint8_t *raw_blob(const struct raw *r, const char *strs, size_t strs_len, size_t *size)
{
	size_t total = 56 + r->n + strs_len;
	uint8_t *b = calloc(1, total);

	assert_non_null(b);
	put32(b + 0, 0xd00dfeed);
	put32(b + 4, (uint32_t)total);
	put32(b + 8, 56);
	put32(b + 12, (uint32_t)(56 + r->n));
	put32(b + 16, 40);
	put32(b + 20, 17);
	put32(b + 24, 16);
	put32(b + 32, (uint32_t)strs_len);
	put32(b + 36, (uint32_t)r->n);
	memcpy(b + 56, r->dt, r->n);
	memcpy(b + 56 + r->n, strs, strs_len);
	*size = total;
	return b;
}

/* ---------------------------------------------------------------- platform reader */

static void check_virt(const struct platform_info *pi, const struct fixture *fx)
{
	unsigned int i;

	assert_int_equal(pi->nr_mem, 1);
	assert_int_equal(pi->mem[0].base, 0x40000000);
	assert_int_equal(pi->mem[0].size, fx->mem);
	assert_int_equal(pi->nr_cpus, fx->cpus);
	for (i = 0; i < fx->cpus; i++) {
		assert_int_equal(pi->cpu_mpidr[i], i);
	}
	assert_int_equal(pi->gicd.base, 0x08000000);
	assert_int_equal(pi->gicd.size, 0x10000);
	assert_int_equal(pi->gicr.base, 0x080a0000);
	assert_int_equal(pi->gicr.size, 0xf60000);
	assert_int_equal(pi->uart.base, 0x09000000);
	assert_int_equal(pi->uart.size, 0x1000);
	assert_int_equal(pi->psci, PSCI_CONDUIT_SMC);
	assert_string_equal(pi->bootargs, "");
	assert_int_equal(pi->initrd_start, 0);
	assert_int_equal(pi->initrd_end, 0);
}

static void check_virt_mmio(const struct platform_info *pi)
{
	const struct fdt_range *m = pi->mmio;
	unsigned int i, n = pi->nr_mmio;

	assert_true(has_range(m, n, 0x09000000, 0x1000));	     /* pl011 */
	assert_true(has_range(m, n, 0x08000000, 0x10000));	     /* GICD */
	assert_true(has_range(m, n, 0x080a0000, 0xf60000));	     /* GICR */
	assert_true(has_range(m, n, 0x4010000000, 0x10000000));    /* PCIe ECAM */
	assert_true(has_range(m, n, 0x3eff0000, 0x10000));	     /* PCIe I/O window */
	assert_true(has_range(m, n, 0x10000000, 0x2eff0000));	     /* PCIe 32-bit window */
	assert_true(has_range(m, n, 0x8000000000, 0x8000000000)); /* PCIe 64-bit window */
	assert_true(has_range(m, n, 0x0c000000, 0x02000000));	     /* platform bus */
	assert_true(has_range(m, n, 0x0a000000, 0x200));	     /* first virtio-mmio */
	assert_true(has_range(m, n, 0, 0x4000000));		     /* flash bank 0 */
	for (i = 0; i < n; i++) {
		assert_true(m[i].size != 0);
		/* fw_cfg is the core's to hide, and RAM is never a device window */
		assert_false(m[i].base <= 0x09020000 && m[i].base + m[i].size > 0x09020000);
		assert_false(m[i].base < pi->mem[0].base + pi->mem[0].size &&
			     pi->mem[0].base < m[i].base + m[i].size);
	}
}

static void test_virt_fixtures(void **state)
{
	struct platform_info pi;
	uint8_t *blob;
	size_t i, size;

	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		blob = load(fixtures[i].file, &size);
		parse_ok(blob, size, &pi);
		check_virt(&pi, &fixtures[i]);
		check_virt_mmio(&pi);
		assert_int_equal(pi.fw_cfg.base, 0x09020000);
		assert_int_equal(pi.fw_cfg.size, 0x18);
		assert_int_equal(fdt_total_size(blob), size);
		free(blob);
	}
}

/* EL2 builds use -mstrict-align: nothing may assume the blob is aligned. */
static void test_unaligned_blob(void **state)
{
	struct platform_info pi;
	uint8_t *blob, *odd;
	size_t size;

	blob = load("virt-4G-smp4.dtb", &size);
	odd = malloc(size + 3);
	assert_non_null(odd);
	memcpy(odd + 3, blob, size);
	parse_ok(odd + 3, size, &pi);
	check_virt(&pi, &fixtures[3]);
	free(odd);
	free(blob);
}

/* A version-16 blob has no size_dt_struct; FDT_END bounds the walk. */
static void test_version16(void **state)
{
	struct platform_info pi;
	uint8_t *blob;
	size_t size;

	blob = load("virt-1G-smp2.dtb", &size);
	put32(blob + 20, 16);
	put32(blob + 36, 0xffffffff);
	parse_ok(blob, size, &pi);
	check_virt(&pi, &fixtures[2]);
	free(blob);
}


static void sw_device(void *fdt, const char *name, const char *compat, size_t compat_len,
		      const uint64_t *reg, int n, int cells)
{
	assert_int_equal(fdt_begin_node(fdt, name), 0);
	if (compat) {
		assert_int_equal(fdt_property(fdt, "compatible", compat, (int)compat_len), 0);
	}
	if (reg) {
		sw_cells(fdt, "reg", reg, n, cells);
	}
}

static void extra_handmade(void *fdt)
{
	static const uint64_t hi[] = { 0x880000000, 0x40000000 };
	static const uint64_t lo[] = { 0x50000000, 0x100000, 0x60000000, 0, 0x41000000, 0x1000000 };
	static const uint64_t gic[] = { 0x2f000000, 0x10000, 0x2f100000, 0x200000 };
	static const uint64_t uart[] = { 0x1c090000, 0x1000 };
	static const uint64_t nested_uart[] = { 0x90000, 0x1000 };
	static const uint64_t initrd_end = 0x48200000;
	static const uint64_t bus_ranges[] = { 0, 0, 0x1c000000, 0x4000000 };

	sw_memory(fdt, "memory@880000000", hi, 2, 2);
	sw_memory(fdt, "memory@41000000", lo, 6, 2); /* unsorted, one empty bank */
	assert_int_equal(fdt_begin_node(fdt, "chosen"), 0);
	sw_string(fdt, "bootargs", "console=ttyAMA0 moat.test=psci");
	sw_u32(fdt, "linux,initrd-start", 0x48000000);
	sw_cells(fdt, "linux,initrd-end", &initrd_end, 1, 2);
	assert_int_equal(fdt_end_node(fdt), 0);
	sw_device(fdt, "psci", "arm,psci-1.0\0arm,psci-0.2", 26, NULL, 0, 0);
	sw_string(fdt, "method", "hvc");
	assert_int_equal(fdt_end_node(fdt), 0);
	sw_device(fdt, "interrupt-controller@2f000000", "vendor,gic\0arm,gic-v3", 22, gic, 4, 2);
	assert_int_equal(fdt_end_node(fdt), 0);
	sw_device(fdt, "serial@1c090000", "arm,sbsa-uart\0arm,pl011", 24, uart, 2, 2);
	assert_int_equal(fdt_end_node(fdt), 0);
	/* child address (1 cell), parent address (2), size (1) */
	sw_device(fdt, "bus@1c000000", "simple-bus", 11, NULL, 0, 0);
	sw_u32(fdt, "#address-cells", 1);
	sw_u32(fdt, "#size-cells", 1);
	sw_cells(fdt, "ranges", bus_ranges, 4, 1);
	/* nested: its reg is in the bus's space, so not a platform UART */
	sw_device(fdt, "serial@90000", "arm,pl011", 10, nested_uart, 2, 1);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void test_handmade_platform(void **state)
{
	static const uint64_t mpidr[] = { 0x0, 0x100, 0x10000, 0x100000000 };
	static const uint64_t mem[] = { 0x40000000, 0x1000000 };
	struct platform_info pi;
	void *fdt = sw_start(2, 2);
	uint8_t *blob;
	size_t size;
	unsigned int i;

	sw_memory(fdt, "memory@40000000", mem, 2, 2);
	sw_cpus(fdt, mpidr, 4, 2);
	extra_handmade(fdt);
	blob = sw_finish(fdt, &size);
	parse_ok(blob, size, &pi);

	assert_int_equal(pi.nr_mem, 4);
	assert_true(has_range(&pi.mem[0], 1, 0x40000000, 0x1000000));
	assert_true(has_range(&pi.mem[1], 1, 0x41000000, 0x1000000));
	assert_true(has_range(&pi.mem[2], 1, 0x50000000, 0x100000));
	assert_true(has_range(&pi.mem[3], 1, 0x880000000, 0x40000000));
	assert_int_equal(pi.nr_cpus, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pi.cpu_mpidr[i], mpidr[i]);
	}
	assert_string_equal(pi.bootargs, "console=ttyAMA0 moat.test=psci");
	assert_int_equal(pi.initrd_start, 0x48000000);
	assert_int_equal(pi.initrd_end, 0x48200000);
	assert_int_equal(pi.psci, PSCI_CONDUIT_HVC);
	assert_true(has_range(&pi.gicd, 1, 0x2f000000, 0x10000));
	assert_true(has_range(&pi.gicr, 1, 0x2f100000, 0x200000));
	assert_true(has_range(&pi.uart, 1, 0x1c090000, 0x1000));
	assert_int_equal(pi.fw_cfg.size, 0);
	assert_int_equal(pi.nr_mmio, 4);
	assert_true(has_range(pi.mmio, 4, 0x2f000000, 0x10000));
	assert_true(has_range(pi.mmio, 4, 0x2f100000, 0x200000));
	assert_true(has_range(pi.mmio, 4, 0x1c090000, 0x1000));
	assert_true(has_range(pi.mmio, 4, 0x1c000000, 0x4000000));
	free(blob);
}

/* Root without #address-cells/#size-cells: the spec's 2 and 1 apply. */
static void test_default_and_small_cells(void **state)
{
	static const uint64_t cpu0[] = { 0 };
	static const uint64_t reg21[] = { 0, 0x80000000, 0x20000000 }; /* 2 + 1 cells */
	static const uint64_t reg11[] = { 0x40000000, 0x8000000 };
	struct platform_info pi;
	uint8_t *blob;
	size_t size;
	void *fdt;

	fdt = sw_start(0, 0);
	assert_int_equal(fdt_begin_node(fdt, "memory@80000000"), 0);
	sw_string(fdt, "device_type", "memory");
	sw_cells(fdt, "reg", reg21, 3, 1);
	assert_int_equal(fdt_end_node(fdt), 0);
	sw_cpus(fdt, cpu0, 1, 1);
	blob = sw_finish(fdt, &size);
	parse_ok(blob, size, &pi);
	assert_true(has_range(pi.mem, pi.nr_mem, 0x80000000, 0x20000000));
	free(blob);

	fdt = sw_start(1, 1);
	assert_int_equal(fdt_begin_node(fdt, "memory@40000000"), 0);
	sw_string(fdt, "device_type", "memory");
	sw_cells(fdt, "reg", reg11, 2, 1);
	assert_int_equal(fdt_end_node(fdt), 0);
	sw_cpus(fdt, cpu0, 1, 1);
	blob = sw_finish(fdt, &size);
	parse_ok(blob, size, &pi);
	assert_true(has_range(pi.mem, pi.nr_mem, 0x40000000, 0x8000000));
	free(blob);
}

/* ---------------------------------------------------------------- reader refusals */

static void extra_overlap(void *fdt)
{
	static const uint64_t r[] = { 0x48000000, 0x1000000 };

	sw_memory(fdt, "memory@48000000", r, 2, 2);
}

static void add_banks(void *fdt, int n)
{
	uint64_t r[2];
	char name[32];
	int i;

	for (i = 0; i < n; i++) {
		r[0] = 0x100000000ULL * (uint64_t)(i + 1);
		r[1] = 0x1000;
		snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)r[0]);
		sw_memory(fdt, name, r, 2, 2);
	}
}

static void extra_8_banks(void *fdt)
{
	add_banks(fdt, PLAT_MAX_MEM - 1);
}

static void extra_9_banks(void *fdt)
{
	add_banks(fdt, PLAT_MAX_MEM);
}

static void add_devices(void *fdt, int n)
{
	uint64_t r[2];
	char name[32];
	int i;

	for (i = 0; i < n; i++) {
		r[0] = 0x10000000 + 0x1000 * (uint64_t)i;
		r[1] = 0x1000;
		snprintf(name, sizeof(name), "dev@%llx", (unsigned long long)r[0]);
		sw_device(fdt, name, "vendor,dev", 11, r, 2, 2);
		assert_int_equal(fdt_end_node(fdt), 0);
	}
}

static void extra_max_devices(void *fdt)
{
	add_devices(fdt, PLAT_MAX_MMIO);
}

static void extra_too_many_devices(void *fdt)
{
	add_devices(fdt, PLAT_MAX_MMIO + 1);
}

static void add_chosen(void *fdt, const char *prop, const void *val, int len)
{
	assert_int_equal(fdt_begin_node(fdt, "chosen"), 0);
	assert_int_equal(fdt_property(fdt, prop, val, len), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void add_bootargs(void *fdt, size_t len)
{
	char s[PLAT_BOOTARGS_MAX + 8];

	memset(s, 'x', len);
	s[len] = '\0';
	add_chosen(fdt, "bootargs", s, (int)len + 1);
}

static void extra_longest_bootargs(void *fdt)
{
	add_bootargs(fdt, PLAT_BOOTARGS_MAX - 1);
}

static void extra_long_bootargs(void *fdt)
{
	add_bootargs(fdt, PLAT_BOOTARGS_MAX);
}

static void extra_unterminated_bootargs(void *fdt)
{
	add_chosen(fdt, "bootargs", "abc", 3);
}

static void extra_initrd_backwards(void *fdt)
{
	assert_int_equal(fdt_begin_node(fdt, "chosen"), 0);
	sw_u32(fdt, "linux,initrd-start", 0x49000000);
	sw_u32(fdt, "linux,initrd-end", 0x48000000);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void extra_initrd_bad_len(void *fdt)
{
	add_chosen(fdt, "linux,initrd-start", "\0\0\1", 3);
}

static void extra_bad_reg_len(void *fdt)
{
	sw_device(fdt, "dev@0", NULL, 0, (const uint64_t[]){ 1, 2, 3 }, 3, 1);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void extra_bad_cells(void *fdt)
{
	sw_device(fdt, "bus@0", NULL, 0, NULL, 0, 0);
	sw_u32(fdt, "#address-cells", 5);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void extra_wide_size(void *fdt)
{
	sw_device(fdt, "bus@0", NULL, 0, NULL, 0, 0);
	sw_u32(fdt, "#address-cells", 1);
	sw_u32(fdt, "#size-cells", 3);
	sw_cells(fdt, "ranges", (const uint64_t[]){ 0, 0, 0x1000, 0, 0, 1 }, 6, 1);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void extra_wrap(void *fdt)
{
	sw_device(fdt, "dev@0", NULL, 0, (const uint64_t[]){ 0xfffffffffffff000, 0x2000 }, 2, 2);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void extra_bad_psci(void *fdt)
{
	sw_device(fdt, "psci", "arm,psci-1.0", 13, NULL, 0, 0);
	sw_string(fdt, "method", "svc");
	assert_int_equal(fdt_end_node(fdt), 0);
}

static void extra_gic_one_reg(void *fdt)
{
	sw_device(fdt, "intc@8000000", "arm,gic-v3", 11, (const uint64_t[]){ 0x8000000, 0x10000 },
		  2, 2);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static const struct sw_case {
	const char *what;
	void (*extra)(void *fdt);
	int err; /* 0: must parse */
	const char *word;
} sw_cases[] = {
	{ "8 memory banks", extra_8_banks, 0, NULL },
	{ "48 device windows", extra_max_devices, 0, NULL },
	{ "255-byte bootargs", extra_longest_bootargs, 0, NULL },
	{ "overlapping memory", extra_overlap, MOAT_E_CORRUPT, "overlapping" },
	{ "9 memory banks", extra_9_banks, MOAT_E_NOMEM, "memory" },
	{ "49 device windows", extra_too_many_devices, MOAT_E_NOMEM, "device" },
	{ "256-byte bootargs", extra_long_bootargs, MOAT_E_NOMEM, "bootargs" },
	{ "unterminated bootargs", extra_unterminated_bootargs, MOAT_E_CORRUPT, "bootargs" },
	{ "initrd end < start", extra_initrd_backwards, MOAT_E_CORRUPT, "initrd" },
	{ "3-byte initrd-start", extra_initrd_bad_len, MOAT_E_CORRUPT, "initrd" },
	{ "reg not whole entries", extra_bad_reg_len, MOAT_E_CORRUPT, "multiple" },
	{ "#address-cells 5", extra_bad_cells, MOAT_E_CORRUPT, "cells" },
	{ "3-cell size in ranges", extra_wide_size, MOAT_E_CORRUPT, "wider" },
	{ "range wraps", extra_wrap, MOAT_E_CORRUPT, "wraps" },
	{ "unknown psci method", extra_bad_psci, MOAT_E_CORRUPT, "method" },
	{ "GICv3 with one reg", extra_gic_one_reg, MOAT_E_CORRUPT, "reg" },
};

static void test_reader_limits_and_refusals(void **state)
{
	struct platform_info pi;
	uint8_t *blob;
	size_t i, size;

	for (i = 0; i < sizeof(sw_cases) / sizeof(sw_cases[0]); i++) {
		print_message("  %s\n", sw_cases[i].what);
		blob = sw_minimal(&size, sw_cases[i].extra);
		if (sw_cases[i].err) {
			parse_fails(blob, size, sw_cases[i].err, sw_cases[i].word);
		} else {
			parse_ok(blob, size, &pi);
		}
		free(blob);
	}
}

static void test_cpu_limit_and_required_nodes(void **state)
{
	static const uint64_t mem[] = { 0x40000000, 0x10000000 };
	static const uint64_t ids[MAX_CPUS + 1] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct platform_info pi;
	uint8_t *blob;
	size_t size;
	void *fdt;

	fdt = sw_start(2, 2);
	sw_memory(fdt, "memory@40000000", mem, 2, 2);
	sw_cpus(fdt, ids, MAX_CPUS, 1);
	blob = sw_finish(fdt, &size);
	parse_ok(blob, size, &pi);
	assert_int_equal(pi.nr_cpus, MAX_CPUS);
	free(blob);

	fdt = sw_start(2, 2);
	sw_memory(fdt, "memory@40000000", mem, 2, 2);
	sw_cpus(fdt, ids, MAX_CPUS + 1, 1);
	blob = sw_finish(fdt, &size);
	parse_fails(blob, size, MOAT_E_NOMEM, "cpus");
	free(blob);

	fdt = sw_start(2, 2);
	sw_cpus(fdt, ids, 1, 1);
	blob = sw_finish(fdt, &size);
	parse_fails(blob, size, MOAT_E_CORRUPT, "memory");
	free(blob);

	fdt = sw_start(2, 2);
	sw_memory(fdt, "memory@40000000", mem, 2, 2);
	blob = sw_finish(fdt, &size);
	parse_fails(blob, size, MOAT_E_CORRUPT, "cpus");
	free(blob);
}

/* ---------------------------------------------------------------- header checks */

static void test_header_checks(void **state)
{
	static const struct {
		unsigned int field;
		bool rel; /* value is added to the fixture's size */
		int32_t value;
		const char *word;
	} cases[] = {
		{ HDR_MAGIC, false, 0x12345678, "magic" },
		{ HDR_TOTAL, true, 1, "totalsize" },
		{ HDR_TOTAL, false, 20, "header" },
		{ HDR_VERSION, false, 15, "version" },
		{ HDR_LAST_COMP, false, 18, "version" },
		{ HDR_OFF_DT, true, 4, "structure block" },
		{ HDR_OFF_DT, false, 58, "structure block" },
		{ HDR_SIZE_DT, true, 0, "structure block" },
		{ HDR_OFF_STR, true, 2, "strings block" },
		{ HDR_SIZE_STR, true, 0, "strings block" },
		{ HDR_OFF_RSV, false, 44, "reservation" },
		{ HDR_OFF_RSV, false, 8, "reservation" },
	};
	const char *why;
	uint8_t *good, *b;
	size_t i, size;

	good = load("virt-1G-smp1.dtb", &size);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t v = (uint32_t)cases[i].value + (cases[i].rel ? (uint32_t)size : 0);

		b = dup_blob(good, size);
		put32(b + cases[i].field, v);
		why = NULL;
		assert_int_equal(fdt_check_header(b, size, &why), MOAT_E_CORRUPT);
		assert_non_null(why);
		if (!strstr(why, cases[i].word)) {
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why, cases[i].word);
		}
		free(b);
	}
	/* unterminated reservation block: it starts 8 bytes before the end */
	b = dup_blob(good, size);
	put32(b + HDR_OFF_RSV, (uint32_t)(size - 8) & ~7U);
	assert_int_equal(fdt_check_header(b, size, &why), MOAT_E_CORRUPT);
	assert_non_null(strstr(why, "unterminated"));
	free(b);
	/* the caller's buffer is smaller than totalsize or than a header */
	assert_int_equal(fdt_check_header(good, size - 1, &why), MOAT_E_CORRUPT);
	assert_non_null(strstr(why, "totalsize"));
	assert_int_equal(fdt_check_header(good, 39, &why), MOAT_E_CORRUPT);
	assert_non_null(strstr(why, "header"));
	assert_int_equal(fdt_check_header(good, size, NULL), 0);
	free(good);
}

/* ---------------------------------------------------------------- structure-block checks */

enum raw_fault {
	F_NONE,
	F_NOPS,
	F_BAD_TOKEN,
	F_UNTERMINATED_NODE_NAME,
	F_NODE_NAME_PADDING,
	F_UNTERMINATED_PROP_NAME,
	F_NAMEOFF_OUTSIDE,
	F_PROP_PAST_END,
	F_PROP_LEN_HUGE,
	F_NO_END,
	F_END_INSIDE_NODE,
	F_PROP_AFTER_SUBNODE,
	F_TWO_ROOTS,
	F_UNBALANCED,
	F_PROP_OUTSIDE_NODE,
	F_DEPTH_16,
	F_DEPTH_17,
	F_ROOT_NAMED,
};

static void raw_nest(struct raw *r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		raw_begin(r, "n");
	}
	for (i = 0; i < n; i++) {
		raw_u32(r, FDT_END_NODE);
	}
}

/* The raw tree of raw_body() with one fault injected. */
static uint8_t *raw_faulty(enum raw_fault f, size_t *size)
{
	static char bad_strings[sizeof(raw_strings) + 3]; /* ends in "dev", no NUL */
	struct raw r = { .n = 0 };
	const char *strs = raw_strings;
	size_t strs_len = sizeof(raw_strings);
	uint8_t *b;

	switch (f) {
	case F_UNTERMINATED_NODE_NAME:
		raw_u32(&r, FDT_BEGIN_NODE);
		memcpy(r.dt + r.n, "abcdefgh", 8);
		r.n += 8;
		return raw_blob(&r, strs, strs_len, size);
	case F_NODE_NAME_PADDING:
		raw_begin(&r, "abcde");
		b = raw_blob(&r, strs, strs_len, size);
		put32(b + HDR_SIZE_DT, 4 + 6); /* the name fits, its padding does not */
		return b;
	case F_PROP_OUTSIDE_NODE:
		raw_prop_u32(&r, S_REG, 0);
		break;
	case F_ROOT_NAMED:
		raw_begin(&r, "root");
		raw_u32(&r, FDT_END_NODE);
		raw_u32(&r, FDT_END);
		return raw_blob(&r, strs, strs_len, size);
	default:
		break;
	}
	if (f == F_NOPS) {
		raw_u32(&r, FDT_NOP);
	}
	raw_body(&r);
	switch (f) {
	case F_NOPS:
		raw_u32(&r, FDT_NOP);
		break;
	case F_BAD_TOKEN:
		raw_u32(&r, 0x77);
		break;
	case F_UNTERMINATED_PROP_NAME:
		memcpy(bad_strings, raw_strings, sizeof(raw_strings));
		memcpy(bad_strings + sizeof(raw_strings), "dev", 3);
		strs = bad_strings;
		strs_len = sizeof(bad_strings);
		raw_prop_u32(&r, sizeof(raw_strings), 0);
		break;
	case F_NAMEOFF_OUTSIDE:
		raw_prop_u32(&r, 1000, 0);
		break;
	case F_PROP_PAST_END:
		raw_u32(&r, FDT_PROP);
		raw_u32(&r, 0x1000);
		raw_u32(&r, S_REG);
		break;
	case F_PROP_LEN_HUGE:
		raw_u32(&r, FDT_PROP);
		raw_u32(&r, 0xfffffffd);
		raw_u32(&r, S_REG);
		break;
	case F_PROP_AFTER_SUBNODE:
		raw_prop_u32(&r, S_REG, 0);
		break;
	case F_END_INSIDE_NODE:
		raw_u32(&r, FDT_END);
		return raw_blob(&r, strs, strs_len, size);
	case F_DEPTH_16:
		raw_nest(&r, 15); /* plus the root: 16 open nodes */
		break;
	case F_DEPTH_17:
		raw_nest(&r, 16);
		break;
	default:
		break;
	}
	raw_u32(&r, FDT_END_NODE);
	if (f == F_TWO_ROOTS) {
		raw_begin(&r, "");
		raw_u32(&r, FDT_END_NODE);
	}
	if (f == F_UNBALANCED) {
		raw_u32(&r, FDT_END_NODE);
	}
	if (f != F_NO_END) {
		raw_u32(&r, FDT_END);
	}
	return raw_blob(&r, strs, strs_len, size);
}

static void test_structure_checks(void **state)
{
	static const struct {
		enum raw_fault f;
		const char *word; /* NULL: the tree is valid */
	} cases[] = {
		{ F_NONE, NULL },
		{ F_NOPS, NULL },
		{ F_DEPTH_16, NULL },
		{ F_BAD_TOKEN, "token" },
		{ F_UNTERMINATED_NODE_NAME, "unterminated node name" },
		{ F_NODE_NAME_PADDING, "unterminated node name" },
		{ F_UNTERMINATED_PROP_NAME, "unterminated property name" },
		{ F_NAMEOFF_OUTSIDE, "unterminated property name" },
		{ F_PROP_PAST_END, "overruns" },
		{ F_PROP_LEN_HUGE, "overruns" },
		{ F_NO_END, "without FDT_END" },
		{ F_END_INSIDE_NODE, "FDT_END inside" },
		{ F_PROP_AFTER_SUBNODE, "after a subnode" },
		{ F_TWO_ROOTS, "more than one root" },
		{ F_UNBALANCED, "unbalanced" },
		{ F_PROP_OUTSIDE_NODE, "outside a node" },
		{ F_DEPTH_17, "nesting too deep" },
		{ F_ROOT_NAMED, "root node has a name" },
	};
	static const struct fdt_host_edit edit = { .core_reserved = { { 0x4f000000, 0x1000000 } } };
	struct platform_info pi;
	const char *why, *why_w;
	uint8_t *b, *dst = malloc(DST_SIZE);
	size_t i, size, out;
	int err;

	assert_non_null(dst);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = raw_faulty(cases[i].f, &size);
		assert_int_equal(fdt_check_header(b, size, &why), 0);
		why = why_w = NULL;
		err = fdt_parse_platform(b, &pi, &why);
		if (!cases[i].word) {
			assert_int_equal(err, 0);
			assert_int_equal(fdt_write_host_dtb(b, dst, DST_SIZE, &edit, &out, &why_w), 0);
			assert_int_equal(libfdt_check_full(dst, out), 0);
			free(b);
			continue;
		}
		assert_int_equal(err, MOAT_E_CORRUPT);
		assert_non_null(why);
		if (!strstr(why, cases[i].word)) {
			fail_msg("fault %d: \"%s\" lacks \"%s\"", cases[i].f, why, cases[i].word);
		}
		/* the writer walks with the same rules */
		assert_int_equal(fdt_write_host_dtb(b, dst, DST_SIZE, &edit, &out, &why_w),
				 MOAT_E_CORRUPT);
		assert_string_equal(why_w, why);
		free(b);
	}
	free(dst);
}

/* ---------------------------------------------------------------- fuzz-ish */

static uint64_t rng_state = 0x6d6f61742d666474ULL; /* fixed seed: "moat-fdt" */

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void check_sane(const struct platform_info *pi)
{
	unsigned int i;

	assert_true(pi->nr_mem >= 1 && pi->nr_mem <= PLAT_MAX_MEM);
	assert_true(pi->nr_cpus >= 1 && pi->nr_cpus <= MAX_CPUS);
	assert_true(pi->nr_mmio <= PLAT_MAX_MMIO);
	assert_true(strnlen(pi->bootargs, PLAT_BOOTARGS_MAX) < PLAT_BOOTARGS_MAX);
	for (i = 0; i + 1 < pi->nr_mem; i++) {
		assert_true(pi->mem[i].base + pi->mem[i].size - 1 < pi->mem[i + 1].base);
	}
}

/*
 * Flip 1-4 bytes, a quarter of them in the header: nothing may crash or hang,
 * and every host DTB the writer produces must satisfy libfdt.
 */
static void test_fuzz_bitflips(void **state)
{
	static const struct fdt_host_edit edit = {
		.core_reserved = { { 0x7f000000, 0x1000000 } },
		.drop_fw_cfg = true,
		.initrd_start = 0x48000000,
		.initrd_end = 0x48100000,
	};
	struct platform_info pi;
	size_t size, out, max;
	unsigned int iter, k, parsed = 0, written = 0;
	uint8_t *good, *b, *dst;
	const char *why;

	good = load("virt-1G-smp2.dtb", &size);
	dst = malloc(DST_SIZE);
	assert_non_null(dst);
	for (iter = 0; iter < 10000; iter++) {
		b = dup_blob(good, size);
		for (k = 0; k <= rng() % 4; k++) {
			size_t pos = rng() % 4 ? rng() % size : rng() % 64;

			b[pos] ^= (uint8_t)(1 + rng() % 255);
		}
		max = rng() % 8 ? size : rng() % size;
		if (fdt_check_header(b, max, &why) == 0) {
			assert_true(fdt_used_size(b) <= fdt_total_size(b));
			if (fdt_copy_compact(b, dst, DST_SIZE) == 0) {
				assert_int_equal(fdt_check_header(dst, fdt_used_size(b), &why), 0);
			}
			if (fdt_parse_platform(b, &pi, &why) == 0) {
				check_sane(&pi);
				parsed++;
			}
			if (fdt_write_host_dtb(b, dst, DST_SIZE, &edit, &out, &why) == 0) {
				/* whatever the reader accepts, the writer emits validly */
				assert_int_equal(libfdt_check_full(dst, out), 0);
				assert_int_equal(fdt_check_header(dst, out, &why), 0);
				fdt_parse_platform(dst, &pi, &why);
				written++;
			}
		}
		free(b);
	}
	print_message("  %u of 10000 mutants parsed, %u written\n", parsed, written);
	free(dst);
	free(good);
}

/* ---------------------------------------------------------------- compact copy */

/* QEMU pads its DTB to 1 MiB; the core keeps only the used bytes. */
static void test_used_size_and_compact_copy(void **state)
{
	const size_t pad = 4096, canary = 64;
	struct platform_info pi;
	uint8_t *good, *padded, *dst;
	const char *why = NULL;
	size_t size;

	good = load("virt-4G-smp4.dtb", &size);
	assert_int_equal(fdt_used_size(good), size); /* dtc leaves no padding */
	padded = calloc(1, size + pad);
	assert_non_null(padded);
	memcpy(padded, good, size);
	put32(padded + HDR_TOTAL, (uint32_t)(size + pad));
	assert_int_equal(fdt_check_header(padded, size + pad, &why), 0);
	assert_int_equal(fdt_used_size(padded), size);

	dst = malloc(size + canary);
	assert_non_null(dst);
	memset(dst, 0x5a, size + canary);
	assert_int_equal(fdt_copy_compact(padded, dst, size - 1), MOAT_E_NOMEM);
	assert_int_equal(dst[size - 1], 0x5a);
	assert_int_equal(fdt_copy_compact(padded, dst, size), 0);
	assert_memory_equal(dst, good, size); /* totalsize is back to the used size */
	assert_int_equal(dst[size], 0x5a);
	parse_ok(dst, size, &pi);
	check_virt(&pi, &fixtures[3]);

	put32(padded + HDR_MAGIC, 0);
	assert_int_equal(fdt_copy_compact(padded, dst, size), MOAT_E_CORRUPT);
	free(dst);
	free(padded);
	free(good);
}

/* ---------------------------------------------------------------- writer */

/* dtc must read the blob back without error. */
static void assert_dtc_reads(const void *blob, size_t size)
{
	char path[] = "/tmp/moat-test-fdt-XXXXXX";
	char cmd[128];
	int fd = mkstemp(path);
	int rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, blob, size), (ssize_t)size);
	close(fd);
	snprintf(cmd, sizeof(cmd), "dtc -q -I dtb -O dts -o /dev/null %s", path);
	rc = system(cmd);
	unlink(path);
	assert_int_equal(rc, 0);
}

static const void *getprop_len(const void *fdt, const char *path, const char *name, int want)
{
	int node = fdt_path_offset(fdt, path);
	const void *p;
	int len;

	if (node < 0) {
		fail_msg("no node %s", path);
	}
	p = fdt_getprop(fdt, node, name, &len);
	if (!p || len != want) {
		fail_msg("%s:%s has length %d, want %d", path, name, p ? len : -1, want);
	}
	return p;
}

static unsigned int count_props(const void *fdt, const char *path, const char *name)
{
	unsigned int n = 0;
	const char *pname;
	int node = fdt_path_offset(fdt, path), off;

	for (off = fdt_first_property_offset(fdt, node); off >= 0;
	     off = fdt_next_property_offset(fdt, off)) {
		fdt_getprop_by_offset(fdt, off, &pname, NULL);
		n += strcmp(pname, name) == 0;
	}
	return n;
}

static void check_moat_node(const void *fdt, uint64_t base, uint64_t size, int cells)
{
	char path[64];
	const uint8_t *reg;

	snprintf(path, sizeof(path), "/reserved-memory/moat@%llx", (unsigned long long)base);
	reg = getprop_len(fdt, path, "reg", cells * 8);
	assert_int_equal(cells == 2 ? get64(reg) : get32(reg), base);
	assert_int_equal(cells == 2 ? get64(reg + 8) : get32(reg + 4), size);
	getprop_len(fdt, path, "no-map", 0);
}

static void check_initrd(const void *fdt, uint64_t start, uint64_t end)
{
	assert_int_equal(get64(getprop_len(fdt, "/chosen", "linux,initrd-start", 8)), start);
	assert_int_equal(get64(getprop_len(fdt, "/chosen", "linux,initrd-end", 8)), end);
	assert_int_equal(count_props(fdt, "/chosen", "linux,initrd-start"), 1);
	assert_int_equal(count_props(fdt, "/chosen", "linux,initrd-end"), 1);
}

/* Same platform apart from what the edits change. */
static void assert_same_platform(const struct platform_info *a, const struct platform_info *b)
{
	assert_memory_equal(a->mem, b->mem, sizeof(a->mem));
	assert_int_equal(a->nr_mem, b->nr_mem);
	assert_memory_equal(a->cpu_mpidr, b->cpu_mpidr, sizeof(a->cpu_mpidr));
	assert_int_equal(a->nr_cpus, b->nr_cpus);
	assert_memory_equal(&a->gicd, &b->gicd, sizeof(a->gicd));
	assert_memory_equal(&a->gicr, &b->gicr, sizeof(a->gicr));
	assert_memory_equal(&a->uart, &b->uart, sizeof(a->uart));
	assert_int_equal(a->psci, b->psci);
	assert_int_equal(a->nr_mmio, b->nr_mmio);
	assert_memory_equal(a->mmio, b->mmio, sizeof(a->mmio));
	assert_string_equal(a->bootargs, b->bootargs);
}

static void test_writer_virt(void **state)
{
	struct platform_info before, after;
	struct fdt_host_edit edit = { .drop_fw_cfg = true, .initrd_start = 0x48000000,
				      .initrd_end = 0x48123456 };
	uint8_t *src, *dst = malloc(DST_SIZE);
	const char *why = NULL;
	size_t i, size, out;

	assert_non_null(dst);
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		src = load(fixtures[i].file, &size);
		parse_ok(src, size, &before);
		edit.core_reserved[0].base = 0x40000000 + fixtures[i].mem - 0x1000000;
		edit.core_reserved[0].size = 0x1000000;
		memset(dst, 0xa5, DST_SIZE);
		assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &edit, &out, &why), 0);
		assert_int_equal(fdt_total_size(dst), out);
		assert_int_equal(libfdt_check_full(dst, out), 0);
		assert_dtc_reads(dst, out);
		assert_int_equal(hdr(dst, HDR_VERSION), 17);
		assert_int_equal(hdr(dst, HDR_LAST_COMP), 16);
		assert_int_equal(hdr(dst, HDR_OFF_RSV), 40);
		/* new names appended once: no-map, linux,initrd-start, linux,initrd-end */
		assert_int_equal(hdr(dst, HDR_SIZE_STR), hdr(src, HDR_SIZE_STR) + 7 + 19 + 17);

		assert_true(fdt_path_offset(src, "/fw-cfg@9020000") >= 0);
		assert_int_equal(fdt_path_offset(dst, "/fw-cfg@9020000"), -FDT_ERR_NOTFOUND);
		assert_int_equal(get32(getprop_len(dst, "/reserved-memory", "#address-cells", 4)), 2);
		assert_int_equal(get32(getprop_len(dst, "/reserved-memory", "#size-cells", 4)), 2);
		getprop_len(dst, "/reserved-memory", "ranges", 0);
		check_moat_node(dst, edit.core_reserved[0].base, 0x1000000, 2);
		check_initrd(dst, 0x48000000, 0x48123456);
		assert_string_equal(fdt_getprop(dst, fdt_path_offset(dst, "/chosen"), "stdout-path",
						NULL), "/pl011@9000000");

		parse_ok(dst, out, &after);
		assert_same_platform(&before, &after);
		assert_int_equal(after.fw_cfg.size, 0);
		assert_int_equal(after.initrd_start, 0x48000000);
		assert_int_equal(after.initrd_end, 0x48123456);
		free(src);
	}
	free(dst);
}

/* No edits: the structure and strings blocks come out byte for byte. */
static void test_writer_identity(void **state)
{
	static const struct fdt_host_edit none;
	struct platform_info before, after;
	uint8_t *src, *dst = malloc(DST_SIZE);
	const char *why = NULL;
	size_t size, out;

	assert_non_null(dst);
	src = load("virt-4G-smp4.dtb", &size);
	assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &none, &out, &why), 0);
	assert_int_equal(libfdt_check_full(dst, out), 0);
	assert_int_equal(hdr(dst, HDR_SIZE_DT), hdr(src, HDR_SIZE_DT));
	assert_memory_equal(dst + hdr(dst, HDR_OFF_DT), src + hdr(src, HDR_OFF_DT),
			    hdr(src, HDR_SIZE_DT));
	assert_int_equal(hdr(dst, HDR_SIZE_STR), hdr(src, HDR_SIZE_STR));
	assert_memory_equal(dst + hdr(dst, HDR_OFF_STR), src + hdr(src, HDR_OFF_STR),
			    hdr(src, HDR_SIZE_STR));
	assert_int_equal(fdt_path_offset(dst, "/reserved-memory"), -FDT_ERR_NOTFOUND);
	parse_ok(src, size, &before);
	parse_ok(dst, out, &after);
	assert_same_platform(&before, &after);
	assert_memory_equal(&before.fw_cfg, &after.fw_cfg, sizeof(before.fw_cfg));
	free(src);
	free(dst);
}

static void extra_existing_nodes(void *fdt)
{
	static const uint64_t old_reg[] = { 0x30000000, 0x1000 };

	assert_int_equal(fdt_begin_node(fdt, "chosen"), 0);
	sw_string(fdt, "bootargs", "moat.test=boot");
	sw_u32(fdt, "linux,initrd-start", 0x44000000);
	sw_u32(fdt, "linux,initrd-end", 0x44100000);
	assert_int_equal(fdt_begin_node(fdt, "child"), 0);
	sw_u32(fdt, "x", 1);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);

	assert_int_equal(fdt_begin_node(fdt, "fw-cfg@9020000"), 0);
	sw_string(fdt, "compatible", "qemu,fw-cfg-mmio");
	sw_cells(fdt, "reg", (const uint64_t[]){ 0x9020000, 0x18 }, 2, 2);
	assert_int_equal(fdt_begin_node(fdt, "sub"), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);

	assert_int_equal(fdt_begin_node(fdt, "reserved-memory"), 0);
	sw_u32(fdt, "#address-cells", 1);
	sw_u32(fdt, "#size-cells", 1);
	assert_int_equal(fdt_property(fdt, "ranges", NULL, 0), 0);
	assert_int_equal(fdt_begin_node(fdt, "old@30000000"), 0);
	sw_cells(fdt, "reg", old_reg, 2, 1);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
}

static const uint8_t boot_rng_seed[40] = { 0xa0, 0xa1, 0xa2, 0xa3, [39] = 0xa4 };

static void extra_seeds(void *fdt)
{
	static const uint8_t kaslr[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	assert_int_equal(fdt_begin_node(fdt, "chosen"), 0);
	assert_int_equal(fdt_property(fdt, "rng-seed", boot_rng_seed, sizeof(boot_rng_seed)), 0);
	assert_int_equal(fdt_property(fdt, "kaslr-seed", kaslr, 8), 0);
	sw_string(fdt, "bootargs", "x=1");
	assert_int_equal(fdt_end_node(fdt), 0);
}

/* The boot DTB's seeds are the core's (parsed, first PLAT_SEED_MAX bytes); the host's DTB gets others. */
static void test_writer_replaces_seeds(void **state)
{
	static const uint8_t host_seed[PLAT_SEED_MAX] = { 0x11, 0x12, [63] = 0x13 };
	struct fdt_host_edit edit = { .host_seed = host_seed, .host_kaslr_seed = 0x0102030405060708UL ^ 0xffff };
	struct platform_info pi;
	uint8_t *src, *dst = malloc(DST_SIZE);
	const char *why = NULL;
	const uint8_t *v;
	size_t size, out;

	assert_non_null(dst);
	src = sw_minimal(&size, extra_seeds);
	parse_ok(src, size, &pi);
	assert_int_equal(pi.rng_seed_len, sizeof(boot_rng_seed));
	assert_memory_equal(pi.rng_seed, boot_rng_seed, sizeof(boot_rng_seed));
	assert_true(pi.have_kaslr_seed);
	assert_int_equal(pi.kaslr_seed, 0x0102030405060708UL);

	assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &edit, &out, &why), 0);
	assert_int_equal(libfdt_check_full(dst, out), 0);
	assert_dtc_reads(dst, out);
	v = getprop_len(dst, "/chosen", "rng-seed", sizeof(boot_rng_seed)); /* same length */
	assert_memory_equal(v, host_seed, sizeof(boot_rng_seed));
	v = getprop_len(dst, "/chosen", "kaslr-seed", 8);
	assert_int_equal(get32(v), 0x01020304);
	assert_int_equal(get32(v + 4), 0x0506f8f7);
	assert_string_equal(getprop_len(dst, "/chosen", "bootargs", 4), "x=1");
	/* Nothing of the boot seeds is left in the host's blob. */
	assert_null(memmem(dst, out, boot_rng_seed, 4));

	/* Without host_seed the writer copies them (the fuzzer and older callers). */
	edit.host_seed = NULL;
	assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &edit, &out, &why), 0);
	assert_memory_equal(getprop_len(dst, "/chosen", "rng-seed", sizeof(boot_rng_seed)), boot_rng_seed,
			    sizeof(boot_rng_seed));
	free(src);
	free(dst);
}

/* Existing /chosen and /reserved-memory are edited in place, in their cells. */
static void test_writer_existing_nodes(void **state)
{
	struct fdt_host_edit edit = {
		.core_reserved = { { 0x4f000000, 0x1000000 } },
		.drop_fw_cfg = true,
		.initrd_start = 0x45000000,
		.initrd_end = 0x45800000,
	};
	struct platform_info pi;
	uint8_t *src, *dst = malloc(DST_SIZE);
	const char *why = NULL;
	size_t size, out;

	assert_non_null(dst);
	src = sw_minimal(&size, extra_existing_nodes);
	assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &edit, &out, &why), 0);
	assert_int_equal(libfdt_check_full(dst, out), 0);
	assert_dtc_reads(dst, out);
	check_moat_node(dst, 0x4f000000, 0x1000000, 1);
	getprop_len(dst, "/reserved-memory/old@30000000", "reg", 8);
	check_initrd(dst, 0x45000000, 0x45800000);
	getprop_len(dst, "/chosen/child", "x", 4);
	assert_string_equal(getprop_len(dst, "/chosen", "bootargs", 15), "moat.test=boot");
	assert_int_equal(fdt_path_offset(dst, "/fw-cfg@9020000"), -FDT_ERR_NOTFOUND);
	parse_ok(dst, out, &pi);
	assert_int_equal(pi.initrd_start, 0x45000000);

	/* without an initrd edit the old values stay */
	edit.initrd_start = edit.initrd_end = 0;
	edit.drop_fw_cfg = false;
	assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &edit, &out, &why), 0);
	assert_int_equal(libfdt_check_full(dst, out), 0);
	assert_int_equal(get32(getprop_len(dst, "/chosen", "linux,initrd-start", 4)), 0x44000000);
	assert_true(fdt_path_offset(dst, "/fw-cfg@9020000/sub") >= 0);

	/* one address cell cannot hold a base above 4 GiB */
	edit.core_reserved[0].base = 0x100000000;
	why = NULL;
	assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &edit, &out, &why), MOAT_E_INVAL);
	assert_non_null(strstr(why, "cells"));
	free(src);
	free(dst);
}

/* A source without /chosen or /reserved-memory gets both, at the end of the root. */
static void test_writer_creates_nodes(void **state)
{
	static const struct fdt_host_edit edit = {
		.core_reserved = { { 0x4ff00000, 0x100000 } },
		.initrd_start = 0x44000000,
		.initrd_end = 0x44000001,
	};
	struct platform_info pi;
	uint8_t *src, *dst = malloc(DST_SIZE);
	const char *why = NULL;
	size_t size, out;

	assert_non_null(dst);
	src = sw_minimal(&size, NULL);
	assert_int_equal(fdt_path_offset(src, "/chosen"), -FDT_ERR_NOTFOUND);
	assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &edit, &out, &why), 0);
	assert_int_equal(libfdt_check_full(dst, out), 0);
	assert_dtc_reads(dst, out);
	check_initrd(dst, 0x44000000, 0x44000001);
	check_moat_node(dst, 0x4ff00000, 0x100000, 2);
	parse_ok(dst, out, &pi);
	assert_int_equal(pi.initrd_end, 0x44000001);
	assert_string_equal(pi.bootargs, "");
	free(src);
	free(dst);
}

/* Too small a destination: MOAT_E_NOMEM and not one byte past dst_size. */
static void test_writer_small_dst(void **state)
{
	static const struct fdt_host_edit edit = {
		.core_reserved = { { 0x7f000000, 0x1000000 } },
		.initrd_start = 0x48000000,
		.initrd_end = 0x48100000,
	};
	const size_t canary = 64;
	uint8_t *src, *dst = malloc(DST_SIZE);
	const char *why = NULL;
	size_t i, size, full, cap, out;

	assert_non_null(dst);
	src = load("virt-1G-smp1.dtb", &size);
	assert_int_equal(fdt_write_host_dtb(src, dst, DST_SIZE, &edit, &full, &why), 0);
	free(dst);
	const size_t caps[] = { 0, 1, 39, 40, 41, 56, 100, full / 2, full - 17, full - 4, full - 1 };
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		cap = caps[i];
		dst = malloc(cap + canary);
		assert_non_null(dst);
		memset(dst, 0x5a, cap + canary);
		why = NULL;
		out = 12345;
		assert_int_equal(fdt_write_host_dtb(src, dst, cap, &edit, &out, &why), MOAT_E_NOMEM);
		assert_non_null(why);
		assert_int_equal(out, 12345);
		for (size_t k = cap; k < cap + canary; k++) {
			if (dst[k] != 0x5a) {
				fail_msg("cap %zu: byte %zu written", cap, k);
			}
		}
		free(dst);
	}
	dst = malloc(full);
	assert_non_null(dst);
	assert_int_equal(fdt_write_host_dtb(src, dst, full, &edit, &out, &why), 0);
	assert_int_equal(out, full);
	assert_int_equal(libfdt_check_full(dst, out), 0);
	free(dst);
	free(src);
}

/* ---------------------------------------------------------------- bootargs and numbers */

static void test_bootargs_get(void **state)
{
	static const char ba[] = "console=ttyAMA0 moat.test=psci  moat.debug\tearlycon=pl011,0x9000000 "
				 "moat.test=vgic a=b=c moat.testx=1 empty= \n";
	char v[32];

	assert_true(bootargs_get(ba, "console", v, sizeof(v)));
	assert_string_equal(v, "ttyAMA0");
	assert_true(bootargs_get(ba, "moat.test", v, sizeof(v)));
	assert_string_equal(v, "vgic"); /* the last one wins */
	assert_true(bootargs_get(ba, "moat.debug", v, sizeof(v)));
	assert_string_equal(v, "");
	assert_true(bootargs_get(ba, "earlycon", v, sizeof(v)));
	assert_string_equal(v, "pl011,0x9000000");
	assert_true(bootargs_get(ba, "a", v, sizeof(v)));
	assert_string_equal(v, "b=c");
	assert_true(bootargs_get(ba, "empty", v, sizeof(v)));
	assert_string_equal(v, "");
	assert_false(bootargs_get(ba, "moat", v, sizeof(v)));
	assert_false(bootargs_get(ba, "moat.tes", v, sizeof(v)));
	assert_false(bootargs_get(ba, "ttyAMA0", v, sizeof(v)));
	assert_false(bootargs_get(ba, "", v, sizeof(v)));
	assert_false(bootargs_get("", "console", v, sizeof(v)));
	assert_false(bootargs_get(ba, "console", v, 7)); /* "ttyAMA0" needs 8 */
	assert_true(bootargs_get(ba, "console", v, 8));
	assert_false(bootargs_get(ba, "moat.debug", v, 0));
}

static void test_parse_u64(void **state)
{
	static const struct {
		const char *s;
		bool ok;
		uint64_t v;
	} cases[] = {
		{ "0", true, 0 },
		{ "123", true, 123 },
		{ "0x10", true, 16 },
		{ "0XfF", true, 255 },
		{ "007", true, 7 },
		{ "18446744073709551615", true, UINT64_MAX },
		{ "0xffffffffffffffff", true, UINT64_MAX },
		{ "0x00000000000000001", true, 1 },
		{ "18446744073709551616", false, 0 },
		{ "99999999999999999999", false, 0 },
		{ "0x10000000000000000", false, 0 },
		{ "", false, 0 },
		{ "0x", false, 0 },
		{ "x1", false, 0 },
		{ "12a", false, 0 },
		{ "0xg", false, 0 },
		{ "-1", false, 0 },
		{ "+1", false, 0 },
		{ " 1", false, 0 },
		{ "1 ", false, 0 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 0xdead;
		if (parse_u64(cases[i].s, strlen(cases[i].s), &v) != cases[i].ok) {
			fail_msg("parse_u64(\"%s\") should %s", cases[i].s, cases[i].ok ? "pass" : "fail");
		}
		assert_int_equal(v, cases[i].ok ? cases[i].v : 0xdead);
	}
	/* exactly len characters are read */
	assert_true(parse_u64("123junk", 3, &v));
	assert_int_equal(v, 123);
	assert_true(parse_u64("0x1f\0", 4, &v));
	assert_int_equal(v, 31);
	assert_false(parse_u64("12", 0, &v));
	assert_false(parse_u64("1\0", 2, &v));
}

/* ---------------------------------------------------------------- main */

/* fdt_check_full from a private copy of libfdt (see the file comment). */
static int load_libfdt_check(void **state)
{
	void *h = dlmopen(LM_ID_NEWLM, "libfdt.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		print_error("dlmopen libfdt.so.1: %s\n", dlerror());
		return -1;
	}
	*(void **)&libfdt_check_full = dlsym(h, "fdt_check_full");
	return libfdt_check_full ? 0 : -1;
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virt_fixtures),
		cmocka_unit_test(test_unaligned_blob),
		cmocka_unit_test(test_version16),
		cmocka_unit_test(test_handmade_platform),
		cmocka_unit_test(test_default_and_small_cells),
		cmocka_unit_test(test_reader_limits_and_refusals),
		cmocka_unit_test(test_cpu_limit_and_required_nodes),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_structure_checks),
		cmocka_unit_test(test_fuzz_bitflips),
		cmocka_unit_test(test_used_size_and_compact_copy),
		cmocka_unit_test(test_writer_virt),
		cmocka_unit_test(test_writer_identity),
		cmocka_unit_test(test_writer_existing_nodes),
		cmocka_unit_test(test_writer_replaces_seeds),
		cmocka_unit_test(test_writer_creates_nodes),
		cmocka_unit_test(test_writer_small_dst),
		cmocka_unit_test(test_bootargs_get),
		cmocka_unit_test(test_parse_u64),
	};

	return cmocka_run_group_tests_name("fdt", tests, load_libfdt_check, NULL);
}
