"""moat-vmm (issue 12, item 4; docs/moat-vmm.md).

Two halves:
  - host-native: the VMM built for this machine (build/vmm-host/moat-vmm, ASan + UBSan) runs
    everything short of a VM: --help, the argument errors (exit 2 and the message), and the devicetree
    (--dump-dtb) read back with dtc/fdtget and compared with the one QEMU virt itself gives a guest;
  - end to end: QEMU -> moat -> Debian's stock kernel as the host, whose /init runs
    tests/linux/vmm-guests.sh: the bare-metal guests through the arm64 moat-vmm on /dev/moat
    (needs `make -j2 && make linux`).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VMM = ROOT / "build" / "vmm-host" / "moat-vmm"
HELLO = ROOT / "build" / "guest" / "hello.bin"
INITRAMFS = ROOT / "build" / "linux" / "host-initramfs.cpio"
# the same plus Debian's kernel and a guest initramfs in /guests (mk/linux.mk)
INITRAMFS_LINUX = ROOT / "build" / "linux" / "host-initramfs-linux.cpio"
LOG_DIR = ROOT / "build" / "test-logs"


@pytest.fixture(scope="module")
def vmm():
    subprocess.run(["make", "--no-print-directory", "-s", str(VMM.relative_to(ROOT))], cwd=ROOT, check=True)
    return VMM


def run_vmm(vmm, *args, timeout=30):
    return subprocess.run([str(vmm), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, text=True)


def fdtget(dtb: Path, node: str, prop: str, kind: str = "x") -> str:
    return subprocess.run(["fdtget", "-t", kind, str(dtb), node, prop], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def fdt_props(dtb: Path, node: str) -> set[str]:
    return set(subprocess.run(["fdtget", "-p", str(dtb), node], check=True, stdout=subprocess.PIPE,
                              text=True).stdout.split())


def test_vmm_help(vmm):
    r = run_vmm(vmm, "--help")
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout.startswith("usage: moat-vmm run --kernel IMG"), r.stdout
    for opt in ["--initrd", "--cmdline", "--mem", "--cpus", "--protected", "--dtb", "--dump-dtb"]:
        assert opt in r.stdout


def test_vmm_bad_arguments(vmm, tmp_path):
    gz = tmp_path / "Image.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00" + bytes(60))
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(5 << 20))
    junk = tmp_path / "junk.dtb"
    junk.write_bytes(b"not a devicetree" * 4)
    hello = str(HELLO)
    cases = [
        ([], "moat-vmm: no command (want: run)"),
        (["run"], "moat-vmm: --kernel IMG is required"),
        (["run", "--kernel", str(tmp_path / "missing")], f"moat-vmm: --kernel '{tmp_path / 'missing'}': No such file"),
        (["run", "--kernel", str(tmp_path)], "not a regular file"),
        (["run", "--kernel", hello, "--mem", "256Q"], "moat-vmm: --mem '256Q': want a size such as 256M or 1G"),
        (["run", "--kernel", hello, "--mem", "0"], "moat-vmm: --mem '0': want a size"),
        (["run", "--kernel", hello, "--cpus", "65"], "moat-vmm: --cpus '65': want a number from 1 to 64"),
        (["run", "--kernel", str(big), "--mem", "4M"], "5242880 bytes, larger than guest RAM (4194304 bytes)"),
        (["run", "--kernel", str(big), "--mem", "5M"], "the kernel and the devicetree do not fit in guest RAM"),
        (["run", "--kernel", hello, "--mem", "4M", "--initrd", str(big)], "larger than guest RAM"),
        (["run", "--kernel", str(gz)], "is gzip-compressed: decompress it first"),
        (["run", "--kernel", hello, "--dtb", str(junk)], f"moat-vmm: --dtb '{junk}': FDT_ERR_BADMAGIC"),
        (["run", "--kernel", hello, "--bogus"], "moat-vmm: bad option '--bogus'"),
    ]
    for args, message in cases:
        r = run_vmm(vmm, *args)
        assert r.returncode == 2, (args, r)
        assert message in r.stderr, (args, r.stderr)


def test_vmm_without_driver(vmm):
    """No /dev/moat on this machine: a run-time error (1), not a usage error, and it says why."""
    if Path("/dev/moat").exists():
        pytest.skip("this machine has /dev/moat")
    r = run_vmm(vmm, "run", "--kernel", str(HELLO))
    assert r.returncode == 1, r
    assert "moat-vmm: open /dev/moat (is moat.ko loaded" in r.stderr, r.stderr


def test_vmm_dtb_for_linux(vmm, tmp_path):
    """What Linux needs of the generated DTB, read back by dtc and fdtget (not by libfdt's own code)."""
    initrd = tmp_path / "initrd"
    initrd.write_bytes(bytes(123457))
    dtb = tmp_path / "vm.dtb"
    r = run_vmm(vmm, "run", "--kernel", str(HELLO), "--initrd", str(initrd), "--cpus", "3", "--mem", "512M",
                "--cmdline", "console=ttyAMA0 earlycon", "--dump-dtb", str(dtb))
    assert r.returncode == 0 and r.stderr == "", r
    dts = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(dtb)], check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert dts.stderr == "", dts.stderr  # no dtc warnings
    assert fdtget(dtb, "/memory@40000000", "reg") == "0 40000000 0 20000000"
    assert fdtget(dtb, "/chosen", "bootargs", "s") == "console=ttyAMA0 earlycon"
    assert fdtget(dtb, "/chosen", "stdout-path", "s") == "/pl011@9000000"
    start = int("".join(f"{int(w, 16):08x}" for w in fdtget(dtb, "/chosen", "linux,initrd-start").split()), 16)
    end = int("".join(f"{int(w, 16):08x}" for w in fdtget(dtb, "/chosen", "linux,initrd-end").split()), 16)
    assert end - start == 123457 and start % 4096 == 0 and 0x40000000 < start and end <= 0x40000000 + (512 << 20)
    assert [fdtget(dtb, f"/cpus/cpu@{i}", "reg") for i in range(3)] == ["0", "1", "2"]
    assert all(fdtget(dtb, f"/cpus/cpu@{i}", "enable-method", "s") == "psci" for i in range(3))
    assert fdtget(dtb, "/psci", "method", "s") == "hvc"
    assert fdtget(dtb, "/psci", "compatible", "s").split()[0] == "arm,psci-1.0"
    # GICv3 at the core's IPAs: distributor 64 KiB, one 128 KiB redistributor frame per vCPU
    assert fdtget(dtb, "/intc@8000000", "reg") == "0 8000000 0 10000 0 80a0000 0 60000"
    assert fdtget(dtb, "/timer", "interrupts") == "1 d 4 1 e 4 1 b 4 1 a 4"
    assert fdtget(dtb, "/pl011@9000000", "interrupts") == "0 1 4"
    clk = fdtget(dtb, "/apb-pclk", "phandle")
    assert fdtget(dtb, "/pl011@9000000", "clocks") == f"{clk} {clk}"
    assert fdtget(dtb, "/", "interrupt-parent") == fdtget(dtb, "/intc@8000000", "phandle")


