#!/usr/bin/env bash
# CI check: the package list in scripts/deps.sh covers everything the build and the tests use, so
# `./moat test` works on a fresh Debian 12 and not only on a machine where a developer once
# installed something by hand.
#
# Each item -- a command, a C header, a library, a Python module -- is found on this machine, its
# owning Debian package is asked of dpkg (for a symlink, the packages of the link and of the file
# it leads to: /usr/bin/python3 of python3-minimal runs python3.11 of python3.11-minimal), and the
# item passes when each such package is named by
# `scripts/deps.sh --list`, is a dependency of one that is (apt-cache depends --recurse), or is in
# every Debian install (Essential, or Priority: required). The items are
#   - a fixed list (below) of what the tree names where a scan cannot see it ($(CROSS_COMPILE)gcc,
#     $(HOSTCC), the sanitizer and libFuzzer runtimes, the pytest-xdist plugin);
#   - a scan of the Makefiles, scripts/, tools/, .ci/run, ./moat and the *.sh / *.py under tests/
#     and guest/: words that name an executable, imported Python modules, -l libraries of the
#     Makefiles, <headers> of the host-native C. A new tool whose package deps.sh lacks fails here.
# One more item: every tree path the Makefiles and scripts name is tracked by git (a file that
# exists only in one checkout breaks the clean clone CI builds).
#
# Prints one line per item and "deps: N passed, N failed, N skipped"; writes "passed failed
# skipped" to build/test-results/deps.count. Run from anywhere: bash scripts/check-deps.sh
#
# shellcheck disable=SC2046,SC2086,SC2013 # word splitting on purpose: tree paths and item names have no spaces
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
mkdir -p build/test-results
COUNT=build/test-results/deps.count
# Debian's own directories only: a tool in /usr/local or ~/.pyenv is on no fresh machine.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

passed=0 failed=0 skipped=0
finish() {
	echo "$passed $failed $skipped" >"$COUNT"
	echo "deps: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit $?
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-cache >/dev/null; then
	echo "deps: no dpkg/apt on this machine (moat's setup is for Debian 12): nothing to check"
	skipped=1
	finish
fi

CROSS=$(sed -n 's/^CROSS_COMPILE[[:space:]]*?=[[:space:]]*//p' Makefile)
CROSS=${CROSS:-aarch64-linux-gnu-}

# What the tree uses where a scan cannot see it: "kind name", kinds as in resolve() below.
fixed=(
	"cmd make" "cmd gcc" "cmd clang" "cmd python3" "cmd qemu-system-aarch64"
	"cmd dtc"                                           # tests/unit/data/regen.sh
	"cmd ${CROSS}gcc" "cmd ${CROSS}ld" "cmd ${CROSS}objcopy" # $(CROSS_COMPILE)...
	"xlib gcc"                                          # -lgcc in the EL2/EL1 links: the cross libgcc.a
	"lib asan" "lib ubsan"                              # gcc -fsanitize=address,undefined (unit tests)
	"lib libfdt.so.1"                                   # tests/unit/test_fdt.c dlmopen()s a second libfdt
	"clangrt fuzzer" "clangrt asan" "clangrt ubsan_standalone" # clang -fsanitize=fuzzer,address,undefined
	"py pytest" "py xdist"                              # pytest -n (scripts/run-integration.sh)
)
# Words the command scan finds that are no build or test tool (the scan reads every word, messages
# included: a word in prose that names an uncovered executable belongs here, with its reason).
# git, clang-format: only `make format`, a developer's tool; sudo: deps.sh's way to root (./moat's
# help names it); as: the Python keyword (heredocs in scripts/ and tools/); init: /init on a Linux
# kernel command line (tools/run-linux.sh); init, poweroff: the Linux guest's /init and the busybox
# applet it calls, which run inside the guest; file: the --file option of tools/mkinitramfs.py
# (mk/linux.mk); flex, bison, m4, bc: package names scripts/guest-kernel.sh downloads and unpacks
# into its cache with its private apt (like linux-deps.sh's), never taken from the system.
# ifconfig: the busybox applet tests/linux/vmm-virtio.sh and the virtio guest's /init run inside the
# Linux host and guest; uptime: /proc/uptime there; write: a word of the virtio guest's bench line;
# lzma: the Python module mk/linux.mk unpacks Debian's tun.ko.xz with.
not_tools=" git clang-format sudo as init poweroff file flex bison m4 bc ifconfig uptime write lzma "

# ---------------------------------------------------------------- what the tree uses
mapfile -t make_files < <(echo Makefile; find mk guest tests -name '*.mk')
# Left out: this script (its words are the check's; it needs only dpkg, apt, gcc, clang, python3)
# and deps.sh (its words are package names; it needs only what every Debian has).
# tools/*.c: host-native C (tools/moat-sign), built by the Makefile; its libraries come from its -l flags.
mapfile -t shell_files < <(echo moat; echo .ci/run; find scripts tools -type f -not -name check-deps.sh \
	-not -name deps.sh -not -name '*.py' -not -name '*.[ch]' -not -path '*/__pycache__/*'; find tests guest -name '*.sh')
mapfile -t py_files < <(find tests scripts tools guest -name '*.py' -not -path '*/__pycache__/*')
strip_comments() { sed -E 's/(^|[[:space:]])#.*$//' "$@"; }

declare -A seen
items=()
add() { # kind name
	[ -n "${seen[$1 $2]:-}" ] && return
	seen[$1 $2]=1
	items+=("$1 $2")
}
for i in "${fixed[@]}"; do add $i; done

# Commands: every word of the shell and make code that names an executable (make's own $(dir ...)
# functions, comments and VAR= names aside), and in Python the first word of a command list
# (["qemu-system-aarch64", ...]) or an upper-case constant (QEMU = "...").
for w in $( {
	{
		strip_comments "${make_files[@]}" | sed -E "s/\\$\\(CROSS_COMPILE\\)/$CROSS/g; s/(^|[^$])\\$\\([a-z-]+/\\1/g"
		strip_comments "${shell_files[@]}"
	} | sed -E 's/[A-Za-z0-9_.+-]+=//g' | grep -oE '[A-Za-z0-9_][A-Za-z0-9_.+-]*'
	grep -ohE "(\\[[[:space:]]*|^[A-Z_]+ = )[\"'][A-Za-z0-9_][A-Za-z0-9_.+-]*[\"']" "${py_files[@]}" |
		grep -oE "[A-Za-z0-9_][A-Za-z0-9_.+-]*[\"']$" | tr -d "\"'"
} | sort -u); do
	case $not_tools in *" $w "*) continue ;; esac
	case $(type -t "$w") in builtin | keyword) continue ;; esac
	type -P "$w" >/dev/null && add cmd "$w"
