"""Boot moat (and the test host) in QEMU and read what came out of the UART.

One QEMU run per call, on the platform baseline of DESIGN.md §0 (or the CPU
model MOAT_TEST_CPU names, see DEFAULT_CPU), with a hard timeout. The whole
UART output is kept in build/test-logs/<test id>.log and QEMU's own
diagnostics (-d guest_errors,unimp) in build/qemu-logs/.

Everything that knows a log *format* lives here, so that a change in the
test host's markers or in the core's log lines is adapted in one place:
  - test-host markers (host/testhost/test.h): TEST-START/PASS/FAIL/END
  - test-host report lines: "dtb: ...", "own_ram: ...", "probe: ..."
  - core log lines (core/log.c, core/host_fault.c): see CORE-LOG-FORMAT below
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
LOG_DIR = BUILD / "test-logs"
QEMU_LOG_DIR = BUILD / "qemu-logs"

QEMU = "qemu-system-aarch64"
# The CPU model a boot gets when its test does not pin one. The suite runs once on the
# platform baseline (cortex-a72) and once more with MOAT_TEST_CPU="max,pauth-impdef=on"
# (scripts/run-integration.sh): the second pass meets SVE, SME, MTE, PAuth, PMUv3p8 and
# newer ID-register values the baseline never shows.
BASELINE_CPU = "cortex-a72"
DEFAULT_CPU = os.environ.get("MOAT_TEST_CPU") or BASELINE_CPU
TESTHOST_BIN = "build/testhost.bin"
TESTHOST_ADDR = 0x41000000
RAM_BASE = 0x40000000
# The TEST-ONLY device secret (Makefile: build/device-secret.bin) and where QEMU's loader puts it for the
# core (bootargs moat.secret=, docs/attestation.md): between the boot DTB's slot and the core image.
SECRET_BIN = "build/device-secret.bin"
SECRET_ADDR = 0x40100000
PAGE_SIZE = 4096

MARKER_RE = re.compile(r"^TEST-(START|PASS|FAIL|END): ([^:\s]+)(?:: (.*))?$")
HEX_RE = re.compile(r"0x[0-9a-fA-F]+")


def parse_size(mem: str) -> int:
    """QEMU -m syntax ("256M", "1G", "512") to bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    mem = mem.strip().upper()
    if mem[-1] in units:
        return int(mem[:-1]) * units[mem[-1]]
    return int(mem) << 20  # QEMU's default unit is MiB


@dataclass
class Marker:
    kind: str  # START, PASS, FAIL, END
    name: str
    detail: str


@dataclass
class BootResult:
    cmd: list[str]
    output: str
    returncode: int | None
    timed_out: bool
    log_path: Path
    qemu_log_path: Path
    stderr: str = ""
    _lines: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        # The test host and the core end lines with "\r\n" (raw terminal under -nographic).
        self.output = self.output.replace("\r\n", "\n")
        self._lines = [line.rstrip("\r") for line in self.output.splitlines()]

    @property
    def lines(self) -> list[str]:
        return self._lines

    @property
    def markers(self) -> list[Marker]:
        out = []
        for line in self._lines:
            m = MARKER_RE.match(line)
            if m:
                out.append(Marker(m.group(1), m.group(2), m.group(3) or ""))
        return out

    def failures(self, name: str) -> list[str]:
        return [m.detail for m in self.markers if m.kind == "FAIL" and m.name == name]

    def passed(self, name: str) -> bool:
        """START, PASS and END for name, no FAIL, and QEMU exited cleanly."""
        kinds = [m.kind for m in self.markers if m.name == name]
        return (
            not self.timed_out
            and self.returncode == 0
            and kinds[:1] == ["START"]
            and "PASS" in kinds
            and "FAIL" not in kinds
            and kinds[-1:] == ["END"]
        )

    @property
    def core_lines(self) -> list[str]:
        return [line for line in self._lines if line.startswith("moat:")]

    def lines_starting(self, prefix: str) -> list[str]:
        return [line for line in self._lines if line.startswith(prefix)]

    def tail(self, n: int = 40) -> str:
        return "\n".join(self._lines[-n:])

    def describe(self, n: int = 40) -> str:
        """Context for an assertion message: command, exit, log file, output tail."""
        state = "timed out" if self.timed_out else f"exit status {self.returncode}"
        parts = [
            f"command: {shlex.join(self.cmd)}",
            f"QEMU {state}; full UART log: {self.log_path}",
            f"--- last {n} UART lines ---",
            self.tail(n),
        ]
        if self.stderr.strip():
            parts += ["--- QEMU stderr ---", self.stderr.strip()]
        return "\n".join(parts)


def qemu_command(
    *,
    test: str | None,
    mem: str,
    smp: int,
    kernel: str,
    host: bool,
    append: str,
    extra: tuple[str, ...] | list[str],
    qemu_log: Path,
    cpu: str | None = None,
    virtualization: bool = True,
    reboot: bool = False,
    secret: bool = True,
) -> list[str]:
    """reboot=True leaves out -no-reboot: a reset then restarts the machine with the same
    -kernel, loader blobs and -append (so the same test runs again), and RAM survives."""
    if cpu is None:
        cpu = DEFAULT_CPU
    machine = "virt,gic-version=3,its=off"
    if virtualization:
        machine = "virt,virtualization=on,gic-version=3,its=off"
    cmd = [
        QEMU, "-M", machine, "-cpu", cpu, "-m", mem, "-smp", str(smp),
        "-nographic", *([] if reboot else ["-no-reboot"]), "-net", "none", "-kernel", kernel,
    ]
    if host:
        cmd += ["-device", f"loader,file={TESTHOST_BIN},addr={TESTHOST_ADDR:#x},force-raw=on"]
    secret_arg = ""
    if secret and Path(kernel).name.startswith("moat"):  # only the core takes it
        path = SECRET_BIN if secret is True else str(secret)
        cmd += ["-device", f"loader,file={path},addr={SECRET_ADDR:#x},force-raw=on"]
        secret_arg = f"moat.secret={SECRET_ADDR:#x}"
    bootargs = " ".join(x for x in (f"test={test}" if test else "", secret_arg, append) if x)
    if bootargs:
        cmd += ["-append", bootargs]
    cmd += ["-d", "guest_errors,unimp", "-D", str(qemu_log)]
    cmd += list(extra)
    return cmd