def test_vmm_dtb_matches_qemu_virt(vmm, tmp_path):
    """The nodes moat-vmm emits have QEMU virt's properties and values (phandles aside), so a kernel
    that boots on QEMU virt finds the same devices; the known differences are listed."""
    ours, qemu = tmp_path / "ours.dtb", tmp_path / "qemu.dtb"
    r = run_vmm(vmm, "run", "--kernel", str(HELLO), "--cpus", "2", "--mem", "256M", "--dump-dtb", str(ours))
    assert r.returncode == 0, r
    subprocess.run(["qemu-system-aarch64", "-M", f"virt,gic-version=3,its=off,dumpdtb={qemu}", "-cpu", "cortex-a72",
                    "-smp", "2", "-m", "256M", "-nographic", "-net", "none"], check=True, capture_output=True,
                   timeout=60)
    same = {"/memory@40000000": None, "/timer": None, "/apb-pclk": None,
            "/pl011@9000000": {"clocks"}, "/cpus/cpu@0": {"compatible"}, "/cpus/cpu@1": {"compatible"}}
    for node, skip in same.items():
        skip = (skip or set()) | {"phandle"}
        assert fdt_props(ours, node) - skip == fdt_props(qemu, node) - skip, node
        for prop in fdt_props(ours, node) - skip:
            assert fdtget(ours, node, prop) == fdtget(qemu, node, prop), (node, prop)
    # GIC: same distributor and redistributor base; QEMU reserves frames for 123 CPUs, we have one per vCPU
    assert fdtget(ours, "/intc@8000000", "reg").split()[:6] == fdtget(qemu, "/intc@8000000", "reg").split()[:6]
    for prop in ["compatible", "#interrupt-cells", "#redistributor-regions", "#address-cells", "#size-cells"]:
        assert fdtget(ours, "/intc@8000000", prop) == fdtget(qemu, "/intc@8000000", prop), prop
    # PSCI: QEMU also lists "arm,psci" with its own function IDs; Linux takes the first it knows
    assert fdtget(qemu, "/psci", "compatible", "s").startswith(fdtget(ours, "/psci", "compatible", "s"))


