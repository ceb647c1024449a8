/*
 * memtouch: demand paging at scale. Writes one 64-bit word into each 4 KiB
 * page of 64 MiB of RAM from RAM base + 1 MiB (the first touch of each page
 * is a MEM_FAULT exit the VMM answers with DONATE_VM), then reads every page
 * back, so a page mapped at the wrong IPA or lost on the way shows up.
 *
 * VM needs RAM >= 65 MiB (0x40000000..0x44100000). Output:
 *   guest: memtouch 16384 pages ok
 * or, at the first bad page,
 *   guest: memtouch mismatch at 0x<ipa>: got 0x<value> want 0x<value>
 * then SYSTEM_OFF.
 */
#include "guest.h"

#define TOUCH_BASE GUEST_FREE_RAM
#define TOUCH_PAGES 16384UL /* 64 MiB */
#define TOUCH_XOR 0x5a5aa5a5c3c33c3cUL

static volatile uint64_t *page_word(unsigned long i)
{
	return (volatile uint64_t *)(TOUCH_BASE + i * GUEST_PAGE_SIZE);
}

static uint64_t expected(unsigned long i)
{
	return (TOUCH_BASE + i * GUEST_PAGE_SIZE) ^ TOUCH_XOR;
}

void guest_main(uint64_t x0)
{
	unsigned long i;
	uint64_t got;

	for (i = 0; i < TOUCH_PAGES; i++) {
		*page_word(i) = expected(i);
	}
	for (i = 0; i < TOUCH_PAGES; i++) {
		got = *page_word(i);
		if (got != expected(i)) {
			printf("guest: memtouch mismatch at 0x%lx: got 0x%lx want 0x%lx\n",
			       (uint64_t)(uintptr_t)page_word(i), got, expected(i));
			return;
		}
	}
	printf("guest: memtouch %lu pages ok\n", TOUCH_PAGES);
}
