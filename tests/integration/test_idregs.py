"""What the host and the guests see of the CPU's features (DESIGN §0, §6), on
both CPUs of the test matrix: the platform baseline (cortex-a72) and -cpu max
(SVE, SME, PAuth, PMUv3p5, RAS, LOR).

The guest/idregs guest and the host_idregs test-host test print all 56
registers of the ID space (op0=3, op1=0, CRn=0, CRm=1..7, op2=0..7); every
value is asserted exactly, and the fields that matter by name. Then each runs
an SVE, an SME and a PAuth instruction: each must work exactly when the ID
registers advertise it. Also the core's log: the boot lines saying what is
hidden from whom, and the refused guest accesses of guest/refuse, each kind
logged once per VM and without the value the guest wrote.
"""

from __future__ import annotations

import re

import pytest

from moat_qemu import DEFAULT_CPU

CPUS = ["cortex-a72", "max"]
UNDEF = "undef ESR_EL1=0x2000000"  # EC 0 (unknown), IL 1

IDREGS_RE = re.compile(r"^(guest|host): idregs CRm=(\d): ((?:[0-9a-f]+ ){7}[0-9a-f]+)$")


def idregs(b, who):
    """{(crm, op2): value} from the "<who>: idregs CRm=n: ..." lines."""
    regs = {}
    for line in b.lines:
        m = IDREGS_RE.match(line)
        if m and m.group(1) == who:
            for op2, v in enumerate(m.group(3).split()):
                regs[(int(m.group(2)), op2)] = int(v, 16)
    assert len(regs) == 56, b.describe()
    return regs


def field(v, shift):
    return (v >> shift) & 0xF


def table(rows):
    """{(crm, op2): value} from seven rows of eight values, CRm 1..7."""
    return {(crm, op2): v for crm, row in enumerate(rows, 1) for op2, v in enumerate(row)}


Z = [0] * 8

# Guests: an allow-list (core/idregs.c). Zero everywhere else: AArch32, unallocated, SVE/SME, AFR, DFR1.
GUEST = {
    "cortex-a72": table([Z, Z, Z,
                         [0x1000011, 0, 0, 0, 0, 0, 0, 0],
                         [0x000F00F000000000, 0, 0, 0, 0, 0, 0, 0],
                         [0x11120, 0, 0, 0, 0, 0, 0, 0],
                         [0x1122, 0, 0, 0, 0, 0, 0, 0]]),
    "max": table([Z, Z, Z,
                  [0x1101000001110011, 0x21, 0, 0, 0, 0, 0, 0],
                  [0x000F00F000000000, 0, 0, 0, 0, 0, 0, 0],
                  [0x1221111110212120, 0x11111100211002, 0, 0, 0, 0, 0, 0],
                  [0x101122, 0x1000201002, 0x1021001000001011, 0, 0, 0, 0, 0]]),
}

# The host: the CPU's values (QEMU 7.2) minus SVE, SME, SCXTNUM, and PARange capped at 40 bits.
HOST = {
    "cortex-a72": table([
        [0x131, 0x10011001, 0x3010006, 0, 0x10201105, 0x40000000, 0x1260000, 0x2102211],
        [0x2101110, 0x13112111, 0x21232042, 0x1112131, 0x11142, 0x11121, 0, 0],
        [0x10110222, 0x12111111, 0x43, 0, 0, 0, 0, 0],
        [0x1000222, 0, 0, 0, 0, 0, 0, 0],
        [0x10305106, 0, 0, 0, 0, 0, 0, 0],
        [0x11120, 0, 0, 0, 0, 0, 0, 0],
        [0x1122, 0, 0, 0, 0, 0, 0, 0]]),
    "max": table([
        [0x11020131, 0x10011001, 0x6010009, 0, 0x10101105, 0x40000000, 0x1260000, 0x2122211],
        [0x2101110, 0x13112111, 0x21232042, 0x1112131, 0x11142, 0x11011121, 0x11110, 0x1111111],
        [0x10110222, 0x13211111, 0x43, 0, 0x11, 0, 0x1, 0],
        [0x1101001021110222, 0x21, 0, 0, 0, 0, 0, 0],
        [0x10305609, 0, 0, 0, 0, 0, 0, 0],
        [0x1221111110212120, 0x11111101211012, 0, 0, 0, 0, 0, 0],
        [0x32310201122, 0x11010211122, 0x1021011010011011, 0, 0, 0, 0, 0]]),
}

PFR0, PFR1, ZFR0, SMFR0, DFR0 = (4, 0), (4, 1), (4, 4), (4, 5), (5, 0)
ISAR1, ISAR2, MMFR0 = (6, 1), (6, 2), (7, 0)


def assert_passed(b, name):
    assert b.passed(name), f"test host test {name!r} did not pass: {b.failures(name)}\n{b.describe()}"


