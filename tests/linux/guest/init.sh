#!/bin/busybox sh
# /init of the Linux guest's initramfs (a Linux guest of moat-vmm: tests/linux/vmm-linux.sh, the
# attestation demo and test): says it is up and on how many CPUs, loads moat_attest.ko and prints the
# VM's measurement and sealing key ID (guest/linux/attest/; a normal VM gets NOT_SUPPORTED), then
# reads console input: each line "challenge <128 hex digits>" is answered with a signed report
# (MOAT-REPORT: <hex>); the first other line is echoed and the guest powers off (PSCI SYSTEM_OFF,
# so moat-vmm exits 0).
/bin/busybox --install -s
mount -t proc proc /proc
mount -t devtmpfs dev /dev
echo "MOAT-LINUX-GUEST: up, $(grep -c ^processor /proc/cpuinfo) CPU(s), kernel $(uname -r)"
if insmod /lib/moat/moat_attest.ko; then
	moat-attest measurement
	moat-attest sealing-key-id
else
	echo "MOAT-LINUX-GUEST: insmod moat_attest.ko failed"
fi
# The marker tells the VMM's user that the console driver is listening: Linux drains the UART's FIFO
# when it starts the port, so input typed earlier is gone, as on hardware.
echo "MOAT-LINUX-GUEST: type a line"
while read -t 60 line; do
	case "$line" in
	"challenge "*) moat-attest report --challenge "${line#challenge }" ;;
	*)
		echo "MOAT-LINUX-GUEST: read '$line'"
		break
		;;
	esac
done
# Power off now (as busybox's poweroff -f: the kernel calls PSCI SYSTEM_OFF), through the sysrq
# interface, whose name no build-machine tool shares (scripts/check-deps.sh reads this file too).
echo o >/proc/sysrq-trigger
sleep 10
