/*
 * The KVM backend (/dev/kvm, arm64): the same VMM and guest on stock KVM, for side-by-side numbers
 * (DESIGN §13). It builds the machine moat's core presents -- RAM at VMM_RAM_BASE in one memslot, a
 * GICv3 at the core's IPAs (KVM's in-kernel vGIC), PSCI 0.2+ in the kernel, vCPUs 1..n-1 powered off
 * until the guest's CPU_ON -- so the guest and its devicetree are the same. No protected VMs, no
 * measurement, and no guest faults: KVM turns every access outside the memslot into an MMIO exit
 * (an access it cannot decode fails RUN with ENOSYS instead, which the VMM reports as an error).
 * Guest RAM is an anonymous mapping of ours, MADV_DONTFORK and MADV_DONTDUMP as with moat
 * (backend_ram_map).
 * Thread-safety as backend_moat.c: set-up on the main thread, run per vCPU thread, irq_line anywhere.
 * On other architectures the file builds to a stub whose open() says the backend is arm64-only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "vmm.h"

#ifdef __aarch64__

#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVM_API_VERSION_WANTED 12

struct backend_vcpu {
	struct backend *b;
	int fd;
	unsigned int index;
	struct kvm_run *run;
};

struct backend {
	int kvm_fd, vm_fd, gic_fd;
	long run_size;
	void *ram;
	uint64_t mem_size;
	uint64_t boot_pc, boot_x0;
	struct backend_vcpu vcpus[VMM_MAX_CPUS];
	unsigned int nr_vcpus;
	char error[160];
};

static int fail(struct backend *b, const char *what)
{
	int err = errno;

	snprintf(b->error, sizeof(b->error), "%s: %s", what, strerror(err));
	errno = err;
	return -err;
}

static int kvm_open(struct backend **out, struct backend_limits *lim)
{
	struct backend *b = calloc(1, sizeof(*b));
	int v;

	if (b == NULL) {
		return -ENOMEM;
	}
	b->vm_fd = b->gic_fd = -1;
	for (unsigned int i = 0; i < VMM_MAX_CPUS; i++) {
		b->vcpus[i].fd = -1;
	}
	*out = b;
	b->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (b->kvm_fd < 0) {
		return fail(b, "open /dev/kvm");
	}
	v = ioctl(b->kvm_fd, KVM_GET_API_VERSION, 0UL);
	if (v != KVM_API_VERSION_WANTED) {
		errno = EPROTO;
		return fail(b, "KVM_GET_API_VERSION");
	}
	b->run_size = ioctl(b->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0UL);
	if (b->run_size < (long)sizeof(struct kvm_run)) {
		return fail(b, "KVM_GET_VCPU_MMAP_SIZE");
	}
	v = ioctl(b->kvm_fd, KVM_CHECK_EXTENSION, (unsigned long)KVM_CAP_MAX_VCPUS);
	lim->max_vcpus = v > 0 ? (unsigned int)v : 1;
	lim->max_mem = (1ULL << 40) - VMM_RAM_BASE; /* the default 40-bit IPA space (machine type 0) */
	lim->protected_vm = false;
	return 0;
}

static int gic_attr(struct backend *b, uint32_t group, uint64_t attr, const void *value)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)value };

	return ioctl(b->gic_fd, KVM_SET_DEVICE_ATTR, &a);
}

/* The in-kernel GICv3 at the core's IPAs, with the core's 64 SPIs. */
static int create_gic(struct backend *b)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = VMM_GICD_BASE, redist = VMM_GICR_BASE;
	uint32_t nr_irqs = 32 + 64;

	if (ioctl(b->vm_fd, KVM_CREATE_DEVICE, &dev) != 0) {
		return fail(b, "KVM_CREATE_DEVICE (GICv3)");
	}
	b->gic_fd = (int)dev.fd;
	if (gic_attr(b, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist) != 0 ||
	    gic_attr(b, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist) != 0 ||
	    gic_attr(b, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs) != 0) {
		return fail(b, "GICv3 addresses");
	}
	return 0;
}

