"""The owner's policy and signatures (docs/attestation.md, "Owner policy and signatures"):
tools/moat-sign, and the test host's `sign` test on a core booted with moat.policy= and
moat.owner_key= (host/testhost/tests/sign.c says what each sign.mode does).

The expected measurement is read from the core itself: a first boot in open mode FINALIZEs the
protected hello guest unsigned and prints it; moat-sign signs it; the next boot enforces. Keys are
generated per test under build/test-keys/ (test-only keys, never committed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from moat_qemu import BUILD, ROOT

MOAT_SIGN = BUILD / "tools" / "moat-sign"
BLOBS_PA = 0x50000000  # above the test host, below the pages its VMM hands out
SLOT = 4096
SIG_OFFSET = 48  # struct moat_signature.signature
E_CORRUPT, E_UNSIGNED, E_WRONG_KEY, E_BAD_SIGNATURE = -12, -14, -15, -16


def sign_tool(*args, check=True):
    r = subprocess.run([str(MOAT_SIGN), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    if check and r.returncode:
        pytest.fail(f"moat-sign {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


@pytest.fixture
def keydir(request):
    if not MOAT_SIGN.exists():
        pytest.fail("build/tools/moat-sign is missing: run make", pytrace=False)
    d = BUILD / "test-keys" / f"{request.node.name}-{os.getpid()}"
    if d.exists():
        for f in d.iterdir():
            f.unlink()
    d.mkdir(parents=True, exist_ok=True)
    return d


def keygen(path):
    """A new test-only key; returns (public key hex, key ID hex)."""
    out = sign_tool("keygen", "--out", path).stdout
    pub = re.search(r"^moat\.owner_key=([0-9a-f]{64})$", out, re.M)
    kid = re.search(r"^key ID: ([0-9a-f]{16})$", out, re.M)
    assert pub and kid, out
    return pub.group(1), kid.group(1)


def measure(boot) -> str:
    b = boot(test="sign", append="sign.mode=measure moat.policy=open")
    assert b.passed("sign"), b.describe()
    found = [m.group(1) for line in b.lines if (m := re.match(r"sign: measurement ([0-9a-f]{64})$", line))]
    assert len(found) == 1, b.describe()
    return found[0]


def blob_file(d, blobs) -> tuple[str, list[str]]:
    """The blobs in 4 KiB slots, loaded at BLOBS_PA, and the QEMU arguments that load them."""
    path = d / "blobs.bin"
    path.write_bytes(b"".join(x.ljust(SLOT, b"\0") for x in blobs))
    return f"sign.blobs={BLOBS_PA:#x}", ["-device", f"loader,file={path},addr={BLOBS_PA:#x},force-raw=on"]


def finalize_results(b) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2))) for line in b.lines
            if (m := re.match(r"sign: FINALIZE (unsigned|with blob \d) -> (-?\d+)$", line))]


def test_sign_enforce(boot, keydir):
    """Enforce: unsigned, wrong key, flipped signature bit, corrupt blob and a tampered image are each
    refused with their own error; the owner's signature of the measurement lets the guest run."""
    owner_pub, owner_id = keygen(keydir / "owner.pem")
    keygen(keydir / "other.pem")
    m = measure(boot)
    sign_tool("sign", "--key", keydir / "owner.pem", "--measurement", m, "--out", keydir / "good.sig")
    sign_tool("sign", "--key", keydir / "other.pem", "--measurement", m, "--out", keydir / "other.sig")
    shown = sign_tool("show", keydir / "good.sig", "--owner-key", owner_pub).stdout
    assert f"key ID:      {owner_id}" in shown and f"measurement: {m}" in shown and "verdict:     valid" in shown
    good = (keydir / "good.sig").read_bytes()
    assert len(good) == 112
    flipped = bytearray(good)
    flipped[SIG_OFFSET + 3] ^= 0x04
    corrupt = bytearray(good)
    corrupt[4] = 2  # version
    arg, extra = blob_file(keydir, [good, (keydir / "other.sig").read_bytes(), bytes(flipped), bytes(corrupt)])
    b = boot(test="sign", append=f"sign.mode=enforce {arg} moat.policy=enforce moat.owner_key={owner_pub}",
             extra=extra)
    assert b.passed("sign"), b.describe()
    assert any(f"policy: enforce, owner key ID {owner_id}" in line for line in b.core_lines), b.describe()
    assert finalize_results(b) == [("unsigned", E_UNSIGNED), ("with blob 1", E_WRONG_KEY),
                                   ("with blob 2", E_BAD_SIGNATURE), ("with blob 3", E_CORRUPT),
                                   ("with blob 0", 0), ("with blob 0", E_BAD_SIGNATURE)], b.describe()
    assert f"sign: signed measurement {m}" in b.lines, b.describe()
    assert "guest: hello from a moat VM" in b.lines, b.describe()


