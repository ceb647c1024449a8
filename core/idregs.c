/*
 * ID register views for the host and the guests (see idregs.h for the
 * policy, docs/architecture.md "ID registers" for the reasons per field).
 *
 * Every field of the ID space is 4 bits wide. An unsigned field grows with
 * the feature (0 = absent); a signed one (FP, AdvSIMD, TGran4, TGran64,
 * DoubleLock, MTPMU) reads 0xf for "absent", so capping one compares the
 * values as signed: an absent feature stays absent, a present one is cut to
 * the cap.
 *
 * Lock: none. The views are written once at boot (boot CPU) and read-only
 * afterwards.
 */
#include "idregs.h"

#include "esr.h"
#include "host_s2.h"
#include "log.h"
#include "pmu.h"
#include "vm.h"

/* One field of one register: shown as min(CPU value, max). */
struct idreg_field {
	u8 reg;
	u8 shift;
	u8 max;
	bool is_signed;
};

#define F(reg, shift, max) { reg, shift, max, false }
#define FS(reg, shift, max) { reg, shift, max, true }

/*
 * Guests: the only fields that pass. A feature belongs here when its state
 * is switched per vCPU (PSTATE bits in SPSR, EL1 registers the core saves,
 * FP/SIMD) or when it is instructions only; its cap is the highest value
 * whose extra state, if any, is also switched. Not listed, hence zero: EL2
 * and EL3 (a guest has neither), AArch32 (EL0/EL1 capped at AArch64-only),
 * RAS, SVE, SME, MPAM, AMU, SEL2, RME, MTE, PAuth, TME, LOR, SCXTNUM
 * (CSV2 <= 1), NMI, GCS, VHE, nested virtualisation, FGT, ECV, LS64, XS,
 * MOPS, WFxT and every field the core does not know yet.
 */
