/*
 * Reset attack (DESIGN §4, §15): a protected guest fills 64 pages with its
 * secret (guest/canary), the host asks for a system reset, and after the
 * reboot the new host -- this test again, same bootargs -- scans all RAM it
 * can reach for the secret. QEMU keeps RAM across a reset and the new core
 * gives every page but its own to the host, so only the core's reset scrub
 * stands between the secret and the next host. These tests need QEMU
 * without -no-reboot (tests/integration/test_reset_attack.py).
 *
 * First boot or second? A marker page at a fixed address (RESET_MARKER_OFF
 * from the start of RAM), a host page the scrub leaves alone, says: fresh
 * QEMU RAM reads zero there, the first boot writes RESET_MAGIC, phase 1 and
 * what the second boot must check before it asks for the reset.
 *
 * On reset QEMU writes back the boot stub, the -kernel image, the DTB and
 * every -device loader blob (this test host). A secret page in one of those
 * ranges would be overwritten by QEMU, not by the core, and the test could
 * not fail: so the first boot prints those ranges and checks that every
 * secret page (and the marker) lies outside them. A control page next to the
 * secret pages, host-owned and holding another seed's secret, must come
 * through the reset intact: proof that RAM there survived.
 *
 * Variants, one test each: the VM live (its guest ran to SYSTEM_OFF, not
 * destroyed), stopped mid-run (after an MMIO exit, before the next
 * VCPU_RUN), destroyed with its pages pending scrub, and SYSTEM_RESET2.
 */
#include "canary.h"
#include "lib.h"
#include "test.h"

#define MIB (1UL << 20)
#define RESET_MAGIC 0x7465736572746f6dUL /* "moatreset" */
#define RESET_MARKER_OFF (48 * MIB)
#define RESET_NAME_MAX 32
#define PSCI_FEATURES 0x8400000aUL
#define PSCI_SYSTEM_RESET 0x84000009UL
#define PSCI_SYSTEM_RESET2 0xc4000012UL
#define PSCI_RESET2_VENDOR 0x80000000UL
#define PSCI_NOT_SUPPORTED (-1L)
/* QEMU's DTB blob may be as large as the buffer it built the tree in (1 MiB), not just its totalsize. */
#define QEMU_DTB_MAX (2 * MIB)
#define QEMU_BOOT_STUB_MAX (64 * 1024)

enum reset_variant {
	RESET_LIVE,	       /* guest ran to SYSTEM_OFF; VM not destroyed */
	RESET_STOPPED,	       /* guest stopped at an MMIO exit, not resumed */
	RESET_PENDING_SCRUB,   /* VM destroyed at the MMIO exit, pages not reclaimed */
	RESET_SYSTEM_RESET2,   /* stopped, then through SYSTEM_RESET2 */
};

struct reset_marker {
	u64 magic;
	u64 phase; /* 1: the first boot asked for the reset; 2: the second boot ran */
	char test[RESET_NAME_MAX];
	u64 expect_scrubbed; /* pages the VM held (VMM's count) when the reset was asked for */
	u64 control_pa;
	u64 nr_secret;
	u64 secret_pa[CANARY_PAGES];
};

struct range {
	const char *what;
	u64 base, size;
};

#define RESET_MAX_RANGES (HOST_MAX_RESERVED + 3)

static struct reset_marker *marker(void)
{
	return (struct reset_marker *)(plat.info.mem[0].base + RESET_MARKER_OFF);
}

/* What QEMU writes back on reset, as far as the host can tell: the core (-kernel) is in a reserved region. */
static unsigned int reset_rewritten(struct range *r)
{
	unsigned int n = 0;

	r[n++] = (struct range){ "boot stub", plat.info.mem[0].base, QEMU_BOOT_STUB_MAX };
	for (unsigned int i = 0; i < plat.nr_reserved; i++) {
		r[n++] = (struct range){ plat.reserved[i].name, plat.reserved[i].base, plat.reserved[i].size };
	}
	r[n++] = (struct range){ "DTB", plat.dtb, MAX(plat.dtb_size, QEMU_DTB_MAX) };
	r[n++] = (struct range){ "test host", (u64)(uintptr_t)__image_start, (u64)(__image_end - __image_start) };
	return n;
}

