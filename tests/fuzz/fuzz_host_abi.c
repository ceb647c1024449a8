/*
 * libFuzzer harness for the host ABI (DESIGN §15): drives host_call_raw()
 * (core/host_call.c) on the host-native build of the generic core with
 * core/arch/fake, and after EVERY call checks:
 *
 *   - the DESIGN §4 ownership invariants, in O(VM pages): the checker's
 *     per-VM part (invariants_check_vms: each VM's view, page index, the
 *     pages on it, its stage 2) and each page whose database entry the call
 *     changed (invariants_check_page); the whole checker (invariants_check,
 *     O(RAM pages): every page, the host stage 2) runs at the end of every
 *     input, so each input is checked against every invariant (see the top
 *     of core/invariants.c for which scope checks what);
 *   - the status is 0 or a known error; unknown IDs give NOT_SUPPORTED, a
 *     non-zero unused argument of a known call gives INVAL;
 *   - on error: x1..x3 are zero, and nothing changed: the page database is
 *     byte-identical (so STATS OWNERS/STATES, counted from it, are too), STATS
 *     OBJECTS and every live VM's struct and vCPU state are as before
 *     (check-then-commit);
 *   - after a success that changed the page database: all three STATS
 *     answers agree with a count of the database, VM table and pool;
 *   - no lock is left held and no vCPU is left loaded;
 *   - VERSION still answers 0x10003;
 *   - on success: result registers a call does not write are 0, and what the
 *     host can observe matches docs/ABI.md -- each page's new owner/state,
 *     the VM's stage 2 mapping the page, DONATE_VM and RECLAIM pages zeroed,
 *     a well-formed VM_CREATE handle, MEASUREMENT matching FINALIZE, CHECK
 *     reporting 0, and a run page that carries exactly the exit's fields
 *     (everything else 0; MMIO inside the VM's window with a sane size, a
 *     MEM_FAULT on an unbacked RAM page).
 *
 * A failed check prints "VIOLATION: ..." with the calls of the input so far
 * and abort()s, so libFuzzer keeps the input as a crash. In the environment,
 * FUZZ_TRACE=1 prints every call as it is made, FUZZ_LOG=1 keeps the core's
 * info log lines (MOAT_FAKE_CONSOLE=1 echoes them), FUZZ_KEEP_GOING=1 reports
 * violations without aborting, FUZZ_FULL_REINIT=1 rebuilds the machine from
 * scratch for every input (see restore_booted()).
 *
 * The fake machine, rebuilt identically for every input (see "the fake
 * machine" below): one DRAM bank at a fixed address below 1 TiB whose top
 * is the core's own memory holding the boot page pool; the page database in
 * separate heap memory; device windows (GIC, UART, fw_cfg) below the bank.
 *
 * Input encoding (tests/fuzz/make_seeds.py writes the same format):
 *   byte 0: config. Bit 7: the big layout (with a whole 2 MiB block), else
 *           the small one. (config & 0x7f) < 0x20: a tiny boot pool (what
 *           host_s2_init needs + (config & 3) pages, so it can run dry);
 *           otherwise a boot-sized pool.
 *   then operations, each an op byte (o % NR_OPS) followed by its operands:
 *   0..19  raw call MOAT_FN(o) with biased arguments, then one byte that
 *          sometimes (>= 0xf0) makes an unused argument non-zero;
 *   20     an unknown / foreign function ID;
 *   21..   "good" recipes whose arguments are chosen to pass (a host page
 *          found in the page database, a known handle), each ending in a
 *          corruption byte (>= 0xe0: replace one argument, even an unused one).
 * A missing byte reads as 0, so any prefix of an input is an input.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <moat/abi.h>
#include <moat/errors.h>

#include "alloc.h"
#include "esr.h"
#include "fake_arch.h"
#include "host_call.h"
#include "host_mmio.h"
#include "host_s2.h"
#include "invariants.h"
#include "log.h"
#include "pagedb.h"
#include "psci.h"
#include "vcpu.h"
#include "vm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the fake machine --------------------------------------------------------- */

/*
 * DRAM: one region at a fixed address below 1 TiB (the core dereferences
 * physical addresses directly in the fake build; the host stage 2 has 40 IPA
 * bits; ASan leaves application memory below 2 GiB), in two layouts chosen by
 * the input's config byte:
 *
 *   small: the region's top SMALL_SIZE only -- cheap to check, for most inputs;
 *   big:   the whole region, starting with a whole 2 MiB block the host stage 2
 *          maps as a block, splits on donation and re-forms on reclaim.
 *
 * Both end with the core's own memory (CORE_SIZE, owner CORE, peer NONE, as
 * boot marks it), whose first pages are the boot page pool. The whole
 * invariant checker at the end of each input is O(pages) plus walks of every
 * table: the banks are small on purpose.
 */
#define REGION_BASE 0x60000000UL /* 2 MiB-aligned */
#define CORE_SIZE (128UL << 10)
#define SMALL_SIZE (CORE_SIZE + (256UL << 10))
#define REGION_SIZE ((2UL << 20) + SMALL_SIZE)
#define GUARD_SIZE (64UL << 10) /* PROT_NONE on both sides: overruns fault */
#define POOL_PAGES_FULL 24	/* like boot: RAM/2M + RAM/1G + 2 + fixed pages, room to spare */
#define CONFIG_BIG 0x80		/* config byte: the big layout */
#define CONFIG_TINY_POOL_BELOW 0x20 /* config & 0x7f below this: a tiny pool */

/*
 * Device windows, laid out like QEMU virt's but moved into one 2 MiB region in
 * the bank's GiB, so that the host stage 2 needs no extra tables for them:
 * the whole checker walks every table at the end of each input.
 */
#define DEV_BASE (REGION_BASE - (2UL << 20))
#define DEV_GICD DEV_BASE
#define DEV_GICR (DEV_BASE + 0xa0000) /* two redistributors: RD_base pages emulated, not mapped */
#define DEV_UART (DEV_BASE + 0x100000)
#define DEV_PLATFORM (DEV_BASE + 0x120000) /* holds fw_cfg, which must stay unmapped */
#define DEV_FW_CFG DEV_PLATFORM

/* The VM configuration the recipes use (DESIGN §14 guests: 16 MiB RAM, MMIO below RAM). */
#define GUEST_RAM_SIZE (16UL << 20)
#define GUEST_MMIO_BASE 0x08000000UL
#define GUEST_MMIO_SIZE 0x08000000UL

#define MAX_OPS 48 /* deep enough for a whole VM life; more only slows every input down */
#define MAX_HANDLES 16
#define MAX_TRACE (3 * MAX_OPS)
#define MAX_EXITS 8
#define RUN_PAGE_PATTERN 0x5a

static u64 region; /* REGION_BASE once mapped */
static struct page_pool pool;
static void *pagedb_storage; /* sized for the big layout */
static bool trace_env, full_reinit, selftest_violation;

/* One layout of the fake machine and the state right after its boot. */
struct layout {
	const char *name;
	u64 base, size, nr_pages, core_first; /* the DRAM bank; first page of the core's memory */
	struct platform_info plat;
	u64 pagedb_bytes;
	unsigned int pool_pages_needed; /* pool pages host_s2_init itself takes */
	/* Saved right after boot (see restore_booted()). */
	u8 *pagedb;
	struct page_pool pool;
	struct pgtable host_s2;
	u8 *pool_mem;
	u64 pool_used;
};
static struct layout layouts[2], *L; /* L: the current input's layout */

/* ---- input reader ------------------------------------------------------------- */

static const u8 *in_data;
static size_t in_size, in_pos;

static u8 u8_in(void)
{
	return in_pos < in_size ? in_data[in_pos++] : 0;
}

static u16 u16_in(void)
{
	u16 lo = u8_in();

	return (u16)(lo | (u16)u8_in() << 8);
}

static u32 u32_in(void)
{
	u32 lo = u16_in();

	return lo | (u32)u16_in() << 16;
}

static u64 u64_in(void)
{
	u64 lo = u32_in();

	return lo | (u64)u32_in() << 32;
}

/* ---- per-input harness state -------------------------------------------------- */

static struct {
	u64 handles[MAX_HANDLES]; /* every handle VM_CREATE returned, oldest overwritten first */
	unsigned int nr_handles, next_handle;
	u64 fault_handle, fault_ipa; /* last MEM_FAULT exit */
	struct {
		u64 handle, prefix[3]; /* FINALIZE's x1..x3: MEASUREMENT words 0..2 must match */
	} finalized[MAX_HANDLES];
	unsigned int nr_finalized;
	bool fault_valid;
	unsigned int op; /* index of the current operation */
	/* What each queued exit does to the vCPU's registers (applied by exit_hook). */
	struct exit_regs {
		bool set_x0;
		u64 x0, x1;
		unsigned int fill_reg; /* 0..30, or 31 = none */
		u64 fill;
	} exit_regs[MAX_EXITS];
	struct trace_entry {
		unsigned int op;
		u64 fid;
		u64 a[HOST_CALL_MAX_ARGS];
		long ret;
		u64 res[HOST_CALL_MAX_RESULTS];
	} trace[MAX_TRACE];
	unsigned int nr_trace;
} h;

