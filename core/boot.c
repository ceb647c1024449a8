/*
 * Boot of the core on the boot CPU (DESIGN §3A): take the DTB, decide where
 * the core lives, turn on the EL2 MMU, build the page database and the host
 * stage 2, write the host's DTB and enter the host at EL1.
 *
 * Everything read from the DTB or the host image is input the core does not
 * control: any problem is reported in one clear line and the machine is
 * powered off, never left hanging.
 *
 * Lock: none. Runs on the boot CPU alone, before the host (or any other CPU)
 * can call into the core; what it writes (core_layout, the DTB copy) is
 * read-only afterwards.
 */
#include "boot.h"

#include <stdarg.h>

#include "arch.h"
#include "attest.h"
#include "cpu_power.h"
#include "fmt.h"
#include "host_mmio.h"
#include "host_s2.h"
#include "kdf.h"
#include "lib.h"
#include "log.h"
#include "moat/abi.h"
#include "pagedb.h"
#include "policy.h"
#include "trng.h"
#include "vcpu.h"

#define DTB_COPY_MAX (64 * 1024)
#define HOST_DEFAULT_ENTRY 0x41000000UL
#define IMAGE_MAGIC_OFFSET 0x38
#define IMAGE_MAGIC 0x644d5241U /* "ARM\x64" */

extern char __image_start[], __image_end[], __rodata_end[];

struct core_layout core_layout;
static u8 dtb_copy[DTB_COPY_MAX] __attribute__((aligned(8)));
static struct platform_info plat;
static struct page_pool boot_pool;

static void __attribute__((noreturn, format(printf, 1, 2))) fatal(const char *fmt, ...)
{
	char line[200];
	va_list ap;

	va_start(ap, fmt);
	fmt_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_err("fatal: %s", line);
	log_err("cannot continue; powering off");
	arch_power_off();
}

/* Validate the boot DTB in place, keep a compact copy, and parse the copy. */
static void load_device_tree(u64 dtb_pa)
{
	const void *blob = phys_to_virt(dtb_pa);
	const char *why = "";
	int ret;

	if (dtb_pa == 0 || !IS_ALIGNED(dtb_pa, 8)) {
		fatal("device tree address 0x%lx in x0 is null or misaligned", dtb_pa);
	}
	ret = fdt_check_header(blob, FDT_MAX_SIZE, &why);
	if (ret) {
		fatal("device tree at 0x%lx is invalid: %s (error %d)", dtb_pa, why, ret);
	}
	if (fdt_copy_compact(blob, dtb_copy, sizeof(dtb_copy))) {
		fatal("device tree at 0x%lx uses %u bytes; the core keeps at most %u", dtb_pa, fdt_used_size(blob),
		      DTB_COPY_MAX);
	}
	/* Everything below reads the core's own copy, never the host-visible original. */
	ret = fdt_check_header(dtb_copy, sizeof(dtb_copy), &why);
	if (!ret) {
		ret = fdt_parse_platform(dtb_copy, &plat, &why);
	}
	if (ret) {
		fatal("device tree at 0x%lx is invalid: %s (error %d)", dtb_pa, why, ret);
	}
}

static bool ranges_overlap(u64 a_start, u64 a_end, u64 b_start, u64 b_end)
{
	return a_start < b_end && b_start < a_end;
}

static u64 ram_bytes(const struct platform_info *p)
{
	u64 total = 0;

	for (unsigned int i = 0; i < p->nr_mem; i++) {
		total += p->mem[i].size;
	}
	return total;
}

