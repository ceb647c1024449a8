/*
 * Device identity, attestation and sealing (issue 14; docs/attestation.md
 * states the chain, this file implements it).
 *
 * Owns: the core's identity -- its measurement, the attestation CDI, the
 * core attestation key, the sealing CDI and the core certificate -- derived
 * once at boot from the device secret (attest_init, called by boot.c before
 * the host runs) and read-only afterwards; and the guest calls
 * MOAT_GFN_MEASUREMENT / _REPORT / _SEALING_KEY (attest_guest_call, called by
 * guest_hvc in guest_call.c on the CPU that has the caller loaded).
 *
 * Nothing here ever leaves core memory except what a protected guest asks
 * for, written into a page of its own RAM that it does not share with the
 * host: the report (public), the VM measurement (public) and the VM's own
 * sealing key. The device key's seed exists only during attest_init: it
 * signs the core certificate and is wiped. Every temporary copy of a seed
 * or a CDI is wiped before its function returns (secret_wipe).
 *
 * Lock: the identity needs none (written before the host runs, read-only
 * after). A guest call takes pagedb_lock then the VM's lock (the order of
 * pagedb.h) only to find the guest's page and copy the 64-byte challenge
 * in or the answer out; the derivations and the two Ed25519 signatures of a
 * report (a few million instructions) run with no lock held, so a report
 * never stalls other CPUs' page transitions. The page is looked up again
 * for the copy out: the guest may have shared or relinquished it meanwhile,
 * and the answer then is MOAT_E_PERM and nothing is written.
 */
#include "attest.h"

#include "arch.h"
#include "ed25519.h"
#include "guest_exit.h"
#include "kdf.h"
#include "lib.h"
#include "log.h"
#include "mem.h"
#include "moat/abi.h"
#include "moat/attest.h"
#include "policy.h"
#include "sha256.h"
#include "trng.h"
#include "vcpu.h"
#include "vm.h"

/* Labels of the derivations (HKDF-SHA-256 "info" prefixes, docs/attestation.md). */
#define LABEL_DEVICE_ID "moat-device-id"
#define LABEL_CDI_ATTEST "moat-cdi-attest"
#define LABEL_CDI_SEAL "moat-cdi-seal"
#define LABEL_CORE_KEY "moat-core-key"
#define LABEL_VM_KEY "moat-vm-key"
#define LABEL_VM_SEAL "moat-vm-sealing-key"
#define LABEL_DRBG "moat-drbg-seed"

#define CORE_VERSION ((MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR)

static struct {
	bool have_identity;
	u8 core_measurement[32];
	u8 cdi_attest[32]; /* secret: parent of every VM's attestation key */
	u8 cdi_seal[32];   /* secret: parent of every VM's sealing key */
	u8 core_seed[32];  /* secret: the core attestation key */
	struct moat_core_cert core_cert;
} attest;

/* The context every CDI is bound to: the core measurement, the owner key, the policy bits. */
struct cdi_context {
	u8 core_measurement[32];
	u8 owner_key[32];
	u8 policy[4]; /* little-endian MOAT_POLICY_* */
};

static void put_le32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

/*
 * out = HKDF-SHA-256(salt = none, ikm = key, info = label || context): every
 * key of the chain. The info is public (labels, measurements, keys of the
 * owner), only ikm is secret.
 */
static void derive(u8 out[32], const u8 key[32], const char *label, const void *context, size_t context_len)
{
	u8 info[128];
	size_t label_len = strlen(label);

	CHECK(label_len + context_len <= sizeof(info));
	memcpy(info, label, label_len);
	if (context_len) {
		memcpy(info + label_len, context, context_len);
	}
	hkdf_sha256(out, 32, NULL, 0, key, 32, info, label_len + context_len);
}

static u32 policy_bits(const struct moat_policy *p)
{
	return (p->have_owner_key ? MOAT_POLICY_OWNER_KEY : 0) | (p->enforce ? MOAT_POLICY_ENFORCE : 0);
}

