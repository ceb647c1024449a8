"""Attestation, sealing and entropy (docs/attestation.md) end to end: guest/attest
under the test host's VMM (host/testhost/tests/attest.c), its report checked by
tools/moat-verify against the device key tools/moat-provision derives offline
from the test device secret (build/device-secret.bin), never a key read off
the host.

The "attest" boot runs four VMs, each announced by "attest: vm <name>": base
(protected, 4 MiB, 1 vCPU), bigger (8 MiB, 2 vCPUs), flipped (one image byte
changed) and normal (a normal VM). The canary and entropy boots run QEMU with
a monitor (-S, -no-shutdown) so that the test can dump RAM before the core
starts (the boot DTB QEMU wrote) and after the host powered off (everything).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from moat_qemu import BUILD, LOG_DIR, QEMU_LOG_DIR, ROOT, SECRET_BIN, qemu_command

PROVISION = BUILD / "tools" / "moat-provision"
VERIFY = BUILD / "tools" / "moat-verify"
REPORT_SIZE = 592

# include/moat/attest.h, byte ranges of every field: (name, offset, size, what a flipped byte breaks).
BODY, VM_CERT, CORE_CERT = "bad report signature", "bad core signature", "bad device signature"
MALFORMED = "malformed"
FIELDS = [
    ("magic", 0, 4, MALFORMED), ("version", 4, 2, MALFORMED), ("size", 6, 2, MALFORMED),
    ("vm_measurement", 8, 32, BODY), ("challenge", 40, 64, BODY), ("core_measurement", 104, 32, BODY),
    ("core_version", 136, 4, BODY), ("vm_type", 140, 4, MALFORMED), ("debug", 144, 4, BODY),
    ("reserved", 148, 4, MALFORMED), ("vm_public_key", 152, 32, BODY), ("signature", 184, 64, BODY),
    ("vm_cert.magic", 248, 4, MALFORMED), ("vm_cert.version", 252, 4, MALFORMED),
    ("vm_cert.vm_measurement", 256, 32, VM_CERT), ("vm_cert.vm_public_key", 288, 32, VM_CERT),
    ("vm_cert.signature", 320, 64, VM_CERT),
    ("core_cert.magic", 384, 4, MALFORMED), ("core_cert.version", 388, 4, MALFORMED),
    ("core_cert.core_measurement", 392, 32, CORE_CERT), ("core_cert.core_version", 424, 4, CORE_CERT),
    ("core_cert.policy", 428, 4, CORE_CERT), ("core_cert.owner_key", 432, 32, CORE_CERT),
    ("core_cert.core_public_key", 464, 32, CORE_CERT), ("core_cert.device_public_key", 496, 32, CORE_CERT),
    ("core_cert.signature", 528, 64, CORE_CERT),
]


@dataclass
class GuestRun:
    name: str
    lines: list[str] = field(default_factory=list)
    host_measurement: str | None = None

    def value(self, key: str) -> str:
        """The rest of the one "guest: <key> ..." line."""
        found = [line[len(f"guest: {key} "):] for line in self.lines
                 if line.startswith(f"guest: {key} ") and not line.startswith(f"guest: {key} -> ")]
        assert len(found) == 1, f"{self.name}: {key}: {found}"
        return found[0]

    @property
    def report(self) -> bytes:
        parts = [line.split()[3] for line in self.lines if re.match(r"guest: report \d{3} ", line)]
        return bytes.fromhex("".join(parts))


def parse_runs(lines: list[str]) -> dict[str, GuestRun]:
    runs: dict[str, GuestRun] = {}
    cur = None
    for line in lines:
        if line.startswith("attest: vm "):
            cur = runs.setdefault(line.split()[2], GuestRun(line.split()[2]))
        elif cur and line.startswith("guest: "):
            cur.lines.append(line)
        elif cur and line.startswith("attest: host measurement "):
            cur.host_measurement = line.split()[3]
    return runs


def provision(secret: Path | str = SECRET_BIN) -> dict[str, str]:
    out = subprocess.run([str(PROVISION), "--secret", str(ROOT / secret), "--core", str(BUILD / "moat.bin")],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


def verify(report: bytes, device_key: str, measurement: str, tmp_path: Path, challenge: str | None = None,
           core: str | None = None, binary: bool = False) -> subprocess.CompletedProcess:
    path = tmp_path / f"report-{time.monotonic_ns()}.{'bin' if binary else 'hex'}"
    path.write_bytes(report) if binary else path.write_text(report.hex())
    cmd = [str(VERIFY), "--report", str(path), "--device-key", device_key, "--measurement", measurement]
    cmd += ["--challenge", challenge] if challenge else []
    cmd += ["--core-measurement", core] if core else []
    return subprocess.run(cmd, capture_output=True, text=True)


def hkdf32(ikm: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 without salt, 32 bytes (RFC 5869), as the core derives its keys."""
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@pytest.fixture(scope="module")
def tools_built():
    for tool in (PROVISION, VERIFY):
        if not tool.is_file():
            pytest.fail(f"{tool} is missing: run `make` first")


