/*
 * The guest ABI from the host's side of the wall (docs/ABI.md "Guest ABI"),
 * with guest/share: a page the guest shares is readable and writable by the
 * host exactly while shared, GUEST_SHARED names it; its unshare first ends
 * the run with an UNSHARE exit (the page still the host's to read, no longer
 * handed out by GUEST_SHARED), and once unshared a host read aborts (DESIGN §4);
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
	struct vmm_vm *vm;
	u64 share_pa, relq_pa; /* the pages the VMM donated at SHARE_IPA and (first) RELQ_IPA */
	unsigned int checkpoints;
	unsigned int unexpected;
	unsigned int unshares; /* UNSHARE exits for SHARE_IPA */
};

/* GUEST_SHARED: the PA, or the (negative) error. */
static long shared_pa(struct vmm_vm *vm, u64 ipa)
{
	struct moat_result r = moat_hvc(MOAT_FN_GUEST_SHARED, vm->handle, ipa, 0);

	return r.status ? r.status : (long)r.r1;
}

/* The UNSHARE exit: the page is still shared (readable), but no longer handed out for mapping. */
static void share_unshare(struct vmm_vm *vm, u64 ipa)
{
	struct share_ctx *c = vm->ctx;
	u64 v = 0;
	int aborted = probe_read64(c->share_pa, &v);
	long sp = shared_pa(vm, ipa);

	tprintf("share: UNSHARE exit for IPA 0x%lx: host read %s, word 0 %s, GUEST_SHARED -> %ld\n", ipa,
		aborted ? "aborted" : "ok", v == (SHARE_IPA ^ SHARE_MASK) ? "intact" : "changed", sp);
	CHECK_EQ(ipa, SHARE_IPA);
	CHECK_EQ(aborted, 0);
	CHECK_EQ(sp, MOAT_E_PERM);
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
	c->unshares++;
}

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
	CHECK_EQ(shared_pa(c->vm, SHARE_IPA), (long)c->share_pa);
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
	"guest: features 0x29d 0x0 0x0 0x0",
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
			      .donated = share_donated, .unshare = share_unshare, .ctx = &c };
	c.vm = &vm;
	if (!vmm_boot(&vm, MOAT_VM_PROTECTED, "share", 4 * MIB, 0)) {
		return;
	}
	CHECK_EQ(c.checkpoints, 3);
	CHECK_EQ(c.unexpected, 0);
	/* One for the first MEM_UNSHARE; the second one (page private again) is refused without an exit. */
	CHECK_EQ(c.unshares, 1);
	CHECK_EQ(vm.unshare_exits, 1);
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

/* ---- the MMIO guard: guest/mmioguard ------------------------------------------------ */

/*
 * What reaches the host of guest/mmioguard's MMIO: checkpoint writes 1 and 2 (before it opts in) and
 * 3 (once it guarded the page), in order; never the write of 3 it made to the page unguarded, nor
 * its read or pair load of another unguarded page -- those are the guest's external aborts, and the
 * host sees no exit at all for them (no MMIO, no GUEST_FAULT).
 */
#define GUARD_CHECKPOINT 0x0a000040UL

struct guard_ctx {
	unsigned int checkpoints;
	unsigned int unexpected;
};

static bool guard_mmio(struct vmm_vm *vm, struct moat_run *run)
{
	struct guard_ctx *c = vm->ctx;

	if (run->u.mmio.ipa == GUARD_CHECKPOINT && run->u.mmio.is_write && run->u.mmio.size == 4 &&
	    run->u.mmio.value == c->checkpoints + 1) {
		c->checkpoints++;
	} else {
		tprintf("mmioguard: unexpected MMIO exit: IPA 0x%lx, write %u, value 0x%lx\n", run->u.mmio.ipa,
			run->u.mmio.is_write, run->u.mmio.value);
		run->u.mmio.value = 0;
		c->unexpected++;
	}
	return true;
}

static const char *const guard_lines[] = {
	"guest: refused -3 -3 -3 -3",
	"guest: guard uart -> 0",
	"guest: unguarded write: ESR_EL1=0x96000050 FAR_EL1=0xa000040",
	"guest: unguarded read: ESR_EL1=0x96000010 FAR_EL1=0xa001008",
	"guest: unguarded ldp: ESR_EL1=0x96000010 FAR_EL1=0xa001010",
	"guest: guard checkpoint -> 0, again -> 0",
	"guest: mmioguard done",
	NULL,
};

TEST(guest_mmioguard)
{
	static struct vmm_vm vm;
	struct guard_ctx c = { 0 };

	vm = (struct vmm_vm){ .console_echo = true, .expect = guard_lines, .mmio = guard_mmio, .ctx = &c };
	if (!vmm_boot(&vm, MOAT_VM_PROTECTED, "mmioguard", 2 * MIB, 0)) {
		return;
	}
	tprintf("mmioguard: %u checkpoints, %u unexpected MMIO exits, %lu guest-fault exits\n", c.checkpoints,
		c.unexpected, vm.guest_faults);
	CHECK_EQ(c.checkpoints, 3);
	CHECK_EQ(c.unexpected, 0);
	CHECK_EQ(vm.guest_faults, 0);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}

