/*
 * Unit tests for the guest ABI of core/guest_call.c and core/guest_mem.c on
 * the fake machine, each call issued as a guest HVC through VCPU_RUN:
 *
 *   - discovery: the KVM call UID, the feature bitmap, HYP_MEMINFO, the
 *     ARCH_WORKAROUND answers per CPU ID register, vendor calls not offered;
 *   - MEM_SHARE / MEM_UNSHARE: the page's new state, the host stage 2 mapping
 *     it (read/write, no execute) and dropping it again with a TLBI, the
 *     demand-paging exit with the HVC retried;
 *   - MEM_UNSHARE in two steps (ABI 1.2): an UNSHARE exit with the page still
 *     the host's to read, GUEST_SHARED refusing it from then on, completed
 *     only by the next VCPU_RUN of that vCPU and only if nothing was shared
 *     since; GUEST_SHARED's answers;
 *   - MEM_RELINQUISH: unmapped from the VM's stage 2 under its VMID, off its
 *     page index, pending scrub, zeroed by RECLAIM;
 *   - VM_DESTROY of a VM with a shared page: scrubbed before the host has it;
 *   - MMIO_GUARD: accepted in the MMIO window and counted; enforced for a
 *     protected VM after its first call (an unguarded page: an external
 *     abort with the exact ESR/FAR, no exit; a guarded one: an MMIO exit),
 *     not before it and not for a normal VM; a refused call records nothing
 *     and opts nothing in; the full record refuses further pages; the vGIC's
 *     pages take no entry and opt nothing in;
 *   - hostile arguments: every refusal is INVALID_PARAMETER with nothing
 *     changed, and the invariant checker finds nothing after any of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <moat/abi.h>

#include "esr.h"
#include "fake_arch.h"
#include "fake_machine.h"
#include "guest_call.h"
#include "host_s2.h"
#include "idregs.h"
#include "invariants.h"
#include "pagedb.h"
#include "pgtable.h"
#include "psci.h"
#include "vcpu.h"
#include "vgic.h"
#include "vm.h"

#define EC(ec) ((u64)(ec) << ESR_EC_SHIFT)
#define DFSC_TRANSLATION_L3 0x07UL
#define RAM MOAT_GUEST_RAM_BASE
#define IPA_A (RAM + 0x10000)
#define IPA_B (RAM + 0x20000)
#define INVALID ((u64)(s64)SMCCC_RET_INVALID_PARAMETER)
#define NOT_SUPPORTED ((u64)(s64)SMCCC_RET_NOT_SUPPORTED)

static struct fake_machine machine;
static struct fake_machine *const m = &machine;

/* The registers the guest holds when it takes the one scripted HVC. */
static u64 call_regs[4];

/* VTTBR_EL2 when the guest was entered again after the HVC: it must run on its own view. */
static u64 reentry_vttbr;

static void exit_hook(struct vcpu *vcpu, unsigned int n)
{
	if (n == 0) {
		memcpy(vcpu->ctx.regs.x, call_regs, sizeof(call_regs));
	} else if (n == 1) {
		reentry_vttbr = fake.vttbr;
	}
}

static struct idreg_set cpu_ids;

static int setup(void **state)
{
	fake_machine_init(m, 32);
	fake.exit_hook = exit_hook;
	memset(&cpu_ids, 0, sizeof(cpu_ids));
	idregs_init(&cpu_ids);
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(m);
	return 0;
}

static struct guest_context *ctx(const struct fm_vm *v)
{
	return &fm_vcpu(v, 0)->ctx;
}

/* One VCPU_RUN in which the guest issues one HVC; returns the exit reason. out (may be NULL) gets x0..x3. */
static u64 hvc_exit(const struct fm_vm *v, u64 x0, u64 x1, u64 x2, u64 x3, u64 out[4])
{
	u64 res[3];

	/* A fresh script per call: the HVC, then (if the guest continues) an IRQ ends the run. */
	fake.nr_exits = fake.next_exit = 0;
	call_regs[0] = x0;
	call_regs[1] = x1;
	call_regs[2] = x2;
	call_regs[3] = x3;
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_HVC64) | ESR_IL, 0, 0);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, 0), MOAT_OK);
	if (out) {
		memcpy(out, ctx(v)->regs.x, 4 * sizeof(u64));
	}
	assert_int_equal(fm_violations(), 0);
	return res[0];
}

/* The guest's x0 after an HVC it continues from. */
static u64 hvc(const struct fm_vm *v, u64 x0, u64 x1, u64 x2, u64 x3)
{
	u64 out[4];

	assert_int_equal(hvc_exit(v, x0, x1, x2, x3, out), MOAT_EXIT_IRQ);
	return out[0];
}

