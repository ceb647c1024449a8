// SPDX-License-Identifier: GPL-2.0
/*
 * moat.ko: VM fds (docs/driver.md). Owns a VM's pages: the root table pair and memcache pages it
 * gave the core (DONATE_CORE), guest RAM it gave the VM (DONATE_VM on demand, LOAD for images) and,
 * for normal VMs, the VMM's own pages it pinned and lent (SHARE_VM). Protected guest memory is
 * allocated here and never mapped into any process; after donation no page is read, written or
 * kmap'ed by the driver: the next time the driver touches it is after RECLAIM has scrubbed it.
 *
 * Teardown (last reference: the VM fd and every vCPU fd hold one): VM_DESTROY, then RECLAIM of
 * every page, and only a reclaimed page is freed; pinned pages are unpinned only after the VM is
 * gone from the core. A page the core will not give back is leaked and counted, never freed.
 * Pages the guest shares (MEM_SHARE) are the one exception: mmap() of the VM fd maps them into
 * the VMM on demand, each after the core confirmed it (GUEST_SHARED), and an UNSHARE exit takes
 * them out of every mapping before the vCPU runs again and the unshare completes (docs/driver.md).
 * Lock: vm->lock (mutex) for configuration, the page tables and the memcache; vm->vcpu_lock
 * (spinlock, inside it) for vcpus[] and the wake state; vm->share_lock (mutex) for the mapping.
 */
#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "moat.h"

#define MEMCACHE_BATCH 4 /* pages per top-up: a DONATE_VM into a fresh 2 MiB region needs up to 2 */
#define NOMEM_RETRIES 4
#define GUEST_PINNED XA_MARK_0

static atomic_t next_vm_id;
static const struct file_operations moat_vm_fops;

static inline u64 pa_of(struct page *page)
{
	return page_to_phys(page);
}

static void held_add(long n)
{
	atomic64_add(n, &moat_pages_held);
}

/* A page the core kept: off the allocator for good, and counted. */
static void leak_page(struct moat_vm *vm, struct page *page, long why)
{
	vm->nr_leaked++;
	atomic64_inc(&moat_pages_leaked);
	held_add(-1);
	vm_warn(vm, "page 0x%llx not given back (%ld): leaked\n", pa_of(page), why);
}

static int memcache_top_up(struct moat_vm *vm, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct page *page = alloc_page(GFP_KERNEL_ACCOUNT);
		long r;

		if (!page) {
			return -ENOMEM;
		}
		r = moat_hvc3(MOAT_FN_DONATE_CORE, vm->handle, pa_of(page), 1);
		if (r) {
			/* Nothing changed on error: the page is still ours. */
			__free_page(page);
			vm->last_error = r;
			return moat_errno(r);
		}
		list_add(&page->lru, &vm->core_pages);
		vm->nr_core++;
		held_add(1);
	}
	return 0;
}

/* A core call on this VM that may need memcache pages: on NOMEM top up and try again. */
static long vm_call(struct moat_vm *vm, u64 fid, u64 a1, u64 a2, u64 a3, struct arm_smccc_res *res)
{
	long r;

	lockdep_assert_held(&vm->lock);
	for (int tries = 0;; tries++) {
		r = moat_hvc(fid, a1, a2, a3, 0, 0, 0, res);
		if (r != MOAT_E_NOMEM || tries == NOMEM_RETRIES || memcache_top_up(vm, MEMCACHE_BATCH)) {
			break;
		}
	}
	if (r) {
		vm->last_error = r;
	}
	return r;
}

void moat_vm_get(struct moat_vm *vm)
{
	refcount_inc(&vm->refs);
}

/* Give back every page of a VM destroyed in the core (vm->lock held). */
static void reclaim_pages(struct moat_vm *vm)
{
	struct page *page, *tmp;
	unsigned long idx;
	long r;

	xa_for_each(&vm->guest, idx, page) {
		if (xa_get_mark(&vm->guest, idx, GUEST_PINNED)) {
			/* SHARE_VM: the page went back to the host at VM_DESTROY; now it may be unpinned. */
			unpin_user_pages_dirty_lock(&page, 1, true);
			vm->nr_pinned--;
			held_add(-1);
		} else {
			r = moat_hvc3(MOAT_FN_RECLAIM, pa_of(page), 0, 0);
			vm->nr_guest--;
			if (r) {
				leak_page(vm, page, r);
			} else {
				__free_page(page);
				held_add(-1);
			}
		}
		xa_erase(&vm->guest, idx);
	}
	list_for_each_entry_safe(page, tmp, &vm->core_pages, lru) {
		list_del(&page->lru);
		vm->nr_core--;
		r = moat_hvc3(MOAT_FN_RECLAIM, pa_of(page), 0, 0);
		if (r) {
			leak_page(vm, page, r);
		} else {
			__free_page(page);
			held_add(-1);
		}
	}
}

