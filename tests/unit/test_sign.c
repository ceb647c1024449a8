/*
 * Unit tests for the owner policy (core/policy.c) and FINALIZE's signature
 * gate (core/sign.c, hc_finalize) on the fake machine:
 *
 *   - the bootargs parser: no parameters, a good key (either case), short,
 *     long, non-hex, empty and bare keys, unknown and bare modes, repeated
 *     parameters (agreeing: accepted; disagreeing: the safe side), look-alike
 *     parameter names; the key ID;
 *   - FINALIZE with x2 = a signature blob page: every error in its documented
 *     order (page checks, CORRUPT, UNSIGNED, WRONG_KEY, BAD_SIGNATURE), each
 *     refusal changing nothing (FM_REFUSED compares all of RAM and the VM
 *     table), a retry after a refusal, open mode (a given blob is still
 *     checked), enforce without a usable key, normal VMs;
 *   - the blob is read from the host page exactly once: the host rewriting
 *     the page right after the core's copy changes nothing
 *     (mem_copy_from_core_shared is wrapped at link time, see the Makefile).
 *
 * Signatures are made with OpenSSL (libcrypto), independently of the core's
 * own Ed25519, so that the core's verification is checked against another
 * implementation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include <moat/abi.h>
#include <moat/errors.h>
#include <moat/sign.h>

#include "fake_arch.h"
#include "fake_machine.h"
#include "policy.h"
#include "sign.h"
#include "spinlock.h"
#include "vm.h"

#define PROT MOAT_VM_PROTECTED
#define NORM MOAT_VM_NORMAL

static struct fake_machine machine;
static struct fake_machine *const m = &machine;

/* Two test-only Ed25519 keys from fixed seeds: the owner's and somebody else's. */
static const u8 owner_seed[32] = { [0 ... 31] = 0x11 };
static const u8 other_seed[32] = { [0 ... 31] = 0x22 };
static u8 owner_pub[32], other_pub[32];
static char owner_hex[65], other_hex[65];

static void hex_of(const u8 *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		sprintf(out + 2 * i, "%02x", p[i]);
	}
}

static EVP_PKEY *key_of(const u8 seed[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);

	assert_non_null(k);
	return k;
}

static void public_of(const u8 seed[32], u8 pub[32])
{
	EVP_PKEY *k = key_of(seed);
	size_t len = 32;

	assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &len), 1);
	assert_int_equal(len, 32);
	EVP_PKEY_free(k);
}

/* A blob as moat-sign writes it: seed signs "moat-measurement-v1" || measurement. */
static struct moat_signature make_blob(const u8 seed[32], const u8 measurement[32])
{
	struct moat_signature b = { .magic = MOAT_SIG_MAGIC, .version = MOAT_SIG_VERSION };
	u8 msg[MOAT_SIG_MESSAGE_LEN], pub[32], digest[32];
	size_t siglen = sizeof(b.signature);
	EVP_PKEY *k = key_of(seed);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	public_of(seed, pub);
	assert_int_equal(EVP_Digest(pub, 32, digest, NULL, EVP_sha256(), NULL), 1);
	memcpy(b.key_id, digest, sizeof(b.key_id));
	memcpy(b.measurement, measurement, 32);
	memcpy(msg, "moat-measurement-v1", 19);
	memcpy(msg + 19, measurement, 32);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, b.signature, &siglen, msg, sizeof(msg)), 1);
	assert_int_equal(siglen, 64);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return b;
}