def diff(got, want):
    return [f"CRm={k[0]} op2={k[1]}: got {got[k]:#x}, want {want[k]:#x}" for k in sorted(want) if got[k] != want[k]]


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("name", ["vm_idregs", "vm_idregs_normal"])
def test_guest_idregs(boot, cpu, name):
    b = boot(test=name, cpu=cpu)
    assert_passed(b, name)
    got = idregs(b, "guest")
    # The fields the core claims to hide, by name first, so a failure says which.
    # Normal VMs alone see the PMU (core/guest_pmu.c): PMUVer the CPU's, capped at PMUv3p4 (max has v3p5).
    normal = name == "vm_idregs_normal"
    pmuver = {"cortex-a72": 1, "max": 5}[cpu] if normal else 0
    assert field(got[DFR0], 8) == pmuver, b.describe()
    # And debug (core/guest_debug.c): DebugVer capped at Armv8.0 debug (6; max has Debugv8p4, 9), the CPU's 6
    # breakpoints (2 context-aware) and 4 watchpoints. Protected VMs: all zero (test_guest_debug.py).
    debug = {"DebugVer": 6, "BRPs": 5, "WRPs": 3, "CTX_CMPs": 1} if normal else {}
    assert {k: field(got[DFR0], s) for k, s in (("DebugVer", 0), ("BRPs", 12), ("WRPs", 20), ("CTX_CMPs", 28))
            if field(got[DFR0], s)} == debug, b.describe()
    hidden = {
        "SVE": field(got[PFR0], 32), "RAS": field(got[PFR0], 28),
        "AMU": field(got[PFR0], 44), "SME": field(got[PFR1], 24), "MTE": field(got[PFR1], 8),
        "APA": field(got[ISAR1], 4), "API": field(got[ISAR1], 8), "GPA": field(got[ISAR1], 24),
        "GPI": field(got[ISAR1], 28), "GPA3": field(got[ISAR2], 8), "APA3": field(got[ISAR2], 12),
        "PMSVer": field(got[DFR0], 32), "TraceBuffer": field(got[DFR0], 44), "ZFR0": got[ZFR0],
        "SMFR0": got[SMFR0], "EL2": field(got[PFR0], 8),
    }
    assert {k: v for k, v in hidden.items() if v} == {}, b.describe()
    assert field(got[MMFR0], 0) == 2, "PARange must be 40 bits (the VM IPA size)"
    assert all(got[(crm, op2)] == 0 for crm in (1, 2, 3) for op2 in range(8)), "AArch32 registers must read zero"
    want = dict(GUEST[cpu])
    want[DFR0] |= pmuver << 8 | (0x10305006 if normal else 0)
    assert diff(got, want) == [], b.describe()
    # Hidden features are trapped: each use is an undefined instruction; so is a write to an ID register.
    for what in ("sve rdvl", "sme smstart", "pauth pacia", "msr id_aa64pfr0_el1"):
        assert f"guest: {what}: {UNDEF}" in b.lines, b.describe()


@pytest.mark.parametrize("cpu", CPUS)
def test_host_idregs(boot, cpu):
    b = boot(test="host_idregs", cpu=cpu)
    assert_passed(b, "host_idregs")
    got = idregs(b, "host")
    assert (field(got[PFR0], 32), field(got[PFR1], 24), got[ZFR0], got[SMFR0]) == (0, 0, 0, 0), b.describe()
    assert diff(got, HOST[cpu]) == [], b.describe()
    # Consistent with the ID registers: SVE and SME trapped, PAuth kept where the CPU has it.
    assert f"host: sve rdvl: {UNDEF}" in b.lines
    assert f"host: sme smstart: {UNDEF}" in b.lines
    assert ("host: pauth pacia: ran" if cpu == "max" else f"host: pauth pacia: {UNDEF}") in b.lines
    if cpu == "max":
        # The boot line tells the truth about both.
        assert any(line.endswith("ID registers (trapped, HCR_EL2.TID3): the host keeps PAuth, PMU, debug, RAS, "
                                 "LOR; hidden from the host: SVE, SME, SCXTNUM; PA 40 bits") for line in b.core_lines)
        assert any(line.endswith("ID registers for protected guests: hidden: SVE, SME, PAuth, PMU, debug, RAS, "
                                 "LOR, SCXTNUM; kept: none; PA 40 bits") for line in b.core_lines)
        assert any(line.endswith("ID registers for normal guests: hidden: SVE, SME, PAuth, RAS, "
                                 "LOR, SCXTNUM; kept: PMU, debug; PA 40 bits") for line in b.core_lines)
        assert not any("the host keeps them" in line for line in b.core_lines)
        assert [line for line in b.core_lines if "host used SVE (ESR_EL2 0x66000000)" in line], b.describe()
        assert [line for line in b.core_lines if "host used SME (ESR_EL2 0x76000000)" in line], b.describe()
    else:
        assert any(line.endswith("the host keeps PMU, debug; hidden from the host: none; PA 40 bits")
                   for line in b.core_lines), b.describe()
        assert any(line.endswith("ID registers for protected guests: hidden: PMU, debug; kept: none; "
                                 "PA 40 bits") for line in b.core_lines), b.describe()
        assert any(line.endswith("ID registers for normal guests: hidden: none; kept: PMU, debug; "
                                 "PA 40 bits") for line in b.core_lines), b.describe()


