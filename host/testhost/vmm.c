/*
 * Test host VMM (see vmm.h). Single-threaded and simple on purpose: it is the
 * "host" side of the VM tests, and the attack tests reuse its pieces to set
 * up the states they then abuse.
 */
#include "vmm.h"

#include "lib.h"

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
	for (;;) {
		u64 a = host_page_alloc();
		u64 b = host_page_alloc();

		/* Walking down: b is just below a when both were free. */
		if (b + PAGE_SIZE == a && IS_ALIGNED(b, 2 * PAGE_SIZE)) {
			return b;
		}
	}
}

u64 host_pages_used(void)
{
	return pages_used;
}

/* ---- guest images ----------------------------------------------------------------- */

#define DECLARE_IMAGE(n) extern const u8 guest_##n##_start[], guest_##n##_end[];
#define IMAGE(n) { #n, guest_##n##_start, guest_##n##_end },
#define GUESTS(X) X(hello) X(memtouch) X(canary) X(regs) X(fault) X(mmio_sizes) X(fpsimd) X(bench)

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

/* ---- building a VM ----------------------------------------------------------------- */

static void remember_page(struct vmm_vm *vm, u64 pa)
{
	static u64 page_log[8][32768];
	static unsigned int logs_used;

	if (!vm->pages) {
		if (logs_used >= ARRAY_SIZE(page_log)) {
			panic("vmm: too many VMs");
		}
		vm->pages = page_log[logs_used++];
		vm->max_pages = ARRAY_SIZE(page_log[0]);
	}
	if (vm->nr_pages < vm->max_pages) {
		vm->pages[vm->nr_pages++] = pa;
	}
}

static long load_image(struct vmm_vm *vm, const struct guest_image *img)
{
	u64 size = (u64)(img->end - img->start);

	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		u64 pa = host_page_alloc();
		struct moat_result r;

		memcpy((void *)pa, img->start + off, MIN(PAGE_SIZE, size - off));
		r = moat_hvc(MOAT_FN_LOAD, vm->handle, pa, GUEST_RAM + off);
		if (r.status) {
			return r.status;
		}
		remember_page(vm, pa);
	}
	return MOAT_OK;
}

static long top_up_memcache(struct vmm_vm *vm, unsigned int pages)
{
	for (unsigned int i = 0; i < pages; i++) {
		u64 pa = host_page_alloc();
		struct moat_result r = moat_hvc(MOAT_FN_DONATE_CORE, vm->handle, pa, 1);

		if (r.status) {
			return r.status;
		}
		remember_page(vm, pa);
	}
	return MOAT_OK;
}

static long create_vcpu0(struct vmm_vm *vm)
{
	struct moat_result r;

	vm->run_pa = host_page_alloc();
	vm->run = (struct moat_run *)vm->run_pa;
	r = moat_hvc(MOAT_FN_SHARE_CORE, vm->run_pa, 0, 0);
	if (!r.status) {
		r = moat_hvc(MOAT_FN_VCPU_CREATE, vm->handle, 0, vm->run_pa);
	}
	return r.status;
}

long vmm_build(struct vmm_vm *vm, u64 type, const char *image, u64 ram_size, u64 boot_x0)
{
	const struct guest_image *img = guest_image_find(image);
	u64 root = host_page_alloc_pair();
	struct moat_result r;
	long ret;

	if (!img) {
		return MOAT_E_NOENT;
	}
	vm->type = type;
	vm->ram_size = ram_size;
	r = moat_hvc6(MOAT_FN_VM_CREATE, type, 1, root, ram_size, VMM_MMIO_BASE, VMM_MMIO_SIZE);
	if (r.status) {
		return r.status;
	}
	vm->handle = r.r1;
	remember_page(vm, root);
	remember_page(vm, root + PAGE_SIZE);
	ret = top_up_memcache(vm, VMM_MEMCACHE_PAGES);
	if (!ret) {
		ret = create_vcpu0(vm);
	}
	if (!ret) {
		ret = load_image(vm, img);
	}
	if (!ret) {
		ret = moat_hvc(MOAT_FN_SET_BOOT, vm->handle, GUEST_RAM, boot_x0).status;
	}
	if (!ret) {
		ret = moat_hvc(MOAT_FN_FINALIZE, vm->handle, 0, 0).status;
	}
	return ret;
}

long vmm_donate(struct vmm_vm *vm, u64 ipa)
{
	u64 pa = host_page_alloc();
	struct moat_result r = moat_hvc(MOAT_FN_DONATE_VM, vm->handle, pa, ipa);

	if (r.status == MOAT_E_NOMEM) {
		/* The memcache ran out of table pages: top it up and try once more. */
		r.status = top_up_memcache(vm, VMM_MEMCACHE_PAGES);
		if (!r.status) {
			r = moat_hvc(MOAT_FN_DONATE_VM, vm->handle, pa, ipa);
		}
	}
	if (!r.status) {
		remember_page(vm, pa);
	}
	return r.status;
}

/* ---- running ---------------------------------------------------------------------- */

static void console_write(struct vmm_vm *vm, char c)
{
	if (c == '\r') {
		return;
	}
	if (c == '\n' || vm->line_len + 1 >= sizeof(vm->line)) {
		vm->line[vm->line_len] = '\0';
		memcpy(vm->last_line, vm->line, vm->line_len + 1);
		if (vm->console_echo) {
			tprintf("%s\n", vm->line);
		}
		vm->line_len = 0;
		return;
	}
	vm->line[vm->line_len++] = c;
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

static bool handle_exit(struct vmm_vm *vm, u64 reason, long *status)
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
		vm->guest_faults++;
		return true;
	case MOAT_EXIT_IRQ:
		return true;
	default:
		return false;
	}
}

long vmm_run(struct vmm_vm *vm)
{
	long status = MOAT_OK;

	for (;;) {
		struct moat_result r = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, 0, 0);

		if (r.status) {
			return r.status;
		}
		if (!handle_exit(vm, r.r1, &status)) {
			return status;
		}
	}
}

long vmm_destroy(struct vmm_vm *vm)
{
	struct moat_result r = moat_hvc(MOAT_FN_VM_DESTROY, vm->handle, 0, 0);
	long reclaimed = 0;

	if (r.status) {
		return r.status;
	}
	for (u64 i = 0; i < vm->nr_pages; i++) {
		r = moat_hvc(MOAT_FN_RECLAIM, vm->pages[i], 0, 0);
		if (r.status) {
			return r.status;
		}
		reclaimed++;
	}
	r = moat_hvc(MOAT_FN_UNSHARE_CORE, vm->run_pa, 0, 0);
	return r.status ? r.status : reclaimed;
}
