// SPDX-License-Identifier: GPL-2.0
/*
 * moat.ko: /dev/moat, the KVM-shaped front of the moat core for a stock Linux host (docs/driver.md).
 *
 * This file owns the misc device and its system ioctls (version, extensions, CREATE_VM, the
 * root-only STATS), the list of live VMs and the reboot notifier that destroys them before the
 * machine reboots or kexecs (donated pages must not reach the next kernel as if they were free).
 * Lock: moat_vms_lock guards moat_vms.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/reboot.h>
#include <linux/uaccess.h>

#include "moat.h"

DEFINE_MUTEX(moat_vms_lock);
LIST_HEAD(moat_vms);
atomic64_t moat_pages_held, moat_pages_leaked, moat_live_vms;
struct device *moat_device;

/* What the core said at load time: FN_VERSION and FN_CAPS. */
static u64 core_version, core_types, core_limits;

int moat_errno(long e)
{
	switch (e) {
	case MOAT_OK:
		return 0;
	case MOAT_E_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case MOAT_E_INVAL:
	case MOAT_E_ALIGN:
	case MOAT_E_STATE:
		return -EINVAL;
	case MOAT_E_NOMEM:
		return -ENOMEM;
	case MOAT_E_PERM:
		return -EPERM;
	case MOAT_E_BUSY:
		return -EBUSY;
	case MOAT_E_NOENT:
		return -ENOENT;
	case MOAT_E_STALE:
		return -ESTALE;
	case MOAT_E_RANGE:
		return -ERANGE;
	case MOAT_E_EXIST:
		return -EEXIST;
	case MOAT_E_CORRUPT:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

static long check_extension(unsigned long cap)
{
	switch (cap) {
	case MOAT_CAP_VM_NORMAL:
		return !!(core_types & (1UL << MOAT_VM_NORMAL));
	case MOAT_CAP_VM_PROTECTED:
		return !!(core_types & (1UL << MOAT_VM_PROTECTED));
	case MOAT_CAP_MAX_VCPUS:
		return min_t(long, MOAT_CAPS_MAX_VCPUS(core_limits), MOAT_DRV_MAX_VCPUS);
	case MOAT_CAP_MAX_VMS:
		return MOAT_CAPS_MAX_VMS(core_limits);
	case MOAT_CAP_CORE_ABI:
		return (long)core_version;
	case MOAT_CAP_IRQ_LINE:
		return core_version >= 0x10001;
	case MOAT_CAP_MAX_MEM_SIZE:
		/* The core's IPA space is 40 bits; RAM starts at 1 GiB. */
		return (1L << 40) - MOAT_GUEST_RAM_BASE;
	default:
		return 0;
	}
}

static long get_stats(void __user *arg)
{
	struct moat_stats s = {};
	struct arm_smccc_res res;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	for (int which = 0; which < 3; which++) {
		if (moat_hvc(MOAT_FN_STATS, which, 0, 0, 0, 0, 0, &res))
			return -EIO;
		s.core[which][0] = res.a1;
		s.core[which][1] = res.a2;
		s.core[which][2] = res.a3;
	}
	if (moat_hvc(MOAT_FN_CHECK, 0, 0, 0, 0, 0, 0, &res))
		return -EIO;
	s.core_check = res.a1;
	s.vms = atomic64_read(&moat_live_vms);
	s.pages_held = atomic64_read(&moat_pages_held);
	s.pages_leaked = atomic64_read(&moat_pages_leaked);
	return copy_to_user(arg, &s, sizeof(s)) ? -EFAULT : 0;
}

static long moat_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case MOAT_GET_API_VERSION:
		return arg ? -EINVAL : MOAT_DRIVER_API_VERSION;
	case MOAT_CHECK_EXTENSION:
		return check_extension(arg);
	case MOAT_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : PAGE_SIZE;
	case MOAT_CREATE_VM:
		if (arg != MOAT_VM_NORMAL && arg != MOAT_VM_PROTECTED)
			return -EINVAL;
		if (!(core_types & (1UL << arg)))
			return -EOPNOTSUPP;
		return moat_vm_create_fd((u32)arg);
	case MOAT_GET_STATS:
		return get_stats((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations moat_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = moat_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice moat_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "moat",
	.fops = &moat_dev_fops,
	.mode = 0600,
};

/*
 * Before a reboot or kexec: every live VM leaves the core and its pages come back scrubbed. A vCPU
 * thread may still be inside RUN on another CPU; the core then answers BUSY and the VM's pages stay
 * donated, which the next kernel cannot touch anyway: the core owns them until the machine resets.
 */
static int moat_reboot(struct notifier_block *nb, unsigned long action, void *data)
{
	struct moat_vm *vm;

	mutex_lock(&moat_vms_lock);
	list_for_each_entry(vm, &moat_vms, node)
		moat_vm_destroy_now(vm);
	mutex_unlock(&moat_vms_lock);
	return NOTIFY_DONE;
}

static struct notifier_block moat_reboot_nb = {
	.notifier_call = moat_reboot,
};

static int __init moat_init(void)
{
	struct arm_smccc_res res;
	int ret;

	/* A kernel not under moat: HVC goes to whatever EL2 has (KVM's stub, or nothing). The
	 * version call must answer 1.x exactly, or we stay away. */
	if (moat_hvc(MOAT_FN_VERSION, 0, 0, 0, 0, 0, 0, &res) || (res.a1 >> 16) != MOAT_ABI_VERSION_MAJOR) {
		pr_err("moat: no moat core at EL2 (VERSION answered 0x%lx 0x%lx)\n", res.a0, res.a1);
		return -ENODEV;
	}
	core_version = res.a1;
	if (moat_hvc(MOAT_FN_CAPS, 0, 0, 0, 0, 0, 0, &res)) {
		pr_err("moat: CAPS failed (%ld)\n", (long)res.a0);
		return -ENODEV;
	}
	core_types = res.a1;
	core_limits = res.a3;
	ret = misc_register(&moat_misc);
	if (ret)
		return ret;
	moat_device = moat_misc.this_device;
	register_reboot_notifier(&moat_reboot_nb);
	dev_info(moat_device, "core ABI %llu.%llu, VM types 0x%llx, max %u VMs, %u vCPUs per VM\n", core_version >> 16,
		 core_version & 0xffff, core_types, MOAT_CAPS_MAX_VMS(core_limits), MOAT_CAPS_MAX_VCPUS(core_limits));
	return 0;
}

static void __exit moat_exit(void)
{
	/* Every fd holds a module reference (fops owner), so no VM is alive here. */
	unregister_reboot_notifier(&moat_reboot_nb);
	misc_deregister(&moat_misc);
	if (atomic64_read(&moat_pages_leaked))
		pr_warn("moat: unloading with %lld pages leaked (kept off the allocator for good)\n",
			atomic64_read(&moat_pages_leaked));
}

module_init(moat_init);
module_exit(moat_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("moat: KVM-shaped /dev/moat for the moat EL2 core");
