/*
 * The /dev/moat backend (include/moat/ioctl.h): one system fd, one VM fd, one fd and one mmap()ed run
 * structure per vCPU. Guest RAM:
 *  - protected VMs: the driver allocates it and never maps it into this process (config.user_addr = 0);
 *    images go in only through MOAT_VM_LOAD_IMAGE, which the core measures (ascending IPA only);
 *  - normal VMs: an anonymous mapping of ours (backend_ram_map: MADV_DONTFORK, MADV_DONTDUMP) that
 *    the driver pins. Images are written straight into it, as a KVM VMM does; LOAD_IMAGE would only
 *    copy the same bytes through the kernel.
 * Integer ioctl arguments are passed as unsigned long: the kernel reads the whole register, and an
 * int vararg leaves the upper half of x2 unspecified on arm64. Calls without an argument pass 0, which
 * the driver requires.
 * Thread-safety: create/load/finalize run on the main thread before the vCPU threads start; run and
 * mmio_complete touch only their own vCPU; irq_line is one ioctl on the VM fd, safe from any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "moat/ioctl.h"
#include "vmm.h"

struct backend_vcpu {
	struct backend *b;
	int fd;
	unsigned int index;
	struct moat_vcpu_run *run;
};

struct backend {
	int sys_fd, vm_fd;
	long run_size;
	void *ram; /* normal VMs: the VMM's mapping of guest RAM; protected VMs: NULL */
	void *shared; /* protected VMs: mmap() of the VM fd, where only guest-shared pages appear */
	uint64_t mem_size;
	struct backend_vcpu vcpus[VMM_MAX_CPUS];
	unsigned int nr_vcpus;
	char error[320];
};

static const char *core_error_name(long e)
{
	static const char *const names[] = { "OK",	 "NOT_SUPPORTED", "INVAL",	   "NOMEM",	  "PERM",
					     "BUSY",	 "NOENT",	  "STALE",	   "STATE",	  "RANGE",
					     "ALIGN",	 "EXIST",	  "CORRUPT",	   "ORDER",	  "UNSIGNED",
					     "WRONG_KEY", "BAD_SIGNATURE", "NO_IDENTITY" };

	return e <= 0 && -e < (long)(sizeof(names) / sizeof(names[0])) ? names[-e] : "?";
}

/* Records what failed; for VM calls the core's own error too (MOAT_VM_LAST_ERROR). Returns -errno. */
static int fail(struct backend *b, const char *what)
{
	int err = errno;
	long core = b->vm_fd >= 0 ? ioctl(b->vm_fd, MOAT_VM_LAST_ERROR, 0UL) : 0;

	/* LAST_ERROR answers -(enum moat_error): a positive number, or -1 with errno set if the driver
	 * passed it up as an error instead. Either way it becomes the core's negative code again. */
	if (core > 0) {
		core = -core;
	} else if (core == -1) {
		core = errno > 0 && errno <= 17 ? -errno : 0;
	}
	if (core < 0) {
		snprintf(b->error, sizeof(b->error), "%s: %s (core: MOAT_E_%s)", what, strerror(err),
			 core_error_name(core));
	} else {
		snprintf(b->error, sizeof(b->error), "%s: %s", what, strerror(err));
	}
	errno = err;
	return -err;
}

static int moat_open(struct backend **out, struct backend_limits *lim)
{
	struct backend *b = calloc(1, sizeof(*b));
	long lv;
	int v;

	if (b == NULL) {
		return -ENOMEM;
	}
	b->vm_fd = -1;
	for (unsigned int i = 0; i < VMM_MAX_CPUS; i++) {
		b->vcpus[i].fd = -1;
	}
	*out = b;
	b->sys_fd = open("/dev/moat", O_RDWR | O_CLOEXEC);
	if (b->sys_fd < 0) {
		return fail(b, "open /dev/moat (is moat.ko loaded, and moat running below this kernel?)");
	}
	v = ioctl(b->sys_fd, MOAT_GET_API_VERSION, 0UL);
	if (v < 0) {
		return fail(b, "MOAT_GET_API_VERSION");
	}
	if (v != MOAT_DRIVER_API_VERSION) {
		errno = EPROTO;
		snprintf(b->error, sizeof(b->error), "/dev/moat speaks API version %d, this VMM %d", v,
			 MOAT_DRIVER_API_VERSION);
		return -EPROTO;
	}
	b->run_size = ioctl(b->sys_fd, MOAT_GET_VCPU_MMAP_SIZE, 0UL);
	if (b->run_size < (long)sizeof(struct moat_vcpu_run)) {
		return fail(b, "MOAT_GET_VCPU_MMAP_SIZE");
	}
	v = ioctl(b->sys_fd, MOAT_CHECK_EXTENSION, (unsigned long)MOAT_CAP_MAX_VCPUS);
	lim->max_vcpus = v > 0 ? (unsigned int)v : 1;
	/* In MiB: bytes would not fit ioctl()'s int return. */
	lim->max_mem = 0;
	lv = ioctl(b->sys_fd, MOAT_CHECK_EXTENSION, (unsigned long)MOAT_CAP_MAX_MEM_MIB);
	if (lv > 0) {
		lim->max_mem = (uint64_t)lv << 20;
	}
	lim->protected_vm = ioctl(b->sys_fd, MOAT_CHECK_EXTENSION, (unsigned long)MOAT_CAP_VM_PROTECTED) > 0;
	return 0;
}

