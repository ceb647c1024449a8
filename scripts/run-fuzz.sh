#!/usr/bin/env bash
# Fuzz the host-ABI dispatcher (tests/fuzz/fuzz_host_abi.c) on the host-native
# build of the generic core with libFuzzer, invariants checked after every call.
#
# Builds build/fuzz/fuzz_host_abi (only when a source changed), copies the
# committed seed corpus to a scratch directory of its own (libFuzzer never
# writes into tests/fuzz/corpus), runs FUZZ_JOBS libFuzzer processes in
# parallel (seeds FUZZ_SEED, FUZZ_SEED + 1, ...) until together they have
# executed FUZZ_RUNS inputs, and prints
#   fuzz: N executions, V violations
#   1 passed, 0 failed        (or 0 passed, 1 failed)
# A harness VIOLATION, a sanitizer report, a core panic, a timeout, a crash or
# fewer than MIN_EXECS executions is a failure; the crashing input is kept
# under the run directory and the first report is printed. Writes "P F 0" to
# build/test-results/fuzz.count for the top-level summary. Run from the repo root.
#
# Environment (defaults): FUZZ_RUNS (1100000) total executions, FUZZ_JOBS (number
# of CPUs, at most 4) parallel libFuzzer processes, FUZZ_MAX_TIME (1800) seconds
# per process at most, MIN_EXECS (1000000), FUZZ_SEED (1), CLANG (clang).
#
# First, for a few seconds, the report check of tools/moat-verify (scripts/run-fuzz-report.sh).
#
# Reproduce a failure: FUZZ_TRACE=1 build/fuzz/fuzz_host_abi <crash file>
# prints every host call of the input; see the top of fuzz_host_abi.c.
set -uo pipefail

B=build/fuzz
OUT=$B/fuzz_host_abi
COUNT=build/test-results/fuzz.count
RUNS=${FUZZ_RUNS:-1100000}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$JOBS" -gt 4 ] && JOBS=4
[ "$JOBS" -lt 1 ] && JOBS=1
MAX_TIME=${FUZZ_MAX_TIME:-1800}
MIN_EXECS=${MIN_EXECS:-1000000}
SEED=${FUZZ_SEED:-1}
CLANG=${CLANG:-clang}
HARNESS=tests/fuzz/fuzz_host_abi.c

mkdir -p "$B" build/test-results

report() { # passed failed
	echo "$1 $2 0" >"$COUNT"
	echo "$1 passed, $2 failed"
	[ "$2" -eq 0 ]
	exit $?
}

# Every generic core file -- the Makefile's CORE_GENERIC minus core/boot.c -- plus the fake arch layer.
# Asked from make itself; if that fails (a missing include), read the assignments directly.
CORE_SRCS=$(make -s --no-print-directory \
	--eval='fuzz-print-core-generic: ; @echo $(filter-out core/boot.c,$(CORE_GENERIC))' \
	fuzz-print-core-generic 2>/dev/null)
if [ -z "$CORE_SRCS" ]; then
	CORE_SRCS=$(awk '/^CORE_GENERIC[ \t]*[:+]?=/ { f = 1; sub(/^CORE_GENERIC[ \t]*[:+]?=/, "") }
		f { cont = sub(/\\$/, ""); print; if (!cont) f = 0 }' Makefile | tr -s ' \t' '\n' |
		grep -vx 'core/boot.c' | grep . | tr '\n' ' ')
fi
if [ -z "$CORE_SRCS" ]; then
	echo "fuzz: cannot read CORE_GENERIC from the Makefile"
	report 0 1
fi
CORE_SRCS="$CORE_SRCS core/arch/fake/fake_arch.c"

# Rebuild when the binary is missing or older than anything it is built from.
stale=0
if [ ! -x "$OUT" ]; then
	stale=1
