"""The core's own boot: stage-2 block coverage, the panic dump, and bad device trees.

Bad device trees cannot be given through QEMU (it refuses to load them), so
those tests boot build/dtbshim.elf: an ELF that QEMU enters at EL2 with no
register set-up, which points x0 at a blob loaded at 0x4e000000 and jumps to
the core loaded at 0x40200000 (tests/integration/dtbshim.S).
"""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DTB_AT = 0x4E000000
CORE_AT = 0x40200000

COVERAGE_RE = re.compile(
    r"host stage-2: RAM (\d+) MiB host-owned: 1G blocks (\d+) MiB, 2M blocks (\d+) MiB, "
    r"4K pages (\d+) KiB, unmapped (\d+) KiB; ([\d.]+)% in blocks >= 2 MiB")


@pytest.mark.parametrize("mem", ["256M", "1G", "4G"])
def test_host_stage2_block_coverage(boot, mem):
    """At boot, >= 99 % of host RAM is mapped by 1 GiB / 2 MiB blocks and nothing host-owned is unmapped."""
    b = boot(test="hvc_version", mem=mem)
    m = next((COVERAGE_RE.search(line) for line in b.core_lines if COVERAGE_RE.search(line)), None)
    assert m, b.describe()
    ram_mib, g1, m2, k4, unmapped, percent = (int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]),
                                              float(m[6]))
    print(f"{mem}: {ram_mib} MiB host RAM: 1G {g1} MiB, 2M {m2} MiB, 4K {k4} KiB -> {percent}% in blocks")
    assert unmapped == 0
    assert g1 + m2 + k4 // 1024 == ram_mib
    assert percent >= 99.0
    if mem == "4G":
        assert g1 >= 2048, "whole host-owned GiBs must use 1 GiB blocks"


def test_core_panic_dump(boot):
    """A fault inside the core (the panic-test image writes to its own text) prints the full dump and powers off."""
    b = boot(kernel="build/moat-panictest.bin", timeout=30)
    out = b.output
    assert "panic test: writing to core text" in out, b.describe()
    assert "core exception: EL2h sync" in out
    m = re.search(r"ESR_EL2 0x([0-9a-f]{16}) \(EC 0x([0-9a-f]{2})\)\s+FAR_EL2 0x([0-9a-f]{16})", out)
    assert m, b.describe()
    assert int(m[2], 16) == 0x25, "a data abort taken at EL2"
    assert int(m[1], 16) & 0x3C == 0x0C, "a permission fault: the text is mapped read-only (W^X)"
    assert int(m[3], 16) == CORE_AT
    assert re.search(r"ELR_EL2 0x[0-9a-f]{16}\s+SPSR_EL2 0x[0-9a-f]{16}\s+SP 0x[0-9a-f]{16}", out)
    for reg in ("x0 ", "x1 ", "x28", "x29", "x30"):
        assert re.search(rf"moat: cpu0: error: .*\b{reg.strip()}\s+0x[0-9a-f]{{16}}", out), reg
    assert "moat: PANIC" in out
    assert "TEST-START" not in out, "the host must never run after a core panic"


def _virt_dtb(tmp_path: Path) -> bytes:
    path = tmp_path / "virt.dtb"
    subprocess.run(["qemu-system-aarch64", "-M", f"virt,virtualization=on,gic-version=3,its=off,dumpdtb={path}",
                    "-cpu", "cortex-a72", "-m", "1G", "-nographic", "-net", "none"],
                   check=True, capture_output=True, timeout=30)
    return path.read_bytes()


def _hdr(blob: bytes, index: int) -> int:
    return struct.unpack_from(">I", blob, 4 * index)[0]


def _with_hdr(blob: bytes, index: int, value: int) -> bytes:
    out = bytearray(blob)
    struct.pack_into(">I", out, 4 * index, value)
    return bytes(out)


def _corrupt_struct_token(blob: bytes) -> bytes:
    off = _hdr(blob, 2)  # off_dt_struct
    out = bytearray(blob)
    # The root's FDT_BEGIN_NODE, then its (empty) name, then the first token of the root.
    struct.pack_into(">I", out, off + 8, 0x0BADF00D)
    return bytes(out)


# name -> (how to damage the blob, the reason the core must print)
BAD_DTBS = {
    "bad_magic": (lambda b: _with_hdr(b, 0, 0x12345678), "bad magic"),
    "totalsize_beyond_2MiB": (lambda b: _with_hdr(b, 1, 3 << 20), "totalsize"),
    "truncated_strings": (lambda b: _with_hdr(b, 1, _hdr(b, 3) + 16), ""),
    "struct_beyond_totalsize": (lambda b: _with_hdr(b, 2, _hdr(b, 1) - 8), ""),
    "bad_token": (_corrupt_struct_token, ""),
    "zeroes": (lambda b: bytes(len(b)), "bad magic"),
}


@pytest.mark.parametrize("name", sorted(BAD_DTBS))
def test_bad_device_tree_powers_off(boot, tmp_path, name):
    """A corrupt or truncated DTB gives one clear fatal line and a power-off, never a hang."""
    damage, reason = BAD_DTBS[name]
    blob = damage(_virt_dtb(tmp_path))
    bad = tmp_path / f"{name}.dtb"
    bad.write_bytes(blob)
    b = boot(kernel="build/dtbshim.elf", host=False, timeout=20, extra=(
        "-device", f"loader,file={ROOT / 'build/moat.bin'},addr={CORE_AT:#x},force-raw=on",
        "-device", f"loader,file={bad},addr={DTB_AT:#x},force-raw=on"))
    fatal = [line for line in b.core_lines if "fatal:" in line]
    assert fatal, b.describe()
    assert f"device tree at {DTB_AT:#x} is invalid" in fatal[0]
    assert reason in fatal[0]
    assert any("powering off" in line for line in b.core_lines)
    assert b.returncode == 0, "QEMU exits through PSCI SYSTEM_OFF"


@pytest.mark.parametrize("test,cpu", [("boot_protocol", "cortex-a72"), ("demo", "cortex-a72"),
                                      ("vm_hello_protected", "cortex-a72"), ("vm_hello_normal", "cortex-a72"),
                                      ("boot_protocol", "max"), ("vm_hello_protected", "max"),
                                      ("vm_vgic", "cortex-a72")])
def test_poisoned_sysregs(boot, test, cpu):
    """A core that starts with garbage in every register it must initialise still gives a working host and guests.

    QEMU resets most system registers to harmless values, so a register the core forgot would only show on
    hardware (DESIGN §15); build/moat-poison.bin fills them with garbage before the core initialises them.
    """
    b = boot(test=test, kernel="build/moat-poison.bin", cpu=cpu)
    assert any("system registers poisoned" in line for line in b.core_lines), b.describe()
    assert b.passed(test), b.describe()
