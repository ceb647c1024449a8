# Attestation from a protected Linux guest's user space (tests/integration/test_attest_linux.py; needs
# the host initramfs with the Linux guest, build/linux/host-initramfs-linux.cpio). Debian's kernel as a
# guest of moat-vmm on 1 vCPU, its /init (tests/linux/guest/init.sh) loading moat_attest.ko:
#   protected-a     reports for two challenges -- the verifier's (ATTEST_C1, 128 hex digits, from the
#                   kernel command line; random if unset) and a random one made here (two would not
#                   fit in the core's 256 bytes of bootargs) -- its measurement and sealing key ID
#   protected-b     the same image again: the same sealing key ID is expected
#   protected-flip  the guest's initramfs with one byte changed: byte 53, the last digit of the first
#                   archive entry's mtime ("0" -> "1", so the archive stays valid and the guest boots
#                   the same): another measurement and sealing key ID are expected
#   normal          a normal VM: every call gets NOT_SUPPORTED, reported cleanly by moat-attest
# Prints each guest's console and moat-vmm's stderr prefixed with the case's name ("protected-a| ...");
# the test on the build machine checks the reports with tools/moat-verify. ok:/FAIL: lines here
# cover what the host can see (exit status, the guest's markers).
if [ ! -f /guests/Image ]; then
	echo "FAIL: no /guests/Image: boot with --initrd build/linux/host-initramfs-linux.cpio"
	exit 1
fi
. /tests/lib.sh # rc, ok, bad, vmm, has, lacks
random_hex() { od -An -tx1 -N64 /dev/urandom | tr -d ' \n'; }
c1=${ATTEST_C1:-$(random_hex)}
c2=$(random_hex)
echo "attest: challenge 1 $c1"
echo "attest: challenge 2 $c2"
args="console=ttyAMA0 earlycon rdinit=/init nokaslr cma=0 panic=-1 loglevel=4"

cp /guests/linux-initramfs.cpio /tmp/flip.cpio
if [ "$(dd if=/tmp/flip.cpio bs=1 skip=53 count=1 2>/dev/null)" = 0 ]; then
	printf 1 | dd of=/tmp/flip.cpio bs=1 seek=53 conv=notrunc 2>/dev/null
else
	bad "byte 53 of the guest's initramfs is not the '0' of the first entry's mtime"
fi

# wait_for NAME ERE COUNT: until COUNT lines of the guest's console match ERE and the console ends
# with a whole line (the guest has printed all it had: the echo of a line typed now cannot land inside
# one of its lines -- a report is over a thousand characters and the UART is slow), or the VM ended.
wait_for() {
	tries=0
	while [ $tries -lt 600 ] && kill -0 $pid 2>/dev/null; do
		[ "$(grep -c -E "$2" "/tmp/$1.out")" -ge "$3" ] && [ -z "$(tail -c 1 "/tmp/$1.out")" ] && return 0
		sleep 0.2
		tries=$((tries + 1))
	done
	return 1
}

# run NAME INITRD VMM-FLAGS LINE...: boot the guest, type each LINE (then "done") once it listens,
# each after the answer to the one before, and wait for the guest to power off.
run() {
	name=$1 initrd=$2 flags=$3
	shift 3
	rm -f /tmp/in && mkfifo /tmp/in
	moat-vmm run --kernel /guests/Image --initrd "$initrd" --mem 192M --cpus 1 $flags --cmdline "$args" \
		</tmp/in >/tmp/$name.out 2>/tmp/$name.err &
	pid=$!
	exec 3>/tmp/in
	wait_for $name "MOAT-LINUX-GUEST: type a line" 1
	n=0
	for line in "$@" "done"; do
		wait_for $name "^(MOAT-REPORT|moat-attest: report): " $n
		echo "$line" >&3
		n=$((n + 1))
	done
	exec 3>&-
	wait $pid
	status=$?
	sed "s/^/$name| /" /tmp/$name.out /tmp/$name.err | tr -d '\r'
	if [ $status -eq 0 ]; then ok "$name: exit status 0"; else bad "$name: exit status $status, want 0"; fi
	grep -q "MOAT-LINUX-GUEST: up, 1 CPU(s)" /tmp/$name.out || bad "$name: the guest did not come up"
	grep -q "MOAT-LINUX-GUEST: read 'done'" /tmp/$name.out || bad "$name: the guest did not read its input"
	grep -q "MOAT-LINUX-GUEST: insmod moat_attest.ko failed" /tmp/$name.out && bad "$name: insmod moat_attest.ko failed"
}

run protected-a /guests/linux-initramfs.cpio --protected "challenge $c1" "challenge $c2"
run protected-b /guests/linux-initramfs.cpio --protected
run protected-flip /tmp/flip.cpio --protected
run normal /guests/linux-initramfs.cpio "" "challenge $c1"
exit $rc