static void set_policy(const char *fmt, ...)
{
	char args[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	policy_init(args);
}

/* ---- the link-time wrap of the core's one read of the blob page --------------------------- */

int __real_mem_copy_from_core_shared(u64 pa, void *dst, size_t len);
int __wrap_mem_copy_from_core_shared(u64 pa, void *dst, size_t len);

static unsigned int blob_reads;
static const void *after_copy; /* when set: what the "host" writes into the page right after the copy */

int __wrap_mem_copy_from_core_shared(u64 pa, void *dst, size_t len)
{
	int ret = __real_mem_copy_from_core_shared(pa, dst, len);

	blob_reads++;
	if (!ret && after_copy) {
		memcpy((void *)pa, after_copy, MOAT_SIG_SIZE);
	}
	return ret;
}

static int setup(void **state)
{
	fake_machine_init(m, 32);
	blob_reads = 0;
	after_copy = NULL;
	public_of(owner_seed, owner_pub);
	public_of(other_seed, other_pub);
	hex_of(owner_pub, 32, owner_hex);
	hex_of(other_pub, 32, other_hex);
	set_policy("moat.policy=enforce moat.owner_key=%s", owner_hex);
	return 0;
}

static int teardown(void **state)
{
	policy_init("");
	fake_machine_fini(m);
	return 0;
}

/* ---- the bootargs parser --------------------------------------------------------------- */

static void expect_policy(const char *bootargs, unsigned int bad, bool enforce, const u8 *key)
{
	struct moat_policy p;

	assert_int_equal(policy_parse(bootargs, &p), bad);
	assert_int_equal(p.enforce, enforce);
	assert_int_equal(p.have_owner_key, key != NULL);
	if (key) {
		assert_memory_equal(p.owner_key, key, 32);
	} else {
		static const u8 zero[32];

		assert_memory_equal(p.owner_key, zero, 32); /* no half-parsed key is left behind */
	}
}

static void test_policy_defaults(void **state)
{
	expect_policy("", 0, false, NULL);
	expect_policy("console=ttyAMA0 moat.host=0x41000000", 0, false, NULL);
	expect_policy("moat.policy=open", 0, false, NULL);
	/* Enforce without any key: accepted as the owner wrote it (every protected VM refused, see below). */
	expect_policy("moat.policy=enforce", 0, true, NULL);
}

static void test_policy_good_key(void **state)
{
	char args[200], upper[65];

	snprintf(args, sizeof(args), "console=ttyAMA0 moat.owner_key=%s", owner_hex);
	expect_policy(args, 0, false, owner_pub);
	snprintf(args, sizeof(args), "moat.owner_key=%s\tmoat.policy=enforce\n", owner_hex);
	expect_policy(args, 0, true, owner_pub);
	for (int i = 0; i < 65; i++) {
		upper[i] = (char)(owner_hex[i] >= 'a' && owner_hex[i] <= 'f' ? owner_hex[i] - 32 : owner_hex[i]);
	}
	snprintf(args, sizeof(args), "moat.policy=enforce moat.owner_key=%s", upper);
	expect_policy(args, 0, true, owner_pub);
}

static void test_policy_bad_key(void **state)
{
	char args[200];

	/* 63 and 65 digits, a non-hex digit, "0x" prefix, empty, bare. */
	snprintf(args, sizeof(args), "moat.policy=enforce moat.owner_key=%.63s", owner_hex);
	expect_policy(args, POLICY_BAD_KEY, true, NULL);
	snprintf(args, sizeof(args), "moat.policy=enforce moat.owner_key=%s0", owner_hex);
	expect_policy(args, POLICY_BAD_KEY, true, NULL);
	snprintf(args, sizeof(args), "moat.policy=open moat.owner_key=%.63sg", owner_hex);
	expect_policy(args, POLICY_BAD_KEY, false, NULL);
	snprintf(args, sizeof(args), "moat.owner_key=0x%.62s", owner_hex);
	expect_policy(args, POLICY_BAD_KEY, false, NULL);
	expect_policy("moat.owner_key= moat.policy=enforce", POLICY_BAD_KEY, true, NULL);
	expect_policy("moat.owner_key moat.policy=enforce", POLICY_BAD_KEY, true, NULL);
}

static void test_policy_bad_mode(void **state)
{
	char args[200];

	/* Anything but exactly open/enforce is enforce: a typo must not open the gate. */
	expect_policy("moat.policy=enforcing", POLICY_BAD_MODE, true, NULL);
	expect_policy("moat.policy=Open", POLICY_BAD_MODE, true, NULL);
	expect_policy("moat.policy=", POLICY_BAD_MODE, true, NULL);
	expect_policy("moat.policy", POLICY_BAD_MODE, true, NULL);
	expect_policy("moat.policy=open2", POLICY_BAD_MODE, true, NULL);
	snprintf(args, sizeof(args), "moat.policy=off moat.owner_key=%s", owner_hex);
	expect_policy(args, POLICY_BAD_MODE, true, owner_pub);
}

static void test_policy_repeated(void **state)
{
	char args[300];

	snprintf(args, sizeof(args), "moat.owner_key=%s moat.owner_key=%s", owner_hex, owner_hex);
	expect_policy(args, 0, false, owner_pub);
	/* Two different keys: neither (an appended word must not replace the owner's key). */
	snprintf(args, sizeof(args), "moat.policy=enforce moat.owner_key=%s moat.owner_key=%s", owner_hex, other_hex);
	expect_policy(args, POLICY_BAD_KEY, true, NULL);
	/* A bad copy spoils a good one, whichever comes first. */
	snprintf(args, sizeof(args), "moat.owner_key=%s moat.owner_key=zz", owner_hex);
	expect_policy(args, POLICY_BAD_KEY, false, NULL);
	snprintf(args, sizeof(args), "moat.owner_key=zz moat.owner_key=%s", owner_hex);
	expect_policy(args, POLICY_BAD_KEY, false, NULL);
	expect_policy("moat.policy=enforce moat.policy=enforce", 0, true, NULL);
	expect_policy("moat.policy=open moat.policy=open", 0, false, NULL);
	expect_policy("moat.policy=enforce moat.policy=open", POLICY_BAD_MODE, true, NULL);
	expect_policy("moat.policy=open moat.policy=enforce", POLICY_BAD_MODE, true, NULL);
}

static void test_policy_lookalikes(void **state)
{
	char args[200];

	snprintf(args, sizeof(args), "moat.owner_keys=%s xmoat.policy=enforce moat.policyx=enforce", owner_hex);
	expect_policy(args, 0, false, NULL);
	snprintf(args, sizeof(args), "a=moat.owner_key=%s b=moat.policy=enforce", owner_hex);
	expect_policy(args, 0, false, NULL);
}

static void test_policy_init_and_key_id(void **state)
{
	u8 id[8], digest[32];
	const struct moat_policy *p;

	set_policy("moat.owner_key=%s moat.policy=enforce", other_hex);
	p = policy_get();
	assert_true(p->enforce);
	assert_true(p->have_owner_key);
	assert_memory_equal(p->owner_key, other_pub, 32);
	policy_key_id(other_pub, id);
	assert_int_equal(EVP_Digest(other_pub, 32, digest, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(id, digest, 8);
	policy_init("");
	assert_false(policy_get()->enforce);
	assert_false(policy_get()->have_owner_key);
}

/* ---- FINALIZE ------------------------------------------------------------------------- */

/* A VM ready to FINALIZE, and the measurement it will get. */
static struct fm_vm ready_vm(unsigned int type, u8 measurement[32])
{
	struct fm_vm v = fm_build_vm(m, type, FM_NO_FINALIZE);
	struct vm *vm = fm_vm_of(&v);

	spin_lock(&vm->lock);
	vm_final_measurement(vm, measurement);
	spin_unlock(&vm->lock);
	return v;
}

/* A host page shared with the core holding blob. */
static u64 blob_page(const struct moat_signature *blob)
{
	u64 pa = fm_host_page(m);

	assert_int_equal(FM_CALL(MOAT_FN_SHARE_CORE, pa), MOAT_OK);
	memcpy((void *)pa, blob, sizeof(*blob));
	return pa;
}

static void expect_finalized(const struct fm_vm *v, const u8 measurement[32], long ret)
{
	u64 res[3];

	assert_int_equal(ret, MOAT_OK);
	assert_int_equal(fm_vm_of(v)->state, VM_FINALIZED);
	assert_memory_equal(fm_vm_of(v)->measurement, measurement, 32);
	assert_int_equal(FM_CALLR(res, MOAT_FN_MEASUREMENT, v->handle, 3), MOAT_OK);
	assert_memory_equal(&res[0], measurement + 24, 8);
	assert_int_equal(fm_violations(), 0);
}

static void test_enforce_unsigned(void **state)
{
	u8 mp[32], mn[32];
	struct fm_vm p = ready_vm(PROT, mp), n = ready_vm(NORM, mn);

	FM_REFUSED(m, MOAT_E_UNSIGNED, MOAT_FN_FINALIZE, p.handle);
	FM_REFUSED(m, MOAT_E_UNSIGNED, MOAT_FN_FINALIZE, p.handle, 0);
	assert_int_equal(fm_vm_of(&p)->state, VM_CREATED);
	/* Normal VMs are not gated: the host reads and changes them anyway. */
	expect_finalized(&n, mn, FM_CALL(MOAT_FN_FINALIZE, n.handle));
	/* A refused VM can still be destroyed. */
	assert_int_equal(FM_CALL(MOAT_FN_VM_DESTROY, p.handle), MOAT_OK);
}

static void test_enforce_signed(void **state)
{
	u8 mp[32], mn[32];
	struct fm_vm p = ready_vm(PROT, mp), n = ready_vm(NORM, mn);
	struct moat_signature bp = make_blob(owner_seed, mp), bn = make_blob(owner_seed, mn);
	u64 pp = blob_page(&bp), pn = blob_page(&bn);

	expect_finalized(&p, mp, FM_CALL(MOAT_FN_FINALIZE, p.handle, pp));
	/* A blob given for a normal VM is checked too, and it may run. */
	expect_finalized(&n, mn, FM_CALL(MOAT_FN_FINALIZE, n.handle, pn));
	/* The page stays the host's, shared with the core, until it unshares it. */
	assert_int_equal(FM_CALL(MOAT_FN_UNSHARE_CORE, pp), MOAT_OK);
	assert_int_equal(blob_reads, 2);
}

static void test_wrong_key(void **state)
{
	u8 mp[32];
	struct fm_vm p = ready_vm(PROT, mp);
	struct moat_signature b = make_blob(other_seed, mp);
	u64 pa = blob_page(&b);

	FM_REFUSED(m, MOAT_E_WRONG_KEY, MOAT_FN_FINALIZE, p.handle, pa);
	/* Right signature bytes under the owner key, but the blob names another key: still wrong key. */
	b = make_blob(owner_seed, mp);
	b.key_id[7] ^= 1;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_WRONG_KEY, MOAT_FN_FINALIZE, p.handle, pa);
}

static void test_bad_signature(void **state)
{
	u8 mp[32], other[32];
	struct fm_vm p = ready_vm(PROT, mp);
	struct moat_signature b;
	u64 pa = blob_page(&(struct moat_signature){ 0 });

	/* The owner signed another measurement (the image changed after signing). */
	memcpy(other, mp, 32);
	other[0] ^= 0x80;
	b = make_blob(owner_seed, other);
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_BAD_SIGNATURE, MOAT_FN_FINALIZE, p.handle, pa);
	/* The right measurement, one signature bit flipped: in R, then in S. */
	b = make_blob(owner_seed, mp);
	b.signature[5] ^= 0x10;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_BAD_SIGNATURE, MOAT_FN_FINALIZE, p.handle, pa);
	b = make_blob(owner_seed, mp);
	b.signature[40] ^= 0x01;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_BAD_SIGNATURE, MOAT_FN_FINALIZE, p.handle, pa);
	/* The blob's measurement field edited to match, the signature still over the old one. */
	b = make_blob(owner_seed, other);
	memcpy(b.measurement, mp, 32);
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_BAD_SIGNATURE, MOAT_FN_FINALIZE, p.handle, pa);
	/* After all these refusals the VM is still CREATED and the right blob finalizes it. */
	b = make_blob(owner_seed, mp);
	memcpy((void *)pa, &b, sizeof(b));
	expect_finalized(&p, mp, FM_CALL(MOAT_FN_FINALIZE, p.handle, pa));
}

