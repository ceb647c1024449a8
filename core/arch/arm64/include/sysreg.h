/*
 * System-register access and the architectural constants the arm64 layer
 * uses. Only core/arch/arm64 includes this file.
 */
#ifndef MOAT_ARM64_SYSREG_H
#define MOAT_ARM64_SYSREG_H

#define read_sysreg(r)                                                                                               \
	({                                                                                                           \
		u64 __v;                                                                                             \
		__asm__ volatile("mrs %0, " #r : "=r"(__v));                                                        \
		__v;                                                                                                 \
	})
#define write_sysreg(r, v)                                                                                           \
	do {                                                                                                         \
		u64 __w = (u64)(v);                                                                                  \
		__asm__ volatile("msr " #r ", %x0" : : "rZ"(__w));                                                  \
	} while (0)

#include "esr.h"

/* HCR_EL2 */
#define HCR_VM (1UL << 0)
#define HCR_VSE (1UL << 8) /* virtual SError pending; the hardware clears it when the guest takes it */
#define HCR_SWIO (1UL << 1)
#define HCR_FMO (1UL << 3)
#define HCR_IMO (1UL << 4)
#define HCR_AMO (1UL << 5)
#define HCR_TWI (1UL << 13)
#define HCR_TWE (1UL << 14)
#define HCR_TID3 (1UL << 18) /* EL1 reads of the ID space trap (idregs.c answers them) */
#define HCR_FB (1UL << 9)
#define HCR_BSU_IS (1UL << 10)
#define HCR_TSC (1UL << 19)
#define HCR_TIDCP (1UL << 20)
#define HCR_TACR (1UL << 21)
#define HCR_TSW (1UL << 22)
#define HCR_RW (1UL << 31)
#define HCR_TLOR (1UL << 35) /* LORegion registers trap */
#define HCR_TERR (1UL << 36) /* RAS error-record registers trap (RES0 without RAS) */
#define HCR_APK (1UL << 40)
#define HCR_API (1UL << 41)

/* SCTLR_EL2 (non-VHE) */
#define SCTLR_EL2_RES1 ((1UL << 29) | (1UL << 28) | (1UL << 23) | (1UL << 22) | (1UL << 18) | (1UL << 16) | \
			(1UL << 11) | (1UL << 5) | (1UL << 4))
#define SCTLR_M (1UL << 0)
#define SCTLR_C (1UL << 2)
#define SCTLR_SA (1UL << 3)
#define SCTLR_I (1UL << 12)
#define SCTLR_WXN (1UL << 19)
/* SCTLR_EL1 as Linux expects it at entry: MMU off, little-endian, RES1 bits set. */
#define SCTLR_EL1_RESET 0x30d00800UL
#define SCTLR_EL1_SPAN (1UL << 23)

/* SPSR */
#define SPSR_MODE_MASK 0x1fUL
#define SPSR_MODE_EL0T 0x0UL
#define SPSR_MODE_EL1T 0x4UL
#define SPSR_MODE_EL1H 0x5UL
#define SPSR_AARCH32 (1UL << 4)
#define SPSR_DAIF (0xfUL << 6)
#define SPSR_PAN (1UL << 22)

/*
 * CPTR_EL2 (non-VHE): bits 0-7, 9 and 13 are RES1. TZ and TSM are RES1 only
 * where SVE / SME are absent and traps where present, TAM is RES0 without
 * AMU: the arch layer derives them from the ID registers (idregs.h).
 */
#define CPTR_EL2_RES1 0x22ffUL
#define CPTR_TZ (1UL << 8)
#define CPTR_TFP (1UL << 10)
#define CPTR_TSM (1UL << 12)
#define CPTR_TTA (1UL << 20)
#define CPTR_TAM (1UL << 30)

/* MDCR_EL2 */
#define MDCR_HPMN_MASK 0x1fUL
#define MDCR_TPMCR (1UL << 5)
#define MDCR_TPM (1UL << 6)
#define MDCR_TDA (1UL << 9)
#define MDCR_TDOSA (1UL << 10)
#define MDCR_TDRA (1UL << 11)
#define MDCR_HPMD (1UL << 17) /* PMUv3p1: no event counting at EL2 */
#define MDCR_HCCD (1UL << 23) /* PMUv3p5: no cycle counting at EL2 */

/* CNTHCTL_EL2 */
#define CNTHCTL_EL1PCTEN (1UL << 0)
#define CNTHCTL_EL1PCEN (1UL << 1)

/* ICC_SRE_EL2 */
#define ICC_SRE_EL2_SRE (1UL << 0)
#define ICC_SRE_EL2_DFB (1UL << 1)
#define ICC_SRE_EL2_DIB (1UL << 2)
#define ICC_SRE_EL2_ENABLE (1UL << 3)

/* TCR_EL2 (non-VHE) */
#define TCR_EL2_RES1 ((1UL << 31) | (1UL << 23))
#define TCR_T0SZ(bits) (64UL - (bits))
#define TCR_IRGN0_WBWA (1UL << 8)
#define TCR_ORGN0_WBWA (1UL << 10)
#define TCR_SH0_INNER (3UL << 12)
#define TCR_EL2_PS_SHIFT 16

/* VTCR_EL2 */
#define VTCR_EL2_RES1 (1UL << 31)
#define VTCR_SL0_L1 (1UL << 6)
#define VTCR_PS_SHIFT 16
#define VTCR_VS_16BIT (1UL << 19)

/* ISR_EL1, read at EL2: a physical SError is pending. */
#define ISR_A (1UL << 8)

/* VSESR_EL2 (RAS only): IDS = 1, an implementation-defined syndrome rather than an architected error class. */
#define VSESR_IDS (1UL << 24)

/* HPFAR_EL2.FIPA holds IPA[51:12] in bits [43:4]. */
#define HPFAR_IPA(hpfar) ((((hpfar) >> 4) & 0xffffffffffUL) << 12)

#endif
