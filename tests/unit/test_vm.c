/*
 * Unit tests for VMs and vCPUs (core/vm.c, core/vcpu.c, core/guest_call.c)
 * through the host ABI (host_call_raw) on the fake machine
 * (tests/common/fake_machine.h):
 *
 *   - handles: never used, out of range, upper bits, stale after destroy,
 *     generation bump, VM table exhaustion and reuse;
 *   - the lifecycle: what CREATED, FINALIZED and OFF allow, FINALIZE's
 *     preconditions, VCPU_CREATE and SET_BOOT refusals;
 *   - the measurement: FINALIZE's prefix equals MEASUREMENT, equal inputs
 *     give equal digests, every measured input changes it;
 *   - VCPU_RUN with exits scripted through the fake arch (fake_queue_exit):
 *     MMIO write/read (with read completion: size, sign, W/X, XZR, PC),
 *     guest faults, memory faults, WFI deadlines, the PSCI/SMCCC calls the
 *     core answers itself, system-register traps, IRQ exits; the run page
 *     carries the documented fields and nothing stale;
 *   - VCPU_GET_REG / VCPU_SET_REG: refused for protected VMs, a round trip
 *     for every register of a normal VM, PSTATE validation;
 *   - VCPU_RUN racing VM_DESTROY and slot reuse (the fake arch's lock hook).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <moat/abi.h>
#include <moat/errors.h>

#include "esr.h"
#include "fake_arch.h"
#include "fake_machine.h"
#include "guest_call.h"
#include "guest_exit.h"
#include "pagedb.h"
#include "psci.h"
#include "vcpu.h"
#include "vm.h"
#include "vgic.h"

#define RAM_MIB 32
#define PROT MOAT_VM_PROTECTED
#define NORM MOAT_VM_NORMAL
#define RAM_END (MOAT_GUEST_RAM_BASE + FM_VM_RAM_SIZE)
#define MMIO_REG (FM_VM_MMIO_BASE + 0x14)

#define EC(ec) ((u64)(ec) << ESR_EC_SHIFT)
#define DFSC_TRANSLATION_L3 0x07UL

/* Guest function IDs not in psci.h */
#define SMCCC_ARCH_FEATURES_ID 0x80000001UL

static struct fake_machine machine;
static struct fake_machine *const m = &machine;

/*
 * Per scripted exit: registers the "guest" holds when it takes that exit
 * (an HVC's function ID and argument), and the x0 it saw from the previous
 * one (the result of the previous HVC).
 */
static struct {
	bool set_x0;
	u64 x0, x1;
	u64 x0_before; /* x0 when exit n was taken, before set_x0 applied */
} script[64];

/* Called (when set) as the guest takes each scripted exit: host calls made here race a running vCPU. */
static void (*during_run)(struct vcpu *vcpu);

static void exit_hook(struct vcpu *vcpu, unsigned int n)
{
	if (during_run && n < fake.nr_exits) {
		during_run(vcpu);
	}
	if (n >= fake.nr_exits || n >= 64) {
		return; /* past the script: the fake powers the guest off */
	}
	script[n].x0_before = vcpu->ctx.regs.x[0];
	if (script[n].set_x0) {
		vcpu->ctx.regs.x[0] = script[n].x0;
		vcpu->ctx.regs.x[1] = script[n].x1;
	}
}

static int setup(void **state)
{
	fake_machine_init(m, RAM_MIB);
	memset(script, 0, sizeof(script));
	during_run = NULL;
	fake.exit_hook = exit_hook;
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(m);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

#define expect_ok(call) expect_ok_at((call), #call, __FILE__, __LINE__)

static void expect_ok_at(long ret, const char *what, const char *file, int line)
{
	if (ret != MOAT_OK) {
		print_error("%s returned %ld\n", what, ret);
		_fail(file, line);
	}
}

static u64 dabt(unsigned int sas, bool sse, unsigned int srt, bool sf, bool wnr)
{
	return EC(EC_DABT_LOWER) | ESR_IL | ESR_ISV | (u64)sas << 22 | (sse ? ESR_SSE : 0) | (u64)srt << 16 |
	       (sf ? ESR_SF : 0) | (wnr ? ESR_WNR : 0) | DFSC_TRANSLATION_L3;
}

static void queue_hvc(u64 x0, u64 x1)
{
	unsigned int n = fake.nr_exits;

	script[n].set_x0 = true;
	script[n].x0 = x0;
	script[n].x1 = x1;
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_HVC64) | ESR_IL, 0, 0);
}

static void queue_irq(void)
{
	fake_queue_exit(GUEST_EXIT_IRQ, 0, 0, 0);
}

/* One VCPU_RUN of vCPU 0: the exit reason, which the run page must repeat. */
static u64 run(const struct fm_vm *v)
{
	u64 res[3];

	expect_ok(FM_CALLR(res, MOAT_FN_VCPU_RUN, v->handle, 0));
	assert_int_equal(res[1], 0);
	assert_int_equal(res[2], 0);
	assert_int_equal(fm_run_page(v)->exit_reason, res[0]);
	assert_int_equal(fm_run_page(v)->flags, 0);
	return res[0];
}

static struct guest_context *ctx(const struct fm_vm *v)
{
	return &fm_vcpu(v, 0)->ctx;
}

/* The run page after an exit: flags and the bytes outside [from, to) of the exit union are zero. */
static void expect_run_zero_except(const struct fm_vm *v, size_t from, size_t to)
{
	const struct moat_run *r = fm_run_page(v);
	const u8 *u = (const u8 *)&r->u;

	assert_int_equal(r->flags, 0);
	for (size_t i = 0; i < sizeof(r->u); i++) {
		if ((i < from || i >= to) && u[i]) {
			fail_msg("run page: byte %zu of the exit union is 0x%02x, not 0", i, u[i]);
		}
	}
}

/* ... and so are the reserved words: the whole struct moat_run holds only the documented fields. */
static void expect_run_reserved_zero(const struct fm_vm *v)
{
	const struct moat_run *r = fm_run_page(v);

	for (size_t i = 0; i < ARRAY_SIZE(r->reserved); i++) {
		if (r->reserved[i]) {
			fail_msg("run page: reserved[%zu] = 0x%lx after the exit, not 0", i, (unsigned long)r->reserved[i]);
		}
	}
}

static void fill_run_page(const struct fm_vm *v)
{
	memset(fm_run_page(v), 0xff, sizeof(struct moat_run));
}

static u64 stale(void)
{
	struct fm_vm v = fm_create_vm(m, PROT);

	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	return v.handle;
}

/* ---- handles ----------------------------------------------------------------------------- */

/* Every call that takes a handle, with otherwise acceptable arguments: the handle error wins. */
#define expect_handle_error(err, h, host, shared) expect_handle_error_at((err), (h), (host), (shared), __LINE__)

static void expect_handle_error_at(long err, u64 h, u64 host, u64 shared, int line)
{
	static const struct {
		u64 fid;
		const char *name;
	} calls[] = {
		{ MOAT_FN_VM_DESTROY, "VM_DESTROY" },	{ MOAT_FN_VCPU_CREATE, "VCPU_CREATE" },
		{ MOAT_FN_DONATE_CORE, "DONATE_CORE" }, { MOAT_FN_DONATE_VM, "DONATE_VM" },
		{ MOAT_FN_LOAD, "LOAD" },		{ MOAT_FN_SHARE_VM, "SHARE_VM" },
		{ MOAT_FN_SET_BOOT, "SET_BOOT" },	{ MOAT_FN_FINALIZE, "FINALIZE" },
		{ MOAT_FN_VCPU_RUN, "VCPU_RUN" },	{ MOAT_FN_VCPU_GET_REG, "VCPU_GET_REG" },
		{ MOAT_FN_VCPU_SET_REG, "VCPU_SET_REG" }, { MOAT_FN_MEASUREMENT, "MEASUREMENT" },
	};
	const u64 args[][6] = {
		{ h }, { h, 1, shared }, { h, host, 1 }, { h, host, MOAT_GUEST_RAM_BASE + PAGE_SIZE },
		{ h, host, MOAT_GUEST_RAM_BASE + PAGE_SIZE }, { h, host, MOAT_GUEST_RAM_BASE + PAGE_SIZE },
		{ h, FM_VM_BOOT_PC, 0 }, { h }, { h, 0 }, { h, 0, MOAT_REG_PC }, { h, 0, MOAT_REG_X(0), 1 }, { h, 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(calls); i++) {
		fm_expect_refused(m, err, calls[i].fid, args[i], calls[i].name, __FILE__, line);
	}
}

static void test_handles(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, FM_NO_FINALIZE);
	u64 host = fm_host_page(m), shared = fm_host_page(m), res[3];

	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, shared));
	assert_int_equal(v.handle, MOAT_HANDLE(0, 0));
	/* A slot that never held a VM, slots beyond the table, bits above the generation. */
	expect_handle_error(MOAT_E_NOENT, MOAT_HANDLE(3, 0), host, shared);
	expect_handle_error(MOAT_E_NOENT, MOAT_HANDLE(MAX_VMS - 1, 0), host, shared);
	expect_handle_error(MOAT_E_NOENT, MOAT_HANDLE(MAX_VMS, 0), host, shared);
	expect_handle_error(MOAT_E_NOENT, MOAT_HANDLE(0xffff, 0xffff), host, shared);
	expect_handle_error(MOAT_E_NOENT, v.handle | 1UL << 32, host, shared);
	expect_handle_error(MOAT_E_NOENT, v.handle | 1UL << 63, host, shared);
	expect_handle_error(MOAT_E_NOENT, ~0UL, host, shared);

	/* Destroyed: the old handle is stale for every call, and the generation moves on. */
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	expect_handle_error(MOAT_E_STALE, v.handle, host, shared);
	/* The slot's current generation while it holds no VM: no such VM. */
	expect_handle_error(MOAT_E_NOENT, MOAT_HANDLE(0, 1), host, shared);
	/* Any other generation, even one never issued, is stale (docs/ABI.md "Handles"). */
	expect_handle_error(MOAT_E_STALE, MOAT_HANDLE(0, 7), host, shared);
	expect_handle_error(MOAT_E_STALE, MOAT_HANDLE(3, 1), host, shared);
	expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, PROT, 1, fm_host_pair(m), FM_VM_RAM_SIZE, 0, 0));
	assert_int_equal(res[0], MOAT_HANDLE(0, 1));
	expect_handle_error(MOAT_E_STALE, v.handle, host, shared);
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, res[0]));
	expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, PROT, 1, fm_host_pair(m), FM_VM_RAM_SIZE, 0, 0));
	assert_int_equal(res[0], MOAT_HANDLE(0, 2));
	expect_handle_error(MOAT_E_STALE, MOAT_HANDLE(0, 1), host, shared);
	expect_handle_error(MOAT_E_STALE, MOAT_HANDLE(0, 0), host, shared);
	assert_int_equal(fm_violations(), 0);
}

