/*
 * Flattened device tree: header check, platform reader and the bootargs
 * lookup. The host-DTB writer is fdt_write.c; both share fdt_internal.h.
 *
 * Owns no state: every function works on caller buffers and its own stack,
 * takes no lock and may run on any CPU at any time. No allocation, no
 * recursion, no floating point.
 *
 * The blob comes from firmware or the host, so it is untrusted. Every field
 * is read with byte loads (the blob may be unaligned and EL2 builds with
 * -mstrict-align), every offset and length is checked before use, and every
 * loop advances through the blob or fails, so a malformed blob yields an
 * error and a static reason string, never a fault or a hang. Errors:
 * MOAT_E_CORRUPT for a malformed blob, MOAT_E_NOMEM when something does not
 * fit a fixed-size table or the destination, MOAT_E_INVAL for an edit the
 * target tree cannot express.
 */
#include <moat/errors.h>

#include "fdt.h"
#include "fdt_internal.h"
#include "lib.h"
#include "types.h"

/* ---------------------------------------------------------------- bytes */

static u32 be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static u64 be64(const u8 *p)
{
	return (u64)be32(p) << 32 | be32(p + 4);
}

void put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

u32 hdr(const void *blob, unsigned int word)
{
	return be32((const u8 *)blob + 4 * word);
}

/* ---------------------------------------------------------------- header */

/* Is [off, off + len) past the header, inside totalsize and aligned? */
static bool block_ok(const struct blob *b, u32 off, u32 len, u32 align)
{
	return off >= FDT_HDR_SIZE && IS_ALIGNED(off, align) && off <= b->size &&
	       len <= b->size - off;
}

/* The reservation block ends with a zero-size entry (as libfdt counts it). */
static int rsvmap_scan(struct blob *b, const char **why)
{
	u32 off = hdr(b->base, H_OFF_RSVMAP);
	u32 end;

	if (!block_ok(b, off, 0, 8)) {
		FAIL(MOAT_E_CORRUPT, "memory reservation block outside totalsize");
	}
	for (end = off; b->size - end >= 16; end += 16) {
		if (be64(b->base + end + 8) == 0) {
			b->rsv_off = off;
			b->rsv_size = end + 16 - off;
			return 0;
		}
	}
	FAIL(MOAT_E_CORRUPT, "unterminated memory reservation block");
}

int blob_open(const void *blob, size_t max_size, struct blob *b, const char **why)
{
	u32 ver, off;

	if (max_size < FDT_HDR_SIZE) {
		FAIL(MOAT_E_CORRUPT, "buffer smaller than a DTB header");
	}
	if (hdr(blob, H_MAGIC) != FDT_MAGIC) {
		FAIL(MOAT_E_CORRUPT, "bad magic");
	}
	ver = hdr(blob, H_VERSION);
	if (ver < 16 || hdr(blob, H_LAST_COMP) > 17) {
		FAIL(MOAT_E_CORRUPT, "unsupported DTB version");
	}
	b->base = blob;
	b->size = hdr(blob, H_TOTALSIZE);
	if (b->size > max_size || b->size > FDT_MAX_SIZE) {
		FAIL(MOAT_E_CORRUPT, "totalsize larger than buffer");
	}
	if (b->size < FDT_HDR_SIZE) {
		FAIL(MOAT_E_CORRUPT, "totalsize smaller than the header");
	}
	off = hdr(blob, H_OFF_STRUCT);
	/* Version 16 has no size_dt_struct: FDT_END bounds the walk instead. */
	b->dt_size = ver >= 17 ? hdr(blob, H_SIZE_STRUCT) : b->size - MIN(off, b->size);
	if (!block_ok(b, off, b->dt_size, 4)) {
		FAIL(MOAT_E_CORRUPT, "structure block overruns totalsize");
	}
	b->dt = b->base + off;
	off = hdr(blob, H_OFF_STRINGS);
	b->str_size = hdr(blob, H_SIZE_STRINGS);
	if (!block_ok(b, off, b->str_size, 1)) {
		FAIL(MOAT_E_CORRUPT, "strings block overruns totalsize");
	}
	b->str = b->base + off;
	return rsvmap_scan(b, why);
}

