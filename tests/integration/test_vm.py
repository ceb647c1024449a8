"""VMs under moat, driven by the test host's VMM (host/testhost/vmm.c) and
the test guests (guest/README.md): one QEMU boot per test-host test.

Each test requires the test host's own verdict (TEST-PASS) and then checks
the evidence again from the UART: the guest's exact lines (the VMM echoes
the guest console) and the report lines the tests print.
"""

from __future__ import annotations

import hashlib
import re
import struct

import pytest

from moat_qemu import BUILD

HELLO = ["guest: hello from a moat VM", "guest: PSCI version 0x10001", "guest: SMCCC version 0x10001"]

REGS_X19_X20 = "guest: x19=0x1111222233334444 x20=0x5555666677778888"
REGS_MMIO = "guest: mmio 0x0a000010 = 0xbadf00d"  # the host answers 0xfeedface0badf00d to a 32-bit load

MMIO_SIZES = [
    "guest: mmio ldrb w = 0x10",
    "guest: mmio ldrsb w = 0x10",
    "guest: mmio ldrsb x = 0x10",
    "guest: mmio ldrh w = 0x3210",
    "guest: mmio ldrsh w = 0x3210",
    "guest: mmio ldrsh x = 0x3210",
    "guest: mmio ldr w = 0x76543210",
    "guest: mmio ldrsw x = 0x76543210",
    "guest: mmio ldr x = 0xfedcba9876543210",
    "guest: mmio ldr wzr = 0x0",
    "guest: mmio ldrb w = 0x80",
    "guest: mmio ldrsb w = 0xffffff80",
    "guest: mmio ldrsb x = 0xffffffffffffff80",
    "guest: mmio_sizes ok",
]

FAULT = [
    "guest: abort ESR_EL1=0x96000010 FAR_EL1=0x20000000",
    "guest: ldp abort ESR_EL1=0x96000010 FAR_EL1=0x9000000",
    "guest: fault ok",
]


def assert_passed(b, name):
    assert b.passed(name), f"test host test {name!r} did not pass: {b.failures(name)}\n{b.describe()}"


def guest_lines(b):
    return b.lines_starting("guest: ")


def report(b, pattern):
    """All matches of a report-line regex (anchored at line start)."""
    return [m for m in (re.match(pattern, line) for line in b.lines) if m]


@pytest.mark.parametrize("name", ["vm_hello_protected", "vm_hello_normal"])
def test_hello(boot, name):
    b = boot(test=name)
    assert_passed(b, name)
    assert guest_lines(b) == HELLO, b.describe()


@pytest.mark.parametrize("name", ["vm_memtouch", "vm_memtouch_normal"])
def test_memtouch(boot, name):
    b = boot(test=name)
    assert_passed(b, name)
    assert guest_lines(b) == ["guest: memtouch 16384 pages ok"], b.describe()
    m = report(b, r"^memtouch: (\d+) MEM_FAULT exits, (\d+) pages reclaimed, (\d+) not zero$")
    assert len(m) == 1, b.describe()
    faults, reclaimed, dirty = (int(x) for x in m[0].groups())
    assert faults >= 16384
    assert reclaimed >= faults  # every demand-paged page, plus root, memcache and image
    assert dirty == 0


def test_regs_normal(boot):
    b = boot(test="vm_regs_normal")
    assert_passed(b, "vm_regs_normal")
    assert guest_lines(b) == ["guest: x21=0x21c0ffee5eed2121", REGS_MMIO, REGS_X19_X20], b.describe()
    m = report(b, r"^regs: normal VM: GET_REG x19 -> 0 (0x[0-9a-f]+), x20 -> 0 (0x[0-9a-f]+), "
                  r"PC -> 0 (0x[0-9a-f]+), SET_REG x21 -> 0$")
    assert m, b.describe()
    x19, x20, pc = (int(x, 16) for x in m[0].groups())
    assert (x19, x20) == (0x1111222233334444, 0x5555666677778888)
    assert 0x40000000 <= pc < 0x40100000


