#!/bin/busybox sh
# /init of the Linux test guest's initramfs (make linux-guest). Prints /proc/interrupts (the tests
# check that the timer and the IPIs reached every CPU through the core's vGIC), then
#   MOAT-GUEST-LINUX-OK cpus=N
# (N = the CPUs Linux brought online) and powers off with PSCI SYSTEM_OFF.
/bin/busybox mount -t proc proc /proc
/bin/busybox cat /proc/interrupts
n=$(/bin/busybox grep -c '^processor' /proc/cpuinfo)
echo "MOAT-GUEST-LINUX-OK cpus=$n"
/bin/busybox poweroff -f
