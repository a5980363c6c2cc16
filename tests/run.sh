#!/usr/bin/env bash
# tests/run.sh [PYTEST-ARGS...] — runs the unit tests (build/asan/unit-tests,
# then build/tsan/unit-tests under ThreadSanitizer, and the unit runner's
# self-test), each libFuzzer target briefly (tests/fuzz/run.sh),
# the integration tests (pytest, against build/asan/dumpfs; the ones that
# mostly wait on the clock in a second pytest beside the others; the mount
# and alert tests and restore --jobs again against build/tsan/dumpfs) and the compose
# stack test (tests/stack/stack-test.sh, podman), then repeats the names of
# whatever failed and prints ONE final line "N passed, N failed, N skipped"
# with the totals (a skipped unit test, pytest test or stack test counts as
# skipped, never as passed; the recap lists each with its reason).  Exit
# status is non-zero when anything failed.
# Every suite but the stack test reports in TAP ("1..N", "ok N - name",
# "not ok N - name", "ok N - name # SKIP why"; pytest's junit report is
# turned into TAP by tests/junit2tap.py), counted by one function.
# `make test` builds first.
#
# Environment: DUMPFS_BIN (default build/asan/dumpfs), UNIT_TESTS (default
# build/asan/unit-tests), TSAN_UNIT_TESTS (default build/tsan/unit-tests),
# TSAN_DUMPFS_BIN (default build/tsan/dumpfs), TSAN_OPTIONS,
# FUZZ_TEST_SECONDS (each fuzz target's run, default 10),
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
# An interrupted run also stops the pytest of the waiting tests (SIGINT:
# its fixtures stop their servers and mounts).
wait_pid=
trap '[ -n "$wait_pid" ] && pkill -INT -P "$wait_pid"; rm -rf "$log"' EXIT

passed=0 failed=0 skipped=0

# -- TAP ---------------------------------------------------------------------
# tap_count NAME LOGFILE STATUS: adds one suite's TAP results in LOGFILE to
# the totals.  A plan with tests that never reported (the runner died), no
# plan at all, or a non-zero exit status without a failed test counts as
# one more failure, said here.
tap_count() {
	local name=$1 out=$2 rc=$3 plan tp tf ts
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
	ts=$(grep -cE '^ok [0-9]+ .*# SKIP' "$out")
	tp=$(($(grep -cE '^ok [0-9]+' "$out") - ts))
	tf=$(grep -cE '^not ok [0-9]+' "$out")
	passed=$((passed + tp))
	failed=$((failed + tf))
	skipped=$((skipped + ts))
	if [ -z "$plan" ]; then
		echo "$name: no TAP plan (exit status $rc: did it start?)" | tee -a "$log/problems"
		failed=$((failed + 1))
	elif [ $((tp + tf + ts)) -lt "$plan" ]; then
		echo "$name: $((plan - tp - tf - ts)) of $plan tests never reported (exit status $rc)" |
			tee -a "$log/problems"
		failed=$((failed + 1))
	elif [ "$rc" -ne 0 ] && [ "$tf" -eq 0 ]; then
		echo "$name: exit status $rc with no failed test" | tee -a "$log/problems"
		failed=$((failed + 1))
	fi
}

# -- unit tests ------------------------------------------------------------
# run_unit NAME LOGFILE COMMAND...: one TAP suite; adds its counts.
run_unit() {
	local name=$1 out=$2 rc
	shift 2
	echo "== $name: $*"
	if [ ! -x "${!#}" ]; then
		echo "$name: ${!#} is missing (run: make asan tsan)" | tee -a "$log/problems"
		failed=$((failed + 1))
		return
	fi
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	# Older TSan runtimes cannot start under the high mmap randomisation of
	# recent kernels: once more without ASLR (setarch -R).
	if grep -q 'ThreadSanitizer: unexpected memory mapping' "$out"; then
		echo "$name: TSan cannot map its shadow memory here: running again with setarch -R"
		setarch "$(uname -m)" -R "$@" 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
	fi
	tap_count "$name" "$out" "$rc"
	# Each test's child fails on its own sanitizer report (exit status);
	# a report in the runner itself fails the suite once more.
	local report='^(==[0-9]+==)?(WARNING|ERROR): [A-Za-z]+Sanitizer|runtime error:'
	if grep -qE "$report" "$out"; then
		grep -hE "$report" "$out" |
			sort -u | sed "s/^/$name: /" >>"$log/sanitizer"
		if [ "$(grep -cE '^not ok ' "$out")" -eq 0 ]; then
			echo "$name: sanitizer report in the output (above)" | tee -a "$log/problems"
			failed=$((failed + 1))
		fi
	fi
}

