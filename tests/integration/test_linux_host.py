"""Debian's stock arm64 kernel as the host under moat (issue 12, DESIGN §0 and §3A).

Each test boots QEMU → moat at EL2 → Debian's unmodified kernel at EL1 with the host initramfs of
`make linux` (busybox, host/linux/init.sh as /init), through tools/run-linux.sh: the command line
docs/running-on-qemu.md documents is the one tested. /init runs /tests/NAME.sh (tests/linux/) and
prints "MOAT-RUN-END: NAME rc=N", then powers off (the host's PSCI SYSTEM_OFF, which the core
forwards: QEMU exits 0).

The CPU model is moat_qemu.DEFAULT_CPU: cortex-a72, then max,pauth-impdef=on in the second pass of
scripts/run-integration.sh (MOAT_TEST_CPU).

Nothing here is skipped: without the Debian tree (build/linux/vars.mk, the kernel image, the
initramfs) every test FAILS and says to run `make linux` (which `make test` and `make integration`
do first).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from moat_qemu import DEFAULT_CPU, LOG_DIR, QEMU_LOG_DIR, ROOT, BootResult, run_qemu  # noqa: E402

VARS = ROOT / "build/linux/vars.mk"
INITRAMFS = ROOT / "build/linux/host-initramfs.cpio"
# Under TCG on 2 shared cores a 4-CPU boot to /init takes 4-8 s; the limit is for a loaded CI box.
BOOT_TIMEOUT = 150

INIT_RE = re.compile(r"^MOAT-HOST-INIT: cpus=(\d+) uptime=[\d.]+ counter=\d+/\d+$", re.M)
END_RE = re.compile(r"^MOAT-RUN-END: (\S+) rc=(\d+)$", re.M)
# A kernel line: "[    0.123456] text" (the console's printk time stamp).
KERNEL_RE = re.compile(r"^\[\s*\d+\.\d+\] (.*)$")
# What the stock kernel must never print while it boots under the core.
KERNEL_BAD_RE = re.compile(r"Oops|BUG:|Internal error|WARNING:|Call trace|Kernel panic|SError|"
                           r"Unable to handle|rcu_.*stall|failed to boot|CPU\d+: failed")

# Kernel warnings (printk level <= 4) seen on every boot of the stock kernel on QEMU virt, bare or
# under moat: they say nothing about the core. Anything else fails the boot tests.
KMSG_EXPECTED = [
    r"ITS: No ITS available, not enabling LPIs$",  # its=off (DESIGN §0)
    r"cacheinfo: Unable to detect cache hierarchy for CPU 0$",  # QEMU's DTB has no cache nodes
    r"pci-host-generic 4010000000\.pcie: Memory resource size exceeds max for 32 bits$",
    r"hrtimer: interrupt took \d+ ns$",  # TCG on a loaded machine: a vCPU thread was descheduled
]


def linux_tree(vars_path: Path = VARS, initramfs: Path = INITRAMFS) -> dict[str, str]:
    """The Debian tree's variables (scripts/linux-deps.sh via make linux), or fail the test."""
    if not vars_path.is_file():
        pytest.fail(f"{vars_path} is missing: the Debian kernel tree has not been fetched; run `make linux` "
                    "(make test and make integration do it first)", pytrace=False)
    found = dict(re.findall(r"^(\w+) := (.*)$", vars_path.read_text(), re.M))
    image = found.get("LINUX_IMAGE", "")
    if not image or not Path(image).is_file():
        pytest.fail(f"no Debian kernel image at {image!r} (from {vars_path}): run `make linux`", pytrace=False)
    if not initramfs.is_file():
        pytest.fail(f"{initramfs} is missing: run `make linux`", pytrace=False)
    return found


def boot_linux(request, run: str, smp: int, *, cpu: str | None = None, bare: bool = False,
               timeout: float = BOOT_TIMEOUT) -> BootResult:
    """One boot through tools/run-linux.sh; the UART goes to build/test-logs/<test>.log."""
    linux_tree()
    name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", request.node.name)
    qemu_log = QEMU_LOG_DIR / f"{name}.log"
    cmd = ["tools/run-linux.sh", "--smp", str(smp), "--cpu", cpu or DEFAULT_CPU, "--run", run,
           "--timeout", str(timeout), *(["--bare"] if bare else []), "--",
           "-d", "guest_errors,unimp", "-D", str(qemu_log)]
    # run-linux.sh stops QEMU at `timeout` itself; the Python limit is a second line of defence.
    result = run_qemu(cmd, LOG_DIR / f"{name}.log", qemu_log, timeout + 15)
    if result.timed_out or result.returncode == 124:
        pytest.fail(f"QEMU did not finish within {timeout} s\n{result.describe()}", pytrace=False)
    return result


