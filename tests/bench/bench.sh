#!/bin/bash
# `make bench`: times, in interleaved rounds, `mariadb-dump > /dev/null`
# (the floor), `dumpfs dump -o`, `mariadb-dump | pigz | gpg`,
# `mariadb-dump | gzip | gpg`, `dumpfs dump --plain` and `cp` of the
# snapshot through the FUSE mount (wall, client and server CPU, output size,
# peak RSS) on a private MariaDB (InnoDB encryption on) with a generated
# dataset, then the mount's time to first byte and archive reads.
#
#   BENCH_SIZE=1G  BENCH_DIR=/var/tmp/dumpfs-bench  BENCH_ROUNDS=3
#   BENCH_COMPARE=1 (256M and 1G, compares peak RSS)  BENCH_MOUNT=0 (skip)
#   BENCH_BOOST=-10 (own autogroup at that nice: near-quiet figures on a
#   machine busy with other sessions, at their expense)
#   BENCH_DISK_MBPS=500 (the disk-bound archive read's bandwidth limit)
#   BENCH_RESTORE=0 (skip the restore part: dumpfs restore --jobs 1/2 vs
#   gpg -d | gunzip | mariadb into a second private server)
#   BENCH_BINLOG=0 (skip the binlog archive part: dumpfs binlog under a
#   20 MB/s write load while a backup runs, and its recovery point)
#   DUMPFS=./dumpfs
#
# The dataset is built once per size and cached in BENCH_DIR.  Everything
# else (server runtime files, key pair, outputs, the mount) lives in
# temporary directories removed on exit, whatever the exit.  Exits 0 when
# targets are missed: the summary says PASS/FAIL per target.
set -u
cd "$(dirname "$0")/../.." || exit 1

: "${BENCH_DIR:=/var/tmp/dumpfs-bench}"
export BENCH_DIR

missing=
for tool in mariadbd mariadb-install-db mariadb-dump mariadb mariadb-admin \
	gzip pigz gpg gpgconf fusermount3 python3; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "bench: missing:$missing (run 'make bench' as root, or: apt-get" \
		"install mariadb-server mariadb-client pigz gnupg fuse3 python3)" >&2
	exit 2
fi

mkdir -p "$BENCH_DIR" || exit 1
# Short path for the server socket and the gpg agent socket.
RUN_DIR=$(mktemp -d /tmp/dfbench.XXXXXX) || exit 1
OUT_DIR=$(mktemp -d "$BENCH_DIR/out.XXXXXX") || exit 1
PY_PID=

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
		kill -TERM "$PY_PID" 2>/dev/null
		wait "$PY_PID" 2>/dev/null
	fi
	# What an interrupted run left: mounts, then its own processes only.
	for m in "$RUN_DIR"/*/mnt; do
		[ -d "$m" ] && mountpoint -q "$m" && fusermount3 -u -z "$m"
	done
	if [ -f "$RUN_DIR/pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		done <"$RUN_DIR/pids"
	fi
	[ -d "$RUN_DIR/gnupg" ] &&
		gpgconf --homedir "$RUN_DIR/gnupg" --kill all 2>/dev/null
	rm -rf "$RUN_DIR" "$OUT_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 tests/bench/bench.py --run-dir "$RUN_DIR" --out-dir "$OUT_DIR" &
PY_PID=$!
wait "$PY_PID"
rc=$?
PY_PID=
exit "$rc"
