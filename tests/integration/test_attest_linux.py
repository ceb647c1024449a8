"""Attestation from a protected Linux guest's user space (issue 14, item 6; docs/attestation.md
"From a Linux guest").

QEMU -> moat (with the test device secret) -> Debian's kernel as the host, whose /init runs
tests/linux/attest-linux.sh: Debian's same kernel as a guest of moat-vmm on 1 vCPU, its /init
(tests/linux/guest/init.sh) loading moat_attest.ko and asking moat-attest for the measurement, the
sealing key ID and a report for each challenge typed into it. Four guests: protected-a (a random
challenge chosen here and one the host makes), protected-b (the same image again), protected-flip
(the guest's initramfs with one byte changed) and normal (a normal VM).

On the build machine: the report for the first challenge verifies with tools/moat-verify against the
measurement tools/moat-measure computes from moat-vmm's inputs, the device key tools/moat-provision
derives from the device secret and the core measurement it computes from build/moat.bin (OK); the report for the second challenge does not verify against the
first (a replay); a report with one byte changed does not verify; the sealing key ID is the same for
protected-a and -b and another for protected-flip; in the normal VM each call fails cleanly with
NOT_SUPPORTED in user space. Needs `make -j2 && make linux`.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess

import pytest

from moat_qemu import ROOT
from test_vmm import INITRAMFS_LINUX, boot_linux_host

TOOLS = ROOT / "build" / "tools"
GUEST_INITRD = ROOT / "build" / "linux" / "guest-initramfs.cpio"
DEVICE_SECRET = ROOT / "build" / "device-secret.bin"
# moat-vmm's inputs in tests/linux/attest-linux.sh besides the kernel and the initrd.
GUEST_CMDLINE = "console=ttyAMA0 earlycon rdinit=/init nokaslr cma=0 panic=-1 loglevel=4"
GUEST_MEM, GUEST_CPUS = "192M", 1
# The byte attest-linux.sh changes in the guest's initramfs: the last digit of the first entry's mtime.
FLIP_OFFSET = 53


def linux_image() -> str:
    deps = dict(re.findall(r"^(\w+) := (.*)$", (ROOT / "build" / "linux" / "vars.mk").read_text(), re.M))
    return deps["LINUX_IMAGE"]


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make -j2` first", pytrace=False)
    return subprocess.run([str(path), *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def expected_measurement(initrd) -> str:
    """What moat-measure computes from the inputs attest-linux.sh gives moat-vmm."""
    r = tool("moat-measure", "--kernel", linux_image(), "--initrd", str(initrd), "--cmdline", GUEST_CMDLINE,
             "--mem", GUEST_MEM, "--cpus", str(GUEST_CPUS), "--protected")
    assert r.returncode == 0, r
    m = re.search(r"^measurement ([0-9a-f]{64})$", r.stdout, re.M)
    assert m, r.stdout
    return m.group(1)


def device_identity() -> tuple[str, str]:
    """The device public key and the core's measurement, from the device secret and build/moat.bin."""
    r = tool("moat-provision", "--secret", str(DEVICE_SECRET), "--core", str(ROOT / "build" / "moat.bin"))
    assert r.returncode == 0, r
    key = re.search(r"^device-public-key: ([0-9a-f]{64})$", r.stdout, re.M)
    core = re.search(r"^core-measurement: ([0-9a-f]{64})$", r.stdout, re.M)
    assert key and core, r.stdout
    return key.group(1), core.group(1)


