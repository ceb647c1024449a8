/*
 * Inline HVC wrapper for EL1 C code (test host, guests, the Linux driver has
 * its own arm_smccc_1_1_hvc()). The core preserves x4..x30, so only x0..x3
 * are outputs; x4..x6 are inputs the core leaves untouched.
 */
#ifndef MOAT_HVC_H
#define MOAT_HVC_H

#include <stdint.h>

struct moat_result {
	long status; /* x0: 0 or a negative enum moat_error */
	uint64_t r1, r2, r3;
};

static inline struct moat_result moat_hvc6(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3,
					   uint64_t a4, uint64_t a5, uint64_t a6)
{
	register uint64_t x0 __asm__("x0") = fid;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;
	register uint64_t x4 __asm__("x4") = a4;
	register uint64_t x5 __asm__("x5") = a5;
	register uint64_t x6 __asm__("x6") = a6;
	struct moat_result r;

	__asm__ volatile("hvc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
			 : "r"(x4), "r"(x5), "r"(x6)
			 : "memory");
	r.status = (long)x0;
	r.r1 = x1;
	r.r2 = x2;
	r.r3 = x3;
	return r;
}

#define moat_hvc(fid, a1, a2, a3) moat_hvc6((fid), (a1), (a2), (a3), 0, 0, 0)

#endif
