#!/usr/bin/env bash
# make run: the whole chain, step by step, each one timed, then one summary.
#   1. packages      scripts/deps.sh run (installs what is missing of what make run needs; a no-op
#                    once there; the test-only packages are left to make test)
#   2. build         make all: the core, the test host, the guests
#   3. linux         make linux: Debian's stock arm64 kernel, busybox and the kbuild tree fetched into
#                    ~/.cache/moat (once; about 60 MB), moat.ko, moat-vmm and the host initramfs
#   4. test host     QEMU -> moat -> the bare-metal test host's demo (tools/run-demo.sh): what a host
#                    can and cannot touch, a protected VM
#   5. Linux host    QEMU -> moat at EL2 -> Debian's kernel at EL1 on SMP CPUs -> /init ->
#                    /tests/demo.sh (tests/linux/demo.sh, which runs every /tests/demo-*.sh); the
#                    protected Linux guest (demo-20) prints a report for a challenge chosen here
#   6. attestation   back on this machine: that report checked by tools/moat-verify against the
#                    measurement tools/moat-measure computes from the demo's moat-vmm command, the
#                    device key tools/moat-provision derives from the (test) device secret and the
#                    core measurement it computes from build/moat.bin
# Exits 0 only if every step succeeded. Environment: SMP (default 4), TIMEOUT per boot (default 180).
set -uo pipefail
cd "$(dirname "$0")/.."
smp=${SMP:-4}
limit=${TIMEOUT:-180}
results=()
total_start=$(date +%s)
failed=0

# The verifier's challenge: fresh for every run, handed to the Linux host on its command line
# (MOAT_CHALLENGE reaches /init's environment) and typed into the guest by demo-20.
challenge=$(od -An -tx1 -N64 /dev/urandom | tr -d ' \n')

step() { # name command...
	local name=$1 start rc
	shift
	printf '\n==== make run: %s ====\n' "$name"
	start=$(date +%s)
	"$@"
	rc=$?
	results+=("$(printf '%-12s %-6s %4d s' "$name" "$([ $rc -eq 0 ] && echo ok || echo FAILED)" $(($(date +%s) - start)))")
	[ $rc -eq 0 ] || failed=1
	return $rc
}

# Step 6: the guest's report from the Linux host's log, checked here with what this machine knows.
verify_report() {
	local log=build/test-logs/run-linux-demo.log report cmd opts cmdline image measurement identity device_key core
	report=$(tr -d '\r' <"$log" | sed -n 's/^guest| MOAT-REPORT: //p' | tail -1)
	[ -n "$report" ] || { echo "attestation: no 'guest| MOAT-REPORT:' line in $log"; return 1; }
	# demo-20's exact moat-vmm command, with the host's paths swapped for the files they came from.
	cmd=$(tr -d '\r' <"$log" | sed -n 's/^demo-20: moat-vmm run //p' | tail -1)
	[ -n "$cmd" ] || { echo "attestation: no 'demo-20: moat-vmm run' line in $log"; return 1; }
	image=$(sed -n 's/^LINUX_IMAGE := //p' build/linux/vars.mk)
	opts=${cmd%% --cmdline *}
	opts=${opts/\/guests\/Image/$image}
	opts=${opts/\/guests\/linux-initramfs.cpio/build/linux/guest-initramfs.cpio}
	cmdline=${cmd#* --cmdline \"}
	cmdline=${cmdline%\"}
	echo "attestation: the challenge sent: $challenge"
	echo "attestation: the guest's report ($((${#report} / 2)) bytes): ${report:0:64}..."
	echo "attestation: moat-measure $opts --cmdline \"$cmdline\""
	# shellcheck disable=SC2086 # $opts: moat-vmm's options as logged, paths without spaces
	measurement=$(build/tools/moat-measure $opts --cmdline "$cmdline" | sed -n 's/^measurement //p')
	[ -n "$measurement" ] || { echo "attestation: moat-measure failed"; return 1; }
	echo "attestation: expected measurement $measurement"
	# The device's public key and the core's expected measurement, from the device secret and the
	# core image this machine built: nothing the host printed is trusted.
	identity=$(build/tools/moat-provision --secret build/device-secret.bin --core build/moat.bin)
	device_key=$(sed -n 's/^device-public-key: //p' <<<"$identity")
	core=$(sed -n 's/^core-measurement: //p' <<<"$identity")
	[ -n "$device_key" ] && [ -n "$core" ] || { echo "attestation: moat-provision failed"; return 1; }
	echo "attestation: moat-provision --secret build/device-secret.bin --core build/moat.bin"
	echo "attestation: device public key $device_key, core measurement $core"
	echo "attestation: moat-verify --report - --device-key ... --measurement ... --challenge ... --core-measurement ..."
	echo "$report" | build/tools/moat-verify --report - --device-key "$device_key" --measurement "$measurement" \
		--challenge "$challenge" --core-measurement "$core" | sed 's/^/attestation: moat-verify: /'
	return "${PIPESTATUS[1]}"
}

summary() {
	printf '\n==== make run: summary ====\n'
	printf '  %s\n' "${results[@]}"
	if [ $failed -eq 0 ]; then
		echo "make run: OK in $(($(date +%s) - total_start)) s -- moat booted the test host's demo and" \
			"Debian's stock kernel as its host ($smp CPUs), which ran /tests/demo.sh to the end;" \
			"moat-verify accepted the protected Linux guest's report"
	else
		echo "make run: FAILED (see the step marked FAILED above; UART logs in build/test-logs/)"
	fi
}

step packages scripts/deps.sh run &&
	step build make --no-print-directory all &&
	step linux make --no-print-directory linux &&
	step "test host" env TIMEOUT=60 tools/run-demo.sh
# The Linux host runs even if the test host's demo failed: it is the main event.
if [ ${#results[@]} -ge 3 ] && [[ ${results[2]} == *" ok "* ]]; then
	# The host initramfs with a Linux guest in /guests (mk/linux.mk), for demo-20-protected-linux.sh.
	step "Linux host" tools/run-linux.sh --check --smp "$smp" --run demo --timeout "$limit" \
		--initrd build/linux/host-initramfs-linux.cpio --append "MOAT_CHALLENGE=$challenge"
	step attestation verify_report
fi
summary
exit $failed
