/*
 * Page database (see pagedb.h). Storage is one flat array of struct
 * page_info, bank after bank, placed in the core's reserved region at boot.
 *
 * Lock: pagedb_lock (defined here) guards every entry; the bank layout is
 * written once at boot and read-only afterwards.
 */
#include "pagedb.h"

#include "fmt.h"
#include "lib.h"
#include "log.h"
#include "moat/errors.h"

struct spinlock pagedb_lock;

static struct {
	struct fdt_range bank[PLAT_MAX_MEM];
	u64 first_index[PLAT_MAX_MEM]; /* index of each bank's first page in pages[] */
	unsigned int nr_banks;
	struct page_info *pages;
	u64 nr_pages;
} db;

/* The whole pages of a bank; a bank smaller than one page has none. */
static struct fdt_range page_range(struct fdt_range bank)
{
	u64 start = ALIGN_UP(bank.base, PAGE_SIZE);
	u64 end = ALIGN_DOWN(bank.base + bank.size, PAGE_SIZE);
	struct fdt_range r = { start, end > start ? end - start : 0 };

	return r;
}

u64 pagedb_storage_bytes(const struct platform_info *plat)
{
	u64 pages = 0;

	for (unsigned int i = 0; i < plat->nr_mem; i++) {
		pages += page_range(plat->mem[i]).size / PAGE_SIZE;
	}
	return pages * sizeof(struct page_info);
}

int pagedb_init(const struct platform_info *plat, void *storage, u64 storage_bytes)
{
	u64 index = 0;

	if (plat->nr_mem == 0 || plat->nr_mem > PLAT_MAX_MEM || storage_bytes < pagedb_storage_bytes(plat)) {
		return MOAT_E_INVAL;
	}
	for (unsigned int i = 0; i < plat->nr_mem; i++) {
		db.bank[i] = page_range(plat->mem[i]);
		db.first_index[i] = index;
		index += db.bank[i].size / PAGE_SIZE;
	}
	db.nr_banks = plat->nr_mem;
	db.pages = storage;
	db.nr_pages = index;
	return MOAT_OK;
}

struct page_info *pagedb_lookup(u64 pa)
{
	for (unsigned int i = 0; i < db.nr_banks; i++) {
		u64 offset = pa - db.bank[i].base;

		if (pa >= db.bank[i].base && offset < db.bank[i].size) {
			return &db.pages[db.first_index[i] + offset / PAGE_SIZE];
		}
	}
	return NULL;
}

void pagedb_set_range(u64 pa, u64 size, u16 owner, enum page_state state)
{
	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		struct page_info *p = pagedb_lookup(pa + off);

		/* Boot only: no page is on a list yet. */
		if (p) {
			p->owner = owner;
			p->peer = OWNER_NONE;
			p->flags = 0;
			p->state = (u8)state;
		}
	}
}

/* Entry index + 1 of the page holding pa (which is DRAM). */
static u32 link_of(u64 pa)
{
	return (u32)(pagedb_lookup(pa) - db.pages) + 1;
}

bool pagedb_link_page(u32 link, u64 *pa, struct page_info **page)
{
	u64 index = (u64)link - 1;

	if (link == 0 || index >= db.nr_pages) {
		return false;
	}
	for (unsigned int i = 0; i < db.nr_banks; i++) {
		if (index - db.first_index[i] < db.bank[i].size / PAGE_SIZE) {
			*pa = db.bank[i].base + (index - db.first_index[i]) * PAGE_SIZE;
			*page = &db.pages[index];
			return true;
		}
	}
	return false;
}

u32 pagedb_next_link(u32 link, const struct page_info *page)
{
	return page->next == link ? 0 : page->next;
}

void pagedb_list_push(struct page_list *list, u64 pa)
{
	struct page_info *page = pagedb_lookup(pa);
	u32 link = link_of(pa);

	/* On a list already: pushing it again would close a cycle through it. */
	CHECK(page->next == 0);
	page->next = list->head ? list->head : link;
	list->head = link;
	list->count++;
}

bool pagedb_list_pop(struct page_list *list, u64 *pa)
{
	struct page_info *page;
	u32 link = list->head;

	if (!link) {
		return false;
	}
	CHECK(pagedb_link_page(link, pa, &page));
	list->head = pagedb_next_link(link, page);
	list->count--;
	page->next = 0;
	return true;
}

bool pagedb_list_remove(struct page_list *list, u64 pa)
{
	struct page_info *target = pagedb_lookup(pa), *page;
	u32 want, link = list->head, prev = 0;
	u64 at;

	if (!target || !target->next || !link) {
		return false;
	}
	want = link_of(pa);
	/* Bounded by count, so that a corrupt list cannot keep the core walking. */
	for (u32 n = 0; link && n < list->count; n++) {
		CHECK(pagedb_link_page(link, &at, &page));
		if (link == want) {
			u32 after = pagedb_next_link(link, page);
			struct page_info *before;

			if (!prev) {
				list->head = after;
			} else {
				CHECK(pagedb_link_page(prev, &at, &before));
				/* The last page links to itself: a predecessor that becomes last does too. */
				before->next = after ? after : prev;
			}
			list->count--;
			page->next = 0;
			return true;
		}
		prev = link;
		link = pagedb_next_link(link, page);
	}
	return false;
}

u16 pagedb_page_vm(const struct page_info *page)
{
	if (OWNER_IS_VM(page->owner)) {
		return page->owner;
	}
	if (OWNER_IS_VM(page->peer) &&
	    (page->owner == OWNER_CORE || (page->owner == OWNER_HOST && page->state == PAGE_SHARED_OWNED))) {
		return page->peer;
	}
	return OWNER_NONE;
}

unsigned int pagedb_nr_banks(void)
{
	return db.nr_banks;
}

struct fdt_range pagedb_bank(unsigned int i)
{
	return db.bank[i];
}

const char *owner_name(u16 owner, char *buf, size_t size)
{
	switch (owner) {
	case OWNER_HOST:
		return "host";
	case OWNER_CORE:
		return "core";
	case OWNER_NONE:
		return "none";
	default:
		fmt_format(buf, size, "vm%u", OWNER_VM_ID(owner));
		return buf;
	}
}
