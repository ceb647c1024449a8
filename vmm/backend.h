/*
 * The hypervisor interface moat-vmm runs on. Everything above it (loading, devicetree, devices, vCPU
 * threads, exit status) is the same whichever kernel runs the guest; below it, one file per kernel
 * API: backend_moat.c drives /dev/moat (moat.ko), backend_kvm.c drives /dev/kvm, so the same VMM and
 * guest can be measured on stock KVM side by side (DESIGN §13).
 *
 * Call order: open, create_vm, load / set_boot / create_vcpu (any order), finalize, then run on each
 * vCPU from its own thread and irq_line from any thread, then destroy. Every call returns 0 or a
 * negative errno and has printed nothing; backend_error() formats the last failure for a message.
 */
#ifndef MOAT_VMM_BACKEND_H
#define MOAT_VMM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct backend;
struct backend_vcpu;

/* What a vCPU's run came back for, in the backend-neutral form the VMM loop handles. */
enum backend_exit_kind {
	BACKEND_EXIT_MMIO,	  /* mmio: emulate; for a read, hand the value to mmio_complete before the next run */
	BACKEND_EXIT_SYSTEM_OFF,  /* PSCI SYSTEM_OFF */
	BACKEND_EXIT_SYSTEM_RESET, /* PSCI SYSTEM_RESET */
	BACKEND_EXIT_GUEST_FAULT, /* guest_fault: the guest touched an IPA nothing backs */
	BACKEND_EXIT_AGAIN,	  /* nothing for user space (a signal, a vCPU that is off): run again */
};

struct backend_exit {
	enum backend_exit_kind kind;
	union {
		struct {
			uint64_t ipa;
			unsigned int size; /* 1, 2, 4 or 8 */
			bool is_write;
			uint64_t value; /* the written value */
		} mmio;
		struct {
			uint64_t ipa;
		} guest_fault;
	} u;
};

struct backend_vm_spec {
	bool protected_vm;
	uint64_t mem_size;		 /* RAM at VMM_RAM_BASE */
	uint64_t mmio_base, mmio_size;	 /* the window whose accesses come back as BACKEND_EXIT_MMIO */
	uint64_t spi_mask;		 /* bit n: SPI 32 + n may be driven with irq_line */
	unsigned int cpus;
};

struct backend_limits {
	unsigned int max_vcpus;
	uint64_t max_mem; /* 0: no limit known */
	bool protected_vm;
};

struct backend_ops {
	const char *name; /* as --backend names it */
	const char *who;  /* who sets the limits, for messages: "the core", "KVM" */
	/* Opens the kernel interface and reads its limits. */
	int (*open)(struct backend **b, struct backend_limits *lim);
	int (*create_vm)(struct backend *b, const struct backend_vm_spec *spec);
	/* Copies size bytes to guest RAM at ipa (page-aligned); the tail of the last page is zeroed. */
	int (*load)(struct backend *b, uint64_t ipa, const void *src, uint64_t size);
	int (*set_boot)(struct backend *b, uint64_t pc, uint64_t x0);
	int (*create_vcpu)(struct backend *b, unsigned int index, struct backend_vcpu **v);
	/* Fixes the VM, with the owner's signature blob sig[0..sig_len) if sig is not NULL (moat only);
	 * fills the 32-byte SHA-256 measurement if the backend has one (returns 1 then). */
	int (*finalize)(struct backend *b, const void *sig, size_t sig_len, uint8_t measurement[32]);
	/* Runs until an exit user space handles; -EINTR counts as BACKEND_EXIT_AGAIN, not an error. */
	int (*run)(struct backend_vcpu *v, struct backend_exit *exit);
	/* The value an MMIO read returns to the guest, before the next run of that vCPU. */
	void (*mmio_complete)(struct backend_vcpu *v, uint64_t value);
	int (*irq_line)(struct backend *b, unsigned int intid, bool level);
	/*
	 * Guest RAM as the VMM's devices may see it (after create_vm), or NULL with the error set: a
	 * normal VM's own mapping; for a protected VM a window in which only the pages the guest shared
	 * appear (any other access is SIGBUS; gmem.h). Valid until destroy.
	 */
	void *(*guest_map)(struct backend *b);
	/* Closes every fd; the kernel tears the VM down. Safe on a half-built VM. */
	void (*destroy)(struct backend *b);
	/* A description of the last failure (the core's error when the kernel kept one), or "". */
	const char *(*error)(struct backend *b);
};

/* backend_util.c: what the backends share. Each returns NULL / a negative errno with errno set. */
void *backend_ram_map(uint64_t size); /* a normal VM's RAM: anonymous, MADV_DONTFORK, MADV_DONTDUMP */
int backend_ram_copy(void *ram, uint64_t mem_size, uint64_t ipa, const void *src, uint64_t size);
void backend_unmap(void **p, uint64_t size); /* munmap if mapped, and forget it */
void backend_close(int *fd);		     /* close if open, and forget it */

extern const struct backend_ops backend_moat;
extern const struct backend_ops backend_kvm; /* backend_kvm.c: arm64 hosts; elsewhere open() fails */

#endif