REFUSE_GUEST = [
    "guest: actlr_el1 reads 0x0 0x0",
    "guest: hvc 0x83000001 -> -1 -1",
    "guest: cpu_on -> -2 -2",  # vCPU 1 does not exist in a 1-vCPU VM: INVALID_PARAMETERS, an answer
    "guest: smc 0x84000000 -> -1 -1",
    "guest: cntp reads 0x0 0x0",
    # The host has set its PMUSERENR_EL0.EN; the guest's is 0 (PMUVer 0): EL0 traps to the guest's EL1.
    "guest: el0 pmccntr trapped to EL1, EC 0x18",
    "guest: refuse done",
]

REFUSE_LOG = [
    r"vm(\d+) vcpu0: MRS ACTLR_EL1 \(S3_0_C1_C0_1\): read as zero, writes ignored \(RAZ/WI\)",
    r"vm(\d+) vcpu0: SYS DC CISW \(S1_0_C7_C14_2\): ignored",
    r"vm(\d+) vcpu0: HVC function 0x83000001: NOT_SUPPORTED",
    r"vm(\d+) vcpu0: SMC function 0x84000000: NOT_SUPPORTED \(guests call the core with HVC; no SMC reaches "
    r"firmware\)",
    # The EL1 physical timer is the host's (CNTHCTL_EL2.EL1PCEN = 0 in guest context): RAZ/WI, named.
    r"vm(\d+) vcpu0: MSR CNTP_CVAL_EL0 \(S3_3_C14_C2_2\): read as zero, writes ignored \(RAZ/WI\)",
    r"vm(\d+) vcpu0: MSR CNTP_CTL_EL0 \(S3_3_C14_C2_1\): read as zero, writes ignored \(RAZ/WI\)",
]

# The PMU is hidden from protected VMs (MDCR_EL2.TPM/TPMCR): RAZ/WI, named. A normal VM has its own
# (core/guest_pmu.c; test_guest_pmu.py): nothing refused, and guest/refuse says it saw PMUVer.
REFUSE_LOG_PROTECTED = [
    r"vm(\d+) vcpu0: MSR PMCR_EL0 \(S3_3_C9_C12_0\): read as zero, writes ignored \(RAZ/WI\)",
    r"vm(\d+) vcpu0: MSR PMCNTENSET_EL0 \(S3_3_C9_C12_1\): read as zero, writes ignored \(RAZ/WI\)",
    r"vm(\d+) vcpu0: MRS PMCCNTR_EL0 \(S3_3_C9_C13_0\): read as zero, writes ignored \(RAZ/WI\)",
]


def test_refused_accesses_logged_once_per_vm(boot):
    b = boot(test="vm_refuse")
    assert_passed(b, "vm_refuse")
    assert [line for line in b.lines if line in REFUSE_GUEST] == REFUSE_GUEST * 2, b.describe()
    # Each access was made twice per VM: one line per kind per VM (a protected VM, then a normal one).
    for pattern in REFUSE_LOG:
        hits = [line for line in b.core_lines if re.search(r"^moat: cpu\d+: " + pattern + "$", line)]
        assert len(hits) == 2, f"{pattern!r}: {hits}\n{b.describe()}"
    for pattern in REFUSE_LOG_PROTECTED:
        hits = [line for line in b.core_lines if re.search(r"^moat: cpu\d+: " + pattern + "$", line)]
        assert len(hits) == 1, f"{pattern!r}: {hits}\n{b.describe()}"
    # One protected VM: RAZ/WI; one normal VM: its own PMU.
    assert b.lines.count("guest: pmu reads 0x0 0x0") == 1, b.describe()
    # A normal VM sees the CPU's PMU version capped at PMUv3p4 (idregs.c): cortex-a72 has PMUv3 (1), max PMUv3p5
    # (6), shown as 5 because 64-bit event counters are not switched.
    pmuver = 5 if DEFAULT_CPU.startswith("max") else 1
    assert [line for line in b.lines if line.startswith("guest: pmu shown, PMUVer ")] == \
        [f"guest: pmu shown, PMUVer {pmuver}"], b.describe()
    # CPU_ON of a vCPU that does not exist is a PSCI answer, not a refusal: not logged.
    assert not [line for line in b.core_lines if "CPU_ON" in line], b.describe()
    # The guest wrote 0x5ec2e7c0ffee5ec2 to ACTLR_EL1: no value a guest wrote reaches the log.
    assert not [line for line in b.core_lines if "ec2e7c0ffee" in line.lower()]