static int moat_create_vm(struct backend *b, const struct backend_vm_spec *spec)
{
	struct moat_vm_config cfg = {
		.mem_size = spec->mem_size,
		.mmio_base = spec->mmio_base,
		.mmio_size = spec->mmio_size,
		.spi_mask = spec->spi_mask,
		.max_vcpus = spec->cpus,
	};

	b->mem_size = spec->mem_size;
	if (!spec->protected_vm) {
		b->ram = backend_ram_map(spec->mem_size);
		if (b->ram == NULL) {
			return fail(b, "mmap guest RAM");
		}
		/* The core maps a normal VM's RAM in 4 KiB pages (one demand-paging exit per page), so a
		 * transparent huge page would only make the driver's first pin zero and hold 2 MiB for one
		 * guest page. Advice only: a kernel without THP refuses it, which changes nothing. */
		(void)madvise(b->ram, spec->mem_size, MADV_NOHUGEPAGE);
		cfg.user_addr = (uint64_t)(uintptr_t)b->ram;
	}
	b->vm_fd = ioctl(b->sys_fd, MOAT_CREATE_VM,
			 (unsigned long)(spec->protected_vm ? MOAT_VM_PROTECTED : MOAT_VM_NORMAL));
	if (b->vm_fd < 0) {
		b->vm_fd = -1;
		return fail(b, "MOAT_CREATE_VM");
	}
	if (ioctl(b->vm_fd, MOAT_VM_CONFIGURE, &cfg) != 0) {
		return fail(b, "MOAT_VM_CONFIGURE");
	}
	return 0;
}

static int moat_load(struct backend *b, uint64_t ipa, const void *src, uint64_t size)
{
	struct moat_load_image li = { .guest_addr = ipa, .user_addr = (uint64_t)(uintptr_t)src, .size = size };

	if (b->ram) {
		return backend_ram_copy(b->ram, b->mem_size, ipa, src, size) ? fail(b, "load outside guest RAM") : 0;
	}
	if (ioctl(b->vm_fd, MOAT_VM_LOAD_IMAGE, &li) != 0) {
		return fail(b, "MOAT_VM_LOAD_IMAGE");
	}
	return 0;
}

static int moat_set_boot(struct backend *b, uint64_t pc, uint64_t x0)
{
	struct moat_boot boot = { .pc = pc, .x0 = x0 };

	return ioctl(b->vm_fd, MOAT_VM_SET_BOOT, &boot) != 0 ? fail(b, "MOAT_VM_SET_BOOT") : 0;
}

static int moat_create_vcpu(struct backend *b, unsigned int index, struct backend_vcpu **out)
{
	struct backend_vcpu *v;
	void *run;

	if (index >= VMM_MAX_CPUS) {
		errno = EINVAL;
		return fail(b, "vCPU index");
	}
	v = &b->vcpus[index];
	v->b = b;
	v->index = index;
	v->fd = ioctl(b->vm_fd, MOAT_VM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		return fail(b, "MOAT_VM_CREATE_VCPU");
	}
	if (index + 1 > b->nr_vcpus) {
		b->nr_vcpus = index + 1;
	}
	run = mmap(NULL, (size_t)b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		return fail(b, "mmap vCPU run structure");
	}
	v->run = run;
	*out = v;
	return 0;
}

/* What the owner's policy refusal means, and what to do about it (docs/moat-vmm.md). */
static const char *refusal_advice(long core)
{
	switch (core) {
	case MOAT_E_UNSIGNED:
		return "unsigned: the core enforces the owner's policy and this protected VM has no signature; "
		       "sign its measurement with moat-sign and pass --signature FILE";
	case MOAT_E_WRONG_KEY:
		return "wrong key: the signature was made with a key other than the core's owner key "
		       "(moat.owner_key=)";
	case MOAT_E_BAD_SIGNATURE:
		return "bad signature: the signature is the owner key's but not of this VM's measurement "
		       "(image, initrd, DTB, command line, memory or CPUs changed since signing) or was altered";
	case MOAT_E_CORRUPT:
		return "corrupt: --signature is not a moat signature blob (moat-sign show FILE)";
	default:
		return NULL;
	}
}