static const struct idreg_field guest_fields[] = {
	F(ID_AA64PFR0, 0, 1),	/* EL0: AArch64 only */
	F(ID_AA64PFR0, 4, 1),	/* EL1: AArch64 only (HCR_EL2.RW) */
	FS(ID_AA64PFR0, 16, 1), /* FP, with half precision */
	FS(ID_AA64PFR0, 20, 1), /* AdvSIMD, with half precision */
	F(ID_AA64PFR0, 24, 1),	/* GIC system registers (GICv3, virtual CPU interface) */
	F(ID_AA64PFR0, 48, 1),	/* DIT: PSTATE */
	F(ID_AA64PFR0, 56, 1),	/* CSV2, without SCXTNUM_ELx (CSV2_2) */
	F(ID_AA64PFR0, 60, 1),	/* CSV3 */
	F(ID_AA64PFR1, 0, 1),	/* BT: PSTATE.BTYPE, SCTLR_EL1.BTx */
	F(ID_AA64PFR1, 4, 2),	/* SSBS: PSTATE, MSR/MRS SSBS */
	F(ID_AA64ISAR0, 4, 2),	/* AES, PMULL */
	F(ID_AA64ISAR0, 8, 1),	/* SHA1 */
	F(ID_AA64ISAR0, 12, 2), /* SHA2, SHA512 */
	F(ID_AA64ISAR0, 16, 1), /* CRC32 */
	F(ID_AA64ISAR0, 20, 3), /* atomics (LSE, LSE128) */
	F(ID_AA64ISAR0, 28, 1), /* RDM */
	F(ID_AA64ISAR0, 32, 1), /* SHA3 */
	F(ID_AA64ISAR0, 36, 1), /* SM3 */
	F(ID_AA64ISAR0, 40, 1), /* SM4 */
	F(ID_AA64ISAR0, 44, 1), /* dot product */
	F(ID_AA64ISAR0, 48, 1), /* FHM */
	F(ID_AA64ISAR0, 52, 2), /* flag manipulation */
	F(ID_AA64ISAR0, 56, 2), /* TLBI outer shareable and range */
	F(ID_AA64ISAR0, 60, 1), /* RNDR */
	F(ID_AA64ISAR1, 0, 2),	/* DC CVAP, CVADP */
	F(ID_AA64ISAR1, 12, 1), /* JSCVT */
	F(ID_AA64ISAR1, 16, 1), /* FCMA */
	F(ID_AA64ISAR1, 20, 3), /* LRCPC */
	F(ID_AA64ISAR1, 32, 1), /* FRINTTS */
	F(ID_AA64ISAR1, 36, 1), /* SB */
	F(ID_AA64ISAR1, 40, 1), /* prediction restriction (CFP/DVP/CPP RCTX) */
	F(ID_AA64ISAR1, 44, 2), /* BF16, EBF16 (FPCR) */
	F(ID_AA64ISAR1, 48, 1), /* DGH */
	F(ID_AA64ISAR1, 52, 1), /* I8MM */
	F(ID_AA64MMFR0, 4, 2),	/* ASID bits */
	F(ID_AA64MMFR0, 8, 1),	/* mixed endian */
	F(ID_AA64MMFR0, 12, 1), /* secure/non-secure memory distinction */
	F(ID_AA64MMFR0, 16, 1), /* mixed endian at EL0 */
	F(ID_AA64MMFR0, 20, 1), /* 16 KiB granule, without 52-bit addresses */
	FS(ID_AA64MMFR0, 24, 0), /* 64 KiB granule */
	FS(ID_AA64MMFR0, 28, 0), /* 4 KiB granule, without 52-bit addresses (LPA2) */
	F(ID_AA64MMFR0, 44, 1), /* ExS: SCTLR_EL1.EIS/EOS */
	F(ID_AA64MMFR1, 0, 2),	/* hardware access flag and dirty state (TCR_EL1) */
	F(ID_AA64MMFR1, 12, 2), /* hierarchical permission disables (TCR_EL1) */
	F(ID_AA64MMFR1, 20, 3), /* PAN: PSTATE, SCTLR_EL1.EPAN */
	F(ID_AA64MMFR1, 24, 1), /* SError on speculative reads */
	F(ID_AA64MMFR1, 36, 2), /* enhanced translation synchronisation */
	F(ID_AA64MMFR1, 56, 1), /* CMOW: SCTLR_EL1 */
	F(ID_AA64MMFR2, 0, 1),	/* CnP */
	F(ID_AA64MMFR2, 4, 1),	/* UAO: PSTATE */
	F(ID_AA64MMFR2, 12, 1), /* IESB: SCTLR_EL1 */
	F(ID_AA64MMFR2, 20, 1), /* CCIDX: CCSIDR_EL1 is not trapped, so its format must be told */
	F(ID_AA64MMFR2, 32, 1), /* unaligned single-copy atomicity */
	F(ID_AA64MMFR2, 36, 1), /* ID-space traps reported as EC 0x18 */
	F(ID_AA64MMFR2, 48, 1), /* TLBI TTL hint */
	F(ID_AA64MMFR2, 52, 2), /* break-before-make levels */
	F(ID_AA64MMFR2, 60, 1), /* E0PD: TCR_EL1 */
};

/*
 * ID_AA64DFR0_EL1 for protected guests: debug and PMU are trapped (MDCR_EL2)
 * and not switched, so they are shown what pKVM shows protected guests: every
 * field zero -- DebugVer 0, although the architecture's minimum is 6 (Armv8
 * debug), and BRPs = WRPs = 0 (one breakpoint, one watchpoint, whose
 * registers read as zero) -- except the two whose "absent" value is not zero:
 * DoubleLock and MTPMU = 0xf. Normal guests get the PMU and debug on top
 * (IDREG_GUEST_NORMAL below); the OS double lock stays absent for them too.
 */
#define GUEST_DFR0 ((0xfUL << 36) | (0xfUL << 48))
/* DebugVer for normal guests: Armv8.0 debug, whose EL1 state is what core/guest_debug.c switches. */
#define DEBUGVER_V8 6U

