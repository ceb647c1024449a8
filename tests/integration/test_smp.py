"""Host SMP under moat (core/cpu_power.c, host/testhost/tests/smp.c): the host's
secondary CPUs start through the core's vetted PSCI CPU_ON, enter at EL1 in
booting.rst state with their own MPIDR, make host calls and run guests; a
vCPU runs on one CPU at a time (BUSY), and a reset the core cannot make safe
is refused.
"""

from __future__ import annotations

import re

import pytest


PSCI_INVALID_PARAMS = -2
PSCI_DENIED = -3
PSCI_ALREADY_ON = -4
PSCI_INVALID_ADDRESS = -9
MOAT_E_BUSY = -5


def assert_passed(b, name):
    assert b.passed(name), f"test host test {name!r} did not pass: {b.failures(name)}\n{b.describe()}"


@pytest.mark.parametrize("smp", [2, 4, 8])  # 8 = MAX_CPUS
def test_smp_boot(boot, smp):
    b = boot(test="smp_boot", smp=smp)
    assert_passed(b, "smp_boot")
    checked = [l for l in b.lines if l.startswith("smp: CPU ") and " checked in: " in l]
    assert len(checked) == smp - 1, b.describe()
    for cpu, line in enumerate(checked, start=1):
        m = re.match(r"smp: CPU (\d+) checked in: MPIDR=(0x[0-9a-f]+) x0=(0x[0-9a-f]+) x1=0x0 x2=0x0 x3=0x0 "
                     r"DAIF=0x3c0 SCTLR_EL1=(0x[0-9a-f]+) SPSel=1 EL1 ICC_SRE_EL1=0x[0-9a-f]*[1357f]$", line)
        assert m, line
        assert int(m.group(1)) == cpu
        assert int(m.group(2), 16) & 0xff00ffffff == cpu, line  # QEMU virt: MPIDR Aff0 = the CPU number
        assert int(m.group(4), 16) & 0b101 == 0, line  # MMU and D-cache off
        assert f"smp: CPU {cpu}: MOAT_FN_VERSION -> 0x10003" in b.lines, b.describe()
    assert f"smp: {smp} CPU(s) started, checked in and turned off" in b.lines
    for cpu in range(1, smp):
        # The core's log: the CPU came up on its own per-CPU data and stack.
        assert any(re.search(rf"cpu{cpu}: CPU {cpu} \(MPIDR 0x{cpu:x}\) up: entering the host at 0x", l)
                   for l in b.core_lines), b.describe()


def test_smp_cpu_on_refusals(boot):
    b = boot(test="smp_cpu_on_refusals", smp=4)
    assert_passed(b, "smp_cpu_on_refusals")

    def code(what):
        m = re.search(rf"^smp: CPU_ON {re.escape(what)} \(mpidr 0x[0-9a-f]+, entry 0x[0-9a-f]+\) -> (-?\d+)$",
                      b.output, re.M)
        assert m, f"no line for {what}\n{b.describe()}"
        return int(m.group(1))

    assert code("into core memory") == PSCI_INVALID_ADDRESS
    assert code("into the last core page") == PSCI_INVALID_ADDRESS
    assert code("outside RAM") == PSCI_INVALID_ADDRESS
    assert code("of an MPIDR not in the DTB") == PSCI_INVALID_PARAMS
    assert code("with non-affinity MPIDR bits") == PSCI_INVALID_PARAMS
    assert code("of the boot CPU") == PSCI_ALREADY_ON
    assert code("of a CPU that is on") == PSCI_ALREADY_ON
    assert "smp: CPU 3 off: AFFINITY_INFO -> 1" in b.lines
    assert "smp: CPU 3 started again after CPU_OFF" in b.lines
    assert any("entry point 0x" in l and "is not in host-owned RAM" in l for l in b.core_lines), b.describe()