/* Give the VM a fresh host page at ipa (DONATE_VM); returns its PA. */
static u64 donate(const struct fm_vm *v, u64 ipa)
{
	u64 pa = fm_host_page(m);

	assert_int_equal(FM_CALL(MOAT_FN_DONATE_VM, v->handle, pa, ipa), MOAT_OK);
	return pa;
}

/* MEM_UNSHARE as a host that drops its mappings at once: the UNSHARE exit, then the retried HVC's x0. */
static u64 unshare(const struct fm_vm *v, u64 ipa)
{
	assert_int_equal(hvc_exit(v, KVM_FN_MEM_UNSHARE, ipa, 0, 0, NULL), MOAT_EXIT_UNSHARE);
	return hvc(v, KVM_FN_MEM_UNSHARE, ipa, 0, 0);
}

/* GUEST_SHARED: the error, and the PA in *pa (0 on error). */
static int guest_shared(const struct fm_vm *v, u64 ipa, u64 *pa)
{
	u64 res[3] = { ~0UL, ~0UL, ~0UL };
	int ret = FM_CALLR(res, MOAT_FN_GUEST_SHARED, v->handle, ipa);

	*pa = res[0];
	assert_int_equal(res[1], 0);
	return ret;
}

static void expect_page(u64 pa, u16 owner, enum page_state state, u16 peer)
{
	struct page_info p = fm_page(pa);

	assert_int_equal(p.owner, owner);
	assert_int_equal(p.state, state);
	assert_int_equal(p.peer, peer);
}

/* ---- discovery ---------------------------------------------------------------------- */

static void test_uid_and_features(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 out[4];

	assert_int_equal(hvc_exit(&v, KVM_CALL_UID, 0, 0, 0, out), MOAT_EXIT_IRQ);
	assert_int_equal(out[0], 0xB66FB428UL);
	assert_int_equal(out[1], 0xE911C52EUL);
	assert_int_equal(out[2], 0x564BCAA9UL);
	assert_int_equal(out[3], 0x743A004DUL);
	/* Bits 0 (FEATURES), 2 (HYP_MEMINFO), 3 (MEM_SHARE), 4 (MEM_UNSHARE), 7 (MMIO_GUARD), 9 (MEM_RELINQUISH). */
	assert_int_equal(hvc_exit(&v, KVM_FN_FEATURES, 0, 0, 0, out), MOAT_EXIT_IRQ);
	assert_int_equal(out[0], 0x29d);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 0);
	assert_int_equal(out[3], 0);
	assert_int_equal(hvc(&v, KVM_FN_HYP_MEMINFO, 0, 0, 0), 4096);
	assert_int_equal(hvc(&v, KVM_FN_HYP_MEMINFO, 1, 0, 0), INVALID);
	assert_int_equal(hvc(&v, KVM_FN_HYP_MEMINFO, 0, 0, 1), INVALID);
	/* The PC moved on past each call: nothing was retried. */
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC);
}

static void test_vendor_calls_not_offered(void **state)
{
	static const u64 fids[] = {
		0x86000001UL, /* PTP */
		0xC6000005UL, 0xC6000006UL, 0xC6000008UL, /* reserved (Android: MMIO guard info/enroll/unmap) */
		0xC600000AUL, 0xC6000040UL, 0xC600007FUL, 0x8600FF00UL, 0x8600FF03UL,
		0x46000003UL,		     /* MEM_SHARE's number as a yielding call */
		1UL << 32 | KVM_FN_MEM_SHARE, /* upper bits set */
		1UL << 32 | KVM_CALL_UID,
	};
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(fids); i++) {
		assert_int_equal(hvc(&v, fids[i], IPA_A, 0, 0), NOT_SUPPORTED);
	}
	assert_int_equal(fm_vm_of(&v)->pages.count, 2 + FM_VM_MEMCACHE_PAGES + 1);
}

static void test_arch_workarounds(void **state)
{
	static const struct {
		u64 pfr0, mmfr1;
		s64 wa1, wa2, wa3;
	} cases[] = {
		{ 0, 0, -1, -1, -1 },		   /* affected by everything: no mitigation claimed */
		{ 1UL << 56, 0, -2, -1, -1 },	   /* CSV2: Spectre v2 not required */
		{ 3UL << 56, 0, -2, -1, 1 },	   /* CSV2_3: BHB unaffected too */
		{ 1UL << 56, 1UL << 60, -2, -1, 1 }, /* ECBHB */
	};
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&cpu_ids, 0, sizeof(cpu_ids));
		cpu_ids.r[ID_AA64PFR0] = cases[i].pfr0;
		cpu_ids.r[ID_AA64MMFR1] = cases[i].mmfr1;
		idregs_init(&cpu_ids);
		assert_int_equal(hvc(&v, SMCCC_ARCH_FEATURES, SMCCC_ARCH_WORKAROUND_1, 0, 0), (u64)cases[i].wa1);
		assert_int_equal(hvc(&v, SMCCC_ARCH_FEATURES, SMCCC_ARCH_WORKAROUND_2, 0, 0), (u64)cases[i].wa2);
		assert_int_equal(hvc(&v, SMCCC_ARCH_FEATURES, SMCCC_ARCH_WORKAROUND_3, 0, 0), (u64)cases[i].wa3);
	}
	/* The workarounds themselves are not calls the core offers. */
	assert_int_equal(hvc(&v, SMCCC_ARCH_WORKAROUND_1, 0, 0, 0), NOT_SUPPORTED);
	assert_int_equal(hvc(&v, SMCCC_ARCH_FEATURES, 0x80000002UL, 0, 0), NOT_SUPPORTED); /* SOC_ID */
}

