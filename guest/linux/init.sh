#!/bin/busybox sh
# /init of the Linux test guest's initramfs (make linux-guest). Prints /proc/interrupts (the tests
# check that the timer and the IPIs reached every CPU through the core's vGIC), then
#   MOAT-GUEST-LINUX-OK cpus=N
# (N = the CPUs Linux brought online) and powers off with PSCI SYSTEM_OFF.
#
# Everything goes through the kernel's log (/dev/kmsg, level 0 so that loglevel=4 shows it), one
# record per line: printk writes the console synchronously, whole records, and before "reboot: Power
# down". A plain echo only reaches the tty's buffer, which the serial core drains on its own time:
# seen here, the marker cut off by poweroff -f, and /proc/interrupts still draining while the
# marker arrived, the two mixed on one line (2 vCPUs on their own CPUs, about 1 boot in 30).
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
while IFS= read -r line; do
	echo "<0>$line" >/dev/kmsg
done </proc/interrupts
n=$(/bin/busybox grep -c '^processor' /proc/cpuinfo)
echo "<0>MOAT-GUEST-LINUX-OK cpus=$n" >/dev/kmsg
/bin/busybox poweroff -f
