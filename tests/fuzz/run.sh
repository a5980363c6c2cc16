#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS [TARGET...]]: runs each libFuzzer target
# (build/fuzz/fuzz/fuzz_*, `make fuzz-build`) for SECONDS (default
# $FUZZ_SECONDS, else 60) on its seed corpus tests/fuzz/corpus/NAME/
# (read only).  What it learns goes to build/fuzz/corpus/NAME/, crash
# inputs to build/fuzz/artifacts/NAME/, the output to build/fuzz/logs/ —
# never into the source tree.  Prints TAP, one test per target ("ok N -
# fuzz_NAME: E executions in S s"), then "N passed, N failed, 0 skipped";
# exit status 1 when a target failed.
# Reproduce a crash: build/fuzz/fuzz/fuzz_NAME build/fuzz/artifacts/NAME/crash-...
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
secs=${1:-${FUZZ_SECONDS:-60}}
[ $# -gt 0 ] && shift
out=${FUZZ_BUILD:-build/fuzz}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		targets+=("$(basename "$src" .c)")
	done
fi

passed=0 failed=0 n=0
echo "1..${#targets[@]}"
for t in "${targets[@]}"; do
	name=${t#fuzz_}
	bin=$out/fuzz/fuzz_$name
	n=$((n + 1))
	if [ ! -x "$bin" ]; then
		echo "not ok $n - fuzz_$name # $bin is missing (make fuzz-build)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$out/corpus/$name" "$out/artifacts/$name" "$out/logs" || exit 2
	log=$out/logs/$name.log
	# stdin from /dev/null: a config naming /dev/stdin as a secret file
	# must not wait for a terminal.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$name/" \
		"$out/corpus/$name" "tests/fuzz/corpus/$name" </dev/null >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - fuzz_$name: ${execs:-?} executions in $secs s," \
			"corpus $(find "$out/corpus/$name" -type f | wc -l) inputs"
		passed=$((passed + 1))
	else
		echo "not ok $n - fuzz_$name: exit status $rc after ${execs:-?} executions (log: $log)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*fuzz assertion failed|artifact_prefix=|Test unit written)' \
			"$log" | head -n 8 | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
