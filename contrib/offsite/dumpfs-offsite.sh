#!/bin/sh
# dumpfs-offsite.sh [-s] DEST — copy dumpfs backups offsite, then verify.
#
#   DEST = /path            a local directory (NFS, USB disk, ...): rsync
#   DEST = host:/path       another host over ssh: rsync, sha256sum -c there
#   DEST = rclone:REMOTE:P  an rclone remote (S3, SFTP, ...): rclone copy,
#                           then every file is downloaded again and checked
#                           against its .sha256 sidecar
#   -s                      also copy a fresh snapshot (snapshot/now.sql.gz.gpg)
#
# Environment: DUMPFS_MOUNT (/mnt/dumpfs).  Exit 0 only when every copied
# file was verified.  Cron example (after the 02:00 backup):
#   30 3 * * * root /usr/local/lib/dumpfs/dumpfs-offsite.sh -s backup@vault:/srv/dumpfs
#
# Why these tools: archive/ files have their real sizes and mtimes, so
# rsync/rclone copy them like any file; the snapshot has st_size 0 (its
# size is unknown until the dump ends), and rsync or tar would copy NOTHING
# from it: it is copied with cp, which reads to the end of the stream (a
# dump that fails mid-stream makes cp fail: no truncated file is kept).
# Everything copied is encrypted; no private key is needed here.
set -eu

snapshot=0
if [ "${1:-}" = -s ]; then
	snapshot=1
	shift
fi
[ $# -eq 1 ] || {
	sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
dest=$1
mnt=${DUMPFS_MOUNT:-/mnt/dumpfs}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log() { echo "offsite: $*" >&2; }

# The source side first: the mount's own sidecars must match.
(cd "$mnt/archive" && sha256sum --quiet -c ./*.sha256) || {
	log "the archive on $mnt does not verify: not copying"
	exit 1
}

# A fresh snapshot into $work, with its own sidecar.
if [ $snapshot = 1 ]; then
	name=mariadb_snapshot_$(date +%Y-%m-%d_%H%M%S).sql.gz.gpg
	cp "$mnt/snapshot/now.sql.gz.gpg" "$work/$name"
	[ -s "$work/$name" ] || {
		log "empty snapshot"
		exit 1
	}
	(cd "$work" && sha256sum "$name" >"$name.sha256")
	log "snapshot $name ($(wc -c <"$work/$name") bytes)"
fi

case $dest in
rclone:*)
	remote=${dest#rclone:}
	rclone copy --skip-links "$mnt/archive" "$remote/archive"
	[ $snapshot = 1 ] && rclone copy "$work" "$remote/snapshots"
	# Read every file back from the remote and check it against its sidecar.
	for sidecar in "$mnt"/archive/*.sha256 "$work"/*.sha256; do
		[ -e "$sidecar" ] || continue
		case $sidecar in "$work"/*) sub=snapshots ;; *) sub=archive ;; esac
		file=$(basename "$sidecar" .sha256)
		mkdir -p "$work/check"
		rclone cat "$remote/$sub/$file" | sha256sum | sed "s|-\$|$file|" >"$work/check/got"
		cmp -s "$work/check/got" "$sidecar" || {
			log "$remote/$sub/$file does not match its sha256 sidecar"
			exit 1
		}
	done
	;;
*:*)
	host=${dest%%:*}
	path=${dest#*:}
	rsync -a --exclude latest.sql.gz.gpg "$mnt/archive/" "$host:$path/archive/"
	[ $snapshot = 1 ] && rsync -a "$work/" "$host:$path/snapshots/"
	# shellcheck disable=SC2029 # path expands here, on purpose
	ssh "$host" "cd '$path/archive' && sha256sum --quiet -c ./*.sha256 &&
		{ [ $snapshot = 0 ] || { cd '$path/snapshots' && sha256sum --quiet -c ./*.sha256; }; }"
	;;
*)
	mkdir -p "$dest/archive"
	rsync -a --exclude latest.sql.gz.gpg "$mnt/archive/" "$dest/archive/"
	(cd "$dest/archive" && sha256sum --quiet -c ./*.sha256)
	if [ $snapshot = 1 ]; then
		mkdir -p "$dest/snapshots"
		cp "$work"/mariadb_snapshot_* "$dest/snapshots/"
		(cd "$dest/snapshots" && sha256sum --quiet -c ./*.sha256)
	fi
	;;
esac
log "copied to $dest and verified"