/* The host: the CPU's values except these fields, capped. */
static const struct idreg_field host_fields[] = {
	F(ID_AA64PFR0, 32, 0),	/* SVE: the core saves only V0-V31 around guests */
	F(ID_AA64PFR0, 56, 1),	/* CSV2_2: SCXTNUM_ELx trapped (HCR_EL2.EnSCXT = 0) */
	F(ID_AA64PFR1, 8, 0),	/* MTE: tags are not handled (HCR_EL2.ATA = 0) */
	F(ID_AA64PFR1, 24, 0),	/* SME: streaming mode and ZA are not saved around guests */
	F(ID_AA64PFR1, 32, 1),	/* CSV2_1p2: SCXTNUM_ELx, as above */
	F(ID_AA64PFR1, 40, 0),	/* MTE_frac */
	F(ID_AA64ISAR1, 60, 0),	/* LS64: HCRX_EL2.EnALS/EnAS0/EnASR stay 0 (cpu.c), so they would trap */
	F(ID_AA64ISAR2, 16, 0),	/* MOPS: HCRX_EL2.MSCEn stays 0, so they would UNDEF */
};

/* Registers the host sees as zero whatever the CPU has: the SVE and SME feature registers. */
static const u8 host_zero_regs[] = { ID_AA64ZFR0, ID_AA64SMFR0 };

#define PARANGE_SHIFT 0

static struct idreg_set views[IDREG_NR_VIEWS];

static const char *const names[IDREG_NR] = {
	[IDREG_INDEX(1, 0)] = "ID_PFR0_EL1",	      [IDREG_INDEX(1, 1)] = "ID_PFR1_EL1",
	[IDREG_INDEX(1, 2)] = "ID_DFR0_EL1",	      [IDREG_INDEX(1, 3)] = "ID_AFR0_EL1",
	[IDREG_INDEX(1, 4)] = "ID_MMFR0_EL1",	      [IDREG_INDEX(1, 5)] = "ID_MMFR1_EL1",
	[IDREG_INDEX(1, 6)] = "ID_MMFR2_EL1",	      [IDREG_INDEX(1, 7)] = "ID_MMFR3_EL1",
	[IDREG_INDEX(2, 0)] = "ID_ISAR0_EL1",	      [IDREG_INDEX(2, 1)] = "ID_ISAR1_EL1",
	[IDREG_INDEX(2, 2)] = "ID_ISAR2_EL1",	      [IDREG_INDEX(2, 3)] = "ID_ISAR3_EL1",
	[IDREG_INDEX(2, 4)] = "ID_ISAR4_EL1",	      [IDREG_INDEX(2, 5)] = "ID_ISAR5_EL1",
	[IDREG_INDEX(2, 6)] = "ID_MMFR4_EL1",	      [IDREG_INDEX(2, 7)] = "ID_ISAR6_EL1",
	[IDREG_INDEX(3, 0)] = "MVFR0_EL1",	      [IDREG_INDEX(3, 1)] = "MVFR1_EL1",
	[IDREG_INDEX(3, 2)] = "MVFR2_EL1",	      [IDREG_INDEX(3, 4)] = "ID_PFR2_EL1",
	[IDREG_INDEX(3, 5)] = "ID_DFR1_EL1",	      [IDREG_INDEX(3, 6)] = "ID_MMFR5_EL1",
	[IDREG_INDEX(4, 0)] = "ID_AA64PFR0_EL1",      [IDREG_INDEX(4, 1)] = "ID_AA64PFR1_EL1",
	[IDREG_INDEX(4, 2)] = "ID_AA64PFR2_EL1",      [IDREG_INDEX(4, 4)] = "ID_AA64ZFR0_EL1",
	[IDREG_INDEX(4, 5)] = "ID_AA64SMFR0_EL1",     [IDREG_INDEX(4, 7)] = "ID_AA64FPFR0_EL1",
	[IDREG_INDEX(5, 0)] = "ID_AA64DFR0_EL1",      [IDREG_INDEX(5, 1)] = "ID_AA64DFR1_EL1",
	[IDREG_INDEX(5, 2)] = "ID_AA64DFR2_EL1",      [IDREG_INDEX(5, 4)] = "ID_AA64AFR0_EL1",
	[IDREG_INDEX(5, 5)] = "ID_AA64AFR1_EL1",      [IDREG_INDEX(6, 0)] = "ID_AA64ISAR0_EL1",
	[IDREG_INDEX(6, 1)] = "ID_AA64ISAR1_EL1",     [IDREG_INDEX(6, 2)] = "ID_AA64ISAR2_EL1",
	[IDREG_INDEX(6, 3)] = "ID_AA64ISAR3_EL1",     [IDREG_INDEX(7, 0)] = "ID_AA64MMFR0_EL1",
	[IDREG_INDEX(7, 1)] = "ID_AA64MMFR1_EL1",     [IDREG_INDEX(7, 2)] = "ID_AA64MMFR2_EL1",
	[IDREG_INDEX(7, 3)] = "ID_AA64MMFR3_EL1",     [IDREG_INDEX(7, 4)] = "ID_AA64MMFR4_EL1",
};

