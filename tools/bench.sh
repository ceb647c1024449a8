#!/usr/bin/env bash
# make bench: deterministic instruction counts under QEMU -icount shift=0
# (1 instruction = 1 ns of virtual time; the generic timer runs at CNTFRQ),
# printed as a table; then Debian's stock kernel booting as the host under moat
# against the same kernel on bare QEMU at EL1 (tools/boot-time.py: wall clock
# to the /init marker, median of LINUX_PAIRS pairs, and the kernel's uptime at
# /init under -icount, i.e. instructions); last, moat side by side with stock
# KVM nVHE and pKVM: the same guest (guest/kbench) through the same VMM
# (moat-vmm --backend moat|kvm) on the same QEMU, wall clock and -icount
# (tools/bench-kvm.py, results also in build/bench.json). docs/PERFORMANCE.md
# reads them. Last, virtio-blk / virtio-net protected vs normal vs KVM (tools/bench-virtio.py).
set -euo pipefail
cd "$(dirname "$0")/.."
log=build/bench.log
timeout 300 qemu-system-aarch64 -M virt,virtualization=on,gic-version=3,its=off -cpu cortex-a72 \
	-m 1G -smp 1 -nographic -no-reboot -net none -icount shift=0 \
	-kernel build/moat.bin -device loader,file=build/testhost.bin,addr=0x41000000,force-raw=on \
	-append "test=bench" </dev/null >"$log" 2>&1 || true
grep -q '^TEST-PASS: bench' "$log" || { cat "$log"; echo "bench: the benchmark run failed"; exit 1; }
/usr/bin/python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
freq = int(re.search(r"BENCH-FREQ: (\d+)", text).group(1))
ns_per_tick = 1e9 / freq
rows = [(m[0], int(m[1]), int(m[2])) for m in re.findall(r"BENCH: (\S+) (\d+) (\d+)", text)]
g = re.search(r"guest: bench hvc_ticks=(\d+) n=(\d+)", text)
rows.insert(1, ("guest_hvc_in_core", int(g[1]), int(g[2])))
g = re.search(r"guest: bench mmio_ticks=(\d+) n=(\d+)", text)
rows.insert(2, ("guest_mmio_exit_roundtrip", int(g[1]), int(g[2])))
g = re.search(r"guest: bench gicd_ticks=(\d+) n=(\d+)", text)
rows.insert(3, ("guest_gicd_read_in_core", int(g[1]), int(g[2])))
for key, name in (("cpu_on", "guest_cpu_on_to_first_insn"), ("vtimer", "guest_vtimer_irq_delivery"),
                  ("ipi", "guest_ipi_between_vcpus")):
    g = re.search(rf"guest: mvcpu bench {key}_ticks=(\d+) n=(\d+)", text)
    rows.append((name, int(g[1]), int(g[2])))
vcpu = re.search(r"per-vCPU state: (\d+) bytes", text)
print(f"{'operation':34} {'instructions/op':>16}   (QEMU -icount shift=0, {freq} Hz counter)")
for name, ticks, n in rows:
    print(f"{name:34} {ticks * ns_per_tick / n:16.0f}")
print(f"{'per-vCPU core state (bytes)':34} {int(vcpu.group(1)) if vcpu else 'n/a':>16}")
PY

# The host-ABI fuzzer's speed on the fake arch (issue 11 asks for >= 5,000 inputs/s per process): one
# process, a fixed input count, wall-clock -- the only row here that is not an instruction count.
fuzz_out=$(FUZZ_RUNS=100000 MIN_EXECS=100000 FUZZ_JOBS=1 scripts/run-fuzz.sh 2>&1) || { echo "$fuzz_out"; exit 1; }
rate=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$fuzz_out" | tail -1)
printf '%-34s %16s   (wall clock, 1 process, 100000 inputs)\n' "fuzzer inputs/s" "${rate:-n/a}"

# Linux host boot (needs make linux: the Makefile's bench target runs it first).
pairs=${LINUX_PAIRS:-5}
/usr/bin/python3 tools/boot-time.py --pairs "$pairs" || { echo "bench: the Linux host boot timing failed"; exit 1; }
/usr/bin/python3 tools/boot-time.py --pairs 1 --icount || { echo "bench: the Linux host -icount boot failed"; exit 1; }

# moat vs KVM nVHE vs pKVM vs bare QEMU with guest/kbench (8 boots, all repetitions inside each).
/usr/bin/python3 tools/bench-kvm.py --reps "${KBENCH_REPS:-3}" || { echo "bench: the KVM comparison failed"; exit 1; }

# virtio-blk and virtio-net: protected vs normal VM on moat vs stock KVM nVHE (2 boots; needs
# make guest-kernel, which the Makefile's bench target runs first).
/usr/bin/python3 tools/bench-virtio.py --reps "${VIRTIO_REPS:-2}" || { echo "bench: the virtio comparison failed"; exit 1; }