/*
 * Take the VM out of the core and its pages back (vm->lock held). If the core will not destroy it
 * (a vCPU still inside VCPU_RUN somewhere: only possible from the reboot notifier) nothing is
 * freed; the last put tries again.
 */
static void release_core(struct moat_vm *vm)
{
	long r;

	lockdep_assert_held(&vm->lock);
	if (!vm->in_core) {
		return;
	}
	r = moat_hvc3(MOAT_FN_VM_DESTROY, vm->handle, 0, 0);
	if (r) {
		vm_warn(vm, "VM_DESTROY failed (%ld): its pages stay with the core\n", r);
		return;
	}
	vm->in_core = false;
	atomic64_dec(&moat_live_vms);
	reclaim_pages(vm);
}

/*
 * Returns 1 if this call took the VM out of the core. Only the reboot notifier destroys a VM whose
 * file may still be mapped: every guest-shared page leaves the VMM's mappings first (once the VM
 * is gone, GUEST_SHARED refuses and a fault is SIGBUS), so no process keeps a page the core took.
 * vm->lock before share_lock: an ioctl holding vm->lock may fault on the mapping (copy_from_user).
 */
int moat_vm_destroy_now(struct moat_vm *vm)
{
	bool was;

	mutex_lock(&vm->lock);
	mutex_lock(&vm->share_lock);
	if (vm->mapping) {
		unmap_mapping_range(vm->mapping, 0, 0, 1);
	}
	was = vm->in_core;
	release_core(vm);
	was = was && !vm->in_core;
	mutex_unlock(&vm->share_lock);
	mutex_unlock(&vm->lock);
	return was;
}

static bool all_stopped(struct moat_vm *vm)
{
	bool stopped = true;

	spin_lock(&vm->vcpu_lock);
	for (int i = 0; i < MOAT_DRV_MAX_VCPUS; i++) {
		stopped &= !vm->vcpus[i] || !vm->vcpus[i]->task;
	}
	spin_unlock(&vm->vcpu_lock);
	return stopped;
}

/* After moat_vm_system_event(): wait (bounded) until no thread is inside RUN. */
void moat_vm_wait_stopped(struct moat_vm *vm, unsigned long timeout)
{
	unsigned long end = jiffies + timeout;

	while (!all_stopped(vm) && time_before(jiffies, end)) {
		msleep(1);
	}
}

void moat_vm_put(struct moat_vm *vm)
{
	long pages;

	if (!refcount_dec_and_test(&vm->refs)) {
		return;
	}
	mutex_lock(&moat_vms_lock);
	list_del(&vm->node);
	mutex_unlock(&moat_vms_lock);

	mutex_lock(&vm->lock);
	release_core(vm);
	if (vm->in_core) {
		/* Destroy refused even now: every page the VM has stays the core's. */
		pages = vm->nr_guest + vm->nr_core;
		vm->nr_leaked += pages;
		atomic64_add(pages, &moat_pages_leaked);
		held_add(-pages);
		/* Pinned pages stay pinned for good: the VM still maps them. */
	}
	mutex_unlock(&vm->lock);
	/* Run pages: unshared only now that no vCPU of the VM exists in the core. */
	for (int i = 0; i < MOAT_DRV_MAX_VCPUS; i++) {
		if (vm->vcpus[i]) {
			moat_vcpu_free(vm->vcpus[i]);
		}
	}
	if (vm->nr_leaked) {
		vm_warn(vm, "torn down, %llu pages leaked\n", vm->nr_leaked);
	}
	xa_destroy(&vm->guest);
	mmdrop(vm->mm);
	kfree(vm);
}