def test_sign_open(boot, keydir):
    """Open mode with an owner key: unsigned still runs (existing VMMs unchanged), a given blob is
    still checked (wrong key refused), the owner's runs."""
    owner_pub, owner_id = keygen(keydir / "owner.pem")
    keygen(keydir / "other.pem")
    m = measure(boot)
    sign_tool("sign", "--key", keydir / "owner.pem", "--measurement", m, "--out", keydir / "good.sig")
    sign_tool("sign", "--key", keydir / "other.pem", "--measurement", m, "--out", keydir / "other.sig")
    arg, extra = blob_file(keydir, [(keydir / "good.sig").read_bytes(), (keydir / "other.sig").read_bytes()])
    b = boot(test="sign", append=f"sign.mode=open {arg} moat.owner_key={owner_pub}", extra=extra)
    assert b.passed("sign"), b.describe()
    assert any(f"policy: open, owner key ID {owner_id}" in line for line in b.core_lines), b.describe()
    assert finalize_results(b) == [("unsigned", 0), ("with blob 1", E_WRONG_KEY), ("with blob 0", 0)], \
        b.describe()
    assert b.lines.count("guest: hello from a moat VM") == 2, b.describe()


def test_sign_enforce_malformed_key(boot, keydir):
    """Enforce with a key of 63 hex digits: one clear boot line, no key, nothing protected runs
    (unsigned -> MOAT_E_UNSIGNED, even the owner's blob -> MOAT_E_WRONG_KEY); the core does not stop."""
    owner_pub, _ = keygen(keydir / "owner.pem")
    sign_tool("sign", "--key", keydir / "owner.pem", "--measurement", "00" * 32, "--out", keydir / "good.sig")
    arg, extra = blob_file(keydir, [(keydir / "good.sig").read_bytes()])
    b = boot(test="sign", append=f"sign.mode=nokey {arg} moat.policy=enforce moat.owner_key={owner_pub[:63]}",
             extra=extra)
    assert b.passed("sign"), b.describe()
    core = "\n".join(b.core_lines)
    assert "moat.owner_key= is not 64 hex digits" in core, b.describe()
    assert "policy: enforce without an owner key" in core, b.describe()
    assert finalize_results(b) == [("unsigned", E_UNSIGNED), ("with blob 0", E_WRONG_KEY)], b.describe()


def test_sign_default_policy_logged(boot):
    """No moat.* policy parameters: open, no key, said once at boot."""
    b = boot(test="selftest")
    assert any(line.endswith("policy: open, no owner key") for line in b.core_lines), b.describe()


def test_moat_sign_cli(keydir):
    """moat-sign's errors: each names the problem and exits non-zero; show reports what the core would."""
    pub, kid = keygen(keydir / "k.pem")
    r = sign_tool("keygen", "--out", keydir / "k.pem", check=False)
    assert r.returncode == 1 and "File exists" in r.stderr
    assert (keydir / "k.pem").stat().st_mode & 0o077 == 0  # a private key is nobody else's
    r = sign_tool("pubkey", "--key", keydir / "k.pem")
    assert f"moat.owner_key={pub}" in r.stdout and f"key ID: {kid}" in r.stdout
    for bad in ("abc", "g" * 64, "00" * 33):
        r = sign_tool("sign", "--key", keydir / "k.pem", "--measurement", bad, "--out", keydir / "x.sig", check=False)
        assert r.returncode == 1 and "--measurement must be 64 hex digits" in r.stderr
    r = sign_tool("sign", "--key", keydir / "none.pem", "--measurement", "00" * 32, "--out", keydir / "x.sig",
                  check=False)
    assert r.returncode == 1 and "cannot open key" in r.stderr
    r = sign_tool("sign", "--key", keydir / "k.pem", "--measurement", "11" * 32, "--out", keydir / "s.sig")
    other_pub, _ = keygen(keydir / "o.pem")
    r = sign_tool("show", keydir / "s.sig", "--owner-key", other_pub, check=False)
    assert r.returncode == 1 and "MOAT_E_WRONG_KEY" in r.stderr
    data = bytearray((keydir / "s.sig").read_bytes())
    data[SIG_OFFSET] ^= 1
    (keydir / "f.sig").write_bytes(bytes(data))
    r = sign_tool("show", keydir / "f.sig", "--owner-key", pub, check=False)
    assert r.returncode == 1 and "MOAT_E_BAD_SIGNATURE" in r.stderr
    (keydir / "short.sig").write_bytes(bytes(data[:100]))
    r = sign_tool("show", keydir / "short.sig", check=False)
    assert r.returncode == 1 and "corrupt" in r.stderr
    r = sign_tool("frobnicate", check=False)
    assert r.returncode == 2 and "unknown command" in r.stderr
    r = sign_tool("--help")
    assert "moat-sign sign --key KEY --measurement HEX --out SIG" in r.stdout


