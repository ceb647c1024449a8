/*
 * moat's Linux driver API: the ioctls of /dev/moat (host/linux/moat.ko), shared by the driver and
 * user space (moat-vmm, tests). KVM-shaped so that a VMM with a KVM backend maps onto it one for
 * one: a system fd (/dev/moat) creates VM fds, a VM fd creates vCPU fds, a vCPU fd is mmap()ed for
 * its run structure and RUN returns to user space only for what user space must handle.
 *
 * Errors are ordinary negative errnos from ioctl(). Where the core refused a call, the driver maps
 * the core's enum moat_error onto an errno (docs/driver.md has the table) and the exact core code
 * is kept for MOAT_VM_LAST_ERROR, so a VMM can print what the core said.
 *
 * Order on a VM fd: CONFIGURE once; then LOAD_IMAGE / SET_BOOT / CREATE_VCPU in any order;
 * FINALIZE; then RUN on the vCPU fds and IRQ_LINE. Calls out of order get -EBUSY (already done)
 * or -EINVAL (not yet possible) and change nothing.
 */
#ifndef MOAT_IOCTL_H
#define MOAT_IOCTL_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#include <linux/types.h>
#else
#include <stdint.h>
#include <sys/ioctl.h>
#endif

#include "abi.h"

/* Bumped on any incompatible change of this file; MOAT_GET_API_VERSION returns it. */
/* 2: struct moat_vm_stats grew (share_faults, unshare_exits); 3: MOAT_VM_FINALIZE_SIGNED (the owner's signature) */
#define MOAT_DRIVER_API_VERSION 3

#define MOAT_IOCTL_MAGIC 0xB7 /* unused by the kernel's ioctl-number registry */

/* ---- /dev/moat ---- */

/* () -> MOAT_DRIVER_API_VERSION */
#define MOAT_GET_API_VERSION _IO(MOAT_IOCTL_MAGIC, 0x00)
/* (type: MOAT_VM_NORMAL or MOAT_VM_PROTECTED) -> a new VM fd, O_CLOEXEC */
#define MOAT_CREATE_VM _IO(MOAT_IOCTL_MAGIC, 0x01)
/* (MOAT_CAP_*) -> value (0 = not supported) */
#define MOAT_CHECK_EXTENSION _IO(MOAT_IOCTL_MAGIC, 0x02)
/* () -> the size to mmap() on a vCPU fd */
#define MOAT_GET_VCPU_MMAP_SIZE _IO(MOAT_IOCTL_MAGIC, 0x03)

/* MOAT_CHECK_EXTENSION arguments; the values come from the core's MOAT_FN_CAPS / VERSION. */
#define MOAT_CAP_VM_NORMAL 1	   /* 1 if the core runs normal VMs */
#define MOAT_CAP_VM_PROTECTED 2	   /* 1 if the core runs protected VMs */
#define MOAT_CAP_MAX_VCPUS 3	   /* vCPUs per VM */
#define MOAT_CAP_MAX_VMS 4	   /* live VMs in the core at once */
#define MOAT_CAP_CORE_ABI 5	   /* (major << 16) | minor of the core's host ABI */
#define MOAT_CAP_IRQ_LINE 6	   /* 1 if MOAT_IRQ_LINE works (core ABI >= 1.1) */
#define MOAT_CAP_MAX_MEM_MIB 7	   /* largest guest RAM the driver accepts, in MiB (ioctl() returns an int) */

/* Root only (CAP_SYS_ADMIN): the core's MOAT_FN_STATS and MOAT_FN_CHECK plus the driver's own page
 * counters, for tests that check nothing leaked (values equal before and after). */
struct moat_stats {
	uint64_t core[3][3];   /* core[which][i] = MOAT_FN_STATS(which) x(i + 1), MOAT_STATS_* */
	uint64_t core_check;   /* MOAT_FN_CHECK x1: invariant violations the core found (0 expected) */
	uint64_t vms;	       /* VMs the driver has in the core */
	uint64_t pages_held;   /* pages the driver gave away (core, VMs, run pages) or pinned, all VMs */
	uint64_t pages_leaked; /* pages the core would not give back, since load (never freed) */
	uint64_t reserved[4];
};
#define MOAT_GET_STATS _IOR(MOAT_IOCTL_MAGIC, 0x04, struct moat_stats)

