# The owner's policy through moat.ko and moat-vmm --signature (tests/integration/test_sign.py).
# sign.phase= on the kernel command line says which half:
#   measure   (core in open mode) run the protected hello guest unsigned; print its measurement as
#             "sign-measurement: HEX" for moat-sign on the build machine
#   enforce   (core booted with moat.policy=enforce and the owner key) the blobs the test appended to
#             the initramfs in /sign: unsigned, another key, a flipped signature bit, a corrupt blob
#             and a changed VM (another command line: another DTB) are refused, each with its own
#             message; the owner's signature runs the guest
# One "ok: ..." or "FAIL: ..." line per check; moat-vmm's output echoed with a "NAME|" prefix.
. /tests/lib.sh # rc, ok, bad, vmm, has, lacks

phase=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	sign.phase=*) phase=${arg#sign.phase=} ;;
	esac
done

HELLO="--kernel /guests/hello.bin --protected"
case "$phase" in
measure)
	vmm measure 0 $HELLO
	has measure out "guest: hello from a moat VM"
	m=$(sed -n 's/^moat-vmm: measurement \([0-9a-f]\{64\}\)$/\1/p' /tmp/measure.err)
	if [ -n "$m" ]; then echo "sign-measurement: $m"; else bad "no measurement printed"; fi
	;;
enforce)
	vmm unsigned 1 $HELLO
	has unsigned err "FINALIZE refused, unsigned"
	has unsigned err "MOAT_E_UNSIGNED"
	lacks unsigned out "guest: hello"
	vmm wrong-key 1 $HELLO --signature /sign/other.sig
	has wrong-key err "FINALIZE refused, wrong key"
	has wrong-key err "MOAT_E_WRONG_KEY"
	vmm flipped 1 $HELLO --signature /sign/flipped.sig
	has flipped err "FINALIZE refused, bad signature"
	has flipped err "MOAT_E_BAD_SIGNATURE"
	vmm corrupt 1 $HELLO --signature /sign/corrupt.sig
	has corrupt err "FINALIZE refused, corrupt"
	has corrupt err "MOAT_E_CORRUPT"
	vmm changed 1 $HELLO --cmdline changed --signature /sign/good.sig
	has changed err "MOAT_E_BAD_SIGNATURE"
	vmm missing 2 $HELLO --signature /sign/missing.sig
	has missing err "moat-vmm: --signature '/sign/missing.sig': No such file"
	vmm signed 0 $HELLO --signature /sign/good.sig
	has signed out "guest: hello from a moat VM"
	m=$(sed -n 's/^moat-vmm: measurement \([0-9a-f]\{64\}\)$/\1/p' /tmp/signed.err)
	echo "sign-signed-measurement: $m"
	# Normal VMs are not gated: the host reads and writes them anyway.
	vmm normal 0 --kernel /guests/hello.bin
	has normal out "guest: hello from a moat VM"
	# Every VM is gone and no page is held or leaked: each signature page came back from the core.
	moattest api >/tmp/api.out 2>&1
	sed "s/^/api| /" /tmp/api.out
	has api out "leaked=0"
	lacks api out "FAIL"
	;;
*)
	bad "sign.phase=$phase: want measure or enforce"
	;;
esac
exit $rc