static void test_vm_table_exhaustion(void **state)
{
	u64 handles[MAX_VMS], res[3];

	for (unsigned int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < MAX_VMS; i++) {
			expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, i & 1, 1, fm_host_pair(m), PAGE_SIZE, 0, 0));
			handles[i] = res[0];
			assert_int_equal(res[0], MOAT_HANDLE(i, round));
		}
		assert_int_equal(FM_CALLR(res, MOAT_FN_STATS, MOAT_STATS_OBJECTS), MOAT_OK);
		assert_int_equal(res[0], MAX_VMS);
		FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_VM_CREATE, PROT, 1, fm_host_pair(m), PAGE_SIZE, 0, 0);
		for (unsigned int i = 0; i < MAX_VMS; i++) {
			expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, handles[i]));
		}
		assert_int_equal(FM_CALLR(res, MOAT_FN_STATS, MOAT_STATS_OBJECTS), MOAT_OK);
		assert_int_equal(res[0], 0);
		assert_int_equal(fm_violations(), 0);
	}
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void test_lifecycle_after_finalize(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	u64 run1 = fm_host_page(m), host = fm_host_page(m);

	assert_int_equal(fm_vm_of(&v)->state, VM_FINALIZED);
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, run1));
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_CREATE, v.handle, 1, run1);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_LOAD, v.handle, host, MOAT_GUEST_RAM_BASE + PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_SET_BOOT, v.handle, FM_VM_BOOT_PC, 0);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_FINALIZE, v.handle);
	/* State before the other checks. */
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_CREATE, v.handle, 0, 3);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_SET_BOOT, v.handle, 3, 0);
	/* Demand paging and memcache top-ups go on. */
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, host, MOAT_GUEST_RAM_BASE + PAGE_SIZE));
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, fm_host_page(m), 1));

	/* OFF after the guest powers off: no more runs, no more pages. */
	assert_int_equal(run(&v), MOAT_EXIT_SYSTEM_OFF);
	assert_int_equal(fm_vm_of(&v)->state, VM_OFF);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_RUN, v.handle, 0);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_DONATE_VM, v.handle, fm_host_page(m), MOAT_GUEST_RAM_BASE + 2 * PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_FINALIZE, v.handle);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_CREATE, v.handle, 1, run1);
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	assert_int_equal(fm_violations(), 0);
}

static void test_run_before_finalize(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, FM_NO_FINALIZE);

	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_RUN, v.handle, 0);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_RUN, v.handle, 1);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_RUN, v.handle, 99);
	assert_int_equal(fake.vcpu_loads, 0);
}

static void test_finalize_preconditions(void **state)
{
	struct fm_vm v = fm_create_vm(m, PROT);
	u64 run0 = fm_host_page(m), run1 = fm_host_page(m), res[3];

	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, fm_host_pages(m, 4), 4));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, run0));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, run1));
	/* Nothing yet. */
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_FINALIZE, v.handle);
	/* vCPU 1 and a boot entry, but no vCPU 0. */
	expect_ok(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 1, run1));
	expect_ok(FM_CALL(MOAT_FN_SET_BOOT, v.handle, FM_VM_BOOT_PC, 0));
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_FINALIZE, v.handle);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_MEASUREMENT, v.handle, 0);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_FINALIZE, v.handle, 0, 1);

	/* vCPU 0 but no boot entry. */
	v = fm_create_vm(m, PROT);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, fm_host_pages(m, 4), 4));
	expect_ok(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 0, run0));
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_FINALIZE, v.handle);
	expect_ok(FM_CALL(MOAT_FN_SET_BOOT, v.handle, RAM_END - 4, 0x77));
	expect_ok(FM_CALLR(res, MOAT_FN_FINALIZE, v.handle));
	/* The boot registers reach vCPU 0. */
	assert_int_equal(fm_vcpu(&v, 0)->ctx.regs.elr, RAM_END - 4);
	assert_int_equal(fm_vcpu(&v, 0)->ctx.regs.x[0], 0x77);
	assert_int_equal(fm_vcpu(&v, 0)->ctx.regs.spsr, 0x3c5);
	assert_int_equal(fm_violations(), 0);
}

static void test_vcpu_create(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, FM_NO_FINALIZE), other = fm_build_vm(m, PROT, FM_NO_FINALIZE);
	struct fm_vm empty = fm_create_vm(m, PROT);
	u64 run1 = fm_host_page(m), host = fm_host_page(m), res[3];
	u32 mc = fm_vm_of(&v)->memcache.count;

	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, run1));
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_CREATE, v.handle, FM_VM_MAX_VCPUS, run1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_CREATE, v.handle, MAX_VCPUS, run1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_CREATE, v.handle, 1UL << 32, run1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_CREATE, v.handle, ~0UL, run1);
	FM_REFUSED(m, MOAT_E_EXIST, MOAT_FN_VCPU_CREATE, v.handle, 0, run1);
	FM_REFUSED(m, MOAT_E_EXIST, MOAT_FN_VCPU_CREATE, v.handle, 0, host + 1); /* index before run page */
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_VCPU_CREATE, v.handle, 1, run1 + 8);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_CREATE, v.handle, 1, m->ram_base - PAGE_SIZE);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_CREATE, v.handle, 1, host);	      /* not shared with the core */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_CREATE, v.handle, 1, m->core_base); /* the core's */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_CREATE, v.handle, 1, v.code_pa);    /* the VM's */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_CREATE, v.handle, 1, v.memcache_pa);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_VCPU_CREATE, v.handle, 1, v.run_pa);	   /* vCPU 0's */
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_VCPU_CREATE, v.handle, 1, other.run_pa); /* another VM's */
	FM_REFUSED(m, MOAT_E_NOMEM, MOAT_FN_VCPU_CREATE, empty.handle, 0, run1);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_CREATE, empty.handle, 0, host); /* run page before memcache */
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VCPU_CREATE, v.handle, 1, run1, 1);

	expect_ok(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 1, run1));
	assert_int_equal(fm_page(run1).flags, PAGE_FLAG_RUN_PAGE);
	assert_int_equal(fm_vm_of(&v)->memcache.count, mc - 1);
	{
		struct vcpu *vcpu = fm_vcpu(&v, 1);
		struct page_info p = fm_page((u64)(uintptr_t)vcpu);

		/* vCPU state lives in a memcache page: the core's, serving this VM. */
		assert_int_equal(p.owner, OWNER_CORE);
		assert_int_equal(p.peer, OWNER_VM(v.slot));
		assert_int_equal(vcpu->index, 1);
		assert_ptr_equal(vcpu->run, (void *)(uintptr_t)run1);
		assert_int_equal(vcpu->ctx.regs.spsr, 0x3c5);
	}
	assert_int_equal(FM_CALLR(res, MOAT_FN_STATS, MOAT_STATS_OBJECTS), MOAT_OK);
	assert_int_equal(res[1], 3);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_CREATE, v.handle, 2, run1);
	assert_int_equal(fm_violations(), 0);
}

static void test_set_boot(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, FM_NO_FINALIZE);

	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_SET_BOOT, v.handle, MOAT_GUEST_RAM_BASE + 2, 0);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_SET_BOOT, v.handle, MOAT_GUEST_RAM_BASE + 1, 0);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_SET_BOOT, v.handle, 2, 0); /* alignment before range */
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SET_BOOT, v.handle, RAM_END, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SET_BOOT, v.handle, MOAT_GUEST_RAM_BASE - 4, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SET_BOOT, v.handle, 0, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SET_BOOT, v.handle, FM_VM_MMIO_BASE, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_SET_BOOT, v.handle, ~3UL, 0);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_SET_BOOT, v.handle, FM_VM_BOOT_PC, 0, 1);
	/* Set again before FINALIZE: the last one counts. */
	expect_ok(FM_CALL(MOAT_FN_SET_BOOT, v.handle, MOAT_GUEST_RAM_BASE, 5));
	expect_ok(FM_CALL(MOAT_FN_FINALIZE, v.handle));
	assert_int_equal(fm_vcpu(&v, 0)->ctx.regs.elr, MOAT_GUEST_RAM_BASE);
	assert_int_equal(fm_vcpu(&v, 0)->ctx.regs.x[0], 5);
}

/* ---- measurement --------------------------------------------------------------------------- */

struct recipe {
	unsigned int type;
	u64 max_vcpus, ram_size, mmio_base, mmio_size;
	u64 load_ipa;
	int flip_byte; /* index of a byte of the loaded page to change, or -1 */
	u64 boot_pc, boot_x0;
	bool donate_zeroed; /* also DONATE_VM a (non-measured) page */
};

static const struct recipe base_recipe = {
	PROT, FM_VM_MAX_VCPUS, FM_VM_RAM_SIZE, FM_VM_MMIO_BASE, FM_VM_MMIO_SIZE, MOAT_GUEST_RAM_BASE, -1,
	FM_VM_BOOT_PC, FM_VM_BOOT_X0, false,
};

