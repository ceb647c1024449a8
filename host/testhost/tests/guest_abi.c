/*
 * The guest ABI from the host's side of the wall (docs/ABI.md "Guest ABI"),
 * with guest/share: a page the guest shares is readable and writable by the
 * host exactly while shared; once unshared a host read aborts (DESIGN §4);
 * a relinquished page comes back to the host, zeroed, through RECLAIM while
 * the VM lives on. The discovery values (call UID, feature bitmap) are the
 * guest's lines, checked exactly by tests/integration/test_guest_abi.py.
 */
#include "lib.h"
#include "probe.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)
#define SHARE_IPA (MOAT_GUEST_RAM_BASE + 0x200000UL)
#define RELQ_IPA (MOAT_GUEST_RAM_BASE + 0x201000UL)
#define SHARE_CHECKPOINT 0x0a000040UL
#define SHARE_MASK 0x5a4152454d4f4154UL
#define HOST_REPLY 0x686f73747265706cUL
#define WORDS 512

struct share_ctx {
	u64 share_pa, relq_pa; /* the pages the VMM donated at SHARE_IPA and (first) RELQ_IPA */
	unsigned int checkpoints;
	unsigned int unexpected;
};

static void share_donated(struct vmm_vm *vm, u64 ipa, u64 pa)
{
	struct share_ctx *c = vm->ctx;

	if (ipa == SHARE_IPA) {
		c->share_pa = pa;
	} else if (ipa == RELQ_IPA && !c->relq_pa) {
		c->relq_pa = pa;
	}
}

/* Checkpoint 1: the host reads the guest's pattern through its own stage 2 and answers in the last word. */
static void host_reads_shared(struct share_ctx *c)
{
	unsigned int bad = 0;
	u64 v = 0;

	for (unsigned int i = 0; i < WORDS; i++) {
		if (probe_read64(c->share_pa + i * 8, &v) || v != (SHARE_IPA ^ SHARE_MASK ^ i)) {
			bad++;
		}
	}
	tprintf("share: host read %u of %u words of the shared page as the guest wrote them\n", WORDS - bad, WORDS);
	CHECK_EQ(bad, 0);
	CHECK_EQ(probe_write64(c->share_pa + (WORDS - 1) * 8, HOST_REPLY), 0);
}

/* Checkpoint 2: unshared, the page is the guest's alone again. */
static void host_refused_unshared(struct share_ctx *c)
{
	u64 v = 0;
	int aborted = probe_read64(c->share_pa, &v);

	tprintf("share: host read after unshare: %s, ESR_EL1 EC 0x%lx\n", aborted ? "aborted" : "READ",
		aborted ? (last_fault.esr >> 26) & 0x3f : 0);
	CHECK_EQ(aborted, 1);
	CHECK_EQ((last_fault.esr >> 26) & 0x3f, 0x25); /* data abort, same EL: the core's external abort */
	CHECK_EQ(probe_write64(c->share_pa, 0), 1);
}

/* Checkpoint 3: the relinquished page is pending scrub; RECLAIM gives it back zeroed. */
static void host_reclaims_relinquished(struct vmm_vm *vm, struct share_ctx *c)
{
	unsigned int nonzero = 0;
	u64 v = 0;
	long ret;

	CHECK_EQ(probe_read64(c->relq_pa, &v), 1); /* nobody's until scrubbed */
	ret = moat_hvc(MOAT_FN_RECLAIM, c->relq_pa, 0, 0).status;
	tprintf("share: RECLAIM of the relinquished page -> %ld\n", ret);
	if (!CHECK_EQ(ret, MOAT_OK)) {
		return;
	}
	vmm_forget_page(vm, c->relq_pa);
	for (unsigned int i = 0; i < WORDS; i++) {
		if (probe_read64(c->relq_pa + i * 8, &v) || v) {
			nonzero++;
		}
	}
	tprintf("share: relinquished page: %u of %u words zero\n", WORDS - nonzero, WORDS);
	CHECK_EQ(nonzero, 0);
}

static bool share_mmio(struct vmm_vm *vm, struct moat_run *run)
{
	struct share_ctx *c = vm->ctx;

	if (run->u.mmio.ipa != SHARE_CHECKPOINT || !run->u.mmio.is_write || run->u.mmio.size != 4) {
		run->u.mmio.value = 0;
		c->unexpected++;
		return true;
	}
	c->checkpoints++;
	/* In order, and only once the VMM has seen the pages it is asked about. */
	if (run->u.mmio.value != c->checkpoints || !c->share_pa || (run->u.mmio.value == 3 && !c->relq_pa)) {
		c->unexpected++;
		return true;
	}
	if (run->u.mmio.value == 1) {
		host_reads_shared(c);
	} else if (run->u.mmio.value == 2) {
		host_refused_unshared(c);
	} else if (run->u.mmio.value == 3) {
		host_reclaims_relinquished(vm, c);
	}
	/* The invariant checker knows the guest-shared state at every step. */
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
	return true;
}

static const char *const share_lines[] = {
	"guest: uid 0xb66fb428 0xe911c52e 0x564bcaa9 0x743a004d",
	"guest: features 0x21d 0x0 0x0 0x0",
	"guest: meminfo 4096",
	"guest: share -> 0, again -> -3",
	"guest: host wrote 0x686f73747265706c",
	"guest: unshare -> 0, again -> -3",
	"guest: page intact after unshare",
	"guest: relinquish -> 0, again -> 0",
	"guest: relinquished IPA reads 0x0",
	"guest: hostile -3 -3 -3 -3 -3 0 -3 -1",
	"guest: share done",
	NULL,
};

TEST(guest_share)
{
	static struct vmm_vm vm;
	struct share_ctx c = { 0 };
	struct vmm_stats before, after;

	vmm_stats_read(&before);
	vm = (struct vmm_vm){ .console_echo = true, .expect = share_lines, .mmio = share_mmio,
			      .donated = share_donated, .ctx = &c };
	if (!vmm_boot(&vm, MOAT_VM_PROTECTED, "share", 4 * MIB, 0)) {
		return;
	}
	CHECK_EQ(c.checkpoints, 3);
	CHECK_EQ(c.unexpected, 0);
	/* The retried MEM_SHARE's page, two for RELQ_IPA (before and after relinquishing), the image's BSS... */
	tprintf("share: %lu exits, %lu memory faults\n", vm.exits, vm.mem_faults);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
	/* Every page back where it was: the shared page too, scrubbed by RECLAIM. */
	vmm_stats_read(&after);
	CHECK(vmm_stats_equal(&before, &after), "page counts changed");
	if (!vmm_stats_equal(&before, &after)) {
		vmm_stats_print_diff("share", &before, &after);
	}
	CHECK_EQ(probe_read64(c.share_pa, &(u64){ 0 }), 0);
	CHECK_EQ(*(volatile u64 *)c.share_pa, 0);
}
