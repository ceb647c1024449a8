// SPDX-License-Identifier: GPL-2.0
/*
 * moat_peek.ko: a TEST module, never loaded by default. /dev/moat_peek (root only) has one ioctl
 * that reads 8 bytes of a VM's guest page through the kernel's linear map, as a buggy or hostile
 * driver of the host could. For a page donated to a VM the core has unmapped it from the host's
 * stage 2: the read becomes a synchronous external abort at EL1 (the core logs page and owner),
 * which a stock kernel turns into an Oops of the calling task; the kernel and the guest live on
 * (DESIGN §4, tests/linux/moattest.c "peek"). For a normal VM's page lent with SHARE_VM the read
 * works and returns the guest's data.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

struct moat_peek {
	__s32 vm_fd; /* a VM fd of the caller's */
	__u32 pad;
	__u64 ipa;   /* guest page */
	__u64 value; /* out: the first 8 bytes */
};
#define MOAT_PEEK _IOWR(0xB7, 0x7f, struct moat_peek)

int moat_test_guest_pa(struct file *file, u64 ipa, phys_addr_t *pa);

static long peek_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct moat_peek p;
	phys_addr_t pa;
	struct fd f;
	int ret;

	if (cmd != MOAT_PEEK) {
		return -ENOTTY;
	}
	if (copy_from_user(&p, (void __user *)arg, sizeof(p))) {
		return -EFAULT;
	}
	f = fdget(p.vm_fd);
	if (!fd_file(f)) {
		return -EBADF;
	}
	ret = moat_test_guest_pa(fd_file(f), p.ipa, &pa);
	fdput(f);
	if (ret) {
		return ret;
	}
	pr_info("moat_peek: reading PA 0x%llx (guest IPA 0x%llx) through the linear map at %px\n", (u64)pa, p.ipa,
		phys_to_virt(pa));
	p.value = READ_ONCE(*(u64 *)phys_to_virt(pa));
	pr_info("moat_peek: read 0x%llx\n", p.value);
	return copy_to_user((void __user *)arg, &p, sizeof(p)) ? -EFAULT : 0;
}

static const struct file_operations peek_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = peek_ioctl,
};

static struct miscdevice peek_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "moat_peek",
	.fops = &peek_fops,
	.mode = 0600,
};

module_misc_device(peek_misc);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("moat test: read a guest page through the host's linear map");
