/*
 * Virtual machines (see vm.h): the VM table, handles, lifecycle, measurement
 * and the host calls that configure VMs and move memory to and from them.
 *
 * Lock order: pagedb_lock, then vm->lock. Host calls that touch pages take
 * both for their whole duration; nothing here runs a guest.
 */
#include "vm.h"

#include "arch.h"
#include "host_call.h"
#include "lib.h"
#include "log.h"
#include "mem.h"
#include "moat/abi.h"
#include "pagedb.h"
#include "vcpu.h"

static struct vm vms[MAX_VMS];

void vm_table_init(void)
{
	memset(vms, 0, sizeof(vms));
}

struct vm *vm_slot(unsigned int slot)
{
	return slot < MAX_VMS && vms[slot].state != VM_FREE ? &vms[slot] : NULL;
}

u64 vm_handle(const struct vm *vm)
{
	return MOAT_HANDLE(vm->slot, vm->generation);
}

struct vm *vm_from_handle(u64 handle, int *err)
{
	u64 slot = handle & 0xffff;
	u64 generation = (handle >> 16) & 0xffff;

	if ((handle >> 32) || slot >= MAX_VMS) {
		*err = MOAT_E_NOENT;
		return NULL;
	}
	/*
	 * Any other life of this slot than the current one: the VM the handle
	 * named is gone (or the handle was never issued). Generations are 16 bits
	 * and wrap after 65536 lives of one slot; handles only protect the host
	 * from its own mistakes (every VM is the host's), so a wrap is harmless.
	 */
	if (vms[slot].generation != generation) {
		*err = MOAT_E_STALE;
		return NULL;
	}
	if (vms[slot].state == VM_FREE) {
		*err = MOAT_E_NOENT;
		return NULL;
	}
	return &vms[slot];
}

bool vm_is_protected(const struct vm *vm)
{
	return vm->type == MOAT_VM_PROTECTED;
}

bool vm_ipa_in_ram(const struct vm *vm, u64 ipa)
{
	return ipa >= MOAT_GUEST_RAM_BASE && ipa - MOAT_GUEST_RAM_BASE < vm->ram_size;
}

bool vm_ipa_in_mmio(const struct vm *vm, u64 ipa)
{
	return ipa >= vm->mmio_base && ipa - vm->mmio_base < vm->mmio_size;
}

void *memcache_alloc(struct vm *vm)
{
	void *page;

	if (!vm->memcache.count) {
		return NULL;
	}
	page = phys_to_virt(vm->memcache.head);
	vm->memcache.head = *(u64 *)page;
	vm->memcache.count--;
	memset(page, 0, PAGE_SIZE);
	return page;
}

void memcache_free(struct vm *vm, void *page)
{
	*(u64 *)page = vm->memcache.head;
	vm->memcache.head = virt_to_phys(page);
	vm->memcache.count++;
}

static void *memcache_alloc_cb(void *ctx)
{
	return memcache_alloc(ctx);
}

static void memcache_free_cb(void *ctx, void *page)
{
	memcache_free(ctx, page);
}

/* ---- host calls ------------------------------------------------------------ */

/* Look up args->a[0] as a handle and lock the page database and the VM. */
static struct vm *lock_vm(struct host_call_args *args, int *err)
{
	struct vm *vm;

	spin_lock(&pagedb_lock);
	vm = vm_from_handle(args->a[0], err);
	if (!vm) {
		spin_unlock(&pagedb_lock);
		return NULL;
	}
	spin_lock(&vm->lock);
	return vm;
}

static int unlock_vm(struct vm *vm, int ret)
{
	spin_unlock(&vm->lock);
	spin_unlock(&pagedb_lock);
	return ret;
}

