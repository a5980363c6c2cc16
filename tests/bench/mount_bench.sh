#!/bin/bash
# The mount's figures, against an existing config (server, key, archive):
#   - time to first byte of snapshot/now.sql.gz.gpg;
#   - snapshot throughput: `cp MOUNT/snapshot/now.sql.gz.gpg` against
#     `dumpfs dump -o FILE` (target: the mount within 10%);
#   - archive read throughput: the newest archive file through the mount
#     against reading it directly (target: at least 80%), cold (page cache
#     dropped, root only) and warm.
#
#   BENCH_CONFIG=dumpfs.ini   required
#   BENCH_MOUNTPOINT=DIR      mounted here unless already mounted
#   BENCH_OUT=DIR             where outputs go (default: a temporary dir)
#   BENCH_ROUNDS=3  DUMPFS=./dumpfs
#
# Makes one `dumpfs backup` when the archive has none.  Prints one
# "mount_bench: <metric> <value>" line per figure and PASS/FAIL per
# target; exits 0 unless it could not measure.
set -u
cd "$(dirname "$0")/../.." || exit 2

: "${BENCH_CONFIG:?set BENCH_CONFIG to a dumpfs config}"
: "${BENCH_ROUNDS:=3}"
: "${DUMPFS:=./dumpfs}"
CONFIG=$(realpath "$BENCH_CONFIG") || exit 2
OUT=${BENCH_OUT:-$(mktemp -d /tmp/mount_bench.XXXXXX)} || exit 2
MNT=${BENCH_MOUNTPOINT:-$OUT/mnt}
DAEMON=

say() { echo "mount_bench: $*"; }
die() { echo "mount_bench: $*" >&2; exit 2; }
now() { date +%s.%N; }
# seconds between two `now` values
elapsed() { echo "$2 - $1" | bc -l; }
# MB/s for $1 bytes in $2 seconds
rate() { echo "scale=1; $1 / 1000000 / $2" | bc -l; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
drop_caches() {
	sync
	[ "$(id -u)" = 0 ] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
}

cleanup() {
	if [ -n "$DAEMON" ]; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT"
		wait "$DAEMON" 2>/dev/null
	fi
	[ -z "${BENCH_OUT:-}" ] && rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

archive_dir=$(awk -F= '/^\[/{s=$0} s=="[archive]" && $1~/^ *dir *$/ {
	gsub(/^ +| +$/, "", $2); print $2 }' "$CONFIG")
[ -d "$archive_dir" ] || die "no archive dir in $CONFIG"
newest() { ls -1 "$archive_dir" | grep -E '_[0-9-]{10}_[0-9]{6}\.sql\.gz\.gpg$' | sort | tail -1; }
if [ -z "$(newest)" ]; then
	"$DUMPFS" backup -c "$CONFIG" 2>"$OUT/backup.log" ||
		die "dumpfs backup failed: $(tail -3 "$OUT/backup.log")"
fi

mkdir -p "$MNT"
if ! mountpoint -q "$MNT"; then
	"$DUMPFS" "$CONFIG" "$MNT" -f 2>"$OUT/mount.log" &
	DAEMON=$!
	for _ in $(seq 1 100); do
		[ -e "$MNT/snapshot/now.sql.gz.gpg" ] && break
		kill -0 "$DAEMON" 2>/dev/null || die "dumpfs exited: $(tail -3 "$OUT/mount.log")"
		sleep 0.1
	done
	[ -e "$MNT/snapshot/now.sql.gz.gpg" ] || die "not mounted: $(tail -3 "$OUT/mount.log")"
fi
SNAP=$MNT/snapshot/now.sql.gz.gpg

# Time to first byte: open + first read, a fresh dump each time.
ttfb=()
for _ in $(seq 1 "$BENCH_ROUNDS"); do
	t0=$(now)
	head -c 1 "$SNAP" >/dev/null || die "cannot read $SNAP"
	ttfb+=("$(elapsed "$t0" "$(now)")")
	sleep 1 # the aborted dump winds down
done
say "snapshot_ttfb_seconds $(printf '%s\n' "${ttfb[@]}" | median)"

# Snapshot throughput, alternating so both see the same server state.
m_rates=() f_rates=()
for _ in $(seq 1 "$BENCH_ROUNDS"); do
	t0=$(now)
	cp "$SNAP" "$OUT/mount.gpg" || die "cp from the mount failed"
	t=$(elapsed "$t0" "$(now)")
	m_rates+=("$(rate "$(stat -c %s "$OUT/mount.gpg")" "$t")")
	t0=$(now)
	"$DUMPFS" dump -c "$CONFIG" -o "$OUT/file.gpg" 2>/dev/null || die "dumpfs dump failed"
	t=$(elapsed "$t0" "$(now)")
	f_rates+=("$(rate "$(stat -c %s "$OUT/file.gpg")" "$t")")
	rm -f "$OUT/mount.gpg" "$OUT/file.gpg"
done
m=$(printf '%s\n' "${m_rates[@]}" | median)
f=$(printf '%s\n' "${f_rates[@]}" | median)
say "snapshot_mount_mb_per_s $m"
say "snapshot_dump_file_mb_per_s $f"
if [ "$(echo "$m * 1.10 >= $f" | bc -l)" = 1 ]; then v=PASS; else v=FAIL; fi
say "snapshot_target_within_10pct $v"

# Archive reads: the same file, through the mount and directly.
name=$(newest)
size=$(stat -c %s "$archive_dir/$name")
read_rate() { # path cold -> MB/s
	[ "$2" = cold ] && drop_caches
	local t0 t
	t0=$(now)
	dd if="$1" of=/dev/null bs=1M status=none || die "cannot read $1"
	t=$(elapsed "$t0" "$(now)")
	rate "$size" "$t"
}
cold=warm
[ "$(id -u)" = 0 ] && cold=cold
for mode in "$cold" warm; do
	d=() v=()
	for _ in $(seq 1 "$BENCH_ROUNDS"); do
		d+=("$(read_rate "$archive_dir/$name" "$mode")")
		v+=("$(read_rate "$MNT/archive/$name" "$mode")")
	done
	dm=$(printf '%s\n' "${d[@]}" | median)
	vm=$(printf '%s\n' "${v[@]}" | median)
	say "archive_${mode}_direct_mb_per_s $dm"
	say "archive_${mode}_mount_mb_per_s $vm"
	if [ "$(echo "$vm >= 0.8 * $dm" | bc -l)" = 1 ]; then r=PASS; else r=FAIL; fi
	say "archive_${mode}_target_80pct $r"
done
say "archive_file_bytes $size"
