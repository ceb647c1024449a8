/*
 * The CPU's feature ID registers and what the host and the guests are shown
 * of them (DESIGN §0, §6: the core handles a feature or hides it).
 *
 * HCR_EL2.TID3 traps every EL1 read of the ID space -- op0=3, op1=0, CRn=0,
 * CRm=1..7, op2=0..7, allocated or not -- for the host and for guests alike;
 * the core answers from a view computed once at boot from the boot CPU's
 * registers:
 *   - the guest view is an allow-list: only fields of features the core
 *     context-switches (or that carry no state) pass, each capped at the
 *     highest value known to be state-free; everything else reads as zero,
 *     the AArch32 and the unallocated registers included. Debug follows
 *     pKVM (docs/architecture.md "ID registers"), PA is capped at the VM IPA
 *     size;
 *   - the host view is the CPU's value minus what the core does not give the
 *     host: SVE and SME (the core saves only V0-V31 around guests), MTE (tags
 *     are not handled), SCXTNUM (HCR_EL2.EnSCXT stays 0), and PA capped at
 *     the host's stage-2 input size.
 * The traps that make the hiding real (CPTR_EL2.TZ/TSM/TAM, HCR_EL2.TERR,
 * TLOR, API/APK) are set by the arch layer from the same views.
 *
 * Owns: the CPU values and the views, written once at boot before any other
 * CPU or the host runs, read-only afterwards (no lock).
 * Callers: the arch layer at boot (idregs_init); the host and guest trap
 * handlers (idreg_trap).
 */
#ifndef MOAT_IDREGS_H
#define MOAT_IDREGS_H

#include "regs.h"
#include "types.h"

#define IDREG_NR 56 /* CRm 1..7 x op2 0..7 */
#define IDREG_INDEX(crm, op2) (((crm)-1) * 8 + (op2))

#define ID_AA64PFR0 IDREG_INDEX(4, 0)
#define ID_AA64PFR1 IDREG_INDEX(4, 1)
#define ID_AA64ZFR0 IDREG_INDEX(4, 4)
#define ID_AA64SMFR0 IDREG_INDEX(4, 5)
#define ID_AA64DFR0 IDREG_INDEX(5, 0)
#define ID_AA64ISAR0 IDREG_INDEX(6, 0)
#define ID_AA64ISAR1 IDREG_INDEX(6, 1)
#define ID_AA64ISAR2 IDREG_INDEX(6, 2)
#define ID_AA64MMFR0 IDREG_INDEX(7, 0)
#define ID_AA64MMFR1 IDREG_INDEX(7, 1)
#define ID_AA64MMFR2 IDREG_INDEX(7, 2)

/* Whose values: the CPU's own, or what the host / a guest is shown. */
/*
 * IDREG_GUEST: protected VMs; IDREG_GUEST_NORMAL: normal VMs, the same plus the PMU (core/guest_pmu.c) and
 * debug (core/guest_debug.c).
 */
enum idreg_view { IDREG_CPU = 0, IDREG_HOST, IDREG_GUEST, IDREG_GUEST_NORMAL, IDREG_NR_VIEWS };

struct idreg_set {
	u64 r[IDREG_NR]; /* index IDREG_INDEX(CRm, op2) */
};

/* Features the boot line names and the arch layer derives traps from. */
enum idreg_feature {
	FEAT_SVE,
	FEAT_SME,
	FEAT_PAUTH,   /* address or generic authentication, any algorithm */
	FEAT_MTE,
	FEAT_PMU,     /* PMUv3 (PMUVer neither 0 nor IMPDEF) */
	FEAT_DEBUG,   /* DebugVer >= 6: the Armv8 debug architecture */
	FEAT_SPE,
	FEAT_TRBE,
	FEAT_AMU,
	FEAT_RAS,
	FEAT_MPAM,
	FEAT_LOR,
	FEAT_SCXTNUM, /* CSV2 >= 2 or CSV2_frac >= 2: SCXTNUM_ELx registers */
	FEAT_TME,
	FEAT_NR
};

/* Pure: view's value of every register computed from the CPU's (unit-tested on the fake arch). */
void idregs_sanitise(enum idreg_view view, const struct idreg_set *cpu, struct idreg_set *out);

/* Boot: keep the CPU's registers and compute the host and guest views. */
void idregs_init(const struct idreg_set *cpu);
u64 idreg_value(enum idreg_view view, unsigned int index);
bool idregs_have(enum idreg_view view, enum idreg_feature feat);
const char *idreg_feature_name(enum idreg_feature feat);
/* Two boot lines: what the host keeps and what is hidden from the host and from guests. */
void idregs_report(void);

/* "ID_AA64PFR0_EL1", or NULL for an unallocated encoding. */
const char *idreg_name(unsigned int index);

/*
 * A trapped MSR/MRS (EC 0x18, syndrome esr) from the context in regs: if it
 * names the ID space, answer a read from view (Rt, PC += 4) and return
 * IDREG_READ; a write to an ID register is UNDEFINED (IDREG_WRITE: the
 * caller injects it). IDREG_OTHER: not an ID register, regs untouched.
 */
enum idreg_trap_result { IDREG_OTHER = 0, IDREG_READ, IDREG_WRITE };
enum idreg_trap_result idreg_trap(enum idreg_view view, u64 esr, struct cpu_regs *regs);

#endif
