/*
 * Guest SDK: an identity-mapped EL1 MMU for guests that need Normal memory (exclusives, caches):
 * the multi-vCPU and benchmark guests. One level-1 table of 1 GiB blocks: [0, 1 GiB) Device-nGnRnE
 * (MAIR attr 0: the UART and test devices), [1 GiB, 2 GiB) RAM, Normal write-back (attr 1). Called
 * by each vCPU on itself; the table is written once, by the first caller.
 */
#include "guest.h"

static uint64_t l1_table[512] __attribute__((aligned(4096)));

void guest_mmu_build(void)
{
	l1_table[0] = 0x0UL | 1UL << 10 | 0UL << 2 | 1;			 /* AF, attr 0, block */
	l1_table[1] = 0x40000000UL | 1UL << 10 | 3UL << 8 | 1UL << 2 | 1; /* AF, inner shareable, attr 1 */
	/* The walker reads the table from memory: the writes must be complete before any vCPU's
	 * MMU turns on (a secondary that enabled it before this took a translation fault). */
	__asm__ volatile("dsb sy" ::: "memory");
}

void guest_mmu_on(void)
{
	write_sysreg(mair_el1, 0xffUL << 8);
	/* T0SZ 32 (4 GiB, walk starts at level 1), WB WA walks, inner shareable, 4K granule, EPD1, IPS 32 bits. */
	write_sysreg(tcr_el1, 32UL | 1UL << 8 | 1UL << 10 | 3UL << 12 | 1UL << 23);
	write_sysreg(ttbr0_el1, (uint64_t)l1_table);
	__asm__ volatile("isb; tlbi vmalle1; dsb nsh; isb" ::: "memory");
	write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | 1UL << 0 | 1UL << 2 | 1UL << 12); /* M, C, I */
	__asm__ volatile("isb" ::: "memory");
}
