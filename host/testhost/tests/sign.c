/*
 * The owner's policy seen from the host (tests/integration/test_sign.py):
 * FINALIZE of a protected "hello" guest with and without the owner's
 * signature blob, on a core booted with moat.policy= / moat.owner_key=.
 *
 * Bootargs:
 *   sign.mode=measure   (open core) FINALIZE unsigned, print the measurement:
 *                       "sign: measurement <64 hex digits>" for moat-sign
 *   sign.mode=enforce   (enforcing core) the refusals in turn on one VM, which
 *                       stays CREATED after each: unsigned -> MOAT_E_UNSIGNED,
 *                       blob 1 (another key) -> MOAT_E_WRONG_KEY, blob 2 (one
 *                       signature bit flipped) -> MOAT_E_BAD_SIGNATURE, blob 3
 *                       (corrupt) -> MOAT_E_CORRUPT; then blob 0 (the owner's)
 *                       -> finalized, and the guest runs; a second VM whose
 *                       image has one byte changed after signing, with blob 0
 *                       -> MOAT_E_BAD_SIGNATURE
 *   sign.mode=open      (open core with an owner key) unsigned runs, blob 0 runs,
 *                       blob 1 -> MOAT_E_WRONG_KEY (a given blob is checked)
 *   sign.mode=nokey     (enforcing core whose owner key was malformed) unsigned ->
 *                       MOAT_E_UNSIGNED, blob 0 -> MOAT_E_WRONG_KEY: nothing protected runs
 *   sign.blobs=PA       4 KiB slots of blobs (QEMU -device loader), slot i at PA + i * 4096
 */
#include <stddef.h>

#include "fmt.h"
#include "lib.h"
#include "moat/sign.h"
#include "test.h"
#include "vmm.h"

#define SLOTS 4
#define RAM_SIZE (16UL << 20)
#define TAMPER_OFFSET 0x100 /* a byte of the image's first page */

static const char *const hello_lines[] = { "guest: hello from a moat VM", NULL };

static u64 blobs_pa;

/* A fresh host page shared with the core holding blob slot i. */
static u64 share_blob(unsigned int slot)
{
	u64 pa = host_page_alloc();

	memcpy((void *)pa, (const void *)(blobs_pa + slot * PAGE_SIZE), MOAT_SIG_SIZE);
	return CHECK_EQ(moat_hvc(MOAT_FN_SHARE_CORE, pa, 0, 0).status, MOAT_OK) ? pa : 0;
}

static void unshare(u64 pa)
{
	CHECK_EQ(moat_hvc(MOAT_FN_UNSHARE_CORE, pa, 0, 0).status, MOAT_OK);
}

/* VM_CREATE, vCPU 0, LOAD of hello (with byte TAMPER_OFFSET flipped when tamper), SET_BOOT: ready to FINALIZE. */
static bool prepare(struct vmm_vm *vm, bool tamper)
{
	const struct guest_image *img = guest_image_find("hello");
	long ret = vmm_create(vm, MOAT_VM_PROTECTED, RAM_SIZE);
	u64 size = (u64)(img->end - img->start);

	if (!ret) {
		ret = vmm_add_vcpu0(vm);
	}
	vm->image = "hello";
	for (u64 off = 0; !ret && off < size; off += PAGE_SIZE) {
		u64 pa = host_page_alloc();

		memcpy((void *)pa, img->start + off, MIN(PAGE_SIZE, size - off));
		if (tamper && off == 0) {
			*(volatile u8 *)(pa + TAMPER_OFFSET) ^= 0x01;
		}
		ret = moat_hvc(MOAT_FN_LOAD, vm->handle, pa, MOAT_GUEST_RAM_BASE + off).status;
		if (!ret) {
			vmm_remember_page(vm, pa);
		}
	}
	if (!ret) {
		ret = moat_hvc(MOAT_FN_SET_BOOT, vm->handle, MOAT_GUEST_RAM_BASE, 0).status;
	}
	return CHECK_EQ(ret, MOAT_OK);
}

static bool read_measurement(const struct vmm_vm *vm, u8 out[32])
{
	for (unsigned int w = 0; w < 4; w++) {
		struct moat_result r = moat_hvc(MOAT_FN_MEASUREMENT, vm->handle, w, 0);

		if (!CHECK_EQ(r.status, MOAT_OK)) {
			return false;
		}
		memcpy(out + 8 * w, &r.r1, 8);
	}
	return true;
}

static void print_measurement(const char *what, const u8 m[32])
{
	char hex[65];

	for (unsigned int i = 0; i < 32; i++) {
		fmt_format(hex + 2 * i, 3, "%02x", m[i]);
	}
	tprintf("sign: %s %s\n", what, hex);
}