/* ---- share / unshare ------------------------------------------------------------------ */

static void test_share_unshare(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u16 me = OWNER_VM(v.slot);
	u64 pa = donate(&v, IPA_A), out;
	unsigned int flags, level, count = fm_vm_of(&v)->pages.count;
	size_t from;

	assert_false(fm_host_mapped(pa));
	from = fake.nr_ops;
	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	expect_page(pa, me, PAGE_SHARED_OWNED, OWNER_HOST);
	/* The host maps it, page by page, read/write and never executable. */
	assert_int_equal(fm_host_level(pa), 3);
	assert_true(pgt_lookup(host_s2(), pa, &out, &flags, &level));
	assert_int_equal(flags & PGT_RWX, PGT_RW);
	/* Cleaned before the host reads it: a guest with its MMU off wrote past the caches. */
	assert_true(fake_find_op(from, FAKE_DC_CIVAC) != (size_t)-1);
	/* Still the VM's, still mapped for it, still on its index. */
	assert_true(fm_vm_lookup(v.slot, IPA_A, &out, NULL));
	assert_int_equal(out, pa);
	assert_int_equal(fm_vm_of(&v)->pages.count, count);
	/* Shared twice: refused, nothing changed. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), INVALID);
	expect_page(pa, me, PAGE_SHARED_OWNED, OWNER_HOST);

	/* The host is asked to drop its own mappings first (test_unshare_asks_host_first); then the retry. */
	assert_int_equal(hvc_exit(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0, NULL), MOAT_EXIT_UNSHARE);
	from = fake.nr_ops;
	assert_int_equal(hvc(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0), 0);
	expect_page(pa, me, PAGE_OWNED, OWNER_NONE);
	assert_false(fm_host_mapped(pa));
	/* Break-before-make on the host's table: the entry's TLBI (host VMID), then the clean. */
	{
		size_t tlbi = fake_find_op(from, FAKE_TLBI_S2_IPA);

		assert_true(tlbi != (size_t)-1);
		assert_int_equal(fake.ops[tlbi].arg, pa);
		assert_int_equal(fake.tlbi_s2_vttbr, 0);
		/* The guest re-entered with its own view: VTTBR_EL2 back to the VM's. */
		assert_int_equal(reentry_vttbr, fm_vm_of(&v)->s2.vttbr);
		assert_true(fake_find_op(tlbi, FAKE_DC_CIVAC) != (size_t)-1);
	}
	/* Unshared twice, or never shared: refused. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0), INVALID);
	assert_int_equal(hvc(&v, KVM_FN_MEM_UNSHARE, IPA_B, 0, 0), INVALID);
	expect_page(pa, me, PAGE_OWNED, OWNER_NONE);
	/* And again: share, unshare. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	assert_int_equal(unshare(&v, IPA_A), 0);
	assert_int_equal(fm_vm_of(&v)->pages.count, count);
}

static void test_share_demand_pages(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 elr = ctx(&v)->regs.elr, pa;

	/* Nothing backs IPA_B: the run ends for the host to fault it in, the HVC to run again. */
	assert_int_equal(hvc_exit(&v, KVM_FN_MEM_SHARE, IPA_B, 0, 0, NULL), MOAT_EXIT_MEM_FAULT);
	assert_int_equal(fm_run_page(&v)->u.mem_fault.ipa, IPA_B);
	assert_int_equal(ctx(&v)->regs.elr, elr - 4);
	assert_int_equal(ctx(&v)->regs.x[0], KVM_FN_MEM_SHARE); /* untouched: the retry is the same call */
	assert_int_equal(ctx(&v)->regs.x[1], IPA_B);
	pa = donate(&v, IPA_B);
	/* The retried HVC (the fake re-delivers it from the same PC). */
	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_B, 0, 0), 0);
	expect_page(pa, OWNER_VM(v.slot), PAGE_SHARED_OWNED, OWNER_HOST);
	assert_true(fm_host_mapped(pa));
	/* Unsharing or relinquishing a page nothing backs does not ask for one. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0), INVALID);
	assert_int_equal(hvc(&v, KVM_FN_MEM_RELINQUISH, IPA_A, 0, 0), 0);
	assert_false(fm_vm_lookup(v.slot, IPA_A, NULL, NULL));
}

/*
 * MEM_UNSHARE of a shared page: the run ends with an UNSHARE exit naming it,
 * the guest's call not done (PC back on the HVC, x0 untouched); the page is
 * still shared and mapped for the host, which drops its own mappings
 * meanwhile; GUEST_SHARED hands it out no more. The next VCPU_RUN retries the
 * HVC, which completes.
 */
