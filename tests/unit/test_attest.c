/*
 * Unit tests for core/attest.c and core/trng.c on the fake machine, the
 * guest calls issued as guest HVCs through VCPU_RUN (as in test_guest_mem.c):
 *
 *   - attest_init: no secret and an all-zero secret (compared with
 *     ct_equal) give no identity; a secret gives the chain, each link checked
 *     with ed25519_verify against keys derived here from the documented
 *     labels (docs/attestation.md);
 *   - MEASUREMENT / REPORT / SEALING_KEY: the bytes written into the guest's
 *     page, the cache maintenance around them, the sealing key's binding
 *     (image digest: yes; memory size: no), the refusals in their order
 *     (normal VM, x2/x3, alignment, range, a shared page, no identity) with
 *     nothing written, and the demand-paging exit for an unbacked page;
 *   - the DRBG against an HMAC-DRBG known answer, and the SMCCC TRNG calls:
 *     VERSION, FEATURES, GET_UUID, RND32/RND64 bit masks, INVALID_PARAMETERS,
 *     NO_ENTROPY before any seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <moat/abi.h>
#include <moat/attest.h>

#include "attest.h"
#include "ed25519.h"
#include "esr.h"
#include "fake_arch.h"
#include "fake_machine.h"
#include "guest_call.h"
#include "kdf.h"
#include "pagedb.h"
#include "trng.h"
#include "vcpu.h"
#include "vm.h"

#define EC(ec) ((u64)(ec) << ESR_EC_SHIFT)
#define RAM MOAT_GUEST_RAM_BASE
#define IPA_A (RAM + 0x10000)
#define IPA_B (RAM + 0x20000)
/* test_drbg_known_answer's expected output. */
#define DRBG_KAT_1                                                                                                   \
	0x32, 0x26, 0x43, 0x7d, 0xd9, 0xf9, 0x8b, 0x17, 0x59, 0x1a, 0xad, 0x73, 0x13, 0x83, 0x30, 0x32, 0x13, 0x43,  \
		0x9f, 0x64, 0xd0, 0x29, 0xa5, 0x76, 0x4e, 0x84, 0xe3, 0x62, 0x56, 0xdd, 0xeb, 0x79
#define DRBG_KAT_2                                                                                                   \
	0x68, 0xdd, 0xf0, 0xdf, 0x05, 0x2a, 0xf1, 0x13, 0xad, 0x63, 0x21, 0x43, 0xc8, 0x03, 0x9d, 0xe4, 0x7a, 0x59,  \
		0x8a, 0x61, 0x86, 0xf1, 0x8f, 0xd4, 0x74, 0xea, 0xc1, 0x2f, 0x1d, 0xec, 0xe4, 0x75

static struct fake_machine machine;
static struct fake_machine *const m = &machine;
static u64 call_regs[4];
static const u8 secret[32] = { 0x6d, 0x6f, 0x61, 0x74, 0x2d, 0x74, 0x65, 0x73, 0x74, 1, 2, 3, 4, 5, 6, 7,
			       8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 };
static const u8 image[4096] = { 0xd5, 0x03, 0x20, 0x1f }; /* "the core's text": any bytes */

static void exit_hook(struct vcpu *vcpu, unsigned int n)
{
	if (n == 0) {
		memcpy(vcpu->ctx.regs.x, call_regs, sizeof(call_regs));
	}
}

static int setup(void **state)
{
	fake_machine_init(m, 32);
	fake.exit_hook = exit_hook;
	attest_reset_for_test();
	trng_reset_for_test();
	return 0;
}

static int teardown(void **state)
{
	attest_reset_for_test();
	trng_reset_for_test();
	fake_machine_fini(m);
	return 0;
}

/* One VCPU_RUN in which the guest issues one HVC; the exit reason, x0..x3 in out. */
static u64 hvc_exit(const struct fm_vm *v, u64 x0, u64 x1, u64 x2, u64 x3, u64 out[4])
{
	u64 res[3];

	fake.nr_exits = fake.next_exit = 0;
	call_regs[0] = x0;
	call_regs[1] = x1;
	call_regs[2] = x2;
	call_regs[3] = x3;
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_HVC64) | ESR_IL, 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, 0), MOAT_OK);
	memcpy(out, fm_vcpu(v, 0)->ctx.regs.x, 4 * sizeof(u64));
	assert_int_equal(fm_violations(), 0);
	return res[0];
}