/* Build and finalize a VM from r; the 32-byte digest in words[4]. */
static void measure(const struct recipe *r, u64 words[4])
{
	u64 root = fm_host_pair(m), res[3], code = fm_host_page(m), run0 = fm_host_page(m), h;
	u8 *bytes = (u8 *)(uintptr_t)code;

	expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, r->type, r->max_vcpus, root, r->ram_size, r->mmio_base,
			   r->mmio_size));
	h = res[0];
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, h, fm_host_pages(m, 6), 6));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, run0));
	expect_ok(FM_CALL(MOAT_FN_VCPU_CREATE, h, 0, run0));
	for (unsigned int i = 0; i < PAGE_SIZE; i++) {
		bytes[i] = (u8)(i ^ 0x5a);
	}
	if (r->flip_byte >= 0) {
		bytes[r->flip_byte] ^= 1;
	}
	expect_ok(FM_CALL(MOAT_FN_LOAD, h, code, r->load_ipa));
	if (r->donate_zeroed) {
		u64 d = fm_host_page(m);

		fm_fill(d, 0xee);
		expect_ok(FM_CALL(MOAT_FN_DONATE_VM, h, d, MOAT_GUEST_RAM_BASE + 8 * PAGE_SIZE));
	}
	expect_ok(FM_CALL(MOAT_FN_SET_BOOT, h, r->boot_pc, r->boot_x0));
	expect_ok(FM_CALLR(res, MOAT_FN_FINALIZE, h));
	for (unsigned int w = 0; w < 4; w++) {
		u64 word[3];

		expect_ok(FM_CALLR(word, MOAT_FN_MEASUREMENT, h, w));
		assert_int_equal(word[1], 0);
		assert_int_equal(word[2], 0);
		words[w] = word[0];
		if (w < 3) {
			assert_int_equal(word[0], res[w]); /* FINALIZE's prefix is the measurement's */
		}
	}
	/* Finalized and run to OFF: still readable, unchanged. */
	expect_ok(FM_CALLR(res, MOAT_FN_VCPU_RUN, h, 0));
	assert_int_equal(res[0], MOAT_EXIT_SYSTEM_OFF);
	expect_ok(FM_CALLR(res, MOAT_FN_MEASUREMENT, h, 3));
	assert_int_equal(res[0], words[3]);
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, h));
}

static void test_measurement_words(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, FM_NO_FINALIZE);
	u64 res[3];

	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_MEASUREMENT, v.handle, 0);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_MEASUREMENT, v.handle, 4); /* state before index */
	expect_ok(FM_CALLR(v.measurement, MOAT_FN_FINALIZE, v.handle));
	for (unsigned int w = 0; w < 3; w++) {
		expect_ok(FM_CALLR(res, MOAT_FN_MEASUREMENT, v.handle, w));
		assert_int_equal(res[0], v.measurement[w]);
	}
	expect_ok(FM_CALLR(res, MOAT_FN_MEASUREMENT, v.handle, 3));
	assert_true(v.measurement[0] | v.measurement[1] | v.measurement[2] | res[0]);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_MEASUREMENT, v.handle, 4);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_MEASUREMENT, v.handle, ~0UL);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_MEASUREMENT, v.handle, 0, 1);
}

static void test_measurement_inputs(void **state)
{
	u64 base[4], again[4], other[4];
	struct recipe r;

	measure(&base_recipe, base);
	measure(&base_recipe, again);
	assert_memory_equal(base, again, sizeof(base)); /* other pages, other slot: same digest */

	/* A zeroed (unmeasured) page does not change it. */
	r = base_recipe;
	r.donate_zeroed = true;
	measure(&r, other);
	assert_memory_equal(base, other, sizeof(base));

	/* Each measured input does. */
#define EXPECT_DIFFERENT(field, value)                                                                                \
	do {                                                                                                          \
		r = base_recipe;                                                                                      \
		r.field = (value);                                                                                    \
		measure(&r, other);                                                                                   \
		if (!memcmp(base, other, sizeof(base))) {                                                             \
			fail_msg("changing " #field " left the measurement unchanged");                              \
		}                                                                                                     \
	} while (0)
	EXPECT_DIFFERENT(flip_byte, 0);
	EXPECT_DIFFERENT(flip_byte, PAGE_SIZE - 1);
	EXPECT_DIFFERENT(load_ipa, MOAT_GUEST_RAM_BASE + PAGE_SIZE);
	EXPECT_DIFFERENT(boot_pc, FM_VM_BOOT_PC + 4);
	EXPECT_DIFFERENT(boot_x0, FM_VM_BOOT_X0 + 1);
	EXPECT_DIFFERENT(type, NORM);
	EXPECT_DIFFERENT(max_vcpus, 1);
	EXPECT_DIFFERENT(ram_size, 2 * FM_VM_RAM_SIZE);
	EXPECT_DIFFERENT(mmio_base, FM_VM_MMIO_BASE + PAGE_SIZE);
	EXPECT_DIFFERENT(mmio_size, 2 * FM_VM_MMIO_SIZE);
#undef EXPECT_DIFFERENT
	assert_int_equal(fm_violations(), 0);
}

/*
 * ---- measurement v2: docs/measurement.md's byte layout, recomputed here from the document ----
 * The expected digests are built with the SHA-256 primitive alone, field by field as the document lists
 * them, never by calling the core's measuring code.
 */

static void hash_le64(struct sha256_ctx *c, u64 v)
{
	u8 b[8];

	for (unsigned int i = 0; i < 8; i++) {
		b[i] = (u8)(v >> (8 * i));
	}
	sha256_update(c, b, sizeof(b));
}

struct layout_page {
	u64 ipa;
	u8 seed; /* byte i of the page is (i * 7 + seed) & 0xff */
};

struct layout {
	u64 type, max_vcpus, ram_size, spis;
	bool spis_first; /* VM_SET_SPIS before the LOADs rather than after */
	unsigned int nr_pages;
	struct layout_page page[3];
	u64 boot_pc, boot_x0;
};

static const struct layout base_layout = {
	PROT, 2, FM_VM_RAM_SIZE, 0x6, false, 2,
	{ { MOAT_GUEST_RAM_BASE, 1 }, { MOAT_GUEST_RAM_BASE + 5 * PAGE_SIZE, 2 } },
	FM_VM_BOOT_PC, FM_VM_BOOT_X0,
};

static void layout_fill(u8 *p, u8 seed)
{
	for (unsigned int i = 0; i < PAGE_SIZE; i++) {
		p[i] = (u8)(i * 7 + seed);
	}
}

/* I and M as docs/measurement.md defines them. */
static void layout_expect(const struct layout *l, u8 image[32], u8 vm[32])
{
	static u8 page[PAGE_SIZE];
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, "moat-image-v1", 13);
	for (unsigned int i = 0; i < l->nr_pages; i++) {
		layout_fill(page, l->page[i].seed);
		hash_le64(&c, l->page[i].ipa);
		sha256_update(&c, page, PAGE_SIZE);
	}
	hash_le64(&c, l->boot_pc);
	hash_le64(&c, l->boot_x0);
	sha256_final(&c, image);

	sha256_init(&c);
	sha256_update(&c, "moat-vm-v2", 10);
	hash_le64(&c, l->type);
	hash_le64(&c, l->max_vcpus);
	hash_le64(&c, l->ram_size);
	hash_le64(&c, FM_VM_MMIO_BASE);
	hash_le64(&c, FM_VM_MMIO_SIZE);
	hash_le64(&c, l->spis);
	sha256_update(&c, image, 32);
	sha256_final(&c, vm);
}

/* Builds and finalizes a VM from l through the host ABI; its 32-byte measurement as MEASUREMENT reads it. */
static struct fm_vm layout_build(const struct layout *l, u8 measurement[32])
{
	struct fm_vm v;
	u64 res[3];

	memset(&v, 0, sizeof(v));
	v.root_pa = fm_host_pair(m);
	expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, l->type, l->max_vcpus, v.root_pa, l->ram_size, FM_VM_MMIO_BASE,
			   FM_VM_MMIO_SIZE));
	v.handle = res[0];
	v.slot = (unsigned int)(res[0] & 0xffff);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, fm_host_pages(m, 8), 8));
	v.run_pa = fm_host_page(m);
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, v.run_pa));
	expect_ok(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 0, v.run_pa));
	if (l->spis_first) {
		expect_ok(FM_CALL(MOAT_FN_VM_SET_SPIS, v.handle, l->spis));
	}
	for (unsigned int i = 0; i < l->nr_pages; i++) {
		u64 pa = fm_host_page(m);

		layout_fill((u8 *)(uintptr_t)pa, l->page[i].seed);
		expect_ok(FM_CALL(MOAT_FN_LOAD, v.handle, pa, l->page[i].ipa));
	}
	if (!l->spis_first) {
		expect_ok(FM_CALL(MOAT_FN_VM_SET_SPIS, v.handle, l->spis));
	}
	expect_ok(FM_CALL(MOAT_FN_SET_BOOT, v.handle, l->boot_pc, l->boot_x0));
	expect_ok(FM_CALLR(v.measurement, MOAT_FN_FINALIZE, v.handle));
	for (unsigned int w = 0; w < 4; w++) {
		expect_ok(FM_CALLR(res, MOAT_FN_MEASUREMENT, v.handle, w));
		memcpy(measurement + 8 * w, &res[0], 8);
	}
	return v;
}

/* The measurement is exactly docs/measurement.md's M, byte for byte, and vm->image_digest its I. */
static void test_measurement_layout(void **state)
{
	u8 want_image[32], want_vm[32], got[32];
	struct fm_vm v;

	layout_expect(&base_layout, want_image, want_vm);
	v = layout_build(&base_layout, got);
	assert_memory_equal(got, want_vm, 32);
	assert_memory_equal(fm_vm_of(&v)->measurement, want_vm, 32);
	assert_memory_equal(fm_vm_of(&v)->image_digest, want_image, 32);
	assert_int_equal(fm_violations(), 0);
}