static int kvm_create_vm(struct backend *b, const struct backend_vm_spec *spec)
{
	struct kvm_userspace_memory_region slot = { .slot = 0, .guest_phys_addr = VMM_RAM_BASE };

	if (spec->protected_vm) {
		errno = EOPNOTSUPP;
		return fail(b, "protected VMs on KVM");
	}
	b->mem_size = spec->mem_size;
	b->ram = backend_ram_map(spec->mem_size);
	if (b->ram == NULL) {
		return fail(b, "mmap guest RAM");
	}
	b->vm_fd = ioctl(b->kvm_fd, KVM_CREATE_VM, 0UL);
	if (b->vm_fd < 0) {
		b->vm_fd = -1;
		return fail(b, "KVM_CREATE_VM");
	}
	slot.memory_size = spec->mem_size;
	slot.userspace_addr = (uint64_t)(uintptr_t)b->ram;
	if (ioctl(b->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) != 0) {
		return fail(b, "KVM_SET_USER_MEMORY_REGION");
	}
	return create_gic(b);
}

static int kvm_load(struct backend *b, uint64_t ipa, const void *src, uint64_t size)
{
	return backend_ram_copy(b->ram, b->mem_size, ipa, src, size) ? fail(b, "load outside guest RAM") : 0;
}

static int kvm_set_boot(struct backend *b, uint64_t pc, uint64_t x0)
{
	b->boot_pc = pc;
	b->boot_x0 = x0;
	return 0;
}

static int kvm_create_vcpu(struct backend *b, unsigned int index, struct backend_vcpu **out)
{
	struct kvm_vcpu_init init;
	struct backend_vcpu *v;
	void *run;

	if (index >= VMM_MAX_CPUS) {
		errno = EINVAL;
		return fail(b, "vCPU index");
	}
	v = &b->vcpus[index];
	v->b = b;
	v->index = index;
	/* KVM gives vCPU i the MPIDR Aff0 = i (for i < 16), as the core does and the DTB says. */
	v->fd = ioctl(b->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		return fail(b, "KVM_CREATE_VCPU");
	}
	if (index + 1 > b->nr_vcpus) {
		b->nr_vcpus = index + 1;
	}
	run = mmap(NULL, (size_t)b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		return fail(b, "mmap kvm_run");
	}
	v->run = run;
	memset(&init, 0, sizeof(init));
	if (ioctl(b->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) != 0) {
		return fail(b, "KVM_ARM_PREFERRED_TARGET");
	}
	/* PSCI 0.2+ answered in the kernel; every vCPU but 0 off until the guest's CPU_ON, as on moat. */
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (index > 0) {
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	}
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) != 0) {
		return fail(b, "KVM_ARM_VCPU_INIT");
	}
	*out = v;
	return 0;
}

static int set_core_reg(struct backend_vcpu *v, uint64_t offset, uint64_t value)
{
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offset / sizeof(uint32_t)),
		.addr = (uint64_t)(uintptr_t)&value,
	};

	return ioctl(v->fd, KVM_SET_ONE_REG, &reg);
}

/* The GIC is initialised once every vCPU exists; vCPU 0 gets the boot PC and x0 (KVM resets it at
 * INIT, so this comes last). */
static int kvm_finalize(struct backend *b, const void *sig, size_t sig_len, uint8_t measurement[32])
{
	if (sig) {
		errno = EINVAL;
		return fail(b, "a signature (KVM checks none)");
	}
	if (gic_attr(b, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL) != 0) {
		return fail(b, "GICv3 init");
	}
	if (b->nr_vcpus == 0 || set_core_reg(&b->vcpus[0], offsetof(struct kvm_regs, regs.pc), b->boot_pc) != 0 ||
	    set_core_reg(&b->vcpus[0], offsetof(struct kvm_regs, regs.regs[0]), b->boot_x0) != 0) {
		return fail(b, "KVM_SET_ONE_REG (boot PC, x0)");
	}
	return 0; /* no measurement */
}