int fdt_check_header(const void *blob, size_t max_size, const char **why)
{
	struct blob b;
	const char *ignored = NULL;

	return blob_open(blob, max_size, &b, why ? why : &ignored);
}

u32 fdt_total_size(const void *blob)
{
	return hdr(blob, H_TOTALSIZE);
}

/* End of the last block; only padding, if anything, lies beyond it. */
static u32 used_size(const struct blob *b)
{
	u32 dt_end = (u32)(b->dt - b->base) + b->dt_size;
	u32 str_end = (u32)(b->str - b->base) + b->str_size;

	return MAX(MAX(dt_end, str_end), b->rsv_off + b->rsv_size);
}

u32 fdt_used_size(const void *blob)
{
	const char *ignored = NULL;
	struct blob b;

	if (blob_open(blob, fdt_total_size(blob), &b, &ignored)) {
		return fdt_total_size(blob); /* unchecked blob: claim all of it */
	}
	return used_size(&b);
}

int fdt_copy_compact(const void *src, void *dst, size_t dst_size)
{
	const char *ignored = NULL;
	struct blob b;
	u32 used;
	int err = blob_open(src, fdt_total_size(src), &b, &ignored);

	if (err) {
		return err;
	}
	used = used_size(&b);
	if (used > dst_size) {
		return MOAT_E_NOMEM;
	}
	memcpy(dst, src, used);
	put_be32((u8 *)dst + 4 * H_TOTALSIZE, used);
	return 0;
}

/* ---------------------------------------------------------------- tokens */

static int tok_node_name(const struct blob *b, struct tok *t, u32 room, const char **why)
{
	const char *name = (const char *)b->dt + t->next;
	size_t n = strnlen(name, room);

	if (n == room || ALIGN_UP(n + 1, 4) > room) {
		FAIL(MOAT_E_CORRUPT, "unterminated node name");
	}
	t->name = name;
	t->next += (u32)ALIGN_UP(n + 1, 4);
	return 0;
}

static int tok_prop(const struct blob *b, struct tok *t, u32 room, const char **why)
{
	const u8 *p = b->dt + t->next;
	u32 nameoff;

	if (room < 8) {
		FAIL(MOAT_E_CORRUPT, "property header overruns structure block");
	}
	t->len = be32(p);
	nameoff = be32(p + 4);
	if (ALIGN_UP((u64)t->len, 4) > room - 8) {
		FAIL(MOAT_E_CORRUPT, "property value overruns structure block");
	}
	if (nameoff >= b->str_size ||
	    strnlen((const char *)b->str + nameoff, b->str_size - nameoff) == b->str_size - nameoff) {
		FAIL(MOAT_E_CORRUPT, "unterminated property name");
	}
	t->name = (const char *)b->str + nameoff;
	t->val = p + 8;
	t->next += 8 + (u32)ALIGN_UP(t->len, 4);
	return 0;
}

/* Decode the token at off; its payload is checked to lie in the block. */
static int tok_read(const struct blob *b, u32 off, struct tok *t, const char **why)
{
	if (off > b->dt_size || b->dt_size - off < 4) {
		FAIL(MOAT_E_CORRUPT, "structure block ends without FDT_END");
	}
	t->type = be32(b->dt + off);
	t->off = off;
	t->next = off + 4;
	switch (t->type) {
	case FDT_BEGIN_NODE:
		return tok_node_name(b, t, b->dt_size - t->next, why);
	case FDT_PROP:
		return tok_prop(b, t, b->dt_size - t->next, why);
	case FDT_END_NODE:
	case FDT_NOP:
	case FDT_END:
		return 0;
	default:
		FAIL(MOAT_E_CORRUPT, "bad structure block token");
	}
}

/* ---------------------------------------------------------------- walker */