run_unit "unit tests" "$log/unit" "$unit_bin"
# The same tests under ThreadSanitizer (TSAN_OPTIONS above).
run_unit "unit tests (tsan)" "$log/unit-tsan" "$tsan_unit_bin"
# The runner itself: crashes, hangs, leaks and skips are reported.
run_unit "unit runner self-test" "$log/unit-self" tests/unit/selftest/check.sh \
	"$(dirname "$unit_bin")/runner-selftest"

# -- fuzz targets ------------------------------------------------------------
# Each libFuzzer target (build/fuzz, `make fuzz-build`) for a few seconds
# from its seed corpus: one test each.
echo "== fuzz targets: ${FUZZ_TEST_SECONDS:-10} s each"
tests/fuzz/run.sh "${FUZZ_TEST_SECONDS:-10}" 2>&1 | tee "$log/fuzz"
tap_count "fuzz targets" "$log/fuzz" "${PIPESTATUS[0]}"

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
# pytest_exec LOGFILE PYTEST-ARGS...: one pytest run (DUMPFS_BIN from the
# environment) writing its junit report to LOGFILE.xml; its exit status.
pytest_exec() {
	local out=$1
	shift
	"$python" -m pytest -p no:cacheprovider -q -rfEs --junitxml="$out.xml" "$@"
}
# pytest_count NAME LOGFILE STATUS: that run's junit report, as TAP, adds
# to the totals.
pytest_count() {
	local name=$1 out=$2 py_rc=$3
	"$python" tests/junit2tap.py "$out.xml" >"$out.tap"
	case $py_rc in
	0 | 1) tap_count "$name" "$out.tap" "$py_rc" ;;
	5)
		echo "$name: none collected"
		tap_count "$name" "$out.tap" 0
		;;
	*)
		# interrupted, internal or usage error: what ran still counts
		tap_count "$name" "$out.tap" 0
		echo "$name: pytest exit status $py_rc (interrupted, internal or usage error)" |
			tee -a "$log/problems"
		failed=$((failed + 1))
		;;
	esac
}
# run_pytest NAME LOGFILE PYTEST-ARGS...: one pytest run, shown as it goes.
run_pytest() {
	local name=$1 out=$2 py_rc
	shift 2
	pytest_exec "$out" "$@" 2>&1 | tee "$out"
	py_rc=${PIPESTATUS[0]}
	pytest_count "$name" "$out" "$py_rc"
}

# The tests that mostly wait on the clock (a reader pausing 90 s, alerts
# after a scheduled minute or a 30 s grace: 4-5 minutes of sleeping) run
# in a second pytest beside the others in a full run, with their own
# servers; their output is shown when they end.
waiting_tests=(
	tests/integration/test_mount.py::test_reader_pausing_90s_gets_a_complete_dump
	tests/integration/test_mount_alerts.py::test_scheduled_backup_failure_then_recovered
	tests/integration/test_binlog_alerts.py
)
# ... and the one of the TSan run below.
waiting_tsan=tests/integration/test_mount.py::test_reader_pausing_90s_gets_a_complete_dump

echo "== integration tests: DUMPFS_BIN=$DUMPFS_BIN"
if [ -z "$python" ]; then
	echo "integration tests: no python3 with pytest (tests/deps.sh test)" | tee -a "$log/problems"
	failed=$((failed + 1))
