#!/usr/bin/env bash
# QEMU integration tests (pytest, one QEMU per test, each under a timeout), in two
# passes over the CPU models of the test matrix:
#   integration      -cpu cortex-a72 (the platform baseline)
#   integration-max  -cpu max,pauth-impdef=on (SVE, SME, MTE, PAuth, PMUv3p8, ...; the
#                    impdef PAuth algorithm because plain max boots ~2.5x slower under TCG)
# A test that pins its CPU keeps it; the second pass leaves out the tests parametrized
# over CPU models (tests/integration/conftest.py). Each pass writes JUnit XML to
# build/test-results/<suite>.xml and its counts, read back from it, to <suite>.count
# for the top-level summary (scripts/run-all-tests.sh). Extra arguments go to both.
set -uo pipefail
jobs=$(nproc 2>/dev/null || echo 2)
xdist=()
if /usr/bin/python3 -c 'import xdist' 2>/dev/null; then
	xdist=(-n "$jobs")
fi
status=0

run_pass() {
	local suite=$1 cpu=$2
	shift 2
	echo "---- $suite: -cpu $cpu ----"
	MOAT_TEST_CPU=$cpu /usr/bin/python3 -m pytest tests/integration "${xdist[@]}" \
		--junitxml="build/test-results/$suite.xml" -o junit_suite_name="$suite" "$@"
	local rc=$?
	/usr/bin/python3 - "$suite" <<'PY' >"build/test-results/$suite.count"
import sys
import xml.etree.ElementTree as ET
suite = sys.argv[1]
try:
    root = ET.parse(f"build/test-results/{suite}.xml").getroot()
except Exception:
    print("0 1 0")
    raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
k = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - k, f, k)
PY
	# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
	[ "$rc" -eq 0 ] || status=1
}

mkdir -p build/test-results
# The Linux-host tests need Debian's kernel and the host initramfs (a no-op when up to date; make
# test has already run it). If it fails those tests fail and say so; the others still run.
make --no-print-directory -C "$(dirname "$0")/.." linux || echo "run-integration: make linux failed: the Linux-host tests will fail"
run_pass integration cortex-a72 "$@"
run_pass integration-max max,pauth-impdef=on "$@"
exit $status
