/*
 * Unit tests for vmm/image.c: arm64 Image header detection and the guest RAM layout (kernel, initrd,
 * DTB) against Documentation/arch/arm64/booting.rst. Host-native under ASan + UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmm.h"

#define RAM VMM_RAM_BASE
#define MIB VMM_MIB

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

/* A 64-byte arm64 Image header (booting.rst), followed by zero bytes up to len. */
static void make_image(uint8_t *buf, size_t len, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	memset(buf, 0, len);
	buf[0] = 0x4d; /* code0: "MZ" of an EFI-stub kernel, as Debian's */
	buf[1] = 0x5a;
	put64(buf + 8, text_offset);
	put64(buf + 16, image_size);
	put64(buf + 24, flags);
	memcpy(buf + 56, "ARM\x64", 4);
}

static void test_probe_image(void **state)
{
	static uint8_t buf[4096];
	struct vmm_kernel_info k;

	make_image(buf, sizeof(buf), 0, 0x2a00000, 0xa); /* 4K pages, anywhere: Debian 6.x's flags */
	assert_null(vmm_kernel_probe(buf, sizeof(buf), &k));
	assert_true(k.is_image);
	assert_int_equal(k.text_offset, 0);
	assert_int_equal(k.load_size, 0x2a00000); /* image_size (with BSS), not the file's 4 KiB */

	make_image(buf, sizeof(buf), 0x80000, 0x100000, 0);
	assert_null(vmm_kernel_probe(buf, sizeof(buf), &k));
	assert_int_equal(k.text_offset, 0x80000);
	assert_int_equal(k.load_size, 0x100000);
}

/* image_size 0 is a kernel before 3.17: text_offset is then 0x80000 whatever the field says. */
static void test_probe_old_image(void **state)
{
	static uint8_t buf[8192];
	struct vmm_kernel_info k;

	make_image(buf, sizeof(buf), 0x12345678, 0, 0);
	assert_null(vmm_kernel_probe(buf, sizeof(buf), &k));
	assert_true(k.is_image);
	assert_int_equal(k.text_offset, 0x80000);
	assert_int_equal(k.load_size, sizeof(buf));
}

/* A header whose image_size is below the file size would let the initrd overwrite the file's tail. */
static void test_probe_image_size_below_file(void **state)
{
	static uint8_t buf[3 * 4096];
	struct vmm_kernel_info k;

	make_image(buf, sizeof(buf), 0, 4096, 0);
	assert_null(vmm_kernel_probe(buf, sizeof(buf), &k));
	assert_int_equal(k.load_size, sizeof(buf));
}

static void test_probe_refuses(void **state)
{
	static uint8_t buf[4096];
	static const uint8_t gz[] = { 0x1f, 0x8b, 0x08, 0x00 };
	static const uint8_t zboot[] = { 'M', 'Z', 0, 0, 'z', 'i', 'm', 'g', 0, 0 };
	struct vmm_kernel_info k;
	const char *why;

	make_image(buf, sizeof(buf), 0, 0x100000, 1); /* flags bit 0: big-endian kernel */
	why = vmm_kernel_probe(buf, sizeof(buf), &k);
	assert_non_null(why);
	assert_non_null(strstr(why, "big-endian"));

	make_image(buf, sizeof(buf), 0x800, 0x100000, 0); /* not page-aligned */
	assert_non_null(strstr(vmm_kernel_probe(buf, sizeof(buf), &k), "text_offset"));
	make_image(buf, sizeof(buf), 2 * MIB, 0x100000, 0); /* past the 2 MiB block */
	assert_non_null(strstr(vmm_kernel_probe(buf, sizeof(buf), &k), "text_offset"));

	why = vmm_kernel_probe(gz, sizeof(gz), &k);
	assert_non_null(why);
	assert_non_null(strstr(why, "gzip"));
	why = vmm_kernel_probe(zboot, sizeof(zboot), &k);
	assert_non_null(why);
	assert_non_null(strstr(why, "zboot"));
}

