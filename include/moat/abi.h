/*
 * moat host ABI v1: function IDs, VM types, exit reasons, register IDs and
 * the run-page layout, shared verbatim by the core, the test host, the Linux
 * driver, the VMM and guests. docs/ABI.md documents every call.
 *
 * SMCCC fast calls, SMC64, owner 6 (vendor hypervisor), issued with HVC #0
 * from EL1: x0 = function ID, x1..x6 = arguments. On return x0 = 0 or a
 * negative enum moat_error (errors.h), x1..x3 = results (all zero on error),
 * and every other register holds the caller's own value. Arguments a call
 * does not use must be zero (MOAT_E_INVAL otherwise).
 */
#ifndef MOAT_ABI_H
#define MOAT_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#include "errors.h"

#define MOAT_ABI_VERSION_MAJOR 1
#define MOAT_ABI_VERSION_MINOR 3

/* (fixed) 0xC6000000 | (0x100 + n): host calls live at n >= 0. */
#define MOAT_FN(n) (0xC6000000UL | (0x100UL + (n)))

/* Host calls. "pa" arguments are page-aligned host physical addresses. */
#define MOAT_FN_VERSION MOAT_FN(0)	 /* -> x1 = (major << 16) | minor */
#define MOAT_FN_CAPS MOAT_FN(1)		 /* -> x1 = VM-type mask, x2 = feature mask, x3 = limits */
#define MOAT_FN_VM_CREATE MOAT_FN(2)	 /* (type, max_vcpus, root_pa, ram_size, mmio_base, mmio_size) -> x1 = handle */
#define MOAT_FN_VM_DESTROY MOAT_FN(3)	 /* (handle) */
#define MOAT_FN_VCPU_CREATE MOAT_FN(4)	 /* (handle, index, run_pa) */
#define MOAT_FN_DONATE_CORE MOAT_FN(5)	 /* (handle, pa, npages): top up the VM's memcache */
#define MOAT_FN_SHARE_CORE MOAT_FN(6)	 /* (pa): lend a host page to the core (run pages) */
#define MOAT_FN_UNSHARE_CORE MOAT_FN(7)	 /* (pa) */
#define MOAT_FN_DONATE_VM MOAT_FN(8)	 /* (handle, pa, ipa): page given to the VM, zeroed */
#define MOAT_FN_LOAD MOAT_FN(9)		 /* (handle, pa, ipa): page given to the VM, contents kept and measured */
#define MOAT_FN_SHARE_VM MOAT_FN(10)	 /* (handle, pa, ipa): normal VMs: host keeps the page, VM borrows it */
#define MOAT_FN_SET_BOOT MOAT_FN(11)	 /* (handle, pc, x0): vCPU 0's entry */
#define MOAT_FN_FINALIZE MOAT_FN(12)	 /* (handle): configuration and image fixed -> x1..x3 measurement prefix */
#define MOAT_FN_VCPU_RUN MOAT_FN(13)	 /* (handle, index) -> x1 = exit reason (details in the run page) */
#define MOAT_FN_VCPU_GET_REG MOAT_FN(14) /* (handle, index, reg) -> x1 = value; normal VMs only */
#define MOAT_FN_VCPU_SET_REG MOAT_FN(15) /* (handle, index, reg, value); normal VMs only */
#define MOAT_FN_RECLAIM MOAT_FN(16)	 /* (pa): take back a scrubbed page of a destroyed VM */
#define MOAT_FN_STATS MOAT_FN(17)	 /* (which) -> x1..x3, see MOAT_STATS_* */
#define MOAT_FN_CHECK MOAT_FN(18)	 /* () -> x1 = invariant violations found (diagnostics) */
#define MOAT_FN_MEASUREMENT MOAT_FN(19)	 /* (handle, word) -> x1 = 64-bit word 0..3 of the SHA-256 */
#define MOAT_FN_VM_SET_SPIS MOAT_FN(20) /* (handle, mask): SPIs 32 + n the host may raise; before FINALIZE; measured */
#define MOAT_FN_IRQ_LINE MOAT_FN(21)	 /* (handle, intid, level 0/1) -> x1 = the vCPU the SPI is routed to */
#define MOAT_FN_GUEST_SHARED MOAT_FN(22) /* (handle, ipa) -> x1 = pa the guest shares there with the host (ABI 1.2) */
#define MOAT_FN_COUNT 23

/*
 * Guest calls (ABI 1.3): moat's own block in the vendor-hypervisor range,
 * above the KVM/pKVM numbers (0..127) and the host calls (0x100..), issued by
 * a protected guest with HVC #0. Arguments a call does not use must be zero.
 * `ipa` is a page-aligned IPA of a page of the calling VM's own RAM that it
 * does not share with the host (MOAT_E_PERM otherwise): the core writes the
 * answer there, so that secrets never pass through registers the host might
 * see in a later exit. docs/attestation.md documents each layout.
 */
#define MOAT_GUEST_FN(n) (0xC6000000UL | (0x200UL + (n)))
#define MOAT_GFN_MEASUREMENT MOAT_GUEST_FN(0) /* (ipa): 32-byte VM measurement at ipa -> x1 = 32 */
#define MOAT_GFN_REPORT MOAT_GUEST_FN(1)      /* (ipa): 64-byte challenge at ipa in, report out -> x1 = report bytes */
#define MOAT_GFN_SEALING_KEY MOAT_GUEST_FN(2) /* (ipa): 32-byte sealing key at ipa -> x1 = 32 */