/* Snapshots taken before each call, compared after a failed one. */
static u8 *pagedb_before;
static struct vm vm_before[MAX_VMS];
static bool vm_live_before[MAX_VMS];
static struct vcpu vcpu_before[MAX_VMS][MAX_VCPUS];
static u64 objects_before[3]; /* STATS OBJECTS after the previous call */

/* Totals for the line printed at exit; violations are counted with FUZZ_KEEP_GOING=1. */
static unsigned long violations, total_inputs, total_calls;

static void print_totals(void)
{
	fprintf(stderr, "fuzz_host_abi: %lu inputs, %lu host calls (%.1f per input), %lu violations\n", total_inputs,
		total_calls, total_inputs ? (double)total_calls / (double)total_inputs : 0.0, violations);
}

/* ---- names for reports -------------------------------------------------------- */

static const char *const call_names[MOAT_FN_COUNT] = {
	"VERSION",    "CAPS",	   "VM_CREATE",	   "VM_DESTROY", "VCPU_CREATE",	 "DONATE_CORE", "SHARE_CORE",
	"UNSHARE_CORE", "DONATE_VM", "LOAD",	   "SHARE_VM",	 "SET_BOOT",	 "FINALIZE",	"VCPU_RUN",
	"VCPU_GET_REG", "VCPU_SET_REG", "RECLAIM",   "STATS",	   "CHECK",	 "MEASUREMENT", "VM_SET_SPIS",
	"IRQ_LINE",   "GUEST_SHARED",
};

/* Arguments each call uses (docs/ABI.md); the rest must be zero. */
static const unsigned int call_nargs[MOAT_FN_COUNT] = { 0, 0, 6, 1, 3, 3, 1, 1, 3, 3, 3, 3,
							 1, 2, 3, 4, 1, 1, 0, 2, 2, 3, 2 };
/* Results each call writes; the other result registers read 0. */
static const unsigned int call_nresults[MOAT_FN_COUNT] = { 1, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
							    3, 1, 1, 0, 0, 3, 1, 1, 0, 1, 1 };

static const char *fid_name(u64 fid)
{
	u64 n = fid - MOAT_FN(0);

	return fid >= MOAT_FN(0) && n < MOAT_FN_COUNT ? call_names[n] : "unknown";
}

static void print_entry(const struct trace_entry *t)
{
	fprintf(stderr, "  op %2u: %-12s fid 0x%lx (0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx) -> %ld [0x%lx 0x%lx 0x%lx]\n",
		t->op, fid_name(t->fid), t->fid, t->a[0], t->a[1], t->a[2], t->a[3], t->a[4], t->a[5], t->ret,
		t->res[0], t->res[1], t->res[2]);
}

static void __attribute__((format(printf, 1, 2))) violation(const char *fmt, ...)
{
	va_list ap;
	size_t len = fake.console_len;

	violations++;
	fprintf(stderr, "VIOLATION: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ncalls of this input (last one failed the check):\n");
	for (unsigned int i = 0; i < h.nr_trace; i++) {
		print_entry(&h.trace[i]);
	}
	fprintf(stderr, "core log (tail):\n%s\n", len > 2000 ? fake.console + len - 2000 : fake.console);
	if (!getenv("FUZZ_KEEP_GOING")) {
		abort();
	}
}

/* ---- the machine ---------------------------------------------------------------- */

static void map_region(void)
{
	u64 total = REGION_SIZE + 2 * GUARD_SIZE;
	void *p = mmap((void *)(REGION_BASE - GUARD_SIZE), total, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != (void *)(REGION_BASE - GUARD_SIZE)) {
		fprintf(stderr, "fuzz_host_abi: cannot map the fake DRAM at 0x%lx\n", REGION_BASE);
		abort();
	}
	region = REGION_BASE;
}

/*
 * The two redistributors' RD_base frames are real memory: host_mmio_init
 * finds the frames that exist by reading each GICR_TYPER through the fake
 * device accessor (PLPIS; the second one says Last).
 */
static void map_gicr(void)
{
	void *p = mmap((void *)DEV_GICR, 2 * GICR_FRAME_STRIDE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != (void *)DEV_GICR) {
		fprintf(stderr, "fuzz_host_abi: cannot map the fake redistributors at 0x%lx\n", DEV_GICR);
		abort();
	}
	*(volatile u64 *)(DEV_GICR + 0x8) = 0x1;
	*(volatile u64 *)(DEV_GICR + GICR_FRAME_STRIDE + 0x8) = 0x1 | 1UL << 4 | 1UL << 8;
}

