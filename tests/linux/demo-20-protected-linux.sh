# make run, inside the Linux host (tests/linux/demo.sh runs every demo-*.sh): Debian's same kernel as a
# protected guest of moat-vmm on 2 vCPUs, console over the emulated PL011. Once it is up, the host
# tries to read the guest's first page through the kernel's linear map (the test module
# moat_peek.ko, as a buggy or hostile host driver could): the core refuses -- the read becomes an
# external abort, the core's log line names page and owner, the kernel kills only the reading task --
# and the guest lives on: it reads a line typed on moat-vmm's stdin and powers off (exit 0).
# Needs the host initramfs with the Linux guest (build/linux/host-initramfs-linux.cpio).
if [ ! -f /guests/Image ]; then
	echo "demo-20: no /guests/Image: boot with --initrd build/linux/host-initramfs-linux.cpio"
	exit 1
fi
rc=0
args="console=ttyAMA0 earlycon rdinit=/init nokaslr cma=0 panic=-1 loglevel=4"
rm -f /tmp/in && mkfifo /tmp/in
echo "demo-20: moat-vmm run --kernel /guests/Image --initrd /guests/linux-initramfs.cpio --mem 192M --cpus 2 --protected"
moat-vmm run --kernel /guests/Image --initrd /guests/linux-initramfs.cpio --mem 192M --cpus 2 --protected \
	--cmdline "$args" </tmp/in >/tmp/demo-20.out 2>/tmp/demo-20.err &
pid=$!
exec 3>/tmp/in
i=0
while [ $i -lt 600 ] && kill -0 $pid 2>/dev/null && ! grep -q "MOAT-LINUX-GUEST: type a line" /tmp/demo-20.out; do
	sleep 0.2
	i=$((i + 1))
done
tr -d '\r' </tmp/demo-20.out | sed 's/^/guest| /'
: >/tmp/demo-20.shown
grep -q "MOAT-LINUX-GUEST: up, 2 CPU(s)" /tmp/demo-20.out || { echo "demo-20: the guest did not come up on 2 CPUs"; rc=1; }

# The refused read. The module is a test module, loaded only here.
insmod /lib/moat/moat_peek.ko 2>/dev/null
echo "demo-20: the host reads guest page 0x40000000 through its linear map (moat_peek.ko) ..."
moattest peek-pid $pid 0x40000000 || rc=1
dmesg | grep -m 2 -E "Internal error|synchronous external abort" | sed 's/^/demo-20: host kernel: /'

echo "typed into the guest after the refused read" >&3
exec 3>&-
wait $pid
status=$?
tr -d '\r' </tmp/demo-20.out | sed '1,/MOAT-LINUX-GUEST: type a line/d; s/^/guest| /'
sed 's/^/moat-vmm| /' /tmp/demo-20.err
grep -q "MOAT-LINUX-GUEST: read 'typed into the guest after the refused read'" /tmp/demo-20.out ||
	{ echo "demo-20: the guest did not live on after the refused read"; rc=1; }
[ $status -eq 0 ] || { echo "demo-20: moat-vmm exit status $status, want 0"; rc=1; }
[ $rc -eq 0 ] && echo "demo-20: the protected Linux guest ran on 2 vCPUs, the host's read was refused, the guest lived on"
exit $rc