/* VM types (fixed values); MOAT_FN_CAPS x1 has bit (1 << type) set for each supported type. */
#define MOAT_VM_NORMAL 0
#define MOAT_VM_PROTECTED 1

/* MOAT_FN_CAPS x3: limits packed as bytes. */
#define MOAT_CAPS_MAX_VMS(x3) ((unsigned int)((x3)&0xffff))
#define MOAT_CAPS_MAX_VCPUS(x3) ((unsigned int)(((x3) >> 16) & 0xffff))

/* Guest physical layout: RAM starts here, as on QEMU virt, so standard guests boot unchanged. */
#define MOAT_GUEST_RAM_BASE 0x40000000UL

/* Handles: slot in bits 0..15, generation in bits 16..31; upper bits zero. */
#define MOAT_HANDLE(slot, gen) ((((uint64_t)(gen)&0xffff) << 16) | ((uint64_t)(slot)&0xffff))

/* MOAT_FN_STATS selectors. */
#define MOAT_STATS_OWNERS 0  /* x1 = pages owned by the host, x2 = by the core, x3 = by VMs */
#define MOAT_STATS_STATES 1  /* x1 = pages pending scrub, x2 = host pages shared with the core, x3 = pages shared
			      * between the host and VMs, either way */
#define MOAT_STATS_OBJECTS 2 /* x1 = live VMs, x2 = live vCPUs, x3 = free pages in the core's boot pool */

/* Exit reasons, in the run page and in x1 of VCPU_RUN. */
#define MOAT_EXIT_NONE 0
#define MOAT_EXIT_MMIO 1	 /* mmio: access in the VM's MMIO window; complete reads via mmio.value */
#define MOAT_EXIT_MEM_FAULT 2	 /* mem_fault: RAM page not yet backed; donate it and run again */
#define MOAT_EXIT_WFI 3		 /* wfi: guest waits for an interrupt; deadline in counter ticks or ~0 */
#define MOAT_EXIT_SYSTEM_OFF 4	 /* guest called PSCI SYSTEM_OFF */
#define MOAT_EXIT_SYSTEM_RESET 5 /* guest called PSCI SYSTEM_RESET */
#define MOAT_EXIT_GUEST_FAULT 6	 /* guest_fault: an external abort was injected into the guest */
#define MOAT_EXIT_IRQ 7		 /* a physical interrupt for the host arrived while the guest ran */
#define MOAT_EXIT_VCPU_ON 8	 /* vcpu_on: the guest's PSCI CPU_ON made vCPU `index` runnable; run it (and this one) */
#define MOAT_EXIT_VCPU_OFF 9	 /* the vCPU is off (its CPU_OFF, or VCPU_RUN of an off vCPU): run it after a VCPU_ON names it */
#define MOAT_EXIT_KICK 10	 /* kick: an SGI or GIC write made interrupts pending on vCPUs `vcpus` (bit = index); kick/wake them */
/* unshare (ABI 1.2): the guest asks to unshare page `ipa`; drop every host mapping of it, then run again */
#define MOAT_EXIT_UNSHARE 11

/* Register IDs for VCPU_GET_REG / VCPU_SET_REG. */
#define MOAT_REG_X(n) (n) /* x0..x30 */
#define MOAT_REG_SP_EL0 31
#define MOAT_REG_PC 32
#define MOAT_REG_PSTATE 33
#define MOAT_REG_SP_EL1 34
#define MOAT_REG_ELR_EL1 35
#define MOAT_REG_SPSR_EL1 36
#define MOAT_REG_COUNT 37

/*
 * The run page: one per vCPU, a host page shared with the core
 * (MOAT_FN_SHARE_CORE) and named at VCPU_CREATE. The core writes it on every
 * exit and reads only mmio.value (read completion) from it. For a protected
 * VM it never carries more than the exit needs.
 */
struct moat_run {
	uint32_t exit_reason; /* MOAT_EXIT_* */
	uint32_t flags;	      /* reserved, 0 */
	union {
		struct {
			uint64_t ipa;
			uint32_t size;	   /* bytes: 1, 2, 4 or 8 */
			uint32_t is_write; /* 1: write (value holds the data); 0: read (host fills value) */
			uint64_t value;
		} mmio;
		struct {
			uint64_t ipa; /* page-aligned */
		} mem_fault;
		struct {
			uint64_t deadline; /* CNTVCT value the guest's timer fires at, or ~0 */
		} wfi;
		struct {
			uint64_t ipa; /* faulting IPA, page-aligned */
		} guest_fault;
		struct {
			uint64_t index; /* the vCPU the guest's CPU_ON started */
		} vcpu_on;
		struct {
			uint64_t vcpus; /* bit i: vCPU i (not the sender) has a new SGI pending */
		} kick;
		struct {
			uint64_t ipa; /* page the guest unshares once this vCPU runs again */
		} unshare;
		uint64_t raw[6];
	} u;
	uint64_t reserved[57];
};

#define MOAT_RUN_PAGE_SIZE 4096

_Static_assert(sizeof(struct moat_run) == 512, "run page layout is ABI");
_Static_assert(__builtin_offsetof(struct moat_run, u) == 8, "run page layout is ABI");
_Static_assert(__builtin_offsetof(struct moat_run, u.mmio.value) == 24, "run page layout is ABI");

#endif
