/*
 * What goes into a VM, decided once for both programs that need it: moat-vmm, which builds the VM,
 * and tools/moat-measure, which recomputes the VM's measurement offline (docs/measurement.md). Both
 * call vmm_plan_build, so the VM's configuration, the devicetree's bytes and the IPA of every loaded
 * byte can never differ between what runs and what is predicted.
 *
 * vmm_plan_read opens the files (the only part that touches the file system); vmm_plan_prepare is
 * pure (the DTB, the layout, the LOAD list), so tests/vmm drives it on buffers. Messages go to stderr,
 * prefixed with vmm_prog.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

/* Reads a whole regular file of at most max bytes (what the limit is: limit_name). Prints why not and
 * returns NULL on failure. */
static uint8_t *read_file(const char *what, const char *path, uint64_t max, const char *limit_name, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "%s: %s '%s': %s\n", vmm_prog, what, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: %s '%s': not a regular file\n", vmm_prog, what, path);
		goto fail;
	}
	/* LOAD takes whole pages of something: an empty file would be a LOAD of nothing. */
	if (st.st_size == 0) {
		fprintf(stderr, "%s: %s '%s': the file is empty\n", vmm_prog, what, path);
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		fprintf(stderr, "%s: %s '%s': %lld bytes, larger than %s (%llu bytes)\n", vmm_prog, what, path,
			(long long)st.st_size, limit_name, (unsigned long long)max);
		if (max != VMM_DTB_MAX) {
			fprintf(stderr, "%s: give the VM more RAM with --mem\n", vmm_prog);
		}
		goto fail;
	}
	buf = malloc((size_t)st.st_size);
	while (buf && done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n <= 0) {
			fprintf(stderr, "%s: %s '%s': %s\n", vmm_prog, what, path, n ? strerror(errno) : "file shrank");
			free(buf);
			goto fail;
		}
		done += (size_t)n;
	}
	if (buf == NULL) {
		fprintf(stderr, "%s: %s '%s': out of memory\n", vmm_prog, what, path);
		goto fail;
	}
	close(fd);
	*len = done;
	return buf;
fail:
	if (fd >= 0) {
		close(fd);
	}
	return NULL;
}

int vmm_plan_read(const struct vmm_args *a, struct vmm_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->kernel = read_file("--kernel", a->kernel, a->mem_size, "guest RAM", &p->kernel_len);
	if (p->kernel == NULL) {
		return -1;
	}
	if (a->initrd) {
		p->initrd = read_file("--initrd", a->initrd, a->mem_size, "guest RAM", &p->initrd_len);
		if (p->initrd == NULL) {
			return -1;
		}
	}
	if (a->dtb) {
		p->dtb_user = read_file("--dtb", a->dtb, VMM_DTB_MAX, "a devicetree may be", &p->dtb_user_len);
		if (p->dtb_user == NULL) {
			return -1;
		}
	}
	if (a->signature) {
		/* The core judges the blob (include/moat/sign.h); the driver takes up to a page of it. */
		p->signature = read_file("--signature", a->signature, VMM_PAGE_SIZE, "a signature blob may be",
					 &p->signature_len);
		if (p->signature == NULL) {
			return -1;
		}
		if (p->signature_len == 0) {
			fprintf(stderr, "moat-vmm: --signature '%s': empty file\n", a->signature);
			return -1;
		}
	}
	return 0;
}

/* One LOAD, kept in IPA order by construction: the layout puts kernel < initrd < DTB (image.c). */
static void add_load(struct vmm_plan *p, const char *what, uint64_t ipa, const void *data, uint64_t size)
{
	p->loads[p->nr_loads++] = (struct vmm_load){ .what = what, .ipa = ipa, .data = data, .size = size };
}

/*
 * The DTB first (its size does not depend on the initrd's address), then the layout, then the initrd's
 * address in the DTB, then the LOADs in ascending IPA and the boot registers.
 */
