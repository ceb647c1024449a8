"""The PMU of normal VMs (issue 11, Deliver 8; core/guest_pmu.c, host/testhost/tests/pmu_normal.c).

A normal guest sees PMUVer (the CPU's, capped at PMUv3p4) and counts its own
cycles, CPU_CYCLES events and software increments exactly, with the EL2
filter bit it writes masked; the host's counters are untouched by it. A
protected guest sees PMUVer 0 and RAZ/WI.
"""

from __future__ import annotations

import pytest

CPUS = ["cortex-a72", "max"]
PMUVER = {"cortex-a72": 1, "max": 5}  # max has PMUv3p5: capped at PMUv3p4 for guests


@pytest.mark.parametrize("cpu", CPUS)
def test_normal_guest_counts(boot, cpu):
    b = boot(test="vm_pmu_normal", cpu=cpu)
    assert b.passed("vm_pmu_normal"), f"{b.failures('vm_pmu_normal')}\n{b.describe()}"
    assert f"guest: pmu PMUVer {PMUVER[cpu]}" in b.lines, b.describe()
    assert "guest: pmu filters NSH 0 0 0" in b.lines, b.describe()
    assert "guest: pmu counts cycles 1 cpu_cycles 1 swinc 7" in b.lines, b.describe()
    assert "pmu_normal: host after: cnt1 1000 sel 2 en 0x2 typ1 0x0" in b.lines, b.describe()
    # The guest's PMU accesses are its own, not refusals.
    assert not [line for line in b.core_lines if "PMCR_EL0" in line or "RAZ/WI" in line], b.describe()


@pytest.mark.parametrize("cpu", CPUS)
def test_protected_guest_has_no_pmu(boot, cpu):
    b = boot(test="vm_pmu_protected", cpu=cpu)
    assert b.passed("vm_pmu_protected"), f"{b.failures('vm_pmu_protected')}\n{b.describe()}"
    assert "guest: pmu PMUVer 0" in b.lines, b.describe()
    assert "guest: pmu reads 0x0 0x0" in b.lines, b.describe()
    assert [line for line in b.core_lines if "MSR PMCR_EL0 (S3_3_C9_C12_0): read as zero, writes ignored (RAZ/WI)"
            in line], b.describe()