static void test_corrupt_blob(void **state)
{
	u8 mp[32];
	struct fm_vm p = ready_vm(PROT, mp);
	struct moat_signature good = make_blob(owner_seed, mp), b;
	u64 pa = blob_page(&good);

	b = good;
	b.magic ^= 1;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_CORRUPT, MOAT_FN_FINALIZE, p.handle, pa);
	b = good;
	b.version = 2;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_CORRUPT, MOAT_FN_FINALIZE, p.handle, pa);
	b = good;
	b.version = 0;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_CORRUPT, MOAT_FN_FINALIZE, p.handle, pa);
	b = good;
	b.flags = 0x8000;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_CORRUPT, MOAT_FN_FINALIZE, p.handle, pa);
	/* An all-zero page is not "no signature". */
	memset((void *)pa, 0, PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_CORRUPT, MOAT_FN_FINALIZE, p.handle, pa);
	/* The parser alone: short input. */
	assert_int_equal(sign_parse(&good, MOAT_SIG_SIZE - 1, &b), MOAT_E_CORRUPT);
	assert_int_equal(sign_parse(&good, MOAT_SIG_SIZE, &b), MOAT_OK);
	assert_memory_equal(&b, &good, MOAT_SIG_SIZE);
}

static void test_blob_page_checks(void **state)
{
	u8 mp[32];
	struct fm_vm p = ready_vm(PROT, mp);
	struct moat_signature good = make_blob(owner_seed, mp);
	u64 unshared = fm_host_page(m), pa = blob_page(&good);

	memcpy((void *)unshared, &good, sizeof(good));
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_FINALIZE, p.handle, pa + 8);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_FINALIZE, p.handle, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_FINALIZE, p.handle, m->ram_base + m->ram_size);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_FINALIZE, p.handle, 0x1000);
	/* A host page not shared with the core, a core page, a page of the VM (its LOADed image). */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_FINALIZE, p.handle, unshared);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_FINALIZE, p.handle, m->core_base);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_FINALIZE, p.handle, p.code_pa);
	/* x3..x6 stay reserved. */
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_FINALIZE, p.handle, pa, 1);
	/* Lifecycle first: a finalized VM answers STATE whatever x2 holds. */
	expect_finalized(&p, mp, FM_CALL(MOAT_FN_FINALIZE, p.handle, pa));
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_FINALIZE, p.handle, 1);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_FINALIZE, p.handle, unshared);
}