const char *idreg_name(unsigned int index)
{
	return index < IDREG_NR ? names[index] : NULL;
}

static unsigned int field_get(u64 v, unsigned int shift)
{
	return (unsigned int)(v >> shift) & 0xf;
}

static u64 field_set(u64 v, unsigned int shift, unsigned int value)
{
	return (v & ~(0xfUL << shift)) | ((u64)(value & 0xf) << shift);
}

/* min(value, max) of a 4-bit field, signed (0x8..0xf negative) or not. */
static unsigned int field_cap(unsigned int value, unsigned int max, bool is_signed)
{
	if (is_signed) {
		int v = value >= 8 ? (int)value - 16 : (int)value;
		int m = max >= 8 ? (int)max - 16 : (int)max;

		return (unsigned int)(v < m ? v : m) & 0xf;
	}
	return value < max ? value : max;
}

/* ID_AA64MMFR0_EL1.PARange encoding of an address size (the largest not above bits). */
static unsigned int parange_of(unsigned int bits)
{
	static const unsigned int pa_bits[] = { 32, 36, 40, 42, 44, 48, 52 };
	unsigned int code = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(pa_bits); i++) {
		if (pa_bits[i] <= bits) {
			code = i;
		}
	}
	return code;
}

static void apply_fields(const struct idreg_set *cpu, struct idreg_set *out, const struct idreg_field *f,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int v = field_get(cpu->r[f[i].reg], f[i].shift);

		out->r[f[i].reg] = field_set(out->r[f[i].reg], f[i].shift, field_cap(v, f[i].max, f[i].is_signed));
	}
}

static void cap_parange(const struct idreg_set *cpu, struct idreg_set *out, unsigned int bits)
{
	unsigned int pa = field_get(cpu->r[ID_AA64MMFR0], PARANGE_SHIFT);

	out->r[ID_AA64MMFR0] = field_set(out->r[ID_AA64MMFR0], PARANGE_SHIFT, field_cap(pa, parange_of(bits), false));
}

void idregs_sanitise(enum idreg_view view, const struct idreg_set *cpu, struct idreg_set *out)
{
	unsigned int pmuver;

	switch (view) {
	case IDREG_GUEST:
		*out = (struct idreg_set){ { 0 } };
		apply_fields(cpu, out, guest_fields, ARRAY_SIZE(guest_fields));
		out->r[ID_AA64DFR0] = GUEST_DFR0;
		cap_parange(cpu, out, VM_IPA_BITS);
		break;
	case IDREG_GUEST_NORMAL:
		idregs_sanitise(IDREG_GUEST, cpu, out);
		/* PMUv3p4 at most: v3p5's 64-bit event counters (PMCR.LP) are state core/guest_pmu.c does not switch. */
		pmuver = field_get(cpu->r[ID_AA64DFR0], 8);
		if (pmuver != PMUVER_NONE && pmuver != PMUVER_IMPDEF) {
			out->r[ID_AA64DFR0] = field_set(out->r[ID_AA64DFR0], 8, field_cap(pmuver, PMUVER_V3P4, false));
		}
		/*
		 * Debug (core/guest_debug.c): the CPU's breakpoints (BRPs, 15:12),
		 * watchpoints (WRPs, 23:20) and context-aware breakpoints (CTX_CMPs,
		 * 31:28), all switched; DebugVer capped at Armv8.0 debug, whose state
		 * is the state switched (later versions add registers and MDSCR bits).
		 */
		if (field_get(cpu->r[ID_AA64DFR0], 0) >= DEBUGVER_V8) {
			out->r[ID_AA64DFR0] = field_set(out->r[ID_AA64DFR0], 0, DEBUGVER_V8);
			for (unsigned int shift = 12; shift <= 28; shift += 8) {
				out->r[ID_AA64DFR0] =
					field_set(out->r[ID_AA64DFR0], shift, field_get(cpu->r[ID_AA64DFR0], shift));
			}
		}
		break;
	case IDREG_HOST:
		*out = *cpu;
		apply_fields(cpu, out, host_fields, ARRAY_SIZE(host_fields));
		for (size_t i = 0; i < ARRAY_SIZE(host_zero_regs); i++) {
			out->r[host_zero_regs[i]] = 0;
		}
		cap_parange(cpu, out, HOST_IPA_BITS);
		break;
	default:
		*out = *cpu;
		break;
	}
}

