/*
 * Reading the ID register space from an EL1 image (the test host and the
 * test guests): every encoding op0=3, op1=0, CRn=0, CRm=1..7, op2=0..7, the
 * space HCR_EL2.TID3 traps, allocated or not (unallocated ones read as zero).
 * Index (CRm - 1) * 8 + op2, the same as the core's (core/include/idregs.h).
 */
#ifndef MOAT_EL1_IDREGS_H
#define MOAT_EL1_IDREGS_H

#include <stdint.h>

#define EL1_IDREGS 56

void el1_read_idregs(uint64_t out[EL1_IDREGS]);

/* Print them as 7 lines "<prefix>idregs CRm=<n>: <op2=0> ... <op2=7>" (hex, no 0x). */
void el1_print_idregs(const char *prefix, const uint64_t regs[EL1_IDREGS],
		      int (*print)(const char *fmt, ...));

#endif
