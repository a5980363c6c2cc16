#!/bin/sh
# Entrypoint of the dumpfs image, run by tini (PID 1, reaps and forwards
# signals).  "mount" (the default command) mounts the tree on
# $DUMPFS_MOUNTPOINT in the foreground, archiving the binlog too when
# [binlog] is on; "binlog" runs `dumpfs binlog -c $DUMPFS_CONFIG` in the
# foreground (a streamer without a mount), or idles when DUMPFS_BINLOG is
# off (a container that exited would be restarted by the restart policy,
# again and again); anything else is run as given, so
# `docker compose run --rm dumpfs dumpfs check` works.
#
# Environment: DUMPFS_CONFIG (default /etc/dumpfs/dumpfs.ini),
# DUMPFS_MOUNTPOINT (/mnt/dumpfs), DUMPFS_MOUNT_OPTIONS (allow_other: the
# host's offsite jobs and other containers read the propagated mount),
# DUMPFS_BINLOG (on; off, false, no or 0: no binlog archive, whatever
# [binlog] enabled says: DUMPFS_BINLOG_ENABLED=false for dumpfs).
set -eu

config=${DUMPFS_CONFIG:-/etc/dumpfs/dumpfs.ini}
mnt=${DUMPFS_MOUNTPOINT:-/mnt/dumpfs}
opts=${DUMPFS_MOUNT_OPTIONS-allow_other}

if [ $# -eq 0 ] || [ "$1" = mount ]; then
	[ $# -gt 0 ] && shift
	if ! [ -e /dev/fuse ]; then
		echo "dumpfs-entrypoint: /dev/fuse is missing: run the container with" \
			"--device /dev/fuse --cap-add SYS_ADMIN (see docker/compose.yml)" >&2
		exit 2
	fi
	# A mount point left by a killed daemon answers ENOTCONN to stat:
	# dumpfs detaches such a stale mount itself, so no test -d here.
	mkdir -p "$mnt" 2>/dev/null || true
	case ${DUMPFS_BINLOG:-on} in
	off | false | no | 0) export DUMPFS_BINLOG_ENABLED=false ;;
	esac
	set -- "$config" "$mnt" -f ${opts:+-o "$opts"} "$@"
	exec dumpfs "$@"
fi
if [ "$1" = binlog ]; then
	shift
	case ${DUMPFS_BINLOG:-on} in
	off | false | no | 0)
		echo "dumpfs-entrypoint: the binlog archive is off (DUMPFS_BINLOG=$DUMPFS_BINLOG):" \
			"idling; no point-in-time recovery past the newest backup" >&2
		exec sleep infinity
		;;
	esac
	exec dumpfs binlog -c "$config" "$@"
fi
exec "$@"
