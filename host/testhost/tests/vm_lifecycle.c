/*
 * VM lifecycle as the host sees it: capabilities, the measurement FINALIZE
 * reports, and a create/run/destroy cycle of several VMs that must leave the
 * core's page and object counters (MOAT_FN_STATS) exactly as they were.
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)
#define LIFECYCLE_VMS 8

TEST(vm_caps)
{
	struct moat_result r = moat_hvc(MOAT_FN_CAPS, 0, 0, 0);

	tprintf("caps: status %ld, types 0x%lx, features 0x%lx, max VMs %u, max vCPUs per VM %u\n", r.status, r.r1,
		r.r2, MOAT_CAPS_MAX_VMS(r.r3), MOAT_CAPS_MAX_VCPUS(r.r3));
	CHECK_EQ(r.status, MOAT_OK);
	CHECK_EQ(r.r1, (1UL << MOAT_VM_NORMAL) | (1UL << MOAT_VM_PROTECTED));
	CHECK_EQ(r.r2, 0);
	CHECK(MOAT_CAPS_MAX_VMS(r.r3) >= LIFECYCLE_VMS, "max VMs %u", MOAT_CAPS_MAX_VMS(r.r3));
	CHECK(MOAT_CAPS_MAX_VCPUS(r.r3) >= 1, "max vCPUs %u", MOAT_CAPS_MAX_VCPUS(r.r3));
	CHECK_EQ(r.r3 >> 32, 0);
}

/* ---- measurement ---------------------------------------------------------------- */

struct measured {
	struct vmm_vm vm;
	u64 word[4];
};

static bool measurement_words(struct measured *m)
{
	bool ok = true;

	for (u64 w = 0; w < 4; w++) {
		struct moat_result r = moat_hvc(MOAT_FN_MEASUREMENT, m->vm.handle, w, 0);

		ok &= CHECK_EQ(r.status, MOAT_OK);
		m->word[w] = r.r1;
	}
	return ok;
}

/* Build up to (not including) FINALIZE, check MEASUREMENT is refused, then finalize and read it. */
static bool build_measured(struct measured *m, u64 type, const char *image, u64 x0)
{
	bool ok = CHECK_EQ(vmm_create(&m->vm, type, 1 * MIB), MOAT_OK) && CHECK_EQ(vmm_add_vcpu0(&m->vm), MOAT_OK) &&
		  CHECK_EQ(vmm_load(&m->vm, image), MOAT_OK);

	if (!ok) {
		return false;
	}
	for (u64 w = 0; w < 4; w++) {
		struct moat_result r = moat_hvc(MOAT_FN_MEASUREMENT, m->vm.handle, w, 0);

		ok &= CHECK_EQ(r.status, MOAT_E_STATE) && CHECK_EQ(r.r1, 0);
	}
	ok &= CHECK_EQ(vmm_finalize(&m->vm, x0), MOAT_OK) && measurement_words(m);
	if (!ok) {
		return false;
	}
	for (unsigned int w = 0; w < 3; w++) {
		ok &= CHECK(m->vm.measurement[w] == m->word[w], "FINALIZE x%u 0x%lx != MEASUREMENT word %u 0x%lx",
			    w + 1, m->vm.measurement[w], w, m->word[w]);
	}
	ok &= CHECK_EQ(moat_hvc(MOAT_FN_MEASUREMENT, m->vm.handle, 4, 0).status, MOAT_E_RANGE);
	tprintf("measurement: %s %s x0=%lu: %016lx%016lx%016lx%016lx\n", type ? "protected" : "normal", image, x0,
		__builtin_bswap64(m->word[0]), __builtin_bswap64(m->word[1]), __builtin_bswap64(m->word[2]),
		__builtin_bswap64(m->word[3]));
	return ok;
}

static bool same_measurement(const struct measured *a, const struct measured *b)
{
	return !memcmp(a->word, b->word, sizeof(a->word));
}