def test_smp_cpu_on_race(boot):
    b = boot(test="smp_cpu_on_race", smp=3, timeout=120)
    assert_passed(b, "smp_cpu_on_race")
    rounds = re.findall(r"^smp: CPU_ON race \d+: CPU 0 -> (-?\d+), CPU 1 -> (-?\d+)$", b.output, re.M)
    assert len(rounds) == 8, b.describe()
    for mine, theirs in rounds:
        codes = sorted((int(mine), int(theirs)))
        assert codes[1] == 0 and codes[0] in (-4, -5), b.describe()
    assert "smp: CPU_ON race: 8 of 8 rounds gave exactly one SUCCESS" in b.lines
    # CPU 2 started once per round, never twice.
    assert sum("CPU 2 (MPIDR 0x2) up" in l for l in b.core_lines) == 8, b.describe()


def test_smp_guest(boot):
    b = boot(test="smp_guest", smp=2, timeout=90)
    assert_passed(b, "smp_guest")
    assert re.search(r"^smp: protected guest on CPU 1: ran to SYSTEM_OFF, \d+ exits, last exit \d+$", b.output,
                     re.M), b.describe()
    # VMPIDR_EL2 is per CPU: after a vCPU ran there, the host on CPU 1 still reads CPU 1's MPIDR.
    assert "smp: protected guest on CPU 0: ran to SYSTEM_OFF" in b.lines, b.describe()
    for cpu in (0, 1):
        m = re.search(rf"^smp: CPU {cpu} after its guest: MPIDR=(0x[0-9a-f]+)$", b.output, re.M)
        assert m and int(m.group(1), 16) & 0xff00ffffff == cpu, b.describe()


def test_smp_vcpu_busy(boot):
    b = boot(test="smp_vcpu_busy", smp=2, timeout=180)
    assert_passed(b, "smp_vcpu_busy")
    assert f"smp: VCPU_RUN of the vCPU running on CPU 1, from CPU 0 -> {MOAT_E_BUSY}" in b.lines
    assert f"smp: VM_DESTROY while its vCPU runs on CPU 1 -> {MOAT_E_BUSY}" in b.lines
    assert f"smp: SYSTEM_RESET while CPU 1 runs a guest the core cannot stop -> {PSCI_DENIED}" in b.lines
    assert any("reset refused: CPU 1 did not leave its guest within 100 ms" in l for l in b.core_lines)
    # Refused before the scrub: nothing was scrubbed, and the guest finished its work.
    assert not any("reset: scrubbed" in l for l in b.core_lines), b.describe()
    assert "smp: the guest on CPU 1 finished: status 0, last exit 4, expected line seen" in b.lines, b.describe()


def test_smp_destroy_race(boot):
    b = boot(test="smp_destroy_race", smp=2, timeout=180)
    assert_passed(b, "smp_destroy_race")
    rounds = re.findall(r"^smp: destroy race \d+: (\d+) BUSY, then VM_DESTROY -> 0; CPU 1's run loop stopped with "
                        r"(-?\d+) after (\d+) MMIO exits$", b.output, re.M)
    assert len(rounds) == 3, b.describe()
    for busy, status, exits in rounds:
        # A destroy that lands between two runs ends the run loop with an error naming the dead VM.
        assert int(status) in (0, -6, -7, -8), b.describe()
    m = re.search(r"^smp: destroy race: (\d) of 3 destroys landed while the guest was still running, 0 violations$",
                  b.output, re.M)
    assert m, b.describe()


@pytest.mark.parametrize("test,cpu", [("smp_boot", "cortex-a72"), ("smp_guest", "cortex-a72"), ("smp_guest", "max")])
def test_smp_poisoned_sysregs(boot, test, cpu):
    """build/moat-poison.bin fills every register the core must set up with garbage on each secondary too,
    before it initialises them: a register only the boot CPU initialised would show here."""
    b = boot(test=test, kernel="build/moat-poison.bin", cpu=cpu, smp=2, timeout=120)
    assert any("system registers poisoned" in line for line in b.core_lines), b.describe()
    assert b.passed(test), b.describe()