static void test_unshare_asks_host_first(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u16 me = OWNER_VM(v.slot);
	u64 pa = donate(&v, IPA_A), elr = ctx(&v)->regs.elr, got;
	size_t from;

	assert_int_equal(guest_shared(&v, IPA_A, &got), MOAT_E_PERM); /* private */
	assert_int_equal(got, 0);
	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	assert_int_equal(guest_shared(&v, IPA_A, &got), MOAT_OK);
	assert_int_equal(got, pa);

	from = fake.nr_ops;
	assert_int_equal(hvc_exit(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0, NULL), MOAT_EXIT_UNSHARE);
	assert_int_equal(fm_run_page(&v)->u.unshare.ipa, IPA_A);
	assert_int_equal(ctx(&v)->regs.elr, elr - 4); /* back on the HVC */
	assert_int_equal(ctx(&v)->regs.x[0], KVM_FN_MEM_UNSHARE); /* untouched: the retry is the same call */
	assert_int_equal(ctx(&v)->regs.x[1], IPA_A);
	/* Nothing taken from the host yet: no TLBI, the page still shared and mapped. */
	assert_true(fake_find_op(from, FAKE_TLBI_S2_IPA) == (size_t)-1);
	expect_page(pa, me, PAGE_SHARED_OWNED, OWNER_HOST);
	assert_true(fm_host_mapped(pa));
	assert_int_equal(fm_page(pa).flags, PAGE_FLAG_UNSHARING);
	assert_int_equal(guest_shared(&v, IPA_A, &got), MOAT_E_PERM);
	assert_int_equal(got, 0);
	assert_int_equal(fm_violations(), 0);

	/* The host ran the vCPU again: the retried call completes. */
	from = fake.nr_ops;
	assert_int_equal(hvc(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0), 0);
	assert_true(fake_find_op(from, FAKE_TLBI_S2_IPA) != (size_t)-1);
	expect_page(pa, me, PAGE_OWNED, OWNER_NONE);
	assert_int_equal(fm_page(pa).flags, 0);
	assert_false(fm_host_mapped(pa));
	assert_int_equal(fm_vcpu(&v, 0)->unshare_ipa, 0);
	/* Once more: never shared now, refused at once, no exit. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0), INVALID);
}

/*
 * The retry completes only what the host was told: a MEM_SHARE in between (the
 * page may have been unshared and shared again by another vCPU, and mapped by
 * the host afresh) or another page's unshare means the host is asked again.
 */
static void test_unshare_asks_again(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 a = donate(&v, IPA_A), b = donate(&v, IPA_B), got;

	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	assert_int_equal(hvc_exit(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0, NULL), MOAT_EXIT_UNSHARE);
	/* Re-entered, the guest first shares another page (an interrupt handler, say)... */
	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_B, 0, 0), 0);
	/* ...so the retried unshare of A is a new request, and A stays the host's meanwhile. */
	assert_int_equal(hvc_exit(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0, NULL), MOAT_EXIT_UNSHARE);
	assert_int_equal(fm_run_page(&v)->u.unshare.ipa, IPA_A);
	assert_true(fm_host_mapped(a));
	/* An unshare of B in between replaces the request: A is asked about once more. */
	assert_int_equal(hvc_exit(&v, KVM_FN_MEM_UNSHARE, IPA_B, 0, 0, NULL), MOAT_EXIT_UNSHARE);
	assert_int_equal(fm_run_page(&v)->u.unshare.ipa, IPA_B);
	assert_int_equal(hvc(&v, KVM_FN_MEM_UNSHARE, IPA_B, 0, 0), 0);
	assert_false(fm_host_mapped(b));
	assert_true(fm_host_mapped(a));
	assert_int_equal(guest_shared(&v, IPA_A, &got), MOAT_E_PERM); /* still marked: its unshare is under way */
	assert_int_equal(unshare(&v, IPA_A), 0);
	assert_false(fm_host_mapped(a));
	/* Shared again after all that: the host may map it again. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	assert_int_equal(guest_shared(&v, IPA_A, &got), MOAT_OK);
	assert_int_equal(got, a);
	assert_int_equal(fm_violations(), 0);
}

/* A VM destroyed with an unshare under way: the page goes as any shared one, its mark with it. */
static void test_destroy_with_unshare_pending(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 pa = donate(&v, IPA_A);

	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	assert_int_equal(hvc_exit(&v, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0, NULL), MOAT_EXIT_UNSHARE);
	assert_int_equal(FM_CALL(MOAT_FN_VM_DESTROY, v.handle), MOAT_OK);
	expect_page(pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE);
	assert_int_equal(fm_page(pa).flags, 0);
	assert_false(fm_host_mapped(pa));
	assert_int_equal(fm_violations(), 0);
	assert_int_equal(FM_CALL(MOAT_FN_RECLAIM, pa), MOAT_OK);
	assert_true(fm_host_mapped(pa));
	assert_int_equal(fm_violations(), 0);
}