def boot_attest(boot, **kw) -> dict[str, GuestRun]:
    b = boot(test="attest", **kw)
    assert b.passed("attest"), f"{b.failures('attest')}\n{b.describe()}"
    runs = parse_runs(b.lines)
    assert list(runs) == ["base", "bigger", "flipped", "normal"], b.describe()
    return runs


TRNG_FIXED = [
    "guest: trng version 65536 features 0 0 0 -1",  # 1.0; RND64, RND32, GET_UUID yes; 0x84000054 no
    "guest: trng uuid 0x74616f6d 0x6e72742d 0x4f4dc1a7 0x1005441",
    "guest: trng bad -2 -2 -2",  # RND64(0), RND64(193), RND32(97): INVALID_PARAMETERS
]


def test_attest_report_sealing_trng(boot, tools_built, tmp_path):
    runs = boot_attest(boot)
    ident = provision()
    key, core = ident["device-public-key"], ident["core-measurement"]
    base, bigger, flipped, normal = runs["base"], runs["bigger"], runs["flipped"], runs["normal"]

    for run in (base, bigger, flipped):
        # The guest's own view of its measurement is the host's FINALIZE value.
        assert run.value("measurement ->") == "0 32", run.lines
        assert run.value("measurement") == run.host_measurement
        assert run.value("report ->") == f"0 {REPORT_SIZE}"
        assert run.value("sealing ->") == "0 32"
        # A page shared with the host (PERM), unaligned (ALIGN), below RAM and the UART (RANGE), x2 or x3 set.
        assert run.value("hostile") == "-4 -10 -9 -9 -2 -2"
        for line in TRNG_FIXED:
            assert line in run.lines
        rnd, again = run.value("trng rnd64"), run.value("trng again")
        assert rnd.startswith("0 ") and again.startswith("0 ") and rnd != again
        assert run.value("trng rnd64(8)") == "0 0x0 0x0 0x0"  # x1, x2 and x3's bits above 8 are zero

        report = run.report
        assert len(report) == REPORT_SIZE
        ok = verify(report, key, run.host_measurement, tmp_path, challenge=run.value("challenge"), core=core)
        assert ok.returncode == 0 and ok.stdout.startswith("OK: "), ok.stdout + ok.stderr
        assert f"core measurement {core}" in ok.stdout

    # Sealing: bound to the image digest -- not to memory size or vCPU count; one byte of image changes it.
    assert base.value("sealing") == bigger.value("sealing")
    assert base.value("sealing") != flipped.value("sealing")
    assert len({base.host_measurement, bigger.host_measurement, flipped.host_measurement}) == 3
    assert base.value("variant") == "attest-variant-0" and flipped.value("variant") == "attest-variant-1"

    # A normal VM: nothing to attest (the host reads its memory): NOT_SUPPORTED everywhere, TRNG still served.
    assert normal.value("measurement ->") == "-1 0"
    assert normal.value("report ->") == "-1 0"
    assert normal.value("sealing ->") == "-1 0"
    assert normal.value("hostile") == "-1 -1 -1 -1 -1 -1"
    assert TRNG_FIXED[0] in normal.lines

    # Every way the verdict must go wrong.
    report, meas, chal = base.report, base.host_measurement, base.value("challenge")
    assert verify(report, key, meas, tmp_path, challenge=chal, core=core, binary=True).returncode == 0

    def fails(why: str, rep=report, k=key, m=meas, c=chal, cm=core):
        r = verify(rep, k, m, tmp_path, challenge=c, core=cm)
        assert r.returncode == 1 and r.stdout.startswith("FAIL: ") and why in r.stdout, (why, r.stdout, r.stderr)

    other_secret = tmp_path / "other-secret.bin"
    other_secret.write_bytes(bytes(range(1, 33)))
    fails("bad device signature", k=provision(other_secret)["device-public-key"])
    fails("core measurement mismatch", cm="00" * 32)
    fails("VM measurement mismatch", m=flipped.host_measurement)
    fails("challenge mismatch", c=bigger.value("challenge"))
    fails("malformed", rep=report[:-1])
    for name, off, size, why in FIELDS:
        for pos in sorted({off, off + size - 1}):
            bad = bytearray(report)
            bad[pos] ^= 0x01
            fails(why if name != "debug" else BODY, rep=bytes(bad))


