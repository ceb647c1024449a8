# moat-vmm end to end inside the Linux host (tests/integration/test_vmm.py): the bare-metal guests in
# /guests run through moat-vmm on /dev/moat, normal and protected; their console, exit status,
# measurement, unclaimed-MMIO report and guest-fault path; argument errors the driver decides (the
# core's vCPU limit). One "ok: ..." or "FAIL: ..." line per check; the guest's and the VMM's own
# output are echoed with a "NAME|" prefix.
. /tests/lib.sh # rc, ok, bad, vmm, has, lacks

# The smallest guest, normal then protected (twice: same command line, same measurement). The
# "NAME| moat-vmm: measurement HEX" lines are compared with build/tools/moat-measure's by test_vmm.py.
vmm hello-normal 0 --kernel /guests/hello.bin
has hello-normal out "guest: hello from a moat VM"
has hello-normal out "guest: PSCI version 0x10001"
has hello-normal out "guest: SMCCC version 0x10001"
lacks hello-normal err "measurement"
lacks hello-normal err "unclaimed"
vmm hello-protected 0 --kernel /guests/hello.bin --protected
has hello-protected out "guest: hello from a moat VM"
m1=$(sed -n 's/^moat-vmm: measurement \([0-9a-f]\{64\}\)$/\1/p' /tmp/hello-protected.err)
vmm hello-protected2 0 --kernel /guests/hello.bin --protected
m2=$(sed -n 's/^moat-vmm: measurement \([0-9a-f]\{64\}\)$/\1/p' /tmp/hello-protected2.err)
if [ -n "$m1" ] && [ "$m1" = "$m2" ]; then ok "measurement printed, same twice: $m1"; else bad "measurement '$m1' then '$m2'"; fi
vmm hello-protected3 0 --kernel /guests/hello.bin --protected --cmdline other
m3=$(sed -n 's/^moat-vmm: measurement \([0-9a-f]\{64\}\)$/\1/p' /tmp/hello-protected3.err)
if [ -n "$m3" ] && [ "$m3" != "$m1" ]; then ok "another command line (DTB) -> another measurement: $m3"; else bad "measurement with --cmdline other: '$m3'"; fi

# Two vCPUs, one thread each: vCPU 1 waits in RUN until the guest's CPU_ON. Both vCPUs print at once
# on one UART without a lock, so their first lines interleave byte by byte (as on hardware): only the
# lines printed while vCPU 1 is off again are checked whole.
for t in normal protected; do
	flag=
	[ $t = protected ] && flag=--protected
	vmm smp-$t 0 --kernel /guests/smp.bin --cpus 2 $flag
	has smp-$t out "guest: vcpu1 off: affinity 1; cpu_on(2) -> -2, entry 0x2 -> -9, level 1 -> -2"
	has smp-$t out "guest: smp done"
done

# MMIO no device claims: reads are zero, each address counted and reported once at exit.
vmm mmio 0 --kernel /guests/mmio_sizes.bin
has mmio err "moat-vmm: unclaimed MMIO at 0xa000020: 10 reads, 0 writes"
has mmio err "moat-vmm: unclaimed MMIO at 0xa000028: 3 reads, 0 writes"
has mmio out "guest: mmio ldr x = 0x0 MISMATCH want 0xfedcba9876543210"

# Guest faults: reported as they happen, the guest handles its aborts, the exit status says 4.
vmm fault 4 --kernel /guests/fault.bin
has fault out "guest: fault ok"
has fault err "moat-vmm: vCPU 0: guest fault at IPA 0x20000000"
has fault err "moat-vmm: vCPU 0: guest fault at IPA 0x9000000"

# Arguments only the driver can judge, and the ones before it.
# 9: one more than the core's MAX_VCPUS (CAP_MAX_VCPUS, checked in test_linux_driver.py), below the
# VMM's own argument limit, so the refusal comes from the driver's answer.
vmm too-many-cpus 2 --kernel /guests/hello.bin --cpus 9
has too-many-cpus err "moat-vmm: --cpus 9: the core allows at most 8 vCPUs per VM"
vmm no-kernel 2 --kernel /guests/nonexistent.bin
has no-kernel err "moat-vmm: --kernel '/guests/nonexistent.bin': No such file or directory"
vmm too-big 2 --kernel /guests/hello.bin --mem 4K
has too-big err "larger than guest RAM"
vmm bad-size 2 --kernel /guests/hello.bin --mem 12Q
has bad-size err "moat-vmm: --mem '12Q': want a size such as 256M or 1G"
exit $rc
