#!/usr/bin/env python3
"""Wall-clock boot timing of the Linux host chain, read live from QEMU's UART (make bench).

  tools/boot-time.py [--pairs N] [--smp N] [--cpu MODEL] [--icount] [--log DIR]

Boots Debian's kernel N times under moat (tools/run-linux.sh) and N times on bare QEMU at EL1
(tools/run-linux.sh --bare), alternating pair by pair (moat first in odd pairs, bare first in even
ones, so a slow phase of a shared machine lands on both sides). Each boot is timed from the start of
the QEMU process to the moment its UART prints the /init marker ("MOAT-HOST-INIT:", host/linux/init.sh),
read line by line as QEMU writes it -- not QEMU's exit, which adds the power-off. Also timed, under
moat: the core's hand-off to the host ("entering host") and the kernel's first line.

Prints one line per pair, then the medians and the median of the per-pair ratios; the last line is
  linux_host_boot_ratio R
With --icount the boots run under -icount shift=0,sleep=off (virtual time = instructions executed,
idle time skipped deterministically) and the "time" is the timer count at /init since the machine's
reset (tests/linux/cntvct.c; CNTVOFF is 0 on both sides): the instructions executed from reset to
/init, the core's boot and the kernel's early start included.
Without --icount it also prints QEMU's CPU time (user + system) to /init, which a loaded machine
disturbs far less than wall time.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK_INIT = re.compile(rb"^MOAT-HOST-INIT: cpus=(\d+)(?: uptime=([\d.]+))?(?: counter=(\d+)/(\d+))?")
MARK_START = b"starting at EL2"
MARK_HANDOFF = b"entering host at"
MARK_KERNEL = b"Booting Linux on physical CPU"


def qemu_cpu_seconds(pid):
    """User + system CPU time of QEMU so far: run-linux.sh execs timeout(1), whose child is QEMU. On a
    shared machine this moves far less than wall time (other processes take the CPU, not the work)."""
    try:
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
        fields = open(f"/proc/{kids[0]}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def one_boot(bare, args, logdir, tag):
    """Return a dict of event -> seconds since QEMU started (and uptime under --icount)."""
    cmd = [os.path.join(ROOT, "tools/run-linux.sh"), "--smp", str(args.smp), "--cpu", args.cpu,
           "--run", "none", "--timeout", str(args.timeout)]
    if bare:
        cmd.append("--bare")
    if args.icount:
        cmd += ["--", "-icount", "shift=0,sleep=off"]
    events = {}
    log = open(os.path.join(logdir, f"{tag}.log"), "wb")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        for line in proc.stdout:
            now = time.monotonic() - start
            log.write(line)
            if MARK_START in line and "start" not in events:
                events["start"] = now
            elif MARK_HANDOFF in line and "handoff" not in events:
                events["handoff"] = now
            elif MARK_KERNEL in line and "kernel" not in events:
                events["kernel"] = now
            m = MARK_INIT.match(line.strip())
            if m and "init" not in events:
                events["init"] = now
                events["cpu"] = qemu_cpu_seconds(proc.pid)
                if m.group(2):
                    events["kernel_uptime"] = float(m.group(2))
                if m.group(3):
                    events["virtual"] = int(m.group(3)) / int(m.group(4))
                # Measured: nothing after the marker matters. Stop QEMU instead of waiting for
                # the power-off (run-linux.sh execs QEMU: this is QEMU's pid).
                proc.kill()
                break
    finally:
        proc.kill()
        proc.wait()
        log.close()
    if "init" not in events:
        sys.exit(f"boot-time: {'bare' if bare else 'moat'} boot {tag} never reached /init "
                 f"(log: {log.name})")
    return events


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--cpu", default="cortex-a72")
    ap.add_argument("--icount", action="store_true")
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--log", default=os.path.join(ROOT, "build/bench-linux"))
    args = ap.parse_args()
    os.makedirs(args.log, exist_ok=True)
    key = "virtual" if args.icount else "init"
    what = "virtual time from reset to /init (s; = instructions in ns)" if args.icount else "QEMU start to /init (wall s)"
    print(f"Linux host boot, -smp {args.smp} -cpu {args.cpu}: {what}, {args.pairs} pairs")
    moat, bare, ratios, handoff, kernel, core, cpu = [], [], [], [], [], [], []
    for i in range(args.pairs):
        order = (False, True) if i % 2 == 0 else (True, False)
        got = {b: one_boot(b, args, args.log, f"{'icount-' if args.icount else ''}{'bare' if b else 'moat'}-{i}")
               for b in order}
        if key not in got[False] or key not in got[True]:
            sys.exit("boot-time: no timer count at the /init marker (the initramfs lacks /bin/cntvct: make linux)")
        m, b = got[False][key], got[True][key]
        moat.append(m)
        bare.append(b)
        ratios.append(m / b)
        handoff.append(got[False].get("handoff", 0.0))
        core.append(got[False].get("handoff", 0.0) - got[False].get("start", 0.0))
        kernel.append(got[False].get("kernel", 0.0) - got[True].get("kernel", 0.0))
        if got[False].get("cpu") and got[True].get("cpu"):
            cpu.append((got[False]["cpu"], got[True]["cpu"]))
        print(f"  pair {i + 1}: moat {m:6.3f}  bare {b:6.3f}  ratio {m / b:5.3f}"
              f"  (moat: core hands over at {got[False].get('handoff', 0):.3f} s)")
    med = statistics.median
    print(f"  median: moat {med(moat):.3f} s, bare {med(bare):.3f} s; median of pair ratios {med(ratios):.3f}")
    if cpu and not args.icount:
        print(f"  QEMU CPU time (user+sys) to /init, medians: moat {med(c[0] for c in cpu):.2f} s, bare "
              f"{med(c[1] for c in cpu):.2f} s; median of pair ratios {med(c[0] / c[1] for c in cpu):.3f}")
    if not args.icount:
        print(f"  under moat (medians): QEMU start to the core's hand-off {med(handoff):.3f} s, of which the core's "
              f"own boot (first log line to hand-off) {med(core):.3f} s; the kernel's first console line "
              f"{med(kernel):+.3f} s against bare")
    print(f"linux_host_boot_ratio{'_icount' if args.icount else ''} {med(ratios):.3f}")


if __name__ == "__main__":
    main()