/* The bank of layout l is readable and writable, the rest of the region faults. */
static void select_layout(struct layout *l)
{
	if (L == l) {
		return;
	}
	if (mprotect((void *)region, REGION_SIZE, PROT_NONE) ||
	    mprotect((void *)(uintptr_t)l->base, l->size, PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		abort();
	}
	L = l;
}

static void make_platform(struct platform_info *plat, u64 base, u64 size)
{
	memset(plat, 0, sizeof(*plat));
	plat->mem[0] = (struct fdt_range){ base, size };
	plat->nr_mem = 1;
	plat->nr_cpus = 2; /* one per redistributor (map_gicr) */
	plat->mmio[plat->nr_mmio++] = (struct fdt_range){ DEV_GICD, 0x10000 };
	plat->mmio[plat->nr_mmio++] = (struct fdt_range){ DEV_GICR, 2 * GICR_FRAME_STRIDE };
	plat->mmio[plat->nr_mmio++] = (struct fdt_range){ DEV_UART, 0x1000 };
	plat->mmio[plat->nr_mmio++] = (struct fdt_range){ DEV_PLATFORM, 0x1000 };
	plat->gicd = plat->mmio[0];
	plat->gicr = plat->mmio[1];
	plat->uart = plat->mmio[2];
	plat->fw_cfg = (struct fdt_range){ DEV_FW_CFG, 0x18 };
}

static void exit_hook(struct vcpu *vcpu, unsigned int n)
{
	const struct exit_regs *r;

	/* Past the script the fake has set x0 = SYSTEM_OFF itself. */
	if (n >= fake.nr_exits || n >= MAX_EXITS) {
		return;
	}
	r = &h.exit_regs[n];
	if (r->set_x0) {
		vcpu->ctx.regs.x[0] = r->x0;
		vcpu->ctx.regs.x[1] = r->x1;
	}
	if (r->fill_reg < 31) {
		vcpu->ctx.regs.x[r->fill_reg] = r->fill;
	}
}

/*
 * fake_reset() without clearing the 1 MiB maintenance trace: nothing reads
 * trace entries at or beyond fake.nr_ops (the fake only appends), so zeroing
 * the rest of the state is the same reset at a fraction of the cost.
 */
_Static_assert(offsetof(struct fake_state, ops) == 0 &&
		       offsetof(struct fake_state, nr_ops) == sizeof(((struct fake_state *)0)->ops),
	       "reset_fake() expects the trace array first, then everything else");

static void reset_fake(void)
{
	memset(&fake.nr_ops, 0, sizeof(fake) - offsetof(struct fake_state, nr_ops));
}

static u64 pool_base(void)
{
	return L->base + L->size - CORE_SIZE;
}

/*
 * Boot the current layout as core/boot.c does: page database with the core's
 * memory marked, boot pool in that memory, host stage 2 built from the pool.
 */
static bool boot_machine(unsigned int pool_pages)
{
	memset(pagedb_storage, 0, L->pagedb_bytes);
	if (pagedb_init(&L->plat, pagedb_storage, L->pagedb_bytes)) {
		return false;
	}
	pagedb_set_range(pool_base(), CORE_SIZE, OWNER_CORE, PAGE_OWNED);
	host_mmio_init(&L->plat);
	page_pool_init(&pool, pool_base(), (u64)pool_pages * PAGE_SIZE);
	return host_s2_init(&L->plat, &pool) == MOAT_OK;
}

/*
 * The state right after boot_machine(POOL_PAGES_FULL) is saved once per
 * layout: building the host stage 2 page by page costs more than the rest of
 * an input, so each input restores it instead -- the page database, the pool
 * (its struct and the pages it handed out; pages it hands out later are
 * zeroed on allocation) and the host stage-2 descriptor. FUZZ_FULL_REINIT=1
 * boots from scratch for every input instead, to check that both agree.
 */
static void save_booted(void)
{
	L->pool_used = pool.next - pool_base();
	L->pagedb = malloc(L->pagedb_bytes);
	L->pool_mem = malloc(L->pool_used);
	if (!L->pagedb || !L->pool_mem) {
		abort();
	}
	memcpy(L->pagedb, pagedb_storage, L->pagedb_bytes);
	memcpy(L->pool_mem, (void *)(uintptr_t)pool_base(), L->pool_used);
	L->pool = pool;
	L->host_s2 = *host_s2();
}

static bool restore_booted(unsigned int pool_pages)
{
	memcpy(pagedb_storage, L->pagedb, L->pagedb_bytes);
	if (pagedb_init(&L->plat, pagedb_storage, L->pagedb_bytes)) {
		return false;
	}
	host_mmio_init(&L->plat);
	memcpy((void *)(uintptr_t)pool_base(), L->pool_mem, L->pool_used);
	pool = L->pool;
	/* A smaller pool: the same pages handed out at boot, fewer left. */
	pool.end = pool_base() + (u64)pool_pages * PAGE_SIZE;
	pool.nr_free -= POOL_PAGES_FULL - pool_pages;
	*host_s2() = L->host_s2;
	return true;
}

/* Everything the core and the fake keep, back to the state right after boot. */
static bool reset_machine(u8 config)
{
	unsigned int pool_pages = POOL_PAGES_FULL;
	bool ok;

	select_layout(&layouts[(config & CONFIG_BIG) != 0]);
	if ((config & ~CONFIG_BIG) < CONFIG_TINY_POOL_BELOW) {
		pool_pages = L->pool_pages_needed + (config & 3);
	}
	reset_fake();
	fake.exit_hook = exit_hook;
	pagedb_lock.locked = 0;
	ok = full_reinit ? boot_machine(pool_pages) : restore_booted(pool_pages);
	vm_table_init();
	memset(&h, 0, sizeof(h));
	return ok;
}

static void init_layout(struct layout *l, const char *name, u64 base, u64 size)
{
	l->name = name;
	l->base = base;
	l->size = size;
	l->nr_pages = size / PAGE_SIZE;
	l->core_first = (size - CORE_SIZE) / PAGE_SIZE;
	make_platform(&l->plat, base, size);
	l->pagedb_bytes = pagedb_storage_bytes(&l->plat);
	select_layout(l);
	/* Both redistributors found and emulated, so the checker guards their RD_base pages too. */
	if (!boot_machine(POOL_PAGES_FULL) || host_mmio_nr_pages() != 2 || invariants_check()) {
		fprintf(stderr, "fuzz_host_abi: the %s fake machine does not boot\n", name);
		abort();
	}
	l->pool_pages_needed = POOL_PAGES_FULL - (unsigned int)host_s2_pool_free();
	save_booted();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	trace_env = getenv("FUZZ_TRACE") != NULL;
	full_reinit = getenv("FUZZ_FULL_REINIT") != NULL;
	selftest_violation = getenv("FUZZ_SELFTEST_VIOLATION") != NULL;
	atexit(print_totals);
	/* Info lines cost more than a call (the fake console checks getenv per character). */
	log_set_level(getenv("FUZZ_LOG") ? LOG_INFO : LOG_WARN);
	map_region();
	map_gicr();
	pagedb_storage = malloc(REGION_SIZE / PAGE_SIZE * sizeof(struct page_info));
	pagedb_before = malloc(REGION_SIZE / PAGE_SIZE * sizeof(struct page_info));
	if (!pagedb_storage || !pagedb_before) {
		abort();
	}
	init_layout(&layouts[0], "small", region + REGION_SIZE - SMALL_SIZE, SMALL_SIZE);
	init_layout(&layouts[1], "big", region, REGION_SIZE);
	return 0;
}

/* ---- the checked call ------------------------------------------------------------ */

static void stats(u64 which, u64 out[3])
{
	struct host_call_args a = { .a = { which } };

	if (host_call_raw(MOAT_FN_STATS, &a) != MOAT_OK) {
		violation("STATS %lu failed", which);
	}
	memcpy(out, a.res, sizeof(a.res));
}

/*
 * STATS OWNERS and STATES against a count of the page database, OBJECTS
 * against the VM table and the pool (docs/ABI.md), after a successful call
 * that changed the database. (After a failed call the database must be
 * byte-identical, which fixes both answers; OBJECTS is compared then too.)
 */
static void check_stats(void)
{
	u64 want[3][3] = { { 0 } }, got[3];
	const struct page_info *pages = pagedb_storage;

	for (u64 i = 0; i < L->nr_pages; i++) {
		const struct page_info *p = &pages[i];

		want[0][0] += p->owner == OWNER_HOST;
		want[0][1] += p->owner == OWNER_CORE;
		want[0][2] += OWNER_IS_VM(p->owner);
		want[1][0] += p->state == PAGE_PENDING_SCRUB;
		want[1][1] += p->state == PAGE_SHARED_OWNED && p->peer == OWNER_CORE;
		/* Either way: host pages lent to VMs (SHARE_VM), VM pages their guests share (MEM_SHARE). */
		want[1][2] += p->state == PAGE_SHARED_OWNED &&
			      (OWNER_IS_VM(p->peer) || (OWNER_IS_VM(p->owner) && p->peer == OWNER_HOST));
	}
	for (unsigned int slot = 0; slot < MAX_VMS; slot++) {
		const struct vm *vm = vm_slot(slot);

		want[2][0] += vm != NULL;
		for (unsigned int i = 0; vm && i < MAX_VCPUS; i++) {
			want[2][1] += vm->vcpus[i] != NULL;
		}
	}
	want[2][2] = pool.nr_free;
	for (u64 which = 0; which < 3; which++) {
		stats(which, got);
		if (memcmp(got, want[which], sizeof(got))) {
			violation("STATS %lu answers %lu/%lu/%lu, the page database and VM table say %lu/%lu/%lu", which,
				  got[0], got[1], got[2], want[which][0], want[which][1], want[which][2]);
		}
	}
}

static void snapshot(void)
{
	memcpy(pagedb_before, pagedb_storage, L->pagedb_bytes);
	for (unsigned int s = 0; s < MAX_VMS; s++) {
		struct vm *vm = vm_slot(s);

		vm_live_before[s] = vm != NULL;
		if (!vm) {
			continue;
		}
		vm_before[s] = *vm;
		for (unsigned int i = 0; i < MAX_VCPUS; i++) {
			if (vm->vcpus[i]) {
				vcpu_before[s][i] = *vm->vcpus[i];
			}
		}
	}
}

static void check_unchanged(const char *name, const u64 objects[3])
{
	if (memcmp(pagedb_before, pagedb_storage, L->pagedb_bytes)) {
		for (u64 i = 0; i < L->nr_pages; i++) {
			const struct page_info *b = (const struct page_info *)pagedb_before + i;
			const struct page_info *a = (const struct page_info *)pagedb_storage + i;

			if (memcmp(a, b, sizeof(*a))) {
				violation("%s failed but changed the page database: page 0x%lx owner %u->%u state %u->%u "
					  "peer %u->%u flags %u->%u",
					  name, L->base + i * PAGE_SIZE, b->owner, a->owner, b->state, a->state, b->peer,
					  a->peer, b->flags, a->flags);
				break;
			}
		}
	}
	for (unsigned int s = 0; s < MAX_VMS; s++) {
		struct vm *vm = vm_slot(s);

		if ((vm != NULL) != vm_live_before[s]) {
			violation("%s failed but VM slot %u became %s", name, s, vm ? "live" : "free");
			continue;
		}
		if (!vm) {
			continue;
		}
		if (memcmp(vm, &vm_before[s], sizeof(*vm))) {
			violation("%s failed but changed the state of vm%u", name, s);
		}
		for (unsigned int i = 0; i < MAX_VCPUS; i++) {
			if (vm->vcpus[i] && memcmp(vm->vcpus[i], &vcpu_before[s][i], sizeof(struct vcpu))) {
				violation("%s failed but changed vm%u vcpu%u", name, s, i);
			}
		}
	}
	if (memcmp(objects, objects_before, sizeof(objects_before))) {
		violation("%s failed but STATS OBJECTS changed: %lu/%lu/%lu -> %lu/%lu/%lu", name, objects_before[0],
			  objects_before[1], objects_before[2], objects[0], objects[1], objects[2]);
	}
}

static void check_quiescent(const char *name)
{
	if (pagedb_lock.locked) {
		violation("%s returned with pagedb_lock held", name);
		pagedb_lock.locked = 0;
	}
	for (unsigned int s = 0; s < MAX_VMS; s++) {
		struct vm *vm = vm_slot(s);

		if (!vm) {
			continue;
		}
		if (vm->lock.locked) {
			violation("%s returned with vm%u's lock held", name, s);
		}
		for (unsigned int i = 0; i < MAX_VCPUS; i++) {
			if (vm->vcpus[i] && vm->vcpus[i]->loaded) {
				violation("%s returned with vm%u vcpu%u still loaded", name, s, i);
			}
		}
	}
}

static void check_version(void)
{
	struct host_call_args a = { .a = { 0 } };
	long ret = host_call_raw(MOAT_FN_VERSION, &a);

	if (ret != MOAT_OK || a.res[0] != 0x10003 || a.res[1] || a.res[2]) {
		violation("VERSION after the call: %ld [0x%lx 0x%lx 0x%lx]", ret, a.res[0], a.res[1], a.res[2]);
	}
}

static bool page_is_zero(u64 pa)
{
	const u64 *p = (const u64 *)(uintptr_t)pa;

	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++) {
		if (p[i]) {
			return false;
		}
	}
	return true;
}

