/*
 * Attestation and sealing from the host's side (docs/attestation.md), with
 * guest/attest: the guest prints what the core answered (measurement, report,
 * sealing key, TRNG values); tests/integration/test_attest.py checks those
 * lines against each other, against the host's MOAT_FN_MEASUREMENT printed
 * here, and verifies the report with tools/moat-verify.
 *
 * One boot runs, in order, each VM announced by an "attest: vm <name>" line:
 *   base      protected, 4 MiB, 1 vCPU
 *   bigger    protected, 8 MiB, 2 vCPUs: another measurement, the same image
 *   flipped   protected, 4 MiB, one byte of the image changed
 *   normal    a normal VM: every attestation call NOT_SUPPORTED
 * and for each: "attest: host measurement <64 hex>".
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)

static const char *const attest_lines[] = {
	"guest: attest done",
	NULL,
};

/* The offset of the variant marker's last character in the attest image. */
static u64 variant_offset(void)
{
	static const char marker[] = "attest-variant-0";
	const struct guest_image *img = guest_image_find("attest");
	u64 size = (u64)(img->end - img->start), n = sizeof(marker) - 1;

	for (u64 off = 0; off + n <= size; off++) {
		if (!memcmp(img->start + off, marker, n)) {
			return off + n - 1;
		}
	}
	return 0;
}

static void print_measurement(struct vmm_vm *vm)
{
	static const char digits[] = "0123456789abcdef";
	char hex[65];

	for (unsigned int w = 0; w < 4; w++) {
		struct moat_result r = moat_hvc(MOAT_FN_MEASUREMENT, vm->handle, w, 0);

		CHECK_EQ(r.status, MOAT_OK);
		for (unsigned int b = 0; b < 8; b++) {
			u8 byte = (u8)(r.r1 >> (8 * b));

			hex[16 * w + 2 * b] = digits[byte >> 4];
			hex[16 * w + 2 * b + 1] = digits[byte & 15];
		}
	}
	hex[64] = 0;
	tprintf("attest: host measurement %s\n", hex);
}

static void run_one(const char *name, u64 type, u64 ram, u64 vcpus, u64 flip)
{
	static struct vmm_vm vm;

	tprintf("attest: vm %s\n", name);
	vm = (struct vmm_vm){ .console_echo = true, .expect = attest_lines, .max_vcpus = vcpus };
	if (flip) {
		vm.image_flip = flip + 1;
		vm.image_flip_mask = 0x01; /* '0' -> '1' */
	}
	if (!vmm_boot(&vm, type, "attest", ram, 0)) {
		return;
	}
	print_measurement(&vm);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}

TEST(attest)
{
	u64 flip = variant_offset();

	if (!CHECK(flip != 0, "no variant marker in the attest image")) {
		return;
	}
	run_one("base", MOAT_VM_PROTECTED, 4 * MIB, 1, 0);
	run_one("bigger", MOAT_VM_PROTECTED, 8 * MIB, 2, 0);
	run_one("flipped", MOAT_VM_PROTECTED, 4 * MIB, 1, flip);
	run_one("normal", MOAT_VM_NORMAL, 4 * MIB, 1, 0);
}

/*
 * The host's side of the entropy split (docs/attestation.md "Entropy"): its
 * DTB carries seeds the core derived from its DRBG, printed here so that
 * test_attest.py compares them with the ones QEMU put in the boot DTB; and
 * its own TRNG probes, through SMC (the firmware conduit) and HVC (the
 * core's), answer NOT_SUPPORTED: the core's DRBG serves guests only.
 */
TEST(entropy)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * PLAT_SEED_MAX + 1];
	long smc = psci_call(0x84000050UL, 0, 0, 0);
	long smc64 = psci_call(0xc4000053UL, 64, 0, 0);
	long hvc = moat_hvc(0x84000050UL, 0, 0, 0).status;

	for (unsigned int i = 0; i < plat.info.rng_seed_len; i++) {
		hex[2 * i] = digits[plat.info.rng_seed[i] >> 4];
		hex[2 * i + 1] = digits[plat.info.rng_seed[i] & 15];
	}
	hex[2 * plat.info.rng_seed_len] = 0;
	tprintf("entropy: host rng-seed %s\n", hex);
	tprintf("entropy: host kaslr-seed 0x%016lx\n", plat.info.kaslr_seed);
	tprintf("entropy: host TRNG smc %ld %ld hvc %ld\n", smc, smc64, hvc);
	CHECK_EQ(smc, -1);
	CHECK_EQ(smc64, -1);
	CHECK_EQ(hvc, -1);
	CHECK(plat.info.rng_seed_len == 32, "rng-seed of %u bytes", plat.info.rng_seed_len);
}
