/*
 * Exception-injection arithmetic (see inject.h). Stateless: no lock.
 */
#include "inject.h"

bool spsr_is_el0(u64 spsr)
{
	return (spsr & PSR_AARCH32) || (spsr & PSR_MODE_MASK) == PSR_MODE_EL0T;
}

static u64 vector_offset(u64 spsr)
{
	if (spsr & PSR_AARCH32) {
		return 0x600;
	}
	switch (spsr & PSR_MODE_MASK) {
	case PSR_MODE_EL0T:
		return 0x400;
	case PSR_MODE_EL1T:
		return 0x000;
	default:
		return 0x200;
	}
}

struct el1_entry el1_sync_entry(u64 spsr, u64 vbar_el1, u64 sctlr_el1, bool have_pan)
{
	struct el1_entry e;
	u64 pan = spsr & PSR_PAN;

	if (have_pan && !(sctlr_el1 & SCTLR_EL1_SPAN_BIT)) {
		pan = PSR_PAN;
	}
	e.elr_el2 = vbar_el1 + vector_offset(spsr);
	e.spsr_el2 = PSR_MODE_EL1H | PSR_DAIF_MASK | (have_pan ? pan : 0);
	return e;
}

u64 sea_syndrome(u64 esr_el2, u64 spsr)
{
	bool data = ((esr_el2 >> ESR_EC_SHIFT) & 0x3f) == EC_DABT_LOWER;
	bool el0 = spsr_is_el0(spsr);
	u64 ec;

	if (data) {
		ec = el0 ? EC_DABT_LOWER : EC_DABT_SAME;
		return (ec << ESR_EC_SHIFT) | ESR_IL | (esr_el2 & ESR_WNR) | FSC_SEA;
	}
	ec = el0 ? EC_IABT_LOWER : EC_IABT_SAME;
	return (ec << ESR_EC_SHIFT) | ESR_IL | FSC_SEA;
}

u64 undef_syndrome(void)
{
	return ESR_IL;
}