static bool in_bank(u64 pa)
{
	return pa >= L->base && pa - L->base < L->size;
}

static void remember_handle(u64 handle)
{
	h.handles[h.next_handle] = handle;
	h.next_handle = (h.next_handle + 1) % MAX_HANDLES;
	if (h.nr_handles < MAX_HANDLES) {
		h.nr_handles++;
	}
}

/* What the page database must say about pa after a successful call. */
static void expect_page(const char *name, u64 pa, u16 owner, enum page_state state, u16 peer)
{
	const struct page_info *p = pagedb_lookup(pa);

	if (!p || p->owner != owner || p->state != state || p->peer != peer) {
		violation("%s succeeded but page 0x%lx is owner %u state %u peer %u, not %u/%u/%u", name, pa,
			  p ? p->owner : 0xffff, p ? p->state : 0xff, p ? p->peer : 0xffff, owner, state, peer);
	}
}

static void expect_mapped(const char *name, const struct pgtable *pgt, u64 ia, u64 pa)
{
	u64 out;
	unsigned int flags, level;

	if (!pgt_lookup(pgt, ia, &out, &flags, &level) || out != pa) {
		violation("%s succeeded but 0x%lx does not map to page 0x%lx", name, ia, pa);
	}
}

static void check_vm_create(const u64 res[3])
{
	int err = 0;
	struct vm *vm = vm_from_handle(res[0], &err);

	if ((res[0] >> 32) || !vm) {
		violation("VM_CREATE returned a bad handle 0x%lx", res[0]);
		return;
	}
	remember_handle(res[0]);
	if (vm->state != VM_CREATED) {
		violation("VM_CREATE: vm%u is in state %d", vm->slot, vm->state);
	}
}

/*
 * The run page after an exit carries exactly what the exit needs and nothing
 * else (docs/ABI.md "Run page and exits", DESIGN §6): every other byte is 0.
 */
static void check_run_page(const struct vm *vm, const struct moat_run *run, u64 reason)
{
	static const unsigned int used_words[] = {
		[MOAT_EXIT_MMIO] = 3, [MOAT_EXIT_MEM_FAULT] = 1, [MOAT_EXIT_WFI] = 1, [MOAT_EXIT_GUEST_FAULT] = 1,
		[MOAT_EXIT_VCPU_ON] = 1, [MOAT_EXIT_UNSHARE] = 1,
	};
	unsigned int used = reason < ARRAY_SIZE(used_words) ? used_words[reason] : 0;

	if (reason == MOAT_EXIT_NONE || reason > MOAT_EXIT_UNSHARE || run->exit_reason != reason || run->flags) {
		violation("VCPU_RUN: exit %lu, run page says exit %u flags 0x%x", reason, run->exit_reason, run->flags);
		return;
	}
	for (unsigned int i = used; i < ARRAY_SIZE(run->u.raw); i++) {
		if (run->u.raw[i]) {
			violation("VCPU_RUN: exit %lu leaves 0x%lx in run-page word %u", reason, run->u.raw[i], i);
		}
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(run->reserved); i++) {
		if (run->reserved[i]) {
			violation("VCPU_RUN: exit %lu leaves 0x%lx in reserved word %u", reason, run->reserved[i], i);
		}
	}
	if (reason == MOAT_EXIT_MMIO) {
		u32 size = run->u.mmio.size;
		u64 mask = size == 8 ? ~0UL : (1UL << (8 * size)) - 1;

		if ((size != 1 && size != 2 && size != 4 && size != 8) || run->u.mmio.is_write > 1 ||
		    !vm_ipa_in_mmio(vm, run->u.mmio.ipa) || (run->u.mmio.value & ~mask) ||
		    (!run->u.mmio.is_write && run->u.mmio.value)) {
			violation("VCPU_RUN: bad MMIO exit ipa 0x%lx size %u write %u value 0x%lx", run->u.mmio.ipa, size,
				  run->u.mmio.is_write, run->u.mmio.value);
		}
	} else if (reason == MOAT_EXIT_MEM_FAULT) {
		u64 pa;
		unsigned int flags, level;
		u64 ipa = run->u.mem_fault.ipa;

		if (!IS_ALIGNED(ipa, PAGE_SIZE) || !vm_ipa_in_ram(vm, ipa) || pgt_lookup(&vm->s2.pgt, ipa, &pa, &flags, &level)) {
			violation("VCPU_RUN: MEM_FAULT at 0x%lx, not an unbacked RAM page", ipa);
		}
	} else if (reason == MOAT_EXIT_GUEST_FAULT && !IS_ALIGNED(run->u.guest_fault.ipa, PAGE_SIZE)) {
		violation("VCPU_RUN: GUEST_FAULT IPA 0x%lx not page-aligned", run->u.guest_fault.ipa);
	} else if (reason == MOAT_EXIT_UNSHARE) {
		u64 pa, ipa = run->u.unshare.ipa;
		unsigned int flags, level;
		const struct page_info *p =
			pgt_lookup(&vm->s2.pgt, ipa, &pa, &flags, &level) ? pagedb_lookup(pa) : NULL;

		/* Asked about a page the guest shares with the host, now marked: GUEST_SHARED refuses it. */
		if (!IS_ALIGNED(ipa, PAGE_SIZE) || !p || p->state != PAGE_SHARED_OWNED ||
		    !(p->flags & PAGE_FLAG_UNSHARING)) {
			violation("VCPU_RUN: UNSHARE of 0x%lx, not a shared page under way", ipa);
		}
	} else if (reason == MOAT_EXIT_VCPU_ON) {
		u64 i = run->u.vcpu_on.index;

		if (i >= vm->max_vcpus || !vm->vcpus[i] || vm->vcpus[i]->power != VCPU_POWER_ON_PENDING) {
			violation("VCPU_RUN: VCPU_ON names vCPU %lu, not one a CPU_ON started", i);
		}
	}
}

/* Calls that name a VM by handle in x1 (VM_CREATE returns one instead). */
static bool names_vm(u64 fid)
{
	return fid != MOAT_FN_VM_CREATE && fid >= MOAT_FN_VM_DESTROY && fid <= MOAT_FN_GUEST_SHARED &&
	       fid != MOAT_FN_SHARE_CORE && fid != MOAT_FN_UNSHARE_CORE && fid != MOAT_FN_RECLAIM &&
	       fid != MOAT_FN_STATS && fid != MOAT_FN_CHECK;
}

/*
 * The lifecycle (docs/ABI.md "Lifecycle" and the calls table): a call that
 * succeeded on a VM named a live VM by its current handle, in a state and of a
 * type that allow the call, and moved it only where the call may.
 */
