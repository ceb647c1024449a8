#!/usr/bin/env bash
# Install the Debian 12 packages moat needs to build and test. Idempotent and a
# fast no-op when everything is present (one dpkg-query, no network).
set -euo pipefail

packages=(
	make gcc libc6-dev                    # host-native unit tests and the fuzzer
	gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
	qemu-system-arm                       # qemu-system-aarch64
	device-tree-compiler libfdt-dev       # dtc; libfdt for host-side tests
	libcmocka-dev                         # unit tests
	python3 python3-pytest python3-pytest-xdist
	clang libclang-rt-14-dev              # libFuzzer
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
