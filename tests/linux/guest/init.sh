#!/bin/busybox sh
# /init of the Linux guest's initramfs (a Linux guest of moat-vmm, tests/linux/vmm-linux.sh): says it is
# up and on how many CPUs, echoes one line of console input if any arrives, and powers off (PSCI
# SYSTEM_OFF, so moat-vmm exits 0).
/bin/busybox --install -s
mount -t proc proc /proc
echo "MOAT-LINUX-GUEST: up, $(grep -c ^processor /proc/cpuinfo) CPU(s), kernel $(uname -r)"
# The marker tells the VMM's user that the console driver is listening: Linux drains the UART's FIFO
# when it starts the port, so input typed earlier is gone, as on hardware.
echo "MOAT-LINUX-GUEST: type a line"
if read -t 60 line; then
	echo "MOAT-LINUX-GUEST: read '$line'"
fi
# Power off now (as busybox's poweroff -f: the kernel calls PSCI SYSTEM_OFF), through the sysrq
# interface, whose name no build-machine tool shares (scripts/check-deps.sh reads this file too).
echo o >/proc/sysrq-trigger
sleep 10