static int check_vm_config(u64 type, u64 max_vcpus, u64 root_pa, u64 ram_size, u64 mmio_base, u64 mmio_size)
{
	u64 ipa_limit = 1UL << VM_IPA_BITS;

	if (type != MOAT_VM_NORMAL && type != MOAT_VM_PROTECTED) {
		return MOAT_E_INVAL;
	}
	if (max_vcpus == 0 || max_vcpus > MAX_VCPUS) {
		return MOAT_E_RANGE;
	}
	if (!IS_ALIGNED(root_pa, 2 * PAGE_SIZE) || !IS_ALIGNED(ram_size | mmio_base | mmio_size, PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	if (ram_size == 0 || ram_size > ipa_limit - MOAT_GUEST_RAM_BASE) {
		return MOAT_E_RANGE;
	}
	if (mmio_size && (mmio_base >= ipa_limit || mmio_size > ipa_limit - mmio_base ||
			  (mmio_base < MOAT_GUEST_RAM_BASE + ram_size && MOAT_GUEST_RAM_BASE < mmio_base + mmio_size))) {
		return MOAT_E_RANGE;
	}
	return MOAT_OK;
}

static struct vm *free_slot(void)
{
	for (unsigned int i = 0; i < MAX_VMS; i++) {
		if (vms[i].state == VM_FREE) {
			return &vms[i];
		}
	}
	return NULL;
}

static void measure_config(struct vm *vm)
{
	u64 config[5] = { vm->type, vm->max_vcpus, vm->ram_size, vm->mmio_base, vm->mmio_size };

	sha256_init(&vm->measure);
	sha256_update(&vm->measure, "moat-vm-v1", 10);
	sha256_update(&vm->measure, config, sizeof(config));
}

static void init_vm(struct vm *vm, struct host_call_args *args, u64 root_pa)
{
	struct pgt_allocator alloc = { memcache_alloc_cb, memcache_free_cb, vm };
	u16 generation = vm->generation;
	u16 slot = (u16)(vm - vms);

	memset(vm, 0, sizeof(*vm));
	vm->slot = slot;
	vm->generation = generation;
	vm->type = (u8)args->a[0];
	vm->max_vcpus = (u32)args->a[1];
	vm->ram_size = args->a[3];
	vm->mmio_base = args->a[4];
	vm->mmio_size = args->a[5];
	for (unsigned int i = 0; i < MAX_CPUS; i++) {
		vm->last_vcpu[i] = -1;
	}
	mem_s2_init(&vm->s2, root_pa, (u16)(slot + 1), &alloc); /* VMID 0 is the host's */
	measure_config(vm);
	vm->state = VM_CREATED;
}

int hc_vm_create(struct host_call_args *args)
{
	struct vm *vm;
	int ret = check_vm_config(args->a[0], args->a[1], args->a[2], args->a[3], args->a[4], args->a[5]);

	if (ret) {
		return ret;
	}
	spin_lock(&pagedb_lock);
	ret = mem_check_root(args->a[2]);
	vm = ret ? NULL : free_slot();
	if (!ret && !vm) {
		ret = MOAT_E_NOMEM;
	}
	if (!ret) {
		init_vm(vm, args, args->a[2]);
		/* After init_vm, which clears the VM's page index: the root pages go on it. */
		CHECK(mem_take_root(vm, args->a[2]) == MOAT_OK);
		/* A reused VMID may still have TLB entries from the slot's previous VM. */
		arch_s2_flush_vmid(&vm->s2);
		args->res[0] = vm_handle(vm);
		log_info("vm%u created: %s, %u vCPU(s), RAM %lu MiB, MMIO 0x%lx+0x%lx", vm->slot,
			 vm_is_protected(vm) ? "protected" : "normal", vm->max_vcpus, vm->ram_size >> 20, vm->mmio_base,
			 vm->mmio_size);
	}
	spin_unlock(&pagedb_lock);
	return ret;
}

int hc_vm_destroy(struct host_call_args *args)
{
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	for (unsigned int i = 0; i < MAX_VCPUS; i++) {
		if (vm->vcpus[i] && vm->vcpus[i]->loaded) {
			return unlock_vm(vm, MOAT_E_BUSY);
		}
	}
	for (unsigned int i = 0; i < MAX_VCPUS; i++) {
		if (vm->vcpus[i]) {
			mem_detach_run_page(vm->vcpus[i]->run_pa);
		}
	}
	/* No stage-1 or stage-2 entry of this VMID may outlive its pages. */
	arch_s2_flush_vmid(&vm->s2);
	mem_vm_teardown(vm);
	log_info("vm%u destroyed: its pages wait for RECLAIM (scrubbed on the way back)", vm->slot);
	vm->state = VM_FREE;
	vm->generation++;
	return unlock_vm(vm, MOAT_OK);
}

int hc_donate_core(struct host_call_args *args)
{
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	return unlock_vm(vm, mem_donate_core(vm, args->a[1], args->a[2]));
}

static int give_vm(struct host_call_args *args, enum vm_page_kind kind)
{
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	if (kind == VM_PAGE_MEASURED && vm->state != VM_CREATED) {
		return unlock_vm(vm, MOAT_E_STATE);
	}
	if (kind == VM_PAGE_SHARED && vm_is_protected(vm)) {
		return unlock_vm(vm, MOAT_E_PERM);
	}
	return unlock_vm(vm, mem_give_vm(vm, args->a[1], args->a[2], kind));
}

int hc_donate_vm(struct host_call_args *args)
{
	return give_vm(args, VM_PAGE_ZEROED);
}

int hc_load(struct host_call_args *args)
{
	return give_vm(args, VM_PAGE_MEASURED);
}

int hc_share_vm(struct host_call_args *args)
{
	return give_vm(args, VM_PAGE_SHARED);
}

int hc_share_core(struct host_call_args *args)
{
	int ret;

	spin_lock(&pagedb_lock);
	ret = mem_share_core(args->a[0]);
	spin_unlock(&pagedb_lock);
	return ret;
}

int hc_unshare_core(struct host_call_args *args)
{
	int ret;

	spin_lock(&pagedb_lock);
	ret = mem_unshare_core(args->a[0]);
	spin_unlock(&pagedb_lock);
	return ret;
}

int hc_reclaim(struct host_call_args *args)
{
	int ret;

	spin_lock(&pagedb_lock);
	ret = mem_reclaim(args->a[0]);
	spin_unlock(&pagedb_lock);
	return ret;
}

int hc_set_boot(struct host_call_args *args)
{
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	if (vm->state != VM_CREATED) {
		return unlock_vm(vm, MOAT_E_STATE);
	}
	if (!IS_ALIGNED(args->a[1], 4)) {
		return unlock_vm(vm, MOAT_E_ALIGN);
	}
	if (!vm_ipa_in_ram(vm, args->a[1])) {
		return unlock_vm(vm, MOAT_E_RANGE);
	}
	vm->boot_pc = args->a[1];
	vm->boot_x0 = args->a[2];
	vm->boot_set = true;
	return unlock_vm(vm, MOAT_OK);
}

static void boot_vcpu0(struct vm *vm)
{
	struct cpu_regs *regs = &vm->vcpus[0]->ctx.regs;

	regs->x[0] = vm->boot_x0;
	regs->elr = vm->boot_pc;
}

int hc_finalize(struct host_call_args *args)
{
	u64 boot[2];
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	if (vm->state != VM_CREATED || !vm->vcpus[0] || !vm->boot_set) {
		return unlock_vm(vm, MOAT_E_STATE);
	}
	boot[0] = vm->boot_pc;
	boot[1] = vm->boot_x0;
	sha256_update(&vm->measure, boot, sizeof(boot));
	sha256_final(&vm->measure, vm->measurement);
	boot_vcpu0(vm);
	vm->state = VM_FINALIZED;
	for (unsigned int i = 0; i < 3; i++) {
		memcpy(&args->res[i], &vm->measurement[8 * i], 8);
	}
	log_info("vm%u finalized", vm->slot);
	return unlock_vm(vm, MOAT_OK);
}

int hc_measurement(struct host_call_args *args)
{
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	if (vm->state == VM_CREATED) {
		return unlock_vm(vm, MOAT_E_STATE);
	}
	if (args->a[1] > 3) {
		return unlock_vm(vm, MOAT_E_RANGE);
	}
	memcpy(&args->res[0], &vm->measurement[8 * args->a[1]], 8);
	return unlock_vm(vm, MOAT_OK);
}

int hc_vcpu_create(struct host_call_args *args)
{
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	return unlock_vm(vm, vcpu_create(vm, args->a[1], args->a[2]));
}

int hc_vcpu_run(struct host_call_args *args)
{
	int ret;
	struct vm *vm = vm_from_handle(args->a[0], &ret);

	if (!vm) {
		return ret;
	}
	return vcpu_run(vm, args->a[1], &args->res[0]);
}

int hc_vcpu_get_reg(struct host_call_args *args)
{
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	return unlock_vm(vm, vcpu_get_reg(vm, args->a[1], args->a[2], &args->res[0]));
}

int hc_vcpu_set_reg(struct host_call_args *args)
{
	int ret;
	struct vm *vm = lock_vm(args, &ret);

	if (!vm) {
		return ret;
	}
	return unlock_vm(vm, vcpu_set_reg(vm, args->a[1], args->a[2], args->a[3]));
}