/* GUEST_SHARED refuses everything but a page the guest shares with the host, in the ABI's check order. */
static void test_guest_shared_refusals(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct fm_vm n = fm_build_vm(m, MOAT_VM_NORMAL, 0);
	u64 lent = fm_host_page(m), pa = donate(&v, IPA_A), got;

	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	assert_int_equal(FM_CALL(MOAT_FN_GUEST_SHARED, v.handle ^ (1UL << 16), IPA_A), MOAT_E_STALE);
	assert_int_equal(FM_CALL(MOAT_FN_GUEST_SHARED, v.handle, IPA_A, 1), MOAT_E_INVAL); /* x3 must be 0 */
	assert_int_equal(guest_shared(&v, IPA_A + 8, &got), MOAT_E_ALIGN);
	assert_int_equal(guest_shared(&v, RAM - 4096, &got), MOAT_E_RANGE);
	assert_int_equal(guest_shared(&v, RAM + FM_VM_RAM_SIZE, &got), MOAT_E_RANGE);
	assert_int_equal(guest_shared(&v, FM_VM_MMIO_BASE, &got), MOAT_E_RANGE);
	assert_int_equal(guest_shared(&v, IPA_B, &got), MOAT_E_PERM); /* nothing backs it */
	assert_int_equal(guest_shared(&v, RAM, &got), MOAT_E_PERM);   /* the loaded image: private */
	/* A normal VM's page borrowed from the host is not one its guest shares. */
	assert_int_equal(FM_CALL(MOAT_FN_SHARE_VM, n.handle, lent, IPA_A), MOAT_OK);
	assert_int_equal(guest_shared(&n, IPA_A, &got), MOAT_E_PERM);
	/* The other VM's shared page is not found through this one. */
	assert_int_equal(guest_shared(&n, IPA_B, &got), MOAT_E_PERM);
	assert_int_equal(guest_shared(&v, IPA_A, &got), MOAT_OK);
	assert_int_equal(got, pa);
	assert_int_equal(fm_violations(), 0);
}

/* ---- relinquish ------------------------------------------------------------------------ */

static void test_relinquish(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct vm *vm = fm_vm_of(&v);
	u64 older = donate(&v, IPA_A), pa = donate(&v, IPA_B);
	unsigned int count = vm->pages.count;
	size_t from, tlbi;

	fm_fill(pa, 0xa5);
	fm_fill(older, 0x5a);
	from = fake.nr_ops;
	assert_int_equal(hvc(&v, KVM_FN_MEM_RELINQUISH, IPA_B, 0, 0), 0);
	assert_false(fm_vm_lookup(v.slot, IPA_B, NULL, NULL));
	expect_page(pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE);
	assert_int_equal(fm_page(pa).next, 0);
	assert_int_equal(vm->pages.count, count - 1);
	assert_false(fm_host_mapped(pa));
	/* The VM's entry broken with a TLBI under the VM's own VMID. */
	tlbi = fake_find_op(from, FAKE_TLBI_S2_IPA);
	assert_true(tlbi != (size_t)-1);
	assert_int_equal(fake.ops[tlbi].arg, IPA_B);
	assert_int_equal(fake.tlbi_s2_vttbr, vm->s2.vttbr);
	assert_int_equal(reentry_vttbr, vm->s2.vttbr);
	/* The page deeper in the index (not its head) leaves it exactly too. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_RELINQUISH, IPA_A, 0, 0), 0);
	assert_int_equal(vm->pages.count, count - 2);
	/* Twice: nothing backs the IPA any more, nothing to give. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_RELINQUISH, IPA_B, 0, 0), 0);
	assert_int_equal(vm->pages.count, count - 2);
	/* The host takes them back, zeroed, while the VM lives on. */
	assert_true(fm_page_is(pa, 0xa5));
	assert_int_equal(FM_CALL(MOAT_FN_RECLAIM, pa), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_RECLAIM, older), MOAT_OK);
	assert_true(fm_page_is(pa, 0));
	assert_true(fm_page_is(older, 0));
	assert_true(fm_host_mapped(pa));
	expect_page(pa, OWNER_HOST, PAGE_OWNED, OWNER_NONE);
	assert_int_equal(fm_violations(), 0);
	/* The guest touches the IPA again: demand paging as for any page never backed. */
	fake.nr_exits = fake.next_exit = 0;
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_DABT_LOWER) | ESR_IL | 0x7, IPA_B, IPA_B);
	{
		u64 res[3];

		assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0), MOAT_OK);
		assert_int_equal(res[0], MOAT_EXIT_MEM_FAULT);
	}
	/* The VM destroyed later: the relinquished pages are not reclaimed twice. */
	assert_int_equal(FM_CALL(MOAT_FN_VM_DESTROY, v.handle), MOAT_OK);
	assert_int_equal(FM_CALL(MOAT_FN_RECLAIM, pa), MOAT_E_PERM);
	assert_int_equal(fm_violations(), 0);
}

