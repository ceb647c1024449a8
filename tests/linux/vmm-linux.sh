# Debian's stock arm64 kernel as a guest of moat-vmm inside the Linux host (tests/integration/test_vmm.py;
# needs the host initramfs with the Linux guest, build/linux/host-initramfs-linux.cpio):
# protected and normal, 1 and 2 vCPUs, console over the emulated PL011 (output, and one line of input
# through the RX interrupt), PSCI SYSTEM_OFF -> exit 0. The guest's initramfs is tests/linux/guest/init.sh.
# VMM_LINUX_CASES (default all four; the kernel passes an unknown NAME=VALUE of the host's command line
# to /init's environment) picks e.g. "normal:1,protected:2" for a shorter run.
if [ ! -f /guests/Image ]; then
	echo "FAIL: no /guests/Image: boot with --initrd build/linux/host-initramfs-linux.cpio"
	exit 1
fi
rc=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; rc=1; }
# cma=0: Debian reserves 64 MiB for CMA otherwise, too much of a small guest; panic=-1: a guest panic
# resets at once (exit 3) instead of hanging until the test's timeout; nokaslr: no seed in the DTB.
args="console=ttyAMA0 earlycon rdinit=/init nokaslr cma=0 panic=-1 loglevel=4"
for c in $(echo "${VMM_LINUX_CASES:-normal:1,protected:1,normal:2,protected:2}" | tr , ' '); do
	type=${c%:*} cpus=${c#*:} name=linux-${c%:*}-${c#*:}
	flag=
	[ $type = protected ] && flag=--protected
	start=$(cut -d' ' -f1 /proc/uptime)
	# Input once the guest asks for it (it drains what arrives before its console driver starts).
	rm -f /tmp/in && mkfifo /tmp/in
	moat-vmm run --kernel /guests/Image --initrd /guests/linux-initramfs.cpio --mem 192M --cpus $cpus $flag \
		--cmdline "$args" </tmp/in >/tmp/$name.out 2>/tmp/$name.err &
	pid=$!
	exec 3>/tmp/in
	i=0
	while [ $i -lt 600 ] && kill -0 $pid 2>/dev/null && ! grep -q "MOAT-LINUX-GUEST: type a line" /tmp/$name.out; do
		sleep 0.2
		i=$((i + 1))
	done
	echo "typed into the guest" >&3
	exec 3>&-
	wait $pid
	got=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	sed "s/^/$name| /" /tmp/$name.out /tmp/$name.err | tr -d '\r'
	echo "$name: $(echo "$start $end" | awk '{printf "%.1f", $2 - $1}') s"
	if [ $got -eq 0 ]; then ok "$name: exit status 0"; else bad "$name: exit status $got, want 0"; fi
	if grep -q "MOAT-LINUX-GUEST: up, $cpus CPU(s)" /tmp/$name.out; then ok "$name: guest up on $cpus CPU(s)"; else bad "$name: no marker for $cpus CPU(s)"; fi
	if grep -q "MOAT-LINUX-GUEST: read 'typed into the guest'" /tmp/$name.out; then ok "$name: console input reached the guest"; else bad "$name: the guest did not read its input"; fi
done
exit $rc