def verify(report_hex: str, measurement: str, challenge: str) -> subprocess.CompletedProcess:
    """moat-verify on the report as the guest printed it (hex, on stdin): OK exits 0, FAIL exits 1."""
    path = TOOLS / "moat-verify"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make -j2` first", pytrace=False)
    key, core = device_identity()
    return subprocess.run([str(path), "--report", "-", "--device-key", key, "--measurement", measurement,
                           "--challenge", challenge, "--core-measurement", core], input=report_hex + "\n",
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def values(lines: list[str], case: str, key: str) -> list[str]:
    """The hex after "KEY: " in case's guest lines ("protected-a| MOAT-REPORT: <hex>")."""
    prefix = f"{case}| {key}: "
    return [line[len(prefix):].strip() for line in lines if line.startswith(prefix)]


@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_attest_from_linux_guest(request, cpu):
    c1 = secrets.token_hex(64)
    lines, rc = boot_linux_host(request, "attest-linux", smp=2, cpu=cpu, timeout=400, append=f"ATTEST_C1={c1}",
                                initrd=INITRAMFS_LINUX)
    tail = "\n".join(lines[-80:])
    # The second challenge is the host's own (the core's bootargs hold 256 bytes: one challenge fits).
    assert f"attest: challenge 1 {c1}" in lines, tail
    c2 = next((line.split()[-1] for line in lines if line.startswith("attest: challenge 2 ")), None)
    assert c2 and re.fullmatch(r"[0-9a-f]{128}", c2) and c2 != c1, tail
    fails = [line for line in lines if line.startswith("FAIL:")]
    assert not fails and rc == 0, "\n".join(fails) + "\n" + tail
    for case in ["protected-a", "protected-b", "protected-flip", "normal"]:
        assert f"ok: {case}: exit status 0" in lines, tail

    # The normal VM: every call refused cleanly, in moat-attest's words.
    for what in ["measurement", "sealing key", "report"]:
        want = f"normal| moat-attest: {what}: the core answered NOT_SUPPORTED: not a protected VM of moat, " \
               "or a core without attestation calls"
        assert want in lines, f"missing {want!r}:\n{tail}"
    assert not values(lines, "normal", "MOAT-REPORT") and not values(lines, "normal", "MOAT-SEALING-KEY-ID"), tail

    # The measurement: the guest's, moat-vmm's and moat-measure's agree.
    expected = expected_measurement(GUEST_INITRD)
    assert values(lines, "protected-a", "MOAT-MEASUREMENT") == [expected], tail
    assert f"protected-a| moat-vmm: measurement {expected}" in lines, tail

    # The report for the first challenge verifies; the second one's is no answer to the first.
    reports = values(lines, "protected-a", "MOAT-REPORT")
    assert len(reports) == 2, tail
    ok = verify(reports[0], expected, c1)
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok
    assert verify(reports[1], expected, c2).returncode == 0
    replay = verify(reports[1], expected, c1)
    assert replay.returncode == 1 and replay.stdout.startswith("FAIL") and "challenge" in replay.stdout, replay

    # One byte changed anywhere that matters fails: in the signed body (the VM measurement's first
    # byte, at offset 8) and in the report's signature (offset 184).
    raw = bytes.fromhex(reports[0])
    for offset in (8, 184):
        altered = bytearray(raw)
        altered[offset] ^= 1
        r = verify(altered.hex(), expected, c1)
        assert r.returncode == 1 and r.stdout.startswith("FAIL"), (offset, r)
    # ... and against another expected measurement (the flipped image's) the genuine report fails.
    flipped = bytearray(GUEST_INITRD.read_bytes())
    assert flipped[FLIP_OFFSET:FLIP_OFFSET + 1] == b"0"
    flipped[FLIP_OFFSET:FLIP_OFFSET + 1] = b"1"
    flip_path = ROOT / "build" / "test-logs" / "attest-flip-initramfs.cpio"
    flip_path.write_bytes(flipped)
    expected_flip = expected_measurement(flip_path)
    assert expected_flip != expected
    assert values(lines, "protected-flip", "MOAT-MEASUREMENT") == [expected_flip], tail
    r = verify(reports[0], expected_flip, c1)
    assert r.returncode == 1 and "measurement" in r.stdout, r

    # The sealing key: the same image gets the same key, one byte of initrd another.
    ids = {case: values(lines, case, "MOAT-SEALING-KEY-ID")
           for case in ["protected-a", "protected-b", "protected-flip"]}
    assert all(len(v) == 1 and re.fullmatch(r"[0-9a-f]{64}", v[0]) for v in ids.values()), ids
    assert ids["protected-a"] == ids["protected-b"], ids
    assert ids["protected-flip"] != ids["protected-a"], ids


def test_moat_attest_tool_arguments(tmp_path):
    """moat-attest's argument handling and its message without the module, built for this machine
    (the same source as the guest's static arm64 build; no /dev/moat-attest here)."""
    exe = tmp_path / "moat-attest"
    subprocess.run(["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-Iguest/linux/attest",
                    "-iquote", "core/include", "-iquote", "tools", "guest/linux/attest/moat-attest.c", "core/sha256.c",
                    "-o", str(exe)], cwd=ROOT, check=True)

    def run(*args):
        return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=10)

    r = run("--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: moat-attest measurement | report --challenge HEX"), r
    for args in [(), ("bogus",), ("report",), ("report", "--challenge"), ("measurement", "extra")]:
        r = run(*args)
        assert r.returncode == 2 and r.stderr.startswith("usage: moat-attest"), (args, r)
    for bad in ["00" * 63, "00" * 65, "zz" * 64, "0" * 127]:
        r = run("report", "--challenge", bad)
        assert (r.returncode, r.stderr) == (2, "moat-attest: --challenge wants exactly 128 hex digits (64 bytes)\n"), r
    if not os.path.exists("/dev/moat-attest"):
        for args in [("measurement",), ("sealing-key-id",), ("report", "--challenge", "ab" * 64)]:
            r = run(*args)
            assert r.returncode == 1 and r.stdout == "", (args, r)
            assert r.stderr == "moat-attest: /dev/moat-attest: No such file or directory (is moat_attest.ko loaded?)\n"
