# Debian's stock arm64 kernel as a guest of moat-vmm inside the Linux host (tests/integration/test_vmm.py;
# needs the host initramfs with the Linux guest, build/linux/host-initramfs-linux.cpio):
# protected and normal, 1 and 2 vCPUs, console over the emulated PL011 (output, and one line of input
# through the RX interrupt), PSCI SYSTEM_OFF -> exit 0. The guest's initramfs is tests/linux/guest/init.sh.
# A case "term:N" runs a normal guest on N vCPUs and, once it waits for input (its vCPUs idle in the
# driver's WFI sleep, inside RUN), sends moat-vmm SIGTERM: it must stop the vCPUs and exit 143.
# A case "kvm:N" runs a normal guest through moat-vmm's KVM backend (a host booted with KVM, no moat).
# VMM_LINUX_CASES (default all four; the kernel passes an unknown NAME=VALUE of the host's command line
# to /init's environment) picks e.g. "normal:1,protected:2" for a shorter run. VMM_LINUX_KERNEL picks
# another kernel (default /guests/Image, Debian's; /guests/pkvm-Image is the protected-guest kernel of
# host-initramfs-pkvm.cpio), VMM_LINUX_EARLYCON=0 leaves earlycon off the guest's command line,
# VMM_LINUX_LOGLEVEL=N replaces its loglevel=4.
kernel=${VMM_LINUX_KERNEL:-/guests/Image}
if [ ! -f "$kernel" ]; then
	echo "FAIL: no $kernel: boot with --initrd build/linux/host-initramfs-linux.cpio (or -pkvm.cpio)"
	exit 1
fi
. /tests/lib.sh # rc, ok, bad, vmm, has, lacks
# cma=0: Debian reserves 64 MiB for CMA otherwise, too much of a small guest; panic=-1: a guest panic
# resets at once (exit 3) instead of hanging until the test's timeout; nokaslr: no seed in the DTB.
args="console=ttyAMA0 earlycon rdinit=/init nokaslr cma=0 panic=-1 loglevel=4"
[ "${VMM_LINUX_EARLYCON:-1}" = 0 ] && args=${args/ earlycon/}
args=${args/loglevel=4/loglevel=${VMM_LINUX_LOGLEVEL:-4}}
# test_vmm.py recomputes a protected case's measurement with moat-measure from these very arguments.
mem=192M
echo "vmm-linux: --mem $mem --cmdline '$args'"
for c in $(echo "${VMM_LINUX_CASES:-normal:1,protected:1,normal:2,protected:2}" | tr , ' '); do
	type=${c%:*} cpus=${c#*:} name=linux-${c%:*}-${c#*:}
	flag= want=0
	[ $type = protected ] && flag=--protected
	[ $type = term ] && want=143
	[ $type = kvm ] && flag="--backend kvm"
	start=$(date +%s)
	# Input once the guest asks for it (it drains what arrives before its console driver starts).
	rm -f /tmp/in && mkfifo /tmp/in
	moat-vmm run --kernel "$kernel" --initrd /guests/linux-initramfs.cpio --mem $mem --cpus $cpus $flag \
		--cmdline "$args" </tmp/in >/tmp/$name.out 2>/tmp/$name.err &
	pid=$!
	exec 3>/tmp/in
	i=0
	while [ $i -lt 600 ] && kill -0 $pid 2>/dev/null && ! grep -q "MOAT-LINUX-GUEST: type a line" /tmp/$name.out; do
		sleep 0.2
		i=$((i + 1))
	done
	if [ $type = term ]; then
		kill -TERM $pid
	else
		echo "typed into the guest" >&3
	fi
	exec 3>&-
	wait $pid
	got=$?
	end=$(date +%s)
	sed "s/^/$name| /" /tmp/$name.out /tmp/$name.err | tr -d '\r'
	echo "$name: $((end - start)) s"
	if [ $got -eq $want ]; then ok "$name: exit status $got"; else bad "$name: exit status $got, want $want"; fi
	if grep -q "MOAT-LINUX-GUEST: up, $cpus CPU(s)" /tmp/$name.out; then ok "$name: guest up on $cpus CPU(s)"; else bad "$name: no marker for $cpus CPU(s)"; fi
	if [ $type = term ]; then
		if grep -q "moat-vmm: Terminated: stopping the VM" /tmp/$name.err; then ok "$name: SIGTERM stopped the VM"; else bad "$name: no stop message"; fi
		continue
	fi
	if grep -q "MOAT-LINUX-GUEST: read 'typed into the guest'" /tmp/$name.out; then ok "$name: console input reached the guest"; else bad "$name: the guest did not read its input"; fi
done
exit $rc
