/*
 * Exceptions the core injects into an EL1 (host or guest): the syndrome to
 * report and the vector entry to emulate, as pure functions of the trapped
 * context so unit tests check every case. The arm64 layer applies the result
 * (writes ESR/FAR/ELR/SPSR_EL1 and redirects ELR/SPSR_EL2).
 *
 * DESIGN §4 fixes the synchronous external abort exactly: EC 0x25/0x24 (data,
 * same EL / from EL0) or 0x21/0x20 (instruction), IL = 1, FSC = 0b010000,
 * WnR copied, ISV = 0; vector +0x000 (EL1t), +0x200 (EL1h), +0x400 (EL0
 * AArch64), +0x600 (EL0 AArch32); new PSTATE = EL1h, DAIF masked, PAN set
 * when SCTLR_EL1.SPAN = 0.
 */
#ifndef MOAT_INJECT_H
#define MOAT_INJECT_H

#include "esr.h"
#include "types.h"

#define PSR_MODE_MASK 0x1fUL
#define PSR_MODE_EL0T 0x0UL
#define PSR_MODE_EL1T 0x4UL
#define PSR_MODE_EL1H 0x5UL
#define PSR_AARCH32 0x10UL
#define PSR_DAIF_MASK (0xfUL << 6)
#define PSR_PAN (1UL << 22)
#define SCTLR_EL1_SPAN_BIT (1UL << 23)

struct el1_entry {
	u64 elr_el2;  /* VBAR_EL1 + vector offset */
	u64 spsr_el2; /* PSTATE the EL1 handler starts with */
};

/* True when the context described by spsr ran at EL0 (AArch64 or AArch32). */
bool spsr_is_el0(u64 spsr);

/* Vector entry for a synchronous exception taken to EL1 from the context in spsr. */
struct el1_entry el1_sync_entry(u64 spsr, u64 vbar_el1, u64 sctlr_el1, bool have_pan);

/* ESR_EL1 for a synchronous external abort reflecting the stage-2 abort in esr_el2. */
u64 sea_syndrome(u64 esr_el2, u64 spsr);

/* ESR_EL1 for an Undefined Instruction exception (EC 0, IL 1). */
u64 undef_syndrome(void);

#endif
