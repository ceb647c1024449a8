#!/usr/bin/env bash
# Fetch what the Linux-host chain needs from Debian's archive, unpacked into a cache outside the work
# tree: Debian's stock arm64 kernel (the host, and the Linux guests), its headers plus the amd64
# kbuild (to cross-build moat.ko), busybox-static:arm64 (the initramfs) and libfdt-dev:arm64 (the
# static moat-vmm). Nothing is installed: a private apt configuration (its own sources list and
# state under the cache) downloads the .debs and `dpkg-deb -x` unpacks them, so no root is needed
# and nothing arm64 lands on the system.
#
#   scripts/linux-deps.sh              fetch if needed, then print the tree's variables (make syntax)
#   scripts/linux-deps.sh --print-dir  fetch if needed, then print the tree's directory
#   scripts/linux-deps.sh --refresh    re-resolve the kernel version even if a recent one is cached
#
# Versions roll forward (old kernels leave the archive), so the kernel ABI is resolved at setup time
# from bookworm-backports' linux-image-arm64 metapackage, and the result is remembered for a week:
# a second run neither resolves nor fetches. If the archive cannot be reached, the newest tree
# already in the cache is used.
#
# Cache: ${MOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/moat}/debian/<kernel ABI>/
set -euo pipefail

cache=${MOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/moat}/debian
refresh=0
mode=make
case "${1:-}" in
"") ;;
--print-dir) mode=dir ;;
--refresh) refresh=1 ;;
-h | --help)
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: scripts/linux-deps.sh [--print-dir | --refresh | --help]" >&2
	exit 2
	;;
esac
mkdir -p "$cache"
log() { echo "linux-deps: $*" >&2; }

apt_dir=$cache/apt apt_archs="amd64 arm64"
# shellcheck source=scripts/private-apt.sh
. "$(dirname "$0")/private-apt.sh"

# The kernel ABI (e.g. 6.12.95+deb12) the backports metapackage points at today.
resolve_abi() {
	apt-cache "${apt_opts[@]}" show -t bookworm-backports linux-image-arm64:arm64 2>/dev/null |
		sed -n 's/^Depends: .*linux-image-\([^ ]*\)-arm64 (.*/\1/p' | head -1
}

current=$cache/current
abi=
if [ $refresh -eq 0 ] && [ -f "$current" ] && [ -n "$(find "$current" -mtime -7)" ]; then
	abi=$(cat "$current")
fi
if [ -z "$abi" ] || [ ! -f "$cache/$abi/.complete" ]; then
	if apt_update && abi_new=$(resolve_abi) && [ -n "$abi_new" ]; then
		abi=$abi_new
		echo "$abi" >"$current"
	elif [ -z "$abi" ]; then
		# Offline: fall back to the newest complete tree we have.
		abi=$(ls -t "$cache"/*/.complete 2>/dev/null | head -1 | xargs -r dirname | xargs -r basename)
		[ -n "$abi" ] || { log "cannot reach Debian's archive and nothing is cached in $cache"; exit 1; }
		log "archive unreachable: using the cached kernel $abi"
	fi
fi

tree=$cache/$abi
if [ ! -f "$tree/.complete" ]; then
	[ -f "$apt_dir/sources.list" ] || apt_update
	host_arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
	pkgs=(
		"linux-image-$abi-arm64-unsigned:arm64" "linux-headers-$abi-arm64:arm64"
		"linux-headers-$abi-common" "linux-kbuild-$abi:$host_arch"
		busybox-static:arm64 libfdt-dev:arm64
	)
	log "fetching ${pkgs[*]} into $tree (once: about 110 MB to download, 320 MB unpacked, ~30 s)"
	start=$(date +%s)
	rm -rf "$tree.tmp"
	mkdir -p "$tree.tmp/debs"
	(cd "$tree.tmp/debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >&2)
	for deb in "$tree.tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tree.tmp/root"
	done
	# The arm64 headers' Makefile includes the -common tree by its absolute /usr/src path: point it
	# at the copy in the cache instead.
	kdir=$tree.tmp/root/usr/src/linux-headers-$abi-arm64
	sed -i "s|/usr/src/linux-headers-$abi-common|$tree/root/usr/src/linux-headers-$abi-common|g" "$kdir/Makefile"
	rm -rf "$tree.tmp/debs"
	touch "$tree.tmp/.complete"
	rm -rf "$tree"
	mv "$tree.tmp" "$tree"
	log "done in $(($(date +%s) - start)) s"
fi

root=$tree/root
case $mode in
dir) echo "$tree" ;;
make)
	cat <<EOF
LINUX_ABI := $abi
LINUX_TREE := $tree
LINUX_IMAGE := $root/boot/vmlinuz-$abi-arm64
LINUX_KDIR := $root/usr/src/linux-headers-$abi-arm64
LINUX_MODULES := $root/lib/modules/$abi-arm64
BUSYBOX := $root/bin/busybox
LIBFDT_ARM64_INC := $root/usr/include
LIBFDT_ARM64_LIB := $root/usr/lib/aarch64-linux-gnu
EOF
	;;
esac
