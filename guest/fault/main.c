/*
 * fault: synchronous external aborts the core injects into the guest.
 *
 *   1. A 32-bit read of IPA 0x20000000: neither RAM nor the VM's MMIO window
 *      (0x08000000..0x10000000), so the core injects an abort (and the VMM
 *      sees a GUEST_FAULT exit with guest_fault.ipa = 0x20000000).
 *      Prints "guest: abort ESR_EL1=0x<esr> FAR_EL1=0x<far>".
 *   2. A load pair ("ldp w, w") from the UART at 0x09000000: inside the MMIO
 *      window, but ESR_EL2.ISV = 0, so the core must not decode it for the
 *      VMM and injects an abort instead (GUEST_FAULT, no MMIO exit).
 *      Prints "guest: ldp abort ESR_EL1=0x<esr> FAR_EL1=0x<far>".
 * Expected for both: EC 0x25 (data abort, same EL), DFSC 0x10 (synchronous
 * external abort), FAR = the address (0x20000000, 0x09000000); ESR values
 * 0x96000010 (ISV = 0, WnR = 0). If no abort arrives the guest prints
 * "guest: ... no abort (read 0x<value>)" instead. A last line
 *   guest: fault ok           (both aborts as expected)
 *   guest: fault unexpected   (anything else)
 * sums up; then SYSTEM_OFF.
 */
#include "guest.h"

#define UNMAPPED_IPA 0x20000000UL

static bool expected_abort(const struct guest_fault *f, uint64_t addr)
{
	return ESR_EC(f->esr) == ESR_EC_DABT_CUR && ESR_DFSC(f->esr) == ESR_DFSC_SEA && f->far == addr;
}

static bool probe_unmapped(void)
{
	struct guest_fault f;
	uint32_t val;

	probe_arm();
	val = mmio_read32(UNMAPPED_IPA);
	if (!probe_disarm(&f)) {
		printf("guest: read 0x%08lx: no abort (read 0x%x)\n", UNMAPPED_IPA, val);
		return false;
	}
	printf("guest: abort ESR_EL1=0x%x FAR_EL1=0x%lx\n", (uint32_t)f.esr, f.far);
	return expected_abort(&f, UNMAPPED_IPA);
}

/* The pair load is one instruction, so the probe's ELR + 4 skips exactly it. */
static bool probe_ldp_uart(void)
{
	struct guest_fault f;
	uint32_t lo = 0, hi = 0;

	probe_arm();
	__asm__ volatile("ldp %w0, %w1, [%2]" : "+r"(lo), "+r"(hi) : "r"(GUEST_UART_BASE) : "memory");
	if (!probe_disarm(&f)) {
		printf("guest: ldp 0x%08lx: no abort (read 0x%x 0x%x)\n", GUEST_UART_BASE, lo, hi);
		return false;
	}
	printf("guest: ldp abort ESR_EL1=0x%x FAR_EL1=0x%lx\n", (uint32_t)f.esr, f.far);
	return expected_abort(&f, GUEST_UART_BASE);
}

void guest_main(uint64_t x0)
{
	bool ok = probe_unmapped();

	ok = probe_ldp_uart() && ok;
	printf("guest: fault %s\n", ok ? "ok" : "unexpected");
}
