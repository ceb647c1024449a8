"""Self-hosted debug in guests (issue 11, Deliver 8; core/guest_debug.c, guest/debug,
host/testhost/tests/debug.c).

A normal guest sees the CPU's breakpoints and watchpoints (DebugVer capped at Armv8.0 debug,
whose state is what the core switches), has an OS lock of its own, and takes breakpoint,
watchpoint and software step exceptions at its own EL1 with exact syndromes and addresses; the
HMC, SSC and BT[3] fields it writes are masked (no guest breakpoint can match at EL2). The host's
debug registers, MDSCR_EL1 and OS lock are as it left them afterwards. A protected guest sees
DebugVer 0, its debug registers read as zero and ignore writes, and no debug exception is taken.
"""

from __future__ import annotations

import pytest

CPUS = ["cortex-a72", "max"]

NORMAL = [
    # cortex-a72 and QEMU's max both have 6 breakpoints (2 context-aware) and 4 watchpoints; max has
    # Debugv8p4 (9), shown as Armv8.0 debug (6).
    "guest: debug DebugVer 6 BRPs 5 WRPs 3 CTX_CMPs 1",
    # OSLM = 0b10 (the OS lock is implemented), OSLK 1 at reset, 0 after OSLAR_EL1 = 0.
    "guest: debug oslsr 0xa 0x8",
    "guest: debug read back bcr0 0x1e7 wcr0 0x1ff6 bvr0-insn 0 wvr0-var 0",
    # bcr1 written 0x8061e6 (HMC, SSC, BT[3]), wcr1 0xe1ffe (HMC, SSC): read back without them.
    "guest: debug masked bcr1 0x1e6 wcr1 0x1ffe",
    # EC 0x31 (breakpoint, current EL), IL, IFSC 0x22 (debug); the add was not executed.
    "guest: debug breakpoint esr 0xc6000022 elr-insn 0 ran 0",
    # EC 0x35 (watchpoint, current EL), IL, WnR, DFSC 0x22; FAR the variable, ELR the store.
    # Each "armed" line is console MMIO: the VM exits and re-enters (put, load) with its debug state armed.
    "guest: debug watchpoint armed",
    "guest: debug watchpoint esr 0xd6000062 far-var 0 elr-insn 0",
    "guest: debug step armed",
    # EC 0x33 (software step, current EL), IL, ISV, IFSC 0x22, after exactly one instruction.
    "guest: debug step esr 0xcf000022 elr-after 0 x0 1 ran 3",
    # The stepped instruction is an MRS the core completes (TID3): the step exception still follows it at once
    # (the core clears SPSR_EL2.SS as it skips the instruction); ISV 0: taken before the next instruction ran.
    "guest: debug step trapped esr 0xce000022 elr-after 0 x0 0 ran 2",
    "guest: debug exceptions 4",
    "guest: debug done",
]

PROTECTED = [
    "guest: debug DebugVer 0 BRPs 0 WRPs 0 CTX_CMPs 0",
    "guest: debug protected reads 0x0 0x0 0x0 0x0 0x0 0x0",
    "guest: debug protected taken 0 ran 1 3",
    "guest: debug exceptions 0",
    "guest: debug done",
]


@pytest.mark.parametrize("cpu", CPUS)
def test_normal_guest_debug(boot, cpu):
    b = boot(test="vm_debug_normal", cpu=cpu)
    assert b.passed("vm_debug_normal"), f"{b.failures('vm_debug_normal')}\n{b.describe()}"
    got = [line for line in b.lines if line.startswith("guest: debug")]
    assert got == NORMAL, b.describe()
    assert ("debug: host after: bvr0 0x123450 bcr0 0x1e4 wvr0 0x56788 wcr0 0x1ffc bcr1 0x0 wcr1 0x0 "
            "mdscr 0x8000 oslsr 0xa") in b.lines, b.describe()
    # The guest's debug registers are its own, not refusals.
    assert not [line for line in b.core_lines if "DBG" in line or "MDSCR" in line or "OSLAR" in line], \
        b.describe()


@pytest.mark.parametrize("cpu", CPUS)
def test_protected_guest_has_no_debug(boot, cpu):
    b = boot(test="vm_debug_protected", cpu=cpu)
    assert b.passed("vm_debug_protected"), f"{b.failures('vm_debug_protected')}\n{b.describe()}"
    got = [line for line in b.lines if line.startswith("guest: debug")]
    assert got == PROTECTED, b.describe()
    for reg in ("OSLAR_EL1 (S2_0_C1_C0_4)", "DBGBCR0_EL1 (S2_0_C0_C0_5)", "MDSCR_EL1 (S2_0_C0_C2_2)"):
        assert [line for line in b.core_lines if f"MSR {reg}: read as zero, writes ignored (RAZ/WI)" in line], \
            f"{reg}\n{b.describe()}"
