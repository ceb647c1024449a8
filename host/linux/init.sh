#!/bin/busybox sh
# /init of the Linux host's initramfs (built by mk/linux.mk). Mounts the usual file systems, loads
# moat.ko if present, runs the script the kernel command line names and powers the machine off:
#   moat.run=NAME   runs /tests/NAME.sh (default: demo); its exit status is printed as
#                   "MOAT-RUN-END: NAME rc=N" so the test runner on the outside can read it.
#   moat.run=none   runs nothing (boot-time measurement: tools/boot-time.py).
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
# From here on the kernel's messages go to its log, not the console, so that they cannot split the
# harness's lines (a console line is written in pieces; a kernel message may land in the middle).
# Scripts read the log with dmesg; its warnings and worse are printed at the end (MOAT-KMSG).
dmesg -n 1
# The kernel's uptime and the timer count since the machine started (tests/linux/cntvct.c) are what
# tools/boot-time.py reads under -icount (virtual time: instructions).
counter=
[ -x /bin/cntvct ] && counter=" counter=$(/bin/cntvct | tr ' ' /)"
echo "MOAT-HOST-INIT: cpus=$(grep -c ^processor /proc/cpuinfo) uptime=$(cut -d' ' -f1 /proc/uptime)$counter"

run=demo
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	moat.run=*) run=${arg#moat.run=} ;;
	esac
done

if [ -e /lib/moat/moat.ko ]; then
	insmod /lib/moat/moat.ko || echo "MOAT-HOST-INIT: insmod moat.ko failed"
fi

if [ "$run" = none ]; then
	rc=0
elif [ -x "/tests/$run.sh" ] || [ -f "/tests/$run.sh" ]; then
	sh "/tests/$run.sh"
	rc=$?
else
	echo "MOAT-HOST-INIT: no /tests/$run.sh"
	rc=127
fi
dmesg -r | grep '^<[0-4]>' | sed 's/^/MOAT-KMSG: /'
echo "MOAT-RUN-END: $run rc=$rc"
poweroff -f
