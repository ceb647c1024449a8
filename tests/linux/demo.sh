# make run's script inside the Linux host (host/linux/init.sh runs it). Grows as the driver and
# the VMM land: a protected bare-metal guest, a protected Linux guest, the refused host read.
echo "demo: Linux host up under moat with $(grep -c ^processor /proc/cpuinfo) CPU(s)"
[ -c /dev/moat ] && echo "demo: /dev/moat present"
exit 0