/* FINALIZE with blob slot (or none when slot < 0): the status, the page unshared again. */
static long finalize_with(struct vmm_vm *vm, int slot)
{
	u64 pa = slot < 0 ? 0 : share_blob((unsigned int)slot);
	long ret;

	if (slot >= 0 && !pa) {
		return MOAT_E_INVAL;
	}
	ret = vmm_finalize_signed(vm, pa);
	if (slot < 0) {
		tprintf("sign: FINALIZE unsigned -> %ld\n", ret);
	} else {
		tprintf("sign: FINALIZE with blob %d -> %ld\n", slot, ret);
	}
	if (pa) {
		unshare(pa);
	}
	return ret;
}

static void run_and_destroy(struct vmm_vm *vm)
{
	vmm_run_to_off(vm);
	CHECK(vmm_destroy(vm) > 0, "destroy");
}

static void mode_measure(void)
{
	struct vmm_vm vm = { .console_echo = true, .expect = hello_lines };
	u8 m[32];

	if (!prepare(&vm, false) || !CHECK_EQ(finalize_with(&vm, -1), MOAT_OK) || !read_measurement(&vm, m)) {
		return;
	}
	print_measurement("measurement", m);
	run_and_destroy(&vm);
}

static void mode_enforce(void)
{
	struct vmm_vm vm = { .console_echo = true, .expect = hello_lines }, bad = { 0 };
	u8 m[32];

	if (!prepare(&vm, false)) {
		return;
	}
	CHECK_EQ(finalize_with(&vm, -1), MOAT_E_UNSIGNED);
	CHECK_EQ(finalize_with(&vm, 1), MOAT_E_WRONG_KEY);
	CHECK_EQ(finalize_with(&vm, 2), MOAT_E_BAD_SIGNATURE);
	CHECK_EQ(finalize_with(&vm, 3), MOAT_E_CORRUPT);
	/* Every refusal left the VM as it was: MEASUREMENT still says "not finalized". */
	CHECK_EQ(moat_hvc(MOAT_FN_MEASUREMENT, vm.handle, 0, 0).status, MOAT_E_STATE);
	if (!CHECK_EQ(finalize_with(&vm, 0), MOAT_OK) || !read_measurement(&vm, m)) {
		return;
	}
	CHECK(!memcmp(m, (const void *)(blobs_pa + offsetof(struct moat_signature, measurement)), 32),
	      "the finalized measurement is not the signed one");
	print_measurement("signed measurement", m);
	run_and_destroy(&vm);

	/* One byte of the image changed after signing: the owner's own blob no longer fits. */
	if (!prepare(&bad, true)) {
		return;
	}
	CHECK_EQ(finalize_with(&bad, 0), MOAT_E_BAD_SIGNATURE);
	CHECK(vmm_destroy(&bad) > 0, "destroy");
}

static void mode_open(void)
{
	struct vmm_vm a = { .console_echo = true, .expect = hello_lines };
	struct vmm_vm b = { .console_echo = true, .expect = hello_lines };

	if (prepare(&a, false) && CHECK_EQ(finalize_with(&a, -1), MOAT_OK)) {
		run_and_destroy(&a);
	}
	if (prepare(&b, false)) {
		CHECK_EQ(finalize_with(&b, 1), MOAT_E_WRONG_KEY);
		if (CHECK_EQ(finalize_with(&b, 0), MOAT_OK)) {
			run_and_destroy(&b);
		}
	}
}

static void mode_nokey(void)
{
	struct vmm_vm vm = { 0 };

	if (prepare(&vm, false)) {
		CHECK_EQ(finalize_with(&vm, -1), MOAT_E_UNSIGNED);
		CHECK_EQ(finalize_with(&vm, 0), MOAT_E_WRONG_KEY);
		CHECK(vmm_destroy(&vm) > 0, "destroy");
	}
}

TEST(sign)
{
	char mode[16], v[32];

	if (!CHECK(bootargs_get(plat.info.bootargs, "sign.mode", mode, sizeof(mode)), "no sign.mode=")) {
		return;
	}
	if (strcmp(mode, "measure")) {
		if (!CHECK(bootargs_get(plat.info.bootargs, "sign.blobs", v, sizeof(v)) &&
				   parse_u64(v, strlen(v), &blobs_pa) && IS_ALIGNED(blobs_pa, PAGE_SIZE),
			   "sign.blobs=PA (page-aligned) is needed")) {
			return;
		}
		host_pages_reserve(blobs_pa, SLOTS * PAGE_SIZE);
	}
	if (!strcmp(mode, "measure")) {
		mode_measure();
	} else if (!strcmp(mode, "enforce")) {
		mode_enforce();
	} else if (!strcmp(mode, "open")) {
		mode_open();
	} else if (!strcmp(mode, "nokey")) {
		mode_nokey();
	} else {
		CHECK(false, "sign.mode=%s: measure, enforce, open or nokey", mode);
	}
}
