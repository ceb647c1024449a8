/*
 * Host-DTB writer: a compact copy of the checked boot DTB with the core's
 * memory reserved, fw_cfg removed, the initrd recorded and /chosen's seeds
 * replaced by the host's own (see fdt.h).
 * Same rules as the reader (fdt.c): caller buffers only, no allocation, no
 * lock, every write bounded by the destination size.
 */
#include <moat/errors.h>

#include "fdt.h"
#include "fdt_internal.h"
#include "lib.h"
#include "types.h"

/* ---------------------------------------------------------------- host-DTB writer */

/*
 * The writer streams tokens from the checked source to dst, dropping NOPs,
 * and edits only children of the root: it skips the fw_cfg subtree, drops
 * and re-emits /chosen's linux,initrd-* before /chosen's first subnode or
 * end, and appends moat@ as the last child of /reserved-memory; nodes the
 * source lacks are added just before the root ends. Source names keep their
 * offsets (the strings block is copied first); names the edits add are
 * appended after it. Once dst is full nothing more is written, and the
 * result is MOAT_E_NOMEM.
 */

struct writer {
	const struct blob *b;
	const struct fdt_host_edit *edit;
	u8 *buf;
	u32 cap, pos;
	bool full;	   /* something did not fit: nothing more is written */
	bool initrd;	   /* replace /chosen linux,initrd-* */
	bool initrd_todo;  /* ... and they are not yet written */
	bool resmem_todo;  /* moat@ node not yet written */
	bool in_chosen, in_resmem; /* the open root child */
	u32 rm_ac, rm_sc;  /* that /reserved-memory's cells */
	u32 need;	   /* bit per pnames[] entry the edits may emit */
	u32 noff[P_NR];	   /* their offsets in the output strings block */
};

static void out(struct writer *wr, const void *p, u32 n)
{
	if (wr->full || wr->cap - wr->pos < n) {
		wr->full = true;
		return;
	}
	if (n) {
		memcpy(wr->buf + wr->pos, p, n);
	}
	wr->pos += n;
}

static void out_u32(struct writer *wr, u32 v)
{
	u8 be[4];

	put_be32(be, v);
	out(wr, be, 4);
}

static void out_pad(struct writer *wr)
{
	static const u8 zero[3];

	out(wr, zero, (u32)(ALIGN_UP(wr->pos, 4) - wr->pos));
}

static void out_begin(struct writer *wr, const char *name)
{
	out_u32(wr, FDT_BEGIN_NODE);
	out(wr, name, (u32)strlen(name) + 1);
	out_pad(wr);
}

static void out_prop(struct writer *wr, enum pname id, const void *val, u32 len)
{
	out_u32(wr, FDT_PROP);
	out_u32(wr, len);
	out_u32(wr, wr->noff[id]);
	out(wr, val, len);
	out_pad(wr);
}

/* Encode v in n cells; false when n cells cannot hold it. */
static bool put_cells(u8 *p, u64 v, u32 n)
{
	if (n == 2) {
		put_be32(p, (u32)(v >> 32));
		put_be32(p + 4, (u32)v);
		return true;
	}
	if (n == 1 && v >> 32 == 0) {
		put_be32(p, (u32)v);
		return true;
	}
	return false;
}

static void out_prop_cells(struct writer *wr, enum pname id, u64 v, u32 cells)
{
	u8 be[8];

	put_cells(be, v, cells);
	out_prop(wr, id, be, cells * 4);
}

static void hex(char *s, u64 v)
{
	int shift = 60;

	while (shift > 0 && !(v >> shift)) {
		shift -= 4;
	}
	for (; shift >= 0; shift -= 4) {
		*s++ = "0123456789abcdef"[(v >> shift) & 0xf];
	}
	*s = '\0';
}

/* /reserved-memory/moat@<base>: the core's own memory, never mapped by the host. */
/* One no-map child per core region (image and data), named after its base. */
static int out_moat_node(struct writer *wr, u32 ac, u32 sc, const char **why)
{
	for (unsigned int i = 0; i < FDT_HOST_MAX_RESERVED; i++) {
		const struct fdt_range *r = &wr->edit->core_reserved[i];
		char name[sizeof("moat@") + 16] = "moat@";
		u8 reg[16];

		if (!r->size) {
			continue;
		}
		if (!put_cells(reg, r->base, ac) || !put_cells(reg + ac * 4, r->size, sc)) {
			FAIL(MOAT_E_INVAL, "core range does not fit /reserved-memory cells");
		}
		hex(name + 5, r->base);
		out_begin(wr, name);
		out_prop(wr, P_REG, reg, (ac + sc) * 4);
		out_prop(wr, P_NOMAP, "", 0);
		out_u32(wr, FDT_END_NODE);
	}
	wr->resmem_todo = false;
	return 0;
}

