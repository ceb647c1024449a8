// SPDX-License-Identifier: GPL-2.0
/*
 * moat.ko: vCPU fds and the run loop (docs/driver.md). One thread per vCPU calls MOAT_VCPU_RUN;
 * the loop enters the core and handles in the kernel what user space need not see: demand paging
 * (MEM_FAULT), host interrupts (IRQ), WFI (sleep until the guest's timer deadline or a wake),
 * VCPU_ON / VCPU_OFF (a vCPU that is off sleeps until a VCPU_ON names it), KICK (wake or IPI the
 * vCPUs a guest SGI targets) and UNSHARE (the page leaves the VMM's mappings first). It returns for
 * MMIO, SYSTEM_OFF/RESET, GUEST_FAULT and signals.
 *
 * The core writes its own run page (a kernel page lent with SHARE_CORE); user space sees a second
 * page (mmap of the vCPU fd) and the loop copies between them, so nothing user space can write is
 * ever a page the core reads while it runs.
 * Lock: vcpu->run_lock around RUN and GET/SET_REG; vm->vcpu_lock for vcpu->task.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <asm/arch_timer.h>
#include <asm/daifflags.h>

#include "moat.h"

static const struct file_operations moat_vcpu_fops;

static bool woken(struct moat_vcpu *vcpu)
{
	return atomic_read(&vcpu->wake) || READ_ONCE(vcpu->vm->system_event);
}

/*
 * WFI: sleep until the guest's timer deadline (CNTVCT ticks; ~0 = no timer armed), a wake (an
 * IRQ_LINE routed here, an SGI from another vCPU, a system event) or a signal. A wake that came
 * while the guest ran is still set (it is cleared just before each entry), so none is lost.
 */
static void wfi_sleep(struct moat_vcpu *vcpu, u64 deadline)
{
	u64 now, ticks, rate;

	atomic64_inc(&vcpu->vm->wfi_sleeps);
	if (deadline == ~0ULL) {
		wait_event_interruptible(vcpu->wq, woken(vcpu));
		return;
	}
	now = arch_timer_read_counter();
	if (deadline <= now) {
		return;
	}
	rate = arch_timer_get_cntfrq();
	/* At most an hour at once (keeps ticks * NSEC_PER_SEC inside 64 bits); the loop sleeps again. */
	ticks = min(deadline - now, rate * 3600);
	wait_event_interruptible_hrtimeout(vcpu->wq, woken(vcpu),
					   ns_to_ktime(mul_u64_u32_div(ticks, NSEC_PER_SEC, (u32)rate)));
}

static void set_task(struct moat_vcpu *vcpu, struct task_struct *task)
{
	spin_lock(&vcpu->vm->vcpu_lock);
	vcpu->task = task;
	spin_unlock(&vcpu->vm->vcpu_lock);
}

/*
 * One VCPU_RUN with interrupts masked in DAIF, as the ABI wants: a host IRQ arriving meanwhile is
 * taken at EL2 (the guest exits with IRQ) and then by the host right after local_daif_restore().
 * local_irq_disable() alone would not do with pseudo-NMI: it masks with ICC_PMR_EL1, and a PMR
 * mask keeps physical IRQs from being signalled at all, at EL2 too, so a guest would never exit
 * for the host's interrupts. local_daif_save() sets PSTATE.I and, with pseudo-NMI, opens the PMR.
 */
static long enter_core(struct moat_vcpu *vcpu, struct arm_smccc_res *res)
{
	unsigned long daif;
	long r;

	local_irq_disable();
	daif = local_daif_save();
	r = moat_hvc(MOAT_FN_VCPU_RUN, vcpu->vm->handle, vcpu->index, 0, 0, 0, 0, res);
	local_daif_restore(daif);
	local_irq_enable();
	return r;
}

