"""The host's PMU counts neither the core (EL2) nor protected guests (DESIGN §6,
docs/architecture.md "PMU isolation").

One test-host test per boot (host/testhost/tests/pmu.c), on the baseline
cortex-a72 (PMUv3: the core traps the host's PMU registers and strips the EL2
filter bit), cortex-a76 (PMUv3p1: the same, HPMD alone would spare the cycle
counter) and `max` (PMUv3p5: MDCR_EL2.HPMD and HCCD). The test host checks the counters
itself; here the report lines are checked again.
"""

from __future__ import annotations

import re

import pytest

CPUS = ["cortex-a72", "cortex-a76", "max"]
DELTA_RE = re.compile(r"^pmu: (.+): cycle counter \+(\d+), event counter \+(\d+), elapsed (\d+) ns$")


def deltas(b):
    out = {}
    for line in b.lines:
        m = DELTA_RE.match(line)
        if m:
            out[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
    return out


def assert_passed(b, name):
    assert b.passed(name), f"test host test {name!r} did not pass: {b.failures(name)}\n{b.describe()}"


@pytest.mark.parametrize("cpu", CPUS)
def test_pmu_core(boot, cpu):
    b = boot(test="pmu_core", cpu=cpu)
    assert_passed(b, "pmu_core")
    d = deltas(b)
    cycles, ev0, ns = d["20 invariant-check calls"]
    assert cycles * 10 < ns and ev0 * 10 < ns, d
    cycles, ev0, ns = d["host loop at EL1"]
    assert cycles * 2 > ns, d


@pytest.mark.parametrize("cpu", CPUS)
def test_pmu_guest(boot, cpu):
    b = boot(test="pmu_guest", cpu=cpu)
    assert_passed(b, "pmu_guest")
    d = deltas(b)
    cycles, ev0, ns = d["protected guest, inside VCPU_RUN"]
    assert cycles * 10 < ns and ev0 * 10 < ns, d


@pytest.mark.parametrize("cpu", CPUS)
def test_pmu_regs(boot, cpu):
    b = boot(test="pmu_regs", cpu=cpu)
    assert_passed(b, "pmu_regs")