/* /chosen properties go before its subnodes, so they are written early. */
static void flush_chosen(struct writer *wr)
{
	if (wr->initrd_todo) {
		out_prop_cells(wr, P_INITRD_START, wr->edit->initrd_start, 2);
		out_prop_cells(wr, P_INITRD_END, wr->edit->initrd_end, 2);
		wr->initrd_todo = false;
	}
}

/* At the end of the root: create what the source did not have. */
static int add_missing(struct writer *wr, const char **why)
{
	int err = 0;

	if (wr->initrd_todo) {
		out_begin(wr, "chosen");
		flush_chosen(wr);
		out_u32(wr, FDT_END_NODE);
	}
	if (wr->resmem_todo) {
		out_begin(wr, "reserved-memory");
		out_prop_cells(wr, P_ACELLS, 2, 1);
		out_prop_cells(wr, P_SCELLS, 2, 1);
		out_prop(wr, P_RANGES, "", 0);
		err = out_moat_node(wr, 2, 2, why);
		out_u32(wr, FDT_END_NODE);
	}
	return err;
}

static void copy_tok(struct writer *wr, const struct tok *t)
{
	out(wr, wr->b->dt + t->off, t->next - t->off);
}

/* Does the node w has just entered list compatible s? Looks ahead only. */
static bool node_has_compat(const struct walk *w, const char *s)
{
	struct walk ahead = *w;
	struct prop p;
	struct tok t;
	const char *ignored = NULL;

	while (walk_next(&ahead, &t, &ignored) == 0 && t.type == FDT_PROP) {
		if (strcmp(t.name, pnames[P_COMPAT]) == 0) {
			p.val = t.val;
			p.len = t.len;
			return has_str(&p, s);
		}
	}
	return false; /* a malformed node fails when the main walk reaches it */
}

static int skip_subtree(struct walk *w, const char **why)
{
	unsigned int depth = w->depth;
	struct tok t;
	int err;

	do {
		err = walk_next(w, &t, why);
	} while (!err && w->depth >= depth);
	return err;
}

static int write_begin(struct writer *wr, struct walk *w, const struct tok *t, const char **why)
{
	if (w->depth == 3 && wr->in_chosen) {
		flush_chosen(wr);
	}
	if (w->depth == 2) {
		if (wr->edit->drop_fw_cfg && node_has_compat(w, "qemu,fw-cfg-mmio")) {
			return skip_subtree(w, why);
		}
		wr->in_chosen = name_is(t->name, "chosen");
		wr->in_resmem = name_is(t->name, "reserved-memory");
		wr->rm_ac = 2;
		wr->rm_sc = 1;
	}
	copy_tok(wr, t);
	return 0;
}

/* /chosen's rng-seed or kaslr-seed, with the host's own value, under the source's name offset. */
static bool replace_seed(struct writer *wr, const struct tok *t)
{
	bool kaslr_seed = strcmp(t->name, pnames[P_KASLR_SEED]) == 0 && t->len == 8;
	u8 kaslr[8];
	u32 len = kaslr_seed ? 8 : MIN(t->len, PLAT_SEED_MAX);

	if (!kaslr_seed && strcmp(t->name, pnames[P_RNG_SEED]) != 0) {
		return false;
	}
	out_u32(wr, FDT_PROP);
	out_u32(wr, len);
	out_u32(wr, (u32)((const u8 *)t->name - wr->b->str));
	if (kaslr_seed) {
		put_be32(kaslr, (u32)(wr->edit->host_kaslr_seed >> 32));
		put_be32(kaslr + 4, (u32)wr->edit->host_kaslr_seed);
		out(wr, kaslr, 8);
	} else {
		out(wr, wr->edit->host_seed, len);
	}
	out_pad(wr);
	return true;
}

static void write_prop(struct writer *wr, const struct walk *w, const struct tok *t)
{
	struct prop p = { t->val, t->len };

	if (w->depth == 2 && wr->in_resmem) {
		if (strcmp(t->name, pnames[P_ACELLS]) == 0) {
			prop_u32(&p, &wr->rm_ac);
		} else if (strcmp(t->name, pnames[P_SCELLS]) == 0) {
			prop_u32(&p, &wr->rm_sc);
		}
	}
	if (w->depth == 2 && wr->in_chosen && wr->edit->host_seed && replace_seed(wr, t)) {
		return;
	}
	if (w->depth == 2 && wr->in_chosen && wr->initrd &&
	    (strcmp(t->name, pnames[P_INITRD_START]) == 0 ||
	     strcmp(t->name, pnames[P_INITRD_END]) == 0)) {
		return; /* replaced by flush_chosen() */
	}
	copy_tok(wr, t);
}

