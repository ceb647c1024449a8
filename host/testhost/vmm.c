/*
 * Test host VMM (see vmm.h). Single-threaded and simple on purpose: it is the
 * "host" side of the VM tests, and the attack tests reuse its pieces to set
 * up the states they then abuse.
 */
#include "vmm.h"

#include "lib.h"
#include "test.h"

#define GUEST_RAM MOAT_GUEST_RAM_BASE

/* ---- host pages ---------------------------------------------------------------- */

static struct memmap pages_map;
static bool pages_ready;
static u64 next_page; /* next candidate, walking down from the top of the last bank */
static u64 pages_used;

static void pages_init(void)
{
	struct fdt_range last = plat.info.mem[plat.info.nr_mem - 1];

	memmap_build(&pages_map);
	next_page = last.base + last.size - PAGE_SIZE;
	pages_ready = true;
}

u64 host_page_alloc(void)
{
	if (!pages_ready) {
		pages_init();
	}
	while (next_page >= plat.info.mem[0].base) {
		u64 pa = next_page;

		next_page -= PAGE_SIZE;
		if (memmap_page_free(&pages_map, pa)) {
			memset((void *)pa, 0, PAGE_SIZE);
			pages_used++;
			return pa;
		}
	}
	panic("vmm: out of host pages");
}

u64 host_page_alloc_pair(void)
{
	u64 a = host_page_alloc();

	for (;;) {
		u64 b = host_page_alloc();

		/* Walking down: b is just below a when both were free. Otherwise b may start the next pair. */
		if (b + PAGE_SIZE == a && IS_ALIGNED(b, 2 * PAGE_SIZE)) {
			return b;
		}
		a = b;
	}
}

u64 host_pages_used(void)
{
	return pages_used;
}

void host_pages_reserve(u64 base, u64 size)
{
	if (!pages_ready) {
		pages_init();
	}
	memmap_exclude(&pages_map, base, size);
}

/* ---- guest images ----------------------------------------------------------------- */

#define DECLARE_IMAGE(n) extern const u8 guest_##n##_start[], guest_##n##_end[];
#define IMAGE(n) { #n, guest_##n##_start, guest_##n##_end },
#define GUESTS(X)                                                                                                    \
	X(hello) X(memtouch) X(canary) X(regs) X(fault) X(mmio_sizes) X(fpsimd) X(bench) X(idregs) X(refuse) X(share)  \
		X(smp) X(vgic) X(mvcpu) X(pmu) X(debug) X(mmioguard)

GUESTS(DECLARE_IMAGE)
static const struct guest_image images[] = { GUESTS(IMAGE) };

const struct guest_image *guest_image_find(const char *name)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(images); i++) {
		if (!strcmp(images[i].name, name)) {
			return &images[i];
		}
	}
	return NULL;
}

/* ---- the page log ------------------------------------------------------------------ */

/*
 * Every page given to a VM (root, memcache, image, demand-paged RAM), tagged
 * with its VM, so that teardown can reclaim exactly those. One shared log
 * rather than a fixed array per VM: the attack suite fills the whole VM
 * table, memtouch alone needs more than 16384 entries.
 */
#define PAGE_LOG_MAX 65536

struct page_log_entry {
	u64 pa;
	u32 tag;
};

static struct page_log_entry page_log[PAGE_LOG_MAX];
static unsigned int page_log_used;
static u32 next_tag = 1;

void vmm_remember_page(struct vmm_vm *vm, u64 pa)
{
	if (!vm->log_tag) {
		vm->log_tag = next_tag++;
	}
	if (page_log_used >= PAGE_LOG_MAX) {
		panic("vmm: page log full");
	}
	page_log[page_log_used++] = (struct page_log_entry){ pa, vm->log_tag };
	vm->nr_pages++;
}

void vmm_forget_page(struct vmm_vm *vm, u64 pa)
{
	for (unsigned int i = 0; vm->log_tag && i < page_log_used; i++) {
		if (page_log[i].tag == vm->log_tag && page_log[i].pa == pa) {
			page_log[i] = page_log[--page_log_used];
			vm->nr_pages--;
			return;
		}
	}
}

