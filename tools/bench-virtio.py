#!/usr/bin/env python3
"""virtio-blk and virtio-net, protected vs normal VM on moat vs stock KVM (make bench; issue 15,
docs/PERFORMANCE.md).

  tools/bench-virtio.py [--reps N] [--json FILE] [--log DIR]

Two boots of the Debian host (QEMU virt, cortex-a72, 2 CPUs, -m 2G, multi-threaded TCG: wall clock),
each running tests/linux/vmm-virtio.sh with bench cases, the guest being the issue-15 guest kernel
(256 MiB, 1 vCPU, tests/linux/guest/virtio-init.sh with virtio.bench=1):
  moat   QEMU -> moat -> the host -> moat-vmm --backend moat: a normal and a protected VM, interleaved,
         N repetitions each
  nvhe   QEMU (virtualization=on, no moat) -> the host at EL2, kvm-arm.mode=nvhe -> moat-vmm
         --backend kvm: the same guest, N repetitions (normal VMs only)
The guest measures: sequential write of 64 MiB to a file on ext4 on virtio-blk (dd bs=1M conv=fsync:
the page cache written back and flushed), sequential read of it after drop_caches (MiB/s each), and the
average of 20 pings of the host over virtio-net (ms). Prints medians and the ratios protected/normal
(the issue's acceptance: blk throughput >= 0.7) and moat/KVM, and adds them to build/bench.json under
"virtio".
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INITRD = os.path.join(ROOT, "build", "linux", "host-initramfs-virtio.cpio")
BLK = re.compile(r"^virtio-(bench-\w+)\| MOAT-VIRTIO: bench blk write ([\d.]+) MiB/s read ([\d.]+) MiB/s")
PING = re.compile(r"^virtio-(bench-\w+)\| MOAT-VIRTIO: ping ok: \d+ replies, avg ([\d.]+) ms")
STATS = re.compile(r"^virtio-(bench-\w+)\| moat-vmm: (virtio-\w+): (\d+) notifies, (\d+) interrupts")


def boot(name, cases, extra_args, qemu, log, limit):
    append = f"VIRTIO_CASES={cases} {extra_args}".strip()
    cmd = ["tools/run-linux.sh", "--run", "vmm-virtio", "--smp", "2", "--mem", "2G", "--initrd", INITRD,
           "--timeout", str(limit), "--append", append]
    if qemu:
        cmd += ["--bare", "--", *qemu]
    t0 = time.monotonic()
    with open(log, "wb") as f:
        subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                       timeout=limit + 60)
    out = open(log, "rb").read().decode(errors="replace").replace("\r", "")
    if "MOAT-RUN-END: vmm-virtio" not in out:
        sys.stderr.write(out[-4000:])
        sys.exit(f"bench-virtio: {name}: the boot did not finish (log {os.path.relpath(log, ROOT)})")
    res = {}
    for line in out.splitlines():
        if (m := BLK.match(line)):
            r = res.setdefault(m[1], {"write": [], "read": [], "ping": [], "stats": []})
            r["write"].append(float(m[2]))
            r["read"].append(float(m[3]))
        elif (m := PING.match(line)):
            res.setdefault(m[1], {"write": [], "read": [], "ping": [], "stats": []})["ping"].append(float(m[2]))
        elif (m := STATS.match(line)):
            res.setdefault(m[1], {"write": [], "read": [], "ping": [], "stats": []})["stats"].append(
                {"device": m[2], "notifies": int(m[3]), "interrupts": int(m[4])})
    print(f"bench-virtio: {name} boot done in {time.monotonic() - t0:.0f} s", flush=True)
    return res


def med(res, case, key):
    v = res.get(case, {}).get(key, [])
    return statistics.median(v) if v else None


def fmt(v, w=9, d=1):
    return f"{'-':>{w}}" if v is None else f"{v:>{w}.{d}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench.json"))
    ap.add_argument("--log", default=os.path.join(ROOT, "build", "test-logs"))
    a = ap.parse_args()
    os.makedirs(a.log, exist_ok=True)
    if not os.path.exists(INITRD):
        sys.exit("bench-virtio: no build/linux/host-initramfs-virtio.cpio: make linux guest-kernel first")
    moat = boot("moat", ",".join(["bench-normal", "bench-protected"] * a.reps), "", None,
                os.path.join(a.log, "virtio-bench-moat.log"), 400 + 300 * a.reps)
    kvm = boot("nvhe", ",".join(["bench-kvm"] * a.reps), "kvm-arm.mode=nvhe", ["-M", "virt,virtualization=on"],
               os.path.join(a.log, "virtio-bench-nvhe.log"), 300 + 150 * a.reps)
    res = {**moat, **kvm}
    rows = [("write", "virtio-blk write MiB/s (64 MiB, fsync)"), ("read", "virtio-blk read MiB/s (4 x 64 MiB, cold)"),
            ("ping", "virtio-net ping round trip ms")]
    print()
    print(f"virtio (medians of {a.reps}; wall clock under TCG; guest: 1 vCPU, 256 MiB, 16 MiB restricted-dma-pool "
          "when protected):")
    print(f"{'':40} {'moat prot':>9} {'moat norm':>9} {'KVM nVHE':>9} {'prot/norm':>9} {'norm/KVM':>9} "
          f"{'prot/KVM':>9}")
    out = {"reps": a.reps, "medians": {}, "ratios": {}, "raw": res}
    for key, label in rows:
        p, n, k = med(res, "bench-protected", key), med(res, "bench-normal", key), med(res, "bench-kvm", key)
        print(f"{label:40} {fmt(p)} {fmt(n)} {fmt(k)} {fmt(ratio(p, n), 9, 3)} {fmt(ratio(n, k), 9, 3)} "
              f"{fmt(ratio(p, k), 9, 3)}")
        out["medians"][key] = {"protected": p, "normal": n, "kvm": k}
        out["ratios"][key] = {"protected/normal": ratio(p, n), "normal/kvm": ratio(n, k), "protected/kvm": ratio(p, k)}
    for key in ("write", "read"):
        r = out["ratios"][key]["protected/normal"]
        met = r is not None and r >= 0.7
        out["ratios"][key]["acceptance_0.7_met"] = met
        print(f"  acceptance: protected/normal virtio-blk {key} {fmt(r, 0, 3)} >= 0.7: {'met' if met else 'NOT met'}")
    data = {}
    if os.path.exists(a.json):
        with open(a.json) as f:
            data = json.load(f)
    data["virtio"] = out
    with open(a.json, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    print(f"bench-virtio: results in {os.path.relpath(a.json, ROOT)} (\"virtio\")")


if __name__ == "__main__":
    main()
