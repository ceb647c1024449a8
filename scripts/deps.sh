#!/usr/bin/env bash
# Install the Debian 12 packages moat needs to build and test. Idempotent and a
# fast no-op when everything is present (one dpkg-query, no network).
#
#   scripts/deps.sh          install whatever is missing (as root, or through sudo)
#   scripts/deps.sh run      only what `make run` needs (build the arm64 images, boot them in QEMU)
#   scripts/deps.sh --list   print the package list, one a line (scripts/check-deps.sh reads it)
#
# Debian's arm64 kernel, headers, kbuild, busybox and libfdt for the Linux host are not installed:
# scripts/linux-deps.sh downloads and unpacks them into a cache (make linux; no root needed). `make
# run` and the tests need all of those alike (the host kernel, moat.ko, moat-vmm, the initramfs).
set -euo pipefail

# scripts/check-deps.sh checks that this list covers every tool, header, library and
# Python module the build and the tests use: a new one needs its package here.
run_packages=(
	make gcc                              # gcc: Kbuild's host-side checks when it builds moat.ko
	gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
	libc6-dev-arm64-cross                 # static arm64 user space: moat-vmm, driver tests
	qemu-system-arm                       # qemu-system-aarch64
	python3                               # tools/mkinitramfs.py (the Linux host's initramfs)
	libc6-dev libfdt-dev libssl-dev       # build/tools/ (host-native): libfdt and OpenSSL's libcrypto (moat-sign, -measure, -verify)
)
test_packages=(
	device-tree-compiler                  # dtc (libc6-dev, libfdt-dev above: unit tests and fuzzer too)
	libcmocka-dev                         # unit tests
	e2fsprogs                             # mke2fs: the virtio tests' ext4 disk image (mk/linux.mk)
	xz-utils                              # xz: unpacks linux-source-6.12's tarball (scripts/guest-kernel.sh)
	python3-pytest python3-pytest-xdist
	clang libclang-rt-14-dev              # libFuzzer
)
packages=("${run_packages[@]}" "${test_packages[@]}")

case "${1:-}" in
--list)
	printf '%s\n' "${packages[@]}"
	exit 0
	;;
run) packages=("${run_packages[@]}") ;;
"") ;;
*)
	echo "usage: scripts/deps.sh [run | --list]" >&2
	exit 2
	;;
esac

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	echo "deps: no dpkg/apt here: moat's installer needs Debian 12; install these by hand: ${packages[*]}" >&2
	exit 1
fi
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	# Without a terminal (CI) sudo must not wait for a password nobody can type: fail instead.
	SUDO=(sudo)
	[ -t 0 ] || SUDO=(sudo -n)
fi
# Through env: sudo drops the caller's environment, and apt must never stop to ask a question.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
