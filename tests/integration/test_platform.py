"""Routes around stage 2 on the QEMU virt platform (DESIGN §0, §1)."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("smp", [1, 2])
def test_gicr_lpi_blocked(boot, smp):
    """The host can use its redistributors but never enable LPIs or aim their tables."""
    b = boot(test="gicr_lpi_blocked", smp=smp)
    assert b.passed("gicr_lpi_blocked"), b.describe()
    assert any("EnableLPIs stays 0" in line for line in b.lines), b.describe()


GICR_BASE = 0x080A0000
GICR_FRAME_STRIDE = 0x20000
GICR_WINDOW_FRAMES = 0xF60000 // GICR_FRAME_STRIDE  # QEMU virt's redistributor window


def absent_frame_probes(b):
    """(verb, PA, ESR_EL1) of every refused access to an absent redistributor frame."""
    return [(m.group(1), int(m.group(2), 16), int(m.group(3), 16)) for m in re.finditer(
        r"^probe: (read|write) of absent GICR frame at PA (0x[0-9a-f]+) -> aborted "
        r"\(synchronous abort, ESR_EL1=(0x[0-9a-f]+)\)", b.output, re.M)]


def assert_absent_frames_refused(b, smp):
    assert b.passed("gicr_absent_frames"), b.describe()
    assert "PANIC" not in b.output, b.describe()
    first = GICR_BASE + smp * GICR_FRAME_STRIDE
    last = GICR_BASE + (GICR_WINDOW_FRAMES - 1) * GICR_FRAME_STRIDE
    probes = absent_frame_probes(b)
    assert [(v, pa) for v, pa, _ in probes] == [("read", first), ("write", first), ("read", last),
                                               ("write", last)], b.describe()
    for verb, pa, esr in probes:
        assert esr >> 26 == 0x25 and esr & 0x3F == 0x10, f"{verb} of {pa:#x}: ESR_EL1 {esr:#x}"
        assert bool(esr & (1 << 6)) == (verb == "write"), f"{verb} of {pa:#x}: WnR in ESR_EL1 {esr:#x}"
    assert len(b.lines_starting("host: still running")) == 4, b.describe()
    for i in range(smp):
        assert any(f"gicr: frame {i} at {GICR_BASE + i * GICR_FRAME_STRIDE:#x}" in line and
                   "EnableLPIs stays 0" in line for line in b.lines), b.describe()
    return first, last


@pytest.mark.parametrize("smp", [1, 2])
def test_gicr_absent_frames(boot, smp):
    """Frames QEMU does not back are not the core's: the host's access aborts at EL1, the core never sees it."""
    b = boot(test="gicr_absent_frames", smp=smp)
    first, last = assert_absent_frames_refused(b, smp)
    # The core emulates existing frames only, so it never touches (nor logs) an absent one.
    for pa in (first, last):
        assert not [line for line in b.core_lines if f"{pa:#x}" in line], b.describe()
    assert any(f"GICR: {smp} redistributor frame(s) emulated" in line for line in b.core_lines), b.describe()


def test_gicr_fixup_allgicr(boot):
    """A core that still forwards absent frames (test variant): its device access faults at EL2, the
    exception fixup turns that into an abort for the host and a log line, never a panic."""
    b = boot(test="gicr_absent_frames", smp=1, kernel="build/moat-allgicr.bin")
    first, last = assert_absent_frames_refused(b, 1)
    for verb, pa in (("read", first), ("write", first), ("read", last), ("write", last)):
        # CORE-LOG-FORMAT (core/host_mmio.c): the faulting device access names the PA.
        assert [line for line in b.core_lines if f"{pa:#x}" in line and "device" in line and verb in line], \
            f"no moat: line names the {verb} of {pa:#x}\n{b.describe()}"