else
	# Where the test servers' data dirs go (/dev/shm only when it has room).
	(cd tests/integration && "$python" -c 'from harness.server import base_dir_choice
where, why = base_dir_choice()
print("integration tests: server data dirs in %s (%s)" % (where, why))')
	if [ $# -eq 0 ]; then
		others=()
		for t in "${waiting_tests[@]}"; do
			case $t in
			*::*) others+=(--deselect "$t") ;;
			*) others+=(--ignore "$t") ;;
			esac
		done
		echo "== integration tests that wait on the clock, beside the others: ${waiting_tests[*]}" \
			"(and under TSan: $waiting_tsan)"
		{
			pytest_exec "$log/pytest-wait" "${waiting_tests[@]}" >"$log/pytest-wait" 2>&1
			echo $? >"$log/pytest-wait.rc"
			DUMPFS_BIN=$tsan_dumpfs pytest_exec "$log/pytest-wait-tsan" "$waiting_tsan" \
				>"$log/pytest-wait-tsan" 2>&1
			echo $? >"$log/pytest-wait-tsan.rc"
		} &
		wait_pid=$!
		run_pytest "integration tests" "$log/pytest" tests/integration "${others[@]}"
		wait "$wait_pid"
		wait_pid=
		echo "== integration tests that wait on the clock: their output"
		cat "$log/pytest-wait" "$log/pytest-wait-tsan"
		pytest_count "integration tests (waiting)" "$log/pytest-wait" \
			"$(cat "$log/pytest-wait.rc" 2>/dev/null || echo 2)"
		pytest_count "integration tests (waiting, tsan)" "$log/pytest-wait-tsan" \
			"$(cat "$log/pytest-wait-tsan.rc" 2>/dev/null || echo 2)"
	else
		run_pytest "integration tests" "$log/pytest" tests/integration "$@"
	fi
	# The mount and its alerts (the most threads: FUSE, snapshot producer
	# and readers, notifier, scheduler, gzip workers, gpg helpers) and
	# `restore --jobs` (a writer and a reader thread per connection) again
	# under ThreadSanitizer, and the binlog streamer's cancel from its
	# signal thread (one test: the rest of it is the gpg stage the mount
	# tests already cover), and the point-in-time replay (a feeder thread
	# beside the reader of mariadb-binlog's SQL), and the mount's binlog
	# thread beside FUSE (test_mount_binlog.py; test_binlog_alerts.py,
	# 90 s of waiting for alerts, was run under TSan by hand; the 90 s
	# reader pause runs beside the ASan tests, above); the harness fails a
	# test on any report in the daemon's output.  Only for a full run (no
	# PYTEST-ARGS).
	if [ $# -eq 0 ]; then
		echo "== integration tests (tsan): DUMPFS_BIN=$tsan_dumpfs"
		DUMPFS_BIN=$tsan_dumpfs run_pytest "integration tests (tsan)" "$log/pytest-tsan" \
			tests/integration/test_mount.py --deselect "$waiting_tsan" \
			tests/integration/test_alerts.py tests/integration/test_restore_jobs.py \
			tests/integration/test_binlog.py::test_refusals \
			tests/integration/test_mount_binlog.py \
			tests/integration/test_pitr.py::test_until_between_writes_and_latest
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
# tap_lines REGEX: the matching TAP lines of every suite, "suite: line".
tap_lines() {
	local f tag
	for f in unit unit-tsan unit-self fuzz pytest.tap pytest-wait.tap pytest-tsan.tap \
		pytest-wait-tsan.tap; do
		case $f in
		unit) tag=unit ;; unit-tsan) tag="unit (tsan)" ;; unit-self) tag="unit runner" ;;
		fuzz) tag=fuzz ;; pytest.tap) tag=integration ;; pytest-tsan.tap) tag="integration (tsan)" ;;
		pytest-wait.tap) tag="integration (waiting)" ;;
		pytest-wait-tsan.tap) tag="integration (waiting, tsan)" ;;
		esac
		grep -hE "$1" "$log/$f" 2>/dev/null | sed "s/^\(not \)\{0,1\}ok [0-9]* - /$tag: /"
	done
}
if [ "$failed" -gt 0 ]; then
	echo "== failed:"
	{
		tap_lines '^not ok '
		cat "$log/problems" "$log/sanitizer" 2>/dev/null
		grep -h 'FAILED: ' "$log/stack" 2>/dev/null | sed 's/^\[ *[0-9]*s\] /stack: /'
	} | sed 's/^/  /'
fi
# What was skipped, and why: a skip hides a test, it must show.
if [ "$skipped" -gt 0 ]; then
	echo "== skipped:"
	{
		tap_lines '^ok [0-9]+ .*# SKIP ' | sed 's/ # SKIP /: /'
		grep -h '^stack test: SKIPPED' "$log/stack" 2>/dev/null
	} | sed 's/^/  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