/* ---- VM fd ---- */

struct moat_vm_config {
	uint64_t mem_size;   /* guest RAM at MOAT_GUEST_RAM_BASE, bytes, multiple of 4 KiB */
	uint64_t user_addr;  /* normal VMs: page-aligned VMM mapping of mem_size bytes backing guest
			      * RAM (pinned by the driver); protected VMs: must be 0 (the driver
			      * allocates guest RAM, and it is never mapped into any process) */
	uint64_t mmio_base;  /* the one window whose accesses exit to user space as MOAT_EXIT_MMIO */
	uint64_t mmio_size;
	uint64_t spi_mask;   /* bit n: user space may raise SPI 32 + n with MOAT_IRQ_LINE (measured) */
	uint32_t max_vcpus;  /* 1..MOAT_CAP_MAX_VCPUS */
	uint32_t flags;	     /* 0 */
	uint64_t reserved[4]; /* 0 */
};
/* Creates the VM in the core. */
#define MOAT_VM_CONFIGURE _IOW(MOAT_IOCTL_MAGIC, 0x10, struct moat_vm_config)

struct moat_load_image {
	uint64_t guest_addr; /* page-aligned IPA inside guest RAM */
	uint64_t user_addr;  /* source bytes in the caller's memory */
	uint64_t size;	     /* bytes; the last page is zero-padded */
	uint64_t flags;	     /* 0 */
};
/* Copies an image into guest RAM before FINALIZE; protected VMs: measured, in call order. */
#define MOAT_VM_LOAD_IMAGE _IOW(MOAT_IOCTL_MAGIC, 0x11, struct moat_load_image)

struct moat_boot {
	uint64_t pc; /* vCPU 0's first instruction (IPA) */
	uint64_t x0; /* its x0 (for Linux: the DTB's IPA) */
};
#define MOAT_VM_SET_BOOT _IOW(MOAT_IOCTL_MAGIC, 0x12, struct moat_boot)

struct moat_measurement {
	uint8_t sha256[32]; /* the core's measurement of the VM (configuration + loaded images) */
};
/* Fixes configuration and images; returns the measurement. */
#define MOAT_VM_FINALIZE _IOR(MOAT_IOCTL_MAGIC, 0x13, struct moat_measurement)

/*
 * FINALIZE with the owner's signature blob (API 3, core ABI 1.3; include/moat/sign.h): the
 * driver copies signature_len bytes (1..4096) from user space into a zeroed kernel page, shares
 * it with the core for the call and takes it back after. signature = 0 with signature_len = 0 is
 * MOAT_VM_FINALIZE. Refusals: -EACCES (MOAT_E_UNSIGNED: the core enforces and no signature was
 * given), -ENOKEY (MOAT_E_WRONG_KEY), -EKEYREJECTED (MOAT_E_BAD_SIGNATURE), -EBADMSG
 * (MOAT_E_CORRUPT: not a signature blob); the VM stays unfinalized and the call can be retried.
 */
struct moat_finalize {
	uint64_t signature;	/* in: user address of the blob, or 0 */
	uint32_t signature_len; /* in: its length in bytes, 0 with no blob */
	uint32_t flags;		/* in: 0 */
	uint8_t sha256[32];	/* out: the measurement, as MOAT_VM_FINALIZE returns it */
};
#define MOAT_VM_FINALIZE_SIGNED _IOWR(MOAT_IOCTL_MAGIC, 0x18, struct moat_finalize)

/* (index 0..max_vcpus-1) -> a new vCPU fd, O_CLOEXEC */
#define MOAT_VM_CREATE_VCPU _IO(MOAT_IOCTL_MAGIC, 0x14)

struct moat_irq_level {
	uint32_t intid; /* 32 + n for an SPI listed in spi_mask */
	uint32_t level; /* 0 or 1 */
};
#define MOAT_VM_IRQ_LINE _IOW(MOAT_IOCTL_MAGIC, 0x15, struct moat_irq_level)