int moat_vm_create_fd(u32 type)
{
	struct moat_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	struct file *file;
	int fd;

	if (!vm) {
		return -ENOMEM;
	}
	refcount_set(&vm->refs, 1);
	mutex_init(&vm->lock);
	mutex_init(&vm->share_lock);
	spin_lock_init(&vm->vcpu_lock);
	xa_init(&vm->guest);
	INIT_LIST_HEAD(&vm->core_pages);
	vm->type = type;
	vm->id = atomic_inc_return(&next_vm_id);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	mutex_lock(&moat_vms_lock);
	list_add(&vm->node, &moat_vms);
	mutex_unlock(&moat_vms_lock);
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		moat_vm_put(vm);
		return fd;
	}
	/*
	 * An inode of its own (anon_inode_getfd's is one for all anonymous files), so that the file's
	 * address_space holds this VM's mmaps alone: an unshare unmaps through it (moat_vm_unshare).
	 */
	file = anon_inode_create_getfile("[moat-vm]", &moat_vm_fops, vm, O_RDWR, NULL);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		moat_vm_put(vm);
		return PTR_ERR(file);
	}
	vm->mapping = file->f_mapping;
	fd_install(fd, file);
	return fd;
}

struct moat_vm *moat_vm_from_file(struct file *file)
{
	return file->f_op == &moat_vm_fops ? file->private_data : NULL;
}

static int vm_configure(struct moat_vm *vm, const struct moat_vm_config __user *ucfg)
{
	struct moat_vm_config cfg;
	struct arm_smccc_res res;
	struct page *root;
	long r;
	int ret;

	if (copy_from_user(&cfg, ucfg, sizeof(cfg))) {
		return -EFAULT;
	}
	if (vm->state != MOAT_VM_NEW) {
		return -EBUSY;
	}
	if (cfg.flags || cfg.reserved[0] || cfg.reserved[1] || cfg.reserved[2] || cfg.reserved[3]) {
		return -EINVAL;
	}
	if (!cfg.mem_size || !PAGE_ALIGNED(cfg.mem_size) || !cfg.max_vcpus || cfg.max_vcpus > MOAT_DRV_MAX_VCPUS) {
		return -EINVAL;
	}
	if (vm->type == MOAT_VM_PROTECTED ? cfg.user_addr != 0 : !cfg.user_addr || !PAGE_ALIGNED(cfg.user_addr)) {
		return -EINVAL;
	}
	if (cfg.user_addr && (cfg.user_addr + cfg.mem_size < cfg.user_addr ||
			      !access_ok((void __user *)(uintptr_t)cfg.user_addr, cfg.mem_size))) {
		return -EFAULT;
	}

	/* The root table: two pages, 8 KiB-aligned (an order-1 block is), split so each is freed alone. */
	root = alloc_pages(GFP_KERNEL_ACCOUNT, 1);
	if (!root) {
		return -ENOMEM;
	}
	split_page(root, 1);
	r = moat_hvc(MOAT_FN_VM_CREATE, vm->type, cfg.max_vcpus, pa_of(root), cfg.mem_size, cfg.mmio_base,
		     cfg.mmio_size, &res);
	if (r) {
		__free_page(root);
		__free_page(root + 1);
		vm->last_error = r;
		/* NOMEM here means the core's VM table is full, not memory. */
		return r == MOAT_E_NOMEM ? -ENOSPC : moat_errno(r);
	}
	vm->handle = res.a1;
	vm->in_core = true;
	atomic64_inc(&moat_live_vms);
	list_add(&root->lru, &vm->core_pages);
	list_add(&(root + 1)->lru, &vm->core_pages);
	vm->nr_core += 2;
	held_add(2);
	vm->cfg = cfg;

	ret = memcache_top_up(vm, MEMCACHE_BATCH);
	if (!ret && cfg.spi_mask) {
		r = moat_hvc3(MOAT_FN_VM_SET_SPIS, vm->handle, cfg.spi_mask, 0);
		if (r) {
			vm->last_error = r;
			ret = moat_errno(r);
		}
	}
	if (ret) {
		/* Back to NEW, as if nothing happened (the VM's pages come back scrubbed). */
		release_core(vm);
		return ret;
	}
	/* Released: mmap() reads cfg after it sees the state, without vm->lock (see moat_vm_mmap). */
	smp_store_release(&vm->state, MOAT_VM_CONFIGURED);
	vm_info(vm, "%s VM, %llu MiB, %u vCPUs, handle 0x%llx\n",
		vm->type == MOAT_VM_PROTECTED ? "protected" : "normal", cfg.mem_size >> 20, cfg.max_vcpus, vm->handle);
	return 0;
}