TEST(vm_measurement)
{
	/* Two identical VMs, then one difference each: image, boot x0, type. */
	static const struct {
		u64 type;
		const char *image;
		u64 x0;
	} builds[] = {
		{ MOAT_VM_PROTECTED, "hello", 0 }, { MOAT_VM_PROTECTED, "hello", 0 }, { MOAT_VM_PROTECTED, "regs", 0 },
		{ MOAT_VM_PROTECTED, "hello", 1 }, { MOAT_VM_NORMAL, "hello", 0 },
	};
	static struct measured m[ARRAY_SIZE(builds)];
	static const char *const hello_lines[] = { "guest: hello from a moat VM", NULL };

	memset(m, 0, sizeof(m));
	for (unsigned int i = 0; i < ARRAY_SIZE(builds); i++) {
		if (!build_measured(&m[i], builds[i].type, builds[i].image, builds[i].x0)) {
			return;
		}
	}
	CHECK(m[0].word[0] | m[0].word[1] | m[0].word[2] | m[0].word[3], "measurement is all zero");
	CHECK(same_measurement(&m[0], &m[1]), "the same image and configuration measured differently");
	CHECK(!same_measurement(&m[0], &m[2]), "a different image gave the same measurement");
	CHECK(!same_measurement(&m[0], &m[3]), "a different boot x0 gave the same measurement");
	CHECK(!same_measurement(&m[0], &m[4]), "a different VM type gave the same measurement");
	/* Running the guest to SYSTEM_OFF does not change what was measured. */
	m[0].vm.console_echo = true;
	m[0].vm.expect = hello_lines;
	vmm_run_to_off(&m[0].vm);
	{
		struct measured after = m[0];

		CHECK(measurement_words(&after) && same_measurement(&after, &m[0]),
		      "measurement changed after the run");
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(m); i++) {
		CHECK(vmm_destroy(&m[i].vm) > 0, "destroy/reclaim of VM %u failed", i);
	}
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}

/*
 * ---- measurement v2 (docs/measurement.md): values the Python side recomputes -------
 * The hello image LOADed as vmm_load does, once as built and once with one byte changed (the
 * tampered page is still LOADed at its IPA); and once more with VM_SET_SPIS before the LOADs and once
 * after them: the mask is a field of M, so both orders give one value. test_vm.py recomputes every
 * value from build/guest/hello.bin with hashlib, never from these lines.
 */
#define TAMPER_OFFSET 0x1234UL /* a byte in hello's second page */

static long load_image_tampered(struct vmm_vm *vm, const char *image, u64 flip)
{
	const struct guest_image *img = guest_image_find(image);
	u64 size = (u64)(img->end - img->start);

	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		u64 pa = host_page_alloc();
		struct moat_result r;

		memcpy((void *)pa, img->start + off, MIN(PAGE_SIZE, size - off));
		if (flip >= off && flip < off + PAGE_SIZE) {
			((u8 *)pa)[flip - off] ^= 0x01;
		}
		r = moat_hvc(MOAT_FN_LOAD, vm->handle, pa, MOAT_GUEST_RAM_BASE + off);
		if (r.status) {
			return r.status;
		}
		vmm_remember_page(vm, pa);
	}
	return MOAT_OK;
}