/*
 * VM_SET_SPIS may come before or after the LOADs: the mask is one field of M, not a step of a running
 * hash. The image digest leaves out memory size, vCPU count and the mask (the sealing key is bound to
 * it); the measurement covers each of them.
 */
static void test_measurement_spis_and_image_digest(void **state)
{
	u8 base[32], other[32], want_image[32], want_vm[32];
	struct fm_vm a, b;
	struct layout l = base_layout;

	a = layout_build(&base_layout, base);
	l.spis_first = true;
	b = layout_build(&l, other);
	assert_memory_equal(base, other, 32);
	assert_memory_equal(fm_vm_of(&a)->image_digest, fm_vm_of(&b)->image_digest, 32);

	l = base_layout;
	l.ram_size = 2 * FM_VM_RAM_SIZE;
	l.max_vcpus = 1;
	l.spis = 0;
	b = layout_build(&l, other);
	layout_expect(&l, want_image, want_vm);
	assert_memory_equal(other, want_vm, 32);
	assert_memory_not_equal(base, other, 32);
	assert_memory_equal(fm_vm_of(&a)->image_digest, fm_vm_of(&b)->image_digest, 32);

	/* The type is in M only too; a changed page, IPA or boot register changes I. */
	l = base_layout;
	l.page[1].seed = 3;
	b = layout_build(&l, other);
	assert_memory_not_equal(fm_vm_of(&a)->image_digest, fm_vm_of(&b)->image_digest, 32);
	l = base_layout;
	l.boot_x0 = 0;
	b = layout_build(&l, other);
	assert_memory_not_equal(fm_vm_of(&a)->image_digest, fm_vm_of(&b)->image_digest, 32);
	assert_int_equal(fm_violations(), 0);
}

/*
 * LOAD in strictly ascending IPA order: a LOAD at or below the VM's previous one is MOAT_E_ORDER and
 * changes nothing (FM_REFUSED compares all of RAM and the VM); alignment and range come first; a
 * refused LOAD does not move the order on; DONATE_VM is not ordered.
 */
static void test_load_order(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, FM_NO_FINALIZE); /* one LOAD at the RAM base */
	u64 base = MOAT_GUEST_RAM_BASE, d = fm_host_page(m), p = fm_host_page(m);

	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, fm_host_pages(m, 8), 8));
	fm_fill(p, 0x77);
	expect_ok(FM_CALL(MOAT_FN_LOAD, v.handle, fm_host_page(m), base + 4 * PAGE_SIZE));
	FM_REFUSED(m, MOAT_E_ORDER, MOAT_FN_LOAD, v.handle, p, base + 4 * PAGE_SIZE); /* equal: also EXIST */
	FM_REFUSED(m, MOAT_E_ORDER, MOAT_FN_LOAD, v.handle, p, base + 2 * PAGE_SIZE); /* below, free IPA */
	FM_REFUSED(m, MOAT_E_ORDER, MOAT_FN_LOAD, v.handle, p, base);
	FM_REFUSED(m, MOAT_E_ALIGN, MOAT_FN_LOAD, v.handle, p, base + 2 * PAGE_SIZE + 8);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_LOAD, v.handle, p, base - PAGE_SIZE);
	/* Unordered DONATE_VM below the last LOAD; a LOAD refused above it (EXIST) does not advance the order. */
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, d, base + 2 * PAGE_SIZE));
	expect_ok(FM_CALL(MOAT_FN_DONATE_VM, v.handle, fm_host_page(m), base + 9 * PAGE_SIZE));
	FM_REFUSED(m, MOAT_E_EXIST, MOAT_FN_LOAD, v.handle, p, base + 9 * PAGE_SIZE);
	expect_ok(FM_CALL(MOAT_FN_LOAD, v.handle, p, base + 5 * PAGE_SIZE));
	FM_REFUSED(m, MOAT_E_ORDER, MOAT_FN_LOAD, v.handle, fm_host_page(m), base + 5 * PAGE_SIZE);
	expect_ok(FM_CALL(MOAT_FN_LOAD, v.handle, fm_host_page(m), RAM_END - PAGE_SIZE));
	FM_REFUSED(m, MOAT_E_ORDER, MOAT_FN_LOAD, v.handle, fm_host_page(m), base + 6 * PAGE_SIZE);
	expect_ok(FM_CALL(MOAT_FN_FINALIZE, v.handle));
	assert_int_equal(fm_violations(), 0);
}

/* ---- VCPU_RUN: MMIO --------------------------------------------------------------------------- */

static void mmio_write(unsigned int type)
{
	static const struct {
		unsigned int sas, srt;
		u64 reg, value;
	} cases[] = {
		{ 2, 5, 0x1122334455667788UL, 0x55667788UL },
		{ 0, 0, 0x1122334455667788UL, 0x88UL },
		{ 1, 30, 0xffffffffffff8001UL, 0x8001UL },
		{ 3, 17, 0x1122334455667788UL, 0x1122334455667788UL },
		{ 3, 31, 0, 0 }, /* XZR */
	};
	struct fm_vm v = fm_build_vm(m, type, 0);
	u64 pc = FM_VM_BOOT_PC;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct moat_run *r = fm_run_page(&v);

		if (cases[i].srt < 31) {
			ctx(&v)->regs.x[cases[i].srt] = cases[i].reg;
		}
		fake_queue_exit(GUEST_EXIT_SYNC, dabt(cases[i].sas, false, cases[i].srt, true, true), 0x1234,
				MMIO_REG + i * 8);
		fill_run_page(&v);
		assert_int_equal(run(&v), MOAT_EXIT_MMIO);
		assert_int_equal(r->u.mmio.ipa, MMIO_REG + i * 8);
		assert_int_equal(r->u.mmio.size, 1U << cases[i].sas);
		assert_int_equal(r->u.mmio.is_write, 1);
		assert_int_equal(r->u.mmio.value, cases[i].value);
		expect_run_zero_except(&v, 0, sizeof(r->u.mmio));
		/* The core completed the store: the PC moves past it. */
		pc += 4;
		assert_int_equal(ctx(&v)->regs.elr, pc);
	}
	assert_int_equal(fake.injected, 0);
}

static void test_mmio_write_protected(void **state)
{
	mmio_write(PROT);
}

static void test_mmio_write_normal(void **state)
{
	mmio_write(NORM);
}

static void test_mmio_read_completion(void **state)
{
	static const struct {
		unsigned int sas;
		bool sse, sf;
		unsigned int srt;
		u64 host_value, expect;
	} cases[] = {
		{ 1, true, true, 7, 0xdead8001UL, 0xffffffffffff8001UL },
		{ 1, true, false, 7, 0xdead8001UL, 0x00000000ffff8001UL },
		{ 1, false, true, 7, 0xdead8001UL, 0x8001UL },
		{ 0, true, true, 3, 0x80UL, 0xffffffffffffff80UL },
		{ 0, true, true, 3, 0xffffff7fUL, 0x7fUL },
		{ 0, false, false, 0, 0xabcdUL, 0xcdUL },
		{ 2, true, true, 9, 0x180000000UL, 0xffffffff80000000UL },
		{ 2, false, false, 9, ~0UL, 0xffffffffUL },
		{ 2, false, true, 9, ~0UL, 0xffffffffUL },
		{ 3, false, true, 30, 0x0123456789abcdefUL, 0x0123456789abcdefUL },
		{ 3, true, true, 30, 0x8123456789abcdefUL, 0x8123456789abcdefUL },
	};
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	struct moat_run *r = fm_run_page(&v);
	u64 pc = FM_VM_BOOT_PC;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 before[31];

		for (unsigned int x = 0; x < 31; x++) {
			ctx(&v)->regs.x[x] = 0x1111111111111111UL * (x % 15 + 1);
		}
		memcpy(before, ctx(&v)->regs.x, sizeof(before));
		fake_queue_exit(GUEST_EXIT_SYNC, dabt(cases[i].sas, cases[i].sse, cases[i].srt, cases[i].sf, false), 0,
				MMIO_REG);
		queue_irq();
		fill_run_page(&v);
		assert_int_equal(run(&v), MOAT_EXIT_MMIO);
		assert_int_equal(r->u.mmio.ipa, MMIO_REG);
		assert_int_equal(r->u.mmio.size, 1U << cases[i].sas);
		assert_int_equal(r->u.mmio.is_write, 0);
		assert_int_equal(r->u.mmio.value, 0); /* nothing of the guest's, nothing stale */
		expect_run_zero_except(&v, 0, sizeof(r->u.mmio));
		/* Not completed yet: registers and PC as the guest left them. */
		assert_memory_equal(ctx(&v)->regs.x, before, sizeof(before));
		assert_int_equal(ctx(&v)->regs.elr, pc);

		r->u.mmio.value = cases[i].host_value;
		assert_int_equal(run(&v), MOAT_EXIT_IRQ);
		before[cases[i].srt] = cases[i].expect;
		if (memcmp(ctx(&v)->regs.x, before, sizeof(before))) {
			fail_msg("case %u: x%u = 0x%lx, expected 0x%lx", i, cases[i].srt,
				 (unsigned long)ctx(&v)->regs.x[cases[i].srt], (unsigned long)cases[i].expect);
		}
		pc += 4;
		assert_int_equal(ctx(&v)->regs.elr, pc);
	}
	/*
	 * A load into XZR: no register written, the PC still advances, and only once. The guest was single-stepping
	 * it (PSTATE.SS): the step is done once the load completes, not before (regs_skip_insn).
	 */
	{
		u64 before[31];

		memcpy(before, ctx(&v)->regs.x, sizeof(before));
		ctx(&v)->regs.spsr |= PSR_SS;
		fake_queue_exit(GUEST_EXIT_SYNC, dabt(3, false, 31, true, false), 0, MMIO_REG);
		queue_irq();
		queue_irq();
		assert_int_equal(run(&v), MOAT_EXIT_MMIO);
		assert_int_equal(ctx(&v)->regs.spsr & PSR_SS, PSR_SS);
		r->u.mmio.value = 0x5555;
		assert_int_equal(run(&v), MOAT_EXIT_IRQ);
		assert_int_equal(ctx(&v)->regs.spsr & PSR_SS, 0);
		assert_memory_equal(ctx(&v)->regs.x, before, sizeof(before));
		assert_int_equal(ctx(&v)->regs.elr, pc + 4);
		assert_int_equal(run(&v), MOAT_EXIT_IRQ);
		assert_int_equal(ctx(&v)->regs.elr, pc + 4);
	}
	assert_int_equal(fake.injected, 0);
}