else
	for f in $CORE_SRCS $HARNESS tests/fuzz/*.txt include/moat/*.h core/include/*.h core/arch/fake/*.h \
		Makefile scripts/run-fuzz.sh; do
		if [ "$f" -nt "$OUT" ]; then
			stale=1
			break
		fi
	done
fi
if [ "$stale" -eq 1 ]; then
	echo "fuzz: building $OUT"
	# The two lists keep libFuzzer's comparison tracing and ASan out of the read-only walks the
	# harness runs after every call (see the files); everything else is fully instrumented.
	# shellcheck disable=SC2086
	if ! "$CLANG" -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -fsanitize-coverage-ignorelist=tests/fuzz/coverage-ignore.txt \
		-fsanitize-ignorelist=tests/fuzz/asan-ignore.txt -Iinclude -Icore/include -Icore/arch/fake \
		-DMOAT_FAKE $CORE_SRCS $HARNESS -o "$OUT.tmp.$$"; then
		rm -f "$OUT.tmp.$$"
		echo "fuzz: build failed"
		report 0 1
	fi
	mv -f "$OUT.tmp.$$" "$OUT"
fi

# A directory per run, so that concurrent runs never share a corpus or logs; runs older than two
# days go.
find "$B" -maxdepth 1 -name 'run.*' -type d -mtime +1 -exec rm -rf {} + 2>/dev/null
RUN=$(mktemp -d "$B/run.XXXXXX")
mkdir -p "$RUN/corpus" "$RUN/artifacts"
cp tests/fuzz/corpus/* "$RUN/corpus/"
BIN=$(realpath "$OUT")
per_job=$(((RUNS + JOBS - 1) / JOBS))
# The attestation report check of tools/moat-verify first, briefly (scripts/run-fuzz-report.sh).
scripts/run-fuzz-report.sh "$RUN/report" || report 0 1

echo "fuzz: $JOBS process(es) x $per_job runs (at most $MAX_TIME s each), seed corpus copied to $RUN/corpus"
start=$(date +%s)
# One libFuzzer process per CPU, each with its own seed and log, all sharing the scratch corpus
# (each reloads what the others add).
pids=()
for j in $(seq 0 $((JOBS - 1))); do
	(cd "$RUN" && exec "$BIN" corpus -runs="$per_job" -max_total_time="$MAX_TIME" -seed=$((SEED + j)) \
		-print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=256 -artifact_prefix=artifacts/ \
		>"fuzz-$j.log" 2>&1) &
	pids+=($!)
done
# The first process to fail stops the others: its crash is the result, no need to finish the runs.
rc=0
while [ "${#pids[@]}" -gt 0 ]; do
	finished=
	wait -n -p finished "${pids[@]}"
	status=$?
	for k in "${!pids[@]}"; do
		[ "${pids[$k]}" = "$finished" ] && unset "pids[$k]"
	done
	if [ "$status" -ne 0 ]; then
		rc=$status
		if [ "${#pids[@]}" -gt 0 ]; then
			kill "${pids[@]}" 2>/dev/null
			wait "${pids[@]}" 2>/dev/null
		fi
		break
	fi
done
elapsed=$(($(date +%s) - start))

logs=$(ls "$RUN"/fuzz-*.log 2>/dev/null)
if [ -z "$logs" ]; then
	echo "fuzz: libFuzzer wrote no logs (exit status $rc)"
	report 0 1
fi
# shellcheck disable=SC2086
execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' $logs | awk '{ s += $1 } END { print s + 0 }')
# shellcheck disable=SC2086
violations=$(cat $logs | grep -c '^VIOLATION:')
# shellcheck disable=SC2086
crashes=$(cat $logs | grep -cE '^==[0-9]+==ERROR|deadly signal|runtime error:|ALARM: working on the last Unit|PANIC|out-of-memory')
if [ "$violations" -eq 0 ] && { [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ]; }; then
	violations=1
fi
rate=$((execs / (elapsed > 0 ? elapsed : 1)))

for l in $logs; do
	echo "fuzz: $(basename "$l"): $(grep -E '^#[0-9]+[[:space:]]+DONE' "$l" | tail -1)"
done
echo "fuzz: $elapsed s, $rate exec/s in all, logs in $RUN"
echo "fuzz: $execs executions, $violations violations"
if [ "$violations" -ne 0 ]; then
	echo "fuzz: libFuzzer exit status $rc; first report:"
	# shellcheck disable=SC2086
	cat $logs | grep -m1 -A30 -E '^VIOLATION:|^==[0-9]+==ERROR|runtime error:|PANIC|deadly signal|ALARM|out-of-memory' |
		sed '/^ *#[0-9]* 0x/,$d'
	find "$RUN/artifacts" -type f | sed 's#^#fuzz: crash input #'
	report 0 1
fi
if [ "$execs" -lt "$MIN_EXECS" ]; then
	echo "fuzz: only $execs executions, fewer than $MIN_EXECS"
	report 0 1
fi
rm -rf "$RUN/corpus"
report 1 0
