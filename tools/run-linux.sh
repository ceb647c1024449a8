#!/usr/bin/env bash
# Boot QEMU → moat at EL2 → Debian's stock arm64 kernel as the host at EL1, with the host initramfs
# (make linux). The platform baseline of DESIGN §0, plus the kernel and initramfs.
#
#   tools/run-linux.sh [--smp N] [--mem SIZE] [--cpu MODEL] [--run NAME] [--append ARGS]
#                      [--timeout SECONDS] [--initrd FILE] [--bare] [-- QEMU ARGS...]
#
#   --run NAME    the initramfs runs /tests/NAME.sh (default demo)
#   --bare        no moat: the same kernel on QEMU at EL1 (for the boot-time comparison)
# Prints the UART; exits with QEMU's status (124 if the timeout stopped it).
set -euo pipefail
cd "$(dirname "$0")/.."
smp=2 mem=1G cpu=cortex-a72 run=demo append="" limit=300 initrd=build/linux/host-initramfs.cpio bare=0
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
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
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) echo "run-linux: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
[ -f build/linux/vars.mk ] || { echo "run-linux: build/linux/vars.mk missing: run 'make linux' first" >&2; exit 2; }
image=$(sed -n 's/^LINUX_IMAGE := //p' build/linux/vars.mk)
[ -f "$image" ] || { echo "run-linux: no kernel image at $image: run 'make linux'" >&2; exit 2; }
[ -f "$initrd" ] || { echo "run-linux: no initramfs at $initrd: run 'make linux'" >&2; exit 2; }
cmdline="console=ttyAMA0 rdinit=/init moat.run=$run $append"
if [ $bare -eq 1 ]; then
	boot=(-M virt,gic-version=3,its=off -kernel "$image")
else
	# The core is QEMU's -kernel (entered at EL2); the host kernel sits where the core expects it.
	boot=(-M virt,virtualization=on,gic-version=3,its=off -kernel build/moat.bin
		-device "loader,file=$image,addr=0x41000000,force-raw=on")
fi
exec timeout --foreground -k 5 "$limit" qemu-system-aarch64 "${boot[@]}" -cpu "$cpu" -m "$mem" -smp "$smp" \
	-nographic -no-reboot -net none -initrd "$initrd" -append "$cmdline" "$@" </dev/null
