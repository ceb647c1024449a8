/*
 * share: the guest side of the KVM/pKVM vendor-hypervisor service
 * (docs/ABI.md "Guest ABI"), checked against a VMM that plays the host:
 *
 *   1. discovery: the call UID, the feature bitmap, HYP_MEMINFO:
 *        guest: uid 0x<x0> 0x<x1> 0x<x2> 0x<x3>
 *        guest: features 0x<x0> 0x<x1> 0x<x2> 0x<x3>
 *        guest: meminfo <granule>
 *   2. MEM_SHARE of SHARE_IPA before anything backs it (the core exits for
 *      demand paging and the HVC is retried), then the pattern written into
 *      it, then checkpoint 1 (a 4-byte write of 1 to SHARE_CHECKPOINT): the
 *      VMM reads the pattern through the host's stage 2 and writes
 *      HOST_REPLY into the page's last word:
 *        guest: share -> <x0>, again -> <x0>
 *        guest: host wrote 0x<word>
 *   3. MEM_UNSHARE, twice, then checkpoint 2: a host read of the page must
 *      abort; the guest's page is still whole:
 *        guest: unshare -> <x0>, again -> <x0>
 *        guest: page intact after unshare
 *   4. the pattern written into RELQ_IPA, MEM_RELINQUISH of it, checkpoint 3
 *      (the VMM reclaims the page and checks it reads zero), then the guest
 *      reads RELQ_IPA again (demand-paged anew, zero):
 *        guest: relinquish -> <x0>, again -> <x0>
 *        guest: relinquished IPA reads 0x<word>
 *   5. hostile calls: MEM_SHARE of an unaligned IPA, of the UART (MMIO), of
 *      IPA 0, MEM_UNSHARE of a page never shared, MEM_RELINQUISH with x2 set,
 *      MMIO_GUARD of the UART and of RAM, and reserved function 5:
 *        guest: hostile <x0> x 8
 *        guest: share done
 * SYSTEM_OFF at the end.
 */
#include "guest.h"

#define KVM_CALL_UID 0x8600ff01UL
#define KVM_FN_FEATURES 0x86000000UL
#define KVM_FN_HYP_MEMINFO 0xc6000002UL
#define KVM_FN_MEM_SHARE 0xc6000003UL
#define KVM_FN_MEM_UNSHARE 0xc6000004UL
#define KVM_FN_MMIO_GUARD 0xc6000007UL
#define KVM_FN_MEM_RELINQUISH 0xc6000009UL
#define KVM_FN_RESERVED_5 0xc6000005UL

#define SHARE_IPA (MOAT_GUEST_RAM_BASE + 0x200000UL)
#define RELQ_IPA (MOAT_GUEST_RAM_BASE + 0x201000UL)
#define NEVER_IPA (MOAT_GUEST_RAM_BASE + 0x202000UL)
#define SHARE_CHECKPOINT 0x0a000040UL
#define SHARE_MASK 0x5a4152454d4f4154UL /* the pattern: ipa ^ mask ^ word index */
#define UART 0x09000000UL
#define WORDS 512

static long call1(uint64_t fid, uint64_t a1)
{
	return hvc_call(fid, a1, 0, 0).status;
}

static void fill(uint64_t ipa)
{
	volatile uint64_t *p = (volatile uint64_t *)ipa;

	for (unsigned int i = 0; i < WORDS; i++) {
		p[i] = ipa ^ SHARE_MASK ^ i;
	}
}

/* Words of the pattern intact, up to (not including) `upto`. */
static bool intact(uint64_t ipa, unsigned int upto)
{
	volatile uint64_t *p = (volatile uint64_t *)ipa;

	for (unsigned int i = 0; i < upto; i++) {
		if (p[i] != (ipa ^ SHARE_MASK ^ i)) {
			printf("guest: word %u of 0x%lx is 0x%lx\n", i, ipa, p[i]);
			return false;
		}
	}
	return true;
}

void guest_main(uint64_t x0)
{
	struct moat_result r;
	long a, b;

	r = hvc_call(KVM_CALL_UID, 0, 0, 0);
	printf("guest: uid 0x%lx 0x%lx 0x%lx 0x%lx\n", (uint64_t)r.status, r.r1, r.r2, r.r3);
	r = hvc_call(KVM_FN_FEATURES, 0, 0, 0);
	printf("guest: features 0x%lx 0x%lx 0x%lx 0x%lx\n", (uint64_t)r.status, r.r1, r.r2, r.r3);
	printf("guest: meminfo %ld\n", hvc_call(KVM_FN_HYP_MEMINFO, 0, 0, 0).status);

	a = call1(KVM_FN_MEM_SHARE, SHARE_IPA);
	b = call1(KVM_FN_MEM_SHARE, SHARE_IPA);
	printf("guest: share -> %ld, again -> %ld\n", a, b);
	fill(SHARE_IPA);
	mmio_write32(SHARE_CHECKPOINT, 1);
	printf("guest: host wrote 0x%lx\n", ((volatile uint64_t *)SHARE_IPA)[WORDS - 1]);

	a = call1(KVM_FN_MEM_UNSHARE, SHARE_IPA);
	b = call1(KVM_FN_MEM_UNSHARE, SHARE_IPA);
	printf("guest: unshare -> %ld, again -> %ld\n", a, b);
	mmio_write32(SHARE_CHECKPOINT, 2);
	if (intact(SHARE_IPA, WORDS - 1)) {
		printf("guest: page intact after unshare\n");
	}

	fill(RELQ_IPA);
	a = call1(KVM_FN_MEM_RELINQUISH, RELQ_IPA);
	b = call1(KVM_FN_MEM_RELINQUISH, RELQ_IPA);
	printf("guest: relinquish -> %ld, again -> %ld\n", a, b);
	mmio_write32(SHARE_CHECKPOINT, 3);
	printf("guest: relinquished IPA reads 0x%lx\n", *(volatile uint64_t *)(RELQ_IPA + 8));

	printf("guest: hostile %ld %ld %ld %ld %ld %ld %ld %ld\n", call1(KVM_FN_MEM_SHARE, SHARE_IPA + 8),
	       call1(KVM_FN_MEM_SHARE, UART), call1(KVM_FN_MEM_SHARE, 0), call1(KVM_FN_MEM_UNSHARE, NEVER_IPA),
	       hvc_call(KVM_FN_MEM_RELINQUISH, SHARE_IPA, 1, 0).status, call1(KVM_FN_MMIO_GUARD, UART),
	       call1(KVM_FN_MMIO_GUARD, SHARE_IPA), call1(KVM_FN_RESERVED_5, SHARE_IPA));
	printf("guest: share done\n");
}
