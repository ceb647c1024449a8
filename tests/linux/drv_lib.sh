# Shared by the drv_*.sh scripts (sourced). moattest's output goes to a file and is printed in one
# piece at the end, between markers, because the console is shared: the core at EL2 and the kernel's
# printk write to the same UART while a test runs and can interleave with it mid-line.
out=/tmp/drv.out
: >$out
echo "cpus=$(grep -c ^processor /proc/cpuinfo)" >>$out
t() { moattest "$@" >>$out 2>&1 || rc=1; }
drv_report() {
	echo "=== moattest begin ==="
	cat $out
	echo "=== moattest end ==="
}