static bool ipa_range_ok(struct moat_vm *vm, u64 ipa, u64 size)
{
	return ipa >= MOAT_GUEST_RAM_BASE && size <= vm->cfg.mem_size &&
	       ipa - MOAT_GUEST_RAM_BASE <= vm->cfg.mem_size - size;
}

/* Out-of-order answers, one place: before CONFIGURE -EINVAL (not yet possible), after FINALIZE
 * -EBUSY (already done). */
static int need_configured(struct moat_vm *vm)
{
	if (vm->state == MOAT_VM_NEW) {
		return -EINVAL;
	}
	return vm->state == MOAT_VM_FINALIZED ? -EBUSY : 0;
}

static int vm_load_image(struct moat_vm *vm, const struct moat_load_image __user *uli)
{
	struct moat_load_image li;
	struct arm_smccc_res res;
	unsigned long first;
	u64 npages;
	int ret;

	if (copy_from_user(&li, uli, sizeof(li))) {
		return -EFAULT;
	}
	ret = need_configured(vm);
	if (ret) {
		return ret;
	}
	if (li.flags || !li.size || !PAGE_ALIGNED(li.guest_addr)) {
		return -EINVAL;
	}
	npages = DIV_ROUND_UP(li.size, PAGE_SIZE);
	if (!ipa_range_ok(vm, li.guest_addr, npages * PAGE_SIZE)) {
		return -ERANGE;
	}
	first = (li.guest_addr - MOAT_GUEST_RAM_BASE) >> PAGE_SHIFT;
	/* Check every page first, so that an overlap changes nothing. */
	for (u64 i = 0; i < npages; i++) {
		if (xa_load(&vm->guest, first + i)) {
			return -EEXIST;
		}
	}
	for (u64 i = 0; i < npages; i++) {
		u64 off = i * PAGE_SIZE, n = min_t(u64, PAGE_SIZE, li.size - off);
		struct page *page = alloc_page(GFP_KERNEL_ACCOUNT);
		void *va;
		long r;

		if (!page) {
			return -ENOMEM;
		}
		if (xa_reserve(&vm->guest, first + i, GFP_KERNEL_ACCOUNT)) {
			__free_page(page);
			return -ENOMEM;
		}
		/* The only time the driver writes guest memory: before the page is the VM's. */
		va = page_address(page);
		if (copy_from_user(va, (const void __user *)(uintptr_t)(li.user_addr + off), n)) {
			xa_release(&vm->guest, first + i);
			__free_page(page);
			return -EFAULT;
		}
		memset(va + n, 0, PAGE_SIZE - n);
		r = vm_call(vm, MOAT_FN_LOAD, vm->handle, pa_of(page), li.guest_addr + off, &res);
		if (r) {
			xa_release(&vm->guest, first + i);
			__free_page(page);
			return moat_errno(r);
		}
		xa_store(&vm->guest, first + i, page, GFP_KERNEL_ACCOUNT);
		vm->nr_guest++;
		held_add(1);
	}
	return 0;
}

static int vm_set_boot(struct moat_vm *vm, const struct moat_boot __user *ub)
{
	struct moat_boot b;
	long r;
	int ret;

	if (copy_from_user(&b, ub, sizeof(b))) {
		return -EFAULT;
	}
	ret = need_configured(vm);
	if (ret) {
		return ret;
	}
	r = moat_hvc3(MOAT_FN_SET_BOOT, vm->handle, b.pc, b.x0);
	if (r) {
		vm->last_error = r;
		return moat_errno(r);
	}
	vm->boot_set = true;
	return 0;
}

/*
 * FINALIZE with sig (a kernel page holding the owner's signature blob) or NULL. The page is lent
 * to the core for this call only: the core copies the blob once, then it comes back.
 */
