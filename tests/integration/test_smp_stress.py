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


def test_smp_double_donate(boot):
    """The same host page handed to the core from three CPUs at once: exactly one call wins, the others are
    refused (the page is no longer the host's), and the invariants hold after every round."""
    b = boot(test="smp_double_donate", smp=3, timeout=120)
    assert b.passed("smp_double_donate"), b.describe()
    rounds = re.findall(r"^smp double donate \d+: (.+) -> (-?\d+), (.+) -> (-?\d+), (.+) -> (-?\d+)$", b.output, re.M)
    assert len(rounds) == 24, b.describe()
    pairs = set()
    for rnd in rounds:
        names, codes = rnd[0::2], [int(c) for c in rnd[1::2]]
        assert sorted(codes)[-1] == 0 and codes.count(0) == 1, b.describe()
        assert all(c == -4 for c in codes if c), b.describe()  # PERM: the loser names a page the host no longer owns
        pairs |= {frozenset((x, y)) for x in names for y in names if x != y}
    assert len(pairs) == 15, pairs  # every op raced against every other
    assert "smp double donate: 24 of 24 rounds had exactly one winner, 0 violations" in b.lines, b.describe()
    assert not alarming(b.core_lines), b.describe()


def test_smp_irq_flood(boot):
    """CPUs 0..2 drive IRQ_LINE at a protected VM whose vCPU runs the bench guest on CPU 3: the guest finishes,
    every IRQ_LINE is answered OK, the core logs nothing alarming and the invariants hold."""
    b = boot(test="smp_irq_flood", smp=4, timeout=180)
    assert b.passed("smp_irq_flood"), b.describe()
    m = re.search(r"^smp irq flood: the guest on CPU 3: status 0, last exit 4, (\d+) MMIO exits, \d+ exits, (\d+) ms",
                  b.output, re.M)
    assert m and int(m.group(1)) >= 2000, b.describe()
    # A flooder stops at its first STATE: the guest powered off (IRQ_LINE needs a FINALIZED VM), or at the run's end.
    flooders = re.findall(r"^smp irq flood: CPU (\d): (\d+) IRQ_LINE calls, 0 not OK \(last 0\), stopped "
                          r"(?:at STATE \(guest off\)|when the run ended)$", b.output, re.M)
    assert len(flooders) == 3 and all(int(n) > 100 for _, n in flooders), b.describe()
    m = re.search(r"^smp irq flood: (\d+) IRQ_LINE calls from 3 CPUs while the guest ran; 0 violations$", b.output,
                  re.M)
    assert m and int(m.group(1)) >= 1000, b.describe()
    assert not alarming(b.core_lines), b.describe()
