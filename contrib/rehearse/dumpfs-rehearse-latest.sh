#!/bin/sh
# Rehearses the newest backup of a directory: the DPO's offsite copy, or a
# mount's archive/.  For a monthly timer or cron job on the DPO's
# workstation (where the private key is); see contrib/README.md.
#
#   dumpfs-rehearse-latest.sh DIR [REPORT_DIR]
#
# Picks DIR/latest.sql.gz.gpg when it is there, else the newest
# <prefix>_YYYY-MM-DD_HHMMSS.sql.gz.gpg by name (the names sort by date);
# checks its .sha256 sidecar when there is one; runs `dumpfs rehearse
# --json` (config from $DUMPFS_CONFIG, for [notify] and [log] only: a
# failed rehearsal is alerted there) and keeps the JSON report as
# REPORT_DIR/rehearse-<file>.json (default: $XDG_STATE_HOME/dumpfs, else
# ~/.local/state/dumpfs).  Exit: dumpfs's (0 all equal, 1 mismatch or
# failure, 2 usage), 1 when the sidecar does not match, 2 when DIR holds
# no backup.  DUMPFS overrides the dumpfs binary.
set -eu

die() {
	echo "dumpfs-rehearse-latest: $2" >&2
	exit "$1"
}

[ $# -ge 1 ] && [ $# -le 2 ] || die 2 "usage: dumpfs-rehearse-latest.sh DIR [REPORT_DIR]"
dir=$1
report_dir=${2:-${XDG_STATE_HOME:-$HOME/.local/state}/dumpfs}
dumpfs=${DUMPFS:-dumpfs}
[ -d "$dir" ] || die 2 "'$dir' is not a directory"

if [ -e "$dir/latest.sql.gz.gpg" ]; then
	file=$(readlink -f -- "$dir/latest.sql.gz.gpg")
else
	# Names carry no newline (dumpfs makes them); the newest sorts last.
	newest=$(find "$dir" -maxdepth 1 -type f -name '*_????-??-??_??????.sql.gz.gpg' \
		-printf '%f\n' | LC_ALL=C sort | tail -n 1)
	[ -n "$newest" ] || die 2 "no backup (*_YYYY-MM-DD_HHMMSS.sql.gz.gpg) in '$dir'"
	file=$dir/$newest
fi

if [ -e "$file.sha256" ]; then
	(cd "$(dirname -- "$file")" && sha256sum --quiet -c -- "$(basename -- "$file").sha256") ||
		die 1 "$file does not match its sidecar: not rehearsed"
fi

mkdir -p -- "$report_dir"
report=$report_dir/rehearse-$(basename -- "$file" .sql.gz.gpg).json
tmp=$report.tmp.$$
trap 'rm -f -- "$tmp"' EXIT
rc=0
"$dumpfs" rehearse --json -- "$file" >"$tmp" || rc=$?
mv -f -- "$tmp" "$report"
trap - EXIT
if [ "$rc" -eq 0 ]; then
	echo "rehearsal of $file: OK (report: $report)"
else
	echo "rehearsal of $file: FAILED, exit $rc (report: $report)" >&2
fi
exit "$rc"
