#!/bin/busybox sh
# /init of the virtio guest (tests/linux/vmm-virtio.sh, make bench): the guest side of moat-vmm's
# virtio-blk and virtio-net tests. Keeps a secret in its private memory for the VMM's scan to look for
# (never written to a device: nothing here prints or sends it), mounts the ext4 disk /dev/vda, writes
# and reads back a file with checksums, pings the host over eth0 and sends it a file with busybox nc,
# then powers off. Lines start with "MOAT-VIRTIO: ". Kernel command line knobs (they reach
# /proc/cmdline only): virtio.mb=N (file size, default 64), virtio.netmb=N (default 16),
# virtio.bench=1 (throughput with dd, round trip with ping -c 20, instead of the checks).
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
say() { echo "MOAT-VIRTIO: $* (t=$(cut -d" " -f1 /proc/uptime))"; }
mb=64 netmb=16 bench=0
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	virtio.mb=*) mb=${arg#*=} ;;
	virtio.netmb=*) netmb=${arg#*=} ;;
	virtio.bench=*) bench=${arg#*=} ;;
	esac
done
say "up, $(grep -c ^processor /proc/cpuinfo) CPU(s), kernel $(uname -r)"
# virtio-console (moat-vmm --virtio-console): a line through hvc0, which moat-vmm writes to its stdout.
[ -c /dev/hvc0 ] && echo "MOAT-VIRTIO: hello through hvc0" >/dev/hvc0
# The secret: 64 KiB of it in tmpfs (private guest pages); built from two halves so that this script's
# own bytes never hold it whole.
c1=MOAT-CANARY c2=5a17e3d9b0c4
secret="$c1-$c2"
i=0
while [ $i -lt 1024 ]; do
	echo "$secret$secret$secret" >>/tmp/canary
	i=$((i + 1))
done
# N MiB (and a few bytes) of test data: one random MiB, repeated with a counter line before each copy so
# that no two MiB-sized windows are equal (a block written to the wrong place changes the checksum).
# /dev/urandom itself is too slow for 64 MiB here: over 2 minutes of the guest's CPU under TCG.
dd if=/dev/urandom of=/tmp/r1m bs=1M count=1 2>/dev/null
stream() {
	i=0
	while [ $i -lt $1 ]; do
		echo "block $i"
		cat /tmp/r1m
		i=$((i + 1))
	done | head -c $(($1 * 1048576))
}
# Centiseconds since boot (busybox date has whole seconds only).
now() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
rate() { echo "$1 $2 $3" | awk '{ d = ($3 - $2) / 100; if (d <= 0) d = 0.01; printf "%.1f", $1 / d }'; }

if [ -b /dev/vda ] && mount -t ext4 /dev/vda /mnt; then
	say "ext4 mounted on /dev/vda"
	if [ "$bench" = 1 ]; then
		dd if=/dev/zero of=/mnt/zero bs=1M count=$mb conv=fsync 2>/dev/null
		sync
		echo 3 >/proc/sys/vm/drop_caches
		rm /mnt/zero
		sync
		t0=$(now)
		dd if=/dev/zero of=/mnt/zero bs=1M count=$mb conv=fsync 2>/dev/null
		t1=$(now)
		# Read: 4 cold passes timed together. One 64 MiB pass takes 20-35 centiseconds here, so one
		# tick of /proc/uptime and one TCG hiccup were each worth 5-10 % of a single pass.
		t2=$(now)
		for pass in 1 2 3 4; do
			echo 3 >/proc/sys/vm/drop_caches
			dd if=/mnt/zero of=/dev/null bs=1M 2>/dev/null
		done
		t3=$(now)
		say "bench blk write $(rate $mb $t0 $t1) MiB/s read $(rate $((4 * mb)) $t2 $t3) MiB/s ($mb MiB, read 4 times)"
	else
		t0=$(now)
		wsum=$(stream $mb | tee /mnt/data | sha256sum | cut -d' ' -f1)
		t1=$(now)
		sync
		t2=$(now)
		echo 3 >/proc/sys/vm/drop_caches
		rsum=$(sha256sum /mnt/data | cut -d' ' -f1)
		t3=$(now)
		size=$(stat -c %s /mnt/data)
		say "blk wrote $size bytes sha256 $wsum (generate+write $((t1 - t0)) cs, sync $((t2 - t1)) cs)"
		say "blk read back sha256 $rsum (read+sha256 $((t3 - t2)) cs)"
		[ "$wsum" = "$rsum" ] && [ "$size" = $((mb * 1048576)) ] && say "blk: $mb MiB checksum ok"
	fi
	umount /mnt && say "ext4 unmounted"
else
	say "no ext4 on /dev/vda"
fi

if ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up 2>/dev/null; then
	say "eth0 up"
	n=3
	[ "$bench" = 1 ] && n=20
	# The host configures its end of the tap once moat-vmm has opened it: allow it a few seconds.
	i=0
	while [ $i -lt 20 ] && ! ping -c 1 -W 1 10.0.2.2 >/dev/null 2>&1; do
		i=$((i + 1))
	done
	avg=$(ping -c $n 10.0.2.2 | sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p')
	[ -n "$avg" ] && say "ping ok: $n replies, avg $avg ms"
	if [ "$bench" != 1 ]; then
		stream $netmb >/tmp/net.bin
		say "net sent sha256 $(sha256sum /tmp/net.bin | cut -d' ' -f1)"
		t0=$(now)
		# timeout: a test VMM that corrupts the rings may leave the transfer hanging
		timeout 120 nc 10.0.2.2 5000 </tmp/net.bin && say "net: nc done ($(($(now) - t0)) cs)"
	fi
else
	say "no eth0"
fi
say "done"
echo o >/proc/sysrq-trigger
sleep 10