/* x0 of a call the guest continues from; x1 in *x1. */
static s64 call(const struct fm_vm *v, u64 fid, u64 a1, u64 a2, u64 a3, u64 *x1)
{
	u64 out[4];

	assert_int_equal(hvc_exit(v, fid, a1, a2, a3, out), MOAT_EXIT_IRQ);
	if (x1) {
		*x1 = out[1];
	}
	return (s64)out[0];
}

static u64 donate(const struct fm_vm *v, u64 ipa)
{
	u64 pa = fm_host_page(m);

	assert_int_equal(FM_CALL(MOAT_FN_DONATE_VM, v->handle, pa, ipa), MOAT_OK);
	return pa;
}

static void derive(u8 out[32], const u8 key[32], const char *label, const void *ctx, size_t ctx_len)
{
	u8 info[128];

	memcpy(info, label, strlen(label));
	if (ctx_len) {
		memcpy(info + strlen(label), ctx, ctx_len);
	}
	hkdf_sha256(out, 32, NULL, 0, key, 32, info, strlen(label) + ctx_len);
}

/* ---- identity ------------------------------------------------------------------------- */

static void test_no_secret_no_identity(void **state)
{
	static const u8 zero[32];

	assert_false(attest_init(image, sizeof(image), NULL));
	assert_false(attest_have_identity());
	/* An all-zero page: the firmware never filled it (ct_equal against zeros). */
	assert_false(attest_init(image, sizeof(image), zero));
	assert_false(attest_have_identity());
	/* One non-zero byte anywhere is a secret. */
	for (unsigned int i = 0; i < 32; i += 31) {
		u8 one[32] = { 0 };

		one[i] = 1;
		attest_reset_for_test();
		assert_true(attest_init(image, sizeof(image), one));
		assert_true(attest_have_identity());
	}
}

static void test_core_measurement(void **state)
{
	u8 want[32];
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, image, sizeof(image));
	sha256_final(&c, want);
	attest_init(image, sizeof(image), NULL);
	assert_memory_equal(attest_core_measurement(), want, 32);
}

/* ---- guest calls ---------------------------------------------------------------------- */

static void test_normal_vm_not_supported(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_NORMAL, 0);
	u64 pa = donate(&v, IPA_A), x1 = 7;

	assert_true(attest_init(image, sizeof(image), secret));
	fm_fill(pa, 0xaa);
	assert_int_equal(call(&v, MOAT_GFN_MEASUREMENT, IPA_A, 0, 0, &x1), MOAT_E_NOT_SUPPORTED);
	assert_int_equal(x1, 0);
	assert_int_equal(call(&v, MOAT_GFN_REPORT, IPA_A, 0, 0, NULL), MOAT_E_NOT_SUPPORTED);
	assert_int_equal(call(&v, MOAT_GFN_SEALING_KEY, IPA_A, 0, 0, NULL), MOAT_E_NOT_SUPPORTED);
	assert_true(fm_page_is(pa, 0xaa));
}

static void test_measurement_call(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 pa = donate(&v, IPA_A), x1 = 0;
	size_t from = fake.nr_ops;

	assert_false(attest_init(image, sizeof(image), NULL)); /* needs no identity */
	assert_int_equal(call(&v, MOAT_GFN_MEASUREMENT, IPA_A, 0, 0, &x1), 0);
	assert_int_equal(x1, 32);
	assert_memory_equal((void *)pa, fm_vm_of(&v)->measurement, 32);
	/* Cleaned to PoC: a guest reading with its MMU off sees memory, not the core's cache. */
	assert_true(fake_find_op(from, FAKE_DC_CVAC) != (size_t)-1);
}