void vmm_for_each_page(const struct vmm_vm *vm, vmm_page_fn each, void *ctx)
{
	for (unsigned int i = 0; vm->log_tag && i < page_log_used; i++) {
		if (page_log[i].tag == vm->log_tag) {
			each(page_log[i].pa, ctx);
		}
	}
}

/* ---- building a VM ----------------------------------------------------------------- */

long vmm_top_up(struct vmm_vm *vm, unsigned int pages)
{
	for (unsigned int i = 0; i < pages; i++) {
		u64 pa = host_page_alloc();
		struct moat_result r = moat_hvc(MOAT_FN_DONATE_CORE, vm->handle, pa, 1);

		if (r.status) {
			return r.status;
		}
		vmm_remember_page(vm, pa);
	}
	return MOAT_OK;
}

long vmm_create(struct vmm_vm *vm, u64 type, u64 ram_size)
{
	u64 root = host_page_alloc_pair();
	struct moat_result r;

	vm->type = type;
	vm->ram_size = ram_size;
	r = moat_hvc6(MOAT_FN_VM_CREATE, type, vm->max_vcpus ? vm->max_vcpus : 1, root, ram_size, VMM_MMIO_BASE,
		      VMM_MMIO_SIZE);
	if (r.status) {
		return r.status;
	}
	vm->handle = r.r1;
	vm->root_pa = root;
	vmm_remember_page(vm, root);
	vmm_remember_page(vm, root + PAGE_SIZE);
	return vmm_top_up(vm, VMM_MEMCACHE_PAGES);
}

long vmm_add_vcpu0(struct vmm_vm *vm)
{
	struct moat_result r;

	vm->run_pa = host_page_alloc();
	vm->run = (struct moat_run *)vm->run_pa;
	r = moat_hvc(MOAT_FN_SHARE_CORE, vm->run_pa, 0, 0);
	if (r.status) {
		vm->run_pa = 0;
		vm->run = NULL;
		return r.status;
	}
	return moat_hvc(MOAT_FN_VCPU_CREATE, vm->handle, 0, vm->run_pa).status;
}

long vmm_load(struct vmm_vm *vm, const char *image)
{
	const struct guest_image *img = guest_image_find(image);
	u64 size;

	if (!img) {
		return MOAT_E_NOENT;
	}
	vm->image = img->name;
	size = (u64)(img->end - img->start);
	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		u64 pa = host_page_alloc();
		struct moat_result r;

		memcpy((void *)pa, img->start + off, MIN(PAGE_SIZE, size - off));
		r = moat_hvc(MOAT_FN_LOAD, vm->handle, pa, GUEST_RAM + off);
		if (r.status) {
			return r.status;
		}
		vmm_remember_page(vm, pa);
		if (!off) {
			vm->image_pa = pa;
		}
	}
	return MOAT_OK;
}

long vmm_finalize(struct vmm_vm *vm, u64 boot_x0)
{
	struct moat_result r = moat_hvc(MOAT_FN_SET_BOOT, vm->handle, GUEST_RAM, boot_x0);

	if (r.status) {
		return r.status;
	}
	r = moat_hvc(MOAT_FN_FINALIZE, vm->handle, 0, 0);
	vm->measurement[0] = r.r1;
	vm->measurement[1] = r.r2;
	vm->measurement[2] = r.r3;
	return r.status;
}

long vmm_build(struct vmm_vm *vm, u64 type, const char *image, u64 ram_size, u64 boot_x0)
{
	long ret;

	if (!guest_image_find(image)) {
		return MOAT_E_NOENT;
	}
	ret = vmm_create(vm, type, ram_size);
	if (!ret) {
		ret = vmm_add_vcpu0(vm);
	}
	if (!ret) {
		ret = vmm_load(vm, image);
	}
	if (!ret) {
		ret = vmm_finalize(vm, boot_x0);
	}
	return ret;
}

