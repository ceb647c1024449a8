#!/usr/bin/env bash
# Smoke-test the guest images without moat: QEMU runs each ELF directly at
# EL1 (no EL2, so QEMU's own PSCI answers HVC), its real PL011 prints and
# PSCI SYSTEM_OFF ends the run. Checks only what holds without the
# hypervisor: the image boots, prints its last line, never panics and powers
# off. MMIO test devices and aborts need moat and a VMM, so mmio_sizes and
# fault only have to finish here.
#
#   guest/smoke-standalone.sh [build dir]     (after building $(GUEST_IMAGES))
set -u
B=${1:-build}
fail=0

# name and a line its output must contain
checks=(
	"hello|guest: hello from a moat VM"
	"memtouch|guest: memtouch 16384 pages ok"
	"canary|guest: canary intact"
	"regs|guest: x19=0x1111222233334444 x20=0x5555666677778888"
	"fault|guest: fault "
	"mmio_sizes|guest: mmio_sizes "
	"fpsimd|guest: fpsimd ok"
	"bench|guest: bench mmio_ticks="
)

for c in "${checks[@]}"; do
	name=${c%%|*}
	want=${c#*|}
	out=$(timeout 20 qemu-system-aarch64 -M virt,gic-version=3 -cpu cortex-a72 -m 1G \
		-nographic -net none -no-reboot -kernel "$B/guest/$name.elf" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || ! grep -qF "$want" <<<"$out" || grep -q GUEST-PANIC <<<"$out"; then
		echo "FAIL $name (rc=$rc)"
		sed 's/^/    /' <<<"$out"
		fail=1
	else
		echo "ok   $name"
	fi
done
exit $fail
