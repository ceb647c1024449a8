# What the stock kernel sees of its CPUs and of EL2 under moat (tests/integration/test_linux_host.py).
echo "hostboot: online=$(cat /sys/devices/system/cpu/online) possible=$(cat /sys/devices/system/cpu/possible)"
echo "hostboot: kvm=$([ -e /dev/kvm ] && echo present || echo absent)"
# The kernel's own words about EL2 and PSCI, in case the console lost them (quiet, ratelimit).
dmesg | grep -E 'kvm|started at EL|psci:|smp:' | sed 's/^\[[^]]*\] //; s/^/hostboot: dmesg: /'
# Its RAM (the core's memory is /reserved-memory no-map: not System RAM) and its devices (no fw_cfg).
grep 'System RAM' /proc/iomem | sed 's/^ *//; s/^/hostboot: iomem: /'
echo "hostboot: memtotal=$(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
echo "hostboot: dt-reserved=$(ls /proc/device-tree/reserved-memory 2>/dev/null | tr '\n' ' ')"
echo "hostboot: fw-cfg=$(ls -d /proc/device-tree/fw-cfg@* >/dev/null 2>&1 && echo present || echo absent)"
exit 0