/*
 * mmap() of a VM fd (after CONFIGURE): a window on guest RAM, offset = IPA - MOAT_GUEST_RAM_BASE,
 * MAP_SHARED, never PROT_EXEC, not inherited by fork() and not in core dumps. A page is there
 * only while the guest shares it with the host (its MEM_SHARE; the driver asks the core at the
 * first access); any other access is SIGBUS: a protected VM's private memory is never mapped.
 * When the guest unshares a page, the driver removes it from every mapping before the guest's
 * call completes, so a later access is SIGBUS too, never an external abort.
 */

/* () -> the last enum moat_error the core returned to a call on this VM, negated: a positive
 * number (e.g. 9 for MOAT_E_RANGE), 0 if none. */
#define MOAT_VM_LAST_ERROR _IO(MOAT_IOCTL_MAGIC, 0x16)

struct moat_vm_stats {
	uint64_t pages_donated;	  /* guest RAM pages currently given to the VM */
	uint64_t pages_core;	  /* pages given to the core for this VM (tables, vCPU state, run pages) */
	uint64_t pages_leaked;	  /* pages the core would not give back (kept off the allocator) */
	uint64_t mem_faults;	  /* demand-paging exits handled in the kernel */
	uint64_t exits_user;	  /* RUN returns to user space */
	uint64_t pages_pinned;	  /* normal VMs: VMM pages pinned and lent to the VM (SHARE_VM) */
	uint64_t wfi_sleeps;	  /* WFI exits the driver slept on */
	uint64_t kicks;		  /* vCPUs woken or IPI'd for an SGI, IRQ_LINE or VCPU_ON */
	uint64_t share_faults;	  /* VMM faults on the VM fd's mmap served with a page the guest shares */
	uint64_t unshare_exits;	  /* guest unshares: the page's VMM mappings dropped before it completes */
	uint64_t reserved[4];
};
#define MOAT_VM_GET_STATS _IOR(MOAT_IOCTL_MAGIC, 0x17, struct moat_vm_stats)

/* ---- vCPU fd ---- */

/* Runs the vCPU until something user space must handle: returns 0 with run->exit_reason set, or
 * -EINTR on a pending signal (run->exit_reason = MOAT_EXIT_INTR). Demand paging, host interrupts,
 * WFI (sleeps until the guest's deadline, an IRQ_LINE or an SGI), other vCPUs' CPU_ON and kicks
 * are handled in the kernel. */
#define MOAT_VCPU_RUN _IO(MOAT_IOCTL_MAGIC, 0x20)

struct moat_one_reg {
	uint64_t id;	/* MOAT_REG_* */
	uint64_t value;
};
/* Normal VMs only (the core refuses for protected VMs: -EPERM). */
#define MOAT_VCPU_GET_REG _IOWR(MOAT_IOCTL_MAGIC, 0x21, struct moat_one_reg)
#define MOAT_VCPU_SET_REG _IOW(MOAT_IOCTL_MAGIC, 0x22, struct moat_one_reg)

/* Exit reasons user space sees (a subset of the core's MOAT_EXIT_*, plus the driver's own). */
#define MOAT_EXIT_INTR 100 /* RUN interrupted by a signal: handle it and RUN again */

/* What mmap() of a vCPU fd shows: one page, read-write; the driver copies between it and the core's
 * run page, so user space never touches a page the core reads. */
struct moat_vcpu_run {
	uint32_t exit_reason; /* MOAT_EXIT_MMIO, _SYSTEM_OFF, _SYSTEM_RESET, _GUEST_FAULT, _INTR */
	uint32_t vcpu_index;
	union {
		struct {
			uint64_t ipa;
			uint32_t size;	   /* 1, 2, 4 or 8 */
			uint32_t is_write; /* 1: data holds the value written; 0: fill data before the next RUN */
			uint64_t data;
		} mmio;
		struct {
			uint64_t ipa; /* page the guest's access was refused on */
		} guest_fault;
		uint64_t raw[8];
	} u;
};

#endif
