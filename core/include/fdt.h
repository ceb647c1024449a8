/*
 * Flattened device tree: a bounded, allocation-free reader and the host-DTB
 * writer. Owns nothing global; every function works on caller buffers, so it
 * is safe to call on a blob the core has copied into its own memory.
 *
 * Everything in a DTB is input the core does not control: every offset,
 * length and string is bounds-checked, and a malformed blob gives an error
 * with a human-readable reason, never a fault or a hang.
 */
#ifndef MOAT_FDT_H
#define MOAT_FDT_H

#include "config.h"
#include "types.h"

#define FDT_MAGIC 0xd00dfeedU
#define FDT_MAX_SIZE (2UL << 20) /* arm64 booting.rst: the DTB is at most 2 MiB */

#define PLAT_MAX_MEM 8
#define PLAT_MAX_MMIO 64
#define PLAT_BOOTARGS_MAX 256
#define PLAT_SEED_MAX 64 /* bytes of /chosen/rng-seed the core keeps (QEMU gives 32) */

struct fdt_range {
	u64 base;
	u64 size;
};

enum psci_conduit { PSCI_CONDUIT_NONE = 0, PSCI_CONDUIT_SMC, PSCI_CONDUIT_HVC };

/* What the core needs to know about the machine, read from the DTB. */
struct platform_info {
	struct fdt_range mem[PLAT_MAX_MEM]; /* sorted by base, non-overlapping */
	unsigned int nr_mem;
	u64 cpu_mpidr[MAX_CPUS]; /* "reg" of each /cpus/cpu@N, in DTB order */
	unsigned int nr_cpus;
	struct fdt_range gicd; /* GICv3 distributor ("arm,gic-v3" reg[0]) */
	struct fdt_range gicr; /* first redistributor region (reg[1]) */
	struct fdt_range uart; /* first "arm,pl011" */
	enum psci_conduit psci; /* /psci method */
	struct fdt_range fw_cfg; /* "qemu,fw-cfg-mmio"; size 0 when absent */
	/*
	 * Device windows the host may use: every "reg" entry of each child of
	 * the root that is not memory, cpus, fw_cfg, and every parent-side
	 * window of a root child's "ranges" (PCIe, platform bus). Unsorted.
	 */
	struct fdt_range mmio[PLAT_MAX_MMIO];
	unsigned int nr_mmio;
	char bootargs[PLAT_BOOTARGS_MAX]; /* /chosen/bootargs, "" when absent */
	u64 initrd_start, initrd_end;	  /* /chosen/linux,initrd-*; 0 when absent */
	/* /chosen/rng-seed (first PLAT_SEED_MAX bytes) and kaslr-seed: the core's secrets once parsed. */
	u8 rng_seed[PLAT_SEED_MAX];
	u32 rng_seed_len;
	u64 kaslr_seed;
	bool have_kaslr_seed;
};

/*
 * Check the header of a blob that may be up to max_size bytes long: magic,
 * version >= 16 (last compatible <= 17), totalsize <= max_size, every block
 * inside totalsize and 4/8-byte aligned as the spec requires.
 * Returns 0 or a (negative) MOAT_E_* value; *why gets a static string naming the problem.
 */
int fdt_check_header(const void *blob, size_t max_size, const char **why);
u32 fdt_total_size(const void *blob); /* header field; only after fdt_check_header */
/*
 * Bytes actually used (end of the last block: reservation map, structure,
 * strings), which is what a copy must keep; only after fdt_check_header.
 * QEMU pads its DTB to 1 MiB, so this is usually far below totalsize.
 */
u32 fdt_used_size(const void *blob);
/*
 * Copy the used bytes of a checked blob to dst and set the copy's totalsize
 * to them, so the copy is a valid, unpadded DTB of its own. MOAT_E_NOMEM if
 * it does not fit in dst_size.
 */
int fdt_copy_compact(const void *src, void *dst, size_t dst_size);

/* Parse the platform description. Requires a header that passed the check. */
int fdt_parse_platform(const void *blob, struct platform_info *out, const char **why);

/* Edits applied while copying the boot DTB into the host's DTB. */
#define FDT_HOST_MAX_RESERVED 2
struct fdt_host_edit {
	/* Each non-empty range is added under /reserved-memory as a no-map child. */
	struct fdt_range core_reserved[FDT_HOST_MAX_RESERVED];
	bool drop_fw_cfg;		/* remove the "qemu,fw-cfg-mmio" node */
	u64 initrd_start, initrd_end;	/* written to /chosen when initrd_end > initrd_start */
	/*
	 * When host_seed is set: /chosen/rng-seed's value becomes host_seed's first
	 * bytes (at most PLAT_SEED_MAX) and kaslr-seed becomes host_kaslr_seed, so
	 * the host never sees the seeds the core took for itself.
	 */
	const u8 *host_seed;
	u64 host_kaslr_seed;
};

/*
 * Write a compact copy of src (already checked) into dst with the edits
 * applied: no padding, memory reservation block copied, strings appended as
 * needed. /reserved-memory is created (#address-cells = #size-cells = 2,
 * empty "ranges") if the source has none. *out_size gets the new totalsize.
 * Fails with MOAT_E_NOMEM if dst_size is too small;
 * never writes beyond dst + dst_size.
 */
int fdt_write_host_dtb(const void *src, void *dst, size_t dst_size, const struct fdt_host_edit *edit,
		       size_t *out_size, const char **why);

/* Find "key=value" in a bootargs string; copies value (NUL-terminated). */
bool bootargs_get(const char *bootargs, const char *key, char *value, size_t value_size);

#endif
