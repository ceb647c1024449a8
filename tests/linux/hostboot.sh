# What the stock kernel sees of its CPUs and of EL2 under moat (tests/integration/test_linux_host.py).
echo "hostboot: online=$(cat /sys/devices/system/cpu/online) possible=$(cat /sys/devices/system/cpu/possible)"
echo "hostboot: kvm=$([ -e /dev/kvm ] && echo present || echo absent)"
# The kernel's own words about EL2 and PSCI, in case the console lost them (quiet, ratelimit).
dmesg | grep -E 'kvm|started at EL|psci:|smp:' | sed 's/^\[[^]]*\] //; s/^/hostboot: dmesg: /'
exit 0
