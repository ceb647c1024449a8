"""The attack suite: the test host as a malicious host (DESIGN §15).

The test host's `attacks` test (host/testhost/tests/attacks.c) runs every
attack in one boot and prints one line per attack,

    ATTACK-PASS: <name> (<what>, got <code>)
    ATTACK-FAIL: <name>: <reason>

then "attacks: N run, M refused, V invariant violations". Here each attack
is its own test (the boot happens once per module and worker and is shared),
so a failure names the attack; an attack without a line fails too. The
`canary*` tests scan all RAM for a protected guest's secret (attack_canary.c).
"""

from __future__ import annotations

import re

import pytest

from moat_qemu import PAGE_SIZE, core_boots, core_reset_scrubs

# Every attack and the result docs/ABI.md prescribes (keep in step with the table in attacks.c).
ATTACKS = {
    "unknown_function": "MOAT_E_NOT_SUPPORTED",
    "function_past_table": "MOAT_E_NOT_SUPPORTED",
    "other_smccc_owner": "MOAT_E_NOT_SUPPORTED",
    "function_id_upper_bits": "MOAT_E_NOT_SUPPORTED",
    "hvc_immediate_1": "MOAT_E_NOT_SUPPORTED",
    "hvc_immediate_ffff": "MOAT_E_NOT_SUPPORTED",
    "moat_call_via_smc": "MOAT_E_NOT_SUPPORTED",
    "reserved_argument": "MOAT_E_INVAL",
    "reserved_argument_x6": "MOAT_E_INVAL",
    "destroy_reserved_argument": "MOAT_E_INVAL",
    "stats_bad_selector": "MOAT_E_RANGE",
    "stale_handle": "MOAT_E_STALE",
    "destroy_twice": "MOAT_E_STALE",
    "wrong_generation": "MOAT_E_STALE",
    "never_used_slot": "MOAT_E_NOENT",
    "slot_beyond_table": "MOAT_E_NOENT",
    "handle_upper_bits": "MOAT_E_NOENT",
    "vm_create_bad_type": "MOAT_E_INVAL",
    "vm_create_too_many_vcpus": "MOAT_E_RANGE",
    "vm_create_zero_vcpus": "MOAT_E_RANGE",
    "vm_create_unaligned_root": "MOAT_E_ALIGN",
    "vm_create_core_root": "MOAT_E_PERM",
    "vm_create_root_outside_ram": "MOAT_E_RANGE",
    "vm_create_root_mmio": "MOAT_E_RANGE",
    "vm_create_root_in_use": "MOAT_E_PERM",
    "vm_create_mmio_overlaps_ram": "MOAT_E_RANGE",
    "vm_create_mmio_beyond_ipa": "MOAT_E_RANGE",
    "vm_create_ram_zero": "MOAT_E_RANGE",
    "vm_create_ram_unaligned": "MOAT_E_ALIGN",
    "vm_create_ram_too_big": "MOAT_E_RANGE",
    "vcpu_create_index_out_of_range": "MOAT_E_RANGE",
    "vcpu_create_twice": "MOAT_E_EXIST",
    "vcpu_create_unshared_run_page": "MOAT_E_PERM",
    "vcpu_create_core_run_page": "MOAT_E_PERM",
    "vcpu_create_run_page_in_use": "MOAT_E_BUSY",
    "vcpu_create_other_vms_run_page": "MOAT_E_BUSY",
    "vcpu_create_unaligned_run_page": "MOAT_E_ALIGN",
    "vcpu_create_after_finalize": "MOAT_E_STATE",
    "vcpu_create_memcache_empty": "MOAT_E_NOMEM",
    "irq_line_unlisted_spi": "MOAT_E_PERM",
    "irq_line_sgi": "MOAT_E_PERM",
    "irq_line_timer_ppi": "MOAT_E_PERM",
    "irq_line_bad_level": "MOAT_E_INVAL",
    "set_spis_after_finalize": "MOAT_E_STATE",
    "donate_core_page": "MOAT_E_PERM",
    "donate_same_page_twice": "MOAT_E_PERM",
    "donate_page_to_second_vm": "MOAT_E_PERM",
    "donate_unaligned_pa": "MOAT_E_ALIGN",
    "donate_unaligned_ipa": "MOAT_E_ALIGN",
    "donate_outside_ram": "MOAT_E_RANGE",
    "donate_mmio": "MOAT_E_RANGE",
    "donate_ipa_beyond_ram": "MOAT_E_RANGE",
    "donate_ipa_below_ram": "MOAT_E_RANGE",
    "donate_ipa_in_mmio_window": "MOAT_E_RANGE",
    "donate_mapped_ipa": "MOAT_E_EXIST",
    "donate_run_page": "MOAT_E_PERM",
    "donate_memcache_page": "MOAT_E_PERM",
    "donate_memcache_empty": "MOAT_E_NOMEM",
    "donate_to_off_vm": "MOAT_E_STATE",
    "load_after_finalize": "MOAT_E_STATE",
    "share_vm_protected": "MOAT_E_PERM",
    "guest_shared_private_page": "MOAT_E_PERM",
    "guest_shared_outside_ram": "MOAT_E_RANGE",
    "donate_page_shared_with_vm": "MOAT_E_PERM",
    "donate_pending_scrub": "MOAT_E_PERM",
    "set_boot_outside_ram": "MOAT_E_RANGE",
    "set_boot_at_ram_end": "MOAT_E_RANGE",
    "set_boot_unaligned": "MOAT_E_ALIGN",
    "set_boot_after_finalize": "MOAT_E_STATE",
    "finalize_without_set_boot": "MOAT_E_STATE",
    "finalize_without_vcpu0": "MOAT_E_STATE",
    "finalize_twice": "MOAT_E_STATE",
    "run_before_finalize": "MOAT_E_STATE",
    "run_vcpu_index_out_of_range": "MOAT_E_RANGE",
    "run_vcpu_not_created": "MOAT_E_NOENT",
    "run_after_system_off": "MOAT_E_STATE",
    "load_below_previous": "MOAT_E_ORDER",
    "measurement_before_finalize": "MOAT_E_STATE",
    "measurement_bad_word": "MOAT_E_RANGE",
    "get_reg_protected": "MOAT_E_PERM",
    "set_reg_protected": "MOAT_E_PERM",
    "set_reg_pstate_el2h": "MOAT_E_INVAL",
    "get_reg_bad_register": "MOAT_E_RANGE",
    "get_reg_bad_vcpu": "MOAT_E_RANGE",
    "donate_core_zero_pages": "MOAT_E_RANGE",
    "donate_core_too_many_pages": "MOAT_E_RANGE",
    "donate_core_unaligned": "MOAT_E_ALIGN",
    "donate_core_core_page": "MOAT_E_PERM",
    "donate_core_outside_ram": "MOAT_E_RANGE",
    "donate_core_straddling_core": "MOAT_E_PERM",
    "share_core_twice": "MOAT_E_EXIST",
    "share_core_core_page": "MOAT_E_PERM",
    "share_core_vm_page": "MOAT_E_PERM",
    "share_core_page_lent_to_vm": "MOAT_E_PERM",
    "share_core_outside_ram": "MOAT_E_RANGE",
    "share_core_unaligned": "MOAT_E_ALIGN",
    "unshare_attached_run_page": "MOAT_E_BUSY",
    "unshare_not_shared": "MOAT_E_PERM",
    "reclaim_host_page": "MOAT_E_PERM",
    "reclaim_live_vm_page": "MOAT_E_BUSY",
    "reclaim_live_memcache_page": "MOAT_E_BUSY",
    "reclaim_live_root": "MOAT_E_BUSY",
    "reclaim_core_page": "MOAT_E_PERM",
    "reclaim_run_page": "MOAT_E_PERM",
    "reclaim_unaligned": "MOAT_E_ALIGN",
    "reclaim_outside_ram": "MOAT_E_RANGE",
    "host_read_vm_page": "synchronous external abort",
    "host_write_vm_page": "synchronous external abort",
    "host_read_donated_page": "synchronous external abort",
    "host_read_memcache_page": "synchronous external abort",
    "host_read_pending_scrub": "synchronous external abort",
    "host_exec_xn_device": "synchronous external abort",
    "exhaust_vm_table": "MOAT_E_NOMEM",
    # Two errors at once: docs/ABI.md's check order says which wins (the core disagrees, see attacks.c).
    "check_order_vm_create_table_full": "MOAT_E_ALIGN",
    "check_order_donate_vm": "MOAT_E_RANGE",
    "check_order_donate_core": "MOAT_E_RANGE",
    # Host SMP (core/cpu_power.c): a CPU may only be started at an address the host owns.
    "cpu_on_into_core": "PSCI -9 INVALID_ADDRESS",
}

