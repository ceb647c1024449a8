/*
 * Secret-canary attack (DESIGN §15): a protected VM fills 64 pages with a
 * secret derived from a seed (guest/canary); the host, which knows the seed
 * and so the secret, scans every page of every RAM bank for it -- including
 * pages it believes reserved -- while the guest runs, and again once the VM
 * is destroyed and its pages reclaimed. It must never find it.
 *
 * The host's own copy of the secret would be found by its own scan, so the
 * host keeps only the secret XOR CANARY_MASK in memory and compares loaded
 * words after XORing them with the mask.
 *
 * The scan looks for the secret's first 16 bytes at every 8-byte-aligned
 * offset: the guest's copies start 64-byte lines, but a leak through a
 * register save area or a bounce buffer need not. Speed: the host runs with
 * its MMU off (every access Device-nGnRnE); under TCG one scan of 256 MiB,
 * one 64-bit load per word, measured about 0.3 s, so scanning only the
 * first 16 bytes of each 64-byte line (enough for the guest's own layout)
 * is not needed. Each scan prints its time.
 */
#include "canary.h"
#include "lib.h"
#include "test.h"

#define MIB (1UL << 20)

void __attribute__((noinline)) masked_secret(u64 seed, u64 out[SECRET_WORDS])
{
	for (unsigned int i = 0; i < SECRET_WORDS; i++) {
		u64 z = (seed += 0x9e3779b97f4a7c15UL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
		out[i] = (z ^ (z >> 31)) ^ CANARY_MASK;
	}
}

u64 scan_page(u64 pa, const u64 *masked)
{
	const volatile u64 *p = (const volatile u64 *)pa;
	u64 hits = 0;

	for (unsigned int i = 0; i < PAGE_SIZE / sizeof(u64) - 1; i++) {
		if ((p[i] ^ CANARY_MASK) == masked[0] && (p[i + 1] ^ CANARY_MASK) == masked[1]) {
			hits++;
		}
	}
	return hits;
}

static u64 counter(void)
{
	u64 v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}

/* Every page of every RAM bank: probe its first word, skip it if the core refuses, else scan it. */
void scan_ram(const char *when, const u64 *masked, struct scan *s, bool expect_hits)
{
	u64 start = counter(), freq = read_sysreg(cntfrq_el0);

	*s = (struct scan){ 0 };
	for (unsigned int b = 0; b < plat.info.nr_mem; b++) {
		const struct fdt_range *bank = &plat.info.mem[b];

		for (u64 pa = bank->base; pa < bank->base + bank->size; pa += PAGE_SIZE) {
			u64 first, hits;

			if (probe_read64(pa, &first)) {
				s->refused++;
				continue;
			}
			s->scanned++;
			hits = scan_page(pa, masked);
			if (hits && !s->hits) {
				s->first_hit = pa;
			}
			s->hits += hits;
		}
	}
	s->ticks = counter() - start;
	tprintf("canary: %s: %lu pages scanned, %lu refused, %lu hits (%lu ms)\n", when, s->scanned, s->refused,
		s->hits, s->ticks * 1000 / freq);
	CHECK(expect_hits || !s->hits, "secret found %s, first at PA 0x%lx", when, s->first_hit);
}

/* The scanner finds a planted copy: a secret of another seed in one host page, then wiped. */
static void scanner_selftest(void)
{
	u64 control[SECRET_WORDS];
	u64 pa = host_page_alloc();
	volatile u64 *p = (volatile u64 *)pa;

	/* guest/README.md: seed 0 gives 0xe220a8397b1dcdaf as the first word. */
	masked_secret(0, control);
	CHECK_EQ(control[0] ^ CANARY_MASK, 0xe220a8397b1dcdafUL);
	masked_secret(CANARY_SEED ^ 1, control);
	for (unsigned int i = 0; i < PAGE_SIZE / sizeof(u64); i++) {
		p[i] = control[i % SECRET_WORDS] ^ CANARY_MASK;
	}
	CHECK_EQ(scan_page(pa, control), PAGE_SIZE / CANARY_LINE);
	memset((void *)pa, 0, PAGE_SIZE);
	CHECK_EQ(scan_page(pa, control), 0);
}

u64 core_pages(void)
{
	const struct reserved_region *core = platform_core_region();

	return core ? core->size / PAGE_SIZE : 0;
}

static bool canary_mmio(struct vmm_vm *vm, struct moat_run *run)
{
	struct canary_ctx *c = vm->ctx;

	if (!(run->u.mmio.ipa == CANARY_CHECKPOINT && run->u.mmio.is_write && run->u.mmio.size == 4 &&
	      run->u.mmio.value == 1)) {
		run->u.mmio.value = 0;
		return true;
	}
	c->checkpoints++;
	if (c->stop_at_checkpoint) {
		return false;
	}
	scan_ram("guest running", c->masked, &c->during, c->expect_hits);
	return true;
}

/* Remember where the secret went: the reset attacks check those pages after the reboot. */
static void canary_donated(struct vmm_vm *vm, u64 ipa, u64 pa)
{
	struct canary_ctx *c = vm->ctx;

	if (ipa >= CANARY_IPA && ipa < CANARY_IPA + CANARY_PAGES * PAGE_SIZE && c->nr_secret < CANARY_PAGES) {
		c->secret_pa[c->nr_secret++] = pa;
	}
}

static const char *const canary_lines[] = { "guest: canary ready", "guest: canary intact", NULL };

bool canary_vm(struct vmm_vm *vm, u64 type, struct canary_ctx *c)
{
	vm->console_echo = true;
	vm->mmio = canary_mmio;
	vm->donated = canary_donated;
	vm->ctx = c;
	vm->expect = canary_lines;
	if (!CHECK_EQ(vmm_build(vm, type, "canary", 4 * MIB, CANARY_SEED), MOAT_OK)) {
		return false;
	}
	if (c->stop_at_checkpoint) {
		CHECK_EQ(vmm_run(vm), MOAT_OK);
	} else {
		vmm_run_to_off(vm);
	}
	return CHECK_EQ(c->checkpoints, 1);
}

TEST(canary)
{
	static struct vmm_vm vm;
	u64 masked[SECRET_WORDS];
	struct canary_ctx c = { .masked = masked };
	struct scan after;

	scanner_selftest();
	masked_secret(CANARY_SEED, masked);
	if (!canary_vm(&vm, MOAT_VM_PROTECTED, &c)) {
		return;
	}
	/* Refused: the core's memory and at least the guest's 64 canary pages. */
	CHECK(c.during.refused >= core_pages() + CANARY_PAGES, "only %lu pages refused", c.during.refused);
	CHECK(c.during.scanned > 0, "nothing scanned");
	CHECK(vmm_destroy(&vm) > CANARY_PAGES, "destroy/reclaim failed");
	scan_ram("after destroy and reclaim", masked, &after, false);
	CHECK(after.refused + CANARY_PAGES <= c.during.refused, "%lu pages still refused after reclaim", after.refused);
	tprintf("canary: %lu pages scanned, %lu refused, %lu hits\n", c.during.scanned + after.scanned,
		c.during.refused + after.refused, c.during.hits + after.hits);
}

/*
 * The VM is destroyed while its secret is live (the guest never resumes
 * from the checkpoint): pending scrub, the pages must stay unreadable; once
 * reclaimed they must read as something else than the secret.
 */
TEST(canary_after_destroy)
{
	static struct vmm_vm vm;
	u64 masked[SECRET_WORDS];
	struct canary_ctx c = { .masked = masked, .stop_at_checkpoint = true };
	struct scan pending, reclaimed;

	masked_secret(CANARY_SEED, masked);
	if (!canary_vm(&vm, MOAT_VM_PROTECTED, &c)) {
		return;
	}
	CHECK_EQ(vm.last_exit, MOAT_EXIT_MMIO);
	if (!CHECK_EQ(vmm_destroy_only(&vm), MOAT_OK)) {
		return;
	}
	scan_ram("destroyed, pages pending scrub", masked, &pending, false);
	CHECK(pending.refused >= core_pages() + CANARY_PAGES, "only %lu pages refused", pending.refused);
	CHECK(vmm_reclaim_all(&vm, NULL, NULL) > CANARY_PAGES, "reclaim failed");
	scan_ram("after reclaim", masked, &reclaimed, false);
	CHECK(reclaimed.refused + CANARY_PAGES <= pending.refused, "%lu pages still refused after reclaim",
	      reclaimed.refused);
	tprintf("canary: %lu pages scanned, %lu refused, %lu hits\n", pending.scanned + reclaimed.scanned,
		pending.refused + reclaimed.refused, pending.hits + reclaimed.hits);
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}

/*
 * Positive control: the same guest in a normal VM whose RAM the host lends
 * with SHARE_VM. The host may read those pages, so the same scan must find
 * every copy the guest wrote (64 pages x 64 copies): proof that the secret
 * derivation and the scanner work, so the zero hits above mean something.
 */
TEST(canary_shared)
{
	static struct vmm_vm vm;
	u64 masked[SECRET_WORDS];
	struct canary_ctx c = { .masked = masked };

	masked_secret(CANARY_SEED, masked);
	vm.share_ram = true;
	c.expect_hits = true;
	if (!canary_vm(&vm, MOAT_VM_NORMAL, &c)) {
		return;
	}
	CHECK(c.during.hits >= CANARY_PAGES * (PAGE_SIZE / CANARY_LINE), "only %lu copies found in shared memory",
	      c.during.hits);
	CHECK(vm.shared_pages >= CANARY_PAGES, "only %lu pages shared", vm.shared_pages);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}
