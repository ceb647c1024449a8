#!/bin/busybox sh
# /init of the Linux test guest's initramfs (make linux-guest). Prints /proc/interrupts (the tests
# check that the timer and the IPIs reached every CPU through the core's vGIC), then
#   MOAT-GUEST-LINUX-OK cpus=N
# (N = the CPUs Linux brought online) and powers off with PSCI SYSTEM_OFF.
/bin/busybox mount -t proc proc /proc
/bin/busybox cat /proc/interrupts
n=$(/bin/busybox grep -c '^processor' /proc/cpuinfo)
echo "MOAT-GUEST-LINUX-OK cpus=$n"
# echo returns once the line is in the tty's buffer, not necessarily on the wire (the serial core can
# leave the transmit to a worker), so an immediate poweroff -f can cut the marker off: seen once in
# ~50 boots, 2 vCPUs on their own CPUs, the /proc/interrupts lines out and the marker missing. Half a
# second of guest time lets the tty drain.
/bin/busybox sleep 0.5
/bin/busybox poweroff -f
