/* SPDX-License-Identifier: GPL-2.0 */
/*
 * moat.ko internals: the objects behind /dev/moat, VM fds and vCPU fds (docs/driver.md).
 *
 * moat_dev.c owns /dev/moat, the list of live VMs and the reboot notifier; moat_vm.c owns a VM's
 * pages and its ioctls; moat_vcpu.c owns the run loop. Locks, outermost first:
 *   moat_vms_lock (mutex, the list of live VMs) -> vm->lock (mutex: configuration, the page
 *   tables below, the memcache) -> vm->vcpu_lock (spinlock: vcpus[] and the wake state).
 * A vCPU's RUN holds only vcpu->run_lock while in the core, and takes vm->lock for demand paging.
 * vm->share_lock (mutex) orders the VM fd's mmap faults against UNSHARE exits: mmap_lock ->
 * vm->share_lock -> the mapping's i_mmap_rwsem; vm->lock -> (mmap_lock ->) vm->share_lock.
 */
#ifndef MOAT_KMOD_H
#define MOAT_KMOD_H

#include <linux/arm-smccc.h>
#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include <moat/ioctl.h>

#define MOAT_DRV_MAX_VCPUS 64

/* Driver-side lifecycle (the core has its own; these are checked first so errors are defined). */
enum moat_vm_state {
	MOAT_VM_NEW,	    /* fd exists, no core VM yet: only CONFIGURE */
	MOAT_VM_CONFIGURED, /* core VM exists: LOAD_IMAGE, SET_BOOT, CREATE_VCPU, FINALIZE */
	MOAT_VM_FINALIZED,  /* RUN, IRQ_LINE */
};

struct moat_vcpu;

struct moat_vm {
	refcount_t refs; /* the VM fd + one per vCPU fd; the last put tears down */
	struct list_head node; /* on moat_vms (moat_dev.c) */
	struct mutex lock;
	enum moat_vm_state state;
	u32 type;
	u32 id; /* driver-wide number for log lines */
	bool in_core; /* handle is a live core VM (cleared by VM_DESTROY) */
	bool boot_set;
	u64 handle;
	struct moat_vm_config cfg;
	struct mm_struct *mm; /* the creator's mm: only it may use the fds (as KVM) */

	/* Pages. guest: index (ipa - RAM base) >> PAGE_SHIFT -> struct page *; a PINNED mark = a
	 * VMM page lent with SHARE_VM (normal VMs), otherwise a page the driver gave the VM. */
	struct xarray guest;
	struct list_head core_pages; /* root pair + memcache pages, linked through page->lru */
	u64 nr_guest, nr_pinned, nr_core, nr_leaked;

	spinlock_t vcpu_lock;
	struct moat_vcpu *vcpus[MOAT_DRV_MAX_VCPUS];
	u32 system_event; /* MOAT_EXIT_SYSTEM_OFF/RESET once a vCPU saw it: every RUN returns it */

	/* Guest-shared pages mapped into the VMM (mmap of the VM fd, moat_vm.c). mapping: the VM
	 * file's own address_space (a private inode), NULL once the file is released. */
	struct mutex share_lock;
	struct address_space *mapping;

	/* counters for MOAT_VM_GET_STATS */
	atomic64_t mem_faults, exits_user, wfi_sleeps, kicks, share_faults, unshare_exits;
	long last_error; /* last enum moat_error from the core (0 if none) */
};

struct moat_vcpu {
	struct moat_vm *vm;
	u32 index;
	struct mutex run_lock;		 /* one RUN (or GET/SET_REG) at a time */
	struct page *core_run;		 /* shared with the core (SHARE_CORE), named at VCPU_CREATE */
	struct page *user_run;		 /* what mmap() shows: struct moat_vcpu_run */
	bool mmio_read_pending;		 /* last exit was an MMIO read: copy data back before entering */
	bool off;			 /* the core said VCPU_OFF: sleep until a VCPU_ON names us */
	struct task_struct *task;	 /* the thread inside RUN, or NULL (under vm->vcpu_lock) */
	atomic_t wake;			 /* an IRQ_LINE, SGI, VCPU_ON or system event arrived */
	wait_queue_head_t wq;
};

/* HVC to the core. Unused arguments are zero, as the ABI demands. */
static inline long moat_hvc(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6, struct arm_smccc_res *res)
{
	arm_smccc_1_1_hvc(fid, a1, a2, a3, a4, a5, a6, res);
	return (long)res->a0;
}

static inline long moat_hvc3(u64 fid, u64 a1, u64 a2, u64 a3)
{
	struct arm_smccc_res res;

	return moat_hvc(fid, a1, a2, a3, 0, 0, 0, &res);
}

int moat_errno(long core_error);

/* moat_dev.c */
extern struct mutex moat_vms_lock;
extern struct list_head moat_vms;
extern atomic64_t moat_pages_held, moat_pages_leaked, moat_live_vms;
extern struct device *moat_device;

/* moat_vm.c */
int moat_vm_create_fd(u32 type);
void moat_vm_get(struct moat_vm *vm);
void moat_vm_put(struct moat_vm *vm);
int moat_vm_destroy_now(struct moat_vm *vm);
void moat_vm_wait_stopped(struct moat_vm *vm, unsigned long timeout);
int moat_vm_mem_fault(struct moat_vm *vm, struct moat_vcpu *vcpu, u64 ipa);
int moat_vm_unshare(struct moat_vm *vm, struct moat_vcpu *vcpu, u64 ipa);
void moat_vm_wake_vcpu(struct moat_vm *vm, u32 index, bool kick);
void moat_vm_wake_others(struct moat_vm *vm, u32 self);
void moat_vm_system_event(struct moat_vm *vm, u32 reason);
struct moat_vm *moat_vm_from_file(struct file *file);
int moat_test_guest_pa(struct file *file, u64 ipa, phys_addr_t *pa); /* for moat_peek.ko */

/* moat_vcpu.c */
int moat_vcpu_create(struct moat_vm *vm, u32 index);
void moat_vcpu_free(struct moat_vcpu *vcpu);

#define vm_info(vm, fmt, ...) dev_info_ratelimited(moat_device, "vm%u: " fmt, (vm)->id, ##__VA_ARGS__)
#define vm_warn(vm, fmt, ...) dev_warn_ratelimited(moat_device, "vm%u: " fmt, (vm)->id, ##__VA_ARGS__)
#define vcpu_warn(vcpu, fmt, ...)                                                                       \
	dev_warn_ratelimited(moat_device, "vm%u vcpu%u: " fmt, (vcpu)->vm->id, (vcpu)->index, ##__VA_ARGS__)

#endif