static long vcpu_run(struct moat_vcpu *vcpu)
{
	struct moat_vm *vm = vcpu->vm;
	struct moat_vcpu_run *urun = page_address(vcpu->user_run);
	struct moat_run *crun = page_address(vcpu->core_run);
	struct arm_smccc_res res;
	long ret = 0;
	u32 reason;

	if (READ_ONCE(vm->state) != MOAT_VM_FINALIZED) {
		return -EINVAL;
	}
	if (vcpu->mmio_read_pending) {
		WRITE_ONCE(crun->u.mmio.value, READ_ONCE(urun->u.mmio.data));
		vcpu->mmio_read_pending = false;
	}
	set_task(vcpu, current);
	for (;;) {
		reason = READ_ONCE(vm->system_event);
		if (reason) {
			break;
		}
		if (signal_pending(current)) {
			reason = MOAT_EXIT_INTR;
			ret = -EINTR;
			break;
		}
		if (vcpu->off) {
			/* Off: nothing to run until a VCPU_ON names this vCPU (or a spurious wake: the core
			 * answers VCPU_OFF again). */
			if (wait_event_interruptible(vcpu->wq, woken(vcpu))) {
				continue;
			}
			WRITE_ONCE(vcpu->off, false);
		}
		atomic_set(&vcpu->wake, 0);
		ret = enter_core(vcpu, &res);
		if (ret == MOAT_E_STATE) {
			/* The driver saw FINALIZE, so the core's VM is OFF: another vCPU's SYSTEM_OFF/RESET
			 * exit is on its way to setting system_event (the loop's top returns it). */
			ret = 0;
			wait_event_interruptible(vcpu->wq, READ_ONCE(vm->system_event));
			continue;
		}
		if (ret) {
			vm->last_error = ret;
			vcpu_warn(vcpu, "VCPU_RUN failed: %ld\n", ret);
			ret = moat_errno(ret);
			goto out;
		}
		reason = (u32)res.a1;
		switch (reason) {
		case MOAT_EXIT_MEM_FAULT:
			atomic64_inc(&vm->mem_faults);
			ret = moat_vm_mem_fault(vm, vcpu, READ_ONCE(crun->u.mem_fault.ipa));
			if (ret) {
				goto out;
			}
			continue;
		case MOAT_EXIT_UNSHARE:
			/* The page leaves the VMM's mappings now; the unshare completes when we run again. */
			ret = moat_vm_unshare(vm, vcpu, READ_ONCE(crun->u.unshare.ipa));
			if (ret) {
				goto out;
			}
			continue;
		case MOAT_EXIT_IRQ:
			/* Taken already (local_irq_enable above); let the scheduler in. */
			cond_resched();
			continue;
		case MOAT_EXIT_WFI: {
			u64 deadline = READ_ONCE(crun->u.wfi.deadline);

			/* Deadline 0: a WFE, "runnable now" (an event no interrupt announces, such as another
			 * vCPU's unlock): never parked, only a chance for other threads to run first. */
			if (!deadline) {
				cond_resched();
			} else if (!atomic_read(&vcpu->wake)) {
				wfi_sleep(vcpu, deadline);
			}
			continue;
		}
		case MOAT_EXIT_VCPU_ON:
			moat_vm_wake_vcpu(vm, (u32)READ_ONCE(crun->u.vcpu_on.index), false);
			continue;
		case MOAT_EXIT_VCPU_OFF:
			WRITE_ONCE(vcpu->off, true);
			/* A CPU_OFF changes what AFFINITY_INFO answers; a vCPU in WFI may be polling it. */
			moat_vm_wake_others(vm, vcpu->index);
			continue;
		case MOAT_EXIT_KICK: {
			u64 targets = READ_ONCE(crun->u.kick.vcpus);

			for (u32 i = 0; targets && i < MOAT_DRV_MAX_VCPUS; i++, targets >>= 1) {
				if (targets & 1) {
					moat_vm_wake_vcpu(vm, i, true);
				}
			}
			continue;
		}
		case MOAT_EXIT_MMIO: {
			/* Decided from the core's page: the user page can change under us (other threads). */
			u32 is_write = READ_ONCE(crun->u.mmio.is_write);

			urun->u.mmio.ipa = READ_ONCE(crun->u.mmio.ipa);
			urun->u.mmio.size = READ_ONCE(crun->u.mmio.size);
			urun->u.mmio.is_write = is_write;
			urun->u.mmio.data = is_write ? READ_ONCE(crun->u.mmio.value) : 0;
			vcpu->mmio_read_pending = !is_write;
			break;
		}
		case MOAT_EXIT_GUEST_FAULT:
			urun->u.guest_fault.ipa = READ_ONCE(crun->u.guest_fault.ipa);
			break;
		case MOAT_EXIT_SYSTEM_OFF:
		case MOAT_EXIT_SYSTEM_RESET:
			moat_vm_system_event(vm, reason);
			break;
		default:
			vcpu_warn(vcpu, "unknown exit %u\n", reason);
			ret = -EIO;
			goto out;
		}
		break;
	}
	urun->exit_reason = reason;
	urun->vcpu_index = vcpu->index;
	atomic64_inc(&vm->exits_user);
out:
	set_task(vcpu, NULL);
	return ret;
}

static long vcpu_reg(struct moat_vcpu *vcpu, unsigned int cmd, struct moat_one_reg __user *ureg)
{
	struct moat_one_reg reg;
	struct arm_smccc_res res;
	long r;

	if (copy_from_user(&reg, ureg, sizeof(reg))) {
		return -EFAULT;
	}
	if (cmd == MOAT_VCPU_GET_REG) {
		r = moat_hvc(MOAT_FN_VCPU_GET_REG, vcpu->vm->handle, vcpu->index, reg.id, 0, 0, 0, &res);
	} else {
		r = moat_hvc(MOAT_FN_VCPU_SET_REG, vcpu->vm->handle, vcpu->index, reg.id, reg.value, 0, 0, &res);
	}
	if (r) {
		vcpu->vm->last_error = r;
		return moat_errno(r);
	}
	if (cmd == MOAT_VCPU_GET_REG && put_user(res.a1, &ureg->value)) {
		return -EFAULT;
	}
	return 0;
}