def cpio_with(base: Path, files: dict[str, bytes], out: Path) -> Path:
    """base (an uncompressed newc initramfs) with a second archive holding files appended: the
    kernel unpacks both, so the host finds them without rebuilding the initramfs."""
    sys.path.insert(0, str(ROOT / "tools"))
    from mkinitramfs import Writer  # noqa: E402

    with open(out, "wb") as f:
        f.write(base.read_bytes())
        w = Writer(f)
        w.pos = f.tell()
        w.entry("sign", 0o040755)
        for name, data in sorted(files.items()):
            w.entry(f"sign/{name}", 0o100644, data)
        w.trailer()
    return out


# A "cpu" parameter: the second integration pass (-cpu max) leaves this out instead of booting it again.
@pytest.mark.parametrize("cpu", ["cortex-a72"])
def test_sign_linux_host(request, keydir, cpu):
    """Through moat.ko and moat-vmm --signature on Debian's kernel (tests/linux/vmm-sign.sh): a first
    host boot (open) prints the protected hello guest's measurement; moat-sign signs it; a second boot
    enforces: unsigned, another key, a flipped bit, a corrupt blob and a changed VM are each refused
    with their own message, the owner's signature runs the guest, and no page is held afterwards."""
    from test_vmm import INITRAMFS, boot_linux_host

    lines, rc = boot_linux_host(request, "vmm-sign", smp=1, cpu=cpu, append="sign.phase=measure")
    tail = "\n".join(lines[-60:])
    found = [m.group(1) for line in lines if (m := re.match(r"sign-measurement: ([0-9a-f]{64})$", line))]
    assert rc == 0 and len(found) == 1, tail
    m = found[0]
    owner_pub, owner_id = keygen(keydir / "owner.pem")
    keygen(keydir / "other.pem")
    sign_tool("sign", "--key", keydir / "owner.pem", "--measurement", m, "--out", keydir / "good.sig")
    sign_tool("sign", "--key", keydir / "other.pem", "--measurement", m, "--out", keydir / "other.sig")
    good = (keydir / "good.sig").read_bytes()
    flipped = bytearray(good)
    flipped[SIG_OFFSET + 40] ^= 0x02
    corrupt = bytearray(good)
    corrupt[0] ^= 0xff  # magic
    initrd = cpio_with(INITRAMFS, {"good.sig": good, "other.sig": (keydir / "other.sig").read_bytes(),
                                   "flipped.sig": bytes(flipped), "corrupt.sig": bytes(corrupt)},
                       keydir / "host-initramfs-sign.cpio")
    lines, rc = boot_linux_host(request, "vmm-sign", smp=1, cpu=cpu, initrd=initrd,
                                append=f"sign.phase=enforce moat.policy=enforce moat.owner_key={owner_pub}")
    tail = "\n".join(lines[-80:])
    fails = [line for line in lines if line.startswith("FAIL:")]
    assert not fails and rc == 0, "\n".join(fails) + "\n" + tail
    assert any(f"policy: enforce, owner key ID {owner_id}" in line for line in lines), tail
    for want in ["ok: unsigned: exit status 1", "ok: wrong-key: exit status 1", "ok: flipped: exit status 1",
                 "ok: corrupt: exit status 1", "ok: changed: exit status 1", "ok: signed: exit status 0",
                 "ok: signed: out has 'guest: hello from a moat VM'", "ok: api: out has 'leaked=0'"]:
        assert want in lines, f"missing {want!r}:\n{tail}"
    assert f"sign-signed-measurement: {m}" in lines, tail
