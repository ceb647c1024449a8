#!/usr/bin/env bash
# Run host-native cmocka unit tests; print each binary's output and one
# closing line "unit: N passed, N failed". Writes the counts to
# build/test-results/unit.count for the top-level summary.
set -uo pipefail
mkdir -p build/test-results
passed=0
failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	ok=$(grep -c '^\[       OK \]' <<<"$out")
	bad=$(grep -oE '^\[  FAILED  \] [0-9]+ test' <<<"$out" | grep -oE '[0-9]+' | head -1)
	bad=${bad:-0}
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "unit: $t exited with status $rc without a cmocka failure report (crash?)"
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
done
echo "$passed $failed 0" >build/test-results/unit.count
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
