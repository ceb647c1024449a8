"""moat-vmm's virtio devices (issue 15; docs/moat-vmm.md, "virtio devices").

  - host-native: the devicetree with --disk / --net / --virtio-console (--dump-dtb read back with
    fdtget): the virtio-mmio slots, their SPIs, and the restricted-dma-pool of a protected VM;
  - end to end: QEMU (-m 2G) -> moat -> Debian's kernel as the host, whose /init runs
    tests/linux/vmm-virtio.sh: a Linux guest on virtio-blk (ext4, 64 MiB written and read back with
    checksums) and virtio-net (ping, 16 MiB to the host's busybox nc with a checksum), protected and
    normal; the VMM's scan of guest RAM never sees the protected guest's secret; a VMM that corrupts
    its rings (MOAT_VMM_FAULT_INJECT) leaves the core's invariants intact (needs `make -j2 && make linux`).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from test_vmm import boot_linux_host

ROOT = Path(__file__).resolve().parents[2]
VMM = ROOT / "build" / "vmm-host" / "moat-vmm"
HELLO = ROOT / "build" / "guest" / "hello.bin"
INITRAMFS_VIRTIO = ROOT / "build" / "linux" / "host-initramfs-virtio.cpio"


@pytest.fixture(scope="module")
def vmm():
    subprocess.run(["make", "--no-print-directory", "-s", str(VMM.relative_to(ROOT))], cwd=ROOT, check=True)
    return VMM


def fdtget(dtb: Path, node: str, prop: str, typ: str = "x") -> str:
    return subprocess.run(["fdtget", "-t", typ, str(dtb), node, prop], stdout=subprocess.PIPE, text=True,
                          check=True).stdout.strip()


def dump(vmm, tmp_path, *args) -> Path:
    out = tmp_path / "vm.dtb"
    r = subprocess.run([str(vmm), "run", "--kernel", str(HELLO), *args, "--dump-dtb", str(out)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return out


def test_virtio_dtb_protected(vmm, tmp_path):
    """Protected: three slots at QEMU virt's addresses and SPIs, each naming the pool; the pool is 16 MiB
    at the top of RAM under /reserved-memory, with no no-map."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    dtb = dump(vmm, tmp_path, "--protected", "--mem", "256M", "--disk", str(disk), "--net", "tap:t0",
               "--virtio-console")
    pool = "/reserved-memory/restricted-dma@4f000000"
    assert fdtget(dtb, pool, "compatible", "s") == "restricted-dma-pool"
    assert fdtget(dtb, pool, "reg") == "0 4f000000 0 1000000"
    phandle = fdtget(dtb, pool, "phandle")
    r = subprocess.run(["fdtget", str(dtb), pool, "no-map"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode != 0
    for i in range(3):
        node = f"/virtio_mmio@{0xa000000 + 0x200 * i:x}"
        assert fdtget(dtb, node, "compatible", "s") == "virtio,mmio"
        assert fdtget(dtb, node, "reg") == f"0 {0xa000000 + 0x200 * i:x} 0 200"
        assert fdtget(dtb, node, "interrupts") == f"0 {0x10 + i:x} 4"
        assert fdtget(dtb, node, "memory-region") == phandle
        assert fdtget(dtb, node, "dma-coherent") == ""
    # the initrd and DTB stay below the pool
    assert subprocess.run(["fdtget", str(dtb), "/virtio_mmio@a000600", "reg"], stderr=subprocess.PIPE).returncode


def test_virtio_dtb_normal_and_none(vmm, tmp_path):
    """Normal VM: the slots without memory-region and no pool; no virtio option: no virtio node at all
    (the DTB of issue 12 unchanged)."""
    dtb = dump(vmm, tmp_path, "--net", "tap:t0")
    assert fdtget(dtb, "/virtio_mmio@a000000", "interrupts") == "0 10 4"
    for node, prop in [("/virtio_mmio@a000000", "memory-region"), ("/reserved-memory", "ranges")]:
        assert subprocess.run(["fdtget", str(dtb), node, prop], stderr=subprocess.PIPE).returncode != 0
    dtb = dump(vmm, tmp_path)
    text = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(dtb)], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True).stdout
    assert "virtio" not in text and "reserved-memory" not in text