/* ---- VCPU_RUN: faults ------------------------------------------------------------------------- */

static void expect_guest_fault(const struct fm_vm *v, u64 esr, u64 ipa, enum guest_exit_kind kind)
{
	unsigned int injected = fake.injected;
	struct moat_run *r = fm_run_page(v);
	u64 pc = ctx(v)->regs.elr;

	fake_queue_exit(kind, esr, 0xffff000012345678UL, ipa);
	fill_run_page(v);
	assert_int_equal(run(v), MOAT_EXIT_GUEST_FAULT);
	assert_int_equal(fake.injected, injected + 1);
	assert_int_equal(r->u.guest_fault.ipa, ALIGN_DOWN(ipa, PAGE_SIZE));
	expect_run_zero_except(v, 0, sizeof(r->u.guest_fault));
	/* Nothing decoded for the host: the PC is where the guest's handler will find it. */
	assert_int_equal(ctx(v)->regs.elr, pc);
}

static void test_guest_faults(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	u64 no_isv = dabt(2, false, 5, true, true) & ~ESR_ISV;
	u64 ok = dabt(2, false, 5, true, true);

	/* ISV = 0 in the MMIO window (pairs, writeback, SIMD): never decoded for the host. */
	expect_guest_fault(&v, no_isv, MMIO_REG, GUEST_EXIT_SYNC);
	assert_int_equal(ESR_EC(fake.last_esr_el1), EC_DABT_SAME); /* guest at EL1: same-EL abort */
	assert_int_equal(ESR_FSC(fake.last_esr_el1), FSC_SEA);
	assert_int_equal(fake.last_far_el1, 0xffff000012345678UL);
	/* A stage-1 walk that hit the MMIO window, and an instruction fetch from it. */
	expect_guest_fault(&v, ok | ESR_S1PTW, MMIO_REG, GUEST_EXIT_SYNC);
	expect_guest_fault(&v, EC(EC_IABT_LOWER) | ESR_IL | DFSC_TRANSLATION_L3, FM_VM_MMIO_BASE, GUEST_EXIT_SYNC);
	/* Neither RAM nor MMIO. */
	expect_guest_fault(&v, ok, 0x20000123UL, GUEST_EXIT_SYNC);
	expect_guest_fault(&v, ok, RAM_END, GUEST_EXIT_SYNC);
	expect_guest_fault(&v, ok, FM_VM_MMIO_BASE + FM_VM_MMIO_SIZE, GUEST_EXIT_SYNC);
	expect_guest_fault(&v, ok, FM_VM_MMIO_BASE - 8, GUEST_EXIT_SYNC);
	/* A fault on RAM that is mapped (a permission fault, say): nothing for the host to supply. */
	expect_guest_fault(&v, ok, MOAT_GUEST_RAM_BASE + 0x10, GUEST_EXIT_SYNC);
	assert_int_equal(fm_vm_of(&v)->state, VM_FINALIZED);
	assert_int_equal(fm_violations(), 0);
}

static void test_mem_fault(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	struct moat_run *r = fm_run_page(&v);
	u64 pc = ctx(&v)->regs.elr;

	fake_queue_exit(GUEST_EXIT_SYNC, dabt(2, false, 5, true, false), 0, MOAT_GUEST_RAM_BASE + 0x5123);
	fill_run_page(&v);
	assert_int_equal(run(&v), MOAT_EXIT_MEM_FAULT);
	assert_int_equal(r->u.mem_fault.ipa, MOAT_GUEST_RAM_BASE + 0x5000);
	expect_run_zero_except(&v, 0, sizeof(r->u.mem_fault));
	assert_int_equal(ctx(&v)->regs.elr, pc); /* the access is retried once the page is there */
	assert_int_equal(fake.injected, 0);

	/* Instruction fetches too, and the last page of RAM. */
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_IABT_LOWER) | ESR_IL | DFSC_TRANSLATION_L3, 0, RAM_END - 1);
	assert_int_equal(run(&v), MOAT_EXIT_MEM_FAULT);
	assert_int_equal(r->u.mem_fault.ipa, RAM_END - PAGE_SIZE);
	/* An access without a valid syndrome is still a memory fault in RAM. */
	fake_queue_exit(GUEST_EXIT_SYNC, dabt(2, false, 5, true, false) & ~ESR_ISV, 0, MOAT_GUEST_RAM_BASE + 0x6000);
	assert_int_equal(run(&v), MOAT_EXIT_MEM_FAULT);
	assert_int_equal(r->u.mem_fault.ipa, MOAT_GUEST_RAM_BASE + 0x6000);
	assert_int_equal(fake.injected, 0);
}

/* ---- VCPU_RUN: WFI ------------------------------------------------------------------------------ */

static void test_wfi(void **state)
{
	static const struct {
		u64 ctl, cval, deadline;
	} cases[] = {
		{ 0, 0, ~0UL },
		{ 0, 12345, ~0UL },	    /* disabled */
		{ 1, 12345, 12345 },	    /* enabled, unmasked */
		{ 3, 12345, ~0UL },	    /* masked */
		{ 2, 12345, ~0UL },	    /* masked and disabled */
		{ 5, 0x7fffffff0UL, 0x7fffffff0UL }, /* ISTATUS set: still the deadline */
	};
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	struct moat_run *r = fm_run_page(&v);
	u64 pc = FM_VM_BOOT_PC;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		ctx(&v)->sys[SYS_CNTV_CTL_EL0] = cases[i].ctl;
		ctx(&v)->sys[SYS_CNTV_CVAL_EL0] = cases[i].cval;
		fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_WFX) | ESR_IL, 0, 0);
		fill_run_page(&v);
		assert_int_equal(run(&v), MOAT_EXIT_WFI);
		assert_int_equal(r->u.wfi.deadline, cases[i].deadline);
		expect_run_zero_except(&v, 0, sizeof(r->u.wfi));
		pc += 4;
		assert_int_equal(ctx(&v)->regs.elr, pc);
	}
}

/*
 * WFE (ESR ISS TI bit 0) waits for an event -- another CPU's store to a lock
 * word, an SEV -- which no interrupt and no deadline announces: the exit says
 * "runnable now" (deadline 0), whatever the timer holds, so that a VMM that
 * waits for the deadline only yields. Found by a Linux guest with 2 vCPUs on
 * one CPU: a vCPU spinning on a lock was parked until its next tick.
 */
static void test_wfe_runnable_now(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	struct moat_run *r = fm_run_page(&v);

	ctx(&v)->sys[SYS_CNTV_CTL_EL0] = 1;
	ctx(&v)->sys[SYS_CNTV_CVAL_EL0] = 12345;
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_WFX) | ESR_IL | 1, 0, 0); /* TI = 1: WFE */
	fill_run_page(&v);
	assert_int_equal(run(&v), MOAT_EXIT_WFI);
	assert_int_equal(r->u.wfi.deadline, 0);
	expect_run_zero_except(&v, 0, sizeof(r->u.wfi));
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC + 4);
	/* A WFI after it, and a CPU_SUSPEND (a WFI exit too), get the timer's deadline again. */
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_WFX) | ESR_IL, 0, 0);
	assert_int_equal(run(&v), MOAT_EXIT_WFI);
	assert_int_equal(r->u.wfi.deadline, 12345);
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_WFX) | ESR_IL | 1, 0, 0);
	assert_int_equal(run(&v), MOAT_EXIT_WFI);
	assert_int_equal(r->u.wfi.deadline, 0);
	queue_hvc(PSCI_CPU_SUSPEND_64, 0);
	assert_int_equal(run(&v), MOAT_EXIT_WFI);
	assert_int_equal(r->u.wfi.deadline, 12345);
}

/* ---- VCPU_RUN: calls the core answers ----------------------------------------------------------- */

static void test_psci_version_stays_in_guest(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	unsigned int loads;

	queue_hvc(PSCI_VERSION, 0);
	queue_irq();
	loads = fake.vcpu_loads;
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	assert_int_equal(ctx(&v)->regs.x[0], 0x10001);
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC); /* ELR already points past the HVC */
	/* Answered inside one load of the vCPU: no trip to the host and back. */
	assert_int_equal(fake.vcpu_loads, loads + 1);
	assert_int_equal(fake.next_exit, 2);
}