static void test_destroy_with_shared_page(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 pa = donate(&v, IPA_A);

	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	fm_fill(pa, 0x77);
	assert_true(fm_host_mapped(pa));
	assert_int_equal(FM_CALL(MOAT_FN_VM_DESTROY, v.handle), MOAT_OK);
	/* The host lost its view with the VM: the page is nobody's until scrubbed. */
	expect_page(pa, OWNER_NONE, PAGE_PENDING_SCRUB, OWNER_NONE);
	assert_false(fm_host_mapped(pa));
	assert_int_equal(fm_violations(), 0);
	assert_int_equal(FM_CALL(MOAT_FN_RECLAIM, pa), MOAT_OK);
	assert_true(fm_page_is(pa, 0));
	assert_true(fm_host_mapped(pa));
	assert_int_equal(fm_violations(), 0);
}

/* ---- MMIO guard ------------------------------------------------------------------------ */

static void test_mmio_guard(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);

	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, FM_VM_MMIO_BASE, 0, 0), 0);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, FM_VM_MMIO_BASE + FM_VM_MMIO_SIZE - 4096, 0, 0), 0);
	assert_int_equal(fm_vm_of(&v)->mmio_guarded, 2);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, FM_VM_MMIO_BASE + FM_VM_MMIO_SIZE, 0, 0), INVALID);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, FM_VM_MMIO_BASE + 8, 0, 0), INVALID);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, IPA_A, 0, 0), INVALID); /* RAM */
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, FM_VM_MMIO_BASE, 1, 0), INVALID);
	assert_int_equal(fm_vm_of(&v)->mmio_guarded, 2);
}

/*
 * One VCPU_RUN in which the guest's access to ipa (4 bytes from x5, ISV set unless isv is false) traps as a
 * stage-2 data abort at FAR 0xffff000012345678, then, if the guest continues, an IRQ ends the run. Returns
 * the exit reason.
 */
#define GUARD_FAR 0xffff000012345678UL
static u64 mmio_access(const struct fm_vm *v, u64 ipa, bool write, bool isv)
{
	u64 esr = EC(EC_DABT_LOWER) | ESR_IL | (isv ? ESR_ISV : 0) | 2UL << 22 | 5UL << 16 | (write ? ESR_WNR : 0) |
		  DFSC_TRANSLATION_L3;
	u64 res[3];

	fake.nr_exits = fake.next_exit = 0;
	fake_queue_exit(GUEST_EXIT_SYNC, esr, GUARD_FAR, ipa);
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
	assert_int_equal(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, 0), MOAT_OK);
	assert_int_equal(fm_violations(), 0);
	return res[0];
}

/* The access was refused in the core: an external abort at the guest's EL1, the exact syndrome, no exit. */
static void expect_mmio_refused(const struct fm_vm *v, u64 ipa, bool write, bool isv)
{
	unsigned int injected = fake.injected;

	assert_int_equal(mmio_access(v, ipa, write, isv), MOAT_EXIT_IRQ);
	assert_int_equal(fake.injected, injected + 1);
	/* EC 0x25 (data abort, same EL), IL, WnR as the access, FSC 0b010000 (synchronous external abort). */
	assert_int_equal(fake.last_esr_el1, write ? 0x96000050UL : 0x96000010UL);
	assert_int_equal(fake.last_far_el1, GUARD_FAR);
}

/* The access reached the host as an MMIO exit, nothing injected. */
static void expect_mmio_exit(const struct fm_vm *v, u64 ipa)
{
	unsigned int injected = fake.injected;

	assert_int_equal(mmio_access(v, ipa, true, true), MOAT_EXIT_MMIO);
	assert_int_equal(fm_run_page(v)->u.mmio.ipa, ipa);
	assert_int_equal(fake.injected, injected);
}

#define MMIO_P (FM_VM_MMIO_BASE + 0x1000)
#define MMIO_Q (FM_VM_MMIO_BASE + 0x2000)

