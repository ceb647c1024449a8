"""The test host on its own, without moat: QEMU enters build/testhost.elf at
EL1 (no EL2), so these runs check the test host's own machinery (start-up,
DTB discovery, markers, fault probes from EL1 and EL0, PSCI) and tell a test
host bug apart from a core bug.
"""

from __future__ import annotations

import re

import pytest

from moat_qemu import PAGE_SIZE, parse_dtb_info, parse_own_ram, parse_size

STANDALONE = dict(kernel="build/testhost.elf", host=False, virtualization=False)


def test_list_and_unknown(boot):
    b = boot(test="list", **STANDALONE)
    names = [line.split(": ", 1)[1] for line in b.lines_starting("TEST-LIST: ")]
    for name in ("own_ram", "core_read", "core_write", "core_exec", "core_read_el0", "fw_cfg",
                 "dtb_info", "psci", "hvc_version", "demo", "probe_selftest", "reserved_all",
                 "panic_selftest", "boot_protocol"):
        assert name in names, b.describe()
    b = boot(test="no_such_test", **STANDALONE)
    assert b.failures("no_such_test") == ["no such test; the test host has:"], b.describe()
    assert b.returncode == 0


def test_probe_selftest(boot):
    b = boot(test="probe_selftest", **STANDALONE)
    assert b.passed("probe_selftest"), b.describe()


@pytest.mark.parametrize("smp", [1, 2])
def test_psci_standalone(boot, smp):
    b = boot(test="psci", smp=smp, **STANDALONE)
    assert b.passed("psci"), b.describe()
    if smp == 2:
        assert "psci: CPU_ON(mpidr 0x1) started the CPU; it turned itself off again" in b.lines


def test_dtb_info_standalone(boot):
    b = boot(test="dtb_info", mem="512M", smp=2, append="extra=1", **STANDALONE)
    assert b.passed("dtb_info"), b.describe()
    info = parse_dtb_info(b)
    assert info.mem == [(0x40000000, 512 << 20)]
    assert info.cpus == 2
    assert info.bootargs == "test=dtb_info extra=1"
    assert info.source == "by-scan"


def test_own_ram_standalone(boot):
    b = boot(test="own_ram", mem="256M", **STANDALONE)
    assert b.passed("own_ram"), b.describe()
    r = parse_own_ram(b)
    assert r and (r.checked + r.skipped) * PAGE_SIZE == parse_size("256M")


def test_check_failure_is_reported(boot):
    """Without moat nothing refuses the host: core_read must fail, loudly and cleanly."""
    b = boot(test="core_read", **STANDALONE)
    assert not b.passed("core_read")
    assert b.failures("core_read"), b.describe()
    assert b.lines_starting("TEST-END: core_read")


def test_unexpected_exception_panics(boot):
    b = boot(test="panic_selftest", **STANDALONE)
    panic = b.lines_starting("TESTHOST-PANIC: ")
    assert panic, b.describe()
    # EC 0 (unknown reason) taken from EL1h at VBAR_EL1 + 0x200
    assert re.match(r"TESTHOST-PANIC: vector 0x200 ESR=0x2000000 FAR=0x[0-9a-f]+ ELR=0x[0-9a-f]+",
                    panic[0]), panic
    assert b.failures("panic_selftest") == ["test host panicked"]
    assert b.returncode == 0, "the panic did not power the machine off"