# Host accesses to memory it gave away: (access word in the core's log, owner named in the ATTACK line).
HOST_ACCESS_ATTACKS = {
    "host_read_vm_page": "read",
    "host_write_vm_page": "write",
    "host_read_donated_page": "read",
    "host_read_memcache_page": "read",
    "host_read_pending_scrub": "write",
}

ATTACK_RE = re.compile(r"^ATTACK-(PASS|FAIL): (\w+)(?:: (.*)| \((.*), got (.*)\))$")


@pytest.fixture(scope="module")
def _attack_boots():
    return {}


@pytest.fixture
def attack_run(boot, _attack_boots):
    """The `attacks` boot, run once per module (and xdist worker) through conftest's boot()."""
    if "run" not in _attack_boots:
        b = boot(test="attacks")
        lines = {}
        for line in b.lines:
            m = ATTACK_RE.match(line)
            if m:
                lines.setdefault(m.group(2), []).append(m)
        _attack_boots["run"] = (b, lines)
    return _attack_boots["run"]


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack(attack_run, name):
    b, lines = attack_run
    found = lines.get(name)
    assert found, f"no ATTACK line for {name!r}: the suite did not get that far\n{b.describe()}"
    assert len(found) == 1, f"{len(found)} lines for {name!r}"
    m = found[0]
    assert m.group(1) == "PASS", f"{name}: {m.group(3)}"
    got = m.group(5)
    assert ATTACKS[name] in got, f"{name}: refused with {got}, docs/ABI.md says {ATTACKS[name]}"


