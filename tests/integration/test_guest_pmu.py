"""The PMU of normal VMs (issue 11, Deliver 8; core/guest_pmu.c, host/testhost/tests/pmu_normal.c).

A normal guest sees PMUVer (the CPU's, capped at PMUv3p4) and counts its own
cycles, CPU_CYCLES events and software increments exactly, with the EL2
filter bit it writes masked; the host's counters are untouched by it. Its
counter overflows raise its virtual PPI 23 (level-sensitive, following
PMOVSSET & PMINTENSET & PMCR.E) exactly once each, and never reach the host,
which has the physical PPI 23 enabled as a Linux host would. Its EL0 reaches
the counters as its PMUSERENR_EL0 allows. A protected guest sees PMUVer 0,
RAZ/WI and no PPI 23.
"""

from __future__ import annotations

import pytest

CPUS = ["cortex-a72", "max"]
PMUVER = {"cortex-a72": 1, "max": 5}  # max has PMUv3p5: capped at PMUv3p4 for guests
NORMAL_IRQ_LINES = [
    # cycle counter (PMCR.LC) from 2^64 - 10000: one interrupt, INTID 23, PMOVSSET.C, cleared
    "guest: pmu irq cycles n=1 intid=23 ovs=0x80000000 left=0x0 wrapped=1",
    # SW_INCR counter from 2^32 - 3: nothing after two PMSWINC, exactly one right after the third
    "guest: pmu irq swinc before=0 after=1 n=1 ovs=0x1 left=0x0 cnt=0",
    # EOI with the overflow still set: the level-sensitive line brings it once more
    "guest: pmu irq level n=2 left=0x0",
    # PMCR.E = 0 holds the line low; E = 1 raises it
    "guest: pmu irq gate off=0 on=1",
    "guest: pmu irq other=0",
    # EL0 as the guest's PMUSERENR_EL0 allows; otherwise a trap to the guest's own EL1
    "guest: pmu el0 off read trapped EC 0x18",
    "guest: pmu el0 er swinc trapped EC 0x18 read ok 41",
    "guest: pmu el0 en swinc ok read ok 42",
    "guest: pmu pmuserenr 0x8 0x1",
]


@pytest.mark.parametrize("cpu", CPUS)
def test_normal_guest_counts(boot, cpu):
    b = boot(test="vm_pmu_normal", cpu=cpu)
    assert b.passed("vm_pmu_normal"), f"{b.failures('vm_pmu_normal')}\n{b.describe()}"
    assert f"guest: pmu PMUVer {PMUVER[cpu]}" in b.lines, b.describe()
    assert "guest: pmu filters NSH 0 0 0" in b.lines, b.describe()
    assert "guest: pmu counts cycles 1 cpu_cycles 1 swinc 7" in b.lines, b.describe()
    for line in NORMAL_IRQ_LINES:
        assert line in b.lines, f"missing {line!r}\n{b.describe()}"
    assert "pmu_normal: host after: cnt1 1000 sel 2 en 0x2 typ1 0x0 inten 0x2" in b.lines, b.describe()
    assert "pmu_normal: irq exits 0 ppi23 pending 0" in b.lines, b.describe()
    # The guest's PMU accesses are its own, not refusals.
    assert not [line for line in b.core_lines if "PMCR_EL0" in line or "RAZ/WI" in line], b.describe()


@pytest.mark.parametrize("cpu", CPUS)
def test_protected_guest_has_no_pmu(boot, cpu):
    b = boot(test="vm_pmu_protected", cpu=cpu)
    assert b.passed("vm_pmu_protected"), f"{b.failures('vm_pmu_protected')}\n{b.describe()}"
    assert "guest: pmu PMUVer 0" in b.lines, b.describe()
    assert "guest: pmu reads 0x0 0x0" in b.lines, b.describe()
    assert "guest: pmu irq none n=0 other=0" in b.lines, b.describe()
    assert "pmu_protected: irq exits 0 ppi23 pending 0" in b.lines, b.describe()
    assert [line for line in b.core_lines if "MSR PMCR_EL0 (S3_3_C9_C12_0): read as zero, writes ignored (RAZ/WI)"
            in line], b.describe()