static void test_check_order(void **state)
{
	u8 mp[32], other[32];
	struct fm_vm p = ready_vm(PROT, mp);
	struct moat_signature b;
	u64 pa = blob_page(&(struct moat_signature){ 0 });

	memset(other, 0x5a, sizeof(other));
	/* Corrupt before wrong key: a blob of another key with a bad version. */
	b = make_blob(other_seed, other);
	b.version = 7;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_CORRUPT, MOAT_FN_FINALIZE, p.handle, pa);
	/* Wrong key before bad signature: another key, another measurement, a broken signature. */
	b = make_blob(other_seed, other);
	b.signature[0] ^= 1;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_WRONG_KEY, MOAT_FN_FINALIZE, p.handle, pa);
	/* Page checks before the blob: the same corrupt bytes in an unshared page. */
	b.magic = 0;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_CORRUPT, MOAT_FN_FINALIZE, p.handle, pa);
	assert_int_equal(FM_CALL(MOAT_FN_UNSHARE_CORE, pa), MOAT_OK);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_FINALIZE, p.handle, pa);
}

static void test_open_mode(void **state)
{
	u8 mp[32], mq[32], mr[32], ms[32];
	struct fm_vm p = ready_vm(PROT, mp), q = ready_vm(PROT, mq), r = ready_vm(PROT, mr), s;
	struct moat_signature b;
	u64 pa = blob_page(&(struct moat_signature){ 0 });

	set_policy("moat.policy=open moat.owner_key=%s", owner_hex);
	/* No blob: runs, as before ABI 1.3. */
	expect_finalized(&p, mp, FM_CALL(MOAT_FN_FINALIZE, p.handle));
	/* A given blob is checked all the same, so a VMM can test its signing before enforce. */
	b = make_blob(other_seed, mq);
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_WRONG_KEY, MOAT_FN_FINALIZE, q.handle, pa);
	b = make_blob(owner_seed, mq);
	b.signature[63] ^= 0x40;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_BAD_SIGNATURE, MOAT_FN_FINALIZE, q.handle, pa);
	b.magic = 0;
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_CORRUPT, MOAT_FN_FINALIZE, q.handle, pa);
	b = make_blob(owner_seed, mq);
	memcpy((void *)pa, &b, sizeof(b));
	expect_finalized(&q, mq, FM_CALL(MOAT_FN_FINALIZE, q.handle, pa));
	/* Open without an owner key: nothing to check a blob against, so it names "another" key. */
	policy_init("");
	b = make_blob(owner_seed, mr);
	memcpy((void *)pa, &b, sizeof(b));
	FM_REFUSED(m, MOAT_E_WRONG_KEY, MOAT_FN_FINALIZE, r.handle, pa);
	expect_finalized(&r, mr, FM_CALL(MOAT_FN_FINALIZE, r.handle));
	/* The default policy is open: a plain FINALIZE still works. */
	s = ready_vm(PROT, ms);
	expect_finalized(&s, ms, FM_CALL(MOAT_FN_FINALIZE, s.handle));
}