static void test_guest_calls(void **state)
{
	static const struct {
		u64 x0, x1;
		s64 expect;
	} calls[] = {
		{ PSCI_VERSION, 0, 0x10001 },
		{ SMCCC_VERSION, 0, 0x10001 },
		{ PSCI_FEATURES, SMCCC_VERSION, 0 },
		{ PSCI_FEATURES, PSCI_VERSION, 0 },
		{ PSCI_FEATURES, PSCI_CPU_ON_64, 0 },
		{ PSCI_FEATURES, PSCI_SYSTEM_OFF, 0 },
		{ PSCI_FEATURES, PSCI_FEATURES, 0 },
		{ PSCI_FEATURES, MOAT_FN_VERSION, -1 },
		{ PSCI_FEATURES, 0x84000050UL, -1 },
		{ PSCI_FEATURES, 1UL << 32 | PSCI_VERSION, -1 },
		{ SMCCC_ARCH_FEATURES_ID, SMCCC_VERSION, 0 },
		{ SMCCC_ARCH_FEATURES_ID, SMCCC_ARCH_FEATURES_ID, 0 },
		{ PSCI_MIGRATE_INFO_TYPE, 0, 2 },
		{ PSCI_CPU_ON_64, 1, -2 }, /* vCPU 1 was never created: INVALID_PARAMETERS (test_guest_psci.c) */
		{ PSCI_CPU_ON_32, 1, -2 },
		{ PSCI_CPU_ON_64, 0, -4 }, /* the caller itself: ALREADY_ON */
		{ PSCI_AFFINITY_INFO_64, 0, 0 },
		{ PSCI_AFFINITY_INFO_64, 1, -2 },
		{ PSCI_AFFINITY_INFO_32, 0, 0 },
		{ 0x86000001UL, 0, -1 },		 /* a hypervisor-service call the core does not offer (KVM PTP) */
		{ MOAT_FN_VERSION, 0, -1 },		 /* host calls are not guest calls */
		{ MOAT_FN_DONATE_CORE, 0, -1 },
		{ 1UL << 32 | PSCI_VERSION, 0, -1 }, /* an SMC32-style ID with upper bits set */
		{ 1UL << 32 | PSCI_SYSTEM_OFF, 0, -1 },
		{ 0, 0, -1 },
	};
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	unsigned int n = ARRAY_SIZE(calls);

	for (unsigned int i = 0; i < n; i++) {
		queue_hvc(calls[i].x0, calls[i].x1);
	}
	queue_irq();
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	/* Each call's answer is what the guest held when it took the next exit. */
	for (unsigned int i = 0; i < n; i++) {
		u64 got = i + 1 < n ? script[i + 1].x0_before : ctx(&v)->regs.x[0];

		if (got != (u64)calls[i].expect) {
			fail_msg("guest call 0x%lx(0x%lx) returned 0x%lx, expected %ld", (unsigned long)calls[i].x0,
				 (unsigned long)calls[i].x1, (unsigned long)got, (long)calls[i].expect);
		}
	}
	assert_int_equal(ctx(&v)->regs.x[0], (u64)calls[n - 1].expect);
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC);
	assert_int_equal(fm_vm_of(&v)->state, VM_FINALIZED);
	assert_int_equal(fake.injected, 0);
}

#define ESR_OF(ec) ((u64)(ec) << ESR_EC_SHIFT | ESR_IL)
/* A 32-bit LDR/STR into x5 with a valid syndrome (ISV, SAS = 2, SRT = 5). */
#define ESR_DABT_W5 (ESR_OF(EC_DABT_LOWER) | ESR_ISV | (2UL << 22) | (5UL << 16))

/* guest_exit_fast on a copy of the vCPU's registers: true and the answer, or false with them untouched. */
static bool try_fast(struct vcpu *vcpu, u64 esr, u64 ipa, struct cpu_regs *regs)
{
	struct guest_exit e = { .kind = GUEST_EXIT_SYNC, .esr = esr, .far = ipa & 0xfff, .ipa = ipa };
	struct cpu_regs before = *regs;
	bool answered = guest_exit_fast(vcpu, &e, regs);

	if (!answered && memcmp(&before, regs, sizeof(before)) != 0) {
		fail_msg("guest_exit_fast(esr 0x%lx) declined but changed the registers", (unsigned long)esr);
	}
	return answered;
}

/*
 * The fast path's decision (arm64 answers these at the EL2 vector, on the exception frame): HVC calls answered
 * from x0..x3 and vGIC MMIO reads only; calls that touch other vCPUs, pages, waits or exits, vGIC writes, aborts
 * without a valid syndrome or outside the vGIC, and every other class take the full path.
 */
static void test_fast_path_decision(void **state)
{
	static const u64 slow_calls[] = {
		PSCI_CPU_ON_64, PSCI_CPU_ON_32, PSCI_CPU_OFF, PSCI_CPU_SUSPEND_64, PSCI_CPU_SUSPEND_32,
		PSCI_AFFINITY_INFO_64, PSCI_AFFINITY_INFO_32, PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET,
		KVM_FN_HYP_MEMINFO, KVM_FN_MEM_SHARE, KVM_FN_MEM_UNSHARE, KVM_FN_MMIO_GUARD, KVM_FN_MEM_RELINQUISH,
	};
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	struct vcpu *vcpu = fm_vm_of(&v)->vcpus[0];
	struct cpu_regs r = { .elr = 0x1000, .spsr = 0x3c5 };
	u64 typer = vgic_mmio_read(vcpu, VGIC_GICD_BASE + 4, 4);

	assert_true(guest_exit_may_be_fast(ESR_OF(EC_HVC64)));
	assert_true(guest_exit_may_be_fast(ESR_DABT_W5));
	assert_false(guest_exit_may_be_fast(ESR_OF(EC_SMC64)));
	assert_false(guest_exit_may_be_fast(ESR_OF(EC_SYSREG)));
	assert_false(guest_exit_may_be_fast(ESR_OF(EC_WFX)));
	assert_false(guest_exit_may_be_fast(ESR_OF(EC_IABT_LOWER)));
	assert_false(guest_exit_may_be_fast(ESR_OF(EC_FP_ASIMD)));

	/* Calls answered from registers: the same answers as the full path (test_guest_calls), PC untouched. */
	r.x[0] = PSCI_VERSION;
	assert_true(try_fast(vcpu, ESR_OF(EC_HVC64), 0, &r));
	assert_int_equal(r.x[0], 0x10001);
	assert_int_equal(r.elr, 0x1000);
	r.x[0] = 0x83000001UL; /* an unassigned OEM ID: NOT_SUPPORTED */
	assert_true(try_fast(vcpu, ESR_OF(EC_HVC64), 0, &r));
	assert_int_equal(r.x[0], (u64)-1);
	r.x[0] = 1UL << 32 | PSCI_CPU_ON_64; /* upper bits set: not CPU_ON, refused from registers */
	assert_true(try_fast(vcpu, ESR_OF(EC_HVC64), 0, &r));
	assert_int_equal(r.x[0], (u64)-1);
	r.x[0] = KVM_CALL_UID;
	assert_true(try_fast(vcpu, ESR_OF(EC_HVC64), 0, &r));
	assert_int_equal(r.x[0], KVM_UID_0);
	assert_int_equal(r.x[3], KVM_UID_3);
	for (unsigned int i = 0; i < ARRAY_SIZE(slow_calls); i++) {
		r.x[0] = slow_calls[i];
		r.x[1] = 1;
		if (try_fast(vcpu, ESR_OF(EC_HVC64), 0, &r)) {
			fail_msg("call 0x%lx answered on the fast path", (unsigned long)slow_calls[i]);
		}
	}
	/* Not a call the fast path knows: SMC, system registers, WFx. */
	r.x[0] = PSCI_VERSION;
	assert_false(try_fast(vcpu, ESR_OF(EC_SMC64), 0, &r));
	assert_false(try_fast(vcpu, ESR_OF(EC_SYSREG) | ESR_SYSREG_READ, 0, &r));
	assert_false(try_fast(vcpu, ESR_OF(EC_WFX), 0, &r));

	/* A vGIC read: x5 gets GICD_TYPER, PC moves past the load. */
	r.x[5] = 0xdead;
	assert_true(try_fast(vcpu, ESR_DABT_W5, VGIC_GICD_BASE + 4, &r));
	assert_int_equal(r.x[5], typer);
	assert_int_equal(r.elr, 0x1004);
	/* Writes, no valid syndrome, a stage-1 walk, an IPA outside the vGIC: the full path. */
	assert_false(try_fast(vcpu, ESR_DABT_W5 | ESR_WNR, VGIC_GICD_BASE + 4, &r));
	assert_false(try_fast(vcpu, ESR_DABT_W5 & ~ESR_ISV, VGIC_GICD_BASE + 4, &r));
	assert_false(try_fast(vcpu, ESR_DABT_W5 | ESR_S1PTW, VGIC_GICD_BASE + 4, &r));
	assert_false(try_fast(vcpu, ESR_DABT_W5, 0x0a000030UL, &r));
	assert_false(try_fast(vcpu, ESR_DABT_W5, FM_VM_BOOT_PC, &r));
	assert_false(try_fast(vcpu, ESR_OF(EC_IABT_LOWER) | ESR_ISV, VGIC_GICD_BASE + 4, &r));
}

static void test_system_off_and_reset(void **state)
{
	struct fm_vm off = fm_build_vm(m, PROT, 0), reset = fm_build_vm(m, NORM, 0);

	queue_hvc(PSCI_SYSTEM_OFF, 0);
	fill_run_page(&off);
	assert_int_equal(run(&off), MOAT_EXIT_SYSTEM_OFF);
	expect_run_zero_except(&off, 0, 0);
	assert_int_equal(fm_vm_of(&off)->state, VM_OFF);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_RUN, off.handle, 0);

	queue_hvc(PSCI_SYSTEM_RESET, 0);
	fill_run_page(&reset);
	assert_int_equal(run(&reset), MOAT_EXIT_SYSTEM_RESET);
	expect_run_zero_except(&reset, 0, 0);
	assert_int_equal(fm_vm_of(&reset)->state, VM_OFF);
	FM_REFUSED(m, MOAT_E_STATE, MOAT_FN_VCPU_RUN, reset.handle, 0);
	/* No vCPU is left loaded: the VMs can go. */
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, off.handle));
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, reset.handle));
	assert_int_equal(fm_violations(), 0);
}

static void test_cpu_suspend_is_wfi(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);

	ctx(&v)->sys[SYS_CNTV_CTL_EL0] = 1;
	ctx(&v)->sys[SYS_CNTV_CVAL_EL0] = 999;
	queue_hvc(PSCI_CPU_SUSPEND_64, 0);
	assert_int_equal(run(&v), MOAT_EXIT_WFI);
	assert_int_equal(fm_run_page(&v)->u.wfi.deadline, 999);
	assert_int_equal(ctx(&v)->regs.x[0], 0);
	assert_int_equal(fm_vm_of(&v)->state, VM_FINALIZED);
}

