/*
 * Tests: what the host was told about the machine (dtb_info) and that every
 * page of RAM it was given really is its own (own_ram).
 *
 * tests/integration parses the "dtb:" and "own_ram:" lines: keep their
 * format stable.
 */
#include "test.h"

#define MAX_REPORTED_MISMATCHES 8

/* Distinct for every page: multiplying by an odd constant is a bijection. */
static u64 page_pattern(u64 pa)
{
	return (pa * 0x9e3779b97f4a7c15UL) ^ 0x5a5a5a5a5a5a5a5aUL;
}

static u64 last_word(u64 pa)
{
	return pa + PAGE_SIZE - sizeof(u64);
}

static void write_bank(const struct memmap *m, const struct fdt_range *bank)
{
	for (u64 pa = bank->base; pa < bank->base + bank->size; pa += PAGE_SIZE) {
		if (memmap_page_free(m, pa)) {
			*(volatile u64 *)pa = page_pattern(pa);
			*(volatile u64 *)last_word(pa) = ~page_pattern(pa);
		}
	}
}

/* Second pass, so that two pages aliasing one another are caught too. */
static void verify_bank(const struct memmap *m, const struct fdt_range *bank, u64 *checked, u64 *skipped,
			u64 *bad)
{
	for (u64 pa = bank->base; pa < bank->base + bank->size; pa += PAGE_SIZE) {
		u64 first, last;

		if (!memmap_page_free(m, pa)) {
			(*skipped)++;
			continue;
		}
		(*checked)++;
		first = *(volatile u64 *)pa;
		last = *(volatile u64 *)last_word(pa);
		if (first == page_pattern(pa) && last == ~page_pattern(pa)) {
			continue;
		}
		if (++(*bad) <= MAX_REPORTED_MISMATCHES) {
			CHECK(false, "page 0x%lx reads 0x%lx/0x%lx, wrote 0x%lx/0x%lx", pa, first, last,
			      page_pattern(pa), ~page_pattern(pa));
		}
	}
}

TEST(own_ram)
{
	u64 checked = 0, skipped = 0, bad = 0;
	struct memmap m;

	memmap_build(&m);
	for (unsigned int i = 0; i < m.nr_excl; i++) {
		tprintf("own_ram: excluded 0x%lx 0x%lx\n", m.excl[i].base, m.excl[i].size);
	}
	for (unsigned int i = 0; i < plat.info.nr_mem; i++) {
		tprintf("own_ram: bank 0x%lx 0x%lx\n", plat.info.mem[i].base, plat.info.mem[i].size);
		write_bank(&m, &plat.info.mem[i]);
	}
	for (unsigned int i = 0; i < plat.info.nr_mem; i++) {
		verify_bank(&m, &plat.info.mem[i], &checked, &skipped, &bad);
	}
	tprintf("own_ram: %lu pages checked in %u banks\n", checked, plat.info.nr_mem);
	tprintf("own_ram: %lu pages skipped\n", skipped);
	CHECK(plat.info.nr_mem > 0, "no memory banks");
	CHECK(checked > 0, "no page checked");
	CHECK_EQ(bad, 0);
}

static void print_reserved(void)
{
	for (unsigned int i = 0; i < plat.nr_reserved; i++) {
		tprintf("dtb: reserved 0x%lx 0x%lx %s\n", plat.reserved[i].base, plat.reserved[i].size,
			plat.reserved[i].name);
	}
	for (unsigned int i = 0; i < plat.nr_memreserve; i++) {
		tprintf("dtb: memreserve 0x%lx 0x%lx\n", plat.memreserve[i].base, plat.memreserve[i].size);
	}
}

static const char *conduit_name(enum psci_conduit c)
{
	return c == PSCI_CONDUIT_SMC ? "smc" : c == PSCI_CONDUIT_HVC ? "hvc" : "none";
}

TEST(dtb_info)
{
	for (unsigned int i = 0; i < plat.info.nr_mem; i++) {
		tprintf("dtb: mem 0x%lx 0x%lx\n", plat.info.mem[i].base, plat.info.mem[i].size);
	}
	tprintf("dtb: cpus %u\n", plat.info.nr_cpus);
	for (unsigned int i = 0; i < plat.info.nr_cpus; i++) {
		tprintf("dtb: cpu %u mpidr 0x%lx\n", i, plat.info.cpu_mpidr[i]);
	}
	print_reserved();
	tprintf("dtb: uart 0x%lx\n", plat.info.uart.base);
	tprintf("dtb: psci %s\n", conduit_name(plat.info.psci));
	tprintf("dtb: fw_cfg %s\n", plat.info.fw_cfg.size ? "present" : "absent");
	tprintf("dtb: at 0x%lx size 0x%lx %s\n", plat.dtb, plat.dtb_size, plat.dtb_from_x0 ? "from-x0" : "by-scan");
	tprintf("dtb: bootargs \"%s\"\n", plat.info.bootargs);
	CHECK(plat.info.nr_mem > 0, "no memory banks");
	CHECK(plat.info.nr_cpus > 0, "no CPUs");
}
