#!/usr/bin/env bash
# tests/run.sh [PYTEST-ARGS...] — runs the unit tests (build/asan/unit-tests,
# then build/tsan/unit-tests under ThreadSanitizer),
# the integration tests (pytest, against build/asan/dumpfs; the mount and
# alert tests again against build/tsan/dumpfs) and the compose
# stack test (tests/stack/stack-test.sh, podman), then repeats the names of
# whatever failed and prints ONE final line "N passed, N failed, N skipped"
# with the totals (a skipped unit test, pytest test or stack test counts as
# skipped, never as passed; the recap lists each with its reason).  Exit
# status is non-zero when anything failed.
# `make test` builds first.
#
# Environment: DUMPFS_BIN (default build/asan/dumpfs), UNIT_TESTS (default
# build/asan/unit-tests), TSAN_UNIT_TESTS (default build/tsan/unit-tests),
# TSAN_DUMPFS_BIN (default build/tsan/dumpfs), TSAN_OPTIONS,
# PYTHON (an interpreter with pytest), STACK_TEST=0
# skips the stack test (counted and reported as skipped, with the reason).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
root=$PWD

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export DUMPFS_BIN=${DUMPFS_BIN:-$root/build/asan/dumpfs}
export PYTHONDONTWRITEBYTECODE=1
unit_bin=${UNIT_TESTS:-$root/build/asan/unit-tests}
tsan_unit_bin=${TSAN_UNIT_TESTS:-$root/build/tsan/unit-tests}
tsan_dumpfs=${TSAN_DUMPFS_BIN:-$root/build/tsan/dumpfs}
# A data race stops the program (exit 66) at its first report; the
# suppressions are reports about glibc, not races (tests/tsan.supp).
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp}

log=$(mktemp -d "${TMPDIR:-/tmp}/dumpfs-run.XXXXXX") || exit 2
trap 'rm -rf "$log"' EXIT

passed=0 failed=0 skipped=0

# -- unit tests ------------------------------------------------------------
# run_unit NAME BINARY LOGFILE: one unit suite; adds its counts to the totals.
run_unit() {
	local name=$1 bin=$2 out=$3 rc summary up uf us counted=0
	echo "== $name: $bin"
	if [ ! -x "$bin" ]; then
		echo "$name: $bin is missing (run: make asan tsan)" | tee "$out"
		failed=$((failed + 1))
		return
	fi
	"$bin" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	# Older TSan runtimes cannot start under the high mmap randomisation of
	# recent kernels: once more without ASLR (setarch -R).
	if grep -q 'ThreadSanitizer: unexpected memory mapping' "$out"; then
		echo "$name: TSan cannot map its shadow memory here: running again with setarch -R"
		setarch "$(uname -m)" -R "$bin" 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
	fi
	# "N passed, N failed, N skipped"; a skip is never a pass.
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
	if [ -n "$summary" ]; then
		read -r up _ uf _ us _ <<<"$summary"
		passed=$((passed + up))
		failed=$((failed + uf))
		skipped=$((skipped + us))
		# Failures must show in the count even if the runner crashed
		# after printing its summary (sanitizer at exit).
		if [ "$rc" -ne 0 ] && [ "$uf" -eq 0 ]; then
			echo "$name: exit status $rc after the summary"
			failed=$((failed + 1))
		fi
		[ "$rc" -eq 0 ] || counted=1
	else
		echo "$name: no summary line (exit status $rc; crashed or stopped by a sanitizer?)"
		failed=$((failed + 1))
		counted=1
	fi
	# A sanitizer report fails the suite, whatever the exit status (counted
	# once: a failing exit status already counted).
	if grep -qE '^(WARNING|ERROR): (ThreadSanitizer|AddressSanitizer|LeakSanitizer)|runtime error:' "$out"; then
		echo "$name: sanitizer report in the output (above)"
		grep -hE '^(WARNING|ERROR): [A-Za-z]+Sanitizer' "$out" | sed "s/^/$name: /" >>"$log/sanitizer"
		[ "$counted" = 1 ] || failed=$((failed + 1))
	fi
}

run_unit "unit tests" "$unit_bin" "$log/unit"
# The same tests under ThreadSanitizer (TSAN_OPTIONS above).
run_unit "unit tests (tsan)" "$tsan_unit_bin" "$log/unit-tsan"

# -- integration tests -----------------------------------------------------
python=${PYTHON:-}
if [ -z "$python" ]; then
	for cand in /usr/bin/python3 python3; do
		if "$cand" -c 'import pytest' 2>/dev/null; then
			python=$cand
			break
		fi
	done