static void test_mmio_guard_enforced(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct vm *vm = fm_vm_of(&v);

	/* Before the guest opts in: every page of the window reaches the host, as always. */
	expect_mmio_exit(&v, MMIO_Q + 0x10);
	expect_mmio_exit(&v, MMIO_P);
	/* Refused calls (outside the window, unaligned, x2 set) opt nothing in and record nothing. */
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, FM_VM_MMIO_BASE + FM_VM_MMIO_SIZE, 0, 0), INVALID);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, IPA_A, 0, 0), INVALID);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, MMIO_P + 8, 0, 0), INVALID);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, MMIO_P, 0, 1), INVALID);
	assert_false(vm->mmio_guard.enrolled);
	assert_int_equal(vm->mmio_guard.nr, 0);
	expect_mmio_exit(&v, MMIO_Q);

	/* The first call opts in: P reaches the host, Q (any offset, read or write, ISV or not) is refused. */
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, MMIO_P, 0, 0), 0);
	expect_mmio_exit(&v, MMIO_P + 0x24);
	expect_mmio_refused(&v, MMIO_Q, true, true);
	expect_mmio_refused(&v, MMIO_Q + 0xffc, false, true);
	expect_mmio_refused(&v, MMIO_Q + 8, true, false);
	expect_mmio_refused(&v, FM_VM_MMIO_BASE, false, true);
	assert_true(vm->mmio_guard.enrolled);
	/* Guarding again is no new entry; guarding Q lets it through. */
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, MMIO_P, 0, 0), 0);
	assert_int_equal(vm->mmio_guard.nr, 1);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, MMIO_Q, 0, 0), 0);
	expect_mmio_exit(&v, MMIO_Q + 4);
	/* Still refused after opting in: outside the window, nothing recorded. */
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, FM_VM_MMIO_BASE - PAGE_SIZE, 0, 0), INVALID);
	assert_int_equal(vm->mmio_guard.nr, 2);
	assert_int_equal(vm->mmio_guarded, 3);
	/* An unguarded page that is not MMIO at all keeps its fault with an exit (guest_fault's path). */
	assert_int_equal(mmio_access(&v, FM_VM_MMIO_BASE + FM_VM_MMIO_SIZE, true, true), MOAT_EXIT_GUEST_FAULT);
}

static void test_mmio_guard_normal_vm(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_NORMAL, 0);

	/* Accepted and counted; the host sees a normal VM's every page anyway, so nothing is refused. */
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, MMIO_P, 0, 0), 0);
	assert_int_equal(fm_vm_of(&v)->mmio_guarded, 1);
	assert_int_equal(fm_vm_of(&v)->mmio_guard.nr, 0);
	expect_mmio_exit(&v, MMIO_Q);
	assert_int_equal(fake.injected, 0);
}

static void test_mmio_guard_full(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct vm *vm = fm_vm_of(&v);
	u64 base = VGIC_GICD_BASE, last = base + 0x100000 + VM_MMIO_GUARD_MAX * PAGE_SIZE;

	/*
	 * The fake VM's window holds 16 pages: widen it (before its first run, as VM_CREATE would have) to span the
	 * vGIC and more pages than the record has entries.
	 */
	vm->mmio_base = base;
	vm->mmio_size = FM_VM_MMIO_BASE + FM_VM_MMIO_SIZE - base;
	/* The vGIC's pages: accepted, no entry and no opt-in (the core answers them, they never reach the host). */
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, VGIC_GICD_BASE, 0, 0), 0);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, VGIC_GICR_BASE, 0, 0), 0);
	assert_int_equal(vm->mmio_guard.nr, 0);
	assert_false(vm->mmio_guard.enrolled);
	expect_mmio_exit(&v, last);
	for (unsigned int i = 0; i < VM_MMIO_GUARD_MAX; i++) {
		assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, base + 0x100000 + i * PAGE_SIZE, 0, 0), 0);
	}
	assert_int_equal(vm->mmio_guard.nr, VM_MMIO_GUARD_MAX);
	/* Full: a new page is INVALID_PARAMETER and stays unguarded; a page already guarded is still fine. */
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, last, 0, 0), INVALID);
	assert_int_equal(vm->mmio_guard.nr, VM_MMIO_GUARD_MAX);
	assert_int_equal(vm->mmio_guarded, VM_MMIO_GUARD_MAX + 2);
	assert_int_equal(hvc(&v, KVM_FN_MMIO_GUARD, base + 0x100000, 0, 0), 0);
	expect_mmio_refused(&v, last, true, true);
	expect_mmio_exit(&v, last - PAGE_SIZE);
	assert_int_equal(fm_violations(), 0);
}

/* ---- hostile arguments ------------------------------------------------------------------- */