long vmm_donate(struct vmm_vm *vm, u64 ipa)
{
	u64 fn = vm->share_ram ? MOAT_FN_SHARE_VM : MOAT_FN_DONATE_VM;
	u64 pa = host_page_alloc();
	struct moat_result r = moat_hvc(fn, vm->handle, pa, ipa);

	if (r.status == MOAT_E_NOMEM) {
		/* The memcache ran out of table pages: top it up and try once more. */
		r.status = vmm_top_up(vm, VMM_MEMCACHE_PAGES);
		if (!r.status) {
			r = moat_hvc(fn, vm->handle, pa, ipa);
		}
	}
	if (r.status) {
		return r.status;
	}
	if (vm->donated) {
		vm->donated(vm, ipa, pa);
	}
	/* A shared page stays the host's: nothing to reclaim. */
	if (vm->share_ram) {
		vm->shared_pages++;
	} else {
		vmm_remember_page(vm, pa);
	}
	return MOAT_OK;
}

/* ---- running ---------------------------------------------------------------------- */

/* line is want, or (suffix) ends with it. */
bool vmm_line_matches(const char *line, const char *want, bool suffix)
{
	size_t len = strlen(line), wlen = strlen(want);

	if (!suffix) {
		return !strcmp(line, want);
	}
	return len >= wlen && !strcmp(line + len - wlen, want);
}

static void line_done(struct vmm_vm *vm)
{
	vm->line[vm->line_len] = '\0';
	memcpy(vm->last_line, vm->line, vm->line_len + 1);
	if (vm->console_echo) {
		tprintf("%s%s\n", vm->echo_prefix ? vm->echo_prefix : "", vm->line);
	}
	for (unsigned int i = 0; vm->expect && vm->expect[i] && i < VMM_EXPECT_MAX; i++) {
		if (vmm_line_matches(vm->line, vm->expect[i], vm->expect_suffix)) {
			vm->expect_seen |= 1U << i;
		}
	}
	vm->line_len = 0;
}

static void console_write(struct vmm_vm *vm, char c)
{
	if (c == '\r') {
		return;
	}
	if (c == '\n' || vm->line_len + 1 >= sizeof(vm->line)) {
		line_done(vm);
		return;
	}
	vm->line[vm->line_len++] = c;
}

bool vmm_expected_all(const struct vmm_vm *vm)
{
	for (unsigned int i = 0; vm->expect && vm->expect[i] && i < VMM_EXPECT_MAX; i++) {
		if (!(vm->expect_seen & (1U << i))) {
			return false;
		}
	}
	return true;
}

/* The PL011: data register writes print; every read (flag register) says "not full". */
static bool uart_access(struct vmm_vm *vm, struct moat_run *run)
{
	if (run->u.mmio.is_write) {
		if (run->u.mmio.ipa == VMM_UART) {
			console_write(vm, (char)run->u.mmio.value);
		}
	} else {
		run->u.mmio.value = 0;
	}
	return true;
}

bool vmm_handle_exit(struct vmm_vm *vm, u64 reason, long *status)
{
	struct moat_run *run = vm->run;

	vm->exits++;
	vm->last_exit = reason;
	switch (reason) {
	case MOAT_EXIT_MMIO:
		vm->mmio_exits++;
		if (run->u.mmio.ipa >= VMM_UART && run->u.mmio.ipa < VMM_UART + PAGE_SIZE) {
			return uart_access(vm, run);
		}
		if (vm->mmio) {
			return vm->mmio(vm, run);
		}
		run->u.mmio.value = 0;
		return true;
	case MOAT_EXIT_MEM_FAULT:
		vm->mem_faults++;
		*status = vmm_donate(vm, run->u.mem_fault.ipa);
		return *status == MOAT_OK;
	case MOAT_EXIT_WFI:
		vm->wfi_exits++;
		return true;
	case MOAT_EXIT_GUEST_FAULT:
		if (vm->guest_faults < ARRAY_SIZE(vm->fault_ipa)) {
			vm->fault_ipa[vm->guest_faults] = run->u.guest_fault.ipa;
		}
		vm->guest_faults++;
		return true;
	case MOAT_EXIT_IRQ:
		return true;
	case MOAT_EXIT_UNSHARE:
		/* Nothing of the guest's is mapped anywhere here: running the vCPU again completes the unshare. */
		vm->unshare_exits++;
		if (vm->unshare) {
			vm->unshare(vm, run->u.unshare.ipa);
		}
		return true;
	default:
		return false;
	}
}

