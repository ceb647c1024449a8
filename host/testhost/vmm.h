/*
 * Test host VMM: builds VMs through the moat host ABI, serves their exits
 * (PL011 console, demand paging, test devices) and tears them down. Used by
 * the VM integration tests, the attack suite and the benchmarks; the real
 * VMM (moat-vmm) comes later with the Linux host.
 *
 * Guest layout (see guest/README.md): RAM at 0x40000000, image loaded there,
 * MMIO window 0x08000000..0x10000000 with the PL011 at 0x09000000 and the
 * test device at 0x0a000000.
 *
 * Building a VM is split into the steps of the ABI (vmm_create, vmm_add_vcpu0,
 * vmm_load, vmm_finalize; vmm_build does them all) so that the attack suite
 * can stop at any lifecycle state and abuse it. Every page the VMM gives a VM
 * is remembered, so vmm_destroy can reclaim all of them.
 */
#ifndef TESTHOST_VMM_H
#define TESTHOST_VMM_H

#include "moat/abi.h"
#include "moat/hvc.h"
#include "testhost.h"

#define VMM_MMIO_BASE 0x08000000UL
#define VMM_MMIO_SIZE 0x08000000UL
#define VMM_UART 0x09000000UL
#define VMM_TESTDEV 0x0a000000UL
#define VMM_MEMCACHE_PAGES 16
#define VMM_LINE_MAX 160
#define VMM_EXPECT_MAX 16

/* ---- host pages ------------------------------------------------------------ */
/* Hand out free host RAM pages (zeroed), from the top of RAM downwards. */
u64 host_page_alloc(void);
/* Two pages, 8 KiB-aligned (a stage-2 root). */
u64 host_page_alloc_pair(void);
/* Pages handed out so far. */
u64 host_pages_used(void);
/* Never hand out [base, base + size): data a test found in RAM (QEMU -device loader). */
void host_pages_reserve(u64 base, u64 size);

/* ---- guest images ---------------------------------------------------------- */
struct guest_image {
	const char *name;
	const u8 *start;
	const u8 *end;
};
const struct guest_image *guest_image_find(const char *name);

/* ---- a VM under construction / running ------------------------------------- */
struct vmm_vm;
/* An MMIO exit outside the UART: fill run->u.mmio.value for reads; false stops the run loop. */
typedef bool (*vmm_mmio_fn)(struct vmm_vm *vm, struct moat_run *run);
/* Issue VCPU_RUN for vCPU 0 (a test may wrap the HVC to check registers around it). */
typedef struct moat_result (*vmm_enter_fn)(struct vmm_vm *vm);
/* Called for each page vmm_destroy_each reclaimed, right after its RECLAIM succeeded. */
typedef void (*vmm_page_fn)(u64 pa, void *ctx);
/* Called after vmm_donate gave the VM the host page pa at ipa. */
typedef void (*vmm_donated_fn)(struct vmm_vm *vm, u64 ipa, u64 pa);
/* An UNSHARE exit for ipa: the guest's page is still the host's until the VM runs again. */
typedef void (*vmm_unshare_fn)(struct vmm_vm *vm, u64 ipa);

struct vmm_vm {
	u64 handle;
	u64 type;
	u64 ram_size;
	u64 max_vcpus; /* set before vmm_create; 0 means 1 */
	u64 root_pa; /* the stage-2 root given at VM_CREATE (two pages) */
	u64 run_pa;
	u64 image_pa; /* the first page vmm_load gave the VM */
	const char *image; /* the guest image's name */
	/* 1 + the offset of an image byte vmm_load XORs with image_flip_mask (0: none): "another image". */
	u64 image_flip;
	u8 image_flip_mask;
	struct moat_run *run;
	/* Optional hooks: MMIO exits outside the UART, and how VCPU_RUN is issued. */
	vmm_mmio_fn mmio;
	vmm_enter_fn enter;
	vmm_donated_fn donated;
	vmm_unshare_fn unshare; /* this VMM maps nothing of a guest's, so it only runs the vCPU again */
	void *ctx;
	/* FINALIZE's x2: a page shared with the core holding the owner's signature blob (0: none). */
	u64 sig_pa;
	/* FINALIZE's x1..x3: the first 24 bytes of the measurement. */
	u64 measurement[3];
	/* Counters the tests assert on. */
	u64 exits, mmio_exits, mem_faults, wfi_exits, guest_faults, unshare_exits;
	u64 last_exit;
	u64 fault_ipa[4]; /* guest_fault.ipa of the first GUEST_FAULT exits */
	/* Identifies this VM's entries in the VMM's page log (0: none yet). */
	u32 log_tag;
	u64 nr_pages; /* pages given to the VM and not yet reclaimed */
	/* Normal VMs only: demand-page with SHARE_VM, so the host keeps (and can read) the pages. */
	bool share_ram;
	u64 shared_pages; /* pages lent with SHARE_VM; they return to the host at VM_DESTROY */
	bool console_echo; /* print guest output */
	const char *echo_prefix; /* put before each echoed line (NULL: nothing) */
	char line[VMM_LINE_MAX]; /* guest console line being assembled */
	unsigned int line_len;
	char last_line[VMM_LINE_MAX]; /* last complete guest line */
	/* Optional: NULL-terminated list of exact guest lines to look for; bit i of expect_seen when seen. */
	const char *const *expect;
	u32 expect_seen;
	/* Match vm->expect at the end of a line: a line the guest kernel logs starts with a timestamp. */
	bool expect_suffix;
};