static long finalize_call(struct moat_vm *vm, struct page *sig)
{
	struct arm_smccc_res res;
	long r, u;

	if (!sig) {
		return moat_hvc(MOAT_FN_FINALIZE, vm->handle, 0, 0, 0, 0, 0, &res);
	}
	r = moat_hvc3(MOAT_FN_SHARE_CORE, page_to_phys(sig), 0, 0);
	if (r) {
		return r;
	}
	r = moat_hvc(MOAT_FN_FINALIZE, vm->handle, page_to_phys(sig), 0, 0, 0, 0, &res);
	u = moat_hvc3(MOAT_FN_UNSHARE_CORE, page_to_phys(sig), 0, 0);
	if (u) {
		/* The core still has it: never give it back to the allocator. */
		get_page(sig);
		atomic64_inc(&moat_pages_leaked);
		vm_warn(vm, "signature page not unshared (%ld): leaked\n", u);
	}
	return r;
}

static int vm_finalize(struct moat_vm *vm, struct page *sig, u8 sha256[32])
{
	struct arm_smccc_res res;
	long r;
	int ret = need_configured(vm);

	if (ret) {
		return ret;
	}
	if (!vm->boot_set || !vm->vcpus[0]) {
		return -EINVAL;
	}
	r = finalize_call(vm, sig);
	if (r) {
		vm->last_error = r;
		return moat_errno(r);
	}
	/* The core packs the digest little-endian into 64-bit words. */
	for (int w = 0; w < 4; w++) {
		r = moat_hvc(MOAT_FN_MEASUREMENT, vm->handle, w, 0, 0, 0, 0, &res);
		if (r) {
			return moat_errno(r);
		}
		memcpy(&sha256[8 * w], &res.a1, 8);
	}
	WRITE_ONCE(vm->state, MOAT_VM_FINALIZED);
	vm_info(vm, "finalized%s, measurement %*phN\n", sig ? " (signed)" : "", 8, sha256);
	return 0;
}

static int vm_finalize_plain(struct moat_vm *vm, struct moat_measurement __user *um)
{
	struct moat_measurement m;
	int ret = vm_finalize(vm, NULL, m.sha256);

	if (ret) {
		return ret;
	}
	return copy_to_user(um, &m, sizeof(m)) ? -EFAULT : 0;
}

static int vm_finalize_signed(struct moat_vm *vm, struct moat_finalize __user *uf)
{
	struct moat_finalize f;
	struct page *sig = NULL;
	int ret;

	if (copy_from_user(&f, uf, sizeof(f))) {
		return -EFAULT;
	}
	if (f.flags || (!f.signature != !f.signature_len) || f.signature_len > PAGE_SIZE) {
		return -EINVAL;
	}
	if (f.signature) {
		sig = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!sig) {
			return -ENOMEM;
		}
		if (copy_from_user(page_address(sig), u64_to_user_ptr(f.signature), f.signature_len)) {
			__free_page(sig);
			return -EFAULT;
		}
	}
	ret = vm_finalize(vm, sig, f.sha256);
	if (sig) {
		__free_page(sig); /* a leaked page holds its own extra reference */
	}
	if (ret) {
		return ret;
	}
	return copy_to_user(uf, &f, sizeof(f)) ? -EFAULT : 0;
}

void moat_vm_wake_vcpu(struct moat_vm *vm, u32 index, bool kick)
{
	struct moat_vcpu *vcpu;

	if (index >= MOAT_DRV_MAX_VCPUS) {
		return;
	}
	spin_lock(&vm->vcpu_lock);
	vcpu = vm->vcpus[index];
	if (vcpu) {
		atomic_set(&vcpu->wake, 1);
		wake_up(&vcpu->wq);
		/* Inside the guest on another CPU: a reschedule IPI makes it exit (IRQ) and enter again
		 * with the new interrupt. vcpu->task is set only while its thread is in RUN. */
		if (kick && vcpu->task) {
			kick_process(vcpu->task);
		}
		atomic64_inc(&vm->kicks);
	}
	spin_unlock(&vm->vcpu_lock);
}

/* Wake every vCPU but `self` that is not off (so two off vCPUs never wake each other in turn). */
void moat_vm_wake_others(struct moat_vm *vm, u32 self)
{
	spin_lock(&vm->vcpu_lock);
	for (u32 i = 0; i < MOAT_DRV_MAX_VCPUS; i++) {
		struct moat_vcpu *vcpu = vm->vcpus[i];

		if (vcpu && i != self && !READ_ONCE(vcpu->off)) {
			atomic_set(&vcpu->wake, 1);
			wake_up(&vcpu->wq);
		}
	}
	spin_unlock(&vm->vcpu_lock);
}

