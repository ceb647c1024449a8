#!/usr/bin/env bash
# Fuzz the attestation report check of tools/moat-verify (tests/fuzz/fuzz_report.c over
# tools/report_check.c) briefly with libFuzzer: one process, FUZZ_REPORT_RUNS (20000)
# executions, at most FUZZ_REPORT_MAX_TIME (30) seconds, seeds in tests/fuzz/corpus-report.
# scripts/run-fuzz.sh runs it first, in its own run directory; alone:
#   scripts/run-fuzz-report.sh [RUN_DIR]
# Exit 0 when libFuzzer found no violation, sanitizer report or crash; else prints the first
# report and the crash input and exits 1. Run from the repository root.
set -uo pipefail

B=build/fuzz
OUT=$B/fuzz_report
SRCS="tests/fuzz/fuzz_report.c tools/report_check.c"
RUNS=${FUZZ_REPORT_RUNS:-20000}
MAX_TIME=${FUZZ_REPORT_MAX_TIME:-30}
CLANG=${CLANG:-clang}
mkdir -p "$B"
DIR=${1:-$(mktemp -d "$B/report.XXXXXX")}
mkdir -p "$DIR/corpus" "$DIR/artifacts"
stale=0
[ -x "$OUT" ] || stale=1
for f in $SRCS tools/attest_tool.h tools/hex.h include/moat/attest.h scripts/run-fuzz-report.sh; do
	[ "$stale" -eq 1 ] || [ ! "$f" -nt "$OUT" ] || stale=1
done
if [ "$stale" -eq 1 ]; then
	echo "fuzz: building $OUT"
	# shellcheck disable=SC2086
	if ! "$CLANG" -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -Iinclude -Itools $SRCS -lcrypto -o "$OUT.tmp.$$"; then
		rm -f "$OUT.tmp.$$"
		echo "fuzz: fuzz_report build failed"
		exit 1
	fi
	mv -f "$OUT.tmp.$$" "$OUT"
fi
cp tests/fuzz/corpus-report/* "$DIR/corpus/"
log=$(realpath "$DIR")/fuzz-report.log
bin=$(realpath "$OUT")
(cd "$DIR" && exec "$bin" corpus -runs="$RUNS" -max_total_time="$MAX_TIME" -seed="${FUZZ_SEED:-1}" \
	-print_final_stats=1 -timeout=10 -max_len=700 -artifact_prefix=artifacts/ >"$log" 2>&1)
rc=$?
n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log")
echo "fuzz: fuzz_report (attestation report check): ${n:-0} executions, exit status $rc, log $log"
if [ "$rc" -ne 0 ] || grep -qE '^VIOLATION:|^==[0-9]+==ERROR|runtime error:|deadly signal' "$log"; then
	grep -m1 -A20 -E '^VIOLATION:|^==[0-9]+==ERROR|runtime error:|deadly signal' "$log" | sed '/^ *#[0-9]* 0x/,$d'
	find "$DIR/artifacts" -type f | sed 's#^#fuzz: crash input #'
	exit 1
fi
rm -rf "$DIR/corpus"
