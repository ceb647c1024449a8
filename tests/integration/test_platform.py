"""Routes around stage 2 on the QEMU virt platform (DESIGN §0, §1)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("smp", [1, 2])
def test_gicr_lpi_blocked(boot, smp):
    """The host can use its redistributors but never enable LPIs or aim their tables."""
    b = boot(test="gicr_lpi_blocked", smp=smp)
    assert b.passed("gicr_lpi_blocked"), b.describe()
    assert any("EnableLPIs stays 0" in line for line in b.lines), b.describe()
