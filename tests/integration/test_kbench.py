"""guest/kbench, the benchmark guest of make bench (issue 13; tools/bench-kvm.py), run once for function,
not for speed: through moat-vmm on moat (normal and protected VM) and on stock KVM (Debian's kernel at
EL2, no moat), and directly on bare QEMU at EL1 (workload only). Every metric line must be present,
sane (n as the guest defines it, ticks > 0, the timer's frequency) and not marked BAD (the null HVC
answered NOT_SUPPORTED, the unclaimed MMIO read 0, GICD_TYPER stable, both IPI directions counted,
the touched pages read back); the workload's SHA-256 is the fixed one; moat-vmm's counter before VM
create precedes the guest's first instruction. No timing assertions.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from test_vmm import ROOT, boot_linux_host

SHA = "4cd7ead15a867b280c1aad613b8cb3a4187fb8dc550b2df3e10c1c687e20b699"
WANT_N = {"hvc": 1000, "mmio": 1000, "gicd": 1000, "touch": 256, "touch2m": 16, "vtimer": 100, "cpu_on": 1, "ipi": 200}
METRIC = re.compile(r"^kbench: (\w+) n=(\d+) ticks=(\d+) freq=(\d+)$")


def check_run(lines: list[str], tag: str):
    """The lines of one moat-vmm run, "KB <backend> <mode> <rep>| ..." (tests/linux/kbench.sh)."""
    body = [line[len(tag) + 2:] for line in lines if line.startswith(tag + "| ")]
    text = "\n".join(body)
    assert "status=0" in body and "kbench: done" in body, f"{tag}:\n{text}"
    assert not [line for line in body if "BAD" in line], f"{tag}:\n{text}"
    seen = {}
    for line in body:
        if (m := METRIC.match(line)):
            seen[m[1]] = (int(m[2]), int(m[3]), int(m[4]))
    assert set(seen) == set(WANT_N), f"{tag}: metrics {sorted(seen)}:\n{text}"
    for name, (n, ticks, freq) in seen.items():
        assert n == WANT_N[name] and ticks > 0 and freq == 62500000, f"{tag}: {name} n={n} ticks={ticks} freq={freq}"
    assert f"sha256={SHA}" in text, f"{tag}: workload digest:\n{text}"
    entry = int(re.search(r"^kbench: entry cntpct=(\d+) freq=62500000$", text, re.M)[1])
    create = int(re.search(r"^moat-vmm: cntvct (\d+) before VM create$", text, re.M)[1])
    assert create < entry, f"{tag}: VM create at {create}, first instruction at {entry}"
    assert "moat-vmm: unclaimed MMIO at 0xa000000: 1000 reads, 0 writes" in body, text


@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_kbench_moat(request, cpu):
    """kbench through moat-vmm on /dev/moat: a normal and a protected VM (tests/linux/kbench.sh)."""
    lines, rc = boot_linux_host(request, "kbench", smp=2, cpu=cpu, timeout=400, append="kbench.reps=1")
    assert rc == 0, "\n".join(lines[-60:])
    check_run(lines, "KB moat normal 1")
    check_run(lines, "KB moat protected 1")


@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_kbench_kvm(request, cpu):
    """kbench through moat-vmm --backend kvm on Debian's KVM (nVHE: cortex-a72 has no VHE)."""
    lines, rc = boot_linux_host(request, "kbench", smp=2, cpu=cpu, timeout=400, kvm=True,
                                append="kbench.reps=1 kvm-arm.mode=nvhe")
    assert rc == 0, "\n".join(lines[-60:])
    check_run(lines, "KB kvm normal 1")


def test_kbench_bare_qemu():
    """Without a VMM (QEMU -kernel kbench.elf at EL1, x0 = 0) only the workload runs, 5 times."""
    out = subprocess.run(["qemu-system-aarch64", "-M", "virt,gic-version=3", "-cpu", "cortex-a72", "-m", "1G",
                          "-nographic", "-no-reboot", "-net", "none", "-kernel", "build/guest/kbench.elf"],
                         cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=300).stdout.decode(errors="replace").replace("\r", "")
    work = re.findall(r"^kbench: workload bytes=67108864 ticks=(\d+) freq=62500000 sha256=([0-9a-f]+)$", out, re.M)
    assert len(work) == 5 and all(int(t) > 0 and sha == SHA for t, sha in work), out
    assert "kbench: done" in out and "kbench: hvc" not in out, out
