/*
 * A fake machine for host-native unit tests of the generic core: one DRAM
 * bank backed by real memory whose address IS its physical address (the
 * core dereferences physical addresses directly in the fake build), laid out
 * the way core/boot.c lays out a real one.
 *
 *   [ram_base, core_base)          the host's RAM
 *   [core_base, ram_base + size)   the core's data region (2 MiB-aligned, at
 *                                  the top like boot.c): the page database,
 *                                  then the boot page pool that feeds the
 *                                  host stage 2; all OWNER_CORE
 *
 * The bank sits below 2 GiB (ASan's low application memory, inside the host
 * stage 2's 40-bit IPA space) and deliberately not at the guests' RAM base,
 * so a test that mixes up PAs and IPAs fails. One device window (a UART at
 * FM_UART) is mapped for the host; no redistributors, no fw_cfg.
 *
 * fake_machine_init() rebuilds everything the core keeps in globals (page
 * database, host stage 2, VM table, host MMIO list, fake arch state,
 * pagedb_lock), so tests are independent. Who may use it: any unit test;
 * single-threaded.
 */
#ifndef MOAT_TESTS_FAKE_MACHINE_H
#define MOAT_TESTS_FAKE_MACHINE_H

#include <moat/abi.h>

#include "alloc.h"
#include "fdt.h"
#include "pagedb.h"
#include "types.h"
#include "vcpu.h"
#include "vm.h"

#define FM_UART 0x09000000UL
#define FM_UART_SIZE 0x1000UL

/* The VM configuration fm_create_vm() uses: 16 MiB of RAM, an MMIO window below it. */
#define FM_VM_RAM_SIZE (16UL << 20)
#define FM_VM_MMIO_BASE 0x0a000000UL
#define FM_VM_MMIO_SIZE 0x10000UL
#define FM_VM_MAX_VCPUS 2
#define FM_VM_MEMCACHE_PAGES 8
#define FM_VM_BOOT_PC (MOAT_GUEST_RAM_BASE + 0x80)
#define FM_VM_BOOT_X0 0x4000f000UL
#define FM_VM_CODE_BYTE 0x5b /* every byte of the page fm_build_vm() LOADs at the RAM base */

struct fake_machine {
	u64 ram_base, ram_size;
	u64 core_base;		     /* first byte of the core's data region */
	u64 pagedb_pa, pagedb_bytes; /* the database's storage (inside the core region) */
	u64 pool_pa, pool_bytes;     /* the boot page pool (inside the core region) */
	u64 pool_free_at_boot;	     /* pool pages left once the host stage 2 was built */
	struct platform_info plat;
	struct page_pool pool;
	u64 next_page; /* fm_host_page() cursor */
	void *mapping;
	size_t mapping_size;
};

void fake_machine_init(struct fake_machine *m, size_t ram_mib);
void fake_machine_fini(struct fake_machine *m);

/* The next free host-owned page (zeroed), from the bottom of RAM up. */
u64 fm_host_page(struct fake_machine *m);
/* Two host pages, 8 KiB-aligned (a VM's stage-2 root). */
u64 fm_host_pair(struct fake_machine *m);
/* n contiguous host pages (DONATE_CORE). */
u64 fm_host_pages(struct fake_machine *m, unsigned int n);

/* One host call through host_call_raw(); res (may be NULL) gets x1..x3. */
long fm_call(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6, u64 res[3]);
long fm_call_array(u64 fid, const u64 args[6], u64 res[3]);
/* FM_CALL(MOAT_FN_X, a1, ...): unnamed arguments are zero. FM_CALLR also returns x1..x3. */
#define FM_CALL(fid, ...) fm_call_array((fid), (const u64[6]){ __VA_ARGS__ }, NULL)
#define FM_CALLR(res, fid, ...) fm_call_array((fid), (const u64[6]){ __VA_ARGS__ }, (res))

/* invariants_check() under pagedb_lock. */
unsigned int fm_violations(void);

/* Host stage 2: whether pa is identity-mapped, and by which level (0 when not mapped). */
bool fm_host_mapped(u64 pa);
unsigned int fm_host_level(u64 pa);
/* A VM's stage 2: the PA mapped at ipa (true) and its flags. */
bool fm_vm_lookup(unsigned int slot, u64 ipa, u64 *pa, unsigned int *flags);

/* A copy of a page's database entry (zeroed if pa is not DRAM). */
struct page_info fm_page(u64 pa);
/* Fill / check a whole page. */
void fm_fill(u64 pa, u8 byte);
bool fm_page_is(u64 pa, u8 byte);

/* A VM made through host calls. */
struct fm_vm {
	u64 handle;
	unsigned int slot;
	u64 root_pa;
	u64 memcache_pa; /* first of FM_VM_MEMCACHE_PAGES contiguous pages (0 when none) */
	u64 run_pa;	 /* vCPU 0's run page */
	u64 code_pa;	 /* page LOADed at MOAT_GUEST_RAM_BASE */
	u64 measurement[3];
};

#define FM_NO_FINALIZE (1U << 0) /* stop before FINALIZE (state CREATED) */

/* VM_CREATE only (default configuration), nothing else. */
struct fm_vm fm_create_vm(struct fake_machine *m, unsigned int type);
/* VM_CREATE, DONATE_CORE (memcache), vCPU 0 with a run page, one LOADed page, SET_BOOT, FINALIZE. */
struct fm_vm fm_build_vm(struct fake_machine *m, unsigned int type, unsigned int flags);
struct vm *fm_vm_of(const struct fm_vm *v);
struct vcpu *fm_vcpu(const struct fm_vm *v, unsigned int index);
struct moat_run *fm_run_page(const struct fm_vm *v);

/*
 * "Nothing changed": a copy of all of RAM (which holds the page database,
 * the host stage 2, every VM's tables, vCPU state and pages), of every live
 * VM's struct, and of the fake trace length.
 */
struct fm_snapshot {
	u8 *ram;
	struct vm vms[MAX_VMS];
	bool live[MAX_VMS];
	size_t nr_ops;
	u64 pool_free;
};
void fm_snapshot_take(const struct fake_machine *m, struct fm_snapshot *s);
void fm_snapshot_release(struct fm_snapshot *s);
/* Asserts the machine is exactly as in s and the invariants hold; releases s. */
void fm_snapshot_expect_same(const struct fake_machine *m, struct fm_snapshot *s, const char *file, int line);

/*
 * FM_REFUSED(m, err, fid, a1, ...): the call fails with exactly err, x1..x3
 * read zero, and nothing at all changed (check-then-commit), 0 violations.
 */
#define FM_REFUSED(m, err, fid, ...)                                                                              \
	fm_expect_refused((m), (err), (fid), (const u64[6]){ __VA_ARGS__ }, #fid, __FILE__, __LINE__)
void fm_expect_refused(const struct fake_machine *m, long err, u64 fid, const u64 args[6], const char *name,
		       const char *file, int line);

#endif