def kernel_lines(b: BootResult) -> list[str]:
    return [m.group(1) for m in (KERNEL_RE.match(line) for line in b.lines) if m]


def dmesg_lines(b: BootResult) -> list[str]:
    """The kernel log lines tests/linux/hostboot.sh copies out of dmesg (whole lines, unlike the
    console, where a core line may split a kernel line)."""
    return [line[len("hostboot: dmesg: "):] for line in b.lines_starting("hostboot: dmesg: ")]


def core_problems(b: BootResult) -> list[str]:
    """Core log lines that report trouble. A clean host boot logs none: no refused access, no
    unhandled trap, no warning. (Lines the core prints on purpose at info level do not match.)"""
    lines = [line[line.index("moat: "):] for line in b.lines if "moat: " in line]
    return [line for line in lines
            if re.search(r"\b(error|warning|warn|panic|refused|unhandled|unexpected|fault)\b", line, re.I)]


def assert_clean_end(b: BootResult, run: str) -> None:
    """The script ran to its end with status 0, the host powered off through PSCI SYSTEM_OFF, the
    core forwarded it and QEMU exited 0; nothing went wrong on the way."""
    ends = END_RE.findall(b.output)
    assert ends == [(run, "0")], f"/init's end marker: {ends}\n{b.describe()}"
    assert b.returncode == 0, b.describe()
    assert re.search(r"moat: cpu\d+: host requested SYSTEM_OFF", b.output), b.describe()
    assert "reboot: Power down" in b.output, b.describe()
    assert core_problems(b) == [], f"unexpected core log lines: {core_problems(b)}\n{b.describe()}"
    bad = [line for line in kernel_lines(b) if KERNEL_BAD_RE.search(line)]
    assert bad == [], f"kernel trouble: {bad}\n{b.describe()}"
    # The kernel's warnings and worse (host/linux/init.sh prints them as MOAT-KMSG), less the ones
    # a stock kernel prints on QEMU virt with or without moat.
    # QEMU's -d guest_errors,unimp log: the kernel's read of GICD_TYPER2 (QEMU 7.2 does not model it;
    # bare QEMU logs the same) is the only line.
    qlog = b.qemu_log_path.read_text(errors="replace").splitlines() if b.qemu_log_path.is_file() else []
    odd = [x for x in qlog if x and x != "gicv3_dist_read: invalid guest read at offset 000000000000000c size 4"]
    assert odd == [], f"QEMU guest_errors/unimp: {odd[:10]}\n{b.describe()}"
    kmsg = [line for line in b.lines_starting("MOAT-KMSG: ") if not any(re.search(p, line) for p in KMSG_EXPECTED)]
    assert kmsg == [], f"unexpected kernel warnings: {kmsg}\n{b.describe()}"


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_linux_host_boot(request, smp):
    """Every CPU the DTB names comes up in the stock kernel: the boot CPU, and each secondary through
    the host's PSCI CPU_ON, which the core vets and forwards (one "up: entering the host" line each)."""
    b = boot_linux(request, "hostboot", smp)
    assert INIT_RE.findall(b.output) == [str(smp)], b.describe()
    want = "0" if smp == 1 else f"0-{smp - 1}"
    assert f"hostboot: online={want} possible={want}" in b.lines, b.describe()
    # Searched in the whole output: a core line may start in the middle of a kernel console line.
    ups = re.findall(r"moat: cpu\d+: CPU \d+ \(MPIDR 0x[0-9a-f]+\) up: entering the host", b.output)
    assert len(ups) == smp - 1, b.describe()
    if smp > 1:
        assert f"smp: Brought up 1 node, {smp} CPUs" in dmesg_lines(b), b.describe()
    assert_clean_end(b, "hostboot")


