/*
 * The fake machine fixture (see fake_machine.h): RAM from mmap at a fixed
 * low address, the core's data region laid out like core/boot.c, and small
 * helpers that drive the core only through its host ABI (host_call_raw) or
 * look at its state the way the invariant checker does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <moat/abi.h>
#include <moat/errors.h>

#include "fake_machine.h"

#include "boot.h"
#include "fake_arch.h"
#include "host_call.h"
#include "host_mmio.h"
#include "host_s2.h"
#include "invariants.h"

/*
 * Where RAM may go: below ASan's low-memory limit (0x7fff8000) and far from
 * MOAT_GUEST_RAM_BASE, 2 MiB-aligned and not 1 GiB-aligned.
 */
#define FM_RAM_HINT_FIRST 0x52000000UL
#define FM_RAM_HINT_LAST 0x7e000000UL
#define FM_RAM_HINT_STEP 0x02000000UL

static void map_ram(struct fake_machine *m, u64 size)
{
	for (u64 hint = FM_RAM_HINT_FIRST; hint + size <= FM_RAM_HINT_LAST; hint += FM_RAM_HINT_STEP) {
		void *p = mmap((void *)hint, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

		if (p == MAP_FAILED) {
			continue;
		}
		if ((u64)(uintptr_t)p != hint) {
			munmap(p, size);
			continue;
		}
		m->mapping = p;
		m->mapping_size = size;
		m->ram_base = hint;
		m->ram_size = size;
		return;
	}
	fail_msg("fake_machine: cannot map %lu MiB of RAM below 2 GiB", (unsigned long)(size >> 20));
}

static void make_platform(struct fake_machine *m)
{
	struct platform_info *p = &m->plat;

	memset(p, 0, sizeof(*p));
	p->mem[0] = (struct fdt_range){ m->ram_base, m->ram_size };
	p->nr_mem = 1;
	p->nr_cpus = 1;
	p->mmio[p->nr_mmio++] = (struct fdt_range){ FM_UART, FM_UART_SIZE };
	p->uart = p->mmio[0];
	p->gicr = (struct fdt_range){ 0, 0 };
}

/*
 * Copies of RAM are kept from one snapshot to the next until
 * fake_machine_fini() (two, so a snapshot may be taken while another is
 * open): allocating and faulting in tens of MiB for every refused call
 * would dominate the run time.
 */
#define FM_SNAPSHOT_BUFFERS 2
static struct {
	u8 *buf;
	size_t size;
	bool used;
} snap_bufs[FM_SNAPSHOT_BUFFERS];

/* The core's data region at the top of RAM, sized exactly as core/boot.c sizes it. */
static void plan_core_region(struct fake_machine *m)
{
	u64 pagedb_size = ALIGN_UP(pagedb_storage_bytes(&m->plat), PAGE_SIZE);
	u64 heap_size = (m->ram_size / SZ_2M + m->ram_size / SZ_1G + 2 + BOOT_POOL_FIXED_PAGES) * PAGE_SIZE;
	u64 data_size = ALIGN_UP(pagedb_size + heap_size, SZ_2M);
	u64 data_end = ALIGN_DOWN(m->ram_base + m->ram_size, SZ_2M);

	m->core_base = data_end - data_size;
	m->pagedb_pa = m->core_base;
	m->pagedb_bytes = pagedb_size;
	m->pool_pa = m->pagedb_pa + pagedb_size;
	m->pool_bytes = heap_size;
}

void fake_machine_init(struct fake_machine *m, size_t ram_mib)
{
	memset(m, 0, sizeof(*m));
	map_ram(m, (u64)ram_mib << 20);
	make_platform(m);
	plan_core_region(m);

	fake_reset();
	pagedb_lock.locked = 0;
	vm_table_init();
	memset((void *)(uintptr_t)m->pagedb_pa, 0, m->pagedb_bytes);
	assert_int_equal(pagedb_init(&m->plat, (void *)(uintptr_t)m->pagedb_pa, m->pagedb_bytes), MOAT_OK);
	pagedb_set_range(m->core_base, m->ram_base + m->ram_size - m->core_base, OWNER_CORE, PAGE_OWNED);
	page_pool_init(&m->pool, m->pool_pa, m->pool_bytes);
	host_mmio_init(&m->plat);
	assert_int_equal(host_s2_init(&m->plat, &m->pool), MOAT_OK);
	m->pool_free_at_boot = host_s2_pool_free();
	m->next_page = m->ram_base;
	/* Boot's own maintenance is not what the tests look at. */
	fake.nr_ops = 0;
	fake.console_len = 0;
	fake.console[0] = '\0';
}

void fake_machine_fini(struct fake_machine *m)
{
	for (unsigned int i = 0; i < FM_SNAPSHOT_BUFFERS; i++) {
		free(snap_bufs[i].buf);
		snap_bufs[i].buf = NULL;
		snap_bufs[i].size = 0;
		snap_bufs[i].used = false; /* a test that failed half-way may have left one open */
	}
	vm_table_init();
	fake_reset();
	if (m->mapping) {
		munmap(m->mapping, m->mapping_size);
	}
	memset(m, 0, sizeof(*m));
}

/* ---- host pages ------------------------------------------------------------------ */

static bool host_owned(u64 pa)
{
	struct page_info *p = pagedb_lookup(pa);

	return p && p->owner == OWNER_HOST && p->state == PAGE_OWNED;
}

u64 fm_host_pages(struct fake_machine *m, unsigned int n)
{
	for (u64 pa = m->next_page; pa + (u64)n * PAGE_SIZE <= m->core_base; pa += PAGE_SIZE) {
		unsigned int i = 0;

		while (i < n && host_owned(pa + (u64)i * PAGE_SIZE)) {
			i++;
		}
		if (i == n) {
			memset((void *)(uintptr_t)pa, 0, (u64)n * PAGE_SIZE);
			m->next_page = pa + (u64)n * PAGE_SIZE;
			return pa;
		}
	}
	fail_msg("fake_machine: no %u free host page(s) left", n);
	return 0;
}

u64 fm_host_page(struct fake_machine *m)
{
	return fm_host_pages(m, 1);
}

u64 fm_host_pair(struct fake_machine *m)
{
	m->next_page = ALIGN_UP(m->next_page, 2 * PAGE_SIZE);
	while (!host_owned(m->next_page) || !host_owned(m->next_page + PAGE_SIZE)) {
		m->next_page += 2 * PAGE_SIZE;
		if (m->next_page >= m->core_base) {
			fail_msg("fake_machine: no free 8 KiB-aligned host pair left");
		}
	}
	return fm_host_pages(m, 2);
}

/* ---- host calls and checks ------------------------------------------------------- */

long fm_call_array(u64 fid, const u64 args[6], u64 res[3])
{
	struct host_call_args a;
	long ret;

	memset(&a, 0, sizeof(a));
	memcpy(a.a, args, sizeof(a.a));
	ret = host_call_raw(fid, &a);
	if (res) {
		memcpy(res, a.res, sizeof(a.res));
	}
	return ret;
}

long fm_call(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6, u64 res[3])
{
	const u64 args[6] = { a1, a2, a3, a4, a5, a6 };

	return fm_call_array(fid, args, res);
}

unsigned int fm_violations(void)
{
	unsigned int n;

	spin_lock(&pagedb_lock);
	n = invariants_check();
	spin_unlock(&pagedb_lock);
	return n;
}

bool fm_host_mapped(u64 pa)
{
	return fm_host_level(pa) != 0;
}

unsigned int fm_host_level(u64 pa)
{
	u64 out;
	unsigned int flags, level;

	if (!pgt_lookup(host_s2(), pa, &out, &flags, &level) || out != pa) {
		return 0;
	}
	return level;
}

bool fm_vm_lookup(unsigned int slot, u64 ipa, u64 *pa, unsigned int *flags)
{
	struct vm *vm = vm_slot(slot);
	unsigned int level;
	u64 out;
	unsigned int f;

	if (!vm || !pgt_lookup(&vm->s2.pgt, ipa, &out, &f, &level)) {
		return false;
	}
	if (pa) {
		*pa = out;
	}
	if (flags) {
		*flags = f;
	}
	return true;
}

struct page_info fm_page(u64 pa)
{
	struct page_info *p = pagedb_lookup(pa);
	struct page_info none = { 0 };

	return p ? *p : none;
}

void fm_fill(u64 pa, u8 byte)
{
	memset((void *)(uintptr_t)pa, byte, PAGE_SIZE);
}

bool fm_page_is(u64 pa, u8 byte)
{
	const u8 *p = (const u8 *)(uintptr_t)pa;

	for (size_t i = 0; i < PAGE_SIZE; i++) {
		if (p[i] != byte) {
			return false;
		}
	}
	return true;
}

/* ---- VMs --------------------------------------------------------------------------- */

#define expect_ok(call) expect_ok_at((call), #call, __FILE__, __LINE__)

static void expect_ok_at(long ret, const char *what, const char *file, int line)
{
	if (ret != MOAT_OK) {
		print_error("%s returned %ld\n", what, ret);
		_fail(file, line);
	}
}

struct fm_vm fm_create_vm(struct fake_machine *m, unsigned int type)
{
	struct fm_vm v;
	u64 res[3];

	memset(&v, 0, sizeof(v));
	v.root_pa = fm_host_pair(m);
	expect_ok(FM_CALLR(res, MOAT_FN_VM_CREATE, type, FM_VM_MAX_VCPUS, v.root_pa, FM_VM_RAM_SIZE,
			   FM_VM_MMIO_BASE, FM_VM_MMIO_SIZE));
	v.handle = res[0];
	v.slot = (unsigned int)(res[0] & 0xffff);
	assert_non_null(vm_slot(v.slot));
	return v;
}

struct fm_vm fm_build_vm(struct fake_machine *m, unsigned int type, unsigned int flags)
{
	struct fm_vm v = fm_create_vm(m, type);

	v.memcache_pa = fm_host_pages(m, FM_VM_MEMCACHE_PAGES);
	expect_ok(FM_CALL(MOAT_FN_DONATE_CORE, v.handle, v.memcache_pa, FM_VM_MEMCACHE_PAGES));
	v.run_pa = fm_host_page(m);
	expect_ok(FM_CALL(MOAT_FN_SHARE_CORE, v.run_pa));
	expect_ok(FM_CALL(MOAT_FN_VCPU_CREATE, v.handle, 0, v.run_pa));
	v.code_pa = fm_host_page(m);
	fm_fill(v.code_pa, FM_VM_CODE_BYTE);
	expect_ok(FM_CALL(MOAT_FN_LOAD, v.handle, v.code_pa, MOAT_GUEST_RAM_BASE));
	expect_ok(FM_CALL(MOAT_FN_SET_BOOT, v.handle, FM_VM_BOOT_PC, FM_VM_BOOT_X0));
	if (!(flags & FM_NO_FINALIZE)) {
		expect_ok(FM_CALLR(v.measurement, MOAT_FN_FINALIZE, v.handle));
	}
	return v;
}

struct vm *fm_vm_of(const struct fm_vm *v)
{
	struct vm *vm = vm_slot(v->slot);

	assert_non_null(vm);
	return vm;
}

struct vcpu *fm_vcpu(const struct fm_vm *v, unsigned int index)
{
	struct vcpu *vcpu = fm_vm_of(v)->vcpus[index];

	assert_non_null(vcpu);
	return vcpu;
}

struct moat_run *fm_run_page(const struct fm_vm *v)
{
	return (struct moat_run *)(uintptr_t)v->run_pa;
}

/* ---- "nothing changed" ------------------------------------------------------------- */

static u8 *snapshot_buffer(size_t size)
{
	for (unsigned int i = 0; i < FM_SNAPSHOT_BUFFERS; i++) {
		if (snap_bufs[i].used) {
			continue;
		}
		if (snap_bufs[i].size < size) {
			free(snap_bufs[i].buf);
			snap_bufs[i].buf = malloc(size);
			assert_non_null(snap_bufs[i].buf);
			snap_bufs[i].size = size;
		}
		snap_bufs[i].used = true;
		return snap_bufs[i].buf;
	}
	fail_msg("fake_machine: more than %d snapshots open", FM_SNAPSHOT_BUFFERS);
	return NULL;
}

void fm_snapshot_release(struct fm_snapshot *s)
{
	for (unsigned int i = 0; i < FM_SNAPSHOT_BUFFERS; i++) {
		if (snap_bufs[i].used && snap_bufs[i].buf == s->ram) {
			snap_bufs[i].used = false;
		}
	}
	s->ram = NULL;
}

void fm_snapshot_take(const struct fake_machine *m, struct fm_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->ram = snapshot_buffer(m->ram_size);
	memcpy(s->ram, (const void *)(uintptr_t)m->ram_base, m->ram_size);
	for (unsigned int i = 0; i < MAX_VMS; i++) {
		struct vm *vm = vm_slot(i);

		s->live[i] = vm != NULL;
		if (vm) {
			s->vms[i] = *vm;
		}
	}
	s->nr_ops = fake.nr_ops;
	s->pool_free = host_s2_pool_free();
}

static const char *region_name(const struct fake_machine *m, u64 pa)
{
	if (pa >= m->pagedb_pa && pa < m->pagedb_pa + m->pagedb_bytes) {
		return "the page database";
	}
	if (pa >= m->pool_pa && pa < m->pool_pa + m->pool_bytes) {
		return "the boot pool (host stage 2)";
	}
	if (pa >= m->core_base) {
		return "core memory";
	}
	return "RAM";
}

void fm_snapshot_expect_same(const struct fake_machine *m, struct fm_snapshot *s, const char *file, int line)
{
	const u8 *now = (const u8 *)(uintptr_t)m->ram_base;
	u64 off = m->pagedb_pa - m->ram_base;
	bool ok = true;

	/* The page database first, so its changes are named as such. */
	if (memcmp(s->ram + off, now + off, m->pagedb_bytes)) {
		for (u64 i = 0; i < m->pagedb_bytes; i += sizeof(struct page_info)) {
			if (memcmp(s->ram + off + i, now + off + i, sizeof(struct page_info))) {
				print_error("page database entry of page 0x%lx changed\n",
					    (unsigned long)(m->ram_base + i / sizeof(struct page_info) * PAGE_SIZE));
				break;
			}
		}
		ok = false;
	}
	if (ok && memcmp(s->ram, now, m->ram_size)) {
		for (u64 i = 0; i < m->ram_size; i++) {
			if (s->ram[i] != now[i]) {
				print_error("%s changed at 0x%lx\n", region_name(m, m->ram_base + i),
					    (unsigned long)(m->ram_base + i));
				break;
			}
		}
		ok = false;
	}
	for (unsigned int i = 0; ok && i < MAX_VMS; i++) {
		struct vm *vm = vm_slot(i);

		if ((vm != NULL) != s->live[i] || (vm && memcmp(vm, &s->vms[i], sizeof(*vm)))) {
			print_error("VM slot %u changed\n", i);
			ok = false;
		}
	}
	if (ok && fake.nr_ops != s->nr_ops) {
		print_error("%zu maintenance operation(s) recorded (first: op %d)\n", fake.nr_ops - s->nr_ops,
			    fake.nr_ops > s->nr_ops ? (int)fake.ops[s->nr_ops].op : -1);
		ok = false;
	}
	if (ok && host_s2_pool_free() != s->pool_free) {
		print_error("boot pool: %lu free pages, %lu before\n", (unsigned long)host_s2_pool_free(),
			    (unsigned long)s->pool_free);
		ok = false;
	}
	fm_snapshot_release(s);
	if (!ok) {
		_fail(file, line);
	}
	_assert_int_equal(fm_violations(), 0, file, line);
}

void fm_expect_refused(const struct fake_machine *m, long err, u64 fid, const u64 args[6], const char *name,
		       const char *file, int line)
{
	struct fm_snapshot s;
	u64 res[3] = { ~0UL, ~0UL, ~0UL };
	long ret;

	fm_snapshot_take(m, &s);
	ret = fm_call_array(fid, args, res);
	if (ret != err) {
		print_error("%s [fn %ld](0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx) returned %ld, expected %ld\n", name,
			    (long)(fid - MOAT_FN(0)), (unsigned long)args[0], (unsigned long)args[1], (unsigned long)args[2],
			    (unsigned long)args[3], (unsigned long)args[4], (unsigned long)args[5], ret, err);
		fm_snapshot_release(&s);
		_fail(file, line);
	}
	if (res[0] || res[1] || res[2]) {
		print_error("%s refused but x1..x3 = 0x%lx 0x%lx 0x%lx\n", name, (unsigned long)res[0],
			    (unsigned long)res[1], (unsigned long)res[2]);
		fm_snapshot_release(&s);
		_fail(file, line);
	}
	fm_snapshot_expect_same(m, &s, file, line);
}