/* VM_CREATE (root from host pages) and a memcache of VMM_MEMCACHE_PAGES. */
long vmm_create(struct vmm_vm *vm, u64 type, u64 ram_size);
/* Share a fresh run page with the core and create vCPU 0 on it. */
long vmm_add_vcpu0(struct vmm_vm *vm);
/* LOAD the named guest image at the start of RAM. */
long vmm_load(struct vmm_vm *vm, const char *image);
/* SET_BOOT (entry at the start of RAM, x0 = boot_x0) and FINALIZE with vm->sig_pa; keeps the measurement prefix. */
long vmm_finalize(struct vmm_vm *vm, u64 boot_x0);
/* FINALIZE alone, with the owner's signature blob in the shared page sig_pa (0: none); keeps the prefix. */
long vmm_finalize_signed(struct vmm_vm *vm, u64 sig_pa);
/* All of the above. */
long vmm_build(struct vmm_vm *vm, u64 type, const char *image, u64 ram_size, u64 boot_x0);

/* DONATE_CORE `pages` fresh host pages, one call each. */
long vmm_top_up(struct vmm_vm *vm, unsigned int pages);
/*
 * Give one zeroed host page at ipa (demand paging): DONATE_VM, or SHARE_VM
 * if vm->share_ram. Tops the memcache up once if it ran dry.
 */
long vmm_donate(struct vmm_vm *vm, u64 ipa);
/* Record a page the caller gave the VM itself, so that vmm_destroy reclaims it. */
void vmm_remember_page(struct vmm_vm *vm, u64 pa);

/* Drop a page from the VM's record: the host took it back itself (a guest relinquished it). */
void vmm_forget_page(struct vmm_vm *vm, u64 pa);

/* Run until SYSTEM_OFF/RESET, an error, or the mmio callback says stop; returns the last status. */
long vmm_run(struct vmm_vm *vm);
/* Serve one exit (reason = VCPU_RUN's x1); false: stop, with *status set on an error. */
bool vmm_handle_exit(struct vmm_vm *vm, u64 reason, long *status);
/* line is want, or with suffix set ends with it. */
bool vmm_line_matches(const char *line, const char *want, bool suffix);
/* True when every line of vm->expect was seen. */
bool vmm_expected_all(const struct vmm_vm *vm);

/*
 * For tests (failures reported with CHECK): run the VM until its guest
 * powers off and check that it did, cleanly, and printed every vm->expect
 * line. vmm_boot builds it first; it returns false only when the build
 * failed (then there is nothing to run or destroy).
 */
bool vmm_run_to_off(struct vmm_vm *vm);
bool vmm_boot(struct vmm_vm *vm, u64 type, const char *image, u64 ram_size, u64 boot_x0);

/* Destroy the VM and reclaim every page it had; returns the number of pages reclaimed or an error. */
long vmm_destroy(struct vmm_vm *vm);
/* The same, calling each(pa, ctx) for every page once it is reclaimed. */
long vmm_destroy_each(struct vmm_vm *vm, vmm_page_fn each, void *ctx);
/* The steps of vmm_destroy_each: VM_DESTROY alone, then RECLAIM + UNSHARE_CORE of the run page. */
long vmm_destroy_only(struct vmm_vm *vm);
long vmm_reclaim_all(struct vmm_vm *vm, vmm_page_fn each, void *ctx);
/* Call each(pa, ctx) for every page the VMM gave the VM (without reclaiming). */
void vmm_for_each_page(const struct vmm_vm *vm, vmm_page_fn each, void *ctx);


/* ---- core-wide counters ------------------------------------------------------ */
/* MOAT_FN_STATS for all three selectors: w[which][0..2] = x1..x3. */
struct vmm_stats {
	u64 w[3][3];
};
/* Read all three selectors; false if a STATS call failed. */
bool vmm_stats_read(struct vmm_stats *s);
bool vmm_stats_equal(const struct vmm_stats *a, const struct vmm_stats *b);
/* Print the selectors that differ, prefixed with `who`. */
void vmm_stats_print_diff(const char *who, const struct vmm_stats *a, const struct vmm_stats *b);

#endif