done

# Libraries: -lNAME in the Makefiles (unless the fixed list already names NAME).
for l in $(grep -ohE '(^|[[:space:],])-l[A-Za-z0-9_+]+' "${make_files[@]}" | sed 's/.*-l//' | sort -u); do
	[ -n "${seen[xlib $l]:-}" ] || add lib "$l"
done

# Headers: <...> includes of the C built for this machine (unit tests, fixtures, fuzzer, the
# generic core and the fake arch, moat-vmm's host build, the tools under tools/); the tree's own
# headers are not packages.
local_inc=(include core/include core/arch/fake tests/common vmm)
for h in $(cat core/*.c core/include/*.h core/arch/fake/*.[ch] $(find tests vmm tools -name '*.[ch]') |
	sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<([^>]+)>.*/\1/p' | sort -u); do
	mine=
	for d in "${local_inc[@]}"; do [ -f "$d/$h" ] && mine=1; done
	[ -n "$mine" ] || add hdr "$h"
done

# Python modules: import lines of the Python files and of the scripts' heredocs and -c strings.
for m in $( {
	strip_comments "${py_files[@]}" "${shell_files[@]}" |
		sed -nE 's/^[[:space:]]*import[[:space:]]+(.*)$/\1/p; s/^[[:space:]]*from[[:space:]]+([A-Za-z_][A-Za-z0-9_.]*)[[:space:]]+import.*/\1/p' |
		sed -E 's/[[:space:]]+as[[:space:]]+[A-Za-z0-9_]+//g' | tr ',' '\n'
	grep -ohE "python3 -c [\"']import [A-Za-z_][A-Za-z0-9_.]*" "${shell_files[@]}" | sed 's/.*import //'
} | sed -E 's/[[:space:]]//g; s/\..*//' | grep -E '^[A-Za-z_]' | sort -u); do
	add py "$m"
done

# ---------------------------------------------------------------- where each item lives
sys_inc=$(gcc -xc -E -v - </dev/null 2>&1 | sed -n '/<\.\.\.> search starts here:/,/End of search list/p' | grep '^ /')
# Where Python finds each module (one interpreter for all); the tree's own modules are skipped.
py_dirs=$(for f in "${py_files[@]}"; do dirname "$f"; done | sort -u | sed "s#^#$PWD/#" | tr '\n' ':')
declare -A py_where
while read -r m where; do
	py_where[$m]=$where
done < <(/usr/bin/python3 - "$PWD" "$py_dirs" $(printf '%s\n' "${items[@]}" | sed -n 's/^py //p') <<'PY' 2>/dev/null
import importlib.util, os, sys
root = sys.argv[1] + "/"
sys.path[:0] = [d for d in sys.argv[2].split(":") if d]
for m in sys.argv[3:]:
    try:
        spec = importlib.util.find_spec(m)
    except Exception:
        spec = None
    if spec is None:
        print(m, "-")
        continue
    where = spec.origin
    if where in (None, "built-in", "frozen"):  # namespace package, or compiled into the interpreter
        locs = list(spec.submodule_search_locations or [])
        where = locs[0] if locs else os.path.realpath(sys.executable)
    print(m, "local" if os.path.realpath(where).startswith(root) else where)
PY
)

found() { # print a path from a compiler's -print-file-name answer, if it found the file
	case $1 in /*) [ -e "$1" ] && echo "$1" ;; esac
}
resolve() { # kind name -> the file on this machine, or nothing
	local d
	case $1 in
	cmd) type -P "$2" ;;
	hdr) for d in $sys_inc; do [ -f "$d/$2" ] && echo "$d/$2" && return; done ;;
	lib)
		case $2 in
		*.so*) found "$(gcc -print-file-name="$2" 2>/dev/null)" ;;
		*) found "$(gcc -print-file-name="lib$2.so" 2>/dev/null)" ||
			found "$(gcc -print-file-name="lib$2.a" 2>/dev/null)" ||
			found "$("${CROSS}gcc" -print-file-name="lib$2.a" 2>/dev/null)" ;;
		esac
		;;
	xlib) found "$("${CROSS}gcc" -print-file-name="lib$2.a" 2>/dev/null)" ;;
	clangrt) found "$(clang --print-runtime-dir 2>/dev/null)/libclang_rt.$2-$(uname -m).a" ;;
	py) [ "${py_where[$2]:--}" != - ] && echo "${py_where[$2]}" ;;
	esac
}
describe() { # kind name -> words for a message
	case $1 in
	cmd) echo "command $2" ;; hdr) echo "header <$2>" ;; lib | xlib) echo "library $2" ;;
	clangrt) echo "clang runtime $2" ;; py) echo "Python module $2" ;;
	esac
}

# The files an item stands for: the name as the tools see it (directories resolved, e.g. the
# libcmocka.so link that libcmocka-dev ships) and, if that is a symlink, the file it leads to
# (/usr/bin/python3 -> python3.11, libcmocka.so.0 of libcmocka0). Each one a package owns must
# be installed by deps.sh: the link without its target, or the target without the link, fails
# on a fresh machine alike. Links no package owns (/etc/alternatives) are passed through.
forms() {
	local name target
	name=$(readlink -f "$(dirname "$1")")/$(basename "$1")
	target=$(readlink -f "$1")
	echo "$name"
	[ "$target" = "$name" ] || echo "$target"
}
# Merged /usr: dpkg may know /usr/bin/x as /bin/x (and /usr/lib/x as /lib/x).
twins() { echo "$1"; [ "${1#/usr/}" = "$1" ] || echo "${1#/usr}"; }
declare -A path_of
for i in "${items[@]}"; do
	[ "${i%% *}" = py ] && [ "${py_where[${i#py }]:-}" = local ] && continue
	path_of[$i]=$(resolve $i)
done
declare -A owners # file -> owning packages, one dpkg call for all
while IFS= read -r line; do
	case $line in "diversion by"*) continue ;; esac
	owners[${line#*: }]=$(sed -E 's/:[a-z0-9]+(,|$)/\1/g; s/,//g' <<<"${line%%: *}")
done < <(for i in "${!path_of[@]}"; do
	[ -n "${path_of[$i]}" ] && for f in $(forms "${path_of[$i]}"); do twins "$f"; done
done | sort -u | xargs -r dpkg -S 2>/dev/null)
owner_of() { # file -> its packages, or nothing
	local t
	for t in $(twins "$1"); do [ -n "${owners[$t]:-}" ] && echo "${owners[$t]}" && return; done
}

# ---------------------------------------------------------------- what deps.sh installs
mapfile -t listed < <(scripts/deps.sh --list)
if [ "${#listed[@]}" -eq 0 ]; then
	echo "deps: FAIL scripts/deps.sh --list printed no packages"
	failed=1
	finish
fi
declare -A listed_set covered base
for p in "${listed[@]}"; do listed_set[$p]=1 covered[$p]=1; done
while read -r p; do
	covered[$p]=1
done < <(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances "${listed[@]}" 2>/dev/null | grep -v '^ ' | tr -d '<>' | sed 's/:.*//')
while IFS='|' read -r st p ess prio; do
	[ "$st" = "ii " ] && { [ "$ess" = yes ] || [ "$prio" = required ]; } && base[$p]=1
done < <(dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Essential}|${Priority}\n')

# ---------------------------------------------------------------- the check, item by item
base_ok=
while IFS= read -r i; do
	[ -n "$i" ] || continue
	what=$(describe $i)
	path=${path_of[$i]}
	if [ -z "$path" ]; then
		echo "deps: FAIL $what: not found on this machine (scripts/deps.sh should install it; run ./moat deps)"
		failed=$((failed + 1))
		continue
	fi
	whys=() bad='' owned=''
	for f in $(forms "$path"); do
		pkgs=$(owner_of "$f")
		[ -n "$pkgs" ] || continue
		owned=1 why=
		for p in $pkgs; do
			if [ -n "${listed_set[$p]:-}" ]; then
				why="$p, listed"
			elif [ -n "${covered[$p]:-}" ]; then
				why="$p, a dependency of the list"
			elif [ -n "${base[$p]:-}" ]; then
				why="$p, in every Debian install"
			fi
			[ -n "$why" ] && break
		done
		if [ -z "$why" ]; then
			bad+="${bad:+; }$f is in package $pkgs"
		elif [[ " ${whys[*]/%/;} " != *" $why; "* ]]; then
			whys+=("$why")
		fi
	done
	if [ -z "$owned" ]; then
		echo "deps: FAIL $what: $path belongs to no Debian package (installed by hand?); deps.sh cannot provide it"
		failed=$((failed + 1))
	elif [ -n "$bad" ]; then
		echo "deps: FAIL $what: $bad, which scripts/deps.sh does not install" \
			"(not in its list, nor a dependency of a package in it): add it to the list there"
		failed=$((failed + 1))
	else
		# The many commands of every Debian install (coreutils, sed, ...) go on one line at the end.
		joined=$(printf '%s; ' "${whys[@]}")
		joined=${joined%; }
		case $joined in
		*", listed"* | *"a dependency"*) echo "deps: ok   $what ($joined)" ;;
		*) base_ok+=" ${i#* }" ;;
		esac
		passed=$((passed + 1))
	fi
