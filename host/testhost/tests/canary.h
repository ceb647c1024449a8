/*
 * Secret-canary pieces shared by the canary attacks (attack_canary.c) and
 * the reset attacks (reset_attack.c): the secret the canary guest writes,
 * the RAM scan that looks for it, and running the canary guest.
 */
#ifndef TESTHOST_CANARY_H
#define TESTHOST_CANARY_H

#include "vmm.h"

#define CANARY_SEED 0x6d6f617463616e61UL
#define CANARY_MASK 0x5a5aa5a5c33c3cc3UL
#define CANARY_CHECKPOINT 0x0a000000UL
/* guest/canary: 64 pages of secret from guest RAM base + 2 MiB. */
#define CANARY_IPA (MOAT_GUEST_RAM_BASE + 0x200000UL)
#define CANARY_PAGES 64
#define SECRET_WORDS 8
#define CANARY_LINE 64

struct scan {
	u64 scanned, refused, hits;
	u64 first_hit;
	u64 ticks;
};

/* The secret of guest/README.md for seed, each word XOR CANARY_MASK (so the host's copy is no hit). */
void masked_secret(u64 seed, u64 out[SECRET_WORDS]);
/* Copies of the secret's first 16 bytes at any 8-byte-aligned offset inside the page at pa. */
u64 scan_page(u64 pa, const u64 *masked);
/* Every page of every RAM bank the core lets the host read; prints one "canary: <when>: ..." line. */
void scan_ram(const char *when, const u64 *masked, struct scan *s, bool expect_hits);
/* Pages the core keeps from the host per the DTB: its reserved region. */
u64 core_pages(void);

struct canary_ctx {
	const u64 *masked;
	struct scan during;
	unsigned int checkpoints;
	bool stop_at_checkpoint;
	bool expect_hits; /* positive control: the pages are shared with the host */
	/* PAs the VMM gave for the guest's secret pages, in the order the guest touched them. */
	u64 secret_pa[CANARY_PAGES];
	unsigned int nr_secret;
};

/* Build and run the canary guest: to SYSTEM_OFF, or up to its checkpoint if c->stop_at_checkpoint. */
bool canary_vm(struct vmm_vm *vm, u64 type, struct canary_ctx *c);

#endif
