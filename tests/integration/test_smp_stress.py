"""The core under concurrent host calls from several CPUs (host/testhost/tests/smp_stress.c, issue 11):
a random SMP stress with the invariant checker, and the SMP attacks (the same page donated from three CPUs,
an IRQ_LINE flood at a protected VM running on another CPU). The destroy-vs-run race is test_smp.py's
test_smp_destroy_race.
"""

from __future__ import annotations

import re
import time

# What a call may return when another CPU got there first (docs/ABI.md).
RACING = {-3, -4, -5, -6, -7, -8, -11}  # NOMEM PERM BUSY NOENT STALE STATE EXIST


def alarming(core_lines):
    return [l for l in core_lines if re.search(r"violation|panic|\bbug\b|corrupt|unexpected|unhandled", l, re.I)]


def test_smp_stress(boot):
    t0 = time.monotonic()
    b = boot(test="smp_stress", smp=4, timeout=240)
    wall = time.monotonic() - t0
    assert b.passed("smp_stress"), b.describe()
    m = re.search(r"^SMP stress: (\d+) operations, (\d+) violations$", b.output, re.M)
    assert m, b.describe()
    ops, violations = int(m.group(1)), int(m.group(2))
    print(f"SMP stress: {ops} operations, {violations} violations, boot took {wall:.1f} s")
    assert ops >= 100_000, b.describe()
    assert violations == 0, b.describe()
    assert "smp stress: 0 unexpected errors" in b.output, b.describe()
    cpus = re.findall(r"^smp stress: CPU (\d): (\d+) calls \((\d+) OK, (\d+) racing errors, (\d+) unexpected\), "
                      r"(\d+) VMs created, (\d+) finalized, (\d+) guests ran to SYSTEM_OFF, (\d+) destroyed, "
                      r"(\d+) foreign calls \((\d+) OK\)", b.output, re.M)
    assert len(cpus) == 4, b.describe()
    for cpu in cpus:
        calls, ok, racing, unexpected = map(int, cpu[1:5])
        assert calls == ok + racing + unexpected and unexpected == 0, b.describe()
        # Every CPU did real work: built, ran and destroyed guests, and reached into the other CPUs' VMs.
        assert int(cpu[5]) > 0 and int(cpu[7]) > 0 and int(cpu[8]) > 0 and int(cpu[10]) > 0, b.describe()
    assert "smp stress: clean-up: every page back, counters as before, 0 violations" in b.lines, b.describe()
    assert not alarming(b.core_lines), b.describe()
