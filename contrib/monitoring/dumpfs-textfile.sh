#!/bin/sh
# dumpfs-textfile.sh [MOUNTPOINT] [TEXTFILE_DIR] — publishes dumpfs's
# status/metrics.prom to Prometheus's node_exporter textfile collector.
#
# Run it every minute (cron or a systemd timer), e.g. /etc/cron.d/dumpfs:
#   * * * * * root /usr/local/lib/dumpfs/dumpfs-textfile.sh /mnt/dumpfs /var/lib/prometheus/node-exporter
# with node_exporter started as
#   --collector.textfile.directory=/var/lib/prometheus/node-exporter
# (Debian's prometheus-node-exporter package reads that directory already).
#
# The file is replaced atomically (node_exporter never sees half of it).
# When the mount does not answer, the file says dumpfs_up 0 so the alert
# rules in dumpfs.rules.yml fire instead of Prometheus keeping stale values.
set -eu
mnt=${1:-/mnt/dumpfs}
dir=${2:-/var/lib/prometheus/node-exporter}
out=$dir/dumpfs.prom
tmp=$(mktemp "$dir/.dumpfs.prom.XXXXXX")
trap 'rm -f "$tmp"' EXIT

if ! cat "$mnt/status/metrics.prom" >"$tmp" 2>/dev/null; then
	cat >"$tmp" <<EOF
# HELP dumpfs_up 1 when the archive directory could be read.
# TYPE dumpfs_up gauge
dumpfs_up 0
EOF
fi
chmod 0644 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
