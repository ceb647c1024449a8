#!/bin/busybox sh
# /init of the Linux host's initramfs (built by mk/linux.mk). Mounts the usual file systems, loads
# moat.ko if present, runs the script the kernel command line names and powers the machine off:
#   moat.run=NAME   runs /tests/NAME.sh (default: demo); its exit status is printed as
#                   "MOAT-RUN-END: NAME rc=N" so the test runner on the outside can read it.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "MOAT-HOST-INIT: cpus=$(grep -c ^processor /proc/cpuinfo)"

run=demo
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	moat.run=*) run=${arg#moat.run=} ;;
	esac
done

if [ -e /lib/moat/moat.ko ]; then
	insmod /lib/moat/moat.ko || echo "MOAT-HOST-INIT: insmod moat.ko failed"
fi

if [ -x "/tests/$run.sh" ] || [ -f "/tests/$run.sh" ]; then
	sh "/tests/$run.sh"
	rc=$?
else
	echo "MOAT-HOST-INIT: no /tests/$run.sh"
	rc=127
fi
echo "MOAT-RUN-END: $run rc=$rc"
poweroff -f
