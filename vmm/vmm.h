/*
 * moat-vmm: the pieces every file shares. The VMM is split so that everything that does not need a
 * hypervisor (arguments, sizes, the Image header, the guest memory layout, the devicetree, the PL011
 * model, the MMIO bus) is plain C the host-native tests (tests/vmm/) link directly; only backend_*.c
 * and main.c talk to a kernel.
 *
 *   args.c          command line -> struct vmm_args
 *   image.c         Image header, where kernel / initrd / DTB go in guest RAM
 *   dtb.c           the QEMU-virt-compatible devicetree (libfdt)
 *   plan.c          what goes into the VM: files, devicetree, layout, the LOADs in ascending IPA,
 *                   boot registers, the VM's configuration (shared with tools/moat-measure)
 *   pl011.c         the PL011 UART model
 *   mmio.c          MMIO dispatch and the count of accesses no device claimed
 *   backend.h       the hypervisor interface: backend_moat.c on /dev/moat, backend_kvm.c on /dev/kvm,
 *                   backend_util.c what they share
 *   main.c          loading, vCPU threads, exit status
 */
#ifndef MOAT_VMM_H
#define MOAT_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "moat/abi.h"

/* Exit status of `moat-vmm run` (docs/moat-vmm.md, EXIT STATUS). */
#define VMM_EXIT_OFF 0	       /* the guest called PSCI SYSTEM_OFF */
#define VMM_EXIT_ERROR 1       /* the VMM or the driver failed at run time */
#define VMM_EXIT_USAGE 2       /* bad arguments, unreadable or unfitting files */
#define VMM_EXIT_RESET 3       /* the guest called PSCI SYSTEM_RESET (the VMM does not restart it) */
#define VMM_EXIT_GUEST_FAULT 4 /* the guest ended (any way) after touching an address nothing backs */
/* Terminated by SIGINT / SIGTERM / SIGHUP: 128 + the signal number, as a shell reports it. */

#define VMM_KIB (1ULL << 10)
#define VMM_MIB (1ULL << 20)
#define VMM_GIB (1ULL << 30)
#define VMM_PAGE_SIZE 4096ULL

/* ---- the guest's physical map (QEMU virt, DESIGN §14) ---- */
#define VMM_RAM_BASE MOAT_GUEST_RAM_BASE
#define VMM_GICD_BASE 0x08000000ULL /* the core's vGIC (core/include/vgic.h): never exits to us */
#define VMM_GICD_SIZE 0x10000ULL
#define VMM_GICR_BASE 0x080A0000ULL
#define VMM_GICR_STRIDE 0x20000ULL
#define VMM_UART_BASE 0x09000000ULL
#define VMM_UART_SIZE 0x1000ULL
#define VMM_UART_SPI 1 /* SPI 1 = INTID 33, as on QEMU virt */
#define VMM_SPI_INTID(n) (32U + (n))
/*
 * The MMIO window: QEMU virt's device region, 0x08000000..0x10000000. The core answers the GIC's IPAs
 * itself even inside the window (core/guest_exit.c checks vgic_owns_ipa before the window), so one
 * window can start at the GIC and still cover the UART and QEMU virt's other device slots (RTC, GPIO,
 * virtio-mmio at 0x0A000000). It stops where QEMU's PCIe hole begins: nothing here emulates PCI and the
 * DTB has no PCI node, so an access from there up to RAM is a stray one, and a guest fault (an abort
 * the guest sees, as on hardware with nothing decoding the address) says so better than a silent zero.
 * The test host and the guests' own tests (guest/fault) assume the same window.
 */
#define VMM_MMIO_BASE 0x08000000ULL
#define VMM_MMIO_SIZE 0x08000000ULL

/*
 * virtio-mmio transports: QEMU virt's slots, 0x200 bytes each from 0x0A000000, SPI 16 + slot (INTID
 * 48 + slot), so a kernel's view matches a QEMU run. moat-vmm fills them in a fixed order -- disk,
 * net, console -- and only with the devices asked for, level-triggered (the interrupt status
 * register stays set until the driver acknowledges it, which is what a level line says).
 */