void moat_vm_system_event(struct moat_vm *vm, u32 reason)
{
	WRITE_ONCE(vm->system_event, reason);
	for (u32 i = 0; i < MOAT_DRV_MAX_VCPUS; i++) {
		moat_vm_wake_vcpu(vm, i, true);
	}
}

static int vm_irq_line(struct moat_vm *vm, const struct moat_irq_level __user *ul)
{
	struct moat_irq_level l;
	struct arm_smccc_res res;
	long r;

	if (copy_from_user(&l, ul, sizeof(l))) {
		return -EFAULT;
	}
	if (READ_ONCE(vm->state) != MOAT_VM_FINALIZED) {
		return -EINVAL;
	}
	if (l.level > 1) {
		return -EINVAL;
	}
	r = moat_hvc(MOAT_FN_IRQ_LINE, vm->handle, l.intid, l.level, 0, 0, 0, &res);
	if (r) {
		vm->last_error = r;
		return moat_errno(r);
	}
	if (l.level) {
		moat_vm_wake_vcpu(vm, (u32)res.a1, true);
	}
	return 0;
}

/*
 * Demand paging for a MEM_FAULT exit of `vcpu` at `ipa`. Another vCPU may have backed the page
 * meanwhile (the core then says BUSY for a RECLAIM of it: still the VM's), or the guest may have
 * relinquished the page that was there (RECLAIM succeeds: free it and back the IPA afresh).
 */
int moat_vm_mem_fault(struct moat_vm *vm, struct moat_vcpu *vcpu, u64 ipa)
{
	unsigned long idx;
	struct arm_smccc_res res;
	struct page *page, *old;
	long r;
	int ret = 0;

	if (!PAGE_ALIGNED(ipa) || !ipa_range_ok(vm, ipa, PAGE_SIZE)) {
		vcpu_warn(vcpu, "MEM_FAULT outside RAM at 0x%llx\n", ipa);
		return -EFAULT;
	}
	idx = (ipa - MOAT_GUEST_RAM_BASE) >> PAGE_SHIFT;
	mutex_lock(&vm->lock);
	old = xa_load(&vm->guest, idx);
	if (old) {
		if (xa_get_mark(&vm->guest, idx, GUEST_PINNED)) {
			goto out;
		}
		r = moat_hvc3(MOAT_FN_RECLAIM, pa_of(old), 0, 0);
		if (r == MOAT_E_BUSY) {
			goto out;
		}
		if (r) {
			vcpu_warn(vcpu, "page 0x%llx at 0x%llx neither mapped nor reclaimable (%ld)\n", pa_of(old), ipa,
				  r);
			ret = moat_errno(r);
			goto out;
		}
		xa_erase(&vm->guest, idx);
		__free_page(old);
		vm->nr_guest--;
		held_add(-1);
	}
	if (xa_reserve(&vm->guest, idx, GFP_KERNEL_ACCOUNT)) {
		ret = -ENOMEM;
		goto out;
	}
	if (vm->type == MOAT_VM_PROTECTED) {
		/* Not zeroed here: DONATE_VM zeroes it in the core. */
		page = alloc_page(GFP_KERNEL_ACCOUNT);
		if (!page) {
			ret = -ENOMEM;
			goto release;
		}
		r = vm_call(vm, MOAT_FN_DONATE_VM, vm->handle, pa_of(page), ipa, &res);
		if (r) {
			__free_page(page);
			ret = moat_errno(r);
			goto release;
		}
		vm->nr_guest++;
	} else {
		u64 uaddr = vm->cfg.user_addr + (ipa - MOAT_GUEST_RAM_BASE);

		if (pin_user_pages_fast(uaddr, 1, FOLL_WRITE | FOLL_LONGTERM, &page) != 1) {
			ret = -EFAULT;
			goto release;
		}
		r = vm_call(vm, MOAT_FN_SHARE_VM, vm->handle, pa_of(page), ipa, &res);
		if (r) {
			unpin_user_page(page);
			ret = moat_errno(r);
			goto release;
		}
		vm->nr_pinned++;
	}
	held_add(1);
	xa_store(&vm->guest, idx, page, GFP_KERNEL_ACCOUNT);
	if (vm->type != MOAT_VM_PROTECTED) {
		xa_set_mark(&vm->guest, idx, GUEST_PINNED);
	}
	goto out;
release:
	xa_release(&vm->guest, idx);
	if (ret) {
		vcpu_warn(vcpu, "cannot back 0x%llx: %d\n", ipa, ret);
	}
out:
	mutex_unlock(&vm->lock);
	return ret;
}

