#!/usr/bin/env bash
# Boot QEMU → moat at EL2 → Debian's stock arm64 kernel as the host at EL1, with the host initramfs
# (make linux). The platform baseline of DESIGN §0, plus the kernel and initramfs
# (docs/running-on-qemu.md explains every argument).
#
#   tools/run-linux.sh [--smp N] [--mem SIZE] [--cpu MODEL] [--run NAME] [--append ARGS]
#                      [--timeout SECONDS] [--initrd FILE] [--bare] [--check] [-- QEMU ARGS...]
#
#   --run NAME    the initramfs runs /tests/NAME.sh (default demo; none: nothing)
#   --bare        no moat: the same kernel on QEMU at EL1 (for the boot-time comparison)
#   --check       also keep the UART in build/test-logs/run-linux-NAME.log and exit 0 only if the
#                 script reported "MOAT-RUN-END: NAME rc=0" and the host powered off cleanly
# Prints the UART; exits with QEMU's status (124 if the timeout stopped it).
set -euo pipefail
cd "$(dirname "$0")/.."
smp=2 mem=1G cpu=cortex-a72 run=demo append="" limit=300 initrd=build/linux/host-initramfs.cpio bare=0 check=0
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--cpu) cpu=$2; shift 2 ;;
	--run) run=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--timeout) limit=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--bare) bare=1; shift ;;
	--check) check=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) echo "run-linux: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
[ -f build/linux/vars.mk ] || { echo "run-linux: build/linux/vars.mk missing: run 'make linux' first" >&2; exit 2; }
image=$(sed -n 's/^LINUX_IMAGE := //p' build/linux/vars.mk)
[ -f "$image" ] || { echo "run-linux: no kernel image at $image: run 'make linux'" >&2; exit 2; }
[ -f "$initrd" ] || { echo "run-linux: no initramfs at $initrd: run 'make linux'" >&2; exit 2; }
[ $bare -eq 1 ] || [ -f build/moat.bin ] || { echo "run-linux: build/moat.bin missing: run 'make'" >&2; exit 2; }
[ $bare -eq 1 ] || [ -f build/device-secret.bin ] || { echo "run-linux: build/device-secret.bin missing: run 'make'" >&2; exit 2; }
cmdline="console=ttyAMA0 rdinit=/init moat.run=$run $append"
if [ $bare -eq 1 ]; then
	boot=(-M virt,gic-version=3,its=off -kernel "$image")
else
	# The core is QEMU's -kernel (an arm64 Image entered at EL2 with x0 = the DTB); the host kernel
	# is a raw blob at 0x41000000, where the core enters it at EL1 (2 MiB-aligned, below the DTB).
	# The TEST-ONLY device secret (docs/attestation.md) at the page moat.secret= names.
	boot=(-M virt,virtualization=on,gic-version=3,its=off -kernel build/moat.bin
		-device "loader,file=$image,addr=0x41000000,force-raw=on"
		-device "loader,file=build/device-secret.bin,addr=0x40100000,force-raw=on")
	cmdline="$cmdline moat.secret=0x40100000"
fi
qemu=(timeout --foreground -k 5 "$limit" qemu-system-aarch64 "${boot[@]}" -cpu "$cpu" -m "$mem" -smp "$smp"
	-nographic -no-reboot -net none -initrd "$initrd" -append "$cmdline" "$@")
[ $check -eq 1 ] || exec "${qemu[@]}" </dev/null

mkdir -p build/test-logs
log=build/test-logs/run-linux-$run.log
status=0
"${qemu[@]}" </dev/null 2>&1 | tee "$log" || status=$?
[ $status -ne 124 ] || echo "run-linux: QEMU did not finish within $limit s and was stopped" >&2
# Under moat the core logs the host's power-off; bare QEMU has no core to say so.
if grep -q "^MOAT-RUN-END: $run rc=0" <(tr -d '\r' <"$log") && [ $status -eq 0 ] &&
	{ [ $bare -eq 1 ] || grep -q "host requested SYSTEM_OFF" "$log"; }; then
	exit 0
fi
echo "run-linux: /tests/$run.sh did not finish cleanly (QEMU status $status; UART log: $log)" >&2
exit 1