static void test_enforce_without_key(void **state)
{
	u8 mp[32], mn[32];
	struct fm_vm p = ready_vm(PROT, mp), n = ready_vm(NORM, mn);
	struct moat_signature b = make_blob(owner_seed, mp);
	u64 pa = blob_page(&b);

	/* Enforce with a malformed key: no key; no protected VM can be finalized, signed or not. */
	set_policy("moat.policy=enforce moat.owner_key=%.60s", owner_hex);
	assert_true(policy_get()->enforce);
	assert_false(policy_get()->have_owner_key);
	FM_REFUSED(m, MOAT_E_UNSIGNED, MOAT_FN_FINALIZE, p.handle);
	FM_REFUSED(m, MOAT_E_WRONG_KEY, MOAT_FN_FINALIZE, p.handle, pa);
	expect_finalized(&n, mn, FM_CALL(MOAT_FN_FINALIZE, n.handle));
	/* A mistyped mode is enforce. */
	set_policy("moat.policy=opne moat.owner_key=%s", owner_hex);
	FM_REFUSED(m, MOAT_E_UNSIGNED, MOAT_FN_FINALIZE, p.handle);
	expect_finalized(&p, mp, FM_CALL(MOAT_FN_FINALIZE, p.handle, pa));
}

/* The host rewrites the page right after the core copied it: the copy decides, the page is read once. */
static void test_blob_read_once(void **state)
{
	u8 mp[32], mq[32];
	struct fm_vm p = ready_vm(PROT, mp), q = ready_vm(PROT, mq);
	struct moat_signature good = make_blob(owner_seed, mp), bad = good;
	struct moat_signature good_q = make_blob(owner_seed, mq);
	u64 pa = blob_page(&good);

	/* Good when copied, garbage afterwards: finalized. */
	bad.signature[0] ^= 1;
	bad.magic = 0;
	after_copy = &bad;
	blob_reads = 0;
	expect_finalized(&p, mp, FM_CALL(MOAT_FN_FINALIZE, p.handle, pa));
	assert_int_equal(blob_reads, 1);
	assert_memory_equal((void *)pa, &bad, sizeof(bad)); /* the "host" did write */
	/* Bad when copied, good afterwards: refused, and the VM is unchanged. */
	after_copy = &good_q;
	blob_reads = 0;
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, q.handle, pa), MOAT_E_CORRUPT);
	assert_int_equal(blob_reads, 1);
	assert_int_equal(fm_vm_of(&q)->state, VM_CREATED);
	/* No blob: the page is never read. */
	after_copy = NULL;
	blob_reads = 0;
	assert_int_equal(FM_CALL(MOAT_FN_FINALIZE, q.handle), MOAT_E_UNSIGNED);
	assert_int_equal(blob_reads, 0);
	expect_finalized(&q, mq, FM_CALL(MOAT_FN_FINALIZE, q.handle, pa));
	assert_int_equal(blob_reads, 1);
}