static void check_lifecycle(u64 fid, const u64 a[HOST_CALL_MAX_ARGS], const u64 res[3])
{
	unsigned int slot = a[0] & 0xffff;
	const struct vm *before = slot < MAX_VMS && vm_live_before[slot] ? &vm_before[slot] : NULL;
	const struct vm *now = slot < MAX_VMS ? vm_slot(slot) : NULL;
	const char *name = fid_name(fid);
	enum vm_state want;

	if (!before || vm_handle(before) != a[0]) {
		violation("%s succeeded on handle 0x%lx, which names no live VM", name, a[0]);
		return;
	}
	if (fid == MOAT_FN_VM_DESTROY) {
		return;
	}
	want = before->state;
	switch (fid) {
	case MOAT_FN_VCPU_CREATE:
	case MOAT_FN_LOAD:
	case MOAT_FN_SET_BOOT:
	case MOAT_FN_VM_SET_SPIS:
		if (before->state != VM_CREATED) {
			violation("%s succeeded on vm%u in state %d", name, slot, before->state);
		}
		break;
	case MOAT_FN_FINALIZE:
		if (before->state != VM_CREATED || !before->vcpus[0] || !before->boot_set) {
			violation("FINALIZE succeeded on vm%u in state %d (vCPU 0 %s, boot %s)", slot, before->state,
				  before->vcpus[0] ? "present" : "missing", before->boot_set ? "set" : "unset");
		}
		want = VM_FINALIZED;
		break;
	case MOAT_FN_IRQ_LINE:
		if (before->state != VM_FINALIZED || a[1] < 32 || a[1] >= 96 || !(before->vgic.allowed >> (a[1] - 32) & 1)) {
			violation("IRQ_LINE of INTID %lu succeeded on vm%u (state %d, SPIs 0x%lx)", a[1], slot,
				  before->state, before->vgic.allowed);
		}
		break;
	case MOAT_FN_VCPU_RUN:
		if (before->state != VM_FINALIZED) {
			violation("VCPU_RUN succeeded on vm%u in state %d", slot, before->state);
		}
		want = res[0] == MOAT_EXIT_SYSTEM_OFF || res[0] == MOAT_EXIT_SYSTEM_RESET ? VM_OFF : VM_FINALIZED;
		break;
	case MOAT_FN_DONATE_VM:
	case MOAT_FN_SHARE_VM:
	case MOAT_FN_MEASUREMENT:
		if (before->state == VM_OFF && fid != MOAT_FN_MEASUREMENT) {
			violation("%s succeeded on vm%u, which is off", name, slot);
		}
		if (before->state == VM_CREATED && fid == MOAT_FN_MEASUREMENT) {
			violation("MEASUREMENT succeeded on vm%u before FINALIZE", slot);
		}
		break;
	default:
		break;
	}
	/* docs/measurement.md: LOADs in strictly ascending IPA order, each moving the order on. */
	if (fid == MOAT_FN_LOAD && (a[2] < before->next_load_ipa || !now || now->next_load_ipa != a[2] + PAGE_SIZE)) {
		violation("LOAD at IPA 0x%lx succeeded on vm%u, whose next LOAD had to be at 0x%lx or above", a[2], slot,
			  before->next_load_ipa);
	}
	if ((fid == MOAT_FN_SHARE_VM || fid == MOAT_FN_VCPU_GET_REG || fid == MOAT_FN_VCPU_SET_REG) &&
	    before->type == MOAT_VM_PROTECTED) {
		violation("%s succeeded on protected vm%u", name, slot);
	}
	if (!now || now->state != want) {
		violation("%s: vm%u went from state %d to %d, not %d", name, slot, before->state, now ? (int)now->state : -1,
			  want);
	}
}

/* The page-level effect each successful call promises (docs/ABI.md, "Memory calls"). */
static void check_success(u64 fid, const u64 a[HOST_CALL_MAX_ARGS], const u64 res[3])
{
	const char *name = fid_name(fid);
	int err;
	struct vm *vm = vm_from_handle(a[0], &err);
	u16 me = OWNER_VM(a[0] & 0xffff);

	switch (fid) {
	case MOAT_FN_VM_CREATE:
		check_vm_create(res);
		vm = vm_from_handle(res[0], &err);
		if (vm) {
			expect_page(name, a[2], OWNER_CORE, PAGE_OWNED, OWNER_VM(vm->slot));
			expect_page(name, a[2] + PAGE_SIZE, OWNER_CORE, PAGE_OWNED, OWNER_VM(vm->slot));
		}
		break;
	case MOAT_FN_VM_DESTROY:
		if (vm_slot(a[0] & 0xffff)) {
			violation("VM_DESTROY succeeded but slot %lu is still live", a[0] & 0xffff);
		}
		break;
	case MOAT_FN_DONATE_CORE:
		for (u64 i = 0; i < a[2]; i++) {
			expect_page(name, a[1] + i * PAGE_SIZE, OWNER_CORE, PAGE_OWNED, me);
		}
		break;
	case MOAT_FN_SHARE_CORE:
		expect_page(name, a[0], OWNER_HOST, PAGE_SHARED_OWNED, OWNER_CORE);
		break;
	case MOAT_FN_UNSHARE_CORE:
		expect_page(name, a[0], OWNER_HOST, PAGE_OWNED, OWNER_NONE);
		break;
	case MOAT_FN_DONATE_VM:
	case MOAT_FN_LOAD:
		expect_page(name, a[1], me, PAGE_OWNED, OWNER_NONE);
		if (vm) {
			expect_mapped(name, &vm->s2.pgt, a[2], a[1]);
		}
		if (fid == MOAT_FN_DONATE_VM && in_bank(a[1]) && !page_is_zero(a[1])) {
			violation("DONATE_VM succeeded but page 0x%lx is not zeroed", a[1]);
		}
		break;
	case MOAT_FN_SHARE_VM:
		expect_page(name, a[1], OWNER_HOST, PAGE_SHARED_OWNED, me);
		if (vm) {
			expect_mapped(name, &vm->s2.pgt, a[2], a[1]);
		}
		break;
	case MOAT_FN_VCPU_CREATE:
		if (!vm || a[1] >= MAX_VCPUS || !vm->vcpus[a[1]] || !(pagedb_lookup(a[2])->flags & PAGE_FLAG_RUN_PAGE)) {
			violation("VCPU_CREATE succeeded but vCPU %lu or its run page is missing", a[1]);
		}
		break;
	case MOAT_FN_RECLAIM:
		if (in_bank(a[0]) &&
		    ((const struct page_info *)pagedb_before)[(a[0] - L->base) / PAGE_SIZE].state != PAGE_PENDING_SCRUB) {
			violation("RECLAIM succeeded on page 0x%lx, which was not pending scrub", a[0]);
		}
		expect_page(name, a[0], OWNER_HOST, PAGE_OWNED, OWNER_NONE);
		expect_mapped(name, host_s2(), a[0], a[0]);
		if (in_bank(a[0]) && !page_is_zero(a[0])) {
			violation("RECLAIM succeeded but page 0x%lx is not zeroed", a[0]);
		}
		break;
	case MOAT_FN_VCPU_RUN:
		if (!vm || a[1] >= MAX_VCPUS || !vm->vcpus[a[1]]) {
			violation("VCPU_RUN succeeded without vCPU %lu", a[1]);
			break;
		}
		check_run_page(vm, vm->vcpus[a[1]]->run, res[0]);
		if (res[0] == MOAT_EXIT_MEM_FAULT) {
			h.fault_handle = a[0];
			h.fault_ipa = vm->vcpus[a[1]]->run->u.mem_fault.ipa;
			h.fault_valid = true;
		}
		break;
	case MOAT_FN_FINALIZE:
		if (h.nr_finalized < MAX_HANDLES) {
			h.finalized[h.nr_finalized].handle = a[0];
			memcpy(h.finalized[h.nr_finalized++].prefix, res, 3 * sizeof(u64));
		}
		break;
	case MOAT_FN_MEASUREMENT:
		for (unsigned int i = 0; i < h.nr_finalized; i++) {
			if (h.finalized[i].handle == a[0] && a[1] < 3 && h.finalized[i].prefix[a[1]] != res[0]) {
				violation("MEASUREMENT word %lu is 0x%lx, FINALIZE said 0x%lx", a[1], res[0],
					  h.finalized[i].prefix[a[1]]);
			}
		}
		break;
	case MOAT_FN_CHECK:
		if (res[0]) {
			violation("CHECK reports %lu violations", res[0]);
		}
		break;
	default:
		break;
	}
}

static void record(u64 fid, const u64 a[HOST_CALL_MAX_ARGS], long ret, const u64 res[3])
{
	struct trace_entry *t;

	if (h.nr_trace == MAX_TRACE) {
		memmove(&h.trace[0], &h.trace[1], sizeof(h.trace[0]) * (MAX_TRACE - 1));
		h.nr_trace--;
	}
	t = &h.trace[h.nr_trace++];
	t->op = h.op;
	t->fid = fid;
	memcpy(t->a, a, sizeof(t->a));
	t->ret = ret;
	memcpy(t->res, res, sizeof(t->res));
	if (trace_env) {
		print_entry(t);
	}
}

/*
 * The checker's per-VM part, and each page whose entry the call changed
 * checked as the full walk would: O(VM pages) plus a byte compare of the
 * database, instead of a stage-2 lookup for every page of RAM. The rest (pages
 * no call touched, the host stage 2's shape) waits for the full check at the
 * end of the input.
 */
static unsigned int check_invariants_after_call(void)
{
	const struct page_info *before = (const struct page_info *)pagedb_before;
	const struct page_info *now = pagedb_storage;
	unsigned int found = invariants_check_vms();

	/* Field by field: a memcmp() per entry would go through ASan's interceptor 600 times a call. */
	for (u64 i = 0; i < L->nr_pages; i++) {
		const struct page_info *b = &before[i], *a = &now[i];

		if (a->owner != b->owner || a->peer != b->peer || a->state != b->state || a->flags != b->flags ||
		    a->next != b->next) {
			found += invariants_check_page(L->base + i * PAGE_SIZE);
		}
	}
	return found;
}

