#!/usr/bin/env python3
"""moat side by side with stock KVM and pKVM (make bench; issue 13, DESIGN §16, docs/PERFORMANCE.md).

  tools/bench-kvm.py [--reps N] [--bare-reps N] [--json FILE] [--log DIR] [--only wall|icount]

One guest (guest/kbench), one VMM (moat-vmm), one QEMU baseline (virt, GICv3, cortex-a72, 1 GiB;
2 CPUs, 1 under -icount: see below), three hypervisors, each in ONE boot that runs all repetitions
inside (tests/linux/kbench.sh):
  moat   QEMU -> moat at EL2 -> Debian's kernel as the host -> moat-vmm --backend moat
         (normal and protected VM, interleaved)
  nvhe   QEMU (virtualization=on, no moat) -> the same kernel at EL2, kvm-arm.mode=nvhe
         -> moat-vmm --backend kvm
  pkvm   the same with kvm-arm.mode=protected: a normal VM under a pKVM-deprivileged host (moat-vmm
         cannot ask Debian's 6.12 for a protected VM: it offers no user-space protected VM type)
Each boot first runs one warm-up repetition that is left out (the first VM after boot shares the
host CPU with the kernel's late start-up work). And bare QEMU at EL1 running kbench.elf directly
(no hypervisor; the guest runs its workload only, --bare-reps times in one boot).

Each set runs twice: under normal multi-threaded TCG, where CNTVCT follows the host's clock, so
ticks / CNTFRQ is wall-clock time; and under -icount shift=0,sleep=off, where the virtual clock
advances 1 ns per instruction executed (idle time is skipped to the next timer deadline), so ticks *
1e9 / CNTFRQ is the number of instructions every CPU executed in that span -- the guest's, the
hypervisor's and the host kernel's on its behalf (and, with sleep=off, idle periods up to the next
timer deadline: only the IPI row waits in WFI). The -icount boots give the host one CPU: -icount
turns multi-threaded TCG off, and with two CPUs QEMU's round-robin scheduling stalled moat's boots
(see boot_config); so there the guest's two vCPU threads share the host CPU, and the CPU_ON and IPI
rows include the host switching from one vCPU thread to the other.

Prints one table of medians (per operation) with ratios to KVM nVHE from the same run, the moat
protected vs normal VM rows, and the workload against bare QEMU; writes everything (every repetition
too) to build/bench.json.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ICOUNT = ["-icount", "shift=0,sleep=off"]
KVM_QEMU = ["-M", "virt,virtualization=on"]
CONFIGS = {
    # name: (run-linux.sh arguments, extra kernel arguments, extra QEMU arguments, kinds it runs in)
    "moat": ([], "", [], ("wall", "icount")),
    "nvhe": (["--bare"], "kvm-arm.mode=nvhe", KVM_QEMU, ("wall", "icount")),
    "pkvm": (["--bare"], "kvm-arm.mode=protected", KVM_QEMU, ("wall", "icount")),
}
# (key in the guest's output or derived, label)
METRICS = [
    ("hvc", "null HVC (unknown SMCCC ID)"),
    ("gicd", "GICD_TYPER read"),
    ("mmio", "MMIO read exit to the VMM"),
    ("ipi", "IPI between vCPUs (one way)"),
    ("vtimer", "vtimer IRQ after expiry"),
    ("touch", "first touch, 256 adjacent pages"),
    ("touch2m", "first touch, 1 page per 2 MiB"),
    ("cpu_on", "PSCI CPU_ON to first insn"),
    ("create", "VM create to first insn"),
    ("workload", "workload (64 MiB copy + SHA)"),
]
LINE = re.compile(r"^KB (\S+) (\S+) (\d+)\| (.*)$")
METRIC = re.compile(r"^kbench: (\w+) n=(\d+) ticks=(\d+) freq=(\d+)$")
WORK = re.compile(r"^kbench: workload bytes=(\d+) ticks=(\d+) freq=(\d+) sha256=([0-9a-f]{64})$")
ENTRY = re.compile(r"^kbench: entry cntpct=(\d+) freq=(\d+)$")
CREATE = re.compile(r"^moat-vmm: cntvct (\d+) before VM create$")
SHA_WANT = "4cd7ead15a867b280c1aad613b8cb3a4187fb8dc550b2df3e10c1c687e20b699"


def fail(msg, log=None):
    if log:
        sys.stderr.write(log[-6000:])
    sys.exit(f"bench-kvm: {msg}")


def monitor(sock, command):
    """One command to QEMU's human monitor on a unix socket; its answer ('' if there is none)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(5)
            c.connect(sock)
            c.sendall(command.encode() + b"\n")
            out, end = b"", time.monotonic() + 5
            while time.monotonic() < end:
                try:
                    chunk = c.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                out += chunk
            return out.decode(errors="replace")
    except OSError as e:
        return f"(monitor: {e})"


