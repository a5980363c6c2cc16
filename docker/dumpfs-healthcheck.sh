#!/bin/sh
# HEALTHCHECK of the dumpfs container.
#
# Healthy only when `dumpfs check` says OK (exit 0) AND the mount answers:
# `dumpfs check` reads the archive dir directly, so it alone would report a
# dead FUSE daemon as healthy.  Docker/podman treat any non-zero exit as a
# failed probe; 1 is the documented "unhealthy", so every failure maps to 1
# (check's own code, 1 CRITICAL / 2 NONE / 3 unknown, is in the message).
mnt=${DUMPFS_MOUNTPOINT:-/mnt/dumpfs}

line=$(dumpfs check 2>&1)
rc=$?
echo "$line"
if [ $rc -ne 0 ]; then
	echo "dumpfs check exited $rc" >&2
	exit 1
fi
if ! IFS= read -r mounted <"$mnt/status/health"; then
	echo "the mount $mnt does not answer (is the FUSE daemon alive?)" >&2
	exit 1
fi
case $mounted in
OK*) exit 0 ;;
*)
	echo "mount says: $mounted" >&2
	exit 1
	;;
esac