/* One host call with every after-call check; returns the status. */
static long call(u64 fid, const u64 a[HOST_CALL_MAX_ARGS])
{
	struct host_call_args args;
	u64 n = fid - MOAT_FN(0);
	bool known = fid >= MOAT_FN(0) && n < MOAT_FN_COUNT;
	bool unused_set = false;
	const char *name = fid_name(fid);
	u64 objects[3];
	long ret;

	total_calls++;
	snapshot();
	memcpy(args.a, a, sizeof(args.a));
	memset(args.res, 0xee, sizeof(args.res));
	ret = host_call_raw(fid, &args);
	record(fid, a, ret, args.res);

	for (unsigned int i = known ? call_nargs[n] : 0; known && i < HOST_CALL_MAX_ARGS; i++) {
		unused_set |= a[i] != 0;
	}
	if (!known && ret != MOAT_E_NOT_SUPPORTED) {
		violation("unknown function ID 0x%lx answered %ld, not NOT_SUPPORTED", fid, ret);
	}
	if (known && unused_set && ret != MOAT_E_INVAL) {
		violation("%s with a non-zero unused argument answered %ld, not INVAL", name, ret);
	}
	/* Host calls answer OK..EXIST, or ORDER from LOAD only (CORRUPT is boot's; -14.. are other calls'). */
	if (ret > 0 || (ret < MOAT_E_EXIST && !(ret == MOAT_E_ORDER && fid == MOAT_FN_LOAD))) {
		violation("%s answered %ld: not 0 or a host-call error", name, ret);
	}
	stats(MOAT_STATS_OBJECTS, objects);
	if (ret < 0) {
		if (args.res[0] || args.res[1] || args.res[2]) {
			violation("%s failed (%ld) with non-zero results 0x%lx 0x%lx 0x%lx", name, ret, args.res[0],
				  args.res[1], args.res[2]);
		}
		check_unchanged(name, objects);
	} else {
		for (unsigned int i = known ? call_nresults[n] : 0; i < HOST_CALL_MAX_RESULTS; i++) {
			if (args.res[i]) {
				violation("%s succeeded with 0x%lx in unused result x%u", name, args.res[i], i + 1);
			}
		}
		if (names_vm(fid)) {
			check_lifecycle(fid, a, args.res);
		}
		check_success(fid, a, args.res);
		if (memcmp(pagedb_before, pagedb_storage, L->pagedb_bytes)) {
			check_stats();
		}
	}
	check_quiescent(name);
	if (check_invariants_after_call()) {
		violation("invariants broken after %s (%ld)", name, ret);
	}
	check_version();
	memcpy(objects_before, objects, sizeof(objects));
	return ret;
}

/* ---- argument generators ---------------------------------------------------------- */

static u64 page_pa(u64 index)
{
	return L->base + (index % L->nr_pages) * PAGE_SIZE;
}

static const struct page_info *db(u64 pa)
{
	return pagedb_lookup(pa);
}

static bool host_owned(u64 pa)
{
	const struct page_info *p = db(pa);

	return p && p->owner == OWNER_HOST && p->state == PAGE_OWNED;
}

static bool shared_with_core(u64 pa)
{
	const struct page_info *p = db(pa);

	return p && p->owner == OWNER_HOST && p->state == PAGE_SHARED_OWNED && p->peer == OWNER_CORE;
}

static bool pending_scrub(u64 pa)
{
	const struct page_info *p = db(pa);

	return p && p->state == PAGE_PENDING_SCRUB;
}

/* The first page at or after page `start` (wrapping) with `count` pages satisfying pred, aligned to `align` pages. */
static u64 find_pages(u64 start, unsigned int count, unsigned int align, bool (*pred)(u64 pa))
{
	for (u64 i = 0; i < L->nr_pages; i++) {
		u64 first = (start + i) % L->nr_pages;
		bool ok = first % align == 0 && first + count <= L->nr_pages;

		for (unsigned int k = 0; ok && k < count; k++) {
			ok = pred(page_pa(first + k));
		}
		if (ok) {
			return page_pa(first);
		}
	}
	return page_pa(start); /* nothing fits: let the call refuse it */
}

static u64 gen_pa(void)
{
	u8 s = u8_in();

	switch (s % 16) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
		return page_pa(u16_in());
	case 5:
	case 6:
	case 7:
		return find_pages(u16_in(), 1, 1, host_owned);
	case 8:
		return page_pa(L->core_first + u8_in());
	case 9: {
		u64 pa = page_pa(u16_in());

		return pa + 1 + u16_in() % (PAGE_SIZE - 1);
	}
	case 10:
		return L->base - PAGE_SIZE * (1 + u8_in());
	case 11:
		return L->base + L->size + PAGE_SIZE * u8_in();
	case 12:
		return DEV_UART + PAGE_SIZE * (u8_in() % 4);
	case 13:
		return find_pages(u16_in(), 1, 1, shared_with_core);
	case 14:
		return find_pages(u16_in(), 1, 1, pending_scrub);
	default:
		return u64_in();
	}
}

static u64 gen_ipa(void)
{
	u8 s = u8_in();

	switch (s % 8) {
	case 0:
	case 1:
	case 2:
		return MOAT_GUEST_RAM_BASE + (u64)u8_in() * PAGE_SIZE;
	case 3:
		return MOAT_GUEST_RAM_BASE + (u64)(u16_in() % (GUEST_RAM_SIZE / PAGE_SIZE + 16)) * PAGE_SIZE;
	case 4:
		return MOAT_GUEST_RAM_BASE - PAGE_SIZE * (1 + u8_in() % 4);
	case 5:
		return GUEST_MMIO_BASE + (u64)u16_in() * PAGE_SIZE;
	case 6: {
		u64 ipa = MOAT_GUEST_RAM_BASE + (u64)u8_in() * PAGE_SIZE;

		return ipa + 1 + u8_in();
	}
	default:
		return u64_in();
	}
}

static u64 gen_handle_sel(u8 s)
{
	u64 known;

	if (!h.nr_handles) {
		return s < 0xe0 ? MOAT_HANDLE(0, 0) : MOAT_HANDLE(s % (MAX_VMS + 2), s >> 6);
	}
	known = h.handles[(h.next_handle + MAX_HANDLES - 1 - s % h.nr_handles) % MAX_HANDLES];
	if (s < 0xe0) {
		return known;
	}
	switch (s & 7) {
	case 0:
		return known + (1UL << 16); /* a generation not issued yet */
	case 1:
		return known - (1UL << 16); /* an older life of the slot */
	case 2:
		return (known & ~0xffffUL) | ((known + 1) & 0xffff);
	case 3:
		return known | (1UL << 32);
	case 4:
		return (known & ~0xffffUL) | MAX_VMS;
	case 5:
		return (known & 0xffff) | 0xffff0000UL;
	case 6:
		return 0;
	default:
		return u64_in();
	}
}

static u64 gen_handle(void)
{
	return gen_handle_sel(u8_in());
}

static u64 gen_small(void)
{
	u8 s = u8_in();

	if (s < 0xf0) {
		return s % 16;
	}
	switch (s & 3) {
	case 0:
		return 0x100 + u8_in();
	case 1:
		return (u64)-1;
	default:
		return u64_in();
	}
}

static u64 gen_size(void)
{
	u8 s = u8_in();

	switch (s % 8) {
	case 0:
	case 1:
		return GUEST_RAM_SIZE;
	case 2:
		return (u64)u8_in() * PAGE_SIZE;
	case 3:
		return (u64)u16_in() << 20;
	case 4:
		return (1UL << 40) - MOAT_GUEST_RAM_BASE + PAGE_SIZE * (u8_in() % 3);
	case 5: {
		u64 size = PAGE_SIZE * u8_in();

		return size + u8_in();
	}
	default:
		return u64_in();
	}
}

static u64 gen_mmio_base(void)
{
	u8 s = u8_in();

	switch (s % 6) {
	case 0:
	case 1:
		return GUEST_MMIO_BASE;
	case 2:
		return MOAT_GUEST_RAM_BASE + ((u64)u8_in() << 20);
	case 3:
		return (1UL << 40) - PAGE_SIZE * u8_in();
	default:
		return u64_in();
	}
}

enum arg_kind { K_NONE, K_HANDLE, K_PA, K_IPA, K_SMALL, K_SIZE, K_RAW, K_MMIO, K_INTID };