static void plan_core_region(struct core_layout *l)
{
	struct fdt_range first = plat.mem[0], last = plat.mem[plat.nr_mem - 1];
	u64 data_size;

	l->base = virt_to_phys(__image_start);
	l->image_end = ALIGN_UP(virt_to_phys(__image_end), PAGE_SIZE);
	l->image_region_end = ALIGN_UP(l->image_end, SZ_2M);
	l->pagedb_size = ALIGN_UP(pagedb_storage_bytes(&plat), PAGE_SIZE);
	l->heap_size = (ram_bytes(&plat) / SZ_2M + ram_bytes(&plat) / SZ_1G + 2 + BOOT_POOL_FIXED_PAGES) * PAGE_SIZE;
	data_size = ALIGN_UP(l->pagedb_size + l->heap_size, SZ_2M);
	l->data_end = ALIGN_DOWN(last.base + last.size, SZ_2M);
	l->data_base = l->data_end - data_size;
	l->pagedb = l->data_base;
	l->heap = l->pagedb + l->pagedb_size;
	if (!IS_ALIGNED(l->base, SZ_2M) || l->base < first.base || l->image_region_end > first.base + first.size) {
		fatal("core image 0x%lx-0x%lx is not 2 MiB-aligned inside the first RAM bank 0x%lx-0x%lx", l->base,
		      l->image_end, first.base, first.base + first.size);
	}
	if (data_size > last.size || l->data_base < last.base || ranges_overlap(l->base, l->image_region_end,
										 l->data_base, l->data_end)) {
		fatal("RAM too small for the core's data region (%lu KiB)", data_size >> 10);
	}
}

static void init_ownership(const struct core_layout *l)
{
	memset(phys_to_virt(l->pagedb), 0, l->pagedb_size);
	if (pagedb_init(&plat, phys_to_virt(l->pagedb), l->pagedb_size)) {
		fatal("page database does not fit its storage");
	}
	pagedb_set_range(l->base, l->image_region_end - l->base, OWNER_CORE, PAGE_OWNED);
	pagedb_set_range(l->data_base, l->data_end - l->data_base, OWNER_CORE, PAGE_OWNED);
	page_pool_init(&boot_pool, l->heap, l->heap_size);
}

static void check_dtb_outside_core(u64 dtb_pa)
{
	u64 end = dtb_pa + fdt_total_size(phys_to_virt(dtb_pa));

	if (ranges_overlap(dtb_pa, end, core_layout.base, core_layout.image_region_end) ||
	    ranges_overlap(dtb_pa, end, core_layout.data_base, core_layout.data_end)) {
		fatal("device tree 0x%lx-0x%lx overlaps the core's memory", dtb_pa, end);
	}
}

/* The host image: moat.host=ADDR in bootargs, else the default; must be an arm64 Image in host RAM. */
static u64 find_host_image(void)
{
	char value[32];
	u64 entry = HOST_DEFAULT_ENTRY;
	struct page_info *page;

	if (bootargs_get(plat.bootargs, "moat.host", value, sizeof(value)) &&
	    !parse_u64(value, strlen(value), &entry)) {
		fatal("bootargs moat.host=%s is not a number", value);
	}
	page = pagedb_lookup(entry);
	if (!IS_ALIGNED(entry, SZ_2M) || !page || page->owner != OWNER_HOST || !pagedb_lookup(entry + 0x40)) {
		fatal("host image address 0x%lx is not a 2 MiB-aligned address in host RAM", entry);
	}
	if (*(volatile u32 *)phys_to_virt(entry + IMAGE_MAGIC_OFFSET) != IMAGE_MAGIC) {
		fatal("no arm64 Image at 0x%lx (magic missing): load the host there", entry);
	}
	return entry;
}

/*
 * Seed the core's DRBG (trng.c) from the firmware's /chosen/rng-seed and
 * kaslr-seed, then forget them: the host's DTB gets seeds of its own
 * (write_host_dtb), the core's copy of the boot DTB is wiped once written.
 * The device secret, if any, adds its own share (attest_init).
 */
static void seed_entropy(void)
{
	u8 material[PLAT_SEED_MAX + 8];
	u32 len = plat.rng_seed_len;

	memcpy(material, plat.rng_seed, len);
	if (plat.have_kaslr_seed) {
		memcpy(material + len, &plat.kaslr_seed, 8);
		len += 8;
	}
	if (len) {
		trng_seed(material, len);
	}
	log_info("entropy: DRBG seeded with %u bytes of /chosen rng-seed and kaslr-seed%s", len,
		 len ? "" : " (none: guests' TRNG has no entropy unless a device secret seeds it)");
	secret_wipe(material, sizeof(material));
	secret_wipe(plat.rng_seed, sizeof(plat.rng_seed));
	secret_wipe(&plat.kaslr_seed, sizeof(plat.kaslr_seed));
}

