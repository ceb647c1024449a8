# guest/kbench through moat-vmm on whichever hypervisor this host runs on: /dev/moat (the moat core
# below this kernel: a normal and a protected VM) or /dev/kvm (Debian's KVM, nVHE or pKVM, when the
# kernel was booted at EL2 without moat: a normal VM). Used by make bench (tools/bench-kvm.py) and
# tests/integration/test_kbench.py. Kernel command line:
#   kbench.reps=N        repetitions (default 1); each one runs every mode once, interleaved
#   kbench.protected=0   on moat, skip the protected VM
#   kbench.warmup=1      first one run more, as repetition 0, for make bench to leave out: the first
#                        VM after boot shares its host CPU with the kernel's own late start-up work
#                        (under -icount on one CPU that added up to 60 % to its workload)
# Every line of each run is printed as "KB <backend> <mode> <rep>| <line>" (the guest's stdout, then
# moat-vmm's stderr: MOAT_VMM_CNTVCT makes it print its counter before VM create), closed by
# "KB <backend> <mode> <rep>| status=<exit status>" (124: stopped after 120 s, its lines so far still
# printed). Fails unless every run exits 0 with "kbench: done" and no line marked BAD.
reps=1
prot=1
warmup=0
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	kbench.reps=*) reps=${arg#*=} ;;
	kbench.protected=*) prot=${arg#*=} ;;
	kbench.warmup=*) warmup=${arg#*=} ;;
	esac
done
if [ -c /dev/moat ]; then
	backend=moat
	modes=normal
	[ "$prot" = 1 ] && modes="normal protected"
elif [ -c /dev/kvm ]; then
	backend=kvm
	modes=normal
else
	echo "FAIL: neither /dev/moat nor /dev/kvm"
	exit 1
fi
echo "KB-HOST: backend=$backend thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null) cmdline=$(cat /proc/cmdline)"
# How KVM came up (nVHE, VHE, protected): make bench labels its columns with it.
dmesg | grep -i "kvm \[1\]:.*mode\|hyp mode\|protected nvhe\|protected hvhe" | head -3 | sed 's/^/KB-HOST-KVM: /'
rc=0
first=1
[ "$warmup" = 1 ] && first=0
for rep in $(seq $first "$reps"); do
	for mode in $modes; do
		flag=
		[ $mode = protected ] && flag=--protected
		tag="KB $backend $mode $rep|"
		MOAT_VMM_CNTVCT=1 timeout 120 moat-vmm run --backend $backend --kernel /guests/kbench.bin --cpus 2 \
			--mem 256M $flag >/tmp/kb.out 2>/tmp/kb.err </dev/null
		st=$?
		tr -d '\r' </tmp/kb.out | sed "s/^/$tag /"
		sed "s/^/$tag /" /tmp/kb.err
		echo "$tag status=$st"
		if [ $st -ne 0 ] || ! grep -q "^kbench: done" /tmp/kb.out || grep -q "BAD" /tmp/kb.out; then
			echo "FAIL: $backend $mode rep $rep"
			rc=1
		fi
	done
done
exit $rc