def test_attest_across_boots(boot, tools_built, tmp_path):
    """Same image, same device secret, two boots: same sealing key and VM measurement; fresh TRNG values and
    challenges, and the first boot's report does not pass for the second's challenge (a replay)."""
    first, second = boot_attest(boot)["base"], boot_attest(boot)["base"]
    key = provision()["device-public-key"]
    assert first.value("sealing") == second.value("sealing")
    assert first.host_measurement == second.host_measurement
    assert first.value("trng rnd64") != second.value("trng rnd64")
    assert first.value("challenge") != second.value("challenge")
    replay = verify(first.report, key, second.host_measurement, tmp_path, challenge=second.value("challenge"))
    assert replay.returncode == 1 and "FAIL: challenge mismatch" in replay.stdout, replay.stdout


def test_attest_no_identity(boot, tmp_path):
    """Without a device secret (or with an empty secret page) the core has no identity: report and sealing
    answer MOAT_E_NO_IDENTITY (-17); the measurement needs none."""
    runs = boot_attest(boot, secret=False)
    assert runs["base"].value("measurement ->") == "0 32"
    assert runs["base"].value("report ->") == "-17 0"
    assert runs["base"].value("sealing ->") == "-17 0"
    assert runs["base"].value("hostile") == "-4 -10 -9 -9 -2 -2"  # arguments are checked first
    empty = tmp_path / "empty-secret.bin"
    empty.write_bytes(bytes(32))
    b = boot(test="attest", secret=str(empty))
    assert b.passed("attest"), b.describe()
    assert parse_runs(b.lines)["base"].value("report ->") == "-17 0"
    assert any("device secret page 0x40100000 is empty: no identity" in line for line in b.lines), b.describe()


# ---------------------------------------------------------------- QEMU with a monitor: RAM dumps


