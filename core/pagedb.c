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

		if (p) {
			p->owner = owner;
			p->peer = OWNER_NONE;
			p->flags = 0;
			p->state = (u8)state;
		}
	}
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