static int walk_account(struct walk *w, const struct tok *t, const char **why)
{
	switch (t->type) {
	case FDT_BEGIN_NODE:
		/* Bit 0 records that the root has been seen. */
		if (w->depth == 0 && (w->had_child & 1)) {
			FAIL(MOAT_E_CORRUPT, "more than one root node");
		}
		if (w->depth == 0 && t->name[0] != '\0') {
			FAIL(MOAT_E_CORRUPT, "root node has a name");
		}
		if (w->depth == FDT_MAX_DEPTH) {
			FAIL(MOAT_E_CORRUPT, "node nesting too deep");
		}
		w->had_child |= 1U << w->depth;
		w->depth++;
		w->had_child &= ~(1U << w->depth);
		return 0;
	case FDT_PROP:
		if (w->depth == 0) {
			FAIL(MOAT_E_CORRUPT, "property outside a node");
		}
		if (w->had_child & (1U << w->depth)) {
			FAIL(MOAT_E_CORRUPT, "property after a subnode");
		}
		return 0;
	case FDT_END_NODE:
		if (w->depth == 0) {
			FAIL(MOAT_E_CORRUPT, "unbalanced FDT_END_NODE");
		}
		w->depth--;
		return 0;
	default: /* FDT_END */
		if (w->depth != 0 || !(w->had_child & 1)) {
			FAIL(MOAT_E_CORRUPT, "FDT_END inside a node or before the root");
		}
		return 0;
	}
}

/* Next token other than FDT_NOP. */
int walk_next(struct walk *w, struct tok *t, const char **why)
{
	int err;

	do {
		err = tok_read(w->b, w->off, t, why);
		if (err) {
			return err;
		}
		w->off = t->next;
	} while (t->type == FDT_NOP);
	return walk_account(w, t, why);
}

/* ---------------------------------------------------------------- properties */

const char *const pnames[P_NR] = {
	"reg", "ranges", "compatible", "device_type", "method", "bootargs",
	"linux,initrd-start", "linux,initrd-end", "#address-cells", "#size-cells", "no-map",
	"rng-seed", "kaslr-seed",
};

/* Does a string-list property (NUL-separated, e.g. "compatible") contain s? */
bool has_str(const struct prop *p, const char *s)
{
	const char *v = (const char *)p->val;
	u32 pos = 0;
	size_t n;

	while (v && pos < p->len) {
		n = strnlen(v + pos, p->len - pos);
		if (n == p->len - pos) {
			return false; /* unterminated tail: not a string */
		}
		if (strcmp(v + pos, s) == 0) {
			return true;
		}
		pos += (u32)n + 1;
	}
	return false;
}

/* Node name equal to base, or base followed by a unit address. */
bool name_is(const char *name, const char *base)
{
	size_t n = strlen(base);

	return strncmp(name, base, n) == 0 && (name[n] == '\0' || name[n] == '@');
}

/* An absent property keeps *v; a present one must be one cell. */
bool prop_u32(const struct prop *p, u32 *v)
{
	if (!p->val) {
		return true;
	}
	if (p->len != 4) {
		return false;
	}
	*v = be32(p->val);
	return true;
}

/* A number of up to two cells; wider ones do not fit the core's u64. */
static bool read_cells(const u8 *p, u32 n, u64 *v)
{
	if (n > 2) {
		return false;
	}
	*v = n == 2 ? be64(p) : n == 1 ? be32(p) : 0;
	return true;
}

/*
 * "reg" and "ranges" are arrays of (skip + ac + sc)-cell entries: an address
 * of ac cells after skip cells (ranges skips the child address), then a size.
 */
struct layout {
	u32 skip, ac, sc;
};

static int prop_count(const struct prop *p, const struct layout *l, u32 *nr, const char **why)
{
	u32 stride = (l->skip + l->ac + l->sc) * 4;

	*nr = 0;
	if (!p->val || p->len == 0) {
		return 0;
	}
	if (stride == 0 || p->len % stride) {
		FAIL(MOAT_E_CORRUPT, "reg or ranges length not a multiple of its cells");
	}
	*nr = p->len / stride;
	return 0;
}

static int prop_entry(const struct prop *p, const struct layout *l, u32 i, struct fdt_range *r,
		      const char **why)
{
	const u8 *e = p->val + i * (l->skip + l->ac + l->sc) * 4 + l->skip * 4;

	if (!read_cells(e, l->ac, &r->base) || !read_cells(e + l->ac * 4, l->sc, &r->size)) {
		FAIL(MOAT_E_CORRUPT, "address or size wider than 64 bits");
	}
	if (r->size && r->base + (r->size - 1) < r->base) {
		FAIL(MOAT_E_CORRUPT, "range wraps around the address space");
	}
	return 0;
}