def run(cmd, logfile, timeout, sock=None, stall=None):
    """Runs cmd with its output going straight to logfile (watchable while it runs); returns the text.
    Stopped after timeout seconds, or once the log has not grown for stall seconds (a hang: each
    kbench run prints within seconds); then every CPU's registers (QEMU monitor: where the machine is
    stuck) go into the log."""
    t0 = time.monotonic()
    with open(logfile, "wb") as f:
        p = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        size, grew = -1, time.monotonic()
        while p.poll() is None:
            now = time.monotonic()
            if os.path.getsize(logfile) != size:
                size, grew = os.path.getsize(logfile), now
            if now - t0 > timeout or (stall and now - grew > stall):
                f.write(f"\nbench-kvm: STOPPED after {now - t0:.0f} s, {now - grew:.0f} s without output\n".encode())
                if sock:
                    f.write(monitor(sock, "info registers -a").encode())
                p.kill()
                p.wait()
                break
            time.sleep(2)
    with open(logfile, "rb") as f:
        return f.read().decode(errors="replace").replace("\r", ""), time.monotonic() - t0


def parse_vm_runs(out):
    """{(mode, rep): {metric: per-op ticks}} plus the counter frequency, from tests/linux/kbench.sh."""
    runs, freq = {}, None
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        _, mode, rep, text = m.groups()
        if rep == "0":
            continue  # the warm-up run (tests/linux/kbench.sh kbench.warmup=1)
        r = runs.setdefault((mode, int(rep)), {})
        if (g := METRIC.match(text)):
            r[g[1]] = int(g[3]) / int(g[2])
            freq = int(g[4])
        elif (g := WORK.match(text)):
            if g[4] != SHA_WANT:
                fail(f"{mode} rep {rep}: workload digest {g[4]}, want {SHA_WANT}", out)
            r["workload"] = int(g[2])
        elif (g := ENTRY.match(text)):
            r["_entry"] = int(g[1])
        elif (g := CREATE.match(text)):
            r["_create"] = int(g[1])
        elif text.startswith("status="):
            r["_status"] = text
        if "BAD" in text:
            r["_bad"] = text
    failed = {}
    for key, r in list(runs.items()):
        # A failed run is left out of the medians and reported (the others still count).
        if r.get("_status") != "status=0" or "_bad" in r or "workload" not in r:
            failed[f"{key[0]}:{key[1]}"] = f"{r.get('_status', 'no status')} {r.get('_bad', '')}".strip()
            del runs[key]
    for r in runs.values():
        r.pop("_status", None)
        if "_entry" in r and "_create" in r:
            r["create"] = r.pop("_entry") - r.pop("_create")
    return runs, freq, failed


def boot_config(name, icount, reps, logdir, limit):
    args, kargs, qemu, _ = CONFIGS[name]
    if icount:
        # One host CPU under -icount, for every hypervisor alike: on two, QEMU's round-robin vCPU
        # scheduling (which -icount imposes) stalled about one moat boot in two for good -- CPU 0
        # spinning on a core lock (pagedb_lock, a VM's lock) that CPU 1 holds, CPU 1 never scheduled
        # again right after its TLBI IPAS2E1IS (docs/PERFORMANCE.md); never seen under MTTCG.
        args = args + ["--smp", "1"]
    sock = os.path.join(logdir, f"kbench-{name}.monitor")
    qemu = qemu + (ICOUNT if icount else []) + ["-monitor", f"unix:{sock},server=on,wait=off"]
    append = f"kbench.reps={reps} kbench.warmup=1 {kargs}".strip()
    cmd = ["tools/run-linux.sh", *args, "--run", "kbench", "--append", append, "--timeout", str(limit + 60),
           "--", *qemu]
    log = os.path.join(logdir, f"kbench-{name}-{'icount' if icount else 'tcg'}.log")
    for attempt in (1, 2):
        out, secs = run(cmd, log, limit, sock, stall=120)
        if "MOAT-RUN-END: kbench rc=" in out:
            break
        # A hang (the machine stopped making progress) is reported and the boot tried once more.
        os.replace(log, log.replace(".log", f"-hang{attempt}.log"))
        print(f"bench-kvm: {name} {'icount' if icount else 'wall'}: no end after {secs:.0f} s (attempt {attempt};"
              f" log and registers in {os.path.relpath(log.replace('.log', f'-hang{attempt}.log'), ROOT)})",
              flush=True)
    else:
        return None
    runs, freq, failed = parse_vm_runs(out)
    if not runs:
        fail(f"{name}{' (icount)' if icount else ''}: no run of kbench succeeded: {failed}", out)
    kvm = [line[len("KB-HOST-KVM: "):] for line in out.splitlines() if line.startswith("KB-HOST-KVM: ")]
    if name == "pkvm" and not any("protected" in k.lower() for k in kvm):
        fail("pkvm: the kernel did not report protected mode (KB-HOST-KVM lines: %r)" % kvm, out)
    return runs, freq, kvm, secs, failed