#define VMM_VIRTIO_BASE 0x0A000000ULL
#define VMM_VIRTIO_SLOT 0x200ULL
#define VMM_VIRTIO_SPI 16
#define VMM_VIRTIO_MAX 3
/*
 * A protected VM's restricted-dma-pool: the only guest memory the VMM may touch (the guest shares it,
 * its swiotlb bounces every virtio buffer and ring through it). 16 MiB at the top of RAM, 2 MiB
 * aligned: Linux's virtio-blk caps a request at swiotlb's largest mapping (256 KiB) and keeps up to
 * its queue depth in flight, so sequential I/O with readahead and write-back needs a few MiB at once,
 * plus 1 MiB for virtio-net's 2 x 256 buffers of 2 KiB slots; a full pool is not fatal (the request
 * is retried), only slower. A guest of at least 64 MiB is required for a pool.
 */
#define VMM_DMA_POOL_SIZE (16 * VMM_MIB)

/* booting.rst: the DTB must not exceed 2 MiB; we keep it below RAM base + 512 MiB like older kernels require. */
#define VMM_DTB_MAX (2 * VMM_MIB)
#define VMM_DTB_WINDOW (512 * VMM_MIB)
#define VMM_MAX_CPUS 64 /* the VMM's own table size; the driver's MOAT_CAP_MAX_VCPUS is checked too */

/* The program messages name ("moat-vmm"; tools/moat-measure sets its own before parsing). */
extern const char *vmm_prog;

/* ---- args.c ---- */
struct vmm_args {
	const char *kernel;
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* NULL: none (empty bootargs) */
	const char *dtb;     /* NULL: generate one */
	const char *dump_dtb; /* non-NULL: write the DTB here and exit without running */
	const char *backend;  /* "moat" (default) or "kvm" */
	const char *signature; /* NULL: none; else the owner's signature blob passed at FINALIZE */
	uint64_t mem_size;
	unsigned int cpus;
	bool protected_vm;
	const char *disk;	/* --disk FILE: virtio-blk on a raw image */
	const char *net_tap;	/* --net tap:NAME: virtio-net on that tap */
	bool virtio_console;	/* --virtio-console */
};

#define VMM_DEFAULT_MEM (256 * VMM_MIB)

/*
 * Parses argv (argv[0] is the program). Returns 0 and fills *a, 1 if --help was asked (usage already
 * printed to stdout), or -1 after printing a message naming the bad argument to stderr.
 */
int vmm_parse_args(int argc, char **argv, struct vmm_args *a);
void vmm_usage(FILE *f);
/*
 * "256M", "1G", "512K", "4096B", "64" (no suffix: MiB, like QEMU's -m), "0x10000000" (hex: bytes).
 * Suffixes B/K/M/G/T, either case; K..T may be followed by "iB" or "B" (binary units either way).
 * False on anything else, zero, or overflow.
 */
bool vmm_parse_size(const char *s, uint64_t *out);

/* ---- image.c ---- */
struct vmm_kernel_info {
	bool is_image;	      /* arm64 Linux Image (header magic) rather than a raw binary */
	uint64_t text_offset; /* load offset from a 2 MiB-aligned base (Image only) */
	uint64_t load_size;   /* bytes the kernel occupies once running (Image: image_size incl. BSS) */
};

/*
 * Looks at the first bytes of a kernel file. Fills *k; returns NULL, or a message saying why the file
 * cannot be booted (big-endian Image, compressed file).
 */
const char *vmm_kernel_probe(const uint8_t *buf, size_t len, struct vmm_kernel_info *k);

struct vmm_layout {
	uint64_t kernel_addr, kernel_end; /* [kernel_addr, kernel_end): file bytes and BSS */
	uint64_t initrd_addr, initrd_end; /* empty if no initrd */
	uint64_t dtb_addr;		  /* 8-byte (in fact page) aligned */
	uint64_t entry;			  /* vCPU 0's PC */
};

