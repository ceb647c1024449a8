"""moat-vmm (issue 12, item 4; docs/moat-vmm.md).

Two halves:
  - host-native: the VMM built for this machine (build/vmm-host/moat-vmm, ASan + UBSan) runs
    everything short of a VM: --help, the argument errors (exit 2 and the message), and the devicetree
    (--dump-dtb) read back with dtc/fdtget and compared with the one QEMU virt itself gives a guest;
  - end to end: QEMU -> moat -> Debian's stock kernel as the host, whose /init runs
    tests/linux/vmm-guests.sh: the bare-metal guests through the arm64 moat-vmm on /dev/moat
    (needs `make -j2 && make linux`).
And tools/moat-measure (docs/measurement.md): host-native, its output against the byte layout written
out again here with hashlib; end to end, equal bit for bit to the measurement the core gave moat-vmm
for the bare-metal guests and for Debian's kernel as a protected guest.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
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
MEASURE = ROOT / "build" / "tools" / "moat-measure"
GUESTS = ROOT / "build" / "guest"


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


# ---- tools/moat-measure ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def measure_tool():
    subprocess.run(["make", "--no-print-directory", "-s", str(MEASURE.relative_to(ROOT))], cwd=ROOT, check=True)
    return MEASURE


def moat_measure(*args) -> tuple[str, str]:
    """(measurement, image digest) as moat-measure prints them."""
    r = subprocess.run([str(MEASURE), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60)
    assert r.returncode == 0, r
    m = re.fullmatch(r"measurement ([0-9a-f]{64})\nimage-digest ([0-9a-f]{64})\n", r.stdout)
    assert m, r.stdout
    return m.group(1), m.group(2)


def test_measure_help_and_errors(measure_tool, tmp_path):
    r = subprocess.run([str(MEASURE), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0 and r.stderr == "" and r.stdout.startswith("usage: moat-measure --kernel IMG"), r
    for opt in ["--initrd", "--cmdline", "--mem", "--cpus", "--protected", "--dtb", "--json"]:
        assert opt in r.stdout
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    cases = [
        ([], "usage: moat-measure"),
        (["--protected"], "moat-measure: --kernel IMG is required"),
        (["--kernel", str(tmp_path / "missing")], f"moat-measure: --kernel '{tmp_path / 'missing'}': No such file"),
        (["--kernel", str(HELLO), "--initrd", str(empty)], f"moat-measure: --initrd '{empty}': the file is empty"),
        (["--kernel", str(HELLO), "--mem", "1Q"], "moat-measure: --mem '1Q': want a size"),
        (["--kernel", str(HELLO), "--backend", "kvm"], "moat-measure: '--backend' is an option of moat-vmm only"),
        (["--kernel", str(HELLO), "--bogus"], "moat-measure: bad option '--bogus'"),
    ]
    for args, message in cases:
        r = subprocess.run([str(MEASURE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert r.returncode == 2 and r.stdout == "", (args, r)
        assert message in r.stderr, (args, r.stderr)


def expected_vm(kernel: bytes, initrd: bytes | None, dtb: bytes, mem: int, cpus: int) -> tuple[str, str]:
    """docs/measurement.md and docs/moat-vmm.md's layout, written out again: a raw kernel at RAM base; the
    DTB page-aligned at the top of RAM (of its first 512 MiB), the initrd page-aligned right below it;
    LOADs ascending; pc = RAM base, x0 = the DTB; the UART's SPI 1 in the mask. (M, I) as hex."""
    le64 = lambda v: struct.pack("<Q", v)  # noqa: E731
    base, page = 0x40000000, 4096
    top = base + min(mem, 512 << 20)
    dtb_addr = (top - len(dtb)) & ~(page - 1)
    loads = [(base, kernel)]
    if initrd is not None:
        loads.append(((dtb_addr - len(initrd)) & ~(page - 1), initrd))
    loads.append((dtb_addr, dtb))
    i = hashlib.sha256(b"moat-image-v1")
    for ipa, data in loads:
        for off in range(0, len(data), page):
            i.update(le64(ipa + off) + data[off:off + page].ljust(page, b"\0"))
    i.update(le64(base) + le64(dtb_addr))
    m = hashlib.sha256(b"moat-vm-v2" + le64(1) + le64(cpus) + le64(mem) + le64(0x08000000) + le64(0x08000000)
                       + le64(1 << 1) + i.digest())
    return m.hexdigest(), i.hexdigest()