def test_linux_host_kernel_view(request):
    """What the stock kernel says when moat holds EL2: it was entered at EL1 on every CPU, so KVM
    finds no hypervisor mode ("kvm [1]: HYP mode not available", no /dev/kvm), and PSCI answers
    as QEMU's firmware does (v1.1, SMC conduit: the core forwards the host's SMCs it vets)."""
    b = boot_linux(request, "hostboot", 2)
    k = dmesg_lines(b)
    assert "CPU: All CPU(s) started at EL1" in k, b.describe()
    assert "kvm [1]: HYP mode not available" in k, b.describe()
    assert "hostboot: kvm=absent" in b.lines, b.describe()
    assert "psci: PSCIv1.1 detected in firmware." in k, b.describe()
    assert "psci: probing for conduit method from DT." in k, b.describe()
    # The core's memory is /reserved-memory (no-map) in the host's DTB: not System RAM for the kernel;
    # the fw_cfg node is gone (its DMA register could write any address, DESIGN §1).
    m = re.search(r"core image (0x[0-9a-f]+)-(0x[0-9a-f]+) .*core data (0x[0-9a-f]+)-(0x[0-9a-f]+)", b.output)
    assert m, b.describe()
    img0, img1, data0, data1 = (int(x, 16) for x in m.groups())
    ram = [tuple(int(x, 16) for x in line.split()[2].split("-")) for line in b.lines_starting("hostboot: iomem: ")]
    assert ram == [(0x40000000, img0 - 1), (img1, data0 - 1)] and data1 == 0x80000000, f"{ram}\n{b.describe()}"
    reserved = next(x for x in b.lines if x.startswith("hostboot: dt-reserved="))
    assert f"moat@{img0:x}" in reserved and f"moat@{data0:x}" in reserved, b.describe()
    assert "hostboot: fw-cfg=absent" in b.lines, b.describe()
    # The host runs in the core's stage 2 with 2 MiB blocks for every page of its RAM.
    s2 = [line for line in b.core_lines if "host stage-2:" in line]
    assert s2 and "unmapped 0 KiB" in s2[0] and "4K pages 0 KiB" in s2[0], b.describe()
    assert_clean_end(b, "hostboot")


def test_linux_host_cpu_hotplug(request):
    """echo 0/1 > /sys/devices/system/cpu/cpu1/online, twice: the kernel's PSCI CPU_OFF on CPU 1
    (the core marks the CPU off and lets the firmware power it down), AFFINITY_INFO from CPU 0
    ("psci: CPU1 killed"), then CPU_ON again (the core's "up" line, the kernel's "Booted
    secondary"), and CPU 1 runs a task afterwards."""
    b = boot_linux(request, "hotplug", 2)
    hp = [line for line in b.lines_starting("hotplug: ") if not line.startswith("hotplug: kmsg: ")]
    assert hp == [
        "hotplug: round 1 offline: online=0 cpu1=0",
        "hotplug: round 1 online: online=0-1 cpu1=1",
        "hotplug: round 2 offline: online=0 cpu1=0",
        "hotplug: round 2 online: online=0-1 cpu1=1",
        "hotplug: ran on cpu 1",
    ], b.describe()
    k = [line[len("hotplug: kmsg: "):] for line in b.lines_starting("hotplug: kmsg: ")]
    # AFFINITY_INFO polling: 0 ms unless a loaded machine delays CPU 1's power-down.
    assert len([x for x in k if re.fullmatch(r"psci: CPU1 killed \(polled \d+ ms\)", x)]) == 2, b.describe()
    booted = [x for x in k if re.fullmatch(r"CPU1: Booted secondary processor 0x0+1 \[0x[0-9a-f]+\]", x)]
    assert len(booted) == 2, b.describe()
    ups = re.findall(r"moat: cpu1: CPU 1 \(MPIDR 0x1\) up: entering the host", b.output)
    assert len(ups) == 3, b.describe()  # the boot, then one per round
    assert_clean_end(b, "hotplug")


def test_linux_host_missing_tree_fails(tmp_path):
    """Without the Debian tree the tests fail with the fix in the message; they never skip."""
    with pytest.raises(pytest.fail.Exception, match=r"run `make linux`"):
        linux_tree(tmp_path / "vars.mk")
    (tmp_path / "vars.mk").write_text(f"LINUX_IMAGE := {tmp_path}/nothing\n")
    with pytest.raises(pytest.fail.Exception, match=r"no Debian kernel image .* run `make linux`"):
        linux_tree(tmp_path / "vars.mk")


def test_linux_bare_runs_same_script(request):
    """The comparison boot of `make bench` (the same kernel on QEMU at EL1, no moat) reaches the same
    marker, and there the stock kernel owns EL2's absence the same way: no core lines at all."""
    b = boot_linux(request, "hostboot", 1, bare=True)
    assert END_RE.findall(b.output) == [("hostboot", "0")], b.describe()
    assert b.core_lines == [], b.describe()
    assert b.returncode == 0, f"{shlex.join(b.cmd)}\n{b.describe()}"
