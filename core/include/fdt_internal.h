/*
 * Internals shared by the device-tree reader (fdt.c) and the host-DTB writer
 * (fdt_write.c): token and header encodings, the checked-blob and walker
 * types, and the few helpers both use. Not part of the core's interface:
 * include only from those two files.
 */
#ifndef MOAT_FDT_INTERNAL_H
#define MOAT_FDT_INTERNAL_H

#include "fdt.h"
#include "types.h"

#define FDT_BEGIN_NODE 1U
#define FDT_END_NODE 2U
#define FDT_PROP 3U
#define FDT_NOP 4U
#define FDT_END 9U

#define FDT_HDR_SIZE 40U
#define FDT_MAX_DEPTH 16U /* open nodes, root included; QEMU virt needs 5 */
#define FDT_MAX_CELLS 4U  /* larger #address-cells/#size-cells are refused */

#define FAIL(err, reason)         \
	do {                      \
		*why = (reason);  \
		return (err);     \
	} while (0)

/* Header words, in the order the spec lays them out. */
enum { H_MAGIC, H_TOTALSIZE, H_OFF_STRUCT, H_OFF_STRINGS, H_OFF_RSVMAP, H_VERSION,
       H_LAST_COMP, H_BOOT_CPU, H_SIZE_STRINGS, H_SIZE_STRUCT, H_NR };

/* A blob whose header passed blob_open(): all blocks lie inside size. */
struct blob {
	const u8 *base;
	u32 size;
	const u8 *dt; /* structure block */
	u32 dt_size;
	const u8 *str; /* strings block */
	u32 str_size;
	u32 rsv_off, rsv_size; /* reservation block, terminator included */
};

struct tok {
	u32 type;
	u32 off;	  /* of this token in the structure block */
	u32 next;	  /* of the token after it */
	const char *name; /* node or property name, NUL inside the blob */
	const u8 *val;	  /* property value */
	u32 len;	  /* property length */
};

/*
 * Walks the structure block enforcing the rules the readers below rely on:
 * one root, bounded nesting, properties before subnodes, balanced nodes,
 * FDT_END last. Each step advances off by at least 4 bytes or fails.
 */
struct walk {
	const struct blob *b;
	u32 off;	   /* next token */
	unsigned int depth; /* open nodes; the root is depth 1 */
	u32 had_child;	   /* bit d: the open node at depth d has a subnode */
};

/* Names the reader looks for and the writer emits; one table for both. */
enum pname { P_REG, P_RANGES, P_COMPAT, P_DEVTYPE, P_METHOD, P_BOOTARGS, P_INITRD_START,
	     P_INITRD_END, P_ACELLS, P_SCELLS, P_NOMAP, P_RNG_SEED, P_KASLR_SEED, P_NR };

extern const char *const pnames[P_NR];

struct prop {
	const u8 *val; /* NULL when absent */
	u32 len;
};

void put_be32(u8 *p, u32 v);
u32 hdr(const void *blob, unsigned int word);
int blob_open(const void *blob, size_t max_size, struct blob *b, const char **why);
int walk_next(struct walk *w, struct tok *t, const char **why);
bool has_str(const struct prop *p, const char *s);
bool name_is(const char *name, const char *base);
bool prop_u32(const struct prop *p, u32 *v);

#endif