def boot_bare(icount, reps, logdir):
    cmd = ["timeout", "600", "qemu-system-aarch64", "-M", "virt,gic-version=3,its=off", "-cpu", "cortex-a72",
           "-m", "1G", "-smp", "2", "-nographic", "-no-reboot", "-net", "none",
           "-kernel", "build/guest/kbench.elf", *(ICOUNT if icount else [])]
    out, secs = run(cmd, os.path.join(logdir, f"kbench-bare-{'icount' if icount else 'tcg'}.log"), 700)
    work, freq = [], None
    for line in out.splitlines():
        if (g := WORK.match(line)):
            if g[4] != SHA_WANT:
                fail(f"bare: workload digest {g[4]}", out)
            work.append(int(g[2]))
            freq = int(g[3])
    if len(work) != reps or "kbench: done" not in out:
        fail(f"bare QEMU: {len(work)} workload lines, want {reps}", out)
    return work, freq, secs


def med(runs, mode, key):
    vals = [r[key] for (m, _), r in sorted(runs.items()) if m == mode and key in r]
    return statistics.median(vals) if vals else None


def fmt(v, width=10, digits=0):
    return f"{'-':>{width}}" if v is None else f"{v:>{width},.{digits}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--bare-reps", type=int, default=5, help="fixed by the guest (WORKLOAD_BARE_REPS)")
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench.json"))
    ap.add_argument("--log", default=os.path.join(ROOT, "build", "test-logs"))
    ap.add_argument("--only", choices=["wall", "icount"])
    ap.add_argument("--limit", type=int, default=600, help="seconds per boot at most (a hang: 120 s without output)")
    a = ap.parse_args()
    os.makedirs(a.log, exist_ok=True)

    result = {"reps": a.reps, "platform": "QEMU virt, GICv3, cortex-a72, 2 CPUs, 1 GiB; kbench 2 vCPUs, 256 MiB",
              "configs": {}, "bare": {}}
    for kind in ("wall", "icount"):
        if a.only and a.only != kind:
            continue
        icount = kind == "icount"
        for name in CONFIGS:
            if kind not in CONFIGS[name][3]:
                continue
            got = boot_config(name, icount, a.reps, a.log, a.limit)
            if got is None:
                result["configs"].setdefault(name, {})[kind] = {"hung": True}
                continue
            runs, freq, kvm, secs, failed = got
            print(f"bench-kvm: {name:4} {kind:6} boot done in {secs:5.0f} s {'; '.join(kvm)}", flush=True)
            for key, why in failed.items():
                print(f"bench-kvm: {name} {kind} run {key} FAILED ({why}): left out of the medians", flush=True)
            # wall: ticks -> microseconds; icount: ticks -> instructions (1 ns of virtual time each).
            scale = (1e6 if not icount else 1e9) / freq
            per = {f"{m}:{rep}": {k: v * scale for k, v in r.items()} for (m, rep), r in sorted(runs.items())}
            result["configs"].setdefault(name, {})[kind] = {"unit": "us" if not icount else "instructions",
                                                           "kvm": kvm, "runs": per, "failed": failed}
        work, freq, secs = boot_bare(icount, a.bare_reps, a.log)
        print(f"bench-kvm: bare {kind:6} boot done in {secs:5.0f} s", flush=True)
        scale = (1e6 if not icount else 1e9) / freq
        result["bare"][kind] = {"unit": "us" if not icount else "instructions", "workload": [w * scale for w in work]}

    # Medians per (config, mode, kind, metric).
    medians = {}
    for name, kinds in result["configs"].items():
        for kind, d in kinds.items():
            if d.get("hung"):
                continue
            runs = {}
            for key, r in d["runs"].items():
                m, rep = key.split(":")
                runs[(m, int(rep))] = r
            for mode in sorted({m for m, _ in runs}):
                medians.setdefault(f"{name}-{mode}" if mode != "normal" else name, {})[kind] = {
                    k: med(runs, mode, k) for k, _ in METRICS}
    for kind, d in result["bare"].items():
        medians.setdefault("bare", {})[kind] = {"workload": statistics.median(d["workload"])}
    result["medians"] = medians

    def get(cfg, kind, key):
        return medians.get(cfg, {}).get(kind, {}).get(key)

    kinds = [k for k in ("wall", "icount") if not a.only or a.only == k]
    print()
    print(f"make bench: medians of {a.reps} (per operation; the workload: one run). Wall clock under TCG in "
          "microseconds, -icount shift=0 in instructions; ratios to KVM nVHE of the same run.")
    print("pKVM = a normal VM under a pKVM-deprivileged host (Debian 6.12 offers user space no protected VM type).")
    print("Hosts: 2 CPUs under TCG, 1 CPU under -icount (both vCPUs of the guest then share it: the CPU_ON and")
    print("IPI rows there include the host scheduling one vCPU thread after the other).")
    head = f"{'operation':31}"
    for kind in kinds:
        u = "us" if kind == "wall" else "insns"
        head += f" | {'moat ' + u:>12} {'nVHE ' + u:>12} {'pKVM ' + u:>12} {'moat/nV':>7} {'pKVM/nV':>7}"
    print(head)
    print("-" * len(head))
    for key, label in METRICS:
        row = f"{label:31}"
        for kind in kinds:
            mo, nv, pk = get("moat", kind, key), get("nvhe", kind, key), get("pkvm", kind, key)
            d = 1 if kind == "wall" else 0
            row += (f" | {fmt(mo, 12, d)} {fmt(nv, 12, d)} {fmt(pk, 12, d)} {fmt(ratio(mo, nv), 7, 3)}"
                    f" {fmt(ratio(pk, nv), 7, 3)}")
        print(row)
    print()
    print("moat protected VM vs normal VM (medians; ratio protected / normal):")
    for key, label in METRICS:
        row = f"{label:31}"
        for kind in kinds:
            host = "moat"
            n, p = get(host, kind, key), get(f"{host}-protected", kind, key)
            d = 1 if kind == "wall" else 0
            row += f" | {kind:6} {fmt(n, 12, d)} {fmt(p, 12, d)} {fmt(ratio(p, n), 7, 3)}"
        print(row)
    print()
    print(f"workload vs bare QEMU at EL1 (no hypervisor; median of {a.bare_reps} runs in one boot):")
    for kind in kinds:
        b = get("bare", kind, "workload")
        u = "us" if kind == "wall" else "instructions"
        parts = [f"bare {fmt(b, 0)} {u}"]
        for cfg in ("moat", "moat-protected", "nvhe", "pkvm"):
            v = get(cfg, kind, "workload")
            parts.append(f"{cfg} {fmt(ratio(v, b), 0, 4)}x")
        print(f"  {kind:6}: " + ", ".join(parts))

    # DESIGN §16 / issue 13 targets, judged on the instruction counts (wall clock beside them).
    checks = [("hvc", 0.1), ("gicd", 0.2), ("mmio", 0.8), ("ipi", 0.8), ("vtimer", 0.5)]
    result["targets"] = {}
    if "icount" in kinds:
        print()
        print("targets (instructions, moat / KVM nVHE):")
        for key, limit in checks:
            r = ratio(get("moat", "icount", key), get("nvhe", "icount", key))
            ok = r is not None and r <= limit
            result["targets"][key] = {"ratio": r, "limit": limit, "met": ok}
            print(f"  {key:8} {fmt(r, 7, 3)} <= {limit:<4} {'met' if ok else 'NOT met'}")
        for name, other, limit in (("protected_vs_normal", "moat", 0.02), ("protected_vs_bare", "bare", 0.03)):
            p, o = get("moat-protected", "icount", "workload"), get(other, "icount", "workload")
            r = ratio(p, o)
            ok = r is not None and abs(r - 1) <= limit
            result["targets"][name] = {"ratio": r, "limit": limit, "met": ok}
            print(f"  {name:20} workload {fmt(r, 7, 4)} within {limit:.0%}: {'met' if ok else 'NOT met'}")
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print(f"\nbench-kvm: results in {os.path.relpath(a.json, ROOT)}")


if __name__ == "__main__":
    main()