TEST(vm_measure_v2)
{
	static const struct {
		const char *what;
		u64 flip; /* ~0: none */
		u64 spis;
		bool spis_first;
	} builds[] = {
		{ "hello", ~0UL, 0, false },
		{ "hello tampered", TAMPER_OFFSET, 0, false },
		{ "hello spis=0x2 before", ~0UL, 0x2, true },
		{ "hello spis=0x2 after", ~0UL, 0x2, false },
	};
	static struct measured m[ARRAY_SIZE(builds)];
	const struct guest_image *img = guest_image_find("hello");

	if (!CHECK(img && (u64)(img->end - img->start) > TAMPER_OFFSET, "hello image too small to tamper with")) {
		return;
	}
	memset(m, 0, sizeof(m));
	for (unsigned int i = 0; i < ARRAY_SIZE(builds); i++) {
		struct vmm_vm *vm = &m[i].vm;
		bool ok = CHECK_EQ(vmm_create(vm, MOAT_VM_PROTECTED, 1 * MIB), MOAT_OK) &&
			  CHECK_EQ(vmm_add_vcpu0(vm), MOAT_OK);

		if (ok && builds[i].spis_first) {
			ok = CHECK_EQ(moat_hvc(MOAT_FN_VM_SET_SPIS, vm->handle, builds[i].spis, 0).status, MOAT_OK);
		}
		ok = ok && CHECK_EQ(load_image_tampered(vm, "hello", builds[i].flip), MOAT_OK);
		if (ok && !builds[i].spis_first) {
			ok = CHECK_EQ(moat_hvc(MOAT_FN_VM_SET_SPIS, vm->handle, builds[i].spis, 0).status, MOAT_OK);
		}
		/* One LOAD below the last one: refused, and it must not change the measurement below. */
		ok = ok && CHECK_EQ(moat_hvc(MOAT_FN_LOAD, vm->handle, host_page_alloc(), MOAT_GUEST_RAM_BASE).status,
				    MOAT_E_ORDER);
		ok = ok && CHECK_EQ(vmm_finalize(vm, 0), MOAT_OK) && measurement_words(&m[i]);
		if (!ok) {
			return;
		}
		tprintf("measure_v2: %s: %016lx%016lx%016lx%016lx\n", builds[i].what, __builtin_bswap64(m[i].word[0]),
			__builtin_bswap64(m[i].word[1]), __builtin_bswap64(m[i].word[2]), __builtin_bswap64(m[i].word[3]));
	}
	tprintf("measure_v2: tampered byte at offset 0x%lx, config: 1 vCPU, 1 MiB, MMIO 0x%lx+0x%lx, pc 0x%lx x0 0\n",
		TAMPER_OFFSET, VMM_MMIO_BASE, VMM_MMIO_SIZE, MOAT_GUEST_RAM_BASE);
	CHECK(!same_measurement(&m[0], &m[1]), "a tampered byte left the measurement unchanged");
	CHECK(same_measurement(&m[2], &m[3]), "VM_SET_SPIS before and after the LOADs measured differently");
	for (unsigned int i = 0; i < ARRAY_SIZE(m); i++) {
		CHECK(vmm_destroy(&m[i].vm) > 0, "destroy/reclaim of VM %u failed", i);
	}
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}

/* ---- lifecycle: counters back to where they were ------------------------------- */

static void print_stats(const char *when, const struct vmm_stats *s)
{
	tprintf("lifecycle: %s: owners host %lu core %lu vms %lu; pending %lu, shared core %lu vms %lu; "
		"vms %lu vcpus %lu, pool free %lu\n",
		when, s->w[0][0], s->w[0][1], s->w[0][2], s->w[1][0], s->w[1][1], s->w[1][2], s->w[2][0], s->w[2][1],
		s->w[2][2]);
}

TEST(vm_lifecycle)
{
	static struct vmm_vm vms[LIFECYCLE_VMS];
	static const char *const hello_lines[] = {
		"guest: hello from a moat VM",
		"guest: SMCCC version 0x10001",
		NULL,
	};
	struct vmm_stats before, during, after;

	memset(vms, 0, sizeof(vms));
	CHECK(vmm_stats_read(&before), "STATS failed");
	print_stats("before", &before);
	for (unsigned int i = 0; i < LIFECYCLE_VMS; i++) {
		u64 type = i % 2 ? MOAT_VM_NORMAL : MOAT_VM_PROTECTED;

		vms[i].expect = hello_lines;
		if (!CHECK_EQ(vmm_build(&vms[i], type, "hello", 1 * MIB, i), MOAT_OK)) {
			return;
		}
	}
	CHECK(vmm_stats_read(&during), "STATS failed");
	print_stats("8 VMs built", &during);
	CHECK_EQ(during.w[2][0], before.w[2][0] + LIFECYCLE_VMS);
	CHECK_EQ(during.w[2][1], before.w[2][1] + LIFECYCLE_VMS);
	CHECK_EQ(during.w[1][1], before.w[1][1] + LIFECYCLE_VMS); /* run pages */
	for (unsigned int i = 0; i < LIFECYCLE_VMS; i++) {
		vmm_run_to_off(&vms[i]);
		/* A VM that powered off runs no more. */
		CHECK_EQ(moat_hvc(MOAT_FN_VCPU_RUN, vms[i].handle, 0, 0).status, MOAT_E_STATE);
	}
	for (unsigned int i = 0; i < LIFECYCLE_VMS; i++) {
		u64 given = vms[i].nr_pages;

		CHECK_EQ(vmm_destroy(&vms[i]), given);
	}
	CHECK(vmm_stats_read(&after), "STATS failed");
	print_stats("after", &after);
	if (!CHECK(vmm_stats_equal(&before, &after), "STATS differ after every VM was destroyed and reclaimed")) {
		vmm_stats_print_diff("lifecycle", &before, &after);
	}
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}
