#!/usr/bin/env bash
# tests/unit/selftest/check.sh BUILD/runner-selftest: runs the unit runner
# on tests that pass, fail, skip, crash, hang, leak and exit (selftest.c)
# and checks its output.  Prints TAP; exit status 1 on a mismatch.
set -uo pipefail
bin=${1:?usage: check.sh BUILD/runner-selftest}
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
n=0 bad=0

# result OK DESCRIPTION: one TAP line.
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"
		bad=$((bad + 1))
	fi
}
# expect DESCRIPTION REGEX: a line of the output matches.
expect() {
	grep -qE "$2" "$out"
	result $? "$1"
}

# A leak fails only where LeakSanitizer runs (ASan builds).
leaks=0
syms=$({ nm "$bin" && ldd "$bin"; } 2>/dev/null)
if grep -qE ' __lsan_do_leak_check$|lib[al]san\.so' <<<"$syms" &&
	! grep -q 'detect_leaks=0' <<<"${ASAN_OPTIONS:-}"; then
	leaks=1
fi

echo "1..15"
UNIT_TIMEOUT=2 "$bin" >"$out" 2>/dev/null
[ $? -eq 1 ]
result $? "exit status 1 when a test failed"
[ "$(head -n 1 "$out")" = "1..11" ]
result $? "the plan comes first"
expect "a pass" '^ok 1 - self_pass$'
expect "a failed check" '^not ok 2 - self_fail$'
expect "a skip says why" '^ok 3 - self_skip # SKIP no frobnicator here$'
expect "a crash names its signal" '^not ok 4 - self_crash # killed by signal 6 \(SIGABRT\)$'
expect "a hang is killed" '^not ok 5 - self_hang # timeout: killed after 2 s'
if [ "$leaks" = 1 ]; then
	expect "a leak fails" '^not ok 6 - self_leak # exit status [0-9]+ after the test'
	totals='^5 passed, 5 failed, 1 skipped$'
else
	result 0 "a leak fails # SKIP not built with LeakSanitizer"
	totals='^6 passed, 4 failed, 1 skipped$'
fi
expect "exit() in a test fails" '^not ok 7 - self_exit # exit status 0 before the test returned$'
expect "a test's process state dies with it" '^ok 9 - self_state_clean$'
expect "a fixture is made once in the runner" '^ok 10 - self_fixture_once_a$'
expect "... and inherited by later tests" '^ok 11 - self_fixture_once_b$'
expect "the totals come last" "$totals"

UNIT_TIMEOUT=2 "$bin" no-such-test >"$out" 2>/dev/null
[ $? -ne 0 ] && [ "$(cat "$out")" = $'1..1\nnot ok 1 - no test matches \'no-such-test\'\n0 passed, 1 failed, 0 skipped' ]
result $? "an empty selection fails"
"$bin" self_pass >"$out" 2>/dev/null
[ $? -eq 0 ] && [ "$(cat "$out")" = $'1..1\nok 1 - self_pass\n1 passed, 0 failed, 0 skipped' ]
result $? "a filter selects"
[ "$bad" -eq 0 ]
