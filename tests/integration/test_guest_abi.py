"""The guest ABI (docs/ABI.md "Guest ABI") end to end: guest/share under the
test host's VMM (host/testhost/tests/guest_abi.c).

The guest's own lines carry the discovery values (KVM call UID, feature
bitmap, HYP_MEMINFO) and every call's SMCCC result, checked exactly; the
test host's report lines say what the host saw of the shared, unshared and
relinquished pages.
"""

from __future__ import annotations

import pytest

SHARE = [
    # KVM UID 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 as Linux's kvm_guest.c compares it.
    "guest: uid 0xb66fb428 0xe911c52e 0x564bcaa9 0x743a004d",
    # Bits 0 (FEATURES), 2 (HYP_MEMINFO), 3 (MEM_SHARE), 4 (MEM_UNSHARE), 7 (MMIO_GUARD), 9 (MEM_RELINQUISH).
    "guest: features 0x29d 0x0 0x0 0x0",
    "guest: meminfo 4096",
    "guest: share -> 0, again -> -3",
    "guest: host wrote 0x686f73747265706c",
    "guest: unshare -> 0, again -> -3",
    "guest: page intact after unshare",
    "guest: relinquish -> 0, again -> 0",
    "guest: relinquished IPA reads 0x0",
    # unaligned, MMIO, IPA 0, never shared, x2 set, MMIO_GUARD of the UART (accepted), of RAM, reserved fn 5
    "guest: hostile -3 -3 -3 -3 -3 0 -3 -1",
    "guest: share done",
]


def test_guest_share(boot):
    b = boot(test="guest_share")
    assert b.passed("guest_share"), f"{b.failures('guest_share')}\n{b.describe()}"
    assert b.lines_starting("guest: ") == SHARE, b.describe()
    assert "share: host read 512 of 512 words of the shared page as the guest wrote them" in b.lines
    # ABI 1.2: the unshare first asks the host (still readable, GUEST_SHARED refuses it: -4 PERM).
    assert "share: UNSHARE exit for IPA 0x40200000: host read ok, word 0 intact, GUEST_SHARED -> -4" in b.lines
    assert "share: host read after unshare: aborted, ESR_EL1 EC 0x25" in b.lines
    assert "share: RECLAIM of the relinquished page -> 0" in b.lines
    assert "share: relinquished page: 512 of 512 words zero" in b.lines


MMIOGUARD = [
    # MMIO_GUARD outside the window, of RAM, unaligned, x2 set: INVALID_PARAMETER, nothing opted in
    "guest: refused -3 -3 -3 -3",
    "guest: guard uart -> 0",
    # EC 0x25 (data abort, same EL), IL, WnR as the access, FSC 0x10 (synchronous external abort);
    # FAR the address the guest used (MMU off: the IPA)
    "guest: unguarded write: ESR_EL1=0x96000050 FAR_EL1=0xa000040",
    "guest: unguarded read: ESR_EL1=0x96000010 FAR_EL1=0xa001008",
    "guest: unguarded ldp: ESR_EL1=0x96000010 FAR_EL1=0xa001010",
    "guest: guard checkpoint -> 0, again -> 0",
    "guest: mmioguard done",
]


def test_guest_mmioguard(boot):
    """MMIO_GUARD enforced once the protected guest opted in: unguarded pages abort in the guest and
    never reach the host; guarded ones do; before the first call everything does."""
    b = boot(test="guest_mmioguard")
    assert b.passed("guest_mmioguard"), f"{b.failures('guest_mmioguard')}\n{b.describe()}"
    assert b.lines_starting("guest: ") == MMIOGUARD, b.describe()
    assert "mmioguard: 3 checkpoints, 0 unexpected MMIO exits, 0 guest-fault exits" in b.lines, b.describe()
    log = "\n".join(b.lines)
    assert "vcpu0: first MMIO_GUARD (IPA page 0x9000000): unguarded MMIO is refused from now on" in log, b.describe()
    for page in ["0xa000000", "0xa001000"]:
        assert f"vcpu0: MMIO access to unguarded IPA page {page}: external abort injected" in log, b.describe()


SMP = [
    "guest: cpu_on -> 0, again -> -5, affinity 2",  # SUCCESS, ON_PENDING, AFFINITY_INFO ON_PENDING
    "guest: vcpu1 up: mpidr 0x80000001, context ok, cpu_on(0) -> -4, affinity(0) 0",  # ALREADY_ON, ON
    "guest: vcpu1 off: affinity 1; cpu_on(2) -> -2, entry 0x2 -> -9, level 1 -> -2",
    "guest: smp done",
]


@pytest.mark.parametrize("name", ["guest_smp", "guest_smp_normal"])
def test_guest_smp(boot, name):
    b = boot(test=name)
    assert b.passed(name), f"{b.failures(name)}\n{b.describe()}"
    assert b.lines_starting("guest: ") == SMP, b.describe()
    assert "smp: VCPU_RUN of vCPU 1 before its CPU_ON -> exit 9" in b.lines  # MOAT_EXIT_VCPU_OFF
    assert any(line.startswith("smp: 1 VCPU_ON exits (vCPU 1), 1 VCPU_OFF exits, ") for line in b.lines), \
        b.describe()