static void test_hostile_arguments(void **state)
{
	static const u32 fids[] = { KVM_FN_MEM_SHARE, KVM_FN_MEM_UNSHARE, KVM_FN_MEM_RELINQUISH };
	static const u64 bad_ipas[] = {
		IPA_A + 1, IPA_A + 0x800, IPA_A | (1UL << 63), /* unaligned; beyond any IPA space */
		RAM - 4096, RAM + FM_VM_RAM_SIZE, 0, ~0UL & ~0xfffUL, /* outside RAM */
		FM_VM_MMIO_BASE, FM_UART,			      /* MMIO */
	};
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	struct fm_vm n = fm_build_vm(m, MOAT_VM_NORMAL, 0);
	u16 me = OWNER_VM(v.slot);
	u64 pa = donate(&v, IPA_A), lent = fm_host_page(m), shared = donate(&v, IPA_B);
	unsigned int count = fm_vm_of(&v)->pages.count;

	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_B, 0, 0), 0);
	for (unsigned int f = 0; f < ARRAY_SIZE(fids); f++) {
		for (unsigned int i = 0; i < ARRAY_SIZE(bad_ipas); i++) {
			assert_int_equal(hvc(&v, fids[f], bad_ipas[i], 0, 0), INVALID);
		}
		/* Arguments that must be zero. */
		assert_int_equal(hvc(&v, fids[f], IPA_A, 1, 0), INVALID);
		assert_int_equal(hvc(&v, fids[f], IPA_A, 0, ~0UL), INVALID);
	}
	/* The core's own pages serving the VM (its stage-2 root) are no IPA: the guest cannot name them. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, v.root_pa, 0, 0), INVALID);
	/* A shared page is not relinquished: the host would keep a mapping of a page pending scrub. */
	assert_int_equal(hvc(&v, KVM_FN_MEM_RELINQUISH, IPA_B, 0, 0), INVALID);
	expect_page(shared, me, PAGE_SHARED_OWNED, OWNER_HOST);
	expect_page(pa, me, PAGE_OWNED, OWNER_NONE);
	assert_false(fm_host_mapped(pa));
	assert_int_equal(fm_vm_of(&v)->pages.count, count);
	assert_int_equal(fake.injected, 0);

	/* A normal VM's page borrowed from the host (SHARE_VM) is the host's: neither shared again nor given. */
	assert_int_equal(FM_CALL(MOAT_FN_SHARE_VM, n.handle, lent, IPA_A), MOAT_OK);
	assert_int_equal(hvc(&n, KVM_FN_MEM_SHARE, IPA_A, 0, 0), INVALID);
	assert_int_equal(hvc(&n, KVM_FN_MEM_UNSHARE, IPA_A, 0, 0), INVALID);
	assert_int_equal(hvc(&n, KVM_FN_MEM_RELINQUISH, IPA_A, 0, 0), INVALID);
	expect_page(lent, OWNER_HOST, PAGE_SHARED_OWNED, OWNER_VM(n.slot));
	/* Another VM's page: an IPA names only the caller's own. */
	assert_int_equal(hvc(&n, KVM_FN_MEM_UNSHARE, IPA_B, 0, 0), INVALID);
	expect_page(shared, me, PAGE_SHARED_OWNED, OWNER_HOST);
}

/* The checker knows the shared state: each half of it alone is a violation. */
static void test_checker_knows_guest_shares(void **state)
{
	struct fm_vm v = fm_build_vm(m, MOAT_VM_PROTECTED, 0);
	u64 pa = donate(&v, IPA_A);
	struct page_info *p = pagedb_lookup(pa);

	assert_int_equal(hvc(&v, KVM_FN_MEM_SHARE, IPA_A, 0, 0), 0);
	/* The database forgets the share: the host maps a private VM page. */
	p->state = PAGE_OWNED;
	p->peer = OWNER_NONE;
	assert_int_equal(invariants_check_page(pa), 1);
	assert_int_not_equal(fm_violations(), 0);
	p->state = PAGE_SHARED_OWNED;
	p->peer = OWNER_CORE; /* shared with someone other than the host, who still maps it: two faults */
	assert_int_equal(invariants_check_page(pa), 2);
	p->peer = OWNER_HOST;
	assert_int_equal(invariants_check_page(pa), 0);
	assert_int_equal(fm_violations(), 0);
	/* The host's mapping goes missing while the database says shared. */
	assert_int_equal(pgt_unmap(host_s2(), pa, PAGE_SIZE), MOAT_OK);
	assert_int_equal(invariants_check_page(pa), 1);
	assert_int_not_equal(fm_violations(), 0);
	host_s2_lend_page(pa);
	assert_int_equal(fm_violations(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uid_and_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vendor_calls_not_offered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arch_workarounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share_unshare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share_demand_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unshare_asks_host_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unshare_asks_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_with_unshare_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_shared_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relinquish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_with_shared_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_guard_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_guard_normal_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_guard_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checker_knows_guest_shares, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