/* No magic at 56 (or too short to hold a header): a raw binary, entered at RAM base. */
static void test_probe_raw(void **state)
{
	static uint8_t buf[4096];
	struct vmm_kernel_info k;

	memset(buf, 0xaa, sizeof(buf));
	assert_null(vmm_kernel_probe(buf, sizeof(buf), &k));
	assert_false(k.is_image);
	assert_int_equal(k.text_offset, 0);
	assert_int_equal(k.load_size, sizeof(buf));

	make_image(buf, sizeof(buf), 0x80000, 0x100000, 0);
	assert_null(vmm_kernel_probe(buf, 63, &k)); /* the magic's last byte is cut off */
	assert_false(k.is_image);
	assert_int_equal(k.load_size, 63);

	buf[56] = 'a'; /* "aRM\x64" */
	assert_null(vmm_kernel_probe(buf, sizeof(buf), &k));
	assert_false(k.is_image);
}

static struct vmm_kernel_info image(uint64_t text_offset, uint64_t size)
{
	struct vmm_kernel_info k = { .is_image = true, .text_offset = text_offset, .load_size = size };

	return k;
}

/* Debian-sized kernel, 256 MiB: kernel at RAM base, DTB at the top, initrd right below it. */
static void test_layout_typical(void **state)
{
	struct vmm_kernel_info k = image(0, 0x2a00000);
	struct vmm_layout l;

	assert_null(vmm_layout(256 * MIB, &k, 0x2400000, 0x123456, 0x1234, &l));
	assert_int_equal(l.kernel_addr, RAM);
	assert_int_equal(l.entry, RAM);
	assert_int_equal(l.kernel_end, RAM + 0x2a00000);
	assert_int_equal(l.dtb_addr, RAM + 256 * MIB - 0x2000); /* 0x1234 bytes, page-aligned down */
	assert_int_equal(l.initrd_addr, (l.dtb_addr - 0x123456) & ~0xfffULL);
	assert_int_equal(l.initrd_end, l.initrd_addr + 0x123456);
	assert_true(l.initrd_end <= l.dtb_addr);
}

static void test_layout_text_offset_and_raw(void **state)
{
	struct vmm_kernel_info k = image(0x80000, 0x100000);
	struct vmm_kernel_info raw = { .is_image = false, .load_size = 0x3000 };
	struct vmm_layout l;

	assert_null(vmm_layout(64 * MIB, &k, 0x80000, 0, 0x800, &l));
	assert_int_equal(l.kernel_addr, RAM + 0x80000);
	assert_int_equal(l.entry, RAM + 0x80000);
	assert_int_equal(l.kernel_end, RAM + 0x180000);
	assert_int_equal(l.initrd_addr, 0);
	assert_int_equal(l.initrd_end, 0);

	assert_null(vmm_layout(64 * MIB, &raw, 0x3000, 0, 0x800, &l));
	assert_int_equal(l.kernel_addr, RAM);
	assert_int_equal(l.entry, RAM);
	assert_int_equal(l.kernel_end, RAM + 0x3000);
	assert_int_equal(l.dtb_addr, RAM + 64 * MIB - 0x1000);
}

/* RAM above 512 MiB: the DTB and initrd stay below RAM base + 512 MiB. */
static void test_layout_big_ram(void **state)
{
	struct vmm_kernel_info k = image(0, 0x2a00000);
	struct vmm_layout l;

	assert_null(vmm_layout(4096 * MIB, &k, 0x2400000, 16 * MIB, 0x1000, &l));
	assert_int_equal(l.dtb_addr, RAM + 512 * MIB - 0x1000);
	assert_int_equal(l.initrd_addr, RAM + 512 * MIB - 0x1000 - 16 * MIB);
}