def test_smp_reset_stops_guest(boot):
    """With the stop SGI enabled by the host, the core stops CPU 1's guest and the reset goes through."""
    b = boot(test="smp_reset_stops_guest", smp=2, timeout=120)
    assert "smp: SYSTEM_RESET while CPU 1 runs a guest, stop SGI enabled" in b.lines, b.describe()
    assert not b.lines_starting("smp: SYSTEM_RESET returned"), b.describe()
    assert not any("reset refused" in l for l in b.core_lines), b.describe()
    # The core had to kick CPU 1 out of its guest (it was in it): the SGI path, not an idle CPU.
    assert any(re.search(r"reset: stop SGI sent; no CPU in a guest after \d+ us$", l) for l in b.core_lines), \
        b.describe()
    m = [re.search(r"reset: scrubbed (\d+) pages not owned by the host", l) for l in b.core_lines]
    assert any(m), b.describe()
    assert b.returncode == 0  # QEMU -no-reboot: the reset ended it


def test_vm_mvcpu(boot):
    """guest/mvcpu: 4 vCPUs on 4 host CPUs, one run loop per CPU. An ldaxr/stlxr spinlock-protected counter
    reaches its exact total; 120 SGIs between vCPUs (each a KICK exit naming its target, which the host kicks
    with its own SGI) arrive exactly once each; then 100 ticks of a 1 ms virtual timer with none early or
    missing and no exit per tick, while the host's own 10 ms CNTV keeps ticking through the core's CNTHP.
    vCPU 1's 10 WFIs, each with an SGI already pending (made so by vCPU 0 through vCPU 1's GICR_ISPENDR0, now
    announced by a KICK too), end no run. Then vCPU 1 parks in the host's WFI wait with no deadline, 4 times,
    and vCPU 0 makes an interrupt deliverable to it by a GIC write (GICD_ISPENDR, vCPU 1's GICR_ISPENDR0,
    GICD_ISENABLER, GICD_IROUTER): each KICK wakes it (the host waits at most 2 s: none may time out); the
    only WFI exits are those parks."""
    b = boot(test="vm_mvcpu", smp=4, timeout=240)
    assert_passed(b, "vm_mvcpu")
    lines = [l for l in b.lines if l.startswith("guest: ")]
    for want in ("guest: mvcpu counter=8000 expected=8000",
                 "guest: mvcpu ipis sent=120 received=120 wrong=0 spurious=0",
                 "guest: mvcpu wfi rounds=10 taken=10",
                 "guest: mvcpu park rounds=4 taken=4",
                 "guest: mvcpu done"):
        assert want in lines, b.describe()
    ticks = [m for m in (re.match(r"guest: mvcpu ticks=(\d+) early=(\d+) late=(\d+) elapsed_ms=(\d+)$", l)
                         for l in lines) if m]
    assert len(ticks) == 1, b.describe()
    assert int(ticks[0].group(1)) == 100 and int(ticks[0].group(2)) == 0, b.describe()
    assert int(ticks[0].group(4)) >= 105, b.describe()  # 100 periods, then 5 ms with the timer off
    m = [re.match(r"mvcpu: exits during the ticks (\d+), host ticks then (\d+)", l) for l in b.lines]
    m = [x for x in m if x]
    assert len(m) == 1, b.describe()
    exits, host_ticks = int(m[0].group(1)), int(m[0].group(2))
    assert host_ticks >= 5 and exits <= host_ticks + 2, b.describe()
    wfi = [re.search(r"mvcpu: vCPU (\d) on CPU \d: .*, (\d+) WFI \((\d+) parked, (\d+) woken by no kick in \d+ ms\), "
                     r"\d+ other$", l) for l in b.lines]
    wfi = {int(x.group(1)): (int(x.group(2)), int(x.group(3)), int(x.group(4))) for x in wfi if x}
    assert sorted(wfi) == [0, 1, 2, 3], b.describe()
    assert all(wfi[i] == (0, 0, 0) for i in (0, 2, 3)), b.describe()
    exits, parks, timeouts = wfi[1]
    assert 1 <= parks == exits <= 4 and timeouts == 0, b.describe()
    assert any(re.match(r"mvcpu: 3 VCPU_ON exits \(mask 0xe\); KICK exits named 134 vCPUs, 0 malformed", l)
               for l in b.lines), b.describe()
