/*
 * Test host VMM: builds VMs through the moat host ABI, serves their exits
 * (PL011 console, demand paging, test devices) and tears them down. Used by
 * the VM integration tests, the attack suite and the benchmarks; the real
 * VMM (moat-vmm) comes later with the Linux host.
 *
 * Guest layout (see guest/README.md): RAM at 0x40000000, image loaded there,
 * MMIO window 0x08000000..0x10000000 with the PL011 at 0x09000000 and the
 * test device at 0x0a000000.
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

/* ---- host pages ------------------------------------------------------------ */
/* Hand out free host RAM pages (zeroed), from the top of RAM downwards. */
u64 host_page_alloc(void);
/* Two pages, 8 KiB-aligned (a stage-2 root). */
u64 host_page_alloc_pair(void);
/* Pages handed out so far. */
u64 host_pages_used(void);

/* ---- guest images ---------------------------------------------------------- */
struct guest_image {
	const char *name;
	const u8 *start;
	const u8 *end;
};
const struct guest_image *guest_image_find(const char *name);

/* ---- a VM under construction / running ------------------------------------- */
struct vmm_vm;
typedef bool (*vmm_mmio_fn)(struct vmm_vm *vm, struct moat_run *run);

struct vmm_vm {
	u64 handle;
	u64 type;
	u64 ram_size;
	u64 run_pa;
	struct moat_run *run;
	/* Optional: called for MMIO exits outside the UART; return false to stop the run loop. */
	vmm_mmio_fn mmio;
	void *ctx;
	/* Counters the tests assert on. */
	u64 exits, mmio_exits, mem_faults, wfi_exits, guest_faults;
	u64 last_exit;
	/* Pages given to the VM (for reclaim after destroy). */
	u64 *pages;
	u64 nr_pages, max_pages;
	bool console_echo; /* print guest output (prefixed) */
	char line[160];	   /* guest console line being assembled */
	unsigned int line_len;
	char last_line[160]; /* last complete guest line */
};

/* Create, top up the memcache, create vCPU 0 with a run page, LOAD the image, SET_BOOT, FINALIZE. */
long vmm_build(struct vmm_vm *vm, u64 type, const char *image, u64 ram_size, u64 boot_x0);
/* Run until SYSTEM_OFF/RESET, an error, or the mmio callback says stop; returns the last status. */
long vmm_run(struct vmm_vm *vm);
/* Destroy the VM and reclaim every page it had; returns the number of pages reclaimed or an error. */
long vmm_destroy(struct vmm_vm *vm);
/* Donate one zeroed host page at ipa (demand paging). */
long vmm_donate(struct vmm_vm *vm, u64 ipa);

#endif