static void test_guest_smc_refused(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);

	ctx(&v)->regs.x[0] = PSCI_SYSTEM_OFF;
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_SMC64) | ESR_IL, 0, 0);
	queue_irq();
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	assert_int_equal(ctx(&v)->regs.x[0], ~0UL);
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC + 4); /* a trapped SMC's ELR is the SMC itself */
	assert_int_equal(fake.firmware_calls, 0);
	assert_int_equal(fm_vm_of(&v)->state, VM_FINALIZED);
}

static void test_sysreg_trap(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	u64 before[31];

	for (unsigned int x = 0; x < 31; x++) {
		ctx(&v)->regs.x[x] = 0xabc0 + x;
	}
	memcpy(before, ctx(&v)->regs.x, sizeof(before));
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_SYSREG) | ESR_IL | 3UL << 5 | ESR_SYSREG_READ, 0, 0);  /* MRS x3 */
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_SYSREG) | ESR_IL | 4UL << 5, 0, 0);		      /* MSR x4 */
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_SYSREG) | ESR_IL | 31UL << 5 | ESR_SYSREG_READ, 0, 0); /* MRS xzr */
	queue_irq();
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	before[3] = 0;
	assert_memory_equal(ctx(&v)->regs.x, before, sizeof(before));
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC + 12);
	assert_int_equal(fake.injected, 0);
}

static void test_irq_exits(void **state)
{
	static const enum guest_exit_kind kinds[] = { GUEST_EXIT_IRQ, GUEST_EXIT_FIQ };
	struct fm_vm v = fm_build_vm(m, PROT, 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(kinds); i++) {
		fake_queue_exit(kinds[i], 0, 0, 0);
		fill_run_page(&v);
		assert_int_equal(run(&v), MOAT_EXIT_IRQ);
		expect_run_zero_except(&v, 0, 0);
		assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC);
	}
	/* An unknown trap: an undefined-instruction exception for the guest, which runs on. */
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_UNKNOWN) | ESR_IL, 0, 0);
	queue_irq();
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	assert_int_equal(fake.injected, 1);
	assert_int_equal(ESR_EC(fake.last_esr_el1), EC_UNKNOWN);
	assert_int_equal(fake.vcpu_loads, fake.vcpu_puts);
}

/*
 * A physical SError taken while the guest ran (GUEST_EXIT_SERROR), or one
 * still in flight when it exited (exit->serror), is the guest's: it gets a
 * virtual SError (HCR_EL2.VSE, delivered when it unmasks PSTATE.A), the host
 * learns nothing, and no syndrome address -- FAR_EL2 and HPFAR_EL2 are stale
 * for an SError, possibly a host address -- reaches the guest or the run page.
 */
static void test_guest_serror(void **state)
{
	static const enum guest_exit_kind kinds[] = { GUEST_EXIT_SERROR };
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	struct vcpu *vcpu = fm_vcpu(&v, 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(kinds); i++) {
		vcpu->serror_pending = false;
		fake.console_len = 0;
		fake.console[0] = '\0';
		/* Stale syndrome registers: a host VA in FAR, a host page in HPFAR. */
		fake_queue_exit(kinds[i], 0xbe000000UL, 0xffff800012345678UL, 0x7fc00000UL);
		queue_irq();
		fill_run_page(&v);
		assert_int_equal(run(&v), MOAT_EXIT_IRQ);
		expect_run_zero_except(&v, 0, 0);
		assert_true(vcpu->serror_pending);
		assert_int_equal(fake.injected, 0); /* no synchronous abort, no stale FAR */
		assert_int_equal(fake.serror_syncs, i + 1); /* HCR_EL2.VSE set while still loaded */
		assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC);
		assert_non_null(strstr(fake.console, "SError"));
		assert_null(strstr(fake.console, "0x7fc00000"));
		assert_null(strstr(fake.console, "0xffff800012345678"));
	}
	/* An SError that surfaced as the guest exited for another reason: both are handled. */
	vcpu->serror_pending = false;
	queue_hvc(PSCI_VERSION, 0); /* answered in the core */
	fake.exits[fake.nr_exits - 1].serror = true;
	queue_irq();
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	assert_true(vcpu->serror_pending);
	assert_int_equal(ctx(&v)->regs.x[0], 0x10001); /* PSCI 1.1: the HVC was answered too */
	assert_int_equal(fake.injected, 0);
	assert_int_equal(fm_violations(), 0);
}

/*
 * The guest's first FP/SIMD use traps (CPTR_EL2.TFP) and the arch layer
 * switches the registers lazily; but when an SError surfaced at the same
 * exit, it hands the exit to the generic code so the SError is recorded. The
 * FP instruction did nothing wrong: it must run again (the next trap gets the
 * switch), never be answered with an undefined-instruction exception.
 */
static void test_fp_trap_with_serror_retried(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	struct vcpu *vcpu = fm_vcpu(&v, 0);

	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_FP_ASIMD) | ESR_IL, 0, 0);
	fake.exits[fake.nr_exits - 1].serror = true;
	queue_irq();
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	assert_true(vcpu->serror_pending);
	assert_int_equal(fake.injected, 0);
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC);
	assert_int_equal(fake.next_exit, 2); /* re-entered once, then the IRQ */
}

/*
 * The arch layer did not enter the guest because a physical SError was
 * already pending: it is the host's (or the core's), so the vCPU is put and
 * the host takes it at EL1 -- an IRQ-like exit, nothing for the guest.
 */
static void test_host_serror_not_entered(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);

	fake_queue_exit(GUEST_EXIT_NOT_ENTERED, 0, 0, 0);
	fill_run_page(&v);
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	expect_run_zero_except(&v, 0, 0);
	assert_false(fm_vcpu(&v, 0)->serror_pending);
	assert_int_equal(fake.injected, 0);
	assert_int_equal(ctx(&v)->regs.elr, FM_VM_BOOT_PC);
	assert_int_equal(fake.vcpu_loads, fake.vcpu_puts);
}

static void test_run_refusals(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0);

	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_RUN, v.handle, FM_VM_MAX_VCPUS);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_RUN, v.handle, ~0UL);
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_VCPU_RUN, v.handle, 1);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VCPU_RUN, v.handle, 0, 1);
	FM_REFUSED(m, MOAT_E_STALE, MOAT_FN_VCPU_RUN, stale(), 0);
	assert_int_equal(fake.vcpu_loads, 0);
}

/*
 * The run page tells the host what the exit needs and nothing left from
 * earlier exits (DESIGN §6): filled with 0xff before the run, after it every
 * byte of struct moat_run except the documented fields is zero.
 */
static void test_run_page_never_stale(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0);
	struct moat_run *r = fm_run_page(&v);

	ctx(&v)->regs.x[2] = 0x0123456789abcdefUL;
	fake_queue_exit(GUEST_EXIT_SYNC, dabt(3, false, 2, true, true), 0, MMIO_REG);
	fake_queue_exit(GUEST_EXIT_SYNC, EC(EC_WFX) | ESR_IL, 0, 0);
	queue_irq();

	fill_run_page(&v);
	assert_int_equal(run(&v), MOAT_EXIT_MMIO);
	assert_int_equal(r->exit_reason, MOAT_EXIT_MMIO);
	assert_int_equal(r->flags, 0);
	assert_int_equal(r->u.mmio.ipa, MMIO_REG);
	assert_int_equal(r->u.mmio.size, 8);
	assert_int_equal(r->u.mmio.is_write, 1);
	assert_int_equal(r->u.mmio.value, 0x0123456789abcdefUL);
	expect_run_zero_except(&v, 0, sizeof(r->u.mmio));

	/* No refill: the MMIO fields of the last exit must not survive into the next. */
	assert_int_equal(run(&v), MOAT_EXIT_WFI);
	assert_int_equal(r->u.wfi.deadline, ~0UL);
	expect_run_zero_except(&v, 0, sizeof(r->u.wfi));
	assert_int_equal(run(&v), MOAT_EXIT_IRQ);
	expect_run_zero_except(&v, 0, 0);

	/* The reserved words of the struct too (what the 0xff fill put there is not an exit's data). */
	fake_queue_exit(GUEST_EXIT_SYNC, dabt(3, false, 2, true, true), 0, MMIO_REG);
	fill_run_page(&v);
	assert_int_equal(run(&v), MOAT_EXIT_MMIO);
	expect_run_reserved_zero(&v);
}

/* ---- VCPU_GET_REG / VCPU_SET_REG ----------------------------------------------------------------- */

static void test_regs_protected(void **state)
{
	struct fm_vm v = fm_build_vm(m, PROT, 0), c = fm_build_vm(m, PROT, FM_NO_FINALIZE);

	ctx(&v)->regs.x[0] = 0x5ec2e7;
	for (u64 reg = 0; reg < MOAT_REG_COUNT; reg++) {
		FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_GET_REG, v.handle, 0, reg);
		FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_SET_REG, v.handle, 0, reg, 0x3c5);
		FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_GET_REG, c.handle, 0, reg);
		FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_SET_REG, c.handle, 0, reg, 0x3c5);
	}
	/* Whatever else is wrong: the VM type forbids the call. */
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_GET_REG, v.handle, 7, 99);
	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_SET_REG, v.handle, 1, 99, 0);
}

static u64 *reg_storage(struct guest_context *c, u64 reg)
{
	switch (reg) {
	case MOAT_REG_SP_EL0:
		return &c->sys[SYS_SP_EL0];
	case MOAT_REG_PC:
		return &c->regs.elr;
	case MOAT_REG_PSTATE:
		return &c->regs.spsr;
	case MOAT_REG_SP_EL1:
		return &c->sys[SYS_SP_EL1];
	case MOAT_REG_ELR_EL1:
		return &c->sys[SYS_ELR_EL1];
	case MOAT_REG_SPSR_EL1:
		return &c->sys[SYS_SPSR_EL1];
	default:
		assert_true(reg <= 30);
		return &c->regs.x[reg];
	}
}