static struct moat_result enter_plain(struct vmm_vm *vm)
{
	return moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, 0, 0);
}

long vmm_run(struct vmm_vm *vm)
{
	vmm_enter_fn enter = vm->enter ? vm->enter : enter_plain;
	long status = MOAT_OK;

	for (;;) {
		struct moat_result r = enter(vm);

		if (r.status) {
			return r.status;
		}
		if (!vmm_handle_exit(vm, r.r1, &status)) {
			return status;
		}
	}
}

bool vmm_run_to_off(struct vmm_vm *vm)
{
	const char *image = vm->image ? vm->image : "?";
	bool ok = CHECK(vmm_run(vm) == MOAT_OK, "%s guest: the run loop stopped on an error", image);

	ok &= CHECK(vm->last_exit == MOAT_EXIT_SYSTEM_OFF, "%s guest: last exit %lu, not SYSTEM_OFF", image,
		    vm->last_exit);
	ok &= CHECK(vmm_expected_all(vm), "%s guest: expected lines missing (seen mask 0x%x)", image,
		    vm->expect_seen);
	return ok;
}

bool vmm_boot(struct vmm_vm *vm, u64 type, const char *image, u64 ram_size, u64 boot_x0)
{
	long ret = vmm_build(vm, type, image, ram_size, boot_x0);

	if (!CHECK(ret == MOAT_OK, "building the %s guest failed: %ld", image, ret)) {
		return false;
	}
	vmm_run_to_off(vm);
	return true;
}

/* ---- teardown ---------------------------------------------------------------------- */

long vmm_destroy_only(struct vmm_vm *vm)
{
	return moat_hvc(MOAT_FN_VM_DESTROY, vm->handle, 0, 0).status;
}

long vmm_reclaim_all(struct vmm_vm *vm, vmm_page_fn each, void *ctx)
{
	long reclaimed = 0;
	unsigned int i = 0;

	while (vm->log_tag && i < page_log_used) {
		struct moat_result r;

		if (page_log[i].tag != vm->log_tag) {
			i++;
			continue;
		}
		r = moat_hvc(MOAT_FN_RECLAIM, page_log[i].pa, 0, 0);
		if (r.status) {
			return r.status;
		}
		if (each) {
			each(page_log[i].pa, ctx);
		}
		/* Forget the entry: the last one takes its place and is looked at next. */
		page_log[i] = page_log[--page_log_used];
		vm->nr_pages--;
		reclaimed++;
	}
	if (vm->run_pa) {
		long ret = moat_hvc(MOAT_FN_UNSHARE_CORE, vm->run_pa, 0, 0).status;

		if (ret) {
			return ret;
		}
		vm->run_pa = 0;
		vm->run = NULL;
	}
	return reclaimed;
}

long vmm_destroy_each(struct vmm_vm *vm, vmm_page_fn each, void *ctx)
{
	long ret = vmm_destroy_only(vm);

	return ret ? ret : vmm_reclaim_all(vm, each, ctx);
}

long vmm_destroy(struct vmm_vm *vm)
{
	return vmm_destroy_each(vm, NULL, NULL);
}

/* ---- core-wide counters -------------------------------------------------------------- */

bool vmm_stats_read(struct vmm_stats *s)
{
	bool ok = true;

	for (u64 which = 0; which < 3; which++) {
		struct moat_result r = moat_hvc(MOAT_FN_STATS, which, 0, 0);

		ok &= r.status == MOAT_OK;
		s->w[which][0] = r.r1;
		s->w[which][1] = r.r2;
		s->w[which][2] = r.r3;
	}
	return ok;
}

bool vmm_stats_equal(const struct vmm_stats *a, const struct vmm_stats *b)
{
	return !memcmp(a, b, sizeof(*a));
}

void vmm_stats_print_diff(const char *who, const struct vmm_stats *a, const struct vmm_stats *b)
{
	for (unsigned int which = 0; which < 3; which++) {
		for (unsigned int i = 0; i < 3; i++) {
			if (a->w[which][i] != b->w[which][i]) {
				tprintf("%s: STATS(%u) x%u was %lu, now %lu\n", who, which, i + 1, a->w[which][i],
					b->w[which][i]);
			}
		}
	}
}