/*
 * The device secret (docs/attestation.md): 32 bytes that the firmware -- here
 * QEMU's loader, -device loader,file=SECRET,addr=ADDR,force-raw=on -- put at
 * the page bootargs moat.secret=ADDR names. The page becomes the core's
 * before anything derives from it, and is wiped (and cleaned to PoC, so that
 * no dirty line or stale memory keeps a copy) before it goes back to the
 * host: the host stage 2 is built after this, so the host never maps it
 * while it holds the secret. Without moat.secret, or with an all-zero page
 * (bootargs but no loader), the core runs without identity.
 */
static void take_device_secret(u64 dtb_pa)
{
	u64 pa, dtb_end = dtb_pa + fdt_total_size(phys_to_virt(dtb_pa));
	struct page_info *page;
	char value[32];
	u8 *secret;

	if (!bootargs_get(plat.bootargs, "moat.secret", value, sizeof(value))) {
		attest_init(__image_start, (size_t)(__rodata_end - __image_start), NULL);
		return;
	}
	if (!parse_u64(value, strlen(value), &pa)) {
		fatal("bootargs moat.secret=%s is not a number", value);
	}
	page = pagedb_lookup(pa);
	if (!IS_ALIGNED(pa, PAGE_SIZE) || !page || page->owner != OWNER_HOST ||
	    ranges_overlap(pa, pa + PAGE_SIZE, dtb_pa, dtb_end)) {
		fatal("device secret address 0x%lx is not a page of host RAM outside the device tree", pa);
	}
	pagedb_set_range(pa, PAGE_SIZE, OWNER_CORE, PAGE_OWNED);
	secret = phys_to_virt(pa);
	/* Written by the loader with the MMU off: read memory, not a line cached before. */
	arch_dcache_clean_inval_poc(pa, PAGE_SIZE);
	if (!attest_init(__image_start, (size_t)(__rodata_end - __image_start), secret)) {
		log_info("device secret page 0x%lx is empty: no identity", pa);
	}
	secret_wipe(secret, PAGE_SIZE);
	arch_dcache_clean_poc(pa, PAGE_SIZE);
	pagedb_set_range(pa, PAGE_SIZE, OWNER_HOST, PAGE_OWNED);
}

/* Write the host's DTB over the original: compact, with the core reserved and fw_cfg gone. */
static void write_host_dtb(u64 dtb_pa)
{
	struct fdt_host_edit edit = {
		.core_reserved = { { core_layout.base, core_layout.image_region_end - core_layout.base },
				   { core_layout.data_base, core_layout.data_end - core_layout.data_base } },
		.drop_fw_cfg = true,
		.initrd_start = plat.initrd_start,
		.initrd_end = plat.initrd_end,
	};
	u64 room = fdt_total_size(phys_to_virt(dtb_pa));
	u8 host_seed[PLAT_SEED_MAX];
	const char *why = "";
	size_t size = 0;
	int ret;

	/* The host's seeds: DRBG output, from which the core's own seed cannot be recovered. */
	if (trng_generate(host_seed, sizeof(host_seed)) &&
	    trng_generate(&edit.host_kaslr_seed, sizeof(edit.host_kaslr_seed))) {
		edit.host_seed = host_seed;
	}
	ret = fdt_write_host_dtb(dtb_copy, phys_to_virt(dtb_pa), room, &edit, &size, &why);
	if (ret) {
		fatal("cannot write the host device tree at 0x%lx: %s (error %d)", dtb_pa, why, ret);
	}
	/*
	 * The original's seeds must not survive past the compact copy's end, nor in
	 * the core's copy of the boot DTB (needed no more).
	 */
	memset((u8 *)phys_to_virt(dtb_pa) + size, 0, room - size);
	secret_wipe(dtb_copy, sizeof(dtb_copy));
	secret_wipe(host_seed, sizeof(host_seed));
	/* The host starts with its MMU off: it reads memory, not our cache. */
	arch_dcache_clean_poc(dtb_pa, room);
	log_info("host device tree at 0x%lx (%lu bytes): core memory reserved, fw_cfg removed, seeds %s", dtb_pa,
		 (u64)size, edit.host_seed ? "the host's own" : "none");
}