def test_virtio_args(vmm):
    for args, msg in [(["--net", "eth0"], "--net 'eth0': want tap:NAME"),
                      (["--net", "tap:" + "x" * 16], "a name of 1 to 15 characters"),
                      (["--protected", "--mem", "32M", "--net", "tap:t0"], "needs at least 64 MiB")]:
        r = subprocess.run([str(vmm), "run", "--kernel", str(HELLO), *args, "--dump-dtb", "/dev/null"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        assert r.returncode == 2 and msg in r.stderr, r.stderr


def boot_virtio(request, cases: str, cpu: str = "cortex-a72", timeout: int = 900, kvm: bool = False,
                guest_args: str = "") -> list[str]:
    """The Linux host with 2 GiB (a disk image in its tmpfs and a 256 MiB guest do not fit in 1 GiB),
    /init running tests/linux/vmm-virtio.sh on VIRTIO_CASES; every check must pass."""
    if not INITRAMFS_VIRTIO.exists():
        pytest.fail("no host-initramfs-virtio.cpio: run 'make -j2 && make linux && make guest-kernel' first")
    append = f"VIRTIO_CASES={cases}" + (f" VIRTIO_GUEST_ARGS={guest_args}" if guest_args else "")
    lines, rc = boot_linux_host(request, "vmm-virtio", smp=2, cpu=cpu, timeout=timeout, append=append,
                                initrd=INITRAMFS_VIRTIO, kvm=kvm, mem="2G")
    fails = [line for line in lines if line.startswith("FAIL:")]
    assert not fails and rc == 0, "\n".join(fails) + "\n" + "\n".join(lines[-100:])
    return lines


def want_all(lines: list[str], wants: list[str]):
    tail = "\n".join(lines[-100:])
    for want in wants:
        assert want in lines, f"missing {want!r}:\n{tail}"


def io_wants(name: str) -> list[str]:
    return [f"ok: {name}: exit status 0", f"ok: {name}: hello through hvc0", f"ok: {name}: ext4 mounted on /dev/vda",
            f"ok: {name}: blk: 64 MiB checksum ok", f"ok: {name}: ping ok: 3 replies", f"ok: {name}: net: nc done",
            f"ok: {name}: host received 16777216 bytes, sha256 matches"]


# A "cpu" parameter: the second integration pass (-cpu max) leaves this out instead of booting it again.
@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_virtio_linux_guest(request, cpu):
    """A normal and a protected Linux guest on virtio-blk, virtio-net and virtio-console
    (tests/linux/vmm-virtio.sh): a line through hvc0 to the VMM's stdout, ext4 on /dev/vda, 64 MiB
    written and read back with the same SHA-256, 3 pings of the host, 16 MiB
    sent to the host's nc with the same SHA-256 on both ends. The VMM's scan of guest RAM finds the
    guest's secret in the normal VM (its RAM is VMM memory) and never in the protected one, where the
    pool was readable and every page the guest did not share was refused; the core's CHECK counter
    stays 0."""
    lines = boot_virtio(request, "normal,protected", cpu=cpu)
    want_all(lines, io_wants("virtio-normal") + io_wants("virtio-protected") +
             ["ok: virtio-normal: scan finds the secret in a normal VM's RAM",
              "ok: virtio-protected: core CHECK 0 violations after the run"])
    scan = next(line for line in lines if line.startswith("ok: virtio-protected: scan never saw the secret"))
    m = re.search(r"passes=(\d+) pool_pages_readable=(\d+) other_pages_readable=(\d+) refused=(\d+) hits=0", scan)
    assert m and int(m.group(1)) >= 1, scan
    # The whole pool (4096 pages) was readable once the guest shared it; outside it only the few pages
    # the guest kernel shares itself (its DMA atomic pools, kernel/dma/pool.c), a tiny fraction of
    # what was refused (every other page, every pass).
    passes, pool, other, refused = (int(m.group(i)) for i in range(1, 5))
    assert pool == 4096 and refused >= passes * 60000 and other <= passes * 64, scan


# A "cpu" parameter: the second integration pass (-cpu max) leaves this out instead of booting it again.
@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_virtio_malicious_vmm(request, cpu):
    """A VMM that corrupts its used rings or reaches outside the pool (MOAT_VMM_FAULT_INJECT, test-only;
    protected guests): the guest may fail its I/O or panic, but the VMM does not crash, all its reads
    outside the pool are refused (desc-addr), the scan never sees the secret and the core's CHECK
    counter stays 0."""
    modes = ["used-idx", "desc-addr", "vq-index", "desc-len"]
    lines = boot_virtio(request, ",".join(f"fault:{m}" for m in modes), cpu=cpu)
    for mode in modes:
        name = f"virtio-fault-{mode}"
        want_all(lines, [f"ok: {name}: core CHECK 0 violations after the run"])
        assert any(line.startswith(f"ok: {name}: scan never saw the secret") for line in lines)
        assert any(line.startswith(f"ok: {name}: moat-vmm exit status") for line in lines)
    assert any(re.match(r"ok: virtio-fault-desc-addr: all \d+ reads outside the pool refused", line) for line in lines)