void idregs_init(const struct idreg_set *cpu)
{
	for (unsigned int v = 0; v < IDREG_NR_VIEWS; v++) {
		idregs_sanitise((enum idreg_view)v, cpu, &views[v]);
	}
}

u64 idreg_value(enum idreg_view view, unsigned int index)
{
	return view < IDREG_NR_VIEWS && index < IDREG_NR ? views[view].r[index] : 0;
}

/* ---- features -------------------------------------------------------------------- */

static const char *const feature_names[FEAT_NR] = {
	[FEAT_SVE] = "SVE",   [FEAT_SME] = "SME", [FEAT_PAUTH] = "PAuth", [FEAT_MTE] = "MTE",
	[FEAT_PMU] = "PMU",   [FEAT_DEBUG] = "debug", [FEAT_SPE] = "SPE", [FEAT_TRBE] = "TRBE",
	[FEAT_AMU] = "AMU",   [FEAT_RAS] = "RAS", [FEAT_MPAM] = "MPAM", [FEAT_LOR] = "LOR",
	[FEAT_SCXTNUM] = "SCXTNUM", [FEAT_TME] = "TME",
};

const char *idreg_feature_name(enum idreg_feature feat)
{
	return feat < FEAT_NR ? feature_names[feat] : "?";
}

static bool set_has(const struct idreg_set *s, enum idreg_feature feat)
{
	unsigned int v;

	switch (feat) {
	case FEAT_SVE:
		return field_get(s->r[ID_AA64PFR0], 32) != 0;
	case FEAT_SME:
		return field_get(s->r[ID_AA64PFR1], 24) != 0;
	case FEAT_PAUTH:
		/* APA, API, GPA, GPI (ISAR1); GPA3, APA3 (ISAR2) */
		return field_get(s->r[ID_AA64ISAR1], 4) || field_get(s->r[ID_AA64ISAR1], 8) ||
		       field_get(s->r[ID_AA64ISAR1], 24) || field_get(s->r[ID_AA64ISAR1], 28) ||
		       field_get(s->r[ID_AA64ISAR2], 8) || field_get(s->r[ID_AA64ISAR2], 12);
	case FEAT_MTE:
		return field_get(s->r[ID_AA64PFR1], 8) != 0;
	case FEAT_PMU:
		v = field_get(s->r[ID_AA64DFR0], 8);
		return v != 0 && v != 0xf;
	case FEAT_DEBUG:
		return field_get(s->r[ID_AA64DFR0], 0) >= 6;
	case FEAT_SPE:
		return field_get(s->r[ID_AA64DFR0], 32) != 0;
	case FEAT_TRBE:
		return field_get(s->r[ID_AA64DFR0], 44) != 0;
	case FEAT_AMU:
		return field_get(s->r[ID_AA64PFR0], 44) != 0;
	case FEAT_RAS:
		return field_get(s->r[ID_AA64PFR0], 28) != 0;
	case FEAT_MPAM:
		return field_get(s->r[ID_AA64PFR0], 40) != 0;
	case FEAT_LOR:
		return field_get(s->r[ID_AA64MMFR1], 16) != 0;
	case FEAT_SCXTNUM:
		return field_get(s->r[ID_AA64PFR0], 56) >= 2 || field_get(s->r[ID_AA64PFR1], 32) >= 2;
	case FEAT_TME:
		return field_get(s->r[ID_AA64ISAR0], 24) != 0;
	default:
		return false;
	}
}

