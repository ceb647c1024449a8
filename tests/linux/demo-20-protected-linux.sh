# make run, inside the Linux host (tests/linux/demo.sh runs every demo-*.sh): Debian's same kernel as a
# protected guest of moat-vmm on 2 vCPUs, console over the emulated PL011. Once it is up, the host
# tries to read the guest's first page through the kernel's linear map (the test module
# moat_peek.ko, as a buggy or hostile host driver could): the core refuses -- the read becomes an
# external abort, the core's log line names page and owner, the kernel kills only the reading task --
# and the guest lives on. Then the verifier's challenge is typed into the guest (MOAT_CHALLENGE, 128
# hex digits, from the host's kernel command line: tools/run-chain.sh picks it; random if unset): the
# guest's /init answers with a report signed by the core (moat_attest.ko + moat-attest, "MOAT-REPORT:
# <hex>"), which tools/run-chain.sh checks on the build machine with tools/moat-verify. Last the guest
# reads a line typed on moat-vmm's stdin and powers off (exit 0).
# The "demo-20: moat-vmm run ..." line is the exact command: tools/run-chain.sh recomputes the
# expected measurement from it. Needs build/linux/host-initramfs-linux.cpio (the Linux guest).
if [ ! -f /guests/Image ]; then
	echo "demo-20: no /guests/Image: boot with --initrd build/linux/host-initramfs-linux.cpio"
	exit 1
fi
rc=0
args="console=ttyAMA0 earlycon rdinit=/init nokaslr cma=0 panic=-1 loglevel=4"
challenge=${MOAT_CHALLENGE:-$(od -An -tx1 -N64 /dev/urandom | tr -d ' \n')}
rm -f /tmp/in && mkfifo /tmp/in
# One string for the command run and the one printed (tools/run-chain.sh measures what is printed).
vmm_args="--kernel /guests/Image --initrd /guests/linux-initramfs.cpio --mem 192M --cpus 2 --protected"
echo "demo-20: moat-vmm run $vmm_args --cmdline \"$args\""
# shellcheck disable=SC2086 # $vmm_args: words without spaces
moat-vmm run $vmm_args --cmdline "$args" </tmp/in >/tmp/demo-20.out 2>/tmp/demo-20.err &
pid=$!
exec 3>/tmp/in
# wait_for ERE: until a line of the guest's console matches ERE and the console ends with a whole
# line (the guest has printed all it had: the echo of a line typed now cannot land inside one of its
# lines -- a report is over a thousand characters and the UART is slow), or the VM ended.
wait_for() {
	tries=0
	while [ $tries -lt 600 ] && kill -0 $pid 2>/dev/null; do
		grep -q -E "$1" /tmp/demo-20.out && [ -z "$(tail -c 1 /tmp/demo-20.out)" ] && return 0
		sleep 0.2
		tries=$((tries + 1))
	done
	return 1
}
wait_for "MOAT-LINUX-GUEST: type a line"
tr -d '\r' </tmp/demo-20.out | sed 's/^/guest| /'
: >/tmp/demo-20.shown
grep -q "MOAT-LINUX-GUEST: up, 2 CPU(s)" /tmp/demo-20.out || { echo "demo-20: the guest did not come up on 2 CPUs"; rc=1; }

# The refused read. The module is a test module, loaded only here.
insmod /lib/moat/moat_peek.ko 2>/dev/null
echo "demo-20: the host reads guest page 0x40000000 through its linear map (moat_peek.ko) ..."
moattest peek-pid $pid 0x40000000 || rc=1
dmesg | grep -m 2 -E "Internal error|synchronous external abort" | sed 's/^/demo-20: host kernel: /'

echo "demo-20: the verifier's challenge, typed into the guest: $challenge"
echo "challenge $challenge" >&3
wait_for "^(MOAT-REPORT|moat-attest: report): "
echo "typed into the guest after the refused read" >&3
exec 3>&-
wait $pid
status=$?
tr -d '\r' </tmp/demo-20.out | sed '1,/MOAT-LINUX-GUEST: type a line/d; s/^/guest| /'
sed 's/^/moat-vmm| /' /tmp/demo-20.err
grep -q "MOAT-LINUX-GUEST: read 'typed into the guest after the refused read'" /tmp/demo-20.out ||
	{ echo "demo-20: the guest did not live on after the refused read"; rc=1; }
grep -q "^MOAT-REPORT: " /tmp/demo-20.out ||
	{ echo "demo-20: the guest printed no attestation report for the challenge"; rc=1; }
[ $status -eq 0 ] || { echo "demo-20: moat-vmm exit status $status, want 0"; rc=1; }
[ $rc -eq 0 ] && echo "demo-20: the protected Linux guest ran on 2 vCPUs, the host's read was refused, the guest" \
	"lived on and printed a report for the verifier's challenge"
exit $rc