bool attest_init(const void *core_image, size_t core_len, const u8 *secret)
{
	static const u8 unset[ATTEST_SECRET_SIZE];
	const struct moat_policy *policy = policy_get();
	struct moat_core_cert *cert = &attest.core_cert;
	struct cdi_context ctx;
	struct sha256_ctx sha;
	u8 device_seed[32];

	sha256_init(&sha);
	sha256_update(&sha, core_image, core_len);
	sha256_final(&sha, attest.core_measurement);
	/* A comparison of the secret: constant-time, like every other use of it. */
	if (!secret || ct_equal(secret, unset, ATTEST_SECRET_SIZE)) {
		log_info("attestation: no device secret (bootargs moat.secret): no identity; core measurement "
			 "%02x%02x%02x%02x...",
			 attest.core_measurement[0], attest.core_measurement[1], attest.core_measurement[2],
			 attest.core_measurement[3]);
		return false;
	}

	memset(&ctx, 0, sizeof(ctx));
	memcpy(ctx.core_measurement, attest.core_measurement, 32);
	if (policy->have_owner_key) {
		memcpy(ctx.owner_key, policy->owner_key, 32);
	}
	put_le32(ctx.policy, policy_bits(policy));

	/* The DRBG's share of the secret: a device with a secret has entropy even without rng-seed. */
	derive(device_seed, secret, LABEL_DRBG, NULL, 0);
	trng_seed(device_seed, sizeof(device_seed));
	derive(device_seed, secret, LABEL_DEVICE_ID, NULL, 0);
	derive(attest.cdi_attest, secret, LABEL_CDI_ATTEST, &ctx, sizeof(ctx));
	derive(attest.cdi_seal, secret, LABEL_CDI_SEAL, &ctx, sizeof(ctx));
	derive(attest.core_seed, attest.cdi_attest, LABEL_CORE_KEY, NULL, 0);

	memset(cert, 0, sizeof(*cert));
	cert->magic = MOAT_CORE_CERT_MAGIC;
	cert->version = MOAT_REPORT_VERSION;
	memcpy(cert->core_measurement, attest.core_measurement, 32);
	cert->core_version = CORE_VERSION;
	cert->policy = policy_bits(policy);
	memcpy(cert->owner_key, ctx.owner_key, 32);
	ed25519_public_key(cert->core_public_key, attest.core_seed);
	ed25519_public_key(cert->device_public_key, device_seed);
	ed25519_sign(cert->signature, device_seed, cert->device_public_key, cert, MOAT_CORE_CERT_SIGNED_SIZE);
	/* The device key has done its one job: from here on only the core key and the CDIs exist. */
	secret_wipe(device_seed, sizeof(device_seed));
	attest.have_identity = true;
	log_info("attestation: device key %02x%02x%02x%02x..., core measurement %02x%02x%02x%02x..., policy 0x%x",
		 cert->device_public_key[0], cert->device_public_key[1], cert->device_public_key[2],
		 cert->device_public_key[3], attest.core_measurement[0], attest.core_measurement[1],
		 attest.core_measurement[2], attest.core_measurement[3], cert->policy);
	return true;
}

bool attest_have_identity(void)
{
	return attest.have_identity;
}

const u8 *attest_core_measurement(void)
{
	return attest.core_measurement;
}

void attest_reset_for_test(void)
{
	secret_wipe(&attest, sizeof(attest));
}

/*
 * The sealing key binds the image, not the VM's shape: the image digest
 * (loaded pages with their IPAs and the boot registers), under the sealing
 * CDI (core measurement, owner key, policy). Memory size and vCPU count are
 * left out so that the same image given more memory opens its own secrets.
 */
static const u8 *vm_image_digest(const struct vm *vm)
{
	return vm->image_digest;
}

/* ---- guest calls ------------------------------------------------------------ */

/*
 * Copy len bytes between buf and the guest's private page at ipa, under
 * pagedb_lock and the VM's lock. MOAT_E_NOENT when nothing backs ipa yet,
 * MOAT_E_PERM when the page is not the VM's alone (shared with the host,
 * borrowed from it, being unshared).
 */
static int guest_page_copy(struct vm *vm, u64 ipa, void *buf, size_t len, bool to_guest)
{
	u64 pa = 0;
	int ret;

	spin_lock(&pagedb_lock);
	spin_lock(&vm->lock);
	ret = mem_guest_private_pa(vm, ipa, &pa);
	if (ret == MOAT_OK) {
		if (to_guest) {
			memcpy(phys_to_virt(pa), buf, len);
			/* The guest may read with its MMU (and so its caches) off. */
			arch_dcache_clean_poc((u64)(uintptr_t)phys_to_virt(pa), len);
		} else {
			/* ... and may have written with it off: no stale line may shadow what it wrote. */
			arch_dcache_clean_inval_poc((u64)(uintptr_t)phys_to_virt(pa), len);
			memcpy(buf, phys_to_virt(pa), len);
		}
	}
	spin_unlock(&vm->lock);
	spin_unlock(&pagedb_lock);
	return ret;
}