bool idregs_have(enum idreg_view view, enum idreg_feature feat)
{
	return view < IDREG_NR_VIEWS && set_has(&views[view], feat);
}

/* "A, B, C" of the features the CPU has and view shows (shown) or hides (!shown); "none" if empty. */
static void feature_list(char *buf, size_t size, enum idreg_view view, bool shown)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int f = 0; f < FEAT_NR; f++) {
		enum idreg_feature feat = (enum idreg_feature)f;
		const char *name = feature_names[f];

		if (!idregs_have(IDREG_CPU, feat) || idregs_have(view, feat) != shown) {
			continue;
		}
		for (const char *p = n ? ", " : ""; *p && n + 1 < size; p++) {
			buf[n++] = *p;
		}
		for (const char *p = name; *p && n + 1 < size; p++) {
			buf[n++] = *p;
		}
		buf[n] = '\0';
	}
	if (!n) {
		for (const char *p = "none"; *p && n + 1 < size; p++) {
			buf[n++] = *p;
		}
		buf[n] = '\0';
	}
}

void idregs_report(void)
{
	char kept[96], hidden[96];
	static const unsigned int pa_bits[] = { 32, 36, 40, 42, 44, 48, 52 };
	unsigned int host_pa = field_get(views[IDREG_HOST].r[ID_AA64MMFR0], PARANGE_SHIFT);
	unsigned int guest_pa = field_get(views[IDREG_GUEST].r[ID_AA64MMFR0], PARANGE_SHIFT);

	feature_list(kept, sizeof(kept), IDREG_HOST, true);
	feature_list(hidden, sizeof(hidden), IDREG_HOST, false);
	log_info("ID registers (trapped, HCR_EL2.TID3): the host keeps %s; hidden from the host: %s; PA %u bits", kept,
		 hidden, pa_bits[host_pa < 7 ? host_pa : 6]);
	feature_list(kept, sizeof(kept), IDREG_GUEST, true);
	feature_list(hidden, sizeof(hidden), IDREG_GUEST, false);
	log_info("ID registers for protected guests: hidden: %s; kept: %s; PA %u bits", hidden, kept,
		 pa_bits[guest_pa < 7 ? guest_pa : 6]);
	feature_list(kept, sizeof(kept), IDREG_GUEST_NORMAL, true);
	feature_list(hidden, sizeof(hidden), IDREG_GUEST_NORMAL, false);
	log_info("ID registers for normal guests: hidden: %s; kept: %s; PA %u bits", hidden, kept,
		 pa_bits[guest_pa < 7 ? guest_pa : 6]);
}

/* ---- traps ------------------------------------------------------------------------- */

enum idreg_trap_result idreg_trap(enum idreg_view view, u64 esr, struct cpu_regs *regs)
{
	unsigned int crm = (unsigned int)ESR_SYSREG_CRM(esr);
	unsigned int rt = (unsigned int)ESR_SYSREG_RT(esr);

	if (ESR_SYSREG_OP0(esr) != 3 || ESR_SYSREG_OP1(esr) != 0 || ESR_SYSREG_CRN(esr) != 0 || crm < 1 || crm > 7) {
		return IDREG_OTHER;
	}
	if (!(esr & ESR_SYSREG_READ)) {
		return IDREG_WRITE;
	}
	if (rt != 31) {
		regs->x[rt] = idreg_value(view, IDREG_INDEX(crm, (unsigned int)ESR_SYSREG_OP2(esr)));
	}
	regs_skip_insn(regs);
	return IDREG_READ;
}