/*
 * Places the kernel, the initrd and the DTB in guest RAM [VMM_RAM_BASE, +mem_size). Returns NULL or a
 * message (the image or initrd does not fit).
 */
const char *vmm_layout(uint64_t mem_size, const struct vmm_kernel_info *k, uint64_t file_size,
		       uint64_t initrd_size, uint64_t dtb_size, struct vmm_layout *l);

/* ---- dtb.c ---- */
struct vmm_dtb_params {
	uint64_t mem_size;
	unsigned int cpus;
	const char *cmdline; /* NULL: "" */
	bool has_initrd;
	uint64_t initrd_start, initrd_end;
	unsigned int nr_virtio; /* virtio-mmio slots 0..nr_virtio-1 (VMM_VIRTIO_*) */
	uint64_t pool_base, pool_size; /* pool_size 0: no restricted-dma-pool (a normal VM) */
};

/* Builds the devicetree into buf (size bytes). Returns 0 or a negative libfdt error. */
int vmm_dtb_build(void *buf, size_t size, const struct vmm_dtb_params *p);
/* Sets /chosen's linux,initrd-start/end in place (the properties must exist: built with has_initrd). */
int vmm_dtb_set_initrd(void *fdt, uint64_t start, uint64_t end);
/*
 * Takes a user DTB (--dtb, len bytes read from the file): checks it, copies it into buf (size bytes)
 * with room to spare and sets /chosen: bootargs if cmdline is non-NULL, the initrd properties if
 * has_initrd. Returns 0 or a negative libfdt error.
 */
int vmm_dtb_adopt(const void *user, size_t len, void *buf, size_t size, const struct vmm_dtb_params *p);

/* ---- plan.c: what goes into the VM, for moat-vmm and tools/moat-measure alike ---- */
#define VMM_MAX_LOADS 3 /* kernel, initrd, devicetree */

/* One LOAD_IMAGE: size bytes at ipa (page-aligned); the tail of the last page is zero. */
struct vmm_load {
	const char *what; /* "kernel", "initrd", "devicetree" (for messages) */
	uint64_t ipa;
	const void *data;
	uint64_t size;
};

struct vmm_plan {
	uint8_t *kernel, *initrd, *dtb_user; /* the files as read */
	size_t kernel_len, initrd_len, dtb_user_len;
	uint8_t *signature; /* --signature: the owner's blob for FINALIZE (not measured, not loaded) */
	size_t signature_len;
	struct vmm_kernel_info kinfo;
	void *dtb; /* VMM_DTB_MAX bytes: the devicetree the guest gets (fdt_totalsize of it is loaded) */
	struct vmm_layout layout;
	struct backend_vm_spec spec; /* the VM as created: type, RAM, MMIO window, SPI mask, vCPUs */
	struct vmm_load loads[VMM_MAX_LOADS]; /* in strictly ascending IPA order, pages disjoint */
	unsigned int nr_loads;
	uint64_t boot_pc, boot_x0; /* SET_BOOT */
	uint64_t pool_base, pool_size; /* the restricted-dma-pool of a protected VM with virtio; 0 if none */
};

/* Reads --kernel, --initrd, --dtb into *p (zeroed first). 0, or -1 after a message on stderr. */
int vmm_plan_read(const struct vmm_args *a, struct vmm_plan *p);
/* From the files in *p: the devicetree, the layout, the LOAD list, boot registers, VM spec. 0 or -1 (message). */
int vmm_plan_prepare(const struct vmm_args *a, struct vmm_plan *p);
/* Both. */
int vmm_plan_build(const struct vmm_args *a, struct vmm_plan *p);
/* True if every LOAD starts at or above the page after the previous one ends (message on stderr if not). */
bool vmm_plan_check_order(const struct vmm_plan *p);
void vmm_plan_free(struct vmm_plan *p);

#endif
