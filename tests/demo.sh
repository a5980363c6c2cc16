#!/usr/bin/env bash
# tests/demo.sh — `make demo`: a throwaway MariaDB with encryption at rest,
# a small sample database, a DEMO key pair, one `dumpfs dump`, a look inside
# it, then a mount of the filesystem (archive, snapshot, status).
#
# Everything lives in $DUMPFS_DEMO_DIR (default /tmp/dumpfs-demo).  At the
# end the server is stopped and its data deleted; the encrypted dumps, the
# config and the DEMO key stay there so you can decrypt by hand.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
demo=${DUMPFS_DEMO_DIR:-/tmp/dumpfs-demo}
bin=${DUMPFS_BIN:-$root/dumpfs}
python=/usr/bin/python3
[ -x "$python" ] || python=python3
export PYTHONPATH=$root/tests/integration
export PYTHONDONTWRITEBYTECODE=1

say() { printf '\n==> %s\n' "$*"; }
harness() { "$python" -m harness "$@"; }

mnt=$demo/mnt
mount_pid=

is_mounted() { grep -qs " $1 fuse" /proc/self/mounts; }

cleanup() {
	local rc=$?
	if [ -n "$mount_pid" ] || is_mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || true
		[ -z "$mount_pid" ] || wait "$mount_pid" 2>/dev/null || true
	fi
	harness demo-down "$demo" || true
	rm -rf "$demo/mariadb" "$mnt"
	if [ $rc -ne 0 ]; then
		echo "demo FAILED (exit $rc); what is left is in $demo" >&2
	fi
	exit $rc
}

[ -x "$bin" ] || { echo "$bin is missing: run make" >&2; exit 1; }

# A previous demo: stop whatever it left running, start afresh.
if [ -e "$demo" ]; then
	is_mounted "$mnt" && { fusermount3 -u "$mnt" || fusermount3 -u -z "$mnt"; }
	harness demo-down "$demo" || true
	rm -rf "$demo"
fi
trap cleanup EXIT

say "Starting a throwaway MariaDB (own datadir and socket; InnoDB tables, redo log,"
echo "    temporary files and binlog encrypted with file_key_management) and loading"
echo "    a sample database 'shop' ..."
harness demo-up "$demo"
# shellcheck disable=SC1091
. "$demo/env.sh"
cfg=$demo_config

cat <<EOF

    ************************************************************************
    *  DEMO KEY PAIR - throwaway, no passphrase, expires in one day.
    *  Never use it for real backups.  Its private key sits unprotected in
    *  $demo_gnupghome
    *  Fingerprint: $demo_fingerprint
    ************************************************************************
EOF

say "The config ($cfg):"
sed 's/^/    /' "$cfg"

out=$demo/demo.sql.gz.gpg
say "dumpfs dump -c $cfg -o $out"
"$bin" dump -c "$cfg" -o "$out"
ls -l "$out" | sed 's/^/    /'
printf '    first bytes: '
od -A n -t x1 -N 8 "$out"

say "Inside: gpg --decrypt | gunzip | head -n 25 (with the DEMO private key)"
set +o pipefail # head closes the pipe early
GNUPGHOME=$demo_gnupghome gpg --batch --quiet --decrypt "$out" | gunzip | head -n 25 | sed 's/^/    /'
printf '    ...\n    last line: '
GNUPGHOME=$demo_gnupghome gpg --batch --quiet --decrypt "$out" | gunzip | tail -n 1
set -o pipefail

cat <<EOF

==> To decrypt by hand (the DEMO private key is in $demo_gnupghome):
    GNUPGHOME=$demo_gnupghome gpg --decrypt $out | gunzip | less
    # restore into a server:
    GNUPGHOME=$demo_gnupghome gpg --decrypt $out | gunzip | \\
        mariadb --comments --max-allowed-packet=1G
EOF

# -- the filesystem ---------------------------------------------------------
demo_mount() {
	if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
		say "No /dev/fuse or fusermount3 here: skipping the mount part."
		return 0
	fi
	say "dumpfs backup -c $cfg   (one archive backup)"
	"$bin" backup -c "$cfg"

	say "Mounting: dumpfs $cfg $mnt -f   (log: $demo/mount.log)"
	mkdir -p "$mnt"
	"$bin" "$cfg" "$mnt" -f >"$demo/mount.log" 2>&1 &
	mount_pid=$!
	for _ in $(seq 100); do
		is_mounted "$mnt" && break
		kill -0 "$mount_pid" 2>/dev/null || { cat "$demo/mount.log"; return 1; }
		sleep 0.1
	done
	is_mounted "$mnt" || { echo "not mounted after 10s"; cat "$demo/mount.log"; return 1; }

	say "The tree (ls -lR $mnt):"
	ls -lR "$mnt" | sed 's/^/    /'
	say "cat $mnt/status/health"
	sed 's/^/    /' "$mnt/status/health"
	say "cp $mnt/snapshot/now.sql.gz.gpg $demo/snapshot.sql.gz.gpg   (a fresh dump, made while read)"
	cp "$mnt/snapshot/now.sql.gz.gpg" "$demo/snapshot.sql.gz.gpg"
	ls -l "$demo/snapshot.sql.gz.gpg" | sed 's/^/    /'
	printf '    its last line: '
	GNUPGHOME=$demo_gnupghome gpg --batch --quiet --decrypt "$demo/snapshot.sql.gz.gpg" | gunzip | tail -n 1

	say "Unmounting (fusermount3 -u $mnt)"
	fusermount3 -u "$mnt"
	wait "$mount_pid"
	mount_pid=
}
demo_mount

say "Stopping the server and deleting its data."
trap - EXIT
harness demo-down "$demo"
rm -rf "$demo/mariadb" "$mnt"

say "Done. Left in $demo:"
(cd "$demo" && ls -1 | sed 's/^/    /')
echo "    (the encrypted dumps, the config, the DEMO key in key/, the archive)"
echo "    Remove everything with: rm -rf $demo"
