/*
 * Exception syndrome (ESR_ELx) encodings from the Arm ARM: pure data, so the
 * generic exit handlers decode traps the same way at EL2 and in unit tests.
 */
#ifndef MOAT_ESR_H
#define MOAT_ESR_H

#define ESR_EC_SHIFT 26
#define ESR_EC(esr) (((esr) >> ESR_EC_SHIFT) & 0x3fUL)
#define ESR_EC_COUNT 64 /* EC is 6 bits: tables indexed by it have this many entries */
#define ESR_IL (1UL << 25)

#define EC_UNKNOWN 0x00UL
#define EC_WFX 0x01UL
#define EC_FP_ASIMD 0x07UL
#define EC_PAUTH 0x09UL /* PAC instruction with HCR_EL2.API = 0 */
#define EC_HVC64 0x16UL
#define EC_SMC64 0x17UL
#define EC_SYSREG 0x18UL
#define EC_SVE 0x19UL	    /* SVE instruction or register with CPTR_EL2.TZ = 1 */
#define EC_ERET_PAUTH 0x1aUL /* ERETAA/ERETAB with HCR_EL2.API = 0 */
#define EC_SME 0x1dUL	    /* SME instruction or register with CPTR_EL2.TSM = 1 */
#define EC_IABT_LOWER 0x20UL
#define EC_IABT_SAME 0x21UL
#define EC_DABT_LOWER 0x24UL
#define EC_DABT_SAME 0x25UL

/* WFx ISS: TI bit 0 set for WFE (and WFET), clear for WFI (and WFIT). */
#define ESR_WFX_TI_WFE (1UL << 0)

/* Data-abort ISS */
#define ESR_ISV (1UL << 24)
#define ESR_SAS(esr) (((esr) >> 22) & 0x3UL)
#define ESR_SSE (1UL << 21)
#define ESR_SRT(esr) (((esr) >> 16) & 0x1fUL)
#define ESR_SF (1UL << 15)
#define ESR_S1PTW (1UL << 7)
#define ESR_WNR (1UL << 6)
#define ESR_FSC(esr) ((esr)&0x3fUL)
#define FSC_SEA 0x10UL
/* Fault status type, level in bits 1:0: address size 0b0000xx, translation 0b0001xx, permission 0b0011xx. */
#define FSC_TYPE(esr) ((esr)&0x3cUL)
#define FSC_TYPE_TRANSLATION 0x04UL
#define FSC_TYPE_PERMISSION 0x0cUL

/*
 * The value a trapped load leaves in its register: truncated to the access
 * size, sign-extended if the load was a signed one (SSE), and cut to 32 bits
 * for a W register (SF = 0).
 */
static inline unsigned long long load_result(unsigned long long value, unsigned int size, int sign_extend,
					     int sixty_four)
{
	unsigned int bits = size * 8U;

	if (bits < 64) {
		value &= (1ULL << bits) - 1;
		if (sign_extend && ((value >> (bits - 1)) & 1)) {
			value |= ~((1ULL << bits) - 1);
		}
	}
	return sixty_four ? value : value & 0xffffffffULL;
}

/* WFx ISS: TI bit 0 = WFE */
#define ESR_WFX_WFE (1UL << 0)

/*
 * Trapped MSR/MRS/SYS ISS: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10],
 * Rt [9:5], CRm [4:1], direction bit 0 (1 = read, MRS).
 */
#define ESR_SYSREG_READ (1UL << 0)
#define ESR_SYSREG_RT(esr) (((esr) >> 5) & 0x1fUL)
#define ESR_SYSREG_OP0(esr) (((esr) >> 20) & 0x3UL)
#define ESR_SYSREG_OP2(esr) (((esr) >> 17) & 0x7UL)
#define ESR_SYSREG_OP1(esr) (((esr) >> 14) & 0x7UL)
#define ESR_SYSREG_CRN(esr) (((esr) >> 10) & 0xfUL)
#define ESR_SYSREG_CRM(esr) (((esr) >> 1) & 0xfUL)
/* The register alone, packed op0:op1:CRn:CRm:op2 (16 bits), as a lookup key. */
#define ESR_SYSREG_KEY(esr)                                                                                          \
	((ESR_SYSREG_OP0(esr) << 14) | (ESR_SYSREG_OP1(esr) << 11) | (ESR_SYSREG_CRN(esr) << 7) |                    \
	 (ESR_SYSREG_CRM(esr) << 3) | ESR_SYSREG_OP2(esr))
#define SYSREG_KEY(op0, op1, crn, crm, op2) (((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2))

/* HVC/SMC ISS: the immediate */
#define ESR_IMM16(esr) ((esr)&0xffffUL)

#endif
