#!/usr/bin/env bash
# Boot the `make run` demo: moat at EL2, the test host at EL1 running its
# "demo" test, which shows what the host can and cannot touch. The UART is
# printed live; exit status 0 only if the test host reported TEST-PASS: demo.
#
# Usage (from anywhere in the repository): tools/run-demo.sh [extra QEMU args...]
# Environment: MEM (default 1G), SMP (default 1), TIMEOUT seconds (default 30).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

mem=${MEM:-1G}
smp=${SMP:-1}
limit=${TIMEOUT:-30}

for f in build/moat.bin build/testhost.bin build/device-secret.bin; do
	if [[ ! -f $f ]]; then
		echo "run-demo: $f is missing; build it with 'make'" >&2
		exit 2
	fi
done

mkdir -p build/test-logs build/qemu-logs
log=build/test-logs/run-demo.log

# tee keeps the output live and saved; `timeout` kills a hung QEMU.
status=0
timeout --foreground -k 5 "$limit" \
	qemu-system-aarch64 -M virt,virtualization=on,gic-version=3,its=off -cpu cortex-a72 \
	-m "$mem" -smp "$smp" -nographic -no-reboot -net none \
	-kernel build/moat.bin \
	-device loader,file=build/testhost.bin,addr=0x41000000,force-raw=on \
	-device loader,file=build/device-secret.bin,addr=0x40100000,force-raw=on \
	-append "test=demo moat.secret=0x40100000" -d guest_errors,unimp -D build/qemu-logs/run-demo.log \
	"$@" </dev/null 2>&1 | tee "$log" || status=$?
# With pipefail, status is QEMU's (124 on timeout) unless tee failed.

if [[ $status -eq 124 ]]; then
	echo "run-demo: QEMU did not finish within ${limit} s and was stopped" >&2
fi
if grep -q '^TEST-PASS: demo' <(tr -d '\r' <"$log"); then
	echo "run-demo: demo passed (UART log: $log)"
	exit 0
fi
echo "run-demo: demo did not pass (status $status; UART log: $log)" >&2
exit 1