static int moat_finalize(struct backend *b, const void *sig, size_t sig_len, uint8_t measurement[32])
{
	struct moat_finalize f = { .signature = (uintptr_t)sig, .signature_len = (uint32_t)sig_len };
	const char *advice;
	long core;
	int r;

	if (ioctl(b->vm_fd, MOAT_VM_FINALIZE_SIGNED, &f) != 0) {
		r = fail(b, "MOAT_VM_FINALIZE_SIGNED");
		core = ioctl(b->vm_fd, MOAT_VM_LAST_ERROR, 0UL);
		advice = core > 0 ? refusal_advice(-core) : NULL;
		if (advice) {
			snprintf(b->error, sizeof(b->error), "FINALIZE refused, %s (core: MOAT_E_%s)", advice,
				 core_error_name(-core));
		}
		return r;
	}
	memcpy(measurement, f.sha256, sizeof(f.sha256));
	return 1;
}

static int moat_run(struct backend_vcpu *v, struct backend_exit *e)
{
	struct moat_vcpu_run *run = v->run;

	memset(e, 0, sizeof(*e));
	if (ioctl(v->fd, MOAT_VCPU_RUN, 0UL) != 0) {
		if (errno == EINTR) {
			e->kind = BACKEND_EXIT_AGAIN;
			return 0;
		}
		return fail(v->b, "MOAT_VCPU_RUN");
	}
	switch (run->exit_reason) {
	case MOAT_EXIT_MMIO:
		e->kind = BACKEND_EXIT_MMIO;
		e->u.mmio.ipa = run->u.mmio.ipa;
		e->u.mmio.size = run->u.mmio.size;
		e->u.mmio.is_write = run->u.mmio.is_write != 0;
		e->u.mmio.value = run->u.mmio.data;
		return 0;
	case MOAT_EXIT_SYSTEM_OFF:
		e->kind = BACKEND_EXIT_SYSTEM_OFF;
		return 0;
	case MOAT_EXIT_SYSTEM_RESET:
		e->kind = BACKEND_EXIT_SYSTEM_RESET;
		return 0;
	case MOAT_EXIT_GUEST_FAULT:
		e->kind = BACKEND_EXIT_GUEST_FAULT;
		e->u.guest_fault.ipa = run->u.guest_fault.ipa;
		return 0;
	case MOAT_EXIT_INTR:
	case MOAT_EXIT_VCPU_OFF:
		/* A signal, or (if the driver hands it up) a vCPU that is off: run again, or stop if asked. */
		e->kind = BACKEND_EXIT_AGAIN;
		return 0;
	default:
		snprintf(v->b->error, sizeof(v->b->error), "vCPU %u: exit reason %u the VMM does not know", v->index,
			 run->exit_reason);
		return -EPROTO;
	}
}

static void moat_mmio_complete(struct backend_vcpu *v, uint64_t value)
{
	v->run->u.mmio.data = value;
}

static int moat_irq_line(struct backend *b, unsigned int intid, bool level)
{
	struct moat_irq_level irq = { .intid = intid, .level = level };

	return ioctl(b->vm_fd, MOAT_VM_IRQ_LINE, &irq) != 0 ? fail(b, "MOAT_VM_IRQ_LINE") : 0;
}

static void *moat_guest_map(struct backend *b)
{
	void *p;

	if (b->ram) {
		return b->ram;
	}
	if (b->shared == NULL) {
		/* Nothing is mapped up front: each page is asked for (GUEST_SHARED) at its first access. */
		p = mmap(NULL, b->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->vm_fd, 0);
		if (p == MAP_FAILED) {
			fail(b, "mmap of the VM fd (guest-shared pages)");
			return NULL;
		}
		b->shared = p;
	}
	return b->shared;
}

static void moat_destroy(struct backend *b)
{
	if (b == NULL) {
		return;
	}
	for (unsigned int i = 0; i < b->nr_vcpus; i++) {
		backend_unmap((void **)&b->vcpus[i].run, (uint64_t)b->run_size);
		backend_close(&b->vcpus[i].fd);
	}
	/* The shared window holds the VM file: unmapped first so that closing the fd releases the VM. */
	backend_unmap(&b->shared, b->mem_size);
	/* The VM fd last: its release tears the VM down and reclaims every page before RAM is unpinned. */
	backend_close(&b->vm_fd);
	backend_unmap(&b->ram, b->mem_size);
	backend_close(&b->sys_fd);
	free(b);
}

static const char *moat_error(struct backend *b)
{
	return b ? b->error : "";
}

const struct backend_ops backend_moat = {
	.name = "moat",
	.who = "the core",
	.open = moat_open,
	.create_vm = moat_create_vm,
	.load = moat_load,
	.set_boot = moat_set_boot,
	.create_vcpu = moat_create_vcpu,
	.finalize = moat_finalize,
	.run = moat_run,
	.mmio_complete = moat_mmio_complete,
	.irq_line = moat_irq_line,
	.guest_map = moat_guest_map,
	.destroy = moat_destroy,
	.error = moat_error,
};