/* Entry 0 into *r; a device without one is malformed. */
static int first_entry(const struct prop *p, const struct layout *l, u32 min, struct fdt_range *r,
		       const char **why)
{
	u32 nr;
	int err = prop_count(p, l, &nr, why);

	if (!err && nr < min) {
		FAIL(MOAT_E_CORRUPT, "device node has too few reg entries");
	}
	return err ? err : prop_entry(p, l, 0, r, why);
}

/* ---------------------------------------------------------------- platform reader */

/*
 * One pass over the structure block. Properties come before subnodes (the
 * walker enforces it), so a node is acted on as soon as its first subnode or
 * its end arrives: only the current node's properties and, per depth, the
 * cells its children use are kept, which bounds the state by FDT_MAX_DEPTH.
 */

struct parser {
	struct platform_info *out;
	unsigned int depth; /* of the node in cur */
	struct {
		const char *name;
		struct prop p[P_NR];
		bool done; /* its properties have been acted on */
	} cur;
	struct {
		u8 ac, sc; /* this node's #address-cells / #size-cells */
		bool cpus; /* it is /cpus */
	} lvl[FDT_MAX_DEPTH + 1];
};

typedef int (*add_fn)(struct platform_info *pi, const struct fdt_range *r, const char **why);

static int add_mmio(struct platform_info *pi, const struct fdt_range *r, const char **why)
{
	if (r->size == 0) {
		return 0;
	}
	if (pi->nr_mmio == PLAT_MAX_MMIO) {
		FAIL(MOAT_E_NOMEM, "too many device windows");
	}
	pi->mmio[pi->nr_mmio++] = *r;
	return 0;
}

/* Keep mem[] sorted by base; overlapping banks mean the tree is lying. */
static int add_mem(struct platform_info *pi, const struct fdt_range *r, const char **why)
{
	unsigned int i = pi->nr_mem;

	if (r->size == 0) {
		return 0;
	}
	if (pi->nr_mem == PLAT_MAX_MEM) {
		FAIL(MOAT_E_NOMEM, "too many memory ranges");
	}
	for (; i > 0 && pi->mem[i - 1].base > r->base; i--) {
		pi->mem[i] = pi->mem[i - 1];
	}
	pi->mem[i] = *r;
	pi->nr_mem++;
	if ((i > 0 && pi->mem[i - 1].base + (pi->mem[i - 1].size - 1) >= r->base) ||
	    (i + 1 < pi->nr_mem && r->base + (r->size - 1) >= pi->mem[i + 1].base)) {
		FAIL(MOAT_E_CORRUPT, "overlapping memory ranges");
	}
	return 0;
}

static int add_all(struct platform_info *pi, const struct prop *p, const struct layout *l, add_fn add,
		   const char **why)
{
	struct fdt_range r;
	u32 i, nr;
	int err = prop_count(p, l, &nr, why);

	for (i = 0; !err && i < nr; i++) {
		err = prop_entry(p, l, i, &r, why);
		if (!err) {
			err = add(pi, &r, why);
		}
	}
	return err;
}

static int prop_u64(const struct prop *p, u64 *v, const char **why)
{
	if (!p->val) {
		return 0;
	}
	if (p->len != 4 && p->len != 8) {
		FAIL(MOAT_E_CORRUPT, "bad linux,initrd-* length");
	}
	*v = p->len == 8 ? be64(p->val) : be32(p->val);
	return 0;
}

