#!/usr/bin/env bash
# Build the protected-guest Linux kernel (an arm64 `Image`) from Debian's linux-source-6.12 package
# with guest/linux/kernel.config merged on top of tinyconfig, and print the Image's path. The
# result is cached outside the work tree, keyed by the source package's version and the fragment's
# hash, so a machine that has built it once never builds it again.
#
#   scripts/guest-kernel.sh            build if needed, print the Image's path
#   scripts/guest-kernel.sh --refresh  re-resolve the source version even if one was resolved recently
#
# Like scripts/linux-deps.sh nothing is installed: a private apt configuration (its own sources list
# and state under the cache) downloads linux-source-6.12 plus the tools the kernel build runs that a
# build machine need not have (flex, bison and m4 for Kconfig's parsers, bc for kernel/time), and
# `dpkg-deb -x` unpacks them into the cache. The version is resolved at setup time (old ones leave the archive) and
# remembered for a week; if the archive cannot be reached, the newest cached build is used.
#
# Cross-compiled with Debian 12's aarch64-linux-gnu-gcc, `make Image` only, MOAT_JOBS (default 2)
# jobs. After `make olddefconfig` every CONFIG line of the fragment must be in .config verbatim, or
# the build fails naming the symbols Kconfig dropped.
#
# Cache: ${MOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/moat}/guest-kernel/
#   <version>-<fragment hash>/Image, config   the result (what this script prints)
#   src-<version>/                            the unpacked source and tools
#   build-<version>/                          the kbuild output tree (O=), reused by a changed fragment
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
fragment=$here/guest/linux/kernel.config
cache=${MOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/moat}/guest-kernel
jobs=${MOAT_JOBS:-2}
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
refresh=0
case "${1:-}" in
"") ;;
--refresh) refresh=1 ;;
-h | --help)
	sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: scripts/guest-kernel.sh [--refresh | --help]" >&2
	exit 2
	;;
esac
mkdir -p "$cache"
log() { echo "guest-kernel: $*" >&2; }

# One build at a time per machine: make -j may start this twice, and the apt state and the build
# tree are shared.
exec 9>"$cache/.lock"
flock 9

hash=$(sha256sum "$fragment" | cut -c1-12)

apt_dir=$cache/apt
apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/none"
	-o "Dir::State=$apt_dir/state" -o "Dir::Cache=$apt_dir/cache"
	-o "APT::Architectures::=amd64" -o "Debug::NoLocking=1"
	-o "Acquire::Retries=3" -o "APT::Sandbox::User=$(id -un)" -q
)
apt_update() {
	mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/none"
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	cat >"$apt_dir/sources.list" <<EOF
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-backports main
EOF
	apt-get "${apt_opts[@]}" update >&2
}
# The version of linux-source-6.12 the archive offers today (e.g. 6.12.95-1~bpo12+1).
resolve_version() {
	apt-cache "${apt_opts[@]}" policy linux-source-6.12 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v none
}

current=$cache/current
version=
if [ $refresh -eq 0 ] && [ -f "$current" ] && [ -n "$(find "$current" -mtime -7)" ]; then
	version=$(cat "$current")
fi
if [ -z "$version" ]; then
	if apt_update && v=$(resolve_version) && [ -n "$v" ]; then
		version=$v
		echo "$version" >"$current"
	else
		# Offline: the newest build of this fragment, whatever its version.
		out=$(ls -td "$cache"/*-"$hash" 2>/dev/null | head -1)
		[ -n "$out" ] && [ -f "$out/Image" ] || { log "cannot reach Debian's archive and no build of $fragment is cached in $cache"; exit 1; }
		log "archive unreachable: using the cached $out"
		echo "$out/Image"
		exit 0
	fi
fi

out=$cache/$version-$hash
if [ -f "$out/Image" ]; then
	echo "$out/Image"
	exit 0
fi

start=$(date +%s)
# ---- the source and the tools, once per version
src=$cache/src-$version
if [ ! -f "$src/.complete" ]; then
	[ -f "$apt_dir/sources.list" ] || apt_update
	log "fetching linux-source-6.12=$version, flex, bison, m4, bc into $src (once: about 150 MB)"
	rm -rf "$src.tmp"
	mkdir -p "$src.tmp/debs"
	(cd "$src.tmp/debs" && apt-get "${apt_opts[@]}" download "linux-source-6.12=$version" flex bison m4 bc >&2)
	for deb in "$src.tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$src.tmp/root"
	done
	tar -C "$src.tmp" -xf "$src.tmp"/root/usr/src/linux-source-6.12.tar.xz
	mv "$src.tmp"/linux-source-6.12 "$src.tmp/linux"
	rm -rf "$src.tmp/debs" "$src.tmp"/root/usr/src/linux-source-6.12.tar.xz
	touch "$src.tmp/.complete"
	rm -rf "$src"
	mv "$src.tmp" "$src"
	log "source ready in $(($(date +%s) - start)) s"
fi
tools=$src/root/usr
export PATH=$tools/bin:$PATH M4=$tools/bin/m4 BISON_PKGDATADIR=$tools/share/bison

# ---- configure: tinyconfig + the fragment, then check nothing was dropped
build=$cache/build-$version
mkdir -p "$build"
kmake=(make -C "$src/linux" O="$build" ARCH=arm64 CROSS_COMPILE="$cross" -s)
log "configuring $version with $(basename "$fragment") ($hash)"
"${kmake[@]}" tinyconfig >&2
(cd "$build" && ARCH=arm64 "$src/linux/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment" >/dev/null)
"${kmake[@]}" olddefconfig >&2
missing=$(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$fragment" | while read -r line; do
	grep -qxF "$line" "$build/.config" || echo "  $line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$build/.config" || echo unset))"
done)
if [ -n "$missing" ]; then
	log "these options of $fragment did not survive olddefconfig (a missing dependency?):"
	echo "$missing" >&2
	exit 1
fi

# ---- build
log "building Image with $jobs jobs (cold: several minutes)"
"${kmake[@]}" -j"$jobs" Image >&2
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cp "$build/arch/arm64/boot/Image" "$out.tmp/Image"
cp "$build/.config" "$out.tmp/config"
cp "$fragment" "$out.tmp/kernel.config"
rm -rf "$out"
mv "$out.tmp" "$out"
log "built $out/Image in $(($(date +%s) - start)) s"
echo "$out/Image"