done < <(printf '%s\n' "${!path_of[@]}" | sort)
[ -n "$base_ok" ] && echo "deps: ok   in every Debian install (Essential or Priority: required):$base_ok"

# ---------------------------------------------------------------- tree paths are in git
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	declare -A tracked
	while IFS= read -r f; do
		while [ -z "${tracked[$f]:-}" ]; do # the file and every directory above it
			tracked[$f]=1
			[ "${f%/*}" = "$f" ] && break
			f=${f%/*}
		done
	done < <(git ls-files)
	untracked=()
	for p in $( {
		strip_comments "${make_files[@]}" "${shell_files[@]}"
	} | tr -s " \t\"'(),;=:|<>" '\n' | grep -E '^(core|host|guest|lib|include|tests|scripts|tools)/' |
		grep -v '[*%$]' | sed 's#/*$##' | sort -u); do
		[ -n "${tracked[$p]:-}" ] || untracked+=("$p")
	done
	if [ "${#untracked[@]}" -eq 0 ]; then
		echo "deps: ok   every tree path the Makefiles and scripts name is tracked by git"
		passed=$((passed + 1))
	else
		echo "deps: FAIL named by the Makefiles or scripts but not in git (a clean clone lacks them): ${untracked[*]}"
		failed=$((failed + 1))
	fi
else
	echo "deps: skip tree paths: not a git checkout"
	skipped=$((skipped + 1))
fi
finish
