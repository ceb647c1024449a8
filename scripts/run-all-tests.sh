#!/usr/bin/env bash
# Everything CI checks, suite by suite, then one closing line summing them:
#   N passed, N failed, N skipped
# Each suite leaves "passed failed skipped" in build/test-results/<suite>.count.
set -uo pipefail
cd "$(dirname "$0")/.."
rm -rf build/test-results
mkdir -p build/test-results
status=0

run_suite() {
	local name=$1
	shift
	echo "==== $name ===="
	if ! "$@"; then
		status=1
	fi
	if [ ! -s "build/test-results/$name.count" ]; then
		echo "$name: produced no result counts"
		echo "0 1 0" >"build/test-results/$name.count"
		status=1
	fi
}

# First and fast: does scripts/deps.sh install everything the suites below use?
run_suite deps scripts/check-deps.sh
run_suite unit make --no-print-directory ARCH=fake unit
run_suite integration scripts/run-integration.sh
if [ -x scripts/run-fuzz.sh ]; then
	run_suite fuzz scripts/run-fuzz.sh
fi

total_p=0 total_f=0 total_s=0
for f in build/test-results/*.count; do
	read -r p f_ s <"$f"
	total_p=$((total_p + p))
	total_f=$((total_f + f_))
	total_s=$((total_s + s))
	printf '  %-16s %s passed, %s failed, %s skipped\n' "$(basename "$f" .count)" "$p" "$f_" "$s"
done
[ "$total_f" -eq 0 ] || status=1
echo "$total_p passed, $total_f failed, $total_s skipped"
exit $status
