/*
 * Unit tests for vmm/plan.c, the code moat-vmm and tools/moat-measure share to decide what goes into a
 * VM: the LOAD list (strictly ascending IPA, pages disjoint, exactly the layout's addresses and the
 * files' bytes), the boot registers, the VM's configuration, the devicetree's initrd properties, and
 * that two plans from the same inputs are byte-identical (the measurement depends on it). Also the
 * file reading: an empty file is refused with a message. Host-native under ASan + UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "vmm.h"

#define MIB VMM_MIB
#define PAGE VMM_PAGE_SIZE

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

/* An arm64 Image of len bytes (text_offset, image_size), body bytes from seed. */
static uint8_t *make_image(size_t len, uint64_t text_offset, uint64_t image_size, uint8_t seed)
{
	uint8_t *buf = malloc(len);

	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(i * 13 + seed);
	}
	memset(buf, 0, 64);
	put64(buf + 8, text_offset);
	put64(buf + 16, image_size);
	put64(buf + 24, 0xa);
	memcpy(buf + 56, "ARM\x64", 4);
	return buf;
}

static uint8_t *make_blob(size_t len, uint8_t seed)
{
	uint8_t *buf = malloc(len);

	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(i * 7 + seed);
	}
	return buf;
}

static struct vmm_args args(bool initrd)
{
	struct vmm_args a = { .kernel = "Image", .initrd = initrd ? "initrd" : NULL, .cmdline = "console=ttyAMA0",
			      .backend = "moat", .mem_size = 256 * MIB, .cpus = 2, .protected_vm = true };

	return a;
}

/* A plan from buffers (what vmm_plan_read would have read). */
static void plan(struct vmm_plan *p, const struct vmm_args *a, size_t kernel_len, size_t initrd_len)
{
	memset(p, 0, sizeof(*p));
	p->kernel = make_image(kernel_len, 0, 0x200000, 1);
	p->kernel_len = kernel_len;
	if (a->initrd) {
		p->initrd = make_blob(initrd_len, 2);
		p->initrd_len = initrd_len;
	}
	assert_int_equal(vmm_plan_prepare(a, p), 0);
}

static uint64_t chosen_u64(const void *fdt, const char *name)
{
	int len;
	const void *v = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), name, &len);
	fdt64_t x;

	assert_non_null(v);
	assert_int_equal(len, 8);
	memcpy(&x, v, 8);
	return fdt64_to_cpu(x);
}

static uint64_t page_end(const struct vmm_load *l)
{
	return l->ipa + (l->size + PAGE - 1) / PAGE * PAGE;
}

static void test_loads_ascending(void **state)
{
	struct vmm_args a = args(true);
	struct vmm_plan p;

	plan(&p, &a, 3 * PAGE + 17, 5 * PAGE + 3);
	assert_int_equal(p.nr_loads, 3);
	assert_string_equal(p.loads[0].what, "kernel");
	assert_string_equal(p.loads[1].what, "initrd");
	assert_string_equal(p.loads[2].what, "devicetree");
	/* The layout's addresses, the files' bytes. */
	assert_int_equal(p.loads[0].ipa, VMM_RAM_BASE);
	assert_ptr_equal(p.loads[0].data, p.kernel);
	assert_int_equal(p.loads[0].size, 3 * PAGE + 17);
	assert_int_equal(p.loads[1].ipa, p.layout.initrd_addr);
	assert_ptr_equal(p.loads[1].data, p.initrd);
	assert_int_equal(p.loads[1].size, 5 * PAGE + 3);
	assert_int_equal(p.loads[2].ipa, p.layout.dtb_addr);
	assert_ptr_equal(p.loads[2].data, p.dtb);
	assert_int_equal(p.loads[2].size, fdt_totalsize(p.dtb));
	for (unsigned int i = 0; i < p.nr_loads; i++) {
		assert_int_equal(p.loads[i].ipa % PAGE, 0);
		if (i) {
			assert_true(p.loads[i].ipa >= page_end(&p.loads[i - 1])); /* strictly ascending, disjoint pages */
		}
	}
	/* Everything inside the first 512 MiB of RAM (the DTB window) and RAM. */
	assert_true(page_end(&p.loads[2]) <= VMM_RAM_BASE + a.mem_size);
	/* The devicetree names the initrd where it is loaded. */
	assert_int_equal(chosen_u64(p.dtb, "linux,initrd-start"), p.loads[1].ipa);
	assert_int_equal(chosen_u64(p.dtb, "linux,initrd-end"), p.loads[1].ipa + p.loads[1].size);
	/* Boot registers: the Image's entry, x0 = the DTB. */
	assert_int_equal(p.boot_pc, VMM_RAM_BASE);
	assert_int_equal(p.boot_x0, p.loads[2].ipa);
	/* The VM's configuration, as moat-measure hashes it. */
	assert_true(p.spec.protected_vm);
	assert_int_equal(p.spec.mem_size, 256 * MIB);
	assert_int_equal(p.spec.cpus, 2);
	assert_int_equal(p.spec.mmio_base, VMM_MMIO_BASE);
	assert_int_equal(p.spec.mmio_size, VMM_MMIO_SIZE);
	assert_int_equal(p.spec.spi_mask, 1ULL << VMM_UART_SPI);
	vmm_plan_free(&p);
}

