"""Debian's stock arm64 kernel as a guest of the core (issue 12; host/testhost/tests/linux_guest.c).

The test host's VMM boots the unmodified kernel Image (scripts/linux-deps.sh) with a busybox
initramfs (tools/mkinitramfs.py) and a DTB (guest/linux/guest.dts) as a protected or a normal VM
with 1 or 2 vCPUs, all on one host CPU, and with 2 vCPUs each on its own host CPU (`-smp 2`,
one VCPU_RUN loop per CPU as a Linux host's thread per vCPU would run them). QEMU places the three files in host RAM with
`-device loader`; the VMM gives their pages to the VM in place. The guest's /init prints
"MOAT-GUEST-LINUX-OK cpus=N" and powers off.

Each run asserts: the marker with the right CPU count (CPU 1 came up through PSCI CPU_ON), a clean
SYSTEM_OFF, every page back (the test host compares the core's STATS before and after), no error
or warning in the core's log, no guest kernel message that means a device the core emulates failed
it (GIC, timer, PSCI) or an oops, and, from the guest's /proc/interrupts, that the virtual timer
(GICv3 INTID 27) fired on every CPU and with 2 vCPUs that both took IPIs (SGIs through the vGIC).

`make linux-guest` (run here) builds the initramfs and the DTBs; its first run fetches the Debian
packages (about 60 MB, cached under ~/.cache/moat).
"""

from __future__ import annotations

import fcntl
import re
import subprocess

import pytest

from moat_qemu import BUILD, ROOT

LG = BUILD / "linux-guest"
# Host PAs QEMU loads the three files at: above the test host, clear of the DTB QEMU itself puts
# at 0x48000000 and below the pages the VMM hands out (from the top of 1 GiB downwards).
IMAGE_PA = 0x50000000
INITRD_PA = 0x53000000
DTB_PA = 0x53E00000
# Lines of the guest kernel that mean a device the core provides did not work for it.
GUEST_BAD = re.compile(r"GICv3: .*(?:no|fail|invalid|Broken)|arch_timer: .*(?:fail|invalid)|psci: .*fail|"
                       r"Kernel panic|Oops|BUG:|WARNING:|Call trace", re.I)


@pytest.fixture(scope="module")
def linux_files():
    """Build the initramfs and DTBs; the Debian kernel's path from make's record of linux-deps.sh."""
    BUILD.mkdir(exist_ok=True)
    # pytest-xdist workers each run this fixture: one make at a time, the others find it done.
    with open(BUILD / "linux-guest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = subprocess.run(["make", "--no-print-directory", "-s", "linux-guest"], cwd=ROOT, capture_output=True,
                           text=True, timeout=600)
    if r.returncode:
        pytest.fail(f"make linux-guest failed:\n{r.stdout}\n{r.stderr}", pytrace=False)
    deps = dict(re.findall(r"^(\w+) := (.*)$", (BUILD / "linux" / "vars.mk").read_text(), re.M))
    return {"image": deps["LINUX_IMAGE"], "initrd": str(LG / "initramfs.cpio"),
            "dtb": {n: str(LG / f"guest-{n}cpu.dtb") for n in (1, 2)}}


def guest_interrupts(b) -> dict[str, list[int]]:
    """The guest's /proc/interrupts: per-CPU counts by the line's name ("arch_timer", "IPI0", ...)."""
    out = {}
    for line in b.lines:
        # One kernel log record per line (guest/linux/init.sh): "guest: [    4.58]  11:  670 ..."
        m = re.match(r"guest: (?:\[ *[\d.]+\])? +(\w+): +((?:\d+ +)+)(.*)$", line)
        if m:
            name = m.group(1) if m.group(1).startswith("IPI") else m.group(3).split()[-1]
            out[name] = [int(n) for n in m.group(2).split()]
    return out


def boot_linux(boot, files, vm_type, cpus, own_cpus=False):
    blobs = [("image", files["image"], IMAGE_PA), ("initrd", files["initrd"], INITRD_PA),
             ("dtb", files["dtb"][cpus], DTB_PA)]
    extra, args = [], [f"lg.type={vm_type}", f"lg.cpus={cpus}"] + (["lg.smp=1"] if own_cpus else [])
    for name, path, pa in blobs:
        extra += ["-device", f"loader,file={path},addr={pa:#x},force-raw=on"]
        args.append(f"lg.{name}={pa:#x},{(ROOT / path).stat().st_size}")
    return boot(test="linux_guest", append=" ".join(args), extra=extra, timeout=180, smp=cpus if own_cpus else 1)


@pytest.mark.parametrize("cpus,own_cpus", [(1, False), (2, False), (2, True)], ids=["1", "2", "2-own-cpus"])
@pytest.mark.parametrize("vm_type", ["protected", "normal"])
def test_linux_guest_boots(boot, linux_files, vm_type, cpus, own_cpus):
    b = boot_linux(boot, linux_files, vm_type, cpus, own_cpus)
    assert b.passed("linux_guest"), f"{b.failures('linux_guest')}\n{b.describe(80)}"
    # The marker as the guest kernel logs it ("guest: [    4.9] MOAT-GUEST-LINUX-OK cpus=N", /dev/kmsg).
    assert any(line.startswith("guest: ") and line.endswith(f"MOAT-GUEST-LINUX-OK cpus={cpus}") for line in b.lines), \
        b.describe(80)
    where = " on their own CPUs" if own_cpus else ""
    assert any(re.fullmatch(rf"linux_guest: {vm_type}, {cpus} vCPU\(s\){where}: built \d+ ms, boot to SYSTEM_OFF "
                            r"\d+ ms", line) for line in b.lines), b.describe()
    bad = [line for line in b.core_lines if re.search(r"\b(error|warning|PANIC)\b", line)]
    assert not bad, "\n".join(bad) + "\n" + b.describe()
    guest_bad = [line for line in b.lines if line.startswith("guest: ") and GUEST_BAD.search(line)]
    assert not guest_bad, "\n".join(guest_bad) + "\n" + b.describe()
    assert re.search(rf"^linux_guest: vCPU {cpus - 1}( \(own CPU\))?: \d+ runs", b.output, re.M), b.describe()
    interrupts = guest_interrupts(b)
    timer = interrupts.get("arch_timer")
    assert timer and len(timer) == cpus and all(n > 0 for n in timer), f"{interrupts}\n{b.describe(80)}"
    if cpus > 1:
        ipis = [sum(col) for col in zip(*(v for k, v in interrupts.items() if k.startswith("IPI")))]
        assert len(ipis) == cpus and all(n > 0 for n in ipis), f"{interrupts}\n{b.describe(80)}"
    created = [line for line in b.core_lines if re.search(r"vm\d+ created: ", line)]
    assert len(created) == 1 and f"{vm_type}, {cpus} vCPU(s), RAM 128 MiB" in created[0], b.describe()
