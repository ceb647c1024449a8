/*
 * Page database: one entry per 4 KiB page of every DRAM bank, saying who owns
 * the page and in which state it is (DESIGN §4). It is the single source of
 * truth for ownership; every stage-2 table is derived from it and checked
 * against it by the invariant checker.
 *
 * Lock: pagedb_lock guards every entry and the host stage-2 table (they
 * change together). Lock order: pagedb_lock before any VM lock.
 */
#ifndef MOAT_PAGEDB_H
#define MOAT_PAGEDB_H

#include "fdt.h"
#include "spinlock.h"
#include "types.h"

/* Owner IDs: the host is 0 so that an all-zero database means "host owns everything". */
#define OWNER_HOST 0
#define OWNER_CORE 1
#define OWNER_NONE 2 /* nobody: pages pending scrub */
#define OWNER_VM_BASE 16
#define OWNER_VM(id) ((u16)(OWNER_VM_BASE + (id)))
#define OWNER_IS_VM(o) ((o) >= OWNER_VM_BASE)
#define OWNER_VM_ID(o) ((unsigned int)(o)-OWNER_VM_BASE)

enum page_state {
	PAGE_OWNED = 0,	       /* owner has it to itself */
	PAGE_SHARED_OWNED,     /* owner lends it to `peer` and keeps access */
	PAGE_SHARED_BORROWED,  /* reserved for per-borrower views; unused in the owner's entry */
	PAGE_PENDING_SCRUB,    /* left a VM; zeroed and cleaned before the host may have it */
};

/*
 * peer: in PAGE_SHARED_OWNED, who borrows the page; for a CORE page, the VM
 * it serves (memcache, vCPU state, stage-2 table) or OWNER_NONE for the
 * core's own; otherwise OWNER_NONE.
 *
 * 10 bytes a page (2.5 MiB per GiB of RAM): packed to 2-byte alignment so
 * that next costs its 4 bytes and no more, and so that an entry has no
 * padding bytes (tests and the fuzzer compare the database byte for byte).
 * The core is built with -mstrict-align: the compiler reads next as two
 * halfwords.
 */
struct page_info {
	u16 owner;
	u16 peer;
	u8 state; /* enum page_state */
	u8 flags; /* PAGE_FLAG_* */
	u32 next; /* link to the next page of the same page list (below); 0 on none */
} __attribute__((packed, aligned(2)));
_Static_assert(sizeof(struct page_info) == 10, "page_info: 10 bytes, no padding");

#define PAGE_FLAG_RUN_PAGE (1U << 0) /* host page shared with the core, attached to a vCPU */
/* A VM page the guest shares with the host and has asked to unshare: the host is dropping its mappings. */
#define PAGE_FLAG_UNSHARING (1U << 1)

extern struct spinlock pagedb_lock;

/*
 * Page lists threaded through the entries, so that a set of pages can be
 * visited in time proportional to its size rather than to RAM: each VM's
 * index of the pages that serve it (struct vm.pages, kept by mem.c).
 *
 * A link names an entry by its index in the database + 1. next == 0 means
 * "on no list", so a zeroed database has every page on none; the last page
 * of a list links to itself, so that membership is one test (next != 0) and
 * pushing a page already on a list is caught. An empty list has head 0.
 * Guarded by pagedb_lock, like the entries.
 */
struct page_list {
	u32 head;  /* link to the first page, 0 when empty */
	u32 count; /* pages on the list */
};

/* Put pa's page (on no list) first on list. */
void pagedb_list_push(struct page_list *list, u64 pa);
/* Take the first page off list into *pa (its next is 0 again); false when the list is empty. */
bool pagedb_list_pop(struct page_list *list, u64 *pa);
/*
 * Take pa's page off list wherever it is (its next is 0 again); false when it
 * is not on list. The list is singly linked, so this walks from the head to
 * the page's predecessor: O(pages before it). A guest relinquishing one page
 * pays it (guest_mem.c); pages are pushed at the head, so a page the VM got
 * recently is found early.
 */
bool pagedb_list_remove(struct page_list *list, u64 pa);
/*
 * Walk a list: for checkers. pagedb_link_page() gives the page a link names,
 * false for a link outside the database; pagedb_next_link() the link after
 * the page, 0 after the last one.
 */
bool pagedb_link_page(u32 link, u64 *pa, struct page_info **page);
u32 pagedb_next_link(u32 link, const struct page_info *page);

/*
 * The VM a page serves, as an owner ID: the VM that owns it, the VM a core
 * page works for (memcache, vCPU state, stage-2 table), the VM that borrows a
 * host page. OWNER_NONE for any other page. These are the pages on the VM's
 * index.
 */
u16 pagedb_page_vm(const struct page_info *page);

/* Bytes of storage the database needs for the banks in plat. */
u64 pagedb_storage_bytes(const struct platform_info *plat);

/* Take zeroed storage (all pages HOST, OWNED) covering every bank of plat. */
int pagedb_init(const struct platform_info *plat, void *storage, u64 storage_bytes);

/* The entry for the page holding pa, or NULL when pa is not DRAM. */
struct page_info *pagedb_lookup(u64 pa);

/* Set every page of [pa, pa + size) (all DRAM) to owner/state. */
void pagedb_set_range(u64 pa, u64 size, u16 owner, enum page_state state);

/* Number of DRAM banks and each bank's range, for walkers. */
unsigned int pagedb_nr_banks(void);
struct fdt_range pagedb_bank(unsigned int i);

/* "host", "core", "none", "vm3": for log lines. buf needs 16 bytes. */
const char *owner_name(u16 owner, char *buf, size_t size);

#endif