static void test_refusals_in_order(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 pa = donate(&v, IPA_A), shared = donate(&v, IPA_B), out[4];

	assert_true(attest_init(image, sizeof(image), secret));
	fm_fill(pa, 0xaa);
	assert_int_equal(call(&v, KVM_FN_MEM_SHARE, IPA_B, 0, 0, NULL), 0);
	fm_fill(shared, 0xbb);
	for (u64 fid = MOAT_GFN_MEASUREMENT; fid <= MOAT_GFN_SEALING_KEY; fid++) {
		assert_int_equal(call(&v, fid, IPA_A, 1, 0, NULL), MOAT_E_INVAL);
		assert_int_equal(call(&v, fid, IPA_A, 0, 1, NULL), MOAT_E_INVAL);
		assert_int_equal(call(&v, fid, IPA_A + 8, 0, 0, NULL), MOAT_E_ALIGN);
		assert_int_equal(call(&v, fid, RAM - 4096, 0, 0, NULL), MOAT_E_RANGE);
		assert_int_equal(call(&v, fid, RAM + FM_VM_RAM_SIZE, 0, 0, NULL), MOAT_E_RANGE);
		assert_int_equal(call(&v, fid, FM_VM_MMIO_BASE, 0, 0, NULL), MOAT_E_RANGE);
		/* A page the host can read never receives an answer (nor has its challenge read). */
		assert_int_equal(call(&v, fid, IPA_B, 0, 0, NULL), MOAT_E_PERM);
		/* The loaded code page is the guest's own: fine. Not tested here: it would be overwritten. */
	}
	assert_true(fm_page_is(pa, 0xaa));
	assert_true(fm_page_is(shared, 0xbb));
	/* x1..x3 zero on every error. */
	assert_int_equal(hvc_exit(&v, MOAT_GFN_REPORT, IPA_B, 0, 0, out), MOAT_EXIT_IRQ);
	assert_int_equal(out[1] | out[2] | out[3], 0);
}

static void test_no_identity_errors(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 pa = donate(&v, IPA_A), shared = donate(&v, IPA_B);

	fm_fill(pa, 0xaa);
	assert_int_equal(call(&v, MOAT_GFN_REPORT, IPA_A, 0, 0, NULL), MOAT_E_NO_IDENTITY);
	assert_int_equal(call(&v, MOAT_GFN_SEALING_KEY, IPA_A, 0, 0, NULL), MOAT_E_NO_IDENTITY);
	assert_true(fm_page_is(pa, 0xaa));
	/* The page's checks come first: a shared page is PERM with or without identity. */
	assert_int_equal(call(&v, KVM_FN_MEM_SHARE, IPA_B, 0, 0, NULL), 0);
	assert_int_equal(call(&v, MOAT_GFN_SEALING_KEY, IPA_B, 0, 0, NULL), MOAT_E_PERM);
	(void)shared;
}

static void test_unbacked_page_demand_paged(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct vcpu *vcpu = fm_vcpu(&v, 0);
	u64 out[4], x1 = 0, elr = vcpu->ctx.regs.elr;

	assert_true(attest_init(image, sizeof(image), secret));
	assert_int_equal(hvc_exit(&v, MOAT_GFN_SEALING_KEY, IPA_A, 0, 0, out), MOAT_EXIT_MEM_FAULT);
	assert_int_equal(fm_run_page(&v)->u.mem_fault.ipa, IPA_A);
	/* Back on the HVC: the host donates the page and the same call runs again. */
	assert_int_equal(vcpu->ctx.regs.elr, elr - 4);
	donate(&v, IPA_A);
	assert_int_equal(call(&v, MOAT_GFN_SEALING_KEY, IPA_A, 0, 0, &x1), 0);
	assert_int_equal(x1, 32);
}

