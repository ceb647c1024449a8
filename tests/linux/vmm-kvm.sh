# moat-vmm's KVM backend (tests/integration/test_vmm.py): on a host kernel with KVM (tools/run-linux.sh
# --bare with QEMU's virtualization=on: Debian's kernel owns EL2, no moat), the same bare-metal guests
# run through /dev/kvm with the same devicetree and console: hello on one vCPU (VMM_KVM_GUESTS picks
# others, e.g. "smp:2"; guest/smp itself does not finish on KVM: its vCPU 0 waits in WFI for vCPU 1's
# CPU_OFF, which moat's driver answers with a wake-up and KVM, as the architecture allows, does not).
# Linux guests on KVM: tests/linux/vmm-linux.sh with the case "kvm:N".
. /tests/lib.sh # rc, ok, bad, vmm, has, lacks
if [ ! -c /dev/kvm ]; then
	echo "FAIL: no /dev/kvm: boot with --bare and -M virt,virtualization=on"
	exit 1
fi
for g in $(echo "${VMM_KVM_GUESTS:-hello:1}" | tr , " "); do
	name=kvm-${g%:*}
	timeout 120 moat-vmm run --backend kvm --kernel /guests/${g%:*}.bin --cpus ${g#*:} >/tmp/$name.out 2>/tmp/$name.err </dev/null
	got=$?
	sed "s/^/$name| /" /tmp/$name.out /tmp/$name.err | tr -d '\r'
	if [ $got -eq 0 ]; then ok "$name: exit status 0"; else bad "$name: exit status $got, want 0"; fi
done
grep -qF "guest: hello from a moat VM" /tmp/kvm-hello.out && ok "kvm-hello: console" || bad "kvm-hello: no console line"
moat-vmm run --backend kvm --kernel /guests/hello.bin --protected >/tmp/kvm-prot.out 2>/tmp/kvm-prot.err </dev/null
got=$?
cat /tmp/kvm-prot.err
if [ $got -eq 2 ] && grep -qF "moat-vmm: --protected: KVM does not run protected VMs" /tmp/kvm-prot.err; then ok "kvm: --protected refused"; else bad "kvm: --protected -> $got"; fi
exit $rc