static void report_host_s2(void)
{
	struct host_s2_coverage c;
	u64 blocks, permille;

	host_s2_ram_coverage(&c);
	blocks = c.by_level[1] + c.by_level[2];
	permille = c.ram_bytes ? blocks * 1000 / c.ram_bytes : 0;
	log_info("host stage-2: RAM %lu MiB host-owned: 1G blocks %lu MiB, 2M blocks %lu MiB, 4K pages %lu KiB, "
		 "unmapped %lu KiB; %lu.%lu%% in blocks >= 2 MiB",
		 c.ram_bytes >> 20, c.by_level[1] >> 20, c.by_level[2] >> 20, c.by_level[3] >> 10, c.unmapped >> 10,
		 permille / 10, permille % 10);
	CHECK(c.unmapped == 0);
}

#ifdef MOAT_PANIC_TEST
/* Test image only: a write to the core's own text must fault (W^X) and show the panic dump. */
static void deliberate_core_fault(void)
{
	log_info("panic test: writing to core text at 0x%lx", virt_to_phys(__image_start));
	*(volatile u32 *)__image_start = 0;
}
#endif

void boot_main(u64 dtb_pa)
{
	u64 entry;
	int ret;

#ifdef MOAT_POISON_SYSREGS
	arch_poison_sysregs();
	log_info("test build: system registers poisoned before initialisation");
#endif
	log_info("moat %u.%u starting at EL2, device tree at 0x%lx", MOAT_ABI_VERSION_MAJOR, MOAT_ABI_VERSION_MINOR,
		 dtb_pa);
	load_device_tree(dtb_pa);
	if (plat.uart.size) {
		arch_console_set_base(plat.uart.base);
	}
	plan_core_region(&core_layout);
	log_info("%u RAM bank(s), %u CPU(s); core image 0x%lx-0x%lx (%lu KiB used), core data 0x%lx-0x%lx "
		 "(page database %lu KiB, boot pool %lu KiB)",
		 plat.nr_mem, plat.nr_cpus, core_layout.base, core_layout.image_region_end,
		 (core_layout.image_end - core_layout.base) >> 10, core_layout.data_base, core_layout.data_end,
		 core_layout.pagedb_size >> 10, core_layout.heap_size >> 10);
	check_dtb_outside_core(dtb_pa);
	arch_cpu_features_report();
	init_ownership(&core_layout);
	ret = arch_mmu_init(&core_layout, &plat, &boot_pool);
	if (ret) {
		fatal("cannot build the EL2 page tables (error %d)", ret);
	}
	log_enable_locking();
	seed_entropy();
	/*
	 * Before the host runs: nothing it does can change the owner's policy
	 * afterwards; and before the identity, which is bound to the policy.
	 */
	policy_init(plat.bootargs);
	take_device_secret(dtb_pa);
#ifdef MOAT_PANIC_TEST
	deliberate_core_fault();
#endif
	ret = host_mmio_init(&plat);
	if (ret) {
		fatal("cannot emulate the redistributors (error %d): LPIs would bypass stage 2", ret);
	}
	ret = host_s2_init(&plat, &boot_pool);
	if (ret) {
		fatal("cannot build the host stage-2 table (error %d)", ret);
	}
	report_host_s2();
	cpu_power_init(&plat);
	entry = find_host_image();
	write_host_dtb(dtb_pa);
	log_info("entering host at 0x%lx (EL1h), boot pool %lu pages free, per-vCPU state: %lu bytes", entry,
		 boot_pool.nr_free, (u64)sizeof(struct vcpu));
	arch_enter_host(entry, dtb_pa, virt_to_phys(host_s2()->root));
}