static long moat_vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct moat_vcpu *vcpu = file->private_data;
	long ret;

	if (current->mm != vcpu->vm->mm) {
		return -EIO;
	}
	switch (cmd) {
	case MOAT_VCPU_RUN:
		if (arg) {
			return -EINVAL;
		}
		break;
	case MOAT_VCPU_GET_REG:
	case MOAT_VCPU_SET_REG:
		break;
	default:
		return -ENOTTY;
	}
	if (mutex_lock_killable(&vcpu->run_lock)) {
		return -EINTR;
	}
	if (cmd == MOAT_VCPU_RUN) {
		ret = vcpu_run(vcpu);
	} else {
		ret = vcpu_reg(vcpu, cmd, (struct moat_one_reg __user *)arg);
	}
	mutex_unlock(&vcpu->run_lock);
	return ret;
}

static int moat_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct moat_vcpu *vcpu = file->private_data;

	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != PAGE_SIZE) {
		return -EINVAL;
	}
	vm_flags_set(vma, VM_DONTEXPAND);
	return vm_insert_page(vma, vma->vm_start, vcpu->user_run);
}

static int moat_vcpu_release(struct inode *inode, struct file *file)
{
	struct moat_vcpu *vcpu = file->private_data;

	moat_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations moat_vcpu_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = moat_vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = moat_vcpu_mmap,
	.release = moat_vcpu_release,
	.llseek = noop_llseek,
};

/* Called with vm->lock held, the VM configured and not finalized. */
int moat_vcpu_create(struct moat_vm *vm, u32 index)
{
	struct moat_vcpu *vcpu;
	struct arm_smccc_res res;
	long r;
	int fd;

	if (index >= vm->cfg.max_vcpus) {
		return -EINVAL;
	}
	if (vm->vcpus[index]) {
		return -EEXIST;
	}
	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu) {
		return -ENOMEM;
	}
	vcpu->vm = vm;
	vcpu->index = index;
	mutex_init(&vcpu->run_lock);
	init_waitqueue_head(&vcpu->wq);
	vcpu->core_run = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	vcpu->user_run = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vcpu->core_run || !vcpu->user_run) {
		r = -ENOMEM;
		goto free;
	}
	((struct moat_vcpu_run *)page_address(vcpu->user_run))->vcpu_index = index;
	r = moat_hvc3(MOAT_FN_SHARE_CORE, page_to_phys(vcpu->core_run), 0, 0);
	if (r) {
		vm->last_error = r;
		r = moat_errno(r);
		goto free;
	}
	r = moat_hvc(MOAT_FN_VCPU_CREATE, vm->handle, index, page_to_phys(vcpu->core_run), 0, 0, 0, &res);
	if (r == MOAT_E_NOMEM) {
		/* VCPU_CREATE takes its state page from the memcache. */
		struct page *page = alloc_page(GFP_KERNEL_ACCOUNT);

		if (page && !moat_hvc3(MOAT_FN_DONATE_CORE, vm->handle, page_to_phys(page), 1)) {
			list_add(&page->lru, &vm->core_pages);
			vm->nr_core++;
			atomic64_inc(&moat_pages_held);
			r = moat_hvc(MOAT_FN_VCPU_CREATE, vm->handle, index, page_to_phys(vcpu->core_run), 0, 0, 0,
				     &res);
		} else if (page) {
			__free_page(page);
		}
	}
	if (r) {
		vm->last_error = r;
		r = moat_errno(r);
		if (moat_hvc3(MOAT_FN_UNSHARE_CORE, page_to_phys(vcpu->core_run), 0, 0)) {
			vcpu->core_run = NULL; /* the core still has it: never freed */
			atomic64_inc(&moat_pages_leaked);
		}
		goto free;
	}
	atomic64_inc(&moat_pages_held); /* the run page */
	spin_lock(&vm->vcpu_lock);
	vm->vcpus[index] = vcpu;
	spin_unlock(&vm->vcpu_lock);
	/* The vCPU now exists in the core: from here it is torn down with the VM, fd or not. */
	moat_vm_get(vm);
	fd = anon_inode_getfd("moat-vcpu", &moat_vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		refcount_dec(&vm->refs); /* the VM fd's caller still holds one */
	}
	return fd;
free:
	if (vcpu->core_run) {
		__free_page(vcpu->core_run);
	}
	if (vcpu->user_run) {
		__free_page(vcpu->user_run);
	}
	kfree(vcpu);
	return r;
}

/* At VM teardown, after VM_DESTROY: take the run page back from the core, then free. */
void moat_vcpu_free(struct moat_vcpu *vcpu)
{
	struct moat_vm *vm = vcpu->vm;
	long r = moat_hvc3(MOAT_FN_UNSHARE_CORE, page_to_phys(vcpu->core_run), 0, 0);

	if (r) {
		vm_warn(vm, "vcpu%u: run page 0x%llx not given back (%ld): leaked\n", vcpu->index,
			(u64)page_to_phys(vcpu->core_run), r);
		vm->nr_leaked++;
		atomic64_inc(&moat_pages_leaked);
	} else {
		__free_page(vcpu->core_run);
	}
	atomic64_dec(&moat_pages_held);
	__free_page(vcpu->user_run);
	kfree(vcpu);
}