class Monitored:
    """One QEMU run with -S, -no-shutdown and a monitor socket: dump RAM before the first instruction and
    after the host powered off."""

    def __init__(self, name: str, test: str, mem: str = "1G"):
        self.dir = BUILD / "test-dumps" / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sock_path = self.dir / "monitor.sock"
        self.log_path = LOG_DIR / f"{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.sock_path.exists():
            self.sock_path.unlink()
        cmd = qemu_command(test=test, mem=mem, smp=1, kernel="build/moat.bin", host=True, append="",
                           extra=["-S", "-no-shutdown", "-monitor", f"unix:{self.sock_path},server=on,wait=off"],
                           qemu_log=QEMU_LOG_DIR / f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not self.sock_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(self.sock_path))
        self.sock.settimeout(60)
        self._until_prompt()

    def _until_prompt(self) -> str:
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")

    def command(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\n")
        return self._until_prompt()

    def dump(self, base: int, size: int, name: str) -> bytes:
        path = self.dir / name
        self.command(f'pmemsave {base:#x} {size:#x} "{path}"')
        return path.read_bytes()

    def wait_output(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.log_path.read_bytes().decode(errors="replace").replace("\r\n", "\n")
            if text in out:
                return out
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen in {self.log_path}")

    def close(self):
        try:
            self.command("quit")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


DTB_ADDR, DTB_SLOT = 0x48000000, 0x100000  # where QEMU virt puts the DTB of a 1 GiB machine, and its room


def chosen_seed(dtb: bytes, prop: str) -> bytes:
    """A /chosen property of the boot DTB QEMU wrote (fdtget, from the device-tree-compiler package)."""
    path = BUILD / "test-dumps" / f"boot-dtb-{os.getpid()}.dtb"
    path.write_bytes(dtb)
    out = subprocess.run(["fdtget", "-t", "bx", str(path), "/chosen", prop], capture_output=True, text=True,
                         check=True).stdout
    return bytes(int(x, 16) for x in out.split())


def test_secret_canary_and_seeds(tools_built):
    """After boot, attestation and sealing, neither the device secret, nor the device key's seed, nor the
    rng-seed and kaslr-seed QEMU gave the core are anywhere in RAM; the host's DTB carries other seeds."""
    secret = (ROOT / SECRET_BIN).read_bytes()
    device_seed = hkdf32(secret, b"moat-device-id")
    q = Monitored("test_secret_canary_and_seeds", "attest")
    try:
        boot_dtb = q.dump(DTB_ADDR, DTB_SLOT, "boot-dtb.bin")
        rng_seed, kaslr_seed = chosen_seed(boot_dtb, "rng-seed"), chosen_seed(boot_dtb, "kaslr-seed")
        before = q.dump(0x40100000, 4096, "secret-page-before.bin")
        q.command("cont")
        out = q.wait_output("host requested SYSTEM_OFF")
        ram = q.dump(0x40000000, 1 << 30, "ram.bin")
    finally:
        q.close()
    assert before[:32] == secret, "QEMU's loader did not put the secret where the core looks"
    assert "TEST-PASS: attest" in out, out[-3000:]
    assert len(rng_seed) == 32 and len(kaslr_seed) == 8
    for what, needle in (("device secret", secret), ("device key seed", device_seed),
                         ("QEMU's rng-seed", rng_seed), ("QEMU's kaslr-seed", kaslr_seed)):
        assert ram.find(needle) < 0, f"{what} found in RAM at {0x40000000 + ram.find(needle):#x}"
    # Sanity of the scan itself: the core's own public identity is in RAM (its certificate).
    assert bytes.fromhex(provision()["device-public-key"]) in ram
    assert ram[0x100000:0x101000] == bytes(4096), "the secret page is not zero"


def test_host_entropy():
    """The host's DTB seeds are not QEMU's (the core keeps those), and the host's own TRNG probes, SMC and HVC,
    are NOT_SUPPORTED."""
    q = Monitored("test_host_entropy", "entropy")
    try:
        boot_dtb = q.dump(DTB_ADDR, DTB_SLOT, "boot-dtb.bin")
        q.command("cont")
        out = q.wait_output("TEST-END: entropy")
    finally:
        q.close()
    assert "TEST-PASS: entropy" in out, out[-3000:]
    rng_seed, kaslr_seed = chosen_seed(boot_dtb, "rng-seed"), chosen_seed(boot_dtb, "kaslr-seed")
    host_seed = re.search(r"entropy: host rng-seed ([0-9a-f]+)", out).group(1)
    host_kaslr = int(re.search(r"entropy: host kaslr-seed 0x([0-9a-f]+)", out).group(1), 16)
    assert len(host_seed) == 64 and bytes.fromhex(host_seed) != rng_seed
    assert host_kaslr != int.from_bytes(kaslr_seed, "big")
    assert "entropy: host TRNG smc -1 -1 hvc -1" in out


def test_attest_owner_policy_binds_identity(boot, tools_built, tmp_path):
    """The owner key and policy mode are part of the core's identity: with an owner key the core certificate
    carries it (policy bit 1), the report still verifies, and the sealing key differs from the one without."""
    owner = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"  # RFC 8032 test 1's public key
    plain = boot_attest(boot)["base"]
    owned = boot_attest(boot, append=f"moat.owner_key={owner} moat.policy=open")["base"]
    key = provision()["device-public-key"]
    ok = verify(owned.report, key, owned.host_measurement, tmp_path, challenge=owned.value("challenge"))
    assert ok.returncode == 0 and "policy 0x1," in ok.stdout, ok.stdout + ok.stderr
    assert owned.report[432:464] == bytes.fromhex(owner)  # core_cert.owner_key
    assert plain.report[432:464] == bytes(32)
    assert owned.host_measurement == plain.host_measurement
    assert owned.value("sealing") != plain.value("sealing")


def test_tools_cli(tools_built, tmp_path):
    """moat-verify and moat-provision: --help, usage errors (exit 2), bad input (exit 1)."""
    for tool in (VERIFY, PROVISION):
        r = subprocess.run([str(tool), "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.startswith("usage: "), r.stdout
        assert subprocess.run([str(tool)], capture_output=True, text=True).returncode == 2
    r = subprocess.run([str(VERIFY), "--report", "-", "--device-key", "zz", "--measurement", "00" * 32],
                       capture_output=True, text=True, input="")
    assert r.returncode == 2 and "--device-key must be 64 hex digits" in r.stderr, r.stderr
    r = subprocess.run([str(VERIFY), "--report", "-", "--device-key", "00" * 32, "--measurement", "00" * 32],
                       capture_output=True, text=True, input="not a report")
    assert r.returncode == 1 and r.stdout.startswith("FAIL: malformed"), r.stdout
    short = tmp_path / "short-secret.bin"
    short.write_bytes(b"\1" * 31)
    r = subprocess.run([str(PROVISION), "--secret", str(short)], capture_output=True, text=True)
    assert r.returncode == 1 and "exactly 32 bytes" in r.stderr, r.stderr
