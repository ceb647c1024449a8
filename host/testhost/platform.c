/*
 * Test host: find and read the DTB.
 *
 * The core passes the host DTB in x0. A standalone boot (QEMU -kernel
 * testhost.elf, no EL2) sets no registers, so when x0 does not point at a
 * valid blob we look where QEMU puts one: RAM base (ELF kernels) and
 * RAM base + 128 MiB (Image kernels, >= 256 MiB of RAM). The candidates are
 * read through probe_read64() so that a missing one cannot kill the host.
 *
 * core/fdt.c parses the machine description; this file adds a small walker
 * for what struct platform_info does not carry (yet): the children of
 * /reserved-memory, where the core describes its own memory, and the
 * header's memory reservation block.
 */
#include "lib.h"
#include "probe.h"
#include "sysreg.h"
#include "testhost.h"

#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

struct host_platform plat;

static const u64 dtb_fallbacks[] = { 0x40000000UL, 0x48000000UL };

/* Big-endian loads byte by byte: the blob is Device memory (MMU off). */
static u32 be32(const u8 *p)
{
	return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

static u64 be64(const u8 *p)
{
	return ((u64)be32(p) << 32) | be32(p + 4);
}

static u64 read_cells(const u8 *p, u32 cells)
{
	return cells == 2 ? be64(p) : be32(p);
}

static bool dtb_valid(u64 pa)
{
	const char *why;
	u64 word;

	if (!pa || !IS_ALIGNED(pa, 8) || probe_read64(pa, &word)) {
		return false;
	}
	if (be32((const u8 *)&word) != FDT_MAGIC) {
		return false;
	}
	return fdt_check_header((const void *)pa, FDT_MAX_SIZE, &why) == 0;
}

static u64 dtb_locate(u64 x0, bool *from_x0)
{
	*from_x0 = dtb_valid(x0);
	if (*from_x0) {
		return x0;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(dtb_fallbacks); i++) {
		if (dtb_valid(dtb_fallbacks[i])) {
			return dtb_fallbacks[i];
		}
	}
	return 0;
}

/* Walk state for the structure block. */
struct walk {
	const u8 *blob;
	u32 off, end;	     /* cursor and end of the structure block */
	u32 strings, str_end; /* strings block */
	u32 depth;	     /* 1 = root */
	u32 rsv_depth;	     /* depth of /reserved-memory while inside it, else 0 */
	u32 acells, scells;  /* of /reserved-memory */
	const char *node;    /* name of the node last opened */
};

static bool node_is(const char *name, const char *want)
{
	size_t n = strlen(want);

	return strncmp(name, want, n) == 0 && (name[n] == '\0' || name[n] == '@');
}

static void add_region(struct host_platform *p, const char *name, u64 base, u64 size)
{
	struct reserved_region *r;
	size_t n;

	if (p->nr_reserved >= HOST_MAX_RESERVED) {
		return;
	}
	r = &p->reserved[p->nr_reserved++];
	r->base = base;
	r->size = size;
	n = strnlen(name, RESERVED_NAME_MAX - 1);
	memcpy(r->name, name, n);
	r->name[n] = '\0';
}

static int walk_prop(struct walk *w, struct host_platform *p)
{
	u32 len, nameoff;
	const u8 *val;
	const char *pname;

	if (w->off + 8 > w->end) {
		return -1;
	}
	len = be32(w->blob + w->off);
	nameoff = be32(w->blob + w->off + 4);
	val = w->blob + w->off + 8;
	if (len > w->end - w->off - 8 || nameoff >= w->str_end - w->strings) {
		return -1;
	}
	w->off += 8 + ALIGN_UP(len, 4);
	pname = (const char *)w->blob + w->strings + nameoff;
	if (!w->rsv_depth) {
		return 0;
	}
	if (w->depth == w->rsv_depth && len == 4 && !strcmp(pname, "#address-cells")) {
		w->acells = be32(val);
	} else if (w->depth == w->rsv_depth && len == 4 && !strcmp(pname, "#size-cells")) {
		w->scells = be32(val);
	} else if (w->depth == w->rsv_depth + 1 && !strcmp(pname, "reg")) {
		u32 step = 4 * (w->acells + w->scells);

		if (w->acells < 1 || w->acells > 2 || w->scells < 1 || w->scells > 2) {
			return -1;
		}
		for (u32 i = 0; i + step <= len; i += step) {
			add_region(p, w->node, read_cells(val + i, w->acells),
				   read_cells(val + i + 4 * w->acells, w->scells));
		}
	}
	return 0;
}

static int walk_begin(struct walk *w)
{
	const char *name = (const char *)w->blob + w->off;
	size_t n = strnlen(name, w->end - w->off);

	if (w->off + n >= w->end) {
		return -1;
	}
	w->off += (u32)ALIGN_UP(n + 1, 4);
	w->depth++;
	w->node = name;
	if (w->depth == 2 && node_is(name, "reserved-memory")) {
		w->rsv_depth = 2;
		w->acells = 2;
		w->scells = 2;
	}
	return 0;
}

static int walk_token(struct walk *w, struct host_platform *p, u32 tok)
{
	switch (tok) {
	case FDT_BEGIN_NODE:
		return walk_begin(w);
	case FDT_END_NODE:
		if (!w->depth) {
			return -1;
		}
		if (w->depth-- == w->rsv_depth) {
			w->rsv_depth = 0;
		}
		return 0;
	case FDT_PROP:
		return walk_prop(w, p);
	case FDT_NOP:
		return 0;
	default:
		return -1;
	}
}

static void read_memreserve(const u8 *blob, u32 off, u32 total, struct host_platform *p)
{
	p->nr_memreserve = 0;
	for (; off + 16 <= total && p->nr_memreserve < HOST_MAX_RESERVED; off += 16) {
		u64 base = be64(blob + off), size = be64(blob + off + 8);

		if (!base && !size) {
			break;
		}
		p->memreserve[p->nr_memreserve].base = base;
		p->memreserve[p->nr_memreserve++].size = size;
	}
}

/* Fill p->reserved[] (children of /reserved-memory) and p->memreserve[]. */
int dtb_find_reserved(const void *dtb, u64 dtb_size, struct host_platform *p, const char **why)
{
	struct walk w = { .blob = dtb };
	u32 tok;

	w.off = be32(w.blob + 8);
	w.end = w.off + be32(w.blob + 36);
	w.strings = be32(w.blob + 12);
	w.str_end = w.strings + be32(w.blob + 32);
	if (w.end > dtb_size || w.str_end > dtb_size) {
		*why = "structure or strings block outside the blob";
		return -1;
	}
	read_memreserve(w.blob, be32(w.blob + 16), (u32)dtb_size, p);
	p->nr_reserved = 0;
	while (w.off + 4 <= w.end) {
		tok = be32(w.blob + w.off);
		w.off += 4;
		if (tok == FDT_END) {
			return 0;
		}
		if (walk_token(&w, p, tok)) {
			*why = "malformed structure block";
			return -1;
		}
	}
	*why = "no FDT_END token";
	return -1;
}

int platform_init(u64 x0, const char **why)
{
	plat.dtb = dtb_locate(x0, &plat.dtb_from_x0);
	if (!plat.dtb) {
		*why = "no valid DTB in x0, at 0x40000000 or at 0x48000000";
		return -1;
	}
	plat.dtb_size = fdt_total_size((const void *)plat.dtb);
	if (fdt_parse_platform((const void *)plat.dtb, &plat.info, why)) {
		return -1;
	}
	console_set_base(plat.info.uart.base);
	return dtb_find_reserved((const void *)plat.dtb, plat.dtb_size, &plat, why);
}

const struct reserved_region *platform_core_region(void)
{
	for (unsigned int i = 0; i < plat.nr_reserved; i++) {
		if (node_is(plat.reserved[i].name, "moat")) {
			return &plat.reserved[i];
		}
	}
	return plat.nr_reserved ? &plat.reserved[0] : NULL;
}

/*
 * This CPU's redistributor (RD_base): the frame whose GICR_TYPER affinity is
 * this CPU's MPIDR. Frames are walked from the first and the walk stops at
 * ours, because frames past the last CPU's are absent and reading them aborts.
 * 0 if none matches.
 */
u64 platform_my_gicr(void)
{
	u64 mpidr = read_sysreg(mpidr_el1);
	u32 aff = (u32)((mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24);

	for (u64 off = 0; off + TESTHOST_GICR_STRIDE <= plat.info.gicr.size; off += TESTHOST_GICR_STRIDE) {
		u64 rd = plat.info.gicr.base + off;

		if (*(volatile u64 *)(rd + 8) >> 32 == aff) {
			return rd;
		}
	}
	return 0;
}

/*
 * This CPU's side of the GIC as a Linux host leaves it for running guests:
 * its redistributor awake, the private interrupts in `bits` (SGIs and PPIs,
 * bit = INTID) Group 1 and enabled, the system-register interface on, PMR
 * open and Group 1 enabled at the CPU interface; IRQs stay masked in DAIF
 * (tests acknowledge by hand). With on = false: those interrupts disabled and
 * Group 1 off again. Returns this CPU's RD_base, or 0 (nothing done).
 */
u64 platform_gic_cpu(bool on, u32 bits)
{
	u64 rd = platform_my_gicr();
	volatile u32 *waker = (volatile u32 *)(rd + 0x14);
	volatile u32 *igroupr0 = (volatile u32 *)(rd + 0x10080);
	volatile u32 *isenabler0 = (volatile u32 *)(rd + 0x10100);
	volatile u32 *icenabler0 = (volatile u32 *)(rd + 0x10180);

	if (!rd) {
		return 0;
	}
	if (on) {
		*waker = 0;
		*igroupr0 |= bits;
		*isenabler0 = bits;
		write_sysreg(S3_0_C12_C12_5, 7); /* ICC_SRE_EL1: SRE, DFB, DIB */
		__asm__ volatile("isb");
		write_sysreg(S3_0_C4_C6_0, 0xff); /* ICC_PMR_EL1 */
		write_sysreg(S3_0_C12_C12_7, 1);  /* ICC_IGRPEN1_EL1 */
	} else {
		*icenabler0 = bits;
		write_sysreg(S3_0_C12_C12_7, 0);
	}
	__asm__ volatile("isb");
	return rd;
}

/* The distributor as the tests need it: affinity routing, both groups on. */
void platform_gicd_on(void)
{
	*(volatile u32 *)plat.info.gicd.base = (1U << 4) | (1U << 1) | 1U; /* ARE, EnableGrp1, EnableGrp0 */
}