def test_vmm_deterministic_dtb(vmm, tmp_path):
    """A protected VM's measurement covers the DTB: the same command line gives the same bytes."""
    a, b = tmp_path / "a.dtb", tmp_path / "b.dtb"
    for out in (a, b):
        assert run_vmm(vmm, "run", "--kernel", str(HELLO), "--cpus", "2", "--dump-dtb", str(out)).returncode == 0
    assert a.read_bytes() == b.read_bytes()


def boot_linux_host(request, name: str, smp: int, cpu: str, timeout: int = 300, append: str = "",
                    initrd: Path = INITRAMFS, kvm: bool = False) -> tuple[list[str], int | None]:
    """QEMU -> moat -> Debian's kernel, /init running tests/linux/NAME.sh; returns its lines and rc.
    kvm: no moat; the kernel boots at EL2 (QEMU's virtualization=on) and offers /dev/kvm."""
    if not initrd.exists():
        pytest.fail(f"no {initrd.name}: run 'make -j2 && make linux' first")
    cmd = [str(ROOT / "tools" / "run-linux.sh"), "--run", name, "--smp", str(smp), "--cpu", cpu,
           "--timeout", str(timeout), "--append", append, "--initrd", str(initrd)]
    if kvm:
        cmd += ["--bare", "--", "-M", "virt,virtualization=on"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout + 30)
    out = proc.stdout.decode(errors="replace")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / f"{request.node.name}.log").write_text(out)
    lines = [line.rstrip("\r") for line in out.splitlines()]
    m = re.search(rf"MOAT-RUN-END: {re.escape(name)} rc=(\d+)", out)
    tail = "\n".join(lines[-80:])
    assert proc.returncode != 124, f"timed out after {time.monotonic() - start:.0f}s:\n{tail}"
    assert m, f"no MOAT-RUN-END line (QEMU status {proc.returncode}):\n{tail}"
    assert "Internal error" not in out and "Oops" not in out, f"host kernel oops:\n{tail}"
    return lines, int(m.group(1))