/* ---- SMP guests: guest/smp ---------------------------------------------------------- */

/*
 * Two vCPUs on the one host CPU this test uses: run one at a time, switch
 * on WFI to the other if it is runnable. Which vCPUs are runnable the VMM
 * learns only from the core's exits: VCPU_ON names one, VCPU_OFF retires the
 * caller. vmm_handle_exit() serves the rest with the running vCPU's run page.
 */
struct smp_ctx {
	struct moat_run *run[2];
	bool runnable[2];
	unsigned int vcpu_on_exits, vcpu_off_exits, switches;
	u64 vcpu_on_index;
	long off_run_before; /* VCPU_RUN of vCPU 1 before any CPU_ON: the exit */
};

static long smp_run(struct vmm_vm *vm, struct smp_ctx *c)
{
	unsigned int cur = 0;
	long status = MOAT_OK;

	for (unsigned int n = 0; n < 100000; n++) {
		struct moat_result r = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, cur, 0);
		u64 reason = r.r1;

		if (r.status) {
			return r.status;
		}
		if (reason == MOAT_EXIT_VCPU_ON) {
			c->vcpu_on_exits++;
			c->vcpu_on_index = c->run[cur]->u.vcpu_on.index;
			if (c->vcpu_on_index < 2) {
				c->runnable[c->vcpu_on_index] = true;
			}
			continue; /* the caller goes on */
		}
		if (reason == MOAT_EXIT_VCPU_OFF) {
			c->vcpu_off_exits++;
			c->runnable[cur] = false;
		}
		if (reason == MOAT_EXIT_VCPU_OFF || reason == MOAT_EXIT_WFI) {
			if (c->runnable[cur ^ 1]) {
				cur ^= 1;
				c->switches++;
			} else if (!c->runnable[cur]) {
				return MOAT_E_STATE; /* nothing left to run: the guest never powered off */
			}
			continue;
		}
		vm->run = c->run[cur];
		if (!vmm_handle_exit(vm, reason, &status)) {
			vm->run = c->run[0];
			return status;
		}
		vm->run = c->run[0];
	}
	return MOAT_E_BUSY;
}

static const char *const smp_lines[] = {
	"guest: cpu_on -> 0, again -> -5, affinity 2",
	"guest: vcpu1 up: mpidr 0x80000001, context ok, cpu_on(0) -> -4, affinity(0) 0",
	"guest: vcpu1 off: affinity 1; cpu_on(2) -> -2, entry 0x2 -> -9, level 1 -> -2",
	"guest: smp done",
	NULL,
};

static void smp_guest(u64 type)
{
	static struct vmm_vm vm;
	struct smp_ctx c = { .runnable = { true, false } };
	u64 run1 = host_page_alloc();
	long ret;

	vm = (struct vmm_vm){ .console_echo = true, .expect = smp_lines, .max_vcpus = 2 };
	ret = vmm_create(&vm, type, 2 * MIB);
	if (!ret) {
		ret = vmm_add_vcpu0(&vm);
	}
	if (!ret) {
		ret = moat_hvc(MOAT_FN_SHARE_CORE, run1, 0, 0).status;
	}
	if (!ret) {
		ret = moat_hvc(MOAT_FN_VCPU_CREATE, vm.handle, 1, run1).status;
	}
	if (!ret) {
		ret = vmm_load(&vm, "smp");
	}
	if (!ret) {
		ret = vmm_finalize(&vm, 0);
	}
	if (!CHECK_EQ(ret, MOAT_OK)) {
		return;
	}
	c.run[0] = vm.run;
	c.run[1] = (struct moat_run *)run1;
	/* vCPU 1 is off until the guest starts it: the host cannot run it. */
	c.off_run_before = (long)moat_hvc(MOAT_FN_VCPU_RUN, vm.handle, 1, 0).r1;
	tprintf("smp: VCPU_RUN of vCPU 1 before its CPU_ON -> exit %ld\n", c.off_run_before);
	CHECK_EQ(c.off_run_before, MOAT_EXIT_VCPU_OFF);
	ret = smp_run(&vm, &c);
	tprintf("smp: %u VCPU_ON exits (vCPU %lu), %u VCPU_OFF exits, %u switches\n", c.vcpu_on_exits,
		c.vcpu_on_index, c.vcpu_off_exits, c.switches);
	CHECK_EQ(ret, MOAT_OK);
	CHECK_EQ(vm.last_exit, MOAT_EXIT_SYSTEM_OFF);
	CHECK(vmm_expected_all(&vm), "expected lines missing (seen mask 0x%x)", vm.expect_seen);
	CHECK_EQ(c.vcpu_on_exits, 1);
	CHECK_EQ(c.vcpu_on_index, 1);
	CHECK_EQ(c.vcpu_off_exits, 1);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
	CHECK_EQ(moat_hvc(MOAT_FN_UNSHARE_CORE, run1, 0, 0).status, MOAT_OK);
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}

TEST(guest_smp)
{
	smp_guest(MOAT_VM_PROTECTED);
}

TEST(guest_smp_normal)
{
	smp_guest(MOAT_VM_NORMAL);
}