def test_measure_layout_recomputed(measure_tool, vmm, tmp_path):
    """moat-measure's digests equal the document's, recomputed here from the files and the DTB moat-vmm
    dumps (--dump-dtb, the same plan code); the image digest ignores nothing it must cover and
    depends on RAM size and vCPU count only through the DTB's bytes and address."""
    initrd = tmp_path / "initrd"
    initrd.write_bytes(bytes((i * 7) & 0xff for i in range(3 * 4096 + 5)))
    dtb = tmp_path / "vm.dtb"
    common = ["--kernel", str(HELLO), "--initrd", str(initrd), "--cpus", "2", "--mem", "64M", "--cmdline", "x y"]
    assert run_vmm(vmm, "run", *common, "--dump-dtb", str(dtb)).returncode == 0
    got = moat_measure(*common, "--protected")
    want = expected_vm(HELLO.read_bytes(), initrd.read_bytes(), dtb.read_bytes(), 64 << 20, 2)
    assert got == want
    j = json.loads(subprocess.run([str(MEASURE), *common, "--protected", "--json"], check=True,
                                  stdout=subprocess.PIPE, text=True).stdout)
    assert (j["measurement"], j["image_digest"]) == want
    assert [x["what"] for x in j["loads"]] == ["kernel", "initrd", "devicetree"]
    assert [x["ipa"] for x in j["loads"]] == sorted(x["ipa"] for x in j["loads"])
    # A tampered byte of the initrd changes both.
    initrd.write_bytes(b"\x01" + initrd.read_bytes()[1:])
    other = moat_measure(*common, "--protected")
    assert other[0] != got[0] and other[1] != got[1]
    # A user DTB and >= 512 MiB of RAM: the DTB's bytes and place no longer follow RAM size or vCPU
    # count, so neither does the image digest; the measurement still does.
    fixed = ["--kernel", str(HELLO), "--dtb", str(dtb), "--protected"]
    a = moat_measure(*fixed, "--mem", "512M", "--cpus", "1")
    b = moat_measure(*fixed, "--mem", "1G", "--cpus", "2")
    assert a[1] == b[1] and a[0] != b[0]


def boot_linux_host(request, name: str, smp: int, cpu: str, timeout: int = 300, append: str = "",
                    initrd: Path = INITRAMFS, kvm: bool = False, mem: str = "") -> tuple[list[str], int | None]:
    """QEMU -> moat -> Debian's kernel, /init running tests/linux/NAME.sh; returns its lines and rc.
    kvm: no moat; the kernel boots at EL2 (QEMU's virtualization=on) and offers /dev/kvm.
    mem: the host's RAM (run-linux.sh --mem) when its default is not enough."""
    if not initrd.exists():
        pytest.fail(f"no {initrd.name}: run 'make -j2 && make linux' first")
    cmd = [str(ROOT / "tools" / "run-linux.sh"), "--run", name, "--smp", str(smp), "--cpu", cpu,
           "--timeout", str(timeout), "--append", append, "--initrd", str(initrd)] + (["--mem", mem] if mem else [])
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


def vmm_measurements(lines: list[str]) -> dict[str, str]:
    """NAME -> HEX of each "NAME| moat-vmm: measurement HEX" line the Linux host's scripts echo."""
    found = (re.fullmatch(r"([\w-]+)\| moat-vmm: measurement ([0-9a-f]{64})", line) for line in lines)
    return {m.group(1): m.group(2) for m in found if m}


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
    # The core's measurements, as moat-vmm printed them, equal moat-measure's from the same arguments.
    got = vmm_measurements(lines)
    subprocess.run(["make", "--no-print-directory", "-s", str(MEASURE.relative_to(ROOT))], cwd=ROOT, check=True)
    want = {
        "hello-protected": moat_measure("--kernel", str(HELLO), "--protected")[0],
        "hello-protected2": moat_measure("--kernel", str(HELLO), "--protected")[0],
        "hello-protected3": moat_measure("--kernel", str(HELLO), "--protected", "--cmdline", "other")[0],
        "smp-protected": moat_measure("--kernel", str(GUESTS / "smp.bin"), "--cpus", "2", "--protected")[0],
    }
    assert {k: got.get(k) for k in want} == want, tail


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
    # Debian's kernel as a protected guest: the core's measurement equals moat-measure's, from the same
    # kernel, initrd, memory size, vCPU count and command line on the build machine.
    protected = [c.split(":")[1] for c in cases.split(",") if c.startswith("protected:")]
    if protected:
        args = [re.fullmatch(r"vmm-linux: --mem (\S+) --cmdline '(.*)'", line) for line in lines]
        args = [m for m in args if m]
        assert len(args) == 1, tail
        deps = dict(re.findall(r"^(\w+) := (.*)$", (ROOT / "build" / "linux" / "vars.mk").read_text(), re.M))
        subprocess.run(["make", "--no-print-directory", "-s", str(MEASURE.relative_to(ROOT))], cwd=ROOT, check=True)
        got = vmm_measurements(lines)
        for cpus in protected:
            want = moat_measure("--kernel", deps["LINUX_IMAGE"], "--initrd",
                                str(ROOT / "build" / "linux" / "guest-initramfs.cpio"), "--mem", args[0].group(1),
                                "--cpus", cpus, "--protected", "--cmdline", args[0].group(2))[0]
            assert got.get(f"linux-protected-{cpus}") == want, f"core {got.get(f'linux-protected-{cpus}')}, " \
                f"moat-measure {want}\n{tail}"


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