# A "cpu" parameter: the second integration pass (-cpu max) leaves this out instead of booting it again.
@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_vmm_guests_on_linux_host(request, cpu):
    """The bare-metal guests through moat-vmm on /dev/moat (tests/linux/vmm-guests.sh)."""
    lines, rc = boot_linux_host(request, "vmm-guests", smp=2, cpu=cpu)
    tail = "\n".join(lines[-80:])
    fails = [line for line in lines if line.startswith("FAIL:")]
    assert not fails and rc == 0, "\n".join(fails) + "\n" + tail
    oks = [line for line in lines if line.startswith("ok: ")]
    assert len(oks) >= 30, tail
    for want in ["ok: hello-normal: exit status 0", "ok: hello-protected: exit status 0",
                 "ok: smp-protected: exit status 0", "ok: fault: exit status 4",
                 "ok: mmio: err has 'moat-vmm: unclaimed MMIO at 0xa000020: 10 reads, 0 writes'",
                 "ok: too-many-cpus: exit status 2"]:
        assert want in lines, f"missing {want!r}:\n{tail}"
    assert any(line.startswith("ok: measurement printed, same twice: ") for line in lines), tail


@pytest.mark.parametrize("cpu,smp,cases", [
    ("cortex-a72", 2, "normal:1,protected:1,normal:2,protected:2"),
    ("cortex-a72", 4, "protected:2,normal:1,term:2"),
])
def test_vmm_linux_guest(request, cpu, smp, cases):
    """Debian's stock kernel as a guest of moat-vmm (tests/linux/vmm-linux.sh): boots to its marker on
    1 and 2 vCPUs, protected and normal, reads a line typed on the VMM's stdin (PL011 RX interrupt) and
    powers off (exit 0); "term" cases: SIGTERM to moat-vmm while the guest idles -> exit 143."""
    # the kernel hands an unknown NAME=VALUE of its command line to /init's environment
    lines, rc = boot_linux_host(request, "vmm-linux", smp=smp, cpu=cpu, timeout=600,
                                append=f"VMM_LINUX_CASES={cases}", initrd=INITRAMFS_LINUX)
    tail = "\n".join(lines[-80:])
    fails = [line for line in lines if line.startswith("FAIL:")]
    assert not fails and rc == 0, "\n".join(fails) + "\n" + tail
    for case in cases.split(","):
        kind, cpus = case.split(":")
        name = f"linux-{kind}-{cpus}"
        wants = [f"ok: {name}: exit status 0", f"ok: {name}: guest up on {cpus} CPU(s)",
                 f"ok: {name}: console input reached the guest"]
        if kind == "term":
            wants = [f"ok: {name}: exit status 143", f"ok: {name}: SIGTERM stopped the VM"]
        for want in wants:
            assert want in lines, f"missing {want!r}:\n{tail}"


@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_vmm_kvm_backend(request, cpu):
    """The KVM backend (--backend kvm) on Debian's kernel with KVM (no moat): hello's console and
    SYSTEM_OFF, --protected refused (tests/linux/vmm-kvm.sh); Debian's kernel as a 2-vCPU guest
    with console input (tests/linux/vmm-linux.sh, case kvm:2)."""
    lines, rc = boot_linux_host(request, "vmm-kvm", smp=2, cpu=cpu, kvm=True)
    tail = "\n".join(lines[-60:])
    assert rc == 0 and not [line for line in lines if line.startswith("FAIL:")], tail
    for want in ["ok: kvm-hello: exit status 0", "ok: kvm-hello: console", "ok: kvm: --protected refused"]:
        assert want in lines, f"missing {want!r}:\n{tail}"
    lines, rc = boot_linux_host(request, "vmm-linux", smp=2, cpu=cpu, timeout=600, append="VMM_LINUX_CASES=kvm:2",
                                initrd=INITRAMFS_LINUX, kvm=True)
    tail = "\n".join(lines[-60:])
    assert rc == 0 and not [line for line in lines if line.startswith("FAIL:")], tail
    for want in ["ok: linux-kvm-2: exit status 0", "ok: linux-kvm-2: guest up on 2 CPU(s)",
                 "ok: linux-kvm-2: console input reached the guest"]:
        assert want in lines, f"missing {want!r}:\n{tail}"