static int parse_chosen(struct parser *ps, const char **why)
{
	struct platform_info *pi = ps->out;
	const struct prop *ba = &ps->cur.p[P_BOOTARGS];
	size_t n = ba->val ? strnlen((const char *)ba->val, ba->len) : 0;
	int err;

	if (ba->val && ba->len && n == ba->len) {
		FAIL(MOAT_E_CORRUPT, "unterminated bootargs");
	}
	if (n >= PLAT_BOOTARGS_MAX) {
		FAIL(MOAT_E_NOMEM, "bootargs too long");
	}
	memcpy(pi->bootargs, ba->val ? (const char *)ba->val : "", n);
	pi->bootargs[n] = '\0';
	err = prop_u64(&ps->cur.p[P_INITRD_START], &pi->initrd_start, why);
	if (!err) {
		err = prop_u64(&ps->cur.p[P_INITRD_END], &pi->initrd_end, why);
	}
	if (!err && pi->initrd_end < pi->initrd_start) {
		FAIL(MOAT_E_CORRUPT, "linux,initrd-end below linux,initrd-start");
	}
	/* Entropy for the core's DRBG (trng.c): any length is fine, the first PLAT_SEED_MAX bytes are kept. */
	pi->rng_seed_len = (u32)MIN(ps->cur.p[P_RNG_SEED].len, PLAT_SEED_MAX);
	if (ps->cur.p[P_RNG_SEED].val) {
		memcpy(pi->rng_seed, ps->cur.p[P_RNG_SEED].val, pi->rng_seed_len);
	}
	if (ps->cur.p[P_KASLR_SEED].val && ps->cur.p[P_KASLR_SEED].len == 8) {
		pi->kaslr_seed = be64(ps->cur.p[P_KASLR_SEED].val);
		pi->have_kaslr_seed = true;
	}
	return err;
}

static int parse_psci(struct parser *ps, const char **why)
{
	const struct prop *m = &ps->cur.p[P_METHOD];

	if (!m->val) {
		return 0;
	}
	if (has_str(m, "smc")) {
		ps->out->psci = PSCI_CONDUIT_SMC;
	} else if (has_str(m, "hvc")) {
		ps->out->psci = PSCI_CONDUIT_HVC;
	} else {
		FAIL(MOAT_E_CORRUPT, "unknown /psci method");
	}
	return 0;
}

/*
 * A device below the root: all its reg entries and all parent-side windows
 * of a non-empty "ranges" (PCIe, platform bus) are MMIO the host may use.
 */
static int parse_device(struct parser *ps, const struct layout *reg, const char **why)
{
	struct platform_info *pi = ps->out;
	const struct prop *p = ps->cur.p;
	struct layout win = { ps->lvl[2].ac, ps->lvl[1].ac, ps->lvl[2].sc };
	int err = 0;

	if (has_str(&p[P_COMPAT], "arm,gic-v3") && pi->gicd.size == 0) {
		err = first_entry(&p[P_REG], reg, 2, &pi->gicd, why);
		if (!err) {
			err = prop_entry(&p[P_REG], reg, 1, &pi->gicr, why);
		}
	}
	if (!err && has_str(&p[P_COMPAT], "arm,pl011") && pi->uart.size == 0) {
		err = first_entry(&p[P_REG], reg, 1, &pi->uart, why);
	}
	if (!err) {
		err = add_all(pi, &p[P_REG], reg, add_mmio, why);
	}
	return err ? err : add_all(pi, &p[P_RANGES], &win, add_mmio, why);
}

/*
 * Only children of the root are read as devices: a deeper node's reg is in
 * its bus's address space, and translating through "ranges" is the host's
 * business, not the core's.
 */
static int parse_root_child(struct parser *ps, const char **why)
{
	const char *name = ps->cur.name;
	const struct prop *p = ps->cur.p;
	struct layout reg = { 0, ps->lvl[1].ac, ps->lvl[1].sc };

	if (name_is(name, "cpus")) {
		ps->lvl[2].cpus = true;
		return 0;
	}
	if (name_is(name, "chosen")) {
		return parse_chosen(ps, why);
	}
	if (name_is(name, "psci")) {
		return parse_psci(ps, why);
	}
	if (name_is(name, "reserved-memory") || name_is(name, "aliases")) {
		return 0;
	}
	if (has_str(&p[P_DEVTYPE], "memory")) {
		return add_all(ps->out, &p[P_REG], &reg, add_mem, why);
	}
	if (has_str(&p[P_COMPAT], "qemu,fw-cfg-mmio")) {
		return first_entry(&p[P_REG], &reg, 1, &ps->out->fw_cfg, why);
	}
	return parse_device(ps, &reg, why);
}