fi
# run_pytest NAME LOGFILE PYTEST-ARGS...: one pytest run (DUMPFS_BIN from
# the environment); adds its counts to the totals.
run_pytest() {
	local name=$1 out=$2 py_rc summary pp pf ps pe pxf pxp
	shift 2
	"$python" -m pytest -p no:cacheprovider -q -rfEs "$@" 2>&1 | tee "$out"
	py_rc=${PIPESTATUS[0]}
	# The last line like "2 failed, 10 passed, 1 skipped, 1 error in 9.1s".
	summary=$(grep -E '[0-9]+ (passed|failed|skipped|errors?|xfailed|xpassed|deselected)' \
		"$out" | grep -E ' in [0-9.]+s' | tail -n 1)
	count() {
		grep -oE "(^|[^0-9a-z])[0-9]+ $1( |,|$)" <<<"$summary" |
			grep -oE '[0-9]+' | head -n 1
	}
	pp=$(count passed) pf=$(count failed) ps=$(count skipped)
	pe=$(count 'errors?') pxf=$(count xfailed) pxp=$(count xpassed)
	passed=$((passed + ${pp:-0} + ${pxp:-0}))
	failed=$((failed + ${pf:-0} + ${pe:-0}))
	skipped=$((skipped + ${ps:-0} + ${pxf:-0}))
	case $py_rc in
	0 | 1) ;;
	5) echo "$name: none collected" ;;
	*)
		echo "$name: pytest exit status $py_rc" \
			"(interrupted, internal or usage error)"
		failed=$((failed + 1))
		;;
	esac
	if [ "$py_rc" -eq 1 ] && [ $((${pf:-0} + ${pe:-0})) -eq 0 ]; then
		echo "$name: pytest failed without a failure count"
		failed=$((failed + 1))
	fi
}

echo "== integration tests: DUMPFS_BIN=$DUMPFS_BIN"
if [ -z "$python" ]; then
	echo "integration tests: no python3 with pytest (tests/deps.sh test)"
	failed=$((failed + 1))
else
	# Where the test servers' data dirs go (/dev/shm only when it has room).
	(cd tests/integration && "$python" -c 'from harness.server import base_dir_choice
where, why = base_dir_choice()
print("integration tests: server data dirs in %s (%s)" % (where, why))')
	run_pytest "integration tests" "$log/pytest" tests/integration "$@"
	# The mount and its alerts (the most threads: FUSE, snapshot producer
	# and readers, notifier, scheduler, gzip workers, gpg helpers) again
	# under ThreadSanitizer; the harness fails a test on any report in the
	# daemon's output.  Only for a full run (no PYTEST-ARGS).
	if [ $# -eq 0 ]; then
		echo "== integration tests (tsan): DUMPFS_BIN=$tsan_dumpfs"
		DUMPFS_BIN=$tsan_dumpfs run_pytest "integration tests (tsan)" "$log/pytest-tsan" \
			tests/integration/test_mount.py tests/integration/test_alerts.py
	fi
fi

# -- compose stack test ---------------------------------------------------
# Last: it is the slowest, and a failure in it must not hide the others.
echo "== stack test: tests/stack/stack-test.sh"
if [ "${STACK_TEST:-1}" = 0 ]; then
	echo "stack test: SKIPPED because STACK_TEST=0 was set" | tee "$log/stack"
	skipped=$((skipped + 1))
elif [ "$(id -u)" != 0 ]; then
	echo "stack test: SKIPPED because it needs root (podman, FUSE mounts, iptables)" | tee "$log/stack"
	skipped=$((skipped + 1))
else
	tests/stack/stack-test.sh 2>&1 | tee "$log/stack"
	st_rc=${PIPESTATUS[0]}
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log/stack" | tail -n 1)
	if [ "$st_rc" -eq 77 ] && [ -z "$summary" ]; then
		# It printed why (no nested containers here).
		echo "stack test: SKIPPED: $(grep -h 'SKIPPED: ' "$log/stack" | sed 's/.*SKIPPED: //' | tail -n 1)" |
			tee -a "$log/stack"
		skipped=$((skipped + 1))
	elif [ -n "$summary" ]; then
		read -r sp _ sf _ <<<"$summary"
		passed=$((passed + sp))
		failed=$((failed + sf))
		if [ "$st_rc" -ne 0 ] && [ "$sf" -eq 0 ]; then
			echo "stack test: exit status $st_rc with no failed check"
			failed=$((failed + 1))
		fi
	else
		echo "stack test: no summary line (exit status $st_rc)"
		failed=$((failed + 1))
	fi
fi

# -- recap -------------------------------------------------------------------
# The names of what failed, next to the totals (CI logs show their tail).
if [ "$failed" -gt 0 ]; then
	echo "== failed:"
	{
		grep -hE '^(not ok |# no test matches )' "$log/unit" 2>/dev/null
		grep -hE '^(not ok |# no test matches )' "$log/unit-tsan" 2>/dev/null |
			sed 's/^/tsan: /'
		cat "$log/sanitizer" 2>/dev/null
		grep -hE '^(FAILED|ERROR):? ' "$log/pytest" 2>/dev/null
		grep -hE '^(FAILED|ERROR):? ' "$log/pytest-tsan" 2>/dev/null | sed 's/^/tsan: /'
		grep -h 'FAILED: ' "$log/stack" 2>/dev/null | sed 's/^\[ *[0-9]*s\] /stack: /'
	} | sed 's/^/  /'
fi
# What was skipped, and why: a skip hides a test, it must show.
if [ "$skipped" -gt 0 ]; then
	echo "== skipped:"
	{
		grep -h '^ok [0-9]* - .* # SKIP ' "$log/unit" 2>/dev/null |
			sed 's/^ok [0-9]* - /unit: /'
		grep -h '^ok [0-9]* - .* # SKIP ' "$log/unit-tsan" 2>/dev/null |
			sed 's/^ok [0-9]* - /unit (tsan): /'
		grep -h '^SKIPPED ' "$log/pytest" 2>/dev/null
		grep -h '^SKIPPED ' "$log/pytest-tsan" 2>/dev/null | sed 's/^/tsan: /'
		grep -h '^stack test: SKIPPED' "$log/stack" 2>/dev/null
	} | sed 's/^/  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
