/*
 * canary: a secret the host must never see. The VMM boots this guest with
 * x0 = a 64-bit seed; the guest derives a 64-byte secret from it and fills
 * 64 pages with it, then asks the VMM to scan everything the host can reach
 * for the secret. A protected VM's pages must not be readable.
 *
 * VMM protocol:
 *   - boot x0 = seed (SET_BOOT).
 *   - secret = 8 little-endian 64-bit words w[0..7], the first 8 outputs of
 *     splitmix64 with state = seed:
 *         state += 0x9e3779b97f4a7c15; z = state;
 *         z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *         z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *         w[i] = z ^ (z >> 31);
 *   - IPA 0x40200000..0x4023ffff (64 pages from RAM base + 2 MiB) hold the
 *     64-byte secret repeated (64 copies per page).
 *   - after "guest: canary ready", a 32-bit MMIO write of 1 to IPA
 *     0x0a000000 means "checkpoint: scan now"; complete it (run again) after
 *     the scan.
 *   - then the guest checks its pages and prints "guest: canary intact" or
 *     "guest: canary mismatch at 0x<ipa>", and powers off.
 * The guest never prints the seed or the secret (the console is the host's).
 */
#include "guest.h"

#define CANARY_BASE (MOAT_GUEST_RAM_BASE + 0x200000UL)
#define CANARY_PAGES 64UL
#define CANARY_WORDS (CANARY_PAGES * GUEST_PAGE_SIZE / 8)
#define SECRET_WORDS 8 /* 64 bytes */
#define CHECKPOINT_IPA 0x0a000000UL

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15UL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

static void fill(const uint64_t *secret)
{
	volatile uint64_t *p = (volatile uint64_t *)CANARY_BASE;

	for (unsigned long i = 0; i < CANARY_WORDS; i++) {
		p[i] = secret[i % SECRET_WORDS];
	}
}

/* Returns the IPA of the first word that differs, or 0. Values stay unprinted. */
static uint64_t check(const uint64_t *secret)
{
	volatile uint64_t *p = (volatile uint64_t *)CANARY_BASE;

	for (unsigned long i = 0; i < CANARY_WORDS; i++) {
		if (p[i] != secret[i % SECRET_WORDS]) {
			return CANARY_BASE + i * 8;
		}
	}
	return 0;
}

void guest_main(uint64_t seed)
{
	uint64_t secret[SECRET_WORDS];
	uint64_t bad;

	for (int i = 0; i < SECRET_WORDS; i++) {
		secret[i] = splitmix64(&seed);
	}
	fill(secret);
	printf("guest: canary ready\n");
	mmio_write32(CHECKPOINT_IPA, 1);
	bad = check(secret);
	if (bad) {
		printf("guest: canary mismatch at 0x%lx\n", bad);
	} else {
		printf("guest: canary intact\n");
	}
}
