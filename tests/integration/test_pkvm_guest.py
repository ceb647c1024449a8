"""The protected-guest kernel (issue 15, item 1; scripts/guest-kernel.sh) under moat-vmm.

QEMU -> moat -> Debian's kernel as the host, whose /init runs tests/linux/vmm-linux.sh with
VMM_LINUX_KERNEL=/guests/pkvm-Image: Debian's linux-source-6.12 built with ARM_PKVM_GUEST (and the
rest of guest/linux/kernel.config) as a guest of moat-vmm, protected and normal, 1 and 2 vCPUs. It
discovers the KVM vendor service, sees MMIO_GUARD (KVM_FEATURES bit 7) and guards every page it
ioremaps: the core's log names each VM's first MMIO_GUARD, of the PL011 (the GIC's guards do not opt
in). A protected guest then runs with the guard enforced -- its console (the ioremapped, guarded
PL011) works, input included -- and nothing of it is refused; a normal VM's calls are only counted.

Two more boots run a protected guest at loglevel 8, with and without earlycon: with it, the boot
console prints between the GIC's guard and the PL011's, and must not be refused either (docs/ABI.md,
"The MMIO guard").

Needs `make -j2 && make linux && make guest-kernel` (make integration does it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_vmm import boot_linux_host

ROOT = Path(__file__).resolve().parents[2]
INITRAMFS_PKVM = ROOT / "build" / "linux" / "host-initramfs-pkvm.cpio"
# A guest kernel line that means something failed: a failed MMIO_GUARD is a WARN_ON_ONCE in the
# pKVM guest driver's ioremap hook (drivers/virt/coco/pkvm-guest), an abort an Oops.
GUEST_BAD = re.compile(r"WARNING:|Call trace|Internal error|Oops|Kernel panic|Unhandled fault|"
                       r"SError|external abort", re.I)


def run_cases(request, cpu: str, cases: str, append: str = "") -> list[str]:
    if not INITRAMFS_PKVM.exists():
        pytest.fail(f"no {INITRAMFS_PKVM.name}: run 'make -j2 && make linux && make guest-kernel' first")
    lines, rc = boot_linux_host(request, "vmm-linux", smp=2, cpu=cpu, timeout=600,
                                append=f"VMM_LINUX_KERNEL=/guests/pkvm-Image VMM_LINUX_CASES={cases} {append}",
                                initrd=INITRAMFS_PKVM)
    tail = "\n".join(lines[-80:])
    fails = [line for line in lines if line.startswith("FAIL:")]
    assert not fails and rc == 0, "\n".join(fails) + "\n" + tail
    for case in cases.split(","):
        kind, cpus = case.split(":")
        name = f"linux-{kind}-{cpus}"
        for want in [f"ok: {name}: exit status 0", f"ok: {name}: guest up on {cpus} CPU(s)",
                     f"ok: {name}: console input reached the guest"]:
            assert want in lines, f"missing {want!r}:\n{tail}"
        # Its own kernel, not Debian's stock one (6.12.*+deb12-arm64).
        assert any(re.match(rf"{name}\| MOAT-LINUX-GUEST: up, {cpus} CPU\(s\), kernel 6\.12\.\d+$", line)
                   for line in lines), tail
        bad = [line for line in lines if line.startswith(f"{name}|") and GUEST_BAD.search(line)]
        assert not bad, "\n".join(bad)
    # The core and the host kernel share the UART: search the core's lines anywhere in a line.
    log = "\n".join(lines)
    assert "MMIO access to unguarded IPA page" not in log, tail
    assert "warning:" not in "\n".join(line for line in lines if "moat: " in line), tail
    return lines


def first_guards(lines: list[str]) -> list[str]:
    return re.findall(r"moat: cpu\d+: vm\d+ vcpu\d+: first MMIO_GUARD \(IPA page (0x[0-9a-f]+)\): (.*)$",
                      "\n".join(lines), re.M)


# A "cpu" parameter: the second integration pass (-cpu max) leaves these out instead of booting them again.
@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_pkvm_guest(request, cpu):
    """The guest kernel, protected and normal, 1 and 2 vCPUs: user space reached, MMIO_GUARD called
    (first of the PL011 page), enforced for the protected guests with nothing refused."""
    cases = "protected:1,protected:2,normal:1,normal:2"
    lines = run_cases(request, cpu, cases)
    guards = first_guards(lines)
    assert sorted(guards) == sorted([("0x9000000", "unguarded MMIO is refused from now on")] * 2 +
                                    [("0x9000000", "counted, not enforced (normal VM)")] * 2), guards


@pytest.mark.parametrize("cpu", ["cortex-a72"])
@pytest.mark.parametrize("earlycon", [True, False], ids=["earlycon", "no-earlycon"])
def test_pkvm_guest_loglevel8(request, cpu, earlycon):
    """The whole boot log (loglevel 8), with and without earlycon. With it, the boot console prints
    after the GIC's guard and before the PL011's: the guard lets it through (the GIC does not opt in).
    The guest's own log shows the vendor service it found: KVM_FEATURES 0x29d, bit 7 included."""
    lines = run_cases(request, cpu, "protected:1",
                      append="VMM_LINUX_LOGLEVEL=8" + ("" if earlycon else " VMM_LINUX_EARLYCON=0"))
    assert first_guards(lines) == [("0x9000000", "unguarded MMIO is refused from now on")], first_guards(lines)
    guest = [line for line in lines if line.startswith("linux-protected-1| ")]
    text = "\n".join(guest)
    assert "smccc: KVM: hypervisor services detected (0x00000000 0x00000000 0x00000000 0x0000029d)" in text, text
    assert "psci: SMC Calling Convention v1.1" in text, text
    if earlycon:
        assert "earlycon: pl11 at MMIO 0x0000000009000000" in text, text
        # The boot console handed over to ttyAMA0 once the PL011 driver (arch_initcall) guarded its page.
        assert "printk: legacy bootconsole [pl11] disabled" in text, text
    else:
        assert "earlycon" not in text.replace("Kernel command line", ""), text
