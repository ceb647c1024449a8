#!/bin/sh
# Regenerate the QEMU "virt" device trees used by tests/unit/test_fdt.c.
#
# QEMU pads its DTB to 1 MiB; dtc re-emits it compactly. /chosen carries a
# fresh rng-seed and kaslr-seed on every run, so regenerated files differ in
# those bytes only; the tests never look at them.
set -eu

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() { # gen MEM SMP
	qemu-system-aarch64 \
		-M "virt,virtualization=on,gic-version=3,its=off,dumpdtb=$tmp/raw.dtb" \
		-cpu cortex-a72 -m "$1" -smp "$2" -nographic -net none 2>/dev/null
	dtc -q -I dtb -O dtb -o "virt-$1-smp$2.dtb" "$tmp/raw.dtb"
	echo "virt-$1-smp$2.dtb"
}

gen 256M 1
gen 1G 1
gen 1G 2
gen 4G 4
