# moat-vmm's virtio devices with a Linux guest (tests/integration/test_virtio.py; boot the host with
# --initrd build/linux/host-initramfs-virtio.cpio --mem 2G). Per case: a fresh copy of the ext4 image
# in the host's tmpfs as --disk, a tap as --net (Debian's tun.ko), --virtio-console, the guest of
# tests/linux/guest/virtio-init.sh, the VMM's guest-RAM scan (MOAT_VMM_SCAN) looking for the guest's
# secret, and a busybox nc on the host receiving the guest's file. Cases (VIRTIO_CASES, comma-separated):
#   normal, protected        the checks must pass
#   fault:MODE               protected, with MOAT_VMM_FAULT_INJECT=MODE (vq-index, used-idx, desc-len,
#                            desc-addr): the guest may fail its I/O or panic; the secret is never seen
#                            and the core's CHECK counter stays 0
#   kvm                      normal, through --backend kvm (a host booted without moat)
#   bench-normal, bench-protected, bench-kvm
#                            make bench (tools/bench-virtio.py): the guest measures dd throughput
#                            and ping round trips instead (virtio.bench=1); no checks, no scan
. /tests/lib.sh # rc, ok, bad, vmm, has, lacks
if [ ! -f /guests/virtio-Image ]; then
	echo "FAIL: no /guests/virtio-Image: boot with --initrd build/linux/host-initramfs-virtio.cpio"
	exit 1
fi
insmod /lib/moat/tun.ko 2>/dev/null
[ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
secret=MOAT-CANARY-5a17e3d9b0c4
args="console=ttyAMA0 rdinit=/init nokaslr cma=0 panic=-1 loglevel=4 ${VIRTIO_GUEST_ARGS:-}"
for c in $(echo "${VIRTIO_CASES:-normal,protected}" | tr , ' '); do
	type=${c%%:*} fault= flag= limit=300 extra= scanfor=$secret
	name=virtio-$(echo $c | tr : -)
	case $type in
	protected | bench-protected) flag=--protected ;;
	fault) flag=--protected fault=${c#*:} limit=60 extra="virtio.mb=16 virtio.netmb=2" ;;
	kvm | bench-kvm) flag="--backend kvm" ;;
	esac
	case $type in bench-*) extra="virtio.bench=1" scanfor= ;; esac
	gunzip -c /guests/virtio-disk.img.gz >/tmp/disk.img
	rm -f /tmp/up.bin /tmp/ncin
	# nc's stdin stays open (a fifo we hold): at EOF on it nc would close its side, and the guest's
	# nc stops sending when it sees that.
	mkfifo /tmp/ncin
	nc -l -p 5000 </tmp/ncin >/tmp/up.bin &
	ncpid=$!
	exec 4>/tmp/ncin
	start=$(date +%s)
	MOAT_VMM_SCAN=$scanfor MOAT_VMM_FAULT_INJECT=$fault MOAT_VMM_VIRTIO_STATS=1 timeout -s TERM $limit \
		moat-vmm run --kernel /guests/virtio-Image --initrd /guests/virtio-initramfs.cpio --mem 256M $flag \
		--disk /tmp/disk.img --net tap:vtap0 --virtio-console --cmdline "$args $extra" </dev/null \
		>/tmp/$name.out 2>/tmp/$name.err &
	pid=$!
	i=0
	while [ $i -lt 100 ] && [ ! -e /sys/class/net/vtap0 ] && kill -0 $pid 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	ifconfig vtap0 10.0.2.2 netmask 255.255.255.0 up
	wait $pid
	got=$?
	end=$(date +%s)
	sleep 1
	exec 4>&-
	kill $ncpid 2>/dev/null
	wait $ncpid 2>/dev/null
	sed "s/^/$name| /" /tmp/$name.out /tmp/$name.err | tr -d '\r'
	echo "$name: $((end - start)) s"
	case $type in bench-*) continue ;; esac
	scan=$(grep "moat-vmm: scan: passes=" /tmp/$name.err)
	hits=$(echo "$scan" | sed -n 's/.* hits=\([0-9]*\).*/\1/p')
	if [ "$type" = normal ] || [ "$type" = kvm ]; then
		# A normal VM's RAM is the VMM's own memory: the scan must find the secret (it works).
		[ "${hits:-0}" -gt 0 ] && ok "$name: scan finds the secret in a normal VM's RAM" || bad "$name: scan: $scan"
	else
		[ -n "$scan" ] && [ "$hits" = 0 ] && ok "$name: scan never saw the secret ($scan)" || bad "$name: scan: $scan"
	fi
	stats=$(moattest api 2>/dev/null | grep '^stats:')
	[ "$type" = kvm ] || case "$stats" in
	*" check=0 "*) ok "$name: core CHECK 0 violations after the run" ;;
	*) bad "$name: core stats: $stats" ;;
	esac
	if [ "$type" = fault ]; then
		# The guest may fail or panic (exit 3 with panic=-1), or hang until timeout (143): the VMM
		# must not have crashed (a signal other than the timeout's TERM).
		if [ $got -le 4 ] || [ $got = 143 ]; then
			ok "$name: moat-vmm exit status $got"
		else
			bad "$name: moat-vmm exit status $got"
		fi
		probes=$(sed -n 's/.*fault injection: \([0-9]*\) reads outside the pool, \([0-9]*\) refused.*/\1 \2/p' /tmp/$name.err)
		if [ "$fault" = desc-addr ]; then
			set -- $probes
			[ "${1:-0}" -gt 0 ] && [ "$1" = "$2" ] && ok "$name: all $1 reads outside the pool refused" ||
				bad "$name: reads outside the pool / refused: $probes"
		fi
		continue
	fi
	[ $got -eq 0 ] && ok "$name: exit status 0" || bad "$name: exit status $got"
	for want in "hello through hvc0" "ext4 mounted on /dev/vda" "blk: 64 MiB checksum ok" "ping ok: 3 replies" \
		"net: nc done" "done"; do
		grep -q "MOAT-VIRTIO: $want" /tmp/$name.out && ok "$name: $want" || bad "$name: no '$want'"
	done
	sent=$(sed -n 's/.*MOAT-VIRTIO: net sent sha256 \([0-9a-f]*\).*/\1/p' /tmp/$name.out | tr -d '\r')
	recv=$(sha256sum /tmp/up.bin | cut -d' ' -f1)
	size=$(stat -c %s /tmp/up.bin)
	[ -n "$sent" ] && [ "$sent" = "$recv" ] && ok "$name: host received $size bytes, sha256 matches" ||
		bad "$name: host received $size bytes sha256 $recv, guest sent $sent"
done
rm -f /tmp/disk.img /tmp/up.bin
exit $rc
