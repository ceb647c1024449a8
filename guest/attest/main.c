/*
 * attest: the guest side of moat's attestation block (MOAT_GFN_*, ABI 1.3,
 * docs/attestation.md) and of the SMCCC TRNG the core answers, printed for
 * tests/integration/test_attest.py to check (it verifies the report with
 * tools/moat-verify):
 *
 *   guest: variant <marker>             the byte the test host may flip
 *   guest: trng version <x0> features <rnd64> <rnd32> <uuid> <unknown>
 *   guest: trng uuid <x0> <x1> <x2> <x3>
 *   guest: trng rnd64 <x0> <x3> <x2> <x1> | again ... | bad <x0 of 0 bits> <x0 of 193 bits>
 *   guest: measurement -> <x0> <x1> <64 hex>
 *   guest: challenge <128 hex>          from the TRNG (so each boot's differs)
 *   guest: report -> <x0> <x1>
 *   guest: report <offset> <hex of 64 bytes>   (one line per 64 bytes)
 *   guest: sealing -> <x0> <x1> <64 hex>
 *   guest: hostile <x0> x 6             shared page, unaligned, outside RAM, MMIO, x2 set, x3 set
 *   guest: attest done
 *
 * In a normal VM every attestation call answers NOT_SUPPORTED (-1), and the
 * lines say so. SYSTEM_OFF at the end.
 */
#include "guest.h"

#include "fmt.h"

#include <moat/abi.h>
#include <moat/attest.h>

#define KVM_FN_MEM_SHARE 0xc6000003UL
#define TRNG_VERSION 0x84000050UL
#define TRNG_FEATURES 0x84000051UL
#define TRNG_GET_UUID 0x84000052UL
#define TRNG_RND32 0x84000053UL
#define TRNG_RND64 0xc4000053UL

#define CALL_IPA (MOAT_GUEST_RAM_BASE + 0x200000UL) /* not touched before the first call: demand-paged */
#define SHARED_IPA (MOAT_GUEST_RAM_BASE + 0x201000UL)
#define UART 0x09000000UL

/* The test host flips the last character of this marker to make "another image" (one byte). */
const volatile char attest_variant[] = "attest-variant-0";

static void print_hex(const char *prefix, const volatile uint8_t *p, unsigned int len)
{
	char line[2 * 64 + 1];
	static const char digits[] = "0123456789abcdef";

	for (unsigned int i = 0; i < len; i++) {
		line[2 * i] = digits[p[i] >> 4];
		line[2 * i + 1] = digits[p[i] & 15];
	}
	line[2 * len] = 0;
	printf("guest: %s%s\n", prefix, line);
}

static void trng(void)
{
	struct moat_result a, b;

	printf("guest: trng version %ld features %ld %ld %ld %ld\n", hvc_call(TRNG_VERSION, 0, 0, 0).status,
	       hvc_call(TRNG_FEATURES, TRNG_RND64, 0, 0).status, hvc_call(TRNG_FEATURES, TRNG_RND32, 0, 0).status,
	       hvc_call(TRNG_FEATURES, TRNG_GET_UUID, 0, 0).status, hvc_call(TRNG_FEATURES, 0x84000054UL, 0, 0).status);
	a = hvc_call(TRNG_GET_UUID, 0, 0, 0);
	printf("guest: trng uuid 0x%lx 0x%lx 0x%lx 0x%lx\n", (uint64_t)a.status, a.r1, a.r2, a.r3);
	a = hvc_call(TRNG_RND64, 192, 0, 0);
	b = hvc_call(TRNG_RND64, 192, 0, 0);
	printf("guest: trng rnd64 %ld %016lx%016lx%016lx\n", a.status, a.r1, a.r2, a.r3);
	printf("guest: trng again %ld %016lx%016lx%016lx\n", b.status, b.r1, b.r2, b.r3);
	a = hvc_call(TRNG_RND64, 8, 0, 0);
	printf("guest: trng rnd64(8) %ld 0x%lx 0x%lx 0x%lx\n", a.status, a.r1, a.r2, a.r3 >> 8);
	a = hvc_call(TRNG_RND32, 96, 0, 0);
	printf("guest: trng rnd32 %ld %08lx%08lx%08lx\n", a.status, a.r1, a.r2, a.r3);
	printf("guest: trng bad %ld %ld %ld\n", hvc_call(TRNG_RND64, 0, 0, 0).status,
	       hvc_call(TRNG_RND64, 193, 0, 0).status, hvc_call(TRNG_RND32, 97, 0, 0).status);
}

/* 64 challenge bytes from the TRNG: a fresh nonce per boot. */
static void make_challenge(volatile uint8_t *c)
{
	for (unsigned int i = 0; i < MOAT_CHALLENGE_SIZE; i += 24) {
		struct moat_result r = hvc_call(TRNG_RND64, 192, 0, 0);
		uint64_t w[3] = { r.r3, r.r2, r.r1 };

		for (unsigned int j = 0; j < 24 && i + j < MOAT_CHALLENGE_SIZE; j++) {
			c[i + j] = (uint8_t)(w[j / 8] >> (8 * (j % 8)));
		}
	}
}

void guest_main(uint64_t x0)
{
	volatile uint8_t *page = (volatile uint8_t *)CALL_IPA;
	struct moat_result r;

	printf("guest: variant %s\n", (const char *)attest_variant);
	trng();

	r = hvc_call(MOAT_GFN_MEASUREMENT, CALL_IPA, 0, 0);
	printf("guest: measurement -> %ld %lu\n", r.status, r.r1);
	if (r.status == 0) {
		print_hex("measurement ", page, 32);
	}

	make_challenge(page);
	print_hex("challenge ", page, MOAT_CHALLENGE_SIZE);
	r = hvc_call(MOAT_GFN_REPORT, CALL_IPA, 0, 0);
	printf("guest: report -> %ld %lu\n", r.status, r.r1);
	for (unsigned int off = 0; r.status == 0 && off < r.r1; off += 64) {
		char prefix[32];

		fmt_format(prefix, sizeof(prefix), "report %03u ", off);
		print_hex(prefix, page + off, r.r1 - off < 64 ? (unsigned int)(r.r1 - off) : 64);
	}

	r = hvc_call(MOAT_GFN_SEALING_KEY, CALL_IPA, 0, 0);
	printf("guest: sealing -> %ld %lu\n", r.status, r.r1);
	if (r.status == 0) {
		print_hex("sealing ", page, 32);
	}

	/* A page the host can read never receives an answer; malformed arguments change nothing. */
	hvc_call(KVM_FN_MEM_SHARE, SHARED_IPA, 0, 0);
	printf("guest: hostile %ld %ld %ld %ld %ld %ld\n", hvc_call(MOAT_GFN_SEALING_KEY, SHARED_IPA, 0, 0).status,
	       hvc_call(MOAT_GFN_REPORT, CALL_IPA + 8, 0, 0).status,
	       hvc_call(MOAT_GFN_MEASUREMENT, MOAT_GUEST_RAM_BASE - 0x1000UL, 0, 0).status,
	       hvc_call(MOAT_GFN_SEALING_KEY, UART, 0, 0).status, hvc_call(MOAT_GFN_SEALING_KEY, CALL_IPA, 1, 0).status,
	       hvc_call(MOAT_GFN_MEASUREMENT, CALL_IPA, 0, 1).status);
	printf("guest: attest done\n");
}