int vmm_plan_prepare(const struct vmm_args *a, struct vmm_plan *p)
{
	struct vmm_dtb_params dp = { .mem_size = a->mem_size, .cpus = a->cpus, .cmdline = a->cmdline,
				     .has_initrd = a->initrd != NULL };
	uint64_t usable = a->mem_size; /* RAM the images may use: all of it, less a restricted-dma-pool */
	unsigned int nr_virtio = (a->disk != NULL) + (a->net_tap != NULL) + a->virtio_console;
	const char *why;
	int err;

	why = vmm_kernel_probe(p->kernel, p->kernel_len, &p->kinfo);
	if (why) {
		fprintf(stderr, "%s: --kernel '%s' %s\n", vmm_prog, a->kernel, why);
		return -1;
	}
	dp.nr_virtio = nr_virtio;
	if (a->protected_vm && nr_virtio) {
		/*
		 * A protected guest's virtio buffers bounce through this pool, the only RAM it shares with
		 * the host (docs/moat-vmm.md). It is part of the devicetree, hence of the measurement.
		 */
		if (a->mem_size < 4 * VMM_DMA_POOL_SIZE) {
			fprintf(stderr, "%s: --mem: a protected VM with virtio devices needs at least %llu MiB\n",
				vmm_prog, (unsigned long long)(4 * VMM_DMA_POOL_SIZE / VMM_MIB));
			return -1;
		}
		/* At the top of RAM, 2 MiB aligned: out of the kernel's way, below nothing the layout places. */
		dp.pool_base = (VMM_RAM_BASE + a->mem_size - VMM_DMA_POOL_SIZE) & ~(2 * VMM_MIB - 1);
		dp.pool_size = VMM_DMA_POOL_SIZE;
		usable = dp.pool_base - VMM_RAM_BASE;
		p->pool_base = dp.pool_base;
		p->pool_size = dp.pool_size;
	}
	p->dtb = calloc(1, VMM_DTB_MAX);
	if (p->dtb == NULL) {
		fprintf(stderr, "%s: out of memory\n", vmm_prog);
		return -1;
	}
	err = a->dtb ? vmm_dtb_adopt(p->dtb_user, p->dtb_user_len, p->dtb, VMM_DTB_MAX, &dp)
		     : vmm_dtb_build(p->dtb, VMM_DTB_MAX, &dp);
	if (err < 0) {
		fprintf(stderr, "%s: %s%s%s: %s\n", vmm_prog, a->dtb ? "--dtb '" : "building the devicetree",
			a->dtb ? a->dtb : "", a->dtb ? "'" : "", fdt_strerror(err));
		return -1;
	}
	why = vmm_layout(usable, &p->kinfo, p->kernel_len, p->initrd_len, fdt_totalsize(p->dtb), &p->layout);
	if (why) {
		fprintf(stderr, "%s: %s\n", vmm_prog, why);
		return -1;
	}
	if (a->initrd && vmm_dtb_set_initrd(p->dtb, p->layout.initrd_addr, p->layout.initrd_end) < 0) {
		fprintf(stderr, "%s: setting the initrd in the devicetree failed\n", vmm_prog);
		return -1;
	}

	p->spec = (struct backend_vm_spec){
		.protected_vm = a->protected_vm,
		.mem_size = a->mem_size,
		.mmio_base = VMM_MMIO_BASE,
		.mmio_size = VMM_MMIO_SIZE,
		.spi_mask = (1ULL << VMM_UART_SPI) | (((1ULL << nr_virtio) - 1) << VMM_VIRTIO_SPI),
		.cpus = a->cpus,
	};
	/*
	 * The core takes LOADs only in strictly ascending IPA order (the measurement's defined order), so
	 * the list is built in that order: the kernel at the bottom, the initrd below the DTB at the top.
	 */
	p->nr_loads = 0;
	add_load(p, "kernel", p->layout.kernel_addr, p->kernel, p->kernel_len);
	if (p->initrd) {
		add_load(p, "initrd", p->layout.initrd_addr, p->initrd, p->initrd_len);
	}
	add_load(p, "devicetree", p->layout.dtb_addr, p->dtb, fdt_totalsize(p->dtb));
	p->boot_pc = p->layout.entry;
	p->boot_x0 = p->layout.dtb_addr; /* booting.rst: x0 = the DTB's physical address */
	return vmm_plan_check_order(p) ? 0 : -1;
}

bool vmm_plan_check_order(const struct vmm_plan *p)
{
	for (unsigned int i = 1; i < p->nr_loads; i++) {
		const struct vmm_load *prev = &p->loads[i - 1];
		uint64_t prev_end = prev->ipa + (prev->size + VMM_PAGE_SIZE - 1) / VMM_PAGE_SIZE * VMM_PAGE_SIZE;

		if (p->loads[i].ipa < prev_end) {
			fprintf(stderr, "%s: the %s at IPA 0x%llx overlaps or precedes the %s (0x%llx..0x%llx)\n", vmm_prog,
				p->loads[i].what, (unsigned long long)p->loads[i].ipa, prev->what,
				(unsigned long long)prev->ipa, (unsigned long long)prev_end);
			return false;
		}
	}
	return true;
}

int vmm_plan_build(const struct vmm_args *a, struct vmm_plan *p)
{
	return vmm_plan_read(a, p) == 0 && vmm_plan_prepare(a, p) == 0 ? 0 : -1;
}

void vmm_plan_free(struct vmm_plan *p)
{
	free(p->kernel);
	free(p->initrd);
	free(p->dtb_user);
	free(p->signature);
	free(p->dtb);
	memset(p, 0, sizeof(*p));
}