static int write_end(struct writer *wr, const struct walk *w, const struct tok *t, const char **why)
{
	int err = 0;

	if (w->depth == 1) { /* a child of the root ends */
		if (wr->in_chosen) {
			flush_chosen(wr);
		}
		if (wr->in_resmem && wr->resmem_todo) {
			err = out_moat_node(wr, wr->rm_ac, wr->rm_sc, why);
		}
		wr->in_chosen = wr->in_resmem = false;
	} else if (w->depth == 0) {
		err = add_missing(wr, why);
	}
	copy_tok(wr, t);
	return err;
}

static int write_struct(struct writer *wr, const char **why)
{
	struct walk w = { .b = wr->b };
	struct tok t;
	int err;

	for (;;) {
		err = walk_next(&w, &t, why);
		if (err) {
			return err;
		}
		if (t.type == FDT_BEGIN_NODE) {
			err = write_begin(wr, &w, &t, why);
		} else if (t.type == FDT_PROP) {
			write_prop(wr, &w, &t);
		} else if (t.type == FDT_END_NODE) {
			err = write_end(wr, &w, &t, why);
		} else {
			copy_tok(wr, &t);
			return 0;
		}
		if (err) {
			return err;
		}
	}
}

/* Offset of s in the strings block, or false (suffixes count, as in libfdt). */
static bool find_string(const struct blob *b, const char *s, u32 *off)
{
	u32 n = (u32)strlen(s) + 1;
	u32 o;

	for (o = 0; n <= b->str_size && o <= b->str_size - n; o++) {
		if (memcmp(b->str + o, s, n) == 0) {
			*off = o;
			return true;
		}
	}
	return false;
}

/* Give each name the edits may emit an offset, appending missing ones. */
static void names_prepare(struct writer *wr)
{
	u32 next = wr->b->str_size;
	unsigned int i;

	for (i = 0; i < P_NR; i++) {
		if ((wr->need & (1U << i)) && !find_string(wr->b, pnames[i], &wr->noff[i])) {
			wr->noff[i] = next;
			next += (u32)strlen(pnames[i]) + 1;
		}
	}
}

static void write_strings(struct writer *wr)
{
	unsigned int i;

	out(wr, wr->b->str, wr->b->str_size);
	for (i = 0; i < P_NR; i++) {
		if ((wr->need & (1U << i)) && wr->noff[i] >= wr->b->str_size) {
			out(wr, pnames[i], (u32)strlen(pnames[i]) + 1);
		}
	}
}

static void writer_init(struct writer *wr, const struct blob *b, const struct fdt_host_edit *edit,
			void *dst, size_t dst_size)
{
	memset(wr, 0, sizeof(*wr));
	wr->b = b;
	wr->edit = edit;
	wr->buf = dst;
	wr->cap = (u32)MIN(dst_size, FDT_MAX_SIZE);
	wr->initrd = wr->initrd_todo = edit->initrd_end > edit->initrd_start;
	wr->resmem_todo = edit->core_reserved[0].size != 0 || edit->core_reserved[1].size != 0;
	if (wr->initrd) {
		wr->need |= 1U << P_INITRD_START | 1U << P_INITRD_END;
	}
	if (wr->resmem_todo) {
		wr->need |= 1U << P_REG | 1U << P_NOMAP | 1U << P_ACELLS | 1U << P_SCELLS |
			    1U << P_RANGES;
	}
	names_prepare(wr);
}

/* Layout: header, reservation block, structure block, strings; no gaps. */
static void write_header(struct writer *wr, u32 dt_off, u32 str_off)
{
	const u32 h[H_NR] = { FDT_MAGIC, wr->pos, dt_off, str_off, FDT_HDR_SIZE, 17, 16,
			      hdr(wr->b->base, H_BOOT_CPU), wr->pos - str_off, str_off - dt_off };
	unsigned int i;

	for (i = 0; i < H_NR; i++) {
		put_be32(wr->buf + 4 * i, h[i]);
	}
}

int fdt_write_host_dtb(const void *src, void *dst, size_t dst_size, const struct fdt_host_edit *edit,
		       size_t *out_size, const char **why)
{
	static const u8 zero_hdr[FDT_HDR_SIZE];
	const char *ignored = NULL;
	struct writer wr;
	struct blob b;
	u32 dt_off, str_off;
	int err;

	why = why ? why : &ignored;
	err = blob_open(src, fdt_total_size(src), &b, why);
	if (err) {
		return err;
	}
	writer_init(&wr, &b, edit, dst, dst_size);
	out(&wr, zero_hdr, FDT_HDR_SIZE); /* filled in last */
	out(&wr, b.base + b.rsv_off, b.rsv_size);
	dt_off = wr.pos;
	err = write_struct(&wr, why);
	if (err) {
		return err;
	}
	str_off = wr.pos;
	write_strings(&wr);
	if (wr.full) {
		FAIL(MOAT_E_NOMEM, "destination too small for the host DTB");
	}
	write_header(&wr, dt_off, str_off);
	*out_size = wr.pos;
	return 0;
}
