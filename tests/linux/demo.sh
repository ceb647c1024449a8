# make run's script inside the Linux host (host/linux/init.sh runs it). Grows as the driver and
# the VMM land: a protected bare-metal guest, a protected Linux guest, the refused host read.
#
# Hook: every /tests/demo-*.sh (tests/linux/demo-*.sh in the tree, e.g. demo-10-protected-bare.sh,
# demo-20-protected-linux.sh: the protected Linux guest and the refused host read) runs in name order; each prints what it shows
# and exits 0 on success. This script reports each step and fails if any step failed.
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