def run_qemu(cmd: list[str], log_path: Path, qemu_log: Path, timeout: float) -> BootResult:
    """Run QEMU with the UART going straight into log_path; kill it at the timeout."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    qemu_log.parent.mkdir(parents=True, exist_ok=True)
    stderr_path = qemu_log.with_suffix(".stderr")
    timed_out = False
    with open(log_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            proc.wait()
    output = log_path.read_bytes().decode("utf-8", errors="replace")
    stderr = stderr_path.read_bytes().decode("utf-8", errors="replace")
    return BootResult(cmd, output, None if timed_out else proc.returncode, timed_out, log_path, qemu_log,
                      stderr)


# ---------------------------------------------------------------- test-host report lines


@dataclass
class DtbInfo:
    mem: list[tuple[int, int]]
    cpus: int | None
    reserved: list[tuple[int, int, str]]
    bootargs: str | None
    psci: str | None
    fw_cfg: str | None
    source: str | None  # "from-x0" (the boot protocol) or "by-scan" (standalone fallback)


def parse_dtb_info(b: BootResult) -> DtbInfo:
    """The "dtb: ..." lines printed by the test host's dtb_info test."""
    info = DtbInfo([], None, [], None, None, None, None)
    for line in b.lines_starting("dtb: "):
        words = line.split()
        key = words[1]
        if key == "mem":
            info.mem.append((int(words[2], 16), int(words[3], 16)))
        elif key == "cpus":
            info.cpus = int(words[2])
        elif key == "reserved":
            info.reserved.append((int(words[2], 16), int(words[3], 16), words[4] if len(words) > 4 else ""))
        elif key == "bootargs":
            info.bootargs = line.split(" ", 2)[2].strip('"')
        elif key == "psci":
            info.psci = words[2]
        elif key == "fw_cfg":
            info.fw_cfg = words[2]
        elif key == "at" and len(words) > 5:
            info.source = words[5]
    return info


@dataclass
class OwnRam:
    checked: int
    banks: int
    skipped: int


def parse_own_ram(b: BootResult) -> OwnRam | None:
    text = b.output
    m = re.search(r"^own_ram: (\d+) pages checked in (\d+) banks", text, re.M)
    s = re.search(r"^own_ram: (\d+) pages skipped", text, re.M)
    if not m or not s:
        return None
    return OwnRam(int(m.group(1)), int(m.group(2)), int(s.group(1)))


@dataclass
class Probe:
    pa: int
    esr: int
    far: int
    host_pc: int
    vector: int


def parse_probe(b: BootResult) -> Probe | None:
    """The first refused access reported by a core_* / fw_cfg test ("probe: ..." lines)."""
    head = re.search(r"^probe: .* at PA (0x[0-9a-f]+) -> refused by moat \(synchronous abort, "
                     r"ESR_EL1=(0x[0-9a-f]+)\)", b.output, re.M)
    detail = re.search(r"^probe: taken at VBAR_EL1\+(0x[0-9a-f]+), FAR_EL1=(0x[0-9a-f]+), "
                       r"host PC \(ELR_EL1\)=(0x[0-9a-f]+)", b.output, re.M)
    if not head or not detail:
        return None
    return Probe(int(head.group(1), 16), int(head.group(2), 16), int(detail.group(2), 16),
                 int(detail.group(3), 16), int(detail.group(1), 16))


# ---------------------------------------------------------------- CORE-LOG-FORMAT
# Everything below depends on the wording of the core's log (core/host_fault.c,
# today: "moat: cpu0: warning: host read of PA 0x40201008 (page 0x40201000, owner
# core) at host PC 0x41002c60: refused, external abort injected"). Adapt here.


# How the core names each kind of access.
CORE_ACCESS_WORDS = {"read": "read", "write": "write", "execute": "instruction fetch"}


def core_refusal_lines(b: BootResult, page: int) -> list[str]:
    """moat: lines that name the page (0x%x, lowercase), the word "owner" and the owner "core"."""
    needle = f"{page:#x}"
    return [line for line in b.core_lines
            if needle in line and re.search(r"\bowner\b", line) and re.search(r"\bcore\b", line)]


def line_mentions_value(line: str, value: int) -> bool:
    """True if some hex number in the line equals value (any zero padding)."""
    return any(int(h, 16) == value for h in HEX_RE.findall(line))


# core/psci.c, once per reset it forwards: "moat: cpu0: reset: scrubbed 123 pages not owned by the host".
RESET_SCRUB_RE = re.compile(r"^moat: cpu\d+: reset: scrubbed (\d+) pages not owned by the host$")
# core/boot.c, once per boot of the core.
CORE_START_RE = re.compile(r"^moat: cpu\d+: moat \S+ starting at EL2")


def core_reset_scrubs(b: BootResult) -> list[int]:
    """The page counts of every reset scrub the core logged, in order."""
    return [int(m.group(1)) for m in (RESET_SCRUB_RE.match(line) for line in b.core_lines) if m]


def core_boots(b: BootResult) -> int:
    return sum(1 for line in b.core_lines if CORE_START_RE.match(line))