def test_attack_lines_match_the_list(attack_run):
    """No attack in the C table is missing from ATTACKS here (it would go untested by name)."""
    b, lines = attack_run
    assert set(lines) == set(ATTACKS), f"only in the C suite: {set(lines) - set(ATTACKS)}"


def test_summary(attack_run):
    b, _ = attack_run
    m = [re.match(r"^attacks: (\d+) run, (\d+) refused, (\d+) invariant violations$", line) for line in b.lines]
    m = [x for x in m if x]
    assert len(m) == 1, b.describe()
    run, refused, violations = (int(x) for x in m[0].groups())
    assert run >= 30
    assert run == len(ATTACKS)
    assert refused == run
    assert violations == 0
    # After the attacks the victim VM still ran its guest, and teardown left STATS as they were.
    assert "attacks: the attacked VM ran its guest to SYSTEM_OFF" in b.lines
    assert b.passed("attacks"), f"{b.failures('attacks')}\n{b.describe()}"


def core_abort_lines(b, page: int, owner: str, access: str) -> list[str]:
    """CORE-LOG-FORMAT (core/host_fault.c): "host <access> of PA .. (page <page>, owner <owner>) ..."."""
    return [line for line in b.core_lines
            if f"host {access} of PA" in line and f"page {page:#x}," in line and re.search(rf"\bowner {owner}\b", line)]