static bool outside(const struct range *r, unsigned int n, const char *what, u64 pa)
{
	bool ok = true;

	for (unsigned int i = 0; i < n; i++) {
		ok &= CHECK(pa + PAGE_SIZE <= r[i].base || pa >= r[i].base + r[i].size,
			    "%s page 0x%lx lies in the %s range 0x%lx-0x%lx that QEMU rewrites at reset", what, pa,
			    r[i].what, r[i].base, r[i].base + r[i].size);
	}
	return ok;
}

static bool page_is_zero(u64 pa)
{
	const volatile u64 *p = (const volatile u64 *)pa;

	for (unsigned int i = 0; i < PAGE_SIZE / sizeof(u64); i++) {
		if (p[i]) {
			return false;
		}
	}
	return true;
}

static void fill_control(u64 pa, const u64 *control)
{
	volatile u64 *p = (volatile u64 *)pa;

	for (unsigned int i = 0; i < PAGE_SIZE / sizeof(u64); i++) {
		p[i] = control[i % SECRET_WORDS] ^ CANARY_MASK;
	}
}

/* SYSTEM_RESET2 as QEMU 7.2 has it: not at all. The core must refuse it before scrubbing anything. */
static bool try_reset2(struct vmm_vm *vm, struct canary_ctx *c)
{
	long features = psci_call(PSCI_FEATURES, PSCI_SYSTEM_RESET2, 0, 0);
	long r;

	tprintf("reset: PSCI_FEATURES(SYSTEM_RESET2) = %ld\n", features);
	if (features >= 0) {
		tprintf("reset: the firmware has SYSTEM_RESET2: asking for a warm reset through it\n");
		return true;
	}
	r = psci_call(PSCI_SYSTEM_RESET2, 0, 0, 0);
	CHECK_EQ(r, PSCI_NOT_SUPPORTED);
	r = psci_call(PSCI_SYSTEM_RESET2, PSCI_RESET2_VENDOR, 0, 0);
	CHECK_EQ(r, PSCI_NOT_SUPPORTED);
	tprintf("reset: SYSTEM_RESET2 refused (%ld): the firmware lacks it, so the core does not forward it\n", r);
	/* Nothing was scrubbed: the guest resumes at its checkpoint and finds its secret intact. */
	c->stop_at_checkpoint = false;
	if (!vmm_run_to_off(vm)) {
		return false;
	}
	tprintf("reset: falling back to SYSTEM_RESET, as Linux does\n");
	return false;
}

