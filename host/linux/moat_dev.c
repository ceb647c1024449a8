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
#include <linux/cpuhotplug.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/of.h>
#include <linux/of_irq.h>
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
	case MOAT_E_ORDER: /* a LOAD below the previous one; LAST_ERROR tells it apart */
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
	case MOAT_CAP_MAX_MEM_MIB:
		/* The core's IPA space is 40 bits; RAM starts at 1 GiB. In MiB: bytes overflow ioctl()'s int. */
		return ((1L << 40) - MOAT_GUEST_RAM_BASE) >> 20;
	default:
		return 0;
	}
}

static long get_stats(void __user *arg)
{
	struct moat_stats s = {};
	struct arm_smccc_res res;

	if (!capable(CAP_SYS_ADMIN)) {
		return -EPERM;
	}
	for (int which = 0; which < 3; which++) {
		if (moat_hvc(MOAT_FN_STATS, which, 0, 0, 0, 0, 0, &res)) {
			return -EIO;
		}
		s.core[which][0] = res.a1;
		s.core[which][1] = res.a2;
		s.core[which][2] = res.a3;
	}
	if (moat_hvc(MOAT_FN_CHECK, 0, 0, 0, 0, 0, 0, &res)) {
		return -EIO;
	}
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
		if (arg != MOAT_VM_NORMAL && arg != MOAT_VM_PROTECTED) {
			return -EINVAL;
		}
		if (!(core_types & (1UL << arg))) {
			return -EOPNOTSUPP;
		}
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
 * Before a reboot, kexec or power-off: every live VM leaves the core and its pages come back
 * scrubbed, so that no page still donated reaches the next kernel as if it were free memory. A
 * vCPU inside VCPU_RUN would make VM_DESTROY answer BUSY, so each VM is first told to stop: RUN
 * returns SYSTEM_OFF to its VMM and enters the guest no more, and a vCPU in the guest gets an IPI.
 */
static int moat_reboot(struct notifier_block *nb, unsigned long action, void *data)
{
	struct moat_vm *vm;
	unsigned int n = 0;

	mutex_lock(&moat_vms_lock);
	list_for_each_entry(vm, &moat_vms, node) {
		moat_vm_system_event(vm, MOAT_EXIT_SYSTEM_OFF);
	}
	list_for_each_entry(vm, &moat_vms, node) {
		moat_vm_wait_stopped(vm, msecs_to_jiffies(500));
		n += moat_vm_destroy_now(vm);
	}
	mutex_unlock(&moat_vms_lock);
	if (n) {
		pr_info("moat: shutdown: %u VM(s) destroyed and their pages reclaimed\n", n);
	}
	return NOTIFY_DONE;
}

static struct notifier_block moat_reboot_nb = {
	.notifier_call = moat_reboot,
};

/*
 * The GIC maintenance interrupt (PPI 25). The core asks for it while a guest runs (EOI of a level
 * interrupt such as the guest's timer, list registers running low) and takes it at EL2; it only
 * reaches EL2 if the host has it enabled in its redistributor (docs/ABI.md, "Interrupts"). A stock
 * kernel without KVM at EL2 leaves it off, so moat.ko requests it on every CPU. The handler never
 * runs on the host: the core turns the virtual interface off (ICH_HCR_EL2 = 0) before returning.
 * Without it a guest's timer EOI is seen only at the next exit (a host tick later).
 */
static int maint_irq, maint_hp_state;
static DEFINE_PER_CPU(u8, maint_cookie);

static irqreturn_t maint_handler(int irq, void *cookie)
{
	return IRQ_HANDLED;
}

static int maint_cpu_up(unsigned int cpu)
{
	enable_percpu_irq(maint_irq, IRQ_TYPE_NONE);
	return 0;
}

static int maint_cpu_down(unsigned int cpu)
{
	disable_percpu_irq(maint_irq);
	return 0;
}

static void maint_irq_setup(void)
{
	struct device_node *gic = of_find_compatible_node(NULL, NULL, "arm,gic-v3");
	int ret;

	/* The GIC node's first "interrupts" entry is the maintenance interrupt (GICv3 binding). */
	maint_irq = gic ? irq_of_parse_and_map(gic, 0) : 0;
	of_node_put(gic);
	if (maint_irq <= 0) {
		pr_warn("moat: no GIC maintenance interrupt in the DT: guest timers tick at host exits only\n");
		maint_irq = 0;
		return;
	}
	ret = request_percpu_irq(maint_irq, maint_handler, "moat-vgic-maint", &maint_cookie);
	if (ret) {
		pr_warn("moat: cannot request the GIC maintenance interrupt (%d)\n", ret);
		maint_irq = 0;
		return;
	}
	maint_hp_state = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "moat/vgic-maint:online", maint_cpu_up, maint_cpu_down);
	if (maint_hp_state < 0) {
		free_percpu_irq(maint_irq, &maint_cookie);
		maint_irq = 0;
	}
}

static void maint_irq_teardown(void)
{
	if (!maint_irq) {
		return;
	}
	cpuhp_remove_state(maint_hp_state);
	free_percpu_irq(maint_irq, &maint_cookie);
}

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
	maint_irq_setup();
	ret = misc_register(&moat_misc);
	if (ret) {
		maint_irq_teardown();
		return ret;
	}
	moat_device = moat_misc.this_device;
	register_reboot_notifier(&moat_reboot_nb);
	dev_info(moat_device, "core ABI %llu.%llu, VM types 0x%llx, max %u VMs, %u vCPUs per VM, maintenance IRQ %d\n",
		 core_version >> 16, core_version & 0xffff, core_types, MOAT_CAPS_MAX_VMS(core_limits),
		 MOAT_CAPS_MAX_VCPUS(core_limits), maint_irq);
	return 0;
}

static void __exit moat_exit(void)
{
	/* Every fd holds a module reference (fops owner), so no VM is alive here. */
	unregister_reboot_notifier(&moat_reboot_nb);
	misc_deregister(&moat_misc);
	maint_irq_teardown();
	if (atomic64_read(&moat_pages_leaked)) {
		pr_warn("moat: unloading with %lld pages leaked (kept off the allocator for good)\n",
			atomic64_read(&moat_pages_leaked));
	}
}

module_init(moat_init);
module_exit(moat_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("moat: KVM-shaped /dev/moat for the moat EL2 core");
