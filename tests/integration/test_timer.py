"""The host's own timer while a guest runs (DESIGN §9; docs/architecture.md
"The host's timer while a guest runs"): the core keeps the host's CNTV
deadline on CNTHP (PPI 26) for the run, so a protected guest that spins with
interrupts masked and never traps cannot keep the host's CPU.

One test-host test per boot (host/testhost/tests/timer.c); the test host checks
the exit, its timing and the GIC state itself, here the report line is checked
again. Without the mechanism the spinning guest never exits and the boot hits
its timeout.
"""

from __future__ import annotations

import re

import pytest

RUN_RE = re.compile(r"^timer: VCPU_RUN status 0 exit (\d+) after \d+ exits; run started (-?\d+) ticks before the "
                    r"deadline, returned (-?\d+) ticks after it \(CNTFRQ (\d+)\)$")
MOAT_EXIT_IRQ = 7


def assert_passed(b, name):
    assert b.passed(name), f"test host test {name!r} did not pass: {b.failures(name)}\n{b.describe()}"


@pytest.mark.parametrize("name", ["host_timer_ends_spin", "host_timer_ends_hvc_spin"])
def test_host_timer_ends_spin(boot, name):
    """host_timer_ends_hvc_spin: the guest spins on HVC PSCI_VERSION, each one answered by the core's fast
    path (ERET straight from the EL2 vector): the host's deadline must end the run all the same."""
    b = boot(test=name, timeout=60)
    assert_passed(b, name)
    m = next(filter(None, (RUN_RE.match(line) for line in b.lines)), None)
    assert m, b.describe()
    exit_reason, before, after, frq = (int(x) for x in m.groups())
    assert exit_reason == MOAT_EXIT_IRQ
    assert before > 0 and 0 <= after < 2 * frq, m.group(0)


def test_host_timer_off_no_exit(boot):
    b = boot(test="host_timer_off_no_exit", timeout=60)
    assert_passed(b, "host_timer_off_no_exit")
    assert "timer: host CNTV disabled: " in b.output and ", 0 IRQ exits" in b.output, b.describe()