/* sign_check() alone: the decision table. */
static void test_sign_check_table(void **state)
{
	u8 meas[32] = { 1, 2, 3 };
	struct moat_signature good = make_blob(owner_seed, meas), other = make_blob(other_seed, meas);
	struct moat_policy open = { 0 }, enforce = { .enforce = true, .have_owner_key = true }, keyed = enforce;

	keyed.enforce = false;
	memcpy(enforce.owner_key, owner_pub, 32);
	memcpy(keyed.owner_key, owner_pub, 32);
	assert_int_equal(sign_check(&open, true, NULL, meas), MOAT_OK);
	assert_int_equal(sign_check(&open, true, &good, meas), MOAT_E_WRONG_KEY);
	assert_int_equal(sign_check(&keyed, true, NULL, meas), MOAT_OK);
	assert_int_equal(sign_check(&keyed, false, &good, meas), MOAT_OK);
	assert_int_equal(sign_check(&enforce, true, NULL, meas), MOAT_E_UNSIGNED);
	assert_int_equal(sign_check(&enforce, false, NULL, meas), MOAT_OK);
	assert_int_equal(sign_check(&enforce, true, &good, meas), MOAT_OK);
	assert_int_equal(sign_check(&enforce, true, &other, meas), MOAT_E_WRONG_KEY);
	meas[31] ^= 1;
	assert_int_equal(sign_check(&enforce, true, &good, meas), MOAT_E_BAD_SIGNATURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_policy_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_good_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_bad_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_bad_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_repeated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_lookalikes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_init_and_key_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enforce_unsigned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enforce_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_blob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_page_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enforce_without_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_read_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_check_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
