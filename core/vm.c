/*
 * Virtual machines (see vm.h): the VM table, handles, lifecycle and
 * measurement. The host calls that drive the lifecycle are in hc_vm.c; this
 * file knows neither vCPUs nor page ownership (imports flow one way, vm.h).
 *
 * Lock order, the whole core's (written once, here): pagedb_lock, then
 * vm->lock, then that VM's vgic lock (vgic.c). Leaves, taken with nothing
 * after them: cpu_power_lock (cpu_power.c), console_lock (log.c). No lock is
 * held across a world switch. vm->lock guards one VM's struct;
 * a slot's life begins and ends (create, destroy) under both locks, so a
 * lookup under either sees a stable slot: page calls look up under
 * pagedb_lock, VCPU_RUN under vm->lock alone.
 */
#include "vm.h"

#include "arch.h"
#include "lib.h"
#include "moat/abi.h"
#include "pagedb.h"

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

struct vm *vm_lock_with_pagedb(u64 handle, int *err)
{
	struct vm *vm;

	spin_lock(&pagedb_lock);
	vm = vm_from_handle(handle, err);
	if (!vm) {
		spin_unlock(&pagedb_lock);
		return NULL;
	}
	spin_lock(&vm->lock);
	return vm;
}

struct vm *vm_lock(u64 handle, int *err)
{
	u64 slot = handle & 0xffff;
	struct vm *vm;

	if ((handle >> 32) || slot >= MAX_VMS) {
		*err = MOAT_E_NOENT;
		return NULL;
	}
	/* The slot's lock, whichever life it is in; only then is its generation worth reading. */
	spin_lock(&vms[slot].lock);
	vm = vm_from_handle(handle, err);
	if (!vm) {
		spin_unlock(&vms[slot].lock);
	}
	return vm;
}