static int vm_get_stats(struct moat_vm *vm, struct moat_vm_stats __user *us)
{
	struct moat_vm_stats s = {};

	mutex_lock(&vm->lock);
	s.pages_donated = vm->nr_guest;
	s.pages_core = vm->nr_core;
	s.pages_leaked = vm->nr_leaked;
	s.pages_pinned = vm->nr_pinned;
	mutex_unlock(&vm->lock);
	for (int i = 0; i < MOAT_DRV_MAX_VCPUS; i++) {
		if (READ_ONCE(vm->vcpus[i])) {
			s.pages_core++; /* its run page */
		}
	}
	s.mem_faults = atomic64_read(&vm->mem_faults);
	s.exits_user = atomic64_read(&vm->exits_user);
	s.wfi_sleeps = atomic64_read(&vm->wfi_sleeps);
	s.kicks = atomic64_read(&vm->kicks);
	s.share_faults = atomic64_read(&vm->share_faults);
	s.unshare_exits = atomic64_read(&vm->unshare_exits);
	return copy_to_user(us, &s, sizeof(s)) ? -EFAULT : 0;
}

static long moat_vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct moat_vm *vm = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	/* As KVM: a VM belongs to the process that made it; a forked child's copy of the fd is inert. */
	if (current->mm != vm->mm) {
		return -EIO;
	}
	switch (cmd) {
	case MOAT_VM_IRQ_LINE:
		return vm_irq_line(vm, uarg);
	case MOAT_VM_GET_STATS:
		return vm_get_stats(vm, uarg);
	case MOAT_VM_LAST_ERROR:
		return -READ_ONCE(vm->last_error);
	}
	mutex_lock(&vm->lock);
	switch (cmd) {
	case MOAT_VM_CONFIGURE:
		ret = vm_configure(vm, uarg);
		break;
	case MOAT_VM_LOAD_IMAGE:
		ret = vm_load_image(vm, uarg);
		break;
	case MOAT_VM_SET_BOOT:
		ret = vm_set_boot(vm, uarg);
		break;
	case MOAT_VM_FINALIZE:
		ret = vm_finalize_plain(vm, uarg);
		break;
	case MOAT_VM_FINALIZE_SIGNED:
		ret = vm_finalize_signed(vm, uarg);
		break;
	case MOAT_VM_CREATE_VCPU:
		ret = need_configured(vm);
		if (!ret) {
			ret = moat_vcpu_create(vm, (u32)arg == arg ? (u32)arg : ~0U);
		}
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&vm->lock);
	return ret;
}

/*
 * An UNSHARE exit of `vcpu` for `ipa`: take the page out of every mapping of the VM file (and the
 * TLBs: the zap flushes them) before the vCPU runs again, when the core completes the unshare and
 * takes the page from the host's stage 2. A mapping left behind would make the next access an
 * external abort (SIGBUS for the VMM, an Oops for a kernel copy through it); now it is a fault
 * the core refuses to serve (SIGBUS). Under share_lock, so a fault that already asked the core
 * has inserted its page before the zap, and one that asks later is refused (the page is marked).
 */
int moat_vm_unshare(struct moat_vm *vm, struct moat_vcpu *vcpu, u64 ipa)
{
	if (!PAGE_ALIGNED(ipa) || !ipa_range_ok(vm, ipa, PAGE_SIZE)) {
		vcpu_warn(vcpu, "UNSHARE outside RAM at 0x%llx\n", ipa);
		return -EFAULT;
	}
	atomic64_inc(&vm->unshare_exits);
	mutex_lock(&vm->share_lock);
	if (vm->mapping) {
		unmap_mapping_range(vm->mapping, ipa - MOAT_GUEST_RAM_BASE, PAGE_SIZE, 1);
	}
	mutex_unlock(&vm->share_lock);
	return 0;
}

