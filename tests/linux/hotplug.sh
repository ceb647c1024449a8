# Host CPU hotplug through sysfs: CPU 1 goes offline (the kernel's PSCI CPU_OFF, handled by the
# core) and comes back (PSCI CPU_ON), twice. tests/integration/test_linux_host.py reads the lines.
f=/sys/devices/system/cpu/cpu1/online
[ -e "$f" ] || { echo "hotplug: no $f"; exit 1; }
dmesg -c >/dev/null
for round in 1 2; do
	echo 0 >"$f" || { echo "hotplug: offline failed"; exit 1; }
	echo "hotplug: round $round offline: online=$(cat /sys/devices/system/cpu/online) cpu1=$(cat $f)"
	echo 1 >"$f" || { echo "hotplug: online failed"; exit 1; }
	echo "hotplug: round $round online: online=$(cat /sys/devices/system/cpu/online) cpu1=$(cat $f)"
done
# CPU 1 runs work again after coming back: pin a shell there (field 39 of stat: the CPU it ran on).
taskset -c 1 sh -c 'echo "hotplug: ran on cpu $(cut -d" " -f39 /proc/self/stat)"'
# What the kernel said meanwhile (without time stamps).
dmesg | grep -E 'psci|CPU1' | sed 's/^\[[^]]*\] //; s/^/hotplug: kmsg: /'
exit 0