@pytest.mark.parametrize("name", list(HOST_ACCESS_ATTACKS))
def test_host_access_logged(attack_run, name):
    """The core logs the refused access, naming the page and its owner (DESIGN §4)."""
    b, lines = attack_run
    assert name in lines, b.describe()
    m = re.search(r"page (0x[0-9a-f]+) owner (vm\d+|core|none)", lines[name][0].group(0))
    assert m, lines[name][0].group(0)
    page = int(m.group(1), 16) & ~(PAGE_SIZE - 1)
    owner = m.group(2)
    assert core_abort_lines(b, page, owner, HOST_ACCESS_ATTACKS[name]), \
        f"no moat: line names page {page:#x} owner {owner}\n{b.describe()}"
    if name in ("host_read_vm_page", "host_write_vm_page"):
        assert owner.startswith("vm")


# ---------------------------------------------------------------- secret canary

SCAN_RE = r"^canary: ([^:]+): (\d+) pages scanned, (\d+) refused, (\d+) hits \(\d+ ms\)$"
SUMMARY_RE = r"^canary: (\d+) pages scanned, (\d+) refused, (\d+) hits$"


def scans(b):
    return [(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)))
            for m in (re.match(SCAN_RE, line) for line in b.lines) if m]


def canary_summary(b):
    m = [x for x in (re.match(SUMMARY_RE, line) for line in b.lines) if x]
    assert len(m) == 1, b.describe()
    return tuple(int(x) for x in m[0].groups())


def test_canary(boot):
    b = boot(test="canary", mem="256M")
    assert b.passed("canary"), f"{b.failures('canary')}\n{b.describe()}"
    assert b.lines_starting("guest: ") == ["guest: canary ready", "guest: canary intact"]
    s = scans(b)
    assert [x[0] for x in s] == ["guest running", "after destroy and reclaim"], b.describe()
    (_, _, refused_live, _), (_, _, refused_after, _) = s
    assert refused_live >= refused_after + 64  # the guest's 64 canary pages at least
    scanned, refused, hits = canary_summary(b)
    assert scanned > 0 and refused > 0 and hits == 0
    assert all(x[3] == 0 for x in s)


def test_canary_after_destroy(boot):
    b = boot(test="canary_after_destroy", mem="256M")
    assert b.passed("canary_after_destroy"), f"{b.failures('canary_after_destroy')}\n{b.describe()}"
    assert b.lines_starting("guest: ") == ["guest: canary ready"]  # never resumed: destroyed with the secret live
    s = scans(b)
    assert [x[0] for x in s] == ["destroyed, pages pending scrub", "after reclaim"], b.describe()
    assert s[0][2] >= s[1][2] + 64
    scanned, refused, hits = canary_summary(b)
    assert scanned > 0 and refused > 0 and hits == 0


def test_canary_positive_control(boot):
    """A normal VM whose RAM is shared with the host: the same scan must find the secret."""
    b = boot(test="canary_shared", mem="256M")
    assert b.passed("canary_shared"), f"{b.failures('canary_shared')}\n{b.describe()}"
    s = scans(b)
    assert len(s) == 1 and s[0][3] >= 64 * 64, b.describe()


# ---------------------------------------------------------------- reset attack
# host/testhost/tests/reset_attack.c: without -no-reboot, the first boot lets a protected guest fill
# 64 pages with its secret and asks for a reset; QEMU keeps RAM and restarts with the same bootargs,
# and the second boot of the same test scans all RAM for the secret. One QEMU run, two boots.

RESET_VARIANTS = ["live", "stopped", "pending_scrub", "reset2"]