/* A VMM access to the VM fd's mapping: the page, if the core says the guest shares it; else SIGBUS. */
static vm_fault_t moat_vm_fault(struct vm_fault *vmf)
{
	struct moat_vm *vm = vmf->vma->vm_file->private_data;
	u64 ipa = MOAT_GUEST_RAM_BASE + ((u64)vmf->pgoff << PAGE_SHIFT);
	struct arm_smccc_res res;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	if (!ipa_range_ok(vm, ipa, PAGE_SIZE)) {
		return VM_FAULT_SIGBUS;
	}
	mutex_lock(&vm->share_lock);
	/* After VM_DESTROY the handle is stale and the core refuses: nothing is mapped any more. */
	if (!moat_hvc(MOAT_FN_GUEST_SHARED, vm->handle, ipa, 0, 0, 0, 0, &res)) {
		ret = vmf_insert_pfn(vmf->vma, vmf->address, PHYS_PFN(res.a1));
		atomic64_inc(&vm->share_faults);
	}
	mutex_unlock(&vm->share_lock);
	return ret;
}

static const struct vm_operations_struct moat_vm_vm_ops = {
	.fault = moat_vm_fault,
};

/*
 * A window on guest RAM (offset = IPA - RAM base) in which only guest-shared pages ever appear.
 * VM_PFNMAP | VM_IO: no struct page behind the mapping for GUP, /proc/PID/mem, process_vm_readv
 * or ptrace to take; VM_DONTCOPY: a fork()ed child gets nothing; VM_DONTDUMP: not in core dumps.
 * MAP_SHARED only (a private PFN mapping would copy on write) and never executable (the core maps
 * shared pages for the host without execute permission).
 */
static int moat_vm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct moat_vm *vm = file->private_data;
	u64 pages = vma_pages(vma);

	if (current->mm != vm->mm) {
		return -EIO;
	}
	/* Not vm->lock: an ioctl holding it may fault on a mapping (copy_from_user), under mmap_lock. */
	if (smp_load_acquire(&vm->state) == MOAT_VM_NEW || !(vma->vm_flags & VM_SHARED)) {
		return -EINVAL;
	}
	if (vma->vm_flags & VM_EXEC) {
		return -EPERM;
	}
	if (vma->vm_pgoff >= vm->cfg.mem_size >> PAGE_SHIFT ||
	    pages > (vm->cfg.mem_size >> PAGE_SHIFT) - vma->vm_pgoff) {
		return -EINVAL;
	}
	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_DONTEXPAND);
	vm_flags_clear(vma, VM_MAYEXEC);
	vma->vm_ops = &moat_vm_vm_ops;
	return 0;
}

static int moat_vm_release(struct inode *inode, struct file *file)
{
	struct moat_vm *vm = file->private_data;

	/* No mapping outlives the file (each holds a reference to it); vCPUs may outlive it. */
	mutex_lock(&vm->share_lock);
	vm->mapping = NULL;
	mutex_unlock(&vm->share_lock);
	moat_vm_put(vm);
	return 0;
}

static const struct file_operations moat_vm_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = moat_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = moat_vm_mmap,
	.release = moat_vm_release,
	.llseek = noop_llseek,
};

/*
 * For the test module moat_peek.ko only (tests/linux, docs/driver.md): the host PA of the page at
 * `ipa` of the VM behind `file`, so that a test can show a read of a donated page through the
 * kernel's linear map is refused by the core. Hands out an address, never a mapping.
 */
int moat_test_guest_pa(struct file *file, u64 ipa, phys_addr_t *pa)
{
	struct moat_vm *vm = moat_vm_from_file(file);
	struct page *page;

	if (!vm) {
		return -EBADF;
	}
	if (!PAGE_ALIGNED(ipa) || ipa < MOAT_GUEST_RAM_BASE) {
		return -EINVAL;
	}
	mutex_lock(&vm->lock);
	page = vm->state == MOAT_VM_NEW ? NULL : xa_load(&vm->guest, (ipa - MOAT_GUEST_RAM_BASE) >> PAGE_SHIFT);
	if (page) {
		*pa = page_to_phys(page);
	}
	mutex_unlock(&vm->lock);
	return page ? 0 : -ENOENT;
}
EXPORT_SYMBOL_GPL(moat_test_guest_pa);