static const u8 call_kinds[MOAT_FN_COUNT][HOST_CALL_MAX_ARGS] = {
	[2] = { K_SMALL, K_SMALL, K_PA, K_SIZE, K_MMIO, K_SIZE },
	[3] = { K_HANDLE },
	[4] = { K_HANDLE, K_SMALL, K_PA },
	[5] = { K_HANDLE, K_PA, K_SMALL },
	[6] = { K_PA },
	[7] = { K_PA },
	[8] = { K_HANDLE, K_PA, K_IPA },
	[9] = { K_HANDLE, K_PA, K_IPA },
	[10] = { K_HANDLE, K_PA, K_IPA },
	[11] = { K_HANDLE, K_IPA, K_RAW },
	[12] = { K_HANDLE },
	[13] = { K_HANDLE, K_SMALL },
	[14] = { K_HANDLE, K_SMALL, K_SMALL },
	[15] = { K_HANDLE, K_SMALL, K_SMALL, K_RAW },
	[16] = { K_PA },
	[17] = { K_SMALL },
	[19] = { K_HANDLE, K_SMALL },
	[20] = { K_HANDLE, K_RAW },
	[21] = { K_HANDLE, K_INTID, K_SMALL },
	[22] = { K_HANDLE, K_IPA },
};

static u64 gen_kind(enum arg_kind k)
{
	switch (k) {
	case K_INTID: /* mostly the SPIs a VM can list (32..95), some SGIs/PPIs and beyond */
		return u8_in() < 0xe0 ? 32 + u8_in() % 64 : gen_small() + (u8_in() & 0x70);
	case K_HANDLE:
		return gen_handle();
	case K_PA:
		return gen_pa();
	case K_IPA:
		return gen_ipa();
	case K_SMALL:
		return gen_small();
	case K_SIZE:
		return gen_size();
	case K_MMIO:
		return gen_mmio_base();
	case K_RAW:
		return u8_in() < 0xc0 ? u8_in() : u64_in();
	default:
		return 0;
	}
}

/* Any argument at all, for corruption. */
static u64 gen_any(void)
{
	return gen_kind((enum arg_kind)(1 + u8_in() % 7));
}

/* A recipe's closing byte: >= 0xe0 replaces argument (c & 7) % 6 -- used or not. */
static void maybe_corrupt(u64 a[HOST_CALL_MAX_ARGS])
{
	u8 c = u8_in();

	if (c >= 0xe0) {
		a[(c & 7) % HOST_CALL_MAX_ARGS] = gen_any();
	}
}

/* ---- guest exits for VCPU_RUN ---------------------------------------------------------- */

static const u64 psci_ids[] = {
	PSCI_VERSION,	   PSCI_FEATURES,	   PSCI_CPU_SUSPEND_32,	 PSCI_CPU_SUSPEND_64,
	PSCI_CPU_OFF,	   PSCI_CPU_ON_32,	   PSCI_CPU_ON_64,	 PSCI_AFFINITY_INFO_32,
	PSCI_AFFINITY_INFO_64, PSCI_MIGRATE_INFO_TYPE, PSCI_SYSTEM_OFF,	 PSCI_SYSTEM_RESET,
	SMCCC_VERSION,	   0x80000001UL,	   0x80008000UL,	 0x1UL << 32 | PSCI_SYSTEM_OFF,
};

/* The KVM vendor-hypervisor calls (guest_call.c, guest_mem.c), and reserved function 5. */
static const u64 vendor_ids[] = {
	0x8600FF01UL, 0x86000000UL, 0xC6000002UL, 0xC6000003UL,
	0xC6000004UL, 0xC6000007UL, 0xC6000009UL, 0xC6000005UL,
};

static u64 gen_guest_ipa(void)
{
	u8 s = u8_in();

	switch (s % 4) {
	case 0:
	case 1:
		return MOAT_GUEST_RAM_BASE + (u64)u8_in() * PAGE_SIZE + (s >> 2) * 8;
	case 2:
		return GUEST_MMIO_BASE + (u64)u8_in() * 8;
	default:
		return u64_in();
	}
}

static void queue_sync_exit(unsigned int n)
{
	u8 e = u8_in();
	u64 esr = ESR_IL, ipa = 0;
	struct exit_regs *r = &h.exit_regs[n];

	switch (e % 8) {
	case 0: /* HVC: a PSCI / SMCCC call, sometimes with a non-zero immediate */
		esr |= EC_HVC64 << ESR_EC_SHIFT | (e >> 6);
		r->set_x0 = true;
		r->x0 = u8_in();
		r->x0 = r->x0 % 32 == 31 ? u64_in() : r->x0 % 32 >= 16 ? vendor_ids[r->x0 % 8] : psci_ids[r->x0 % 16];
		r->x1 = u8_in();
		r->x1 = r->x1 < 0x60   ? r->x1 % 4 :
			r->x1 < 0xa0   ? gen_guest_ipa() :
			r->x1 < 0xc0   ? psci_ids[r->x1 % 16] :
					 u64_in();
		break;
	case 1:
		esr |= EC_WFX << ESR_EC_SHIFT | ((e >> 3) & 1);
		break;
	case 2:
		esr |= EC_SYSREG << ESR_EC_SHIFT | u16_in();
		break;
	case 3:
	case 4: /* data abort: any ISS, ISV forced on half the time */
		esr |= EC_DABT_LOWER << ESR_EC_SHIFT | (u32_in() & 0x1ffffffU) | ((e & 8) ? ESR_ISV : 0);
		ipa = gen_guest_ipa();
		if (u8_in() & 1) {
			r->fill_reg = (unsigned int)ESR_SRT(esr);
			r->fill = u64_in();
		}
		break;
	case 5:
		esr |= EC_IABT_LOWER << ESR_EC_SHIFT | (u8_in() & 0x3f);
		ipa = gen_guest_ipa();
		break;
	case 6:
		esr |= EC_SMC64 << ESR_EC_SHIFT;
		break;
	default:
		esr |= (u64)(e >> 3) << ESR_EC_SHIFT | u16_in();
		break;
	}
	fake_queue_exit(GUEST_EXIT_SYNC, esr, ipa, ipa);
}

static void queue_exits(void)
{
	unsigned int count = u8_in() % (MAX_EXITS + 1);

	fake.nr_exits = 0;
	fake.next_exit = 0;
	memset(h.exit_regs, 0, sizeof(h.exit_regs));
	for (unsigned int n = 0; n < count; n++) {
		u8 k = u8_in();

		h.exit_regs[n].fill_reg = 31;
		switch (k % 16) {
		case 10:
			fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
			break;
		case 11:
			fake_queue_exit(GUEST_EXIT_SERROR, u32_in(), 0, 0);
			break;
		case 12:
			fake_queue_exit(GUEST_EXIT_FIQ, 0, 0, 0);
			break;
		case 13:
			fake_queue_exit(GUEST_EXIT_SYNC, (u64)EC_HVC64 << ESR_EC_SHIFT | ESR_IL, 0, 0);
			break;
		case 14: /* IRQ, FIQ or SError */
			fake_queue_exit(GUEST_EXIT_IRQ + (k >> 4) % 3, 0, 0, 0);
			break;
		case 15: /* any kind, with a syndrome that may not fit it */
			fake_queue_exit(GUEST_EXIT_SYNC + (k >> 4) % (GUEST_EXIT_NOT_ENTERED - GUEST_EXIT_SYNC + 1),
					u32_in(), 0, gen_guest_ipa());
			break;
		default:
			queue_sync_exit(n);
			break;
		}
	}
}

/* The host completes an MMIO read: writes the value into the vCPU's run page. */
static void host_writes_run_page(u64 handle, u64 index)
{
	int err;
	struct vm *vm = vm_from_handle(handle, &err);
	u8 s = u8_in();

	if (!s || !vm || index >= MAX_VCPUS || !vm->vcpus[index]) {
		return;
	}
	vm->vcpus[index]->run->u.mmio.value = s == 0xff ? u64_in() : s * 0x0101010101010101UL;
	if (s == 0xfe) {
		memset(vm->vcpus[index]->run, RUN_PAGE_PATTERN, sizeof(struct moat_run)); /* scribble */
	}
}

/* ---- operations --------------------------------------------------------------------------- */

enum {
	OP_UNKNOWN_FID = MOAT_FN_COUNT,
	OP_CREATE,
	OP_DONATE_CORE,
	OP_VCPU,
	OP_LOAD,
	OP_DONATE_VM,
	OP_SHARE_VM,
	OP_SET_BOOT,
	OP_FINALIZE,
	OP_RUN,
	OP_FAULT_DONATE,
	OP_DESTROY,
	OP_RECLAIM,
	OP_UNSHARE,
	OP_CPU,
	OP_REG,
	NR_OPS
};

static void op_raw_call(unsigned int n)
{
	u64 a[HOST_CALL_MAX_ARGS] = { 0 };
	u8 u;

	for (unsigned int i = 0; i < call_nargs[n]; i++) {
		a[i] = gen_kind((enum arg_kind)call_kinds[n][i]);
	}
	u = u8_in();
	if (u >= 0xf0 && call_nargs[n] < HOST_CALL_MAX_ARGS) {
		a[call_nargs[n] + u % (HOST_CALL_MAX_ARGS - call_nargs[n])] = (u & 1) ? 1UL << (u8_in() % 64) : u64_in();
	}
	if (n == 13) {
		queue_exits();
	}
	call(MOAT_FN(n), a);
}

