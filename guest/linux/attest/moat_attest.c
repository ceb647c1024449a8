// SPDX-License-Identifier: GPL-2.0
/*
 * moat_attest.ko: runs INSIDE a protected Linux guest of moat and gives its user space the guest
 * calls of include/moat/abi.h -- the VM's measurement, a signed attestation report for a 64-byte
 * challenge and the VM's sealing key -- through /dev/moat-attest (ioctls in moat_attest.h;
 * docs/attestation.md "From a Linux guest"). It is guest code, not part of the trusted core: it
 * trusts the core's answers and the guest's own kernel, nothing else.
 *
 * The core writes each answer into a page of the guest's own RAM that the guest does not share
 * with the host, so that neither the answer nor the sealing key ever passes through registers or
 * memory the host can see. This module owns one such page: ordinary kernel memory (a protected
 * guest's memory is private unless the guest itself shares it, which it never does with this
 * page), allocated at load and freed at unload, addressed by its guest-physical address (the
 * IPA: inside a VM, physical means intermediate-physical).
 * Lock: call_lock serialises every use of the page -- the call, the copy-out of the answer and
 * the wipe after it, so that a sealing key never outlives the ioctl that asked for it.
 */
#include <linux/arm-smccc.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <moat/abi.h>
#include <moat/errors.h>

#include "moat_attest.h"

static DEFINE_MUTEX(call_lock);
static struct page *answer_page;
static void *answer; /* its linear-map address */

static int moat_errno(long e)
{
	switch (e) {
	case MOAT_E_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case MOAT_E_NO_IDENTITY:
		return -ENOKEY;
	case MOAT_E_PERM:
		return -EPERM;
	case MOAT_E_INVAL:
	case MOAT_E_ALIGN:
		return -EINVAL;
	case MOAT_E_RANGE:
		return -ERANGE;
	case MOAT_E_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/*
 * One guest call on answer_page; call_lock held. Returns the length the core reports in x1 (at
 * most `max`), or a negative errno. The core's error code is logged (never the answer).
 */
static long moat_call(const char *name, unsigned long fn, unsigned long max)
{
	struct arm_smccc_res res;

	/*
	 * The SMCCC 1.1 helper loads only the registers it is given and abi.h wants every unused
	 * argument zero, so x2..x7 are passed as explicit zeros.
	 */
	arm_smccc_1_1_hvc(fn, page_to_phys(answer_page), 0, 0, 0, 0, 0, 0, &res);
	if ((long)res.a0 != MOAT_OK) {
		pr_info_ratelimited("moat_attest: %s: the core answered %ld\n", name, (long)res.a0);
		return moat_errno((long)res.a0);
	}
	if (res.a1 == 0 || res.a1 > max) {
		pr_warn_ratelimited("moat_attest: %s: the core says %lu bytes, want 1..%lu\n", name, res.a1, max);
		return -EIO;
	}
	return (long)res.a1;
}

static long get_measurement(void __user *arg)
{
	long n = moat_call("measurement", MOAT_GFN_MEASUREMENT, MOAT_ATTEST_MEASUREMENT_SIZE);

	if (n >= 0 && n != MOAT_ATTEST_MEASUREMENT_SIZE) {
		n = -EIO;
	}
	if (n >= 0 && copy_to_user(arg, answer, MOAT_ATTEST_MEASUREMENT_SIZE)) {
		n = -EFAULT;
	}
	return n < 0 ? n : 0;
}

static long get_report(struct moat_attest_report __user *arg)
{
	u32 reserved, size;
	long n;

	if (get_user(reserved, &arg->reserved)) {
		return -EFAULT;
	}
	if (reserved) {
		return -EINVAL;
	}
	/* The core reads the challenge from the start of the page and writes the report over it. */
	if (copy_from_user(answer, arg->challenge, MOAT_ATTEST_CHALLENGE_SIZE)) {
		return -EFAULT;
	}
	n = moat_call("report", MOAT_GFN_REPORT, MOAT_ATTEST_REPORT_MAX);
	if (n < 0) {
		return n;
	}
	size = (u32)n;
	if (put_user(size, &arg->size) || copy_to_user(arg->report, answer, size)) {
		return -EFAULT;
	}
	return 0;
}

static long get_sealing_key(void __user *arg)
{
	long n = moat_call("sealing key", MOAT_GFN_SEALING_KEY, MOAT_ATTEST_SEALING_KEY_SIZE);

	if (n >= 0 && n != MOAT_ATTEST_SEALING_KEY_SIZE) {
		n = -EIO;
	}
	if (n >= 0 && copy_to_user(arg, answer, MOAT_ATTEST_SEALING_KEY_SIZE)) {
		n = -EFAULT;
	}
	return n < 0 ? n : 0;
}

static long attest_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	long ret;

	if (cmd != MOAT_ATTEST_GET_MEASUREMENT && cmd != MOAT_ATTEST_GET_REPORT &&
	    cmd != MOAT_ATTEST_GET_SEALING_KEY) {
		return -ENOTTY;
	}
	mutex_lock(&call_lock);
	/* A clean page for every call: no earlier answer can be mistaken for this one's. */
	clear_page(answer);
	switch (cmd) {
	case MOAT_ATTEST_GET_MEASUREMENT:
		ret = get_measurement(uarg);
		break;
	case MOAT_ATTEST_GET_REPORT:
		ret = get_report(uarg);
		break;
	default:
		ret = get_sealing_key(uarg);
		break;
	}
	/* The sealing key must not stay in kernel memory once user space has its copy. */
	memzero_explicit(answer, PAGE_SIZE);
	mutex_unlock(&call_lock);
	return ret;
}

static const struct file_operations attest_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = attest_ioctl,
};

static struct miscdevice attest_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "moat-attest",
	.fops = &attest_fops,
	.mode = 0600,
};

static int __init moat_attest_init(void)
{
	int ret;

	/*
	 * The calls are HVCs: without a hypervisor that answers SMCCC 1.1 over HVC (e.g. on bare
	 * metal or at EL2) an HVC would be an undefined instruction, so refuse to load instead.
	 */
	if (arm_smccc_1_1_get_conduit() != SMCCC_CONDUIT_HVC) {
		pr_info("moat_attest: no SMCCC 1.1 HVC conduit: not a guest of a hypervisor\n");
		return -ENODEV;
	}
	answer_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!answer_page) {
		return -ENOMEM;
	}
	answer = page_address(answer_page);
	ret = misc_register(&attest_misc);
	if (ret) {
		__free_page(answer_page);
		return ret;
	}
	pr_info("moat_attest: /dev/moat-attest ready (answer page at IPA 0x%llx)\n",
		(u64)page_to_phys(answer_page));
	return 0;
}

static void __exit moat_attest_exit(void)
{
	misc_deregister(&attest_misc);
	__free_page(answer_page);
}

module_init(moat_attest_init);
module_exit(moat_attest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("moat guest attestation: measurement, report and sealing key for a protected VM");
