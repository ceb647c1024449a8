/*
 * mmioguard: the MMIO guard from the guest's side (docs/ABI.md "Guest ABI",
 * MMIO_GUARD), checked against a VMM that counts what reaches it:
 *
 *   1. before any MMIO_GUARD call every page of the MMIO window reaches the
 *      host: checkpoint 1 (a 4-byte write of 1 to CHECKPOINT, a page nobody
 *      guarded);
 *   2. refused calls -- outside the window, RAM, unaligned, x2 set -- are
 *      INVALID_PARAMETER and opt nothing in: checkpoint 2 still reaches the host:
 *        guest: refused -3 -3 -3 -3
 *   3. MMIO_GUARD of the UART opts in (and keeps this console working):
 *        guest: guard uart -> 0
 *   4. unguarded pages now give the guest a synchronous external abort and
 *      the host sees nothing: a 4-byte write of 3 to CHECKPOINT, a read of
 *      OTHER, a pair load (no syndrome for the host to decode) from OTHER:
 *        guest: unguarded write: ESR_EL1=0x96000050 FAR_EL1=0xa000040
 *        guest: unguarded read: ESR_EL1=0x96000010 FAR_EL1=0xa001008
 *        guest: unguarded ldp: ESR_EL1=0x96000010 FAR_EL1=0xa001010
 *   5. MMIO_GUARD of CHECKPOINT's page, again (no new entry), then
 *      checkpoint 3 reaches the host:
 *        guest: guard checkpoint -> 0, again -> 0
 *        guest: mmioguard done
 * SYSTEM_OFF at the end. The MMU is off: FAR_EL1 is the IPA.
 */
#include "guest.h"

#define KVM_FN_MMIO_GUARD 0xc6000007UL
#define UART 0x09000000UL
#define CHECKPOINT 0x0a000040UL
#define OTHER 0x0a001000UL
#define WINDOW_END 0x10000000UL /* the test host's MMIO window: 0x08000000..0x10000000 */

static long guard(uint64_t ipa, uint64_t x2)
{
	return hvc_call(KVM_FN_MMIO_GUARD, ipa, x2, 0).status;
}

static void report(const char *what, bool faulted, const struct guest_fault *f)
{
	if (faulted) {
		printf("guest: unguarded %s: ESR_EL1=0x%lx FAR_EL1=0x%lx\n", what, f->esr, f->far);
	} else {
		printf("guest: unguarded %s: no abort\n", what);
	}
}

void guest_main(uint64_t x0)
{
	struct guest_fault f;
	uint32_t lo = 0, hi = 0;
	bool faulted;
	long a, b;

	mmio_write32(CHECKPOINT, 1);
	printf("guest: refused %ld %ld %ld %ld\n", guard(WINDOW_END, 0), guard(MOAT_GUEST_RAM_BASE, 0),
	       guard(CHECKPOINT, 0), guard(UART, 1));
	mmio_write32(CHECKPOINT, 2);
	printf("guest: guard uart -> %ld\n", guard(UART, 0));

	probe_arm();
	mmio_write32(CHECKPOINT, 3);
	faulted = probe_disarm(&f);
	report("write", faulted, &f);
	probe_arm();
	(void)mmio_read32(OTHER + 8);
	faulted = probe_disarm(&f);
	report("read", faulted, &f);
	probe_arm();
	__asm__ volatile("ldp %w0, %w1, [%2]" : "+r"(lo), "+r"(hi) : "r"(OTHER + 0x10) : "memory");
	faulted = probe_disarm(&f);
	report("ldp", faulted, &f);

	a = guard(CHECKPOINT & ~(GUEST_PAGE_SIZE - 1), 0);
	b = guard(CHECKPOINT & ~(GUEST_PAGE_SIZE - 1), 0);
	printf("guest: guard checkpoint -> %ld, again -> %ld\n", a, b);
	mmio_write32(CHECKPOINT, 3);
	printf("guest: mmioguard done\n");
}