static void op_unknown_fid(void)
{
	u64 a[HOST_CALL_MAX_ARGS] = { 0 };
	u8 s = u8_in();
	u64 fid;

	switch (s % 8) {
	case 0:
		fid = MOAT_FN(MOAT_FN_COUNT + u8_in());
		break;
	case 1:
		fid = MOAT_FN(0) - 1 - u8_in();
		break;
	case 2:
		fid = MOAT_FN(u8_in() % MOAT_FN_COUNT) | 1UL << 32;
		break;
	case 3:
		fid = MOAT_FN(u8_in() % MOAT_FN_COUNT) & ~(1UL << 30); /* SMC32 */
		break;
	case 4:
		fid = 0xC5000100UL + u8_in(); /* another owner */
		break;
	case 5:
		fid = psci_ids[u8_in() % 16];
		break;
	case 6:
		fid = MOAT_FN(0) + (1UL << 16) + u8_in();
		break;
	default:
		fid = u64_in();
		break;
	}
	if (s & 0x80) {
		a[0] = u64_in();
	}
	call(fid, a);
}

static void op_create(void)
{
	u8 f = u8_in();
	u64 a[HOST_CALL_MAX_ARGS] = {
		f & 1, 1 + (f >> 1) % MAX_VCPUS, find_pages(u8_in() * 4UL, 2, 2, host_owned),
		GUEST_RAM_SIZE, GUEST_MMIO_BASE, GUEST_MMIO_SIZE,
	};

	maybe_corrupt(a);
	call(MOAT_FN_VM_CREATE, a);
}

static void op_donate_core(void)
{
	u64 handle = gen_handle_sel(u8_in());
	unsigned int npages = 1 + u8_in() % 8;
	u64 a[HOST_CALL_MAX_ARGS] = { handle, find_pages(u8_in() * 4UL, npages, 1, host_owned), npages };

	maybe_corrupt(a);
	call(MOAT_FN_DONATE_CORE, a);
}

static void op_vcpu(void)
{
	u64 handle = gen_handle_sel(u8_in());
	u8 i = u8_in();
	u64 pa = find_pages(u8_in() * 4UL, 1, 1, host_owned);
	u64 share[HOST_CALL_MAX_ARGS] = { pa };
	u64 a[HOST_CALL_MAX_ARGS] = { handle, i < 0xc0 ? i % 4 : i % 16, pa };

	call(MOAT_FN_SHARE_CORE, share);
	maybe_corrupt(a);
	call(MOAT_FN_VCPU_CREATE, a);
}

static void op_give(u64 fid)
{
	u64 handle = gen_handle_sel(u8_in());
	u64 ipa = MOAT_GUEST_RAM_BASE + (u64)u8_in() * PAGE_SIZE;
	u64 pa = find_pages(u8_in() * 4UL, 1, 1, host_owned);
	u8 fill = u8_in();
	u64 a[HOST_CALL_MAX_ARGS] = { handle, pa, ipa };

	/* The host writes its own page first: the image for LOAD, junk that DONATE_VM must clear. */
	if (host_owned(pa)) {
		memset((void *)(uintptr_t)pa, fid == MOAT_FN_DONATE_VM ? fill | 1 : fill, PAGE_SIZE);
	}
	maybe_corrupt(a);
	call(fid, a);
}

static void op_set_boot(void)
{
	u64 handle = gen_handle_sel(u8_in());
	u64 pc = MOAT_GUEST_RAM_BASE + (u64)u8_in() * 4;
	u64 a[HOST_CALL_MAX_ARGS] = { handle, pc, u8_in() };

	maybe_corrupt(a);
	call(MOAT_FN_SET_BOOT, a);
}

static void op_handle_only(u64 fid)
{
	u64 a[HOST_CALL_MAX_ARGS] = { gen_handle_sel(u8_in()) };

	maybe_corrupt(a);
	call(fid, a);
}

static void op_run(void)
{
	u64 handle = gen_handle_sel(u8_in());
	u8 i = u8_in();
	u64 a[HOST_CALL_MAX_ARGS] = { handle, i < 0xc0 ? 0 : i % 8 };

	host_writes_run_page(a[0], a[1]);
	queue_exits();
	maybe_corrupt(a);
	call(MOAT_FN_VCPU_RUN, a);
}

static void op_fault_donate(void)
{
	u64 pa = find_pages(u8_in() * 4UL, 1, 1, host_owned);
	u64 a[HOST_CALL_MAX_ARGS] = { h.fault_handle, pa, h.fault_ipa };

	if (host_owned(pa)) {
		memset((void *)(uintptr_t)pa, 0xa5, PAGE_SIZE);
	}
	maybe_corrupt(a);
	if (h.fault_valid || a[0]) {
		call(MOAT_FN_DONATE_VM, a);
	}
}

static void op_reclaim(void)
{
	u64 start = u8_in() * 4UL;
	unsigned int count = 1 + u8_in() % 8;

	for (unsigned int k = 0; k < count; k++) {
		u64 a[HOST_CALL_MAX_ARGS] = { find_pages(start, 1, 1, pending_scrub) };

		if (k && !pending_scrub(a[0])) {
			break; /* nothing left: one refused RECLAIM is enough */
		}
		call(MOAT_FN_RECLAIM, a);
	}
}

static void op_unshare(void)
{
	u64 a[HOST_CALL_MAX_ARGS] = { find_pages(u8_in() * 4UL, 1, 1, shared_with_core) };

	call(MOAT_FN_UNSHARE_CORE, a);
}

static void op_reg(void)
{
	u64 handle = gen_handle_sel(u8_in());
	u8 i = u8_in(), r = u8_in(), w = u8_in();
	u64 a[HOST_CALL_MAX_ARGS] = { handle, i < 0xc0 ? 0 : i % 8, r % (MOAT_REG_COUNT + 3) };

	if (w & 1) {
		a[3] = (w & 2) ? u64_in() : (u64)u8_in() << (w >> 2);
	}
	maybe_corrupt(a);
	call((w & 1) ? MOAT_FN_VCPU_SET_REG : MOAT_FN_VCPU_GET_REG, a);
}

static void run_op(unsigned int op)
{
	if (op < MOAT_FN_COUNT) {
		op_raw_call(op);
		return;
	}
	switch (op) {
	case OP_UNKNOWN_FID:
		op_unknown_fid();
		break;
	case OP_CREATE:
		op_create();
		break;
	case OP_DONATE_CORE:
		op_donate_core();
		break;
	case OP_VCPU:
		op_vcpu();
		break;
	case OP_LOAD:
		op_give(MOAT_FN_LOAD);
		break;
	case OP_DONATE_VM:
		op_give(MOAT_FN_DONATE_VM);
		break;
	case OP_SHARE_VM:
		op_give(MOAT_FN_SHARE_VM);
		break;
	case OP_SET_BOOT:
		op_set_boot();
		break;
	case OP_FINALIZE:
		op_handle_only(MOAT_FN_FINALIZE);
		break;
	case OP_RUN:
		op_run();
		break;
	case OP_FAULT_DONATE:
		op_fault_donate();
		break;
	case OP_DESTROY:
		op_handle_only(MOAT_FN_VM_DESTROY);
		break;
	case OP_RECLAIM:
		op_reclaim();
		break;
	case OP_UNSHARE:
		op_unshare();
		break;
	case OP_CPU:
		fake.cpu = u8_in() % MAX_CPUS;
		break;
	default:
		op_reg();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	in_data = data;
	in_size = size;
	in_pos = 0;
	total_inputs++;
	if (selftest_violation) {
		violation("FUZZ_SELFTEST_VIOLATION is set (checks the runner's failure path)");
	}
	if (!reset_machine(u8_in())) {
		violation("fake machine set-up failed");
		return 0;
	}
	/*
	 * The restored machine is the booted one byte for byte, checked whole in
	 * init_layout(); every input ends with the whole check anyway. A machine
	 * booted from scratch is checked here too.
	 */
	if (full_reinit && invariants_check()) {
		violation("invariants broken right after set-up");
	}
	check_stats();
	stats(MOAT_STATS_OBJECTS, objects_before);
	for (h.op = 0; h.op < MAX_OPS && in_pos < in_size; h.op++) {
		run_op(u8_in() % NR_OPS);
	}
	/* Every invariant, including the O(RAM pages) ones the per-call check leaves out. */
	if (invariants_check()) {
		violation("invariants broken at the end of the input");
	}
	return 0;
}