def reset_attack(boot, variant):
    name = f"reset_attack_{variant}"
    b = boot(test=name, mem="256M", reboot=True, timeout=120)
    starts = [m for m in b.markers if m.kind == "START" and m.name == name]
    assert len(starts) == 2 and core_boots(b) == 2, f"not two boots of {name}\n{b.describe()}"
    assert b.passed(name), f"{b.failures(name)}\n{b.describe()}"
    first, second = b.output.split(f"TEST-START: {name}\n", 2)[1:]
    assert "TEST-PASS" not in first, "the first boot must end in the reset, not pass"

    # The secret pages and the marker lay outside everything QEMU rewrites at reset (checked in C too).
    rewritten = [(int(m.group(2), 16), int(m.group(3), 16)) for m in
                 re.finditer(r"^reset: QEMU rewrites at reset: (.+) (0x[0-9a-f]+)-(0x[0-9a-f]+)$", first, re.M)]
    lo, hi = (int(x, 16) for x in re.search(r"^reset: secret pages from (0x[0-9a-f]+) to (0x[0-9a-f]+)$",
                                            first, re.M).groups())
    assert rewritten and hi - lo >= (64 - 1) * PAGE_SIZE
    assert all(hi + PAGE_SIZE <= base or lo >= end for base, end in rewritten), (hex(lo), hex(hi), rewritten)

    # The core scrubbed once, exactly the pages the VMM had given the VM (the 64 secret pages among them).
    expected = int(re.search(r"^reset: marker at 0x[0-9a-f]+; asking for SYSTEM_RESET2? with (\d+) pages "
                             r"given to the VM$", first, re.M).group(1))
    assert core_reset_scrubs(b) == [expected], b.describe()
    assert expected >= 64

    # After the reboot: every secret page is the host's and zero, the control page survived, 0 hits anywhere.
    assert "reset: 64 of 64 secret pages readable by the new host, 64 of them all zero" in second, b.describe()
    assert re.search(r"^reset: control page 0x[0-9a-f]+ holds 64 copies of the control secret$", second, re.M)
    after = [s for s in scans(b) if s[0] == "after reset"]
    assert len(after) == 1 and after[0][1] > 0 and after[0][3] == 0, b.describe()
    return b, first, second


def test_reset_attack_live(boot):
    """The VM still exists and owns its pages (its guest ran to SYSTEM_OFF) when the host resets."""
    b, first, _ = reset_attack(boot, "live")
    assert "guest: canary intact" in first


def test_reset_attack_stopped(boot):
    """The guest stopped at an MMIO exit, never resumed: the reset comes before the next VCPU_RUN."""
    b, first, _ = reset_attack(boot, "stopped")
    assert "guest: canary ready" in first and "guest: canary intact" not in first


def test_reset_attack_pending_scrub(boot):
    """The VM destroyed, its pages pending scrub (not reclaimed) when the host resets."""
    b, first, _ = reset_attack(boot, "pending_scrub")
    pending = [s for s in scans(b) if s[0] == "destroyed, pages pending scrub"]
    assert len(pending) == 1 and pending[0][2] >= 64 and pending[0][3] == 0


def test_reset_attack_reset2(boot):
    """SYSTEM_RESET2 (PSCI 1.1). QEMU 7.2 lacks it (its PSCI_FEATURES says NOT_SUPPORTED), so the core
    refuses it before scrubbing: the guest resumes and finds its secret intact, then the host falls
    back to SYSTEM_RESET as Linux does. On a QEMU that has it, the warm reset goes through it."""
    b, first, _ = reset_attack(boot, "reset2")
    features = int(re.search(r"^reset: PSCI_FEATURES\(SYSTEM_RESET2\) = (-?\d+)$", first, re.M).group(1))
    if features < 0:
        assert "reset: SYSTEM_RESET2 refused (-1): the firmware lacks it, so the core does not forward it" in first
        assert "guest: canary intact" in first  # nothing was scrubbed by the refused call
        assert "host SYSTEM_RESET2 refused: the firmware does not implement it" in b.output
        assert re.search(r"asking for SYSTEM_RESET with", first)
    else:
        assert re.search(r"asking for SYSTEM_RESET2 with", first)
        assert "host requested SYSTEM_RESET2 (warm reset)" in first