static void test_regs_round_trip(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0);
	static const u64 pstates[] = { 0x3c5, 0x3c4, 0x0, 0x4, 0x5, 0xf00003c5UL, 0x600003c0UL };
	u64 res[3];

	for (u64 reg = 0; reg < MOAT_REG_COUNT; reg++) {
		u64 value = reg == MOAT_REG_PSTATE ? 0x3c4 : 0x0101010101010101UL * (reg + 1) ^ 0x8000000000000000UL;

		expect_ok(FM_CALL(MOAT_FN_VCPU_SET_REG, v.handle, 0, reg, value));
		assert_int_equal(*reg_storage(ctx(&v), reg), value);
		expect_ok(FM_CALLR(res, MOAT_FN_VCPU_GET_REG, v.handle, 0, reg));
		assert_int_equal(res[0], value);
		assert_int_equal(res[1], 0);
		assert_int_equal(res[2], 0);
	}
	/* Each register kept its own value: no two IDs alias. */
	for (u64 reg = 0; reg < MOAT_REG_COUNT; reg++) {
		u64 value = reg == MOAT_REG_PSTATE ? 0x3c4 : 0x0101010101010101UL * (reg + 1) ^ 0x8000000000000000UL;

		expect_ok(FM_CALLR(res, MOAT_FN_VCPU_GET_REG, v.handle, 0, reg));
		assert_int_equal(res[0], value);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(pstates); i++) {
		expect_ok(FM_CALL(MOAT_FN_VCPU_SET_REG, v.handle, 0, MOAT_REG_PSTATE, pstates[i]));
		expect_ok(FM_CALLR(res, MOAT_FN_VCPU_GET_REG, v.handle, 0, MOAT_REG_PSTATE));
		assert_int_equal(res[0], pstates[i]);
	}
	/* Before FINALIZE too. */
	{
		struct fm_vm c = fm_build_vm(m, NORM, FM_NO_FINALIZE);

		expect_ok(FM_CALL(MOAT_FN_VCPU_SET_REG, c.handle, 0, MOAT_REG_X(9), 99));
		expect_ok(FM_CALLR(res, MOAT_FN_VCPU_GET_REG, c.handle, 0, MOAT_REG_X(9)));
		assert_int_equal(res[0], 99);
	}
}

static void test_regs_refusals(void **state)
{
	static const u64 bad_pstate[] = {
		0x3c9,		    /* EL2h */
		0x3c8,		    /* EL2t */
		0x3cd,		    /* EL3h */
		0x3cc,		    /* EL3t */
		0x1, 0x2, 0x3, 0x6, 0x7, 0xa, 0xe, 0xf, /* reserved modes */
		0x10, 0x13, 0x3d0, /* AArch32 */
		0x3c5 | 1UL << 20,  /* IL */
		0x3c5 | 1UL << 21,  /* SS */
		0x3c5 | 1UL << 22,  /* PAN */
		0x3c5 | 1UL << 23,  /* UAO */
		0x3c5 | 1UL << 32,
		0x3c5 | 1UL << 63,
		~0UL,
	};
	struct fm_vm v = fm_build_vm(m, NORM, 0);

	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_GET_REG, v.handle, 0, MOAT_REG_COUNT);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_GET_REG, v.handle, 0, ~0UL);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_SET_REG, v.handle, 0, MOAT_REG_COUNT, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_SET_REG, v.handle, 0, 1UL << 32, 1);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_GET_REG, v.handle, FM_VM_MAX_VCPUS, 0);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_SET_REG, v.handle, ~0UL, 0, 1);
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_VCPU_GET_REG, v.handle, 1, 0);
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_VCPU_SET_REG, v.handle, 1, 0, 1);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VCPU_GET_REG, v.handle, 0, 0, 1);
	FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VCPU_SET_REG, v.handle, 0, 0, 1, 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_pstate); i++) {
		FM_REFUSED(m, MOAT_E_INVAL, MOAT_FN_VCPU_SET_REG, v.handle, 0, MOAT_REG_PSTATE, bad_pstate[i]);
	}
	assert_int_equal(ctx(&v)->regs.spsr, 0x3c5);
}

/* docs/ABI.md: PERM protected; RANGE index; NOENT vCPU not created; BUSY vCPU running; RANGE reg -- in this order. */
static void test_regs_check_order(void **state)
{
	struct fm_vm v = fm_build_vm(m, NORM, 0), p = fm_build_vm(m, PROT, 0);

	FM_REFUSED(m, MOAT_E_PERM, MOAT_FN_VCPU_GET_REG, p.handle, FM_VM_MAX_VCPUS, MOAT_REG_COUNT);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_GET_REG, v.handle, FM_VM_MAX_VCPUS, MOAT_REG_COUNT);
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_VCPU_GET_REG, v.handle, 1, MOAT_REG_COUNT);
	FM_REFUSED(m, MOAT_E_NOENT, MOAT_FN_VCPU_SET_REG, v.handle, 1, MOAT_REG_PSTATE, 0x3c9);
	FM_REFUSED(m, MOAT_E_RANGE, MOAT_FN_VCPU_SET_REG, v.handle, 0, MOAT_REG_COUNT, 0x3c9);
}

static u64 running_handle;
static unsigned int running_calls;

/* While vCPU 0 runs: its registers are BUSY (before a bad register ID), and it cannot be run twice. */
static void calls_while_running(struct vcpu *vcpu)
{
	running_calls++;
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_VCPU_GET_REG, running_handle, 0, MOAT_REG_PC);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_VCPU_GET_REG, running_handle, 0, MOAT_REG_COUNT);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_VCPU_SET_REG, running_handle, 0, MOAT_REG_X(0), 1);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_VCPU_RUN, running_handle, 0);
	FM_REFUSED(m, MOAT_E_BUSY, MOAT_FN_VM_DESTROY, running_handle);
	/* vCPU 1 is not the one running. */
	assert_int_equal(FM_CALL(MOAT_FN_VCPU_GET_REG, running_handle, 1, MOAT_REG_PC), MOAT_OK);
}

static void test_busy_while_running(void **state)
{
	struct fm_vm v = fm_create_vm(m, NORM);
	u64 run0 = fm_host_page(m), run1 = fm_host_page(m), res[3];

	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, fm_host_pages(m, 4), 4));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, run0));
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, run1));
	expect_ok(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 0, run0));
	expect_ok(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 1, run1));
	expect_ok(FM_CALL(MOAT_FN_SET_BOOT, v.handle, FM_VM_BOOT_PC, 0));
	expect_ok(FM_CALL(MOAT_FN_FINALIZE, v.handle));
	running_handle = v.handle;
	running_calls = 0;
	during_run = calls_while_running;
	queue_irq();
	expect_ok(FM_CALLR(res, MOAT_FN_VCPU_RUN, v.handle, 0));
	during_run = NULL;
	assert_int_equal(res[0], MOAT_EXIT_IRQ);
	assert_int_equal(running_calls, 1);
	/* Back from the run: nothing is busy any more. */
	expect_ok(FM_CALLR(res, MOAT_FN_VCPU_GET_REG, v.handle, 0, MOAT_REG_PC));
	assert_int_equal(res[0], FM_VM_BOOT_PC);
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, v.handle));
	assert_int_equal(fm_violations(), 0);
}

/*
 * VCPU_RUN against a VM destroyed, and its slot reused, by "another CPU" at
 * the moment VCPU_RUN asks for the VM lock (the fake arch's lock hook plays
 * that CPU). The handle names the old VM: the call must fail STALE and the
 * new VM's vCPU must not run. Were the lookup and its generation check not
 * made under the same hold of vm->lock as the vCPU's loaded mark, the run
 * would go to the new VM's vCPU under the old VM's handle.
 */
static struct fm_vm race_old, race_new;
static bool race_hit;

static void destroy_and_reuse(u32 *word)
{
	if (word != &fm_vm_of(&race_old)->lock.locked) {
		return;
	}
	fake_spin_hook = NULL; /* once */
	race_hit = true;
	expect_ok(FM_CALL(MOAT_FN_VM_DESTROY, race_old.handle));
	race_new = fm_build_vm(m, NORM, 0);
}

static void test_run_lookup_races_destroy(void **state)
{
	u64 res[3] = { 0 };
	long ret;

	race_old = fm_build_vm(m, NORM, 0);
	race_hit = false;
	fake_spin_hook = destroy_and_reuse;
	ret = FM_CALLR(res, MOAT_FN_VCPU_RUN, race_old.handle, 0);
	fake_spin_hook = NULL;
	assert_true(race_hit);
	/* The race as the test means it: the same slot, a new life. */
	assert_int_equal(race_new.slot, race_old.slot);
	assert_int_not_equal(race_new.handle, race_old.handle);
	assert_int_equal(ret, MOAT_E_STALE);
	assert_int_equal(res[0], 0);
	assert_int_equal(fake.vcpu_loads, 0);
	assert_false(fm_vcpu(&race_new, 0)->loaded);
	/* The new VM is untouched: its own handle runs it. */
	assert_int_equal(run(&race_new), MOAT_EXIT_SYSTEM_OFF);
	assert_int_equal(fake.vcpu_loads, 1);
	assert_int_equal(fm_violations(), 0);
}

static void test_vcpu_state_budget(void **state)
{
	/* DESIGN §6: at most 1.5 KiB of core state per vCPU on the baseline CPU (one memcache page holds it). */
	assert_true(sizeof(struct vcpu) <= 1536);
	assert_true(sizeof(struct vcpu) <= PAGE_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_table_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_after_finalize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_before_finalize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finalize_preconditions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcpu_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_measurement_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_measurement_inputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_measurement_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_measurement_spis_and_image_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_write_protected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_write_normal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_read_completion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfe_runnable_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_psci_version_stays_in_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_path_decision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_system_off_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_suspend_is_wfi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_smc_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysreg_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_serror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fp_trap_with_serror_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_serror_not_entered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_page_never_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regs_protected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regs_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regs_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regs_check_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_lookup_races_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcpu_state_budget, setup, teardown),
	};

	return cmocka_run_group_tests_name("vm", tests, NULL, NULL);
}