static int kvm_run_vcpu(struct backend_vcpu *v, struct backend_exit *e)
{
	struct kvm_run *run = v->run;

	memset(e, 0, sizeof(*e));
	if (ioctl(v->fd, KVM_RUN, 0UL) != 0) {
		if (errno == EINTR) {
			e->kind = BACKEND_EXIT_AGAIN;
			return 0;
		}
		return fail(v->b, "KVM_RUN");
	}
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		e->kind = BACKEND_EXIT_MMIO;
		e->u.mmio.ipa = run->mmio.phys_addr;
		e->u.mmio.size = run->mmio.len;
		e->u.mmio.is_write = run->mmio.is_write != 0;
		/* data[] holds the bytes in the guest's (little-endian) order, as does our value. */
		memcpy(&e->u.mmio.value, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			e->kind = BACKEND_EXIT_SYSTEM_OFF;
			return 0;
		}
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			e->kind = BACKEND_EXIT_SYSTEM_RESET;
			return 0;
		}
		break;
	case KVM_EXIT_INTR:
		e->kind = BACKEND_EXIT_AGAIN;
		return 0;
	default:
		break;
	}
	snprintf(v->b->error, sizeof(v->b->error), "vCPU %u: KVM exit reason %u the VMM does not handle", v->index,
		 run->exit_reason);
	return -EPROTO;
}

static void kvm_mmio_complete(struct backend_vcpu *v, uint64_t value)
{
	memcpy(v->run->mmio.data, &value, sizeof(value));
}

static int kvm_irq_line(struct backend *b, unsigned int intid, bool level)
{
	struct kvm_irq_level irq = { .irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | intid, .level = level };

	return ioctl(b->vm_fd, KVM_IRQ_LINE, &irq) != 0 ? fail(b, "KVM_IRQ_LINE") : 0;
}

static void *kvm_guest_map(struct backend *b)
{
	return b->ram; /* normal VMs only: RAM is our own memory, devices see all of it */
}

static void kvm_destroy(struct backend *b)
{
	if (b == NULL) {
		return;
	}
	for (unsigned int i = 0; i < b->nr_vcpus; i++) {
		backend_unmap((void **)&b->vcpus[i].run, (uint64_t)b->run_size);
		backend_close(&b->vcpus[i].fd);
	}
	backend_close(&b->gic_fd);
	backend_close(&b->vm_fd);
	backend_unmap(&b->ram, b->mem_size);
	backend_close(&b->kvm_fd);
	free(b);
}

static const char *kvm_error(struct backend *b)
{
	return b ? b->error : "";
}

const struct backend_ops backend_kvm = {
	.name = "kvm",
	.who = "KVM",
	.open = kvm_open,
	.create_vm = kvm_create_vm,
	.load = kvm_load,
	.set_boot = kvm_set_boot,
	.create_vcpu = kvm_create_vcpu,
	.finalize = kvm_finalize,
	.run = kvm_run_vcpu,
	.mmio_complete = kvm_mmio_complete,
	.irq_line = kvm_irq_line,
	.guest_map = kvm_guest_map,
	.destroy = kvm_destroy,
	.error = kvm_error,
};

#else /* !__aarch64__: the host-native build (tests, --dump-dtb) */

static int kvm_stub_open(struct backend **out, struct backend_limits *lim)
{
	*out = NULL;
	return -ENOSYS;
}

static void kvm_stub_destroy(struct backend *b)
{
}

static const char *kvm_stub_error(struct backend *b)
{
	return "the KVM backend runs arm64 guests on an arm64 host only";
}

const struct backend_ops backend_kvm = {
	.name = "kvm",
	.who = "KVM",
	.open = kvm_stub_open,
	.destroy = kvm_stub_destroy,
	.error = kvm_stub_error,
};

#endif