static void test_report_chain(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct vm *vm = fm_vm_of(&v);
	u64 pa = donate(&v, IPA_A), x1 = 0;
	struct moat_report r;
	u8 seed[32], pub[32], cdi[32], core_seed[32], ctx[68] = { 0 };
	size_t from;

	assert_true(attest_init(image, sizeof(image), secret));
	for (unsigned int i = 0; i < MOAT_CHALLENGE_SIZE; i++) {
		((u8 *)pa)[i] = (u8)(0xc0 + i);
	}
	from = fake.nr_ops;
	assert_int_equal(call(&v, MOAT_GFN_REPORT, IPA_A, 0, 0, &x1), 0);
	assert_int_equal(x1, sizeof(r));
	/* The challenge was read from memory (cleaned and invalidated first), the report cleaned after. */
	assert_true(fake_find_op(from, FAKE_DC_CIVAC) != (size_t)-1);
	assert_true(fake_find_op(from, FAKE_DC_CVAC) != (size_t)-1);
	memcpy(&r, (void *)pa, sizeof(r));

	assert_int_equal(r.magic, MOAT_REPORT_MAGIC);
	assert_int_equal(r.version, MOAT_REPORT_VERSION);
	assert_int_equal(r.size, sizeof(r));
	assert_int_equal(r.vm_type, MOAT_VM_PROTECTED);
	assert_int_equal(r.debug, 0);
	assert_int_equal(r.core_version, (MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR);
	for (unsigned int i = 0; i < MOAT_CHALLENGE_SIZE; i++) {
		assert_int_equal(r.challenge[i], (u8)(0xc0 + i));
	}
	assert_memory_equal(r.vm_measurement, vm->measurement, 32);
	assert_memory_equal(r.core_measurement, attest_core_measurement(), 32);

	/* The device key is HKDF(secret, "moat-device-id"): what tools/moat-provision computes. */
	derive(seed, secret, "moat-device-id", NULL, 0);
	ed25519_public_key(pub, seed);
	assert_memory_equal(r.core_cert.device_public_key, pub, 32);
	assert_true(ed25519_verify(pub, &r.core_cert, MOAT_CORE_CERT_SIGNED_SIZE, r.core_cert.signature));
	/* The core key from the CDI over core measurement || owner key || policy (no owner key: zeros). */
	memcpy(ctx, attest_core_measurement(), 32);
	derive(cdi, secret, "moat-cdi-attest", ctx, sizeof(ctx));
	derive(core_seed, cdi, "moat-core-key", NULL, 0);
	ed25519_public_key(pub, core_seed);
	assert_memory_equal(r.core_cert.core_public_key, pub, 32);
	assert_true(ed25519_verify(pub, &r.vm_cert, MOAT_VM_CERT_SIGNED_SIZE, r.vm_cert.signature));
	/* The VM key from the CDI and the VM measurement. */
	derive(seed, cdi, "moat-vm-key", vm->measurement, 32);
	ed25519_public_key(pub, seed);
	assert_memory_equal(r.vm_cert.vm_public_key, pub, 32);
	assert_memory_equal(r.vm_public_key, pub, 32);
	assert_true(ed25519_verify(pub, &r, MOAT_REPORT_BODY_SIZE, r.signature));
	/* One flipped bit of the body: no longer the VM key's signature. */
	r.challenge[0] ^= 1;
	assert_false(ed25519_verify(pub, &r, MOAT_REPORT_BODY_SIZE, r.signature));
}

/* The VM's sealing key, as the guest reads it from its page at IPA_A. */
static void read_sealing_key(const struct fm_vm *v, u64 pa, u8 key[32])
{
	u64 x1 = 0;

	assert_int_equal(call(v, MOAT_GFN_SEALING_KEY, IPA_A, 0, 0, &x1), 0);
	assert_int_equal(x1, 32);
	memcpy(key, (void *)pa, 32);
}

static void test_sealing_key_binding(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0), w = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct vm *vm = fm_vm_of(&v);
	u64 pa = donate(&v, IPA_A), pw = donate(&w, IPA_A);
	u8 key[32], again[32], want[32], cdi[32], ctx[68] = { 0 };

	assert_true(attest_init(image, sizeof(image), secret));
	read_sealing_key(&v, pa, key);
	/* HKDF of the sealing CDI (core measurement || owner key || policy) and the image digest. */
	memcpy(ctx, attest_core_measurement(), 32);
	derive(cdi, secret, "moat-cdi-seal", ctx, sizeof(ctx));
	derive(want, cdi, "moat-vm-sealing-key", vm->image_digest, 32);
	assert_memory_equal(key, want, 32);
	/* Another VM of the same image: the same key. */
	read_sealing_key(&w, pw, again);
	assert_memory_equal(key, again, 32);
	/* A measurement that differs only outside the image (memory size, vCPUs): still the same key. */
	vm->measurement[0] ^= 1;
	read_sealing_key(&v, pa, again);
	assert_memory_equal(key, again, 32);
	/* Another image: another key. */
	vm->image_digest[31] ^= 1;
	read_sealing_key(&v, pa, again);
	assert_memory_not_equal(key, again, 32);
	/* Another device secret: another key. */
	vm->image_digest[31] ^= 1;
	attest_reset_for_test();
	assert_true(attest_init(image, sizeof(image), image + 1)); /* 32 other bytes, not all zero */
	read_sealing_key(&v, pa, again);
	assert_memory_not_equal(key, again, 32);
	/* Another core image: another key (docs/attestation.md: a core update changes the sealing keys). */
	attest_reset_for_test();
	assert_true(attest_init(image + 4, sizeof(image) - 4, secret));
	read_sealing_key(&v, pa, again);
	assert_memory_not_equal(key, again, 32);
}