static void test_layout_too_big(void **state)
{
	struct vmm_kernel_info k = image(0, 0x2a00000);
	struct vmm_kernel_info raw = { .is_image = false, .load_size = 16 * MIB };
	struct vmm_layout l;
	const char *why;

	/* image_size (BSS included) over RAM, though the file alone would fit */
	why = vmm_layout(32 * MIB, &k, 0x1000000, 0, 0x1000, &l);
	assert_non_null(why);
	assert_string_equal(why, "the kernel image is larger than guest RAM (see --mem)");
	/* a raw binary of exactly RAM leaves no room for the DTB */
	why = vmm_layout(16 * MIB, &raw, 16 * MIB, 0, 0x1000, &l);
	assert_string_equal(why, "the kernel and the devicetree do not fit in guest RAM (see --mem)");
	/* kernel fits, initrd does not */
	why = vmm_layout(64 * MIB, &k, 0x2400000, 22 * MIB, 0x1000, &l);
	assert_string_equal(why, "the kernel, the initrd and the devicetree do not fit in guest RAM (see --mem)");
	/* a DTB over booting.rst's 2 MiB */
	why = vmm_layout(64 * MIB, &k, 0x2400000, 0, 2 * MIB + 1, &l);
	assert_string_equal(why, "the devicetree is larger than 2 MiB");
	/* a kernel reaching past RAM base + 512 MiB on a big VM: nowhere to put the DTB */
	k = image(0, 600 * MIB);
	why = vmm_layout(1024 * MIB, &k, 600 * MIB, 0, 0x1000, &l);
	assert_non_null(why);
}

/* Every layout that is accepted keeps booting.rst's rules, across many sizes. */
static void test_layout_invariants(void **state)
{
	static const uint64_t mems[] = { 4 * MIB, 16 * MIB, 64 * MIB, 256 * MIB, 511 * MIB, 512 * MIB, 3072 * MIB };
	static const uint64_t kernels[] = { 0x1000, 0x123457, 3 * MIB, 40 * MIB, 300 * MIB };
	static const uint64_t initrds[] = { 0, 1, 0xfff, 0x1000, 0x1001, 5 * MIB + 7, 100 * MIB };
	static const uint64_t dtbs[] = { 8, 0x1000, 0x1001, 0x10000, 2 * MIB };
	unsigned int accepted = 0;

	for (size_t a = 0; a < 7; a++) {
		for (size_t b = 0; b < 5; b++) {
			for (size_t c = 0; c < 7; c++) {
				for (size_t d = 0; d < 5; d++) {
					struct vmm_kernel_info k = image(b % 2 ? 0x80000 : 0, kernels[b]);
					uint64_t ram_end = RAM + mems[a];
					struct vmm_layout l;

					if (vmm_layout(mems[a], &k, kernels[b], initrds[c], dtbs[d], &l) != NULL) {
						continue;
					}
					accepted++;
					assert_true(l.kernel_end <= ram_end);
					assert_int_equal(l.dtb_addr % 4096, 0);
					assert_true(l.dtb_addr >= l.kernel_end);
					assert_true(l.dtb_addr + dtbs[d] <= ram_end);
					assert_true(l.dtb_addr + dtbs[d] <= RAM + 512 * MIB);
					if (initrds[c]) {
						assert_int_equal(l.initrd_addr % 4096, 0);
						assert_true(l.initrd_addr >= l.kernel_end);
						assert_true(l.initrd_end <= l.dtb_addr);
						assert_int_equal(l.initrd_end - l.initrd_addr, initrds[c]);
					}
				}
			}
		}
	}
	assert_true(accepted > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_image),	   cmocka_unit_test(test_probe_old_image),
		cmocka_unit_test(test_probe_image_size_below_file), cmocka_unit_test(test_probe_refuses),
		cmocka_unit_test(test_probe_raw),	   cmocka_unit_test(test_layout_typical),
		cmocka_unit_test(test_layout_text_offset_and_raw), cmocka_unit_test(test_layout_big_ram),
		cmocka_unit_test(test_layout_too_big),	   cmocka_unit_test(test_layout_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
