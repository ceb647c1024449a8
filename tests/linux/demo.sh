# make run's script inside the Linux host (host/linux/init.sh runs it): every /tests/demo-*.sh
# (tests/linux/demo-*.sh in the tree) in name order -- demo-10-protected-bare.sh (a protected
# bare-metal guest through moat-vmm), demo-20-protected-linux.sh (a protected Linux guest on 2 vCPUs
# and the host's refused read of its memory). Each prints what it shows and exits 0 on success; this
# script reports each step and fails if any step failed.
echo "demo: Linux host up under moat with $(grep -c ^processor /proc/cpuinfo) CPU(s)" \
	"($(cat /sys/devices/system/cpu/online) online); the kernel says: $(dmesg | grep -o 'kvm \[1\]: HYP mode not available')"
[ -c /dev/moat ] && echo "demo: /dev/moat present"
rc=0
for step in /tests/demo-*.sh; do
	[ -e "$step" ] || continue
	name=$(basename "$step" .sh)
	echo "demo: ---- $name ----"
	if sh "$step"; then
		echo "demo: $name ok"
	else
		echo "demo: $name FAILED (status $?)"
		rc=1
	fi
done
exit $rc
