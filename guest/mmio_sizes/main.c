/*
 * mmio_sizes: the core's completion of MMIO reads (truncate to the access
 * size, sign-extend per the instruction, W writes zero the top half of the
 * X register, a load into WZR writes nothing).
 *
 * VMM protocol: answer every read of IPA 0x0a000020 with
 * 0xfedcba9876543210 truncated to the access size (1, 2, 4, 8 bytes), and
 * every read of 0x0a000028 (1 byte) with 0x80. Expected results:
 *
 *   ipa 0x0a000020  ldrb w   = 0x10                 ldrsb w = 0x10
 *                   ldrsb x  = 0x10                 ldrh w  = 0x3210
 *                   ldrsh w  = 0x3210               ldrsh x = 0x3210
 *                   ldr w    = 0x76543210           ldrsw x = 0x76543210
 *                   ldr x    = 0xfedcba9876543210
 *                   ldr wzr  : reads (one exit), changes no register;
 *                              printed as the SP change, 0x0
 *   ipa 0x0a000028  ldrb w   = 0x80
 *                   ldrsb w  = 0xffffff80 (zero-extended into x)
 *                   ldrsb x  = 0xffffffffffffff80
 *
 * Each destination register holds 0x5a5a5a5a5a5a5a5a before its load, so a
 * core that writes only part of the register shows up. One line per load,
 * "guest: mmio <insn> = 0x<x register>", with " MISMATCH want 0x..." added
 * when it differs; then "guest: mmio_sizes ok" or "guest: mmio_sizes <n>
 * mismatches"; then SYSTEM_OFF. Accesses are in this order: the 10 loads of
 * 0x0a000020 as listed (row by row), then the 3 of 0x0a000028.
 */
#include "guest.h"

#define MMIO_WIDE 0x0a000020UL /* VMM: 0xfedcba9876543210, truncated */
#define MMIO_BYTE 0x0a000028UL /* VMM: 0x80 */
#define PRELOAD 0x5a5a5a5a5a5a5a5aUL

/* One function per load instruction: "insn" names the destination as %0 (x) or %w0 (w). */
#define MMIO_LOAD(name, insn)                                                              \
	static uint64_t name(uint64_t addr)                                                \
	{                                                                                  \
		uint64_t v = PRELOAD;                                                      \
		__asm__ volatile(insn ", [%1]" : "+r"(v) : "r"(addr) : "memory");          \
		return v;                                                                  \
	}

MMIO_LOAD(load_ldrb_w, "ldrb %w0")
MMIO_LOAD(load_ldrsb_w, "ldrsb %w0")
MMIO_LOAD(load_ldrsb_x, "ldrsb %0")
MMIO_LOAD(load_ldrh_w, "ldrh %w0")
MMIO_LOAD(load_ldrsh_w, "ldrsh %w0")
MMIO_LOAD(load_ldrsh_x, "ldrsh %0")
MMIO_LOAD(load_ldr_w, "ldr %w0")
MMIO_LOAD(load_ldrsw_x, "ldrsw %0")
MMIO_LOAD(load_ldr_x, "ldr %0")

/*
 * "ldr wzr": register 31 is the zero register for a load, never SP. A core
 * that wrote SP anyway would move the stack: report how far (0 expected) and
 * put SP back before any C code runs on it.
 */
static uint64_t load_ldr_wzr(uint64_t addr)
{
	uint64_t delta;

	__asm__ volatile("mov	x9, sp\n\t"
			 "ldr	wzr, [%1]\n\t"
			 "mov	x10, sp\n\t"
			 "mov	sp, x9\n\t"
			 "sub	%0, x10, x9"
			 : "=r"(delta)
			 : "r"(addr)
			 : "x9", "x10", "memory");
	return delta;
}

struct mmio_case {
	const char *insn;
	uint64_t (*load)(uint64_t addr);
	uint64_t addr;
	uint64_t want;
};

static const struct mmio_case cases[] = {
	{ "ldrb w", load_ldrb_w, MMIO_WIDE, 0x10 },
	{ "ldrsb w", load_ldrsb_w, MMIO_WIDE, 0x10 },
	{ "ldrsb x", load_ldrsb_x, MMIO_WIDE, 0x10 },
	{ "ldrh w", load_ldrh_w, MMIO_WIDE, 0x3210 },
	{ "ldrsh w", load_ldrsh_w, MMIO_WIDE, 0x3210 },
	{ "ldrsh x", load_ldrsh_x, MMIO_WIDE, 0x3210 },
	{ "ldr w", load_ldr_w, MMIO_WIDE, 0x76543210 },
	{ "ldrsw x", load_ldrsw_x, MMIO_WIDE, 0x76543210 },
	{ "ldr x", load_ldr_x, MMIO_WIDE, 0xfedcba9876543210UL },
	{ "ldr wzr", load_ldr_wzr, MMIO_WIDE, 0 },
	{ "ldrb w", load_ldrb_w, MMIO_BYTE, 0x80 },
	{ "ldrsb w", load_ldrsb_w, MMIO_BYTE, 0xffffff80 },
	{ "ldrsb x", load_ldrsb_x, MMIO_BYTE, 0xffffffffffffff80UL },
};

/* Runs one load and prints its line; returns true if the value is the expected one. */
static bool run_case(const struct mmio_case *c)
{
	uint64_t got = c->load(c->addr);

	printf("guest: mmio %s = 0x%lx", c->insn, got);
	if (got != c->want) {
		printf(" MISMATCH want 0x%lx", c->want);
	}
	printf("\n");
	return got == c->want;
}

void guest_main(uint64_t x0)
{
	unsigned int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad += run_case(&cases[i]) ? 0 : 1;
	}
	if (bad) {
		printf("guest: mmio_sizes %u mismatches\n", bad);
	} else {
		printf("guest: mmio_sizes ok\n");
	}
}