static int parse_cpu(struct parser *ps, const char **why)
{
	struct platform_info *pi = ps->out;
	struct layout reg = { 0, ps->lvl[2].ac, ps->lvl[2].sc };
	struct fdt_range r;
	int err;

	if (!has_str(&ps->cur.p[P_DEVTYPE], "cpu")) {
		return 0; /* cpu-map and friends */
	}
	if (pi->nr_cpus == MAX_CPUS) {
		FAIL(MOAT_E_NOMEM, "too many cpus");
	}
	err = first_entry(&ps->cur.p[P_REG], &reg, 1, &r, why);
	if (!err) {
		pi->cpu_mpidr[pi->nr_cpus++] = r.base;
	}
	return err;
}

/* Act on cur once all its properties are known (they precede subnodes). */
static int parse_node(struct parser *ps, const char **why)
{
	u32 ac = 2, sc = 1; /* the spec's defaults */

	ps->cur.done = true;
	if (!prop_u32(&ps->cur.p[P_ACELLS], &ac) || !prop_u32(&ps->cur.p[P_SCELLS], &sc) ||
	    ac > FDT_MAX_CELLS || sc > FDT_MAX_CELLS) {
		FAIL(MOAT_E_CORRUPT, "bad #address-cells or #size-cells");
	}
	ps->lvl[ps->depth].ac = (u8)ac;
	ps->lvl[ps->depth].sc = (u8)sc;
	ps->lvl[ps->depth].cpus = false;
	if (ps->depth == 2) {
		return parse_root_child(ps, why);
	}
	if (ps->depth == 3 && ps->lvl[2].cpus) {
		return parse_cpu(ps, why);
	}
	return 0;
}

static int parse_tok(struct parser *ps, const struct walk *w, const struct tok *t, const char **why)
{
	unsigned int i;
	int err = 0;

	switch (t->type) {
	case FDT_BEGIN_NODE:
		if (!ps->cur.done) {
			err = parse_node(ps, why); /* the parent's properties are complete */
		}
		memset(&ps->cur, 0, sizeof(ps->cur));
		ps->cur.name = t->name;
		ps->depth = w->depth;
		return err;
	case FDT_PROP:
		for (i = 0; i < P_NR; i++) {
			if (strcmp(t->name, pnames[i]) == 0) {
				ps->cur.p[i].val = t->val;
				ps->cur.p[i].len = t->len;
			}
		}
		return 0;
	case FDT_END_NODE:
		return ps->cur.done ? 0 : parse_node(ps, why);
	default:
		return 0;
	}
}

static int parse_all(const void *blob, struct parser *ps, const char **why)
{
	struct blob b;
	struct walk w = { .b = &b };
	struct tok t;
	int err = blob_open(blob, fdt_total_size(blob), &b, why);

	while (!err) {
		err = walk_next(&w, &t, why);
		if (!err) {
			err = parse_tok(ps, &w, &t, why);
		}
		if (!err && t.type == FDT_END) {
			break;
		}
	}
	if (!err && ps->out->nr_mem == 0) {
		FAIL(MOAT_E_CORRUPT, "missing /memory");
	}
	if (!err && ps->out->nr_cpus == 0) {
		FAIL(MOAT_E_CORRUPT, "no cpus");
	}
	return err;
}

int fdt_parse_platform(const void *blob, struct platform_info *out, const char **why)
{
	struct parser ps;
	const char *ignored = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	memset(&ps, 0, sizeof(ps));
	ps.out = out;
	ps.cur.done = true;
	err = parse_all(blob, &ps, why ? why : &ignored);
	if (err) {
		memset(out, 0, sizeof(*out)); /* no half-read platform escapes */
	}
	return err;
}

/* ---------------------------------------------------------------- bootargs */

/*
 * "key=value" or a bare "key" (value ""); the last occurrence wins, as on a
 * Linux command line. False when absent or when value_size is too small.
 */
bool bootargs_get(const char *bootargs, const char *key, char *value, size_t value_size)
{
	size_t klen = strlen(key), n, vlen = 0;
	const char *p = bootargs, *found = NULL;

	while (klen && *p) {
		for (n = 0; p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\n'; n++) {
		}
		if (n >= klen && strncmp(p, key, klen) == 0 && (n == klen || p[klen] == '=')) {
			found = p + MIN(n, klen + 1);
			vlen = n - MIN(n, klen + 1);
		}
		p += n ? n : 1;
	}
	if (!found || vlen >= value_size) {
		return false;
	}
	memcpy(value, found, vlen);
	value[vlen] = '\0';
	return true;
}