/* ---- TRNG ------------------------------------------------------------------------------ */

/* One TRNG call; x0..x3 in out. */
static void trng(const struct fm_vm *v, u64 fid, u64 a1, u64 out[4])
{
	assert_int_equal(hvc_exit(v, fid, a1, 0, 0, out), MOAT_EXIT_IRQ);
}

static void test_trng_discovery(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 out[4];

	trng(&v, TRNG_VERSION, 0, out);
	assert_int_equal(out[0], 0x10000);
	for (u64 fid = TRNG_VERSION; fid <= TRNG_RND32; fid++) {
		trng(&v, TRNG_FEATURES, fid, out);
		assert_int_equal(out[0], 0);
	}
	trng(&v, TRNG_FEATURES, TRNG_RND64, out);
	assert_int_equal(out[0], 0);
	trng(&v, TRNG_FEATURES, 0x84000054UL, out);
	assert_int_equal(out[0], (u64)-1);
	trng(&v, TRNG_FEATURES, 1UL << 32 | TRNG_RND32, out); /* SMC32: w1 only */
	assert_int_equal(out[0], 0);
	trng(&v, TRNG_GET_UUID, 0, out);
	assert_int_equal(out[0], 0x74616f6d);
	assert_int_equal(out[1], 0x6e72742d);
	assert_int_equal(out[2], 0x4f4dc1a7);
	assert_int_equal(out[3], 0x01005441);
}

static void test_trng_rnd(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_NORMAL, 0); /* normal VMs are served too */
	u64 out[4], prev[4];

	/* No seed yet: NO_ENTROPY, all of x1..x3 zero. */
	trng(&v, TRNG_RND64, 64, out);
	assert_int_equal(out[0], (u64)-3);
	assert_int_equal(out[1] | out[2] | out[3], 0);
	trng_seed("seed", 4);
	for (u64 bad = 0; bad < 2; bad++) {
		trng(&v, TRNG_RND64, bad ? 193 : 0, out);
		assert_int_equal(out[0], (u64)-2);
		assert_int_equal(out[1] | out[2] | out[3], 0);
		trng(&v, TRNG_RND32, bad ? 97 : 0, out);
		assert_int_equal(out[0], (u64)-2);
	}
	/* The N bits are the low bits of x3, then x2, then x1; nothing above N. */
	trng(&v, TRNG_RND64, 8, out);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1] | out[2] | (out[3] >> 8), 0);
	trng(&v, TRNG_RND64, 130, out);
	assert_int_equal(out[1] >> 2, 0);
	trng(&v, TRNG_RND32, 96, out);
	assert_int_equal((out[1] | out[2] | out[3]) >> 32, 0);
	trng(&v, TRNG_RND32, 40, out);
	assert_int_equal(out[1] | (out[2] >> 8) | (out[3] >> 32), 0);
	trng(&v, TRNG_RND64, 192, prev);
	trng(&v, TRNG_RND64, 192, out);
	assert_int_equal(out[0], 0);
	assert_memory_not_equal(&prev[1], &out[1], 24);
}

/*
 * HMAC-DRBG (SP 800-90A, HMAC-SHA-256, no reseed, no additional input):
 * instantiate with 32 bytes 0x00..0x1f, generate 32 bytes twice. Expected
 * output computed with an independent Python implementation of §10.1.2
 * (hashlib/hmac), kept here as the known answer.
 */
static void test_drbg_known_answer(void **state)
{
	static const u8 want1[32] = { DRBG_KAT_1 };
	static const u8 want2[32] = { DRBG_KAT_2 };
	u8 seed[32], out[32];

	for (unsigned int i = 0; i < 32; i++) {
		seed[i] = (u8)i;
	}
	assert_false(trng_generate(out, sizeof(out)));
	trng_seed(seed, sizeof(seed));
	assert_true(trng_generate(out, sizeof(out)));
	assert_memory_equal(out, want1, 32);
	assert_true(trng_generate(out, sizeof(out)));
	assert_memory_equal(out, want2, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_secret_no_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_measurement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_normal_vm_not_supported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_measurement_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_identity_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbacked_page_demand_paged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealing_key_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trng_discovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trng_rnd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drbg_known_answer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