/* No initrd: two LOADs; an Image with a text_offset is loaded and entered there. */
static void test_loads_without_initrd(void **state)
{
	struct vmm_args a = args(false);
	struct vmm_plan p;

	memset(&p, 0, sizeof(p));
	p.kernel = make_image(2 * PAGE, 0x80000, 0x100000, 3);
	p.kernel_len = 2 * PAGE;
	a.mem_size = 64 * MIB;
	a.protected_vm = false;
	assert_int_equal(vmm_plan_prepare(&a, &p), 0);
	assert_int_equal(p.nr_loads, 2);
	assert_int_equal(p.loads[0].ipa, VMM_RAM_BASE + 0x80000);
	assert_int_equal(p.boot_pc, VMM_RAM_BASE + 0x80000);
	assert_int_equal(p.loads[1].ipa, p.layout.dtb_addr);
	assert_true(p.loads[1].ipa >= page_end(&p.loads[0]));
	assert_false(p.spec.protected_vm);
	assert_int_equal(p.spec.mem_size, 64 * MIB);
	vmm_plan_free(&p);
}

/* The same inputs twice: the same LOADs, byte for byte (nothing random or time-dependent). */
static void test_plan_deterministic(void **state)
{
	struct vmm_args a = args(true);
	struct vmm_plan p, q;
	int off;

	plan(&p, &a, 3 * PAGE, 2 * PAGE + 1);
	plan(&q, &a, 3 * PAGE, 2 * PAGE + 1);
	assert_int_equal(p.nr_loads, q.nr_loads);
	for (unsigned int i = 0; i < p.nr_loads; i++) {
		assert_int_equal(p.loads[i].ipa, q.loads[i].ipa);
		assert_int_equal(p.loads[i].size, q.loads[i].size);
		assert_memory_equal(p.loads[i].data, q.loads[i].data, p.loads[i].size);
	}
	assert_int_equal(p.boot_pc, q.boot_pc);
	assert_int_equal(p.boot_x0, q.boot_x0);
	/* No per-boot seeds in the measured devicetree. */
	off = fdt_path_offset(p.dtb, "/chosen");
	assert_true(off >= 0);
	assert_null(fdt_getprop(p.dtb, off, "rng-seed", NULL));
	assert_null(fdt_getprop(p.dtb, off, "kaslr-seed", NULL));
	vmm_plan_free(&p);
	vmm_plan_free(&q);
}

/* The order check itself: a LOAD below, or on the last page of, the previous one is refused with a message. */
static void test_check_order(void **state)
{
	static const uint8_t data[PAGE + 1];
	struct vmm_plan p;
	struct capture c;
	const char *msg;

	memset(&p, 0, sizeof(p));
	p.loads[0] = (struct vmm_load){ "kernel", VMM_RAM_BASE, data, PAGE + 1 };
	p.loads[1] = (struct vmm_load){ "initrd", VMM_RAM_BASE + 2 * PAGE, data, 1 };
	p.nr_loads = 2;
	assert_true(vmm_plan_check_order(&p));
	p.loads[1].ipa = VMM_RAM_BASE + PAGE; /* on the kernel's second (partial) page */
	capture_begin(&c, 2);
	assert_false(vmm_plan_check_order(&p));
	msg = capture_end(&c);
	assert_non_null(strstr(msg, "moat-vmm: the initrd at IPA 0x40001000 overlaps or precedes the kernel"));
	p.loads[1].ipa = VMM_RAM_BASE - PAGE;
	capture_begin(&c, 2);
	assert_false(vmm_plan_check_order(&p));
	capture_end(&c);
}

/* Files: read whole; an empty one is refused, named, before anything is built. */
static void test_read_files(void **state)
{
	char kpath[] = "/tmp/moat-plan-kXXXXXX", ipath[] = "/tmp/moat-plan-iXXXXXX";
	int kfd = mkstemp(kpath), ifd = mkstemp(ipath);
	uint8_t *img = make_image(PAGE + 5, 0, 0x10000, 9);
	struct vmm_args a = args(true);
	struct vmm_plan p;
	struct capture c;

	assert_true(kfd >= 0 && ifd >= 0);
	assert_int_equal(write(kfd, img, PAGE + 5), (ssize_t)(PAGE + 5));
	close(kfd);
	close(ifd); /* empty */
	a.kernel = kpath;
	a.initrd = ipath;
	capture_begin(&c, 2);
	assert_int_equal(vmm_plan_build(&a, &p), -1);
	assert_non_null(strstr(capture_end(&c), "--initrd"));
	vmm_plan_free(&p);
	assert_int_equal(truncate(ipath, 3 * PAGE), 0);
	assert_int_equal(vmm_plan_build(&a, &p), 0);
	assert_int_equal(p.nr_loads, 3);
	assert_memory_equal(p.loads[0].data, img, PAGE + 5);
	assert_int_equal(p.loads[1].size, 3 * PAGE);
	vmm_plan_free(&p);
	unlink(kpath);
	unlink(ipath);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_ascending),	   cmocka_unit_test(test_loads_without_initrd),
		cmocka_unit_test(test_plan_deterministic), cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_read_files),
	};

	return cmocka_run_group_tests_name("vmm_plan", tests, NULL, NULL);
}