int vm_unlock_with_pagedb(struct vm *vm, int ret)
{
	spin_unlock(&vm->lock);
	spin_unlock(&pagedb_lock);
	return ret;
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

/* ---- lifecycle ---------------------------------------------------------------- */

int vm_check_config(const struct vm_config *cfg, u64 root_pa)
{
	u64 ipa_limit = 1UL << VM_IPA_BITS;

	if (cfg->type != MOAT_VM_NORMAL && cfg->type != MOAT_VM_PROTECTED) {
		return MOAT_E_INVAL;
	}
	if (cfg->max_vcpus == 0 || cfg->max_vcpus > MAX_VCPUS) {
		return MOAT_E_RANGE;
	}
	/* The stage-2 root is two concatenated level-1 tables (40-bit IPA), hence 8 KiB alignment. */
	if (!IS_ALIGNED(root_pa, 2 * PAGE_SIZE) ||
	    !IS_ALIGNED(cfg->ram_size | cfg->mmio_base | cfg->mmio_size, PAGE_SIZE)) {
		return MOAT_E_ALIGN;
	}
	if (cfg->ram_size == 0 || cfg->ram_size > ipa_limit - MOAT_GUEST_RAM_BASE) {
		return MOAT_E_RANGE;
	}
	/* The MMIO window fits the IPA space (written to avoid overflow) and does not overlap RAM. */
	if (cfg->mmio_size &&
	    (cfg->mmio_base >= ipa_limit || cfg->mmio_size > ipa_limit - cfg->mmio_base ||
	     (cfg->mmio_base < MOAT_GUEST_RAM_BASE + cfg->ram_size &&
	      MOAT_GUEST_RAM_BASE < cfg->mmio_base + cfg->mmio_size))) {
		return MOAT_E_RANGE;
	}
	return MOAT_OK;
}

struct vm *vm_alloc_slot(void)
{
	CHECK_LOCKED(&pagedb_lock);
	for (unsigned int i = 0; i < MAX_VMS; i++) {
		if (vms[i].state == VM_FREE) {
			/* The root is claimed with the slot's identity, so that teardown finds the pages. */
			vms[i].slot = (u16)i;
			return &vms[i];
		}
	}
	return NULL;
}

/* Domain tags of docs/measurement.md: no NUL, so the lengths are the strings' own. */
#define IMAGE_TAG "moat-image-v1"
#define VM_TAG "moat-vm-v2"

/* Every 64-bit field is hashed little-endian, whatever the CPU's data endianness (the document says so). */
static void hash_le64(struct sha256_ctx *ctx, u64 value)
{
	u8 bytes[8];

	for (unsigned int i = 0; i < sizeof(bytes); i++) {
		bytes[i] = (u8)(value >> (8 * i));
	}
	sha256_update(ctx, bytes, sizeof(bytes));
}

void vm_measure_page(struct vm *vm, u64 ipa, const void *page)
{
	CHECK_LOCKED(&vm->lock);
	hash_le64(&vm->image_hash, ipa);
	sha256_update(&vm->image_hash, page, PAGE_SIZE);
}

void vm_init(struct vm *vm, const struct vm_config *cfg, u64 root_pa)
{
	struct pgt_allocator alloc;
	u16 generation = vm->generation;
	u16 slot = vm->slot;

	CHECK_PAGEDB_VM_LOCKED(vm);
	/* Everything but the lock, which is held here and may have a stale VCPU_RUN waiting on it. */
	_Static_assert(offsetof(struct vm, lock) == 0, "struct vm opens with its lock");
	memset((u8 *)vm + sizeof(vm->lock), 0, sizeof(*vm) - sizeof(vm->lock));
	vm->slot = slot;
	vm->generation = generation;
	vm->type = (u8)cfg->type;
	vm->max_vcpus = (u32)cfg->max_vcpus;
	vm->ram_size = cfg->ram_size;
	vm->mmio_base = cfg->mmio_base;
	vm->mmio_size = cfg->mmio_size;
	for (unsigned int i = 0; i < MAX_CPUS; i++) {
		vm->last_vcpu[i] = -1;
	}
	alloc = memcache_pgt_allocator(&vm->memcache);
	/* root_pa passed vm_check_config's alignment check. VMID 0 is the host's. */
	stage2_init(&vm->s2, root_pa, VM_IPA_BITS, (u16)(slot + 1), &alloc);
	sha256_init(&vm->image_hash);
	sha256_update(&vm->image_hash, IMAGE_TAG, sizeof(IMAGE_TAG) - 1);
	vgic_dist_init(&vm->vgic);
	vm->state = VM_CREATED;
	/* A reused VMID may still have TLB entries from the slot's previous VM. */
	arch_s2_flush_vmid(&vm->s2);
}

/*
 * The image digest and the measurement as FINALIZE seals them, computed on
 * copies so that nothing changes: FINALIZE's signature check (sign.c) needs
 * the measurement before anything commits.
 */
static void final_digests(struct vm *vm, u8 image_digest[SHA256_DIGEST_SIZE],
			  u8 measurement[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx img = vm->image_hash, m;

	/* The boot state is part of the image: the same pages entered elsewhere are another program. */
	hash_le64(&img, vm->boot_pc);
	hash_le64(&img, vm->boot_x0);
	sha256_final(&img, image_digest);
	/*
	 * The configuration is hashed here, once, from the values that are final now, rather than as calls
	 * come: so VM_SET_SPIS may come before or after the LOADs and the result is still one defined
	 * byte string. It stays out of the image digest, which the sealing key is bound to: more memory or
	 * vCPUs must not lose a guest its sealed data.
	 */
	sha256_init(&m);
	sha256_update(&m, VM_TAG, sizeof(VM_TAG) - 1);
	hash_le64(&m, vm->type);
	hash_le64(&m, vm->max_vcpus);
	hash_le64(&m, vm->ram_size);
	hash_le64(&m, vm->mmio_base);
	hash_le64(&m, vm->mmio_size);
	hash_le64(&m, vgic_spi_mask(vm));
	sha256_update(&m, image_digest, SHA256_DIGEST_SIZE);
	sha256_final(&m, measurement);
}

void vm_final_measurement(struct vm *vm, u8 out[SHA256_DIGEST_SIZE])
{
	u8 image_digest[SHA256_DIGEST_SIZE];

	CHECK_LOCKED(&vm->lock);
	final_digests(vm, image_digest, out);
}

void vm_finalize(struct vm *vm)
{
	CHECK_LOCKED(&vm->lock);
	final_digests(vm, vm->image_digest, vm->measurement);
	vm->state = VM_FINALIZED;
}

void vm_release(struct vm *vm)
{
	CHECK_PAGEDB_VM_LOCKED(vm);
	vm->state = VM_FREE;
	vm->generation++;
}