static void first_boot(struct reset_marker *m, enum reset_variant v)
{
	static struct vmm_vm vm;
	u64 masked[SECRET_WORDS], control[SECRET_WORDS];
	struct canary_ctx c = { .masked = masked, .stop_at_checkpoint = v != RESET_LIVE };
	struct range r[RESET_MAX_RANGES];
	unsigned int nr = reset_rewritten(r);
	struct memmap map;
	bool reset2 = false;
	u64 control_pa;
	long ret;

	tprintf("reset: first boot\n");
	for (unsigned int i = 0; i < nr; i++) {
		tprintf("reset: QEMU rewrites at reset: %s 0x%lx-0x%lx\n", r[i].what, r[i].base, r[i].base + r[i].size);
	}
	memmap_build(&map);
	if (!CHECK(memmap_page_free(&map, (u64)(uintptr_t)m), "marker page 0x%lx is not the host's",
		   (u64)(uintptr_t)m) ||
	    !outside(r, nr, "marker", (u64)(uintptr_t)m)) {
		return;
	}
	memset(m, 0, PAGE_SIZE);

	masked_secret(CANARY_SEED, masked);
	if (!canary_vm(&vm, MOAT_VM_PROTECTED, &c)) {
		return;
	}
	if (!CHECK_EQ(c.nr_secret, CANARY_PAGES)) {
		return;
	}
	for (unsigned int i = 0; i < c.nr_secret; i++) {
		outside(r, nr, "secret", c.secret_pa[i]);
	}
	tprintf("reset: secret pages from 0x%lx to 0x%lx\n", c.secret_pa[c.nr_secret - 1], c.secret_pa[0]);

	/* A host page next to the secret pages, with another seed's secret: it must come through the reset. */
	control_pa = host_page_alloc();
	masked_secret(CANARY_SEED ^ 1, control);
	fill_control(control_pa, control);
	outside(r, nr, "control", control_pa);
	CHECK(control_pa > (u64)(uintptr_t)m, "the VMM's pages reached the marker at 0x%lx", (u64)(uintptr_t)m);
	tprintf("reset: control page 0x%lx\n", control_pa);

	if (v == RESET_PENDING_SCRUB) {
		struct scan pending;

		if (!CHECK_EQ(vmm_destroy_only(&vm), MOAT_OK)) {
			return;
		}
		scan_ram("destroyed, pages pending scrub", masked, &pending, false);
		CHECK(pending.refused >= core_pages() + CANARY_PAGES, "only %lu pages refused", pending.refused);
	}
	if (v != RESET_LIVE) {
		CHECK_EQ(vm.last_exit, MOAT_EXIT_MMIO);
	}
	if (v == RESET_SYSTEM_RESET2) {
		reset2 = try_reset2(&vm, &c);
	}
	if (test_has_failed()) {
		return;
	}

	m->expect_scrubbed = vm.nr_pages;
	m->control_pa = control_pa;
	m->nr_secret = c.nr_secret;
	for (unsigned int i = 0; i < c.nr_secret; i++) {
		m->secret_pa[i] = c.secret_pa[i];
	}
	memcpy(m->test, test_current(), MIN(strlen(test_current()) + 1, sizeof(m->test) - 1));
	m->phase = 1;
	m->magic = RESET_MAGIC;
	tprintf("reset: marker at 0x%lx; asking for %s with %lu pages given to the VM\n", (u64)(uintptr_t)m,
		reset2 ? "SYSTEM_RESET2" : "SYSTEM_RESET", m->expect_scrubbed);
	ret = reset2 ? psci_call(PSCI_SYSTEM_RESET2, 0, 0, 0) : psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
	m->magic = 0;
	CHECK(false, "the reset returned %ld", ret);
}

static void second_boot(struct reset_marker *m)
{
	u64 masked[SECRET_WORDS], control[SECRET_WORDS];
	unsigned int back = 0, zero = 0;
	struct scan after;
	u64 control_hits;

	tprintf("reset: second boot: the first asked for a reset with %lu pages given to the VM\n",
		m->expect_scrubbed);
	if (!CHECK_EQ(m->nr_secret, CANARY_PAGES)) {
		return;
	}
	masked_secret(CANARY_SEED, masked);
	masked_secret(CANARY_SEED ^ 1, control);
	for (unsigned int i = 0; i < m->nr_secret; i++) {
		u64 first;

		if (probe_read64(m->secret_pa[i], &first)) {
			continue;
		}
		back++;
		zero += page_is_zero(m->secret_pa[i]);
	}
	tprintf("reset: %u of %lu secret pages readable by the new host, %u of them all zero\n", back, m->nr_secret,
		zero);
	CHECK_EQ(back, m->nr_secret);
	CHECK_EQ(zero, m->nr_secret);
	control_hits = scan_page(m->control_pa, control);
	tprintf("reset: control page 0x%lx holds %lu copies of the control secret\n", m->control_pa, control_hits);
	CHECK(control_hits == PAGE_SIZE / CANARY_LINE, "RAM at the control page did not survive the reset");
	scan_ram("after reset", masked, &after, false);
	CHECK(after.scanned > 0, "nothing scanned");
}

static void reset_attack(enum reset_variant v)
{
	struct reset_marker *m = marker();

	if (m->magic != RESET_MAGIC || strcmp(m->test, test_current())) {
		first_boot(m, v);
		return;
	}
	if (!CHECK(m->phase == 1, "boot after phase %lu: the reset looped", m->phase)) {
		return;
	}
	m->phase = 2;
	second_boot(m);
}

TEST(reset_attack_live)
{
	reset_attack(RESET_LIVE);
}

TEST(reset_attack_stopped)
{
	reset_attack(RESET_STOPPED);
}

TEST(reset_attack_pending_scrub)
{
	reset_attack(RESET_PENDING_SCRUB);
}

TEST(reset_attack_reset2)
{
	reset_attack(RESET_SYSTEM_RESET2);
}