def test_regs_protected(boot):
    b = boot(test="vm_regs_protected")
    assert_passed(b, "vm_regs_protected")
    # GET_REG / SET_REG refused with MOAT_E_PERM (-4); the guest sees x21 untouched.
    assert guest_lines(b) == ["guest: x21=0x0", REGS_MMIO, REGS_X19_X20], b.describe()
    assert "regs: protected VM: GET_REG x19 -> -4 0x0, x20 -> -4 0x0, PC -> -4 0x0, SET_REG x21 -> -4" in b.lines


def test_pstate(boot):
    b = boot(test="vm_pstate")
    assert_passed(b, "vm_pstate")
    assert "pstate: SET_REG PSTATE 0x3c9 -> -2" in b.lines  # EL2h: MOAT_E_INVAL
    assert "pstate: SET_REG PSTATE 0x3c5 -> 0" in b.lines  # EL1h
    assert guest_lines(b) == HELLO, b.describe()


@pytest.mark.parametrize("name", ["vm_mmio_sizes", "vm_mmio_sizes_normal", "vm_mmio_sizes_wide"])
def test_mmio_sizes(boot, name):
    b = boot(test=name)
    assert_passed(b, name)
    assert guest_lines(b) == MMIO_SIZES, b.describe()


@pytest.mark.parametrize("name", ["vm_fault", "vm_fault_normal"])
def test_fault(boot, name):
    b = boot(test=name)
    assert_passed(b, name)
    assert [line for line in guest_lines(b) if "abort" in line or "fault" in line] == FAULT, b.describe()
    assert report(b, r"^fault: 2 GUEST_FAULT exits \(0x20000000, 0x9000000\), \d+ MMIO exits, none for the ldp$")


@pytest.mark.parametrize("name", ["vm_fpsimd", "vm_fpsimd_normal"])
def test_fpsimd(boot, name):
    b = boot(test=name)
    assert_passed(b, name)
    assert guest_lines(b) == ["guest: fpsimd exits", "guest: fpsimd ok"], b.describe()
    m = report(b, r"^fpsimd: \w+ fpsimd guest: (\d+) runs, host FP/SIMD changed after (\d+) of them$")
    assert len(m) == 1 and int(m[0].group(1)) >= 40 and int(m[0].group(2)) == 0, b.describe()


def test_host_registers_after_protected_run(boot):
    b = boot(test="vm_host_regs")
    assert_passed(b, "vm_host_regs")
    m = report(b, r"^gpr: protected (\w+) guest: (\d+) runs, x2\.\.x30 changed after (\d+) of them$")
    assert [x.group(1) for x in m] == ["regs", "fpsimd", "hello"], b.describe()
    assert all(int(x.group(3)) == 0 for x in m)
    assert REGS_X19_X20 in guest_lines(b)


def test_measurement(boot):
    b = boot(test="vm_measurement")
    assert_passed(b, "vm_measurement")
    m = report(b, r"^measurement: (\w+ \w+ x0=\d+): ([0-9a-f]{64})$")
    got = [(x.group(1), x.group(2)) for x in m]
    assert [k for k, _ in got] == ["protected hello x0=0", "protected hello x0=0", "protected regs x0=0",
                                   "protected hello x0=1", "normal hello x0=0"], b.describe()
    digests = [d for _, d in got]
    assert digests[0] == digests[1]
    assert len(set(digests)) == 4


def expected_measurement(image: bytes, *, vm_type: int, vcpus: int, ram: int, mmio: tuple[int, int], spis: int,
                         ipa: int, pc: int, x0: int) -> tuple[str, str]:
    """docs/measurement.md, written out again here from the document: (M, I) as hex. The image is LOADed
    page by page from ipa up, its last page zero-padded."""
    le64 = lambda v: struct.pack("<Q", v)  # noqa: E731
    i = hashlib.sha256(b"moat-image-v1")
    for off in range(0, len(image), 4096):
        i.update(le64(ipa + off) + image[off:off + 4096].ljust(4096, b"\0"))
    i.update(le64(pc) + le64(x0))
    image_digest = i.digest()
    m = hashlib.sha256(b"moat-vm-v2" + le64(vm_type) + le64(vcpus) + le64(ram) + le64(mmio[0]) + le64(mmio[1])
                       + le64(spis) + image_digest)
    return m.hexdigest(), image_digest.hex()


