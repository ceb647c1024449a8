/*
 * arm64 side of the self-hosted debug of normal guests (core/guest_debug.c):
 * MRS/MSR of the breakpoint and watchpoint registers by bank and number, of
 * MDSCR_EL1, OSLSR_EL1 and OSLAR_EL1. The register number is part of the
 * instruction, hence one case per register.
 *
 * State: none (the registers are the CPU's).
 */
#include "arch.h"
#include "guest_debug.h"
#include "sysreg.h"

/* DBG{B,W}{V,C}R<n>_EL1 = S2_0_C0_C<n>_<4..7>; one level more, so the name expands before it is stringified. */
#define DBG_SYSREG(crm, op2) S2_0_C0_C##crm##_##op2
#define RD(r) read_sysreg(r)
#define WR(r, v) write_sysreg(r, v)

#define DBG_CASE(n)                                                                                                  \
	case n:                                                                                                      \
		switch (reg) {                                                                                       \
		case DBG_BVR:                                                                                        \
			if (write) {                                                                                 \
				WR(DBG_SYSREG(n, 4), *v);                                                            \
			} else {                                                                                     \
				*v = RD(DBG_SYSREG(n, 4));                                                           \
			}                                                                                            \
			break;                                                                                       \
		case DBG_BCR:                                                                                        \
			if (write) {                                                                                 \
				WR(DBG_SYSREG(n, 5), *v);                                                            \
			} else {                                                                                     \
				*v = RD(DBG_SYSREG(n, 5));                                                           \
			}                                                                                            \
			break;                                                                                       \
		case DBG_WVR:                                                                                        \
			if (write) {                                                                                 \
				WR(DBG_SYSREG(n, 6), *v);                                                            \
			} else {                                                                                     \
				*v = RD(DBG_SYSREG(n, 6));                                                           \
			}                                                                                            \
			break;                                                                                       \
		case DBG_WCR:                                                                                        \
			if (write) {                                                                                 \
				WR(DBG_SYSREG(n, 7), *v);                                                            \
			} else {                                                                                     \
				*v = RD(DBG_SYSREG(n, 7));                                                           \
			}                                                                                            \
			break;                                                                                       \
		default:                                                                                             \
			break;                                                                                       \
		}                                                                                                    \
		break;

static void bank_access(enum dbg_reg reg, unsigned int n, u64 *v, bool write)
{
	switch (n) {
		DBG_CASE(0)
		DBG_CASE(1)
		DBG_CASE(2)
		DBG_CASE(3)
		DBG_CASE(4)
		DBG_CASE(5)
		DBG_CASE(6)
		DBG_CASE(7)
		DBG_CASE(8)
		DBG_CASE(9)
		DBG_CASE(10)
		DBG_CASE(11)
		DBG_CASE(12)
		DBG_CASE(13)
		DBG_CASE(14)
		DBG_CASE(15)
	default:
		break;
	}
}

u64 arch_dbg_read(enum dbg_reg reg, unsigned int n)
{
	u64 v = 0;

	switch (reg) {
	case DBG_MDSCR:
		return read_sysreg(mdscr_el1);
	case DBG_OSLSR:
		return read_sysreg(oslsr_el1);
	case DBG_OSLAR:
		return 0; /* write-only */
	default:
		bank_access(reg, n, &v, false);
		return v;
	}
}

void arch_dbg_write(enum dbg_reg reg, unsigned int n, u64 v)
{
	switch (reg) {
	case DBG_MDSCR:
		write_sysreg(mdscr_el1, v);
		break;
	case DBG_OSLAR:
		write_sysreg(oslar_el1, v);
		break;
	case DBG_OSLSR:
		break; /* read-only */
	default:
		bank_access(reg, n, &v, true);
		break;
	}
}
