/*
 * Test host: which RAM pages the host may scribble on.
 *
 * Everything in the DTB's memory banks except /reserved-memory children
 * (the core's memory among them), /memreserve/ entries, the test host's own
 * image (code, data, BSS, stacks) and the DTB itself. The excluded ranges
 * are few (at most MEMMAP_MAX_EXCLUDED), kept page-aligned, sorted and
 * merged so that tests can print them and a linear check per page is cheap.
 */
#include "testhost.h"

static void add_excl(struct memmap *m, u64 base, u64 size)
{
	if (size && m->nr_excl < MEMMAP_MAX_EXCLUDED) {
		m->excl[m->nr_excl].base = ALIGN_DOWN(base, PAGE_SIZE);
		m->excl[m->nr_excl].size = ALIGN_UP(base + size, PAGE_SIZE) - ALIGN_DOWN(base, PAGE_SIZE);
		m->nr_excl++;
	}
}

static void sort_excl(struct memmap *m)
{
	for (unsigned int i = 1; i < m->nr_excl; i++) {
		struct fdt_range r = m->excl[i];
		unsigned int j = i;

		for (; j > 0 && m->excl[j - 1].base > r.base; j--) {
			m->excl[j] = m->excl[j - 1];
		}
		m->excl[j] = r;
	}
}

static void merge_excl(struct memmap *m)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < m->nr_excl; i++) {
		struct fdt_range *prev = out ? &m->excl[out - 1] : NULL;
		u64 end = m->excl[i].base + m->excl[i].size;

		if (prev && m->excl[i].base <= prev->base + prev->size) {
			prev->size = MAX(prev->base + prev->size, end) - prev->base;
		} else {
			m->excl[out++] = m->excl[i];
		}
	}
	m->nr_excl = out;
}

void memmap_build(struct memmap *m)
{
	m->nr_excl = 0;
	for (unsigned int i = 0; i < plat.nr_reserved; i++) {
		add_excl(m, plat.reserved[i].base, plat.reserved[i].size);
	}
	for (unsigned int i = 0; i < plat.nr_memreserve; i++) {
		add_excl(m, plat.memreserve[i].base, plat.memreserve[i].size);
	}
	add_excl(m, (u64)(uintptr_t)__image_start, (u64)(__image_end - __image_start));
	add_excl(m, plat.dtb, plat.dtb_size);
	sort_excl(m);
	merge_excl(m);
}

void memmap_exclude(struct memmap *m, u64 base, u64 size)
{
	add_excl(m, base, size);
	sort_excl(m);
	merge_excl(m);
}

bool memmap_page_free(const struct memmap *m, u64 pa)
{
	for (unsigned int i = 0; i < m->nr_excl; i++) {
		if (pa < m->excl[i].base + m->excl[i].size && pa + PAGE_SIZE > m->excl[i].base) {
			return false;
		}
	}
	return true;
}