def test_measure_v2_recomputed(boot):
    """The core's measurement equals docs/measurement.md's, recomputed here from build/guest/hello.bin;
    one tampered byte in a LOADed page changes it; VM_SET_SPIS before or after the LOADs gives one value;
    a LOAD below the previous one is MOAT_E_ORDER and changes nothing (the test host checks that)."""
    b = boot(test="vm_measure_v2")
    assert_passed(b, "vm_measure_v2")
    got = {x.group(1): x.group(2) for x in report(b, r"^measure_v2: ([^:]+): ([0-9a-f]{64})$")}
    cfg = report(b, r"^measure_v2: tampered byte at offset (0x[0-9a-f]+), config: 1 vCPU, 1 MiB, "
                    r"MMIO (0x[0-9a-f]+)\+(0x[0-9a-f]+), pc (0x[0-9a-f]+) x0 0$")
    assert len(cfg) == 1, b.describe()
    flip, mmio_base, mmio_size, pc = (int(v, 16) for v in cfg[0].groups())
    hello = (BUILD / "guest" / "hello.bin").read_bytes()
    tampered = bytearray(hello)
    tampered[flip] ^= 1
    common = dict(vm_type=1, vcpus=1, ram=1 << 20, mmio=(mmio_base, mmio_size), ipa=0x40000000, pc=pc, x0=0)
    want = {
        "hello": expected_measurement(hello, spis=0, **common)[0],
        "hello tampered": expected_measurement(bytes(tampered), spis=0, **common)[0],
        "hello spis=0x2 before": expected_measurement(hello, spis=2, **common)[0],
        "hello spis=0x2 after": expected_measurement(hello, spis=2, **common)[0],
    }
    assert got == want, b.describe()
    assert got["hello"] != got["hello tampered"]


def test_lifecycle_stats(boot):
    b = boot(test="vm_lifecycle")
    assert_passed(b, "vm_lifecycle")
    stats = {m.group(1): m.group(2) for m in report(b, r"^lifecycle: ([^:]+): (.*)$")}
    assert stats.keys() == {"before", "8 VMs built", "after"}, b.describe()
    assert stats["before"] == stats["after"]
    assert "vms 8 vcpus 8" in stats["8 VMs built"]


def test_caps(boot):
    b = boot(test="vm_caps")
    assert_passed(b, "vm_caps")
    m = report(b, r"^caps: status 0, types 0x3, features 0x0, max VMs (\d+), max vCPUs per VM (\d+)$")
    assert m and int(m[0].group(1)) >= 8 and int(m[0].group(2)) >= 1, b.describe()


VGIC = [
    "guest: vgic typer=0x480002 iidr=0x100043b pidr2=0x30 gicr_typer=0x10",
    "guest: vgic ticks=20",
    "guest: vgic sgi=1",
    "guest: vgic spi33=3 spi34=0 spurious=0",
    "guest: vgic garbage iidr=0x100043b",
    "guest: vgic done",
]


@pytest.mark.parametrize("cpu", ["cortex-a72", "max"])
def test_vgic(boot, cpu):
    """The core's vGIC and the guest's virtual timer: 20 ticks at 1 ms, none lost or doubled, no exit per tick;
    SGI to itself; SPIs through IRQ_LINE, an unlisted one refused; a 100,000-call IRQ_LINE flood first."""
    b = boot(test="vm_vgic", cpu=cpu)
    assert_passed(b, "vm_vgic")
    lines = guest_lines(b)
    for line in VGIC:
        assert line in lines, b.describe()
    assert len([l for l in lines if l.startswith("guest: vgic ticks=")]) == 1, b.describe()
    ticks = [m for m in (re.match(r"guest: vgic late=(\d+) elapsed_ms=(\d+)$", l) for l in lines) if m]
    assert len(ticks) == 1, b.describe()
    assert int(ticks[0].group(2)) >= 25, b.describe()  # 20 periods, then 5 ms with the timer off
    window = report(b, r"vgic: exits during the ticks (\d+) \(IRQ (\d+)\); raises 3 acks 3; IRQ_LINE 34 -> -4$")
    assert len(window) == 1, b.describe()
    assert int(window[0].group(1)) <= 2, b.describe()
    assert report(b, r"vgic: 100000 IRQ_LINE calls in \d+ ms$"), b.describe()
