/*
 * ID register space reader for EL1 images (see el1_idregs.h). One MRS per
 * encoding: the register is part of the instruction, so each needs its own.
 */
#include "el1_idregs.h"

#define READ_ID(crm, op2) __asm__ volatile("mrs %0, S3_0_C0_C" #crm "_" #op2 : "=r"(out[((crm)-1) * 8 + (op2)]));
#define READ_ROW(crm)                                                                                                \
	READ_ID(crm, 0) READ_ID(crm, 1) READ_ID(crm, 2) READ_ID(crm, 3) READ_ID(crm, 4) READ_ID(crm, 5)              \
		READ_ID(crm, 6) READ_ID(crm, 7)

void el1_read_idregs(uint64_t out[EL1_IDREGS])
{
	READ_ROW(1)
	READ_ROW(2)
	READ_ROW(3)
	READ_ROW(4)
	READ_ROW(5)
	READ_ROW(6)
	READ_ROW(7)
}

void el1_print_idregs(const char *prefix, const uint64_t regs[EL1_IDREGS], int (*print)(const char *fmt, ...))
{
	for (unsigned int crm = 1; crm <= 7; crm++) {
		const uint64_t *r = &regs[(crm - 1) * 8];

		print("%sidregs CRm=%u: %lx %lx %lx %lx %lx %lx %lx %lx\n", prefix, crm, r[0], r[1], r[2], r[3], r[4],
		      r[5], r[6], r[7]);
	}
}
