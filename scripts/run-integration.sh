#!/usr/bin/env bash
# QEMU integration tests (pytest, one QEMU per test, each under a timeout).
# JUnit XML goes to build/test-results/integration.xml; the counts are read
# back from it for the top-level summary.
set -uo pipefail
jobs=$(nproc 2>/dev/null || echo 2)
xdist=()
if /usr/bin/python3 -c 'import xdist' 2>/dev/null; then
	xdist=(-n "$jobs")
fi
/usr/bin/python3 -m pytest tests/integration "${xdist[@]}" --junitxml=build/test-results/integration.xml "$@"
rc=$?
/usr/bin/python3 - <<'PY' >build/test-results/integration.count
import xml.etree.ElementTree as ET
try:
    root = ET.parse("build/test-results/integration.xml").getroot()
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
[ "$rc" -eq 0 ]
