/*
 * The attack suite (DESIGN §15, STYLE "Tests" 4): the test host as a
 * malicious host. One TEST, `attacks`, runs every attack below in sequence
 * against a set of VMs in each lifecycle state and, for each one:
 *
 *   - performs it and checks the exact error of docs/ABI.md (or, for a host
 *     access to memory it gave away, the synchronous external abort);
 *   - checks that a refused call changed nothing: the three MOAT_FN_STATS
 *     selectors read the same before and after it, and x1..x3 are zero;
 *   - checks MOAT_FN_CHECK reports 0 invariant violations and
 *     MOAT_FN_VERSION still answers 0x10001;
 *   - prints exactly one line, parsed by tests/integration/test_attacks.py:
 *       ATTACK-PASS: <name> (<what>, got <code>)
 *       ATTACK-FAIL: <name>: <reason>
 *
 * and at the end "attacks: N run, M refused, V invariant violations". After
 * the attacks the victim VM still runs its guest to completion, every VM is
 * torn down, and STATS must be back where they were before the suite began.
 */
#include "fmt.h"
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)
#define VM_RAM (16 * MIB)
#define RAM_END_IPA (MOAT_GUEST_RAM_BASE + VM_RAM)
#define FREE_IPA (MOAT_GUEST_RAM_BASE + 0x400000UL) /* never mapped in any fixture VM */
#define CFG_IPA (MOAT_GUEST_RAM_BASE + 0x200000UL)  /* where cfg_pa is mapped in cfg */
#define OUTSIDE_RAM_PA 0x200000000UL		    /* beyond a 1 GiB machine's only bank */
#define MMIO_PA 0x09000000UL			    /* the PL011 */
#define WRITE_PATTERN 0xbadc0ffee0ddf00dUL

/* Outcomes of host memory accesses, next to the MOAT_E_* codes. */
#define GOT_ABORT 100	    /* faulted with the injected synchronous external abort */
#define GOT_NO_ABORT 101    /* the access went through */
#define GOT_WRONG_ABORT 102 /* faulted, but not with the syndrome DESIGN §4 prescribes */
/* PSCI answers (their codes overlap the MOAT_E_* ones): PSCI_BASE - code, e.g. 209 = INVALID_ADDRESS (-9). */
#define GOT_PSCI_BASE 200
#define GOT_PSCI(code) (GOT_PSCI_BASE - (code))

/* ---- the VMs the attacks aim at --------------------------------------------------- */

static struct {
	struct vmm_vm cfg;  /* protected, 2 vCPUs, CREATED: memcache, vCPU 0, hello loaded, cfg_pa at CFG_IPA */
	struct vmm_vm cfg2; /* protected, CREATED: memcache only */
	struct vmm_vm fin;  /* protected, 2 vCPUs (only vCPU 0 created), hello, FINALIZED, never run */
	struct vmm_vm nrm;  /* normal, hello, FINALIZED */
	struct vmm_vm bare; /* protected, CREATED, empty memcache */
	struct vmm_vm off;  /* normal, hello, ran to SYSTEM_OFF */
	u64 cfg_pa;
	u64 core_pa; /* first 8 KiB-aligned page of the core's reserved region (DTB) */
	u64 max_vms, max_vcpus;
	u64 shared[8]; /* pages an attack shared with the core, unshared at teardown */
	unsigned int nr_shared;
} F;

/* What one attack observed besides its result. */
static struct {
	bool changed;	  /* STATS differ around a call that failed */
	bool results;	  /* x1..x3 not zero on an error */
	const char *setup; /* a preparation step failed: the attack proves nothing */
	char note[96];	  /* detail for the report line */
} A;

/* One host call, with the "nothing changes on error" checks. */
static long call(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6)
{
	struct vmm_stats before, after;
	struct moat_result r;

	vmm_stats_read(&before);
	r = moat_hvc6(fid, a1, a2, a3, a4, a5, a6);
	vmm_stats_read(&after);
	if (r.status != MOAT_OK) {
		A.changed |= !vmm_stats_equal(&before, &after);
		A.results |= (r.r1 | r.r2 | r.r3) != 0;
	}
	return r.status;
}

#define CALL_(fid, a1, a2, a3, a4, a5, a6, ...) call((fid), (a1), (a2), (a3), (a4), (a5), (a6))
#define CALL(...) CALL_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

/* A preparation step: it must succeed, or the attack reports a setup failure. */
static bool setup(long ret, const char *what)
{
	if (ret != MOAT_OK && !A.setup) {
		A.setup = what;
		tprintf("attacks: setup step \"%s\" returned %ld\n", what, ret);
	}
	return ret == MOAT_OK;
}

static u64 fresh_page(void)
{
	return host_page_alloc();
}

/* A fresh host page shared with the core (a candidate run page). */
static u64 shared_page(void)
{
	u64 pa = fresh_page();

	if (setup(moat_hvc(MOAT_FN_SHARE_CORE, pa, 0, 0).status, "SHARE_CORE a fresh page") &&
	    F.nr_shared < ARRAY_SIZE(F.shared)) {
		F.shared[F.nr_shared++] = pa;
	}
	return pa;
}

/* The n-th page the VMM gave vm (0, 1: the root; then the memcache). */
struct nth {
	unsigned int want, seen;
	u64 pa;
};

static void nth_page(u64 pa, void *ctx)
{
	struct nth *n = ctx;

	if (n->seen++ == n->want) {
		n->pa = pa;
	}
}

static u64 vm_page(const struct vmm_vm *vm, unsigned int index)
{
	struct nth n = { index, 0, 0 };

	vmm_for_each_page(vm, nth_page, &n);
	return n.pa;
}