static void build_report(const struct vm *vm, struct moat_report *r)
{
	struct moat_vm_cert *vc = &r->vm_cert;
	u8 vm_seed[32];

	derive(vm_seed, attest.cdi_attest, LABEL_VM_KEY, vm->measurement, 32);

	vc->magic = MOAT_VM_CERT_MAGIC;
	vc->version = MOAT_REPORT_VERSION;
	memcpy(vc->vm_measurement, vm->measurement, 32);
	ed25519_public_key(vc->vm_public_key, vm_seed);
	ed25519_sign(vc->signature, attest.core_seed, attest.core_cert.core_public_key, vc, MOAT_VM_CERT_SIGNED_SIZE);

	r->magic = MOAT_REPORT_MAGIC;
	r->version = MOAT_REPORT_VERSION;
	r->size = sizeof(*r);
	memcpy(r->vm_measurement, vm->measurement, 32);
	memcpy(r->core_measurement, attest.core_measurement, 32);
	r->core_version = CORE_VERSION;
	r->vm_type = vm->type;
	r->debug = 0; /* protected VMs only: no host debugger can reach them (guest_debug.c) */
	r->reserved = 0;
	memcpy(r->vm_public_key, vc->vm_public_key, 32);
	ed25519_sign(r->signature, vm_seed, r->vm_public_key, r, MOAT_REPORT_BODY_SIZE);
	memcpy(&r->core_cert, &attest.core_cert, sizeof(r->core_cert));
	secret_wipe(vm_seed, sizeof(vm_seed));
}

/* The call's work; *len gets the bytes written at ipa. 0, a moat error, or MOAT_E_NOENT (unbacked). */
static int do_call(struct vm *vm, u32 fid, u64 ipa, u64 *len)
{
	struct moat_report report;
	u8 key[32];
	int ret;

	switch (fid) {
	case MOAT_GFN_MEASUREMENT:
		/* Fixed since FINALIZE (a vCPU runs only then): readable without the VM's lock. */
		*len = 32;
		return guest_page_copy(vm, ipa, vm->measurement, 32, true);
	case MOAT_GFN_REPORT:
		memset(&report, 0, sizeof(report));
		ret = guest_page_copy(vm, ipa, report.challenge, MOAT_CHALLENGE_SIZE, false);
		if (ret) {
			return ret;
		}
		if (!attest.have_identity) {
			return MOAT_E_NO_IDENTITY;
		}
		build_report(vm, &report);
		*len = sizeof(report);
		return guest_page_copy(vm, ipa, &report, sizeof(report), true);
	default: /* MOAT_GFN_SEALING_KEY */
		if (!attest.have_identity) {
			/* Still checks the page first: the errors come in the order of the arguments. */
			ret = guest_page_copy(vm, ipa, key, 0, false);
			return ret ? ret : MOAT_E_NO_IDENTITY;
		}
		derive(key, attest.cdi_seal, LABEL_VM_SEAL, vm_image_digest(vm), 32);
		*len = 32;
		ret = guest_page_copy(vm, ipa, key, 32, true);
		secret_wipe(key, sizeof(key));
		return ret;
	}
}

u32 attest_guest_call(struct vcpu *vcpu, u32 fid)
{
	u64 *x = vcpu->ctx.regs.x;
	struct vm *vm = vcpu->vm;
	u64 ipa = x[1], len = 0;
	int ret;

	if (!vm_is_protected(vm)) {
		/* A normal VM's memory is the host's to read: it has nothing to attest or seal. */
		ret = MOAT_E_NOT_SUPPORTED;
	} else if (x[2] || x[3]) {
		ret = MOAT_E_INVAL;
	} else if (!IS_ALIGNED(ipa, PAGE_SIZE)) {
		ret = MOAT_E_ALIGN;
	} else if (!vm_ipa_in_ram(vm, ipa)) {
		ret = MOAT_E_RANGE;
	} else {
		ret = do_call(vm, fid, ipa, &len);
	}
	if (ret == MOAT_E_NOENT) {
		/* Nothing backs the page yet: as for MEM_SHARE, the host faults it in and the HVC runs again. */
		vcpu->ctx.regs.elr -= 4;
		exit_to_host(vcpu, MOAT_EXIT_MEM_FAULT);
		vcpu->run->u.mem_fault.ipa = ipa;
		return MOAT_EXIT_MEM_FAULT;
	}
	if (ret) {
		log_ratelimited(&vm->refusals.limiter, LOG_INFO, "vm%u vcpu%u: guest call 0x%x on IPA 0x%lx: error %d",
				vm->slot, vcpu->index, fid, ipa, ret);
	}
	x[0] = (u64)(s64)ret;
	x[1] = ret ? 0 : len;
	x[2] = 0;
	x[3] = 0;
	return MOAT_EXIT_NONE;
}