/* A protected VM with nothing but its root, destroyed again: *root is then pending scrub. */
static u64 destroyed_vm(u64 *root)
{
	struct moat_result r;

	*root = host_page_alloc_pair();
	r = moat_hvc6(MOAT_FN_VM_CREATE, MOAT_VM_PROTECTED, 1, *root, VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
	if (!setup(r.status, "VM_CREATE") || !setup(moat_hvc(MOAT_FN_VM_DESTROY, r.r1, 0, 0).status, "VM_DESTROY")) {
		return 0;
	}
	return r.r1;
}

static void reclaim_root(u64 root)
{
	setup(moat_hvc(MOAT_FN_RECLAIM, root, 0, 0).status, "RECLAIM root");
	setup(moat_hvc(MOAT_FN_RECLAIM, root + PAGE_SIZE, 0, 0).status, "RECLAIM root");
}

static u64 slot_of(const struct vmm_vm *vm)
{
	return vm->handle & 0xffff;
}

/* ---- conduit and dispatch ----------------------------------------------------------- */

static long a_unknown_function(void)
{
	return CALL(MOAT_FN(0x7ff), 1, 2, 3);
}

static long a_function_past_table(void)
{
	return CALL(MOAT_FN(MOAT_FN_COUNT));
}

static long a_other_smccc_owner(void)
{
	return CALL(0x84000000UL); /* PSCI_VERSION: the core does not answer PSCI over HVC for the host */
}

static long a_function_id_upper_bits(void)
{
	return CALL((1UL << 32) | MOAT_FN_VERSION);
}

static long hvc_imm(unsigned int which)
{
	register u64 x0 __asm__("x0") = MOAT_FN_VERSION;
	register u64 x1 __asm__("x1") = 1;
	register u64 x2 __asm__("x2") = 2;
	register u64 x3 __asm__("x3") = 3;

	if (which == 1) {
		__asm__ volatile("hvc #1" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	} else {
		__asm__ volatile("hvc #0xffff" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	}
	A.results |= (x1 | x2 | x3) != 0;
	return (long)x0;
}

static long a_hvc_immediate_1(void)
{
	return hvc_imm(1);
}

static long a_hvc_immediate_ffff(void)
{
	return hvc_imm(0xffff);
}

/* A moat call over SMC (the PSCI conduit): no VM may come of it. */
static long a_moat_call_via_smc(void)
{
	u64 root = host_page_alloc_pair();
	struct vmm_stats before, after;

	vmm_stats_read(&before);
	/* No function call may come between these register variables and their use. */
	register u64 x0 __asm__("x0") = MOAT_FN_VM_CREATE;
	register u64 x1 __asm__("x1") = MOAT_VM_PROTECTED;
	register u64 x2 __asm__("x2") = 1;
	register u64 x3 __asm__("x3") = root;
	register u64 x4 __asm__("x4") = VM_RAM;
	register u64 x5 __asm__("x5") = VMM_MMIO_BASE;
	register u64 x6 __asm__("x6") = VMM_MMIO_SIZE;
	__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : "r"(x4), "r"(x5), "r"(x6) : "memory");
	long status = (long)x0; /* before any call reuses x0 */

	vmm_stats_read(&after);
	A.changed |= !vmm_stats_equal(&before, &after);
	return status;
}

static long a_reserved_argument(void)
{
	return CALL(MOAT_FN_VERSION, 1);
}

static long a_reserved_argument_x6(void)
{
	return CALL(MOAT_FN_CAPS, 0, 0, 0, 0, 0, 1);
}

/* VM_DESTROY with a stray argument must not destroy anything. */
static long a_destroy_reserved_argument(void)
{
	return CALL(MOAT_FN_VM_DESTROY, F.cfg2.handle, 1);
}

static long a_stats_bad_selector(void)
{
	return CALL(MOAT_FN_STATS, 3);
}

/* ---- handles --------------------------------------------------------------------------- */

static long a_stale_handle(void)
{
	u64 root, h = destroyed_vm(&root);
	long ret = CALL(MOAT_FN_VCPU_RUN, h, 0);

	if (ret == MOAT_E_STALE) {
		ret = CALL(MOAT_FN_DONATE_VM, h, fresh_page(), FREE_IPA);
	}
	reclaim_root(root);
	return ret;
}

static long a_destroy_twice(void)
{
	u64 root, h = destroyed_vm(&root);
	long ret = CALL(MOAT_FN_VM_DESTROY, h);

	reclaim_root(root);
	return ret;
}

/*
 * A generation the slot never had. docs/ABI.md: STALE when the "handle
 * generation does not match"; core/vm.c gives STALE for any mismatch on a
 * live slot.
 */
static long a_wrong_generation(void)
{
	return CALL(MOAT_FN_VCPU_RUN, F.fin.handle + MOAT_HANDLE(0, 1), 0);
}

/* The last slot: nothing before the table-exhaustion attack uses it. */
static long a_never_used_slot(void)
{
	return CALL(MOAT_FN_VCPU_RUN, MOAT_HANDLE(F.max_vms - 1, 0), 0);
}

static long a_slot_beyond_table(void)
{
	return CALL(MOAT_FN_VM_DESTROY, MOAT_HANDLE(F.max_vms, 0));
}

static long a_handle_upper_bits(void)
{
	return CALL(MOAT_FN_VM_DESTROY, F.cfg2.handle | (1UL << 32));
}

/* ---- VM_CREATE ------------------------------------------------------------------------- */

static long create(u64 type, u64 vcpus, u64 root, u64 ram, u64 mmio_base, u64 mmio_size)
{
	return CALL(MOAT_FN_VM_CREATE, type, vcpus, root, ram, mmio_base, mmio_size);
}

static long a_vm_create_bad_type(void)
{
	return create(2, 1, host_page_alloc_pair(), VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

static long a_vm_create_too_many_vcpus(void)
{
	return create(MOAT_VM_PROTECTED, F.max_vcpus + 1, host_page_alloc_pair(), VM_RAM, VMM_MMIO_BASE,
		      VMM_MMIO_SIZE);
}

static long a_vm_create_zero_vcpus(void)
{
	return create(MOAT_VM_PROTECTED, 0, host_page_alloc_pair(), VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

static long a_vm_create_unaligned_root(void)
{
	return create(MOAT_VM_PROTECTED, 1, host_page_alloc_pair() + PAGE_SIZE, VM_RAM, VMM_MMIO_BASE,
		      VMM_MMIO_SIZE);
}

static long a_vm_create_core_root(void)
{
	return create(MOAT_VM_PROTECTED, 1, F.core_pa, VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

static long a_vm_create_root_outside_ram(void)
{
	return create(MOAT_VM_PROTECTED, 1, OUTSIDE_RAM_PA, VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

static long a_vm_create_root_mmio(void)
{
	return create(MOAT_VM_PROTECTED, 1, MMIO_PA, VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

/* Another VM's stage-2 root (core-owned on its behalf). */
static long a_vm_create_root_in_use(void)
{
	return create(MOAT_VM_PROTECTED, 1, F.cfg.root_pa, VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

static long a_vm_create_mmio_overlaps_ram(void)
{
	return create(MOAT_VM_PROTECTED, 1, host_page_alloc_pair(), VM_RAM, MOAT_GUEST_RAM_BASE + VM_RAM - PAGE_SIZE,
		      2 * PAGE_SIZE);
}

static long a_vm_create_mmio_beyond_ipa(void)
{
	return create(MOAT_VM_PROTECTED, 1, host_page_alloc_pair(), VM_RAM, 1UL << 40, PAGE_SIZE);
}

static long a_vm_create_ram_zero(void)
{
	return create(MOAT_VM_PROTECTED, 1, host_page_alloc_pair(), 0, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

static long a_vm_create_ram_unaligned(void)
{
	return create(MOAT_VM_PROTECTED, 1, host_page_alloc_pair(), VM_RAM + 0x800, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

static long a_vm_create_ram_too_big(void)
{
	return create(MOAT_VM_PROTECTED, 1, host_page_alloc_pair(), 1UL << 40, VMM_MMIO_BASE, VMM_MMIO_SIZE);
}

/* The VMs exhaust_vm_table created; the attack after it gives them back. */
static struct {
	u64 handle[256], root[256];
	unsigned int n;
} filler;

static void release_fillers(void)
{
	for (unsigned int i = 0; i < filler.n; i++) {
		setup(moat_hvc(MOAT_FN_VM_DESTROY, filler.handle[i], 0, 0).status, "VM_DESTROY");
		reclaim_root(filler.root[i]);
	}
	filler.n = 0;
}

/* Create VMs until the table is full; the table stays full for the next attack. */
static long a_exhaust_vm_table(void)
{
	struct moat_result r;
	u64 root;

	while (filler.n < ARRAY_SIZE(filler.handle)) {
		root = host_page_alloc_pair();
		r = moat_hvc6(MOAT_FN_VM_CREATE, filler.n % 2, 1, root, VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
		if (r.status) {
			/* The refused create, again, with the nothing-changes checks. */
			fmt_format(A.note, sizeof(A.note), "%u more VMs fitted", filler.n);
			return create(MOAT_VM_PROTECTED, 1, root, VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
		}
		filler.handle[filler.n] = r.r1;
		filler.root[filler.n++] = root;
	}
	return MOAT_OK;
}

/*
 * With the table still full, a root that is not 8 KiB-aligned. docs/ABI.md's
 * check order puts addresses before capacity (and lists NOMEM "no free VM
 * slot" last for VM_CREATE): ALIGN must win over NOMEM. Then the table is
 * emptied again.
 */
static long a_check_order_vm_create_table_full(void)
{
	long ret = create(MOAT_VM_PROTECTED, 1, host_page_alloc_pair() + PAGE_SIZE, VM_RAM, VMM_MMIO_BASE,
			  VMM_MMIO_SIZE);

	release_fillers();
	return ret;
}

/* ---- VCPU_CREATE ----------------------------------------------------------------------- */

static long a_vcpu_create_index_out_of_range(void)
{
	return CALL(MOAT_FN_VCPU_CREATE, F.cfg.handle, 2, shared_page());
}

static long a_vcpu_create_twice(void)
{
	return CALL(MOAT_FN_VCPU_CREATE, F.cfg.handle, 0, shared_page());
}

static long a_vcpu_create_unshared_run_page(void)
{
	return CALL(MOAT_FN_VCPU_CREATE, F.cfg.handle, 1, fresh_page());
}

static long a_vcpu_create_core_run_page(void)
{
	return CALL(MOAT_FN_VCPU_CREATE, F.cfg.handle, 1, F.core_pa);
}

static long a_vcpu_create_run_page_in_use(void)
{
	return CALL(MOAT_FN_VCPU_CREATE, F.cfg.handle, 1, F.cfg.run_pa);
}

static long a_vcpu_create_other_vms_run_page(void)
{
	return CALL(MOAT_FN_VCPU_CREATE, F.cfg.handle, 1, F.fin.run_pa);
}

static long a_vcpu_create_unaligned_run_page(void)
{
	return CALL(MOAT_FN_VCPU_CREATE, F.cfg.handle, 1, shared_page() + 8);
}

static long a_vcpu_create_after_finalize(void)
{
	return CALL(MOAT_FN_VCPU_CREATE, F.fin.handle, 1, shared_page());
}

/* Interrupt lines (DESIGN §9): the host raises only the SPIs the VM's configuration listed (none for fin). */
static long a_irq_line_unlisted_spi(void)
{
	return CALL(MOAT_FN_IRQ_LINE, F.fin.handle, 33, 1);
}

static long a_irq_line_sgi(void)
{
	return CALL(MOAT_FN_IRQ_LINE, F.fin.handle, 1, 1);
}

static long a_irq_line_timer_ppi(void)
{
	return CALL(MOAT_FN_IRQ_LINE, F.fin.handle, 27, 1);
}

static long a_irq_line_bad_level(void)
{
	return CALL(MOAT_FN_IRQ_LINE, F.fin.handle, 33, 2);
}

static long a_set_spis_after_finalize(void)
{
	return CALL(MOAT_FN_VM_SET_SPIS, F.fin.handle, ~0UL);
}

/* An empty memcache: refused, and the run page must not stay attached (it can be unshared). */
static long a_vcpu_create_memcache_empty(void)
{
	u64 run = shared_page();
	long ret = CALL(MOAT_FN_VCPU_CREATE, F.bare.handle, 0, run);
	long unshare = moat_hvc(MOAT_FN_UNSHARE_CORE, run, 0, 0).status;

	if (unshare) {
		fmt_format(A.note, sizeof(A.note), "run page left attached: UNSHARE_CORE -> %ld", unshare);
		return unshare;
	}
	F.nr_shared--;
	return ret;
}

/* ---- DONATE_VM, LOAD, SHARE_VM ------------------------------------------------------------ */

static long donate(const struct vmm_vm *vm, u64 pa, u64 ipa)
{
	return CALL(MOAT_FN_DONATE_VM, vm->handle, pa, ipa);
}

static long a_donate_core_page(void)
{
	return donate(&F.cfg, F.core_pa, FREE_IPA);
}

static long a_donate_same_page_twice(void)
{
	return donate(&F.cfg, F.cfg_pa, FREE_IPA);
}

static long a_donate_page_to_second_vm(void)
{
	return donate(&F.cfg2, F.cfg_pa, FREE_IPA);
}

static long a_donate_unaligned_pa(void)
{
	return donate(&F.cfg, fresh_page() + 8, FREE_IPA);
}

static long a_donate_unaligned_ipa(void)
{
	return donate(&F.cfg, fresh_page(), FREE_IPA + 8);
}

static long a_donate_outside_ram(void)
{
	return donate(&F.cfg, OUTSIDE_RAM_PA, FREE_IPA);
}

static long a_donate_mmio(void)
{
	return donate(&F.cfg, MMIO_PA, FREE_IPA);
}

static long a_donate_ipa_beyond_ram(void)
{
	return donate(&F.cfg, fresh_page(), RAM_END_IPA);
}

static long a_donate_ipa_below_ram(void)
{
	return donate(&F.cfg, fresh_page(), MOAT_GUEST_RAM_BASE - PAGE_SIZE);
}

static long a_donate_ipa_in_mmio_window(void)
{
	return donate(&F.cfg, fresh_page(), VMM_UART);
}

static long a_donate_mapped_ipa(void)
{
	return donate(&F.cfg, fresh_page(), CFG_IPA);
}

static long a_donate_run_page(void)
{
	return donate(&F.cfg, F.cfg.run_pa, FREE_IPA);
}

static long a_donate_memcache_page(void)
{
	return donate(&F.cfg, vm_page(&F.cfg, 2), FREE_IPA);
}

static long a_donate_memcache_empty(void)
{
	return donate(&F.bare, fresh_page(), FREE_IPA);
}

static long a_donate_to_off_vm(void)
{
	return donate(&F.off, fresh_page(), FREE_IPA);
}

static long a_load_after_finalize(void)
{
	return CALL(MOAT_FN_LOAD, F.fin.handle, fresh_page(), FREE_IPA);
}

/* docs/measurement.md: LOADs strictly ascend; cfg's image was LOADed from the RAM base up (ORDER before EXIST). */
static long a_load_below_previous(void)
{
	return CALL(MOAT_FN_LOAD, F.cfg.handle, fresh_page(), MOAT_GUEST_RAM_BASE);
}

static long a_share_vm_protected(void)
{
	return CALL(MOAT_FN_SHARE_VM, F.cfg.handle, fresh_page(), FREE_IPA);
}

/* GUEST_SHARED hands out only what the guest shared: never a protected VM's private page. */
static long a_guest_shared_private_page(void)
{
	return CALL(MOAT_FN_GUEST_SHARED, F.fin.handle, MOAT_GUEST_RAM_BASE);
}

static long a_guest_shared_outside_ram(void)
{
	return CALL(MOAT_FN_GUEST_SHARED, F.fin.handle, MOAT_GUEST_RAM_BASE - PAGE_SIZE);
}

/* A page the host lends a normal VM is not the host's alone: it cannot also go to a protected VM. */
static long a_donate_page_shared_with_vm(void)
{
	u64 pa = fresh_page();

	if (!setup(moat_hvc(MOAT_FN_SHARE_VM, F.nrm.handle, pa, FREE_IPA).status, "SHARE_VM with the normal VM")) {
		return MOAT_OK;
	}
	return donate(&F.cfg, pa, FREE_IPA);
}

/*
 * Two errors at once: pa is the core's (PERM) and ipa lies outside the VM's
 * RAM (RANGE). docs/ABI.md: "addresses (alignment, then range, then
 * ownership)", and the DONATE_VM row lists RANGE before PERM: RANGE wins.
 */
static long a_check_order_donate_vm(void)
{
	return donate(&F.cfg, F.core_pa, RAM_END_IPA);
}

static long a_donate_pending_scrub(void)
{
	u64 root;
	long ret;

	destroyed_vm(&root);
	ret = donate(&F.cfg, root, FREE_IPA);
	if (ret == MOAT_E_PERM) {
		ret = CALL(MOAT_FN_SHARE_CORE, root);
	}
	reclaim_root(root);
	return ret;
}

/* ---- SET_BOOT, FINALIZE, VCPU_RUN, MEASUREMENT ---------------------------------------- */

static long a_set_boot_outside_ram(void)
{
	return CALL(MOAT_FN_SET_BOOT, F.cfg.handle, 0x20000000UL, 0);
}

static long a_set_boot_at_ram_end(void)
{
	return CALL(MOAT_FN_SET_BOOT, F.cfg.handle, RAM_END_IPA, 0);
}

static long a_set_boot_unaligned(void)
{
	return CALL(MOAT_FN_SET_BOOT, F.cfg.handle, MOAT_GUEST_RAM_BASE + 2, 0);
}

static long a_set_boot_after_finalize(void)
{
	return CALL(MOAT_FN_SET_BOOT, F.fin.handle, MOAT_GUEST_RAM_BASE + 0x1000, 0);
}

static long a_finalize_without_set_boot(void)
{
	return CALL(MOAT_FN_FINALIZE, F.cfg.handle);
}

static long a_finalize_without_vcpu0(void)
{
	if (!setup(moat_hvc(MOAT_FN_SET_BOOT, F.cfg2.handle, MOAT_GUEST_RAM_BASE, 0).status, "SET_BOOT")) {
		return MOAT_OK;
	}
	return CALL(MOAT_FN_FINALIZE, F.cfg2.handle);
}

static long a_finalize_twice(void)
{
	return CALL(MOAT_FN_FINALIZE, F.fin.handle);
}

static long a_run_before_finalize(void)
{
	return CALL(MOAT_FN_VCPU_RUN, F.cfg.handle, 0);
}

static long a_run_vcpu_index_out_of_range(void)
{
	return CALL(MOAT_FN_VCPU_RUN, F.fin.handle, 2);
}

static long a_run_vcpu_not_created(void)
{
	return CALL(MOAT_FN_VCPU_RUN, F.fin.handle, 1);
}

static long a_run_after_system_off(void)
{
	return CALL(MOAT_FN_VCPU_RUN, F.off.handle, 0);
}

static long a_measurement_before_finalize(void)
{
	return CALL(MOAT_FN_MEASUREMENT, F.cfg.handle, 0);
}

static long a_measurement_bad_word(void)
{
	return CALL(MOAT_FN_MEASUREMENT, F.fin.handle, 4);
}

/* ---- registers ------------------------------------------------------------------------- */

static long a_get_reg_protected(void)
{
	return CALL(MOAT_FN_VCPU_GET_REG, F.fin.handle, 0, MOAT_REG_X(0));
}

static long a_set_reg_protected(void)
{
	return CALL(MOAT_FN_VCPU_SET_REG, F.fin.handle, 0, MOAT_REG_PC, 0x20000000UL);
}

static long a_set_reg_pstate_el2h(void)
{
	return CALL(MOAT_FN_VCPU_SET_REG, F.nrm.handle, 0, MOAT_REG_PSTATE, 0x3c9);
}

static long a_get_reg_bad_register(void)
{
	return CALL(MOAT_FN_VCPU_GET_REG, F.nrm.handle, 0, MOAT_REG_COUNT);
}

static long a_get_reg_bad_vcpu(void)
{
	return CALL(MOAT_FN_VCPU_GET_REG, F.nrm.handle, 1, MOAT_REG_X(0));
}

/* ---- DONATE_CORE ------------------------------------------------------------------------- */

static long a_donate_core_zero_pages(void)
{
	return CALL(MOAT_FN_DONATE_CORE, F.cfg.handle, fresh_page(), 0);
}

static long a_donate_core_too_many_pages(void)
{
	return CALL(MOAT_FN_DONATE_CORE, F.cfg.handle, fresh_page(), 513);
}

static long a_donate_core_unaligned(void)
{
	return CALL(MOAT_FN_DONATE_CORE, F.cfg.handle, fresh_page() + 16, 1);
}

static long a_donate_core_core_page(void)
{
	return CALL(MOAT_FN_DONATE_CORE, F.cfg.handle, F.core_pa, 1);
}

static long a_donate_core_outside_ram(void)
{
	return CALL(MOAT_FN_DONATE_CORE, F.cfg.handle, OUTSIDE_RAM_PA, 1);
}

/* Two pages: the host's last free page below the core, and the core's first. Neither may move. */
static long a_donate_core_straddling_core(void)
{
	const struct reserved_region *core = platform_core_region();
	struct memmap m;
	u64 pa = core->base - PAGE_SIZE;

	memmap_build(&m);
	if (!memmap_page_free(&m, pa)) {
		setup(MOAT_E_RANGE, "the page below the core region is not the host's");
		return MOAT_OK;
	}
	return CALL(MOAT_FN_DONATE_CORE, F.cfg.handle, pa, 2);
}

/*
 * The last page of RAM (the core's) and the page after it (not RAM): RANGE
 * must win over PERM, as for any call ("alignment, then range, then
 * ownership"), whichever page comes first.
 */
static long a_check_order_donate_core(void)
{
	const struct fdt_range *last = &plat.info.mem[plat.info.nr_mem - 1];
	u64 pa = last->base + last->size - PAGE_SIZE;
	struct memmap m;

	memmap_build(&m);
	if (memmap_page_free(&m, pa)) {
		setup(MOAT_E_RANGE, "the last page of RAM is the host's, not reserved");
		return MOAT_OK;
	}
	return CALL(MOAT_FN_DONATE_CORE, F.cfg.handle, pa, 2);
}

/* ---- SHARE_CORE, UNSHARE_CORE, RECLAIM -------------------------------------------------- */

static long a_share_core_twice(void)
{
	return CALL(MOAT_FN_SHARE_CORE, shared_page());
}

static long a_share_core_core_page(void)
{
	return CALL(MOAT_FN_SHARE_CORE, F.core_pa);
}

static long a_share_core_vm_page(void)
{
	return CALL(MOAT_FN_SHARE_CORE, F.cfg_pa);
}

/* A page the host lent a normal VM cannot also become a run page. */
static long a_share_core_page_lent_to_vm(void)
{
	u64 pa = fresh_page();

	if (!setup(moat_hvc(MOAT_FN_SHARE_VM, F.nrm.handle, pa, FREE_IPA + PAGE_SIZE).status, "SHARE_VM")) {
		return MOAT_OK;
	}
	return CALL(MOAT_FN_SHARE_CORE, pa);
}

static long a_share_core_outside_ram(void)
{
	return CALL(MOAT_FN_SHARE_CORE, OUTSIDE_RAM_PA);
}

static long a_share_core_unaligned(void)
{
	return CALL(MOAT_FN_SHARE_CORE, fresh_page() + 8);
}

static long a_unshare_attached_run_page(void)
{
	return CALL(MOAT_FN_UNSHARE_CORE, F.cfg.run_pa);
}

static long a_unshare_not_shared(void)
{
	return CALL(MOAT_FN_UNSHARE_CORE, fresh_page());
}

static long a_reclaim_host_page(void)
{
	return CALL(MOAT_FN_RECLAIM, fresh_page());
}

static long a_reclaim_live_vm_page(void)
{
	return CALL(MOAT_FN_RECLAIM, F.cfg_pa);
}

static long a_reclaim_live_memcache_page(void)
{
	return CALL(MOAT_FN_RECLAIM, vm_page(&F.cfg, 2));
}

static long a_reclaim_live_root(void)
{
	return CALL(MOAT_FN_RECLAIM, F.fin.root_pa);
}

static long a_reclaim_core_page(void)
{
	return CALL(MOAT_FN_RECLAIM, F.core_pa);
}

static long a_reclaim_run_page(void)
{
	return CALL(MOAT_FN_RECLAIM, F.cfg.run_pa);
}

static long a_reclaim_unaligned(void)
{
	return CALL(MOAT_FN_RECLAIM, F.cfg_pa + 8);
}

static long a_reclaim_outside_ram(void)
{
	return CALL(MOAT_FN_RECLAIM, OUTSIDE_RAM_PA);
}

/* ---- host accesses to memory it gave away ------------------------------------------ */

/* One probed access: the core must inject a synchronous external abort (DESIGN §4). */
static long host_access(u64 pa, bool write, const char *owner)
{
	u64 val = 0;
	int faulted = write ? probe_write64(pa, WRITE_PATTERN) : probe_read64(pa, &val);
	u64 esr = last_fault.esr;

	fmt_format(A.note, sizeof(A.note), "page 0x%lx owner %s", pa, owner);
	if (!faulted) {
		fmt_format(A.note, sizeof(A.note), "page 0x%lx owner %s: access went through (read 0x%lx)", pa, owner,
			   val);
		return GOT_NO_ABORT;
	}
	if (ESR_EC(esr) != EC_DABT_CUR || ESR_FSC(esr) != FSC_SEA || (esr & ESR_ISV) || !(esr & ESR_IL) ||
	    !!(esr & ESR_WNR) != write || last_fault.far != pa) {
		fmt_format(A.note, sizeof(A.note), "page 0x%lx owner %s: ESR_EL1 0x%lx FAR_EL1 0x%lx", pa, owner, esr,
			   last_fault.far);
		return GOT_WRONG_ABORT;
	}
	return GOT_ABORT;
}

static char owner_buf[16];

static const char *vm_owner(const struct vmm_vm *vm)
{
	fmt_format(owner_buf, sizeof(owner_buf), "vm%lu", slot_of(vm));
	return owner_buf;
}

static long a_host_read_vm_page(void)
{
	return host_access(F.fin.image_pa, false, vm_owner(&F.fin));
}

/* Aimed at the guest's first instruction: the victim runs at the end of the suite. */
static long a_host_write_vm_page(void)
{
	return host_access(F.fin.image_pa, true, vm_owner(&F.fin));
}

static long a_host_read_donated_page(void)
{
	return host_access(F.cfg_pa + 0x800, false, vm_owner(&F.cfg));
}

static long a_host_read_memcache_page(void)
{
	return host_access(vm_page(&F.cfg, 2), false, "core");
}

static long a_host_read_pending_scrub(void)
{
	u64 root;
	long ret;

	destroyed_vm(&root);
	ret = host_access(root, false, "none");
	if (ret == GOT_ABORT) {
		ret = host_access(root + PAGE_SIZE + 8, true, "none");
	}
	reclaim_root(root);
	return ret;
}

/*
 * An instruction fetch from a device page the host owns but that its stage 2
 * maps execute-never: a stage-2 permission fault, which the core once took
 * for a break-before-make window and "retried" forever (audit 2026-12-04).
 */
static long a_host_exec_xn_device(void)
{
	u64 pa = plat.info.gicd.base;
	u64 esr;

	fmt_format(A.note, sizeof(A.note), "GICD page 0x%lx", pa);
	if (!probe_exec(pa)) {
		return GOT_NO_ABORT;
	}
	esr = last_fault.esr;
	if (ESR_EC(esr) != EC_IABT_CUR || ESR_FSC(esr) != FSC_SEA || !(esr & ESR_IL) || last_fault.far != pa ||
	    last_fault.elr != pa) {
		fmt_format(A.note, sizeof(A.note), "GICD page 0x%lx: ESR_EL1 0x%lx FAR_EL1 0x%lx", pa, esr,
			   last_fault.far);
		return GOT_WRONG_ABORT;
	}
	return GOT_ABORT;
}

/* ---- firmware calls ------------------------------------------------------------------------ */

/*
 * PSCI CPU_ON of the boot CPU (listed in every DTB) with an entry point in
 * the core's memory: the entry check comes before the power-state check, so
 * the answer is INVALID_ADDRESS, not ALREADY_ON (cpu_power.c). Nothing starts.
 */
static long a_cpu_on_into_core(void)
{
	fmt_format(A.note, sizeof(A.note), "entry 0x%lx", F.core_pa);
	return GOT_PSCI(psci_cpu_on(plat.info.cpu_mpidr[0], F.core_pa, 0));
}

/* ---- the suite ---------------------------------------------------------------------------- */

struct attack {
	const char *name;
	const char *what;
	long expected;
	long (*fn)(void);
};

#define ATTACK(name, what, expected) { #name, what, expected, a_##name }

static const struct attack attacks[] = {
	ATTACK(unknown_function, "function MOAT_FN(0x7ff)", MOAT_E_NOT_SUPPORTED),
	ATTACK(function_past_table, "function MOAT_FN(23), one past the table", MOAT_E_NOT_SUPPORTED),
	ATTACK(other_smccc_owner, "PSCI_VERSION 0x84000000 over HVC", MOAT_E_NOT_SUPPORTED),
	ATTACK(function_id_upper_bits, "MOAT_FN_VERSION with bit 32 set", MOAT_E_NOT_SUPPORTED),
	ATTACK(hvc_immediate_1, "VERSION via hvc #1", MOAT_E_NOT_SUPPORTED),
	ATTACK(hvc_immediate_ffff, "VERSION via hvc #0xffff", MOAT_E_NOT_SUPPORTED),
	ATTACK(moat_call_via_smc, "VM_CREATE via smc #0", MOAT_E_NOT_SUPPORTED),
	ATTACK(reserved_argument, "VERSION with x1 = 1", MOAT_E_INVAL),
	ATTACK(reserved_argument_x6, "CAPS with x6 = 1", MOAT_E_INVAL),
	ATTACK(destroy_reserved_argument, "VM_DESTROY with x2 = 1", MOAT_E_INVAL),
	ATTACK(stats_bad_selector, "STATS(3)", MOAT_E_RANGE),
	ATTACK(stale_handle, "VCPU_RUN and DONATE_VM on a destroyed VM's handle", MOAT_E_STALE),
	ATTACK(destroy_twice, "VM_DESTROY of a destroyed VM", MOAT_E_STALE),
	ATTACK(wrong_generation, "VCPU_RUN with a live VM's handle, generation + 1", MOAT_E_STALE),
	ATTACK(never_used_slot, "VCPU_RUN on the never-used last slot", MOAT_E_NOENT),
	ATTACK(slot_beyond_table, "VM_DESTROY of slot max_vms", MOAT_E_NOENT),
	ATTACK(handle_upper_bits, "VM_DESTROY of a live handle with bit 32 set", MOAT_E_NOENT),
	ATTACK(vm_create_bad_type, "VM_CREATE type 2", MOAT_E_INVAL),
	ATTACK(vm_create_too_many_vcpus, "VM_CREATE max_vcpus = CAPS limit + 1", MOAT_E_RANGE),
	ATTACK(vm_create_zero_vcpus, "VM_CREATE max_vcpus = 0", MOAT_E_RANGE),
	ATTACK(vm_create_unaligned_root, "VM_CREATE root only 4 KiB-aligned", MOAT_E_ALIGN),
	ATTACK(vm_create_core_root, "VM_CREATE with the core's memory as root", MOAT_E_PERM),
	ATTACK(vm_create_root_outside_ram, "VM_CREATE root at 0x200000000", MOAT_E_RANGE),
	ATTACK(vm_create_root_mmio, "VM_CREATE root at the PL011", MOAT_E_RANGE),
	ATTACK(vm_create_root_in_use, "VM_CREATE with another VM's root", MOAT_E_PERM),
	ATTACK(vm_create_mmio_overlaps_ram, "VM_CREATE MMIO window overlapping RAM", MOAT_E_RANGE),
	ATTACK(vm_create_mmio_beyond_ipa, "VM_CREATE MMIO window at 1 << 40", MOAT_E_RANGE),
	ATTACK(vm_create_ram_zero, "VM_CREATE ram_size 0", MOAT_E_RANGE),
	ATTACK(vm_create_ram_unaligned, "VM_CREATE ram_size not page-aligned", MOAT_E_ALIGN),
	ATTACK(vm_create_ram_too_big, "VM_CREATE ram_size 1 TiB", MOAT_E_RANGE),
	ATTACK(vcpu_create_index_out_of_range, "VCPU_CREATE index 2 of 2", MOAT_E_RANGE),
	ATTACK(vcpu_create_twice, "VCPU_CREATE vCPU 0 again", MOAT_E_EXIST),
	ATTACK(vcpu_create_unshared_run_page, "VCPU_CREATE with a run page not shared with the core", MOAT_E_PERM),
	ATTACK(vcpu_create_core_run_page, "VCPU_CREATE with a core page as run page", MOAT_E_PERM),
	ATTACK(vcpu_create_run_page_in_use, "VCPU_CREATE with vCPU 0's run page", MOAT_E_BUSY),
	ATTACK(vcpu_create_other_vms_run_page, "VCPU_CREATE with another VM's run page", MOAT_E_BUSY),
	ATTACK(vcpu_create_unaligned_run_page, "VCPU_CREATE run page + 8", MOAT_E_ALIGN),
	ATTACK(vcpu_create_after_finalize, "VCPU_CREATE after FINALIZE", MOAT_E_STATE),
	ATTACK(vcpu_create_memcache_empty, "VCPU_CREATE with an empty memcache", MOAT_E_NOMEM),
	ATTACK(irq_line_unlisted_spi, "IRQ_LINE of SPI 33, not in the VM's list", MOAT_E_PERM),
	ATTACK(irq_line_sgi, "IRQ_LINE of SGI 1", MOAT_E_PERM),
	ATTACK(irq_line_timer_ppi, "IRQ_LINE of PPI 27 (the guest's timer)", MOAT_E_PERM),
	ATTACK(irq_line_bad_level, "IRQ_LINE level 2", MOAT_E_INVAL),
	ATTACK(set_spis_after_finalize, "VM_SET_SPIS after FINALIZE", MOAT_E_STATE),
	ATTACK(donate_core_page, "DONATE_VM of a core page", MOAT_E_PERM),
	ATTACK(donate_same_page_twice, "DONATE_VM of a page already donated to the same VM", MOAT_E_PERM),
	ATTACK(donate_page_to_second_vm, "DONATE_VM of another VM's page", MOAT_E_PERM),
	ATTACK(donate_unaligned_pa, "DONATE_VM pa + 8", MOAT_E_ALIGN),
	ATTACK(donate_unaligned_ipa, "DONATE_VM ipa + 8", MOAT_E_ALIGN),
	ATTACK(donate_outside_ram, "DONATE_VM pa 0x200000000", MOAT_E_RANGE),
	ATTACK(donate_mmio, "DONATE_VM pa 0x09000000 (PL011)", MOAT_E_RANGE),
	ATTACK(donate_ipa_beyond_ram, "DONATE_VM at the IPA just past the VM's RAM", MOAT_E_RANGE),
	ATTACK(donate_ipa_below_ram, "DONATE_VM at the IPA just below the VM's RAM", MOAT_E_RANGE),
	ATTACK(donate_ipa_in_mmio_window, "DONATE_VM at an IPA in the MMIO window", MOAT_E_RANGE),
	ATTACK(donate_mapped_ipa, "DONATE_VM at an IPA already mapped", MOAT_E_EXIST),
	ATTACK(donate_run_page, "DONATE_VM of a run page", MOAT_E_PERM),
	ATTACK(donate_memcache_page, "DONATE_VM of the VM's own memcache page", MOAT_E_PERM),
	ATTACK(donate_memcache_empty, "DONATE_VM with an empty memcache", MOAT_E_NOMEM),
	ATTACK(donate_to_off_vm, "DONATE_VM to a VM that powered off", MOAT_E_STATE),
	ATTACK(load_after_finalize, "LOAD after FINALIZE", MOAT_E_STATE),
	ATTACK(load_below_previous, "LOAD at an IPA at or below the VM's previous LOAD", MOAT_E_ORDER),
	ATTACK(share_vm_protected, "SHARE_VM with a protected VM", MOAT_E_PERM),
	ATTACK(guest_shared_private_page, "GUEST_SHARED of a protected VM's private (loaded) page", MOAT_E_PERM),
	ATTACK(guest_shared_outside_ram, "GUEST_SHARED of an IPA below the VM's RAM", MOAT_E_RANGE),
	ATTACK(donate_page_shared_with_vm, "DONATE_VM of a page shared with a normal VM", MOAT_E_PERM),
	ATTACK(donate_pending_scrub, "DONATE_VM and SHARE_CORE of a page pending scrub", MOAT_E_PERM),
	ATTACK(set_boot_outside_ram, "SET_BOOT pc 0x20000000", MOAT_E_RANGE),
	ATTACK(set_boot_at_ram_end, "SET_BOOT pc at the end of RAM", MOAT_E_RANGE),
	ATTACK(set_boot_unaligned, "SET_BOOT pc 0x40000002", MOAT_E_ALIGN),
	ATTACK(set_boot_after_finalize, "SET_BOOT after FINALIZE", MOAT_E_STATE),
	ATTACK(finalize_without_set_boot, "FINALIZE without SET_BOOT", MOAT_E_STATE),
	ATTACK(finalize_without_vcpu0, "FINALIZE without vCPU 0", MOAT_E_STATE),
	ATTACK(finalize_twice, "FINALIZE twice", MOAT_E_STATE),
	ATTACK(run_before_finalize, "VCPU_RUN before FINALIZE", MOAT_E_STATE),
	ATTACK(run_vcpu_index_out_of_range, "VCPU_RUN index 2 of 2", MOAT_E_RANGE),
	ATTACK(run_vcpu_not_created, "VCPU_RUN of vCPU 1, never created", MOAT_E_NOENT),
	ATTACK(run_after_system_off, "VCPU_RUN after the guest's SYSTEM_OFF", MOAT_E_STATE),
	ATTACK(measurement_before_finalize, "MEASUREMENT before FINALIZE", MOAT_E_STATE),
	ATTACK(measurement_bad_word, "MEASUREMENT word 4", MOAT_E_RANGE),
	ATTACK(get_reg_protected, "VCPU_GET_REG x0 of a protected VM", MOAT_E_PERM),
	ATTACK(set_reg_protected, "VCPU_SET_REG PC of a protected VM", MOAT_E_PERM),
	ATTACK(set_reg_pstate_el2h, "VCPU_SET_REG PSTATE = EL2h on a normal VM", MOAT_E_INVAL),
	ATTACK(get_reg_bad_register, "VCPU_GET_REG register 37", MOAT_E_RANGE),
	ATTACK(get_reg_bad_vcpu, "VCPU_GET_REG of vCPU 1 of 1", MOAT_E_RANGE),
	ATTACK(donate_core_zero_pages, "DONATE_CORE npages 0", MOAT_E_RANGE),
	ATTACK(donate_core_too_many_pages, "DONATE_CORE npages 513", MOAT_E_RANGE),
	ATTACK(donate_core_unaligned, "DONATE_CORE pa + 16", MOAT_E_ALIGN),
	ATTACK(donate_core_core_page, "DONATE_CORE of a core page", MOAT_E_PERM),
	ATTACK(donate_core_outside_ram, "DONATE_CORE pa 0x200000000", MOAT_E_RANGE),
	ATTACK(donate_core_straddling_core, "DONATE_CORE of a host page and the core page after it", MOAT_E_PERM),
	ATTACK(share_core_twice, "SHARE_CORE of a page already shared", MOAT_E_EXIST),
	ATTACK(share_core_core_page, "SHARE_CORE of a core page", MOAT_E_PERM),
	ATTACK(share_core_vm_page, "SHARE_CORE of a VM's page", MOAT_E_PERM),
	ATTACK(share_core_page_lent_to_vm, "SHARE_CORE of a page lent to a normal VM", MOAT_E_PERM),
	ATTACK(share_core_outside_ram, "SHARE_CORE pa 0x200000000", MOAT_E_RANGE),
	ATTACK(share_core_unaligned, "SHARE_CORE pa + 8", MOAT_E_ALIGN),
	ATTACK(unshare_attached_run_page, "UNSHARE_CORE of an attached run page", MOAT_E_BUSY),
	ATTACK(unshare_not_shared, "UNSHARE_CORE of a page never shared", MOAT_E_PERM),
	ATTACK(reclaim_host_page, "RECLAIM of a host page not pending scrub", MOAT_E_PERM),
	ATTACK(reclaim_live_vm_page, "RECLAIM of a page donated to a live VM", MOAT_E_BUSY),
	ATTACK(reclaim_live_memcache_page, "RECLAIM of a live VM's memcache page", MOAT_E_BUSY),
	ATTACK(reclaim_live_root, "RECLAIM of a live VM's stage-2 root", MOAT_E_BUSY),
	ATTACK(reclaim_core_page, "RECLAIM of a core page", MOAT_E_PERM),
	ATTACK(reclaim_run_page, "RECLAIM of a run page", MOAT_E_PERM),
	ATTACK(reclaim_unaligned, "RECLAIM pa + 8", MOAT_E_ALIGN),
	ATTACK(reclaim_outside_ram, "RECLAIM pa 0x200000000", MOAT_E_RANGE),
	ATTACK(host_read_vm_page, "host read of a protected VM's loaded page", GOT_ABORT),
	ATTACK(host_write_vm_page, "host write of a protected VM's loaded page", GOT_ABORT),
	ATTACK(host_read_donated_page, "host read of a page donated to a VM", GOT_ABORT),
	ATTACK(host_read_memcache_page, "host read of a memcache page", GOT_ABORT),
	ATTACK(host_read_pending_scrub, "host read and write of pages pending scrub", GOT_ABORT),
	ATTACK(host_exec_xn_device, "host instruction fetch from an execute-never device page", GOT_ABORT),
	ATTACK(exhaust_vm_table, "VM_CREATE until the VM table is full", MOAT_E_NOMEM),
	ATTACK(check_order_vm_create_table_full, "VM_CREATE, table full, root only 4 KiB-aligned", MOAT_E_ALIGN),
	ATTACK(check_order_donate_vm, "DONATE_VM of a core page to an IPA past the VM's RAM", MOAT_E_RANGE),
	ATTACK(check_order_donate_core, "DONATE_CORE of RAM's last page (core) and the next (not RAM)", MOAT_E_RANGE),
	ATTACK(cpu_on_into_core, "PSCI CPU_ON of the boot CPU into core memory", GOT_PSCI(PSCI_E_INVALID_ADDRESS)),
};

static const char *const code_names[] = {
	"MOAT_OK",	 "MOAT_E_NOT_SUPPORTED", "MOAT_E_INVAL", "MOAT_E_NOMEM", "MOAT_E_PERM",
	"MOAT_E_BUSY",	 "MOAT_E_NOENT",	 "MOAT_E_STALE", "MOAT_E_STATE", "MOAT_E_RANGE",
	"MOAT_E_ALIGN", "MOAT_E_EXIST",	 "MOAT_E_CORRUPT", "MOAT_E_ORDER",
};

static const char *code_name(long code, char *buf, size_t size)
{
	if (code == GOT_ABORT) {
		return "synchronous external abort";
	}
	if (code == GOT_NO_ABORT) {
		return "no abort";
	}
	if (code == GOT_WRONG_ABORT) {
		return "an abort with the wrong syndrome";
	}
	if (code >= GOT_PSCI_BASE && code <= GOT_PSCI_BASE + 16) {
		fmt_format(buf, size, "PSCI %ld%s", GOT_PSCI_BASE - code,
			   code == GOT_PSCI(PSCI_E_INVALID_ADDRESS) ? " INVALID_ADDRESS" : "");
		return buf;
	}
	if (code <= 0 && -code < (long)ARRAY_SIZE(code_names)) {
		fmt_format(buf, size, "%ld %s", code, code_names[-code]);
	} else {
		fmt_format(buf, size, "%ld (not a moat error)", code);
	}
	return buf;
}

/* Run one attack and its after-checks; returns true if it was refused as docs/ABI.md says. */
static bool run_attack(const struct attack *a, u64 *violations)
{
	char got_buf[48], want_buf[48];
	struct moat_result chk, ver;
	const char *got_name, *sep;
	long got;

	memset(&A, 0, sizeof(A));
	got = a->fn();
	chk = moat_hvc(MOAT_FN_CHECK, 0, 0, 0);
	ver = moat_hvc(MOAT_FN_VERSION, 0, 0, 0);
	*violations += chk.r1;
	got_name = code_name(got, got_buf, sizeof(got_buf));
	sep = A.note[0] ? ": " : "";
	if (A.setup) {
		tprintf("ATTACK-FAIL: %s: setup step \"%s\" failed\n", a->name, A.setup);
	} else if (got != a->expected) {
		tprintf("ATTACK-FAIL: %s: %s%s%s: expected %s, got %s\n", a->name, a->what, sep, A.note,
			code_name(a->expected, want_buf, sizeof(want_buf)), got_name);
	} else if (A.changed) {
		tprintf("ATTACK-FAIL: %s: refused with %s, but STATS changed\n", a->name, got_name);
	} else if (A.results) {
		tprintf("ATTACK-FAIL: %s: refused with %s, but x1..x3 are not zero\n", a->name, got_name);
	} else if (chk.status || chk.r1) {
		tprintf("ATTACK-FAIL: %s: CHECK returned %ld with %lu invariant violations\n", a->name, chk.status,
			chk.r1);
	} else if (ver.status || ver.r1 != ((MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR)) {
		tprintf("ATTACK-FAIL: %s: VERSION returned %ld, 0x%lx afterwards\n", a->name, ver.status, ver.r1);
	} else {
		tprintf("ATTACK-PASS: %s (%s%s%s, got %s)\n", a->name, a->what, sep, A.note, got_name);
		return true;
	}
	return false;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static bool build_fixtures(void)
{
	const struct reserved_region *core = platform_core_region();
	struct moat_result caps = moat_hvc(MOAT_FN_CAPS, 0, 0, 0);
	struct moat_result r;

	F.max_vms = MOAT_CAPS_MAX_VMS(caps.r3);
	F.max_vcpus = MOAT_CAPS_MAX_VCPUS(caps.r3);
	if (!CHECK(core && core->size >= 3 * PAGE_SIZE, "no core region in the DTB")) {
		return false;
	}
	F.core_pa = ALIGN_UP(core->base, 2 * PAGE_SIZE);
	tprintf("attacks: core region 0x%lx+0x%lx (%s), max %lu VMs, %lu vCPUs per VM\n", core->base, core->size,
		core->name, F.max_vms, F.max_vcpus);

	F.cfg.max_vcpus = 2;
	F.fin.max_vcpus = 2;
	F.cfg_pa = host_page_alloc();
	if (!CHECK_EQ(vmm_create(&F.cfg, MOAT_VM_PROTECTED, VM_RAM), MOAT_OK) ||
	    !CHECK_EQ(vmm_add_vcpu0(&F.cfg), MOAT_OK) || !CHECK_EQ(vmm_load(&F.cfg, "hello"), MOAT_OK) ||
	    !CHECK_EQ(moat_hvc(MOAT_FN_DONATE_VM, F.cfg.handle, F.cfg_pa, CFG_IPA).status, MOAT_OK) ||
	    !CHECK_EQ(vmm_create(&F.cfg2, MOAT_VM_PROTECTED, VM_RAM), MOAT_OK) ||
	    !CHECK_EQ(vmm_build(&F.fin, MOAT_VM_PROTECTED, "hello", VM_RAM, 0), MOAT_OK) ||
	    !CHECK_EQ(vmm_build(&F.nrm, MOAT_VM_NORMAL, "hello", VM_RAM, 0), MOAT_OK) ||
	    !CHECK_EQ(vmm_build(&F.off, MOAT_VM_NORMAL, "hello", VM_RAM, 0), MOAT_OK) ||
	    !CHECK_EQ(vmm_run(&F.off), MOAT_OK) || !CHECK_EQ(F.off.last_exit, MOAT_EXIT_SYSTEM_OFF)) {
		return false;
	}
	vmm_remember_page(&F.cfg, F.cfg_pa);
	/* No DONATE_CORE: an empty memcache. */
	F.bare.root_pa = host_page_alloc_pair();
	r = moat_hvc6(MOAT_FN_VM_CREATE, MOAT_VM_PROTECTED, 1, F.bare.root_pa, VM_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
	if (!CHECK_EQ(r.status, MOAT_OK)) {
		return false;
	}
	F.bare.handle = r.r1;
	vmm_remember_page(&F.bare, F.bare.root_pa);
	vmm_remember_page(&F.bare, F.bare.root_pa + PAGE_SIZE);
	tprintf("attacks: VMs: cfg vm%lu, cfg2 vm%lu, fin vm%lu, nrm vm%lu, off vm%lu, bare vm%lu\n", slot_of(&F.cfg),
		slot_of(&F.cfg2), slot_of(&F.fin), slot_of(&F.nrm), slot_of(&F.off), slot_of(&F.bare));
	return true;
}

static const char *const hello_lines[] = { "guest: hello from a moat VM", "guest: SMCCC version 0x10001", NULL };

/* The victim of the memory attacks still boots: its image was neither read nor overwritten. */
static void victim_runs(void)
{
	F.fin.console_echo = true;
	F.fin.expect = hello_lines;
	if (vmm_run_to_off(&F.fin)) {
		tprintf("attacks: the attacked VM ran its guest to SYSTEM_OFF\n");
	}
}

static void teardown(void)
{
	struct vmm_vm *vms[] = { &F.cfg, &F.cfg2, &F.fin, &F.nrm, &F.off, &F.bare };

	for (unsigned int i = 0; i < ARRAY_SIZE(vms); i++) {
		long ret = vmm_destroy(vms[i]);

		CHECK(ret > 0, "destroy/reclaim of fixture VM %u returned %ld", i, ret);
	}
	for (unsigned int i = 0; i < F.nr_shared; i++) {
		CHECK_EQ(moat_hvc(MOAT_FN_UNSHARE_CORE, F.shared[i], 0, 0).status, MOAT_OK);
	}
}

TEST(attacks)
{
	struct vmm_stats initial, final;
	unsigned int refused = 0;
	u64 violations = 0;

	memset(&F, 0, sizeof(F));
	CHECK(vmm_stats_read(&initial), "STATS failed");
	if (!build_fixtures()) {
		return;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(attacks); i++) {
		refused += run_attack(&attacks[i], &violations);
	}
	tprintf("attacks: %lu run, %u refused, %lu invariant violations\n", ARRAY_SIZE(attacks), refused, violations);
	CHECK_EQ(refused, ARRAY_SIZE(attacks));
	CHECK_EQ(violations, 0);
	victim_runs();
	teardown();
	CHECK(vmm_stats_read(&final), "STATS failed");
	if (!CHECK(vmm_stats_equal(&initial, &final), "STATS differ after the suite tore everything down")) {
		vmm_stats_print_diff("attacks", &initial, &final);
	}
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}
