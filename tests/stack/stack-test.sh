#!/usr/bin/env bash
# tests/stack/stack-test.sh (make stack-test) — runs the compose stack for
# real with podman and checks what docs/deployment.md promises:
#
#   base image from debootstrap, both images built through the Dockerfiles,
#   `make secrets/build/up/backup/monitor/restore/down`, health by polling
#   (podman runs no healthcheck timers without systemd), data written through
#   the mariadb service, status and the snapshot read from the HOST through
#   the propagated (rshared) FUSE mount, the snapshot decrypted with the demo
#   key and restored into a throwaway host-side mariadbd, row checksums
#   compared; encryption at rest (.ibd, redo log, binlog); the binlog
#   service archiving encrypted segments and `dumpfs restore --until`
#   (point in time, into the throwaway server and through `make restore`);
#   the network (no route out, host listeners unreachable); the containers'
#   hardening.
#
# Needs root (podman, FUSE, mounts, iptables).  Installs what is missing
# from Debian's packages.  Everything it starts is torn down on exit, even
# on failure; images are kept as a build cache (STACK_TEST_RMI=1 removes
# them), the debootstrap root fs is cached in /var/tmp/dumpfs-stack-cache.
# Ends with "N passed, N failed"; exit 0 only when nothing failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
t0=$(date +%s)
passed=0
failed=0
failed_names=()
skipped_names=()
W=
step_log=

say() { printf '[%4ds] %s\n' $(($(date +%s) - t0)) "$*"; }
pass() {
	passed=$((passed + 1))
	say "PASS  $1"
}
fail() {
	failed=$((failed + 1))
	failed_names+=("$1")
	say "FAIL  $1${2:+ ($2)}"
	if [ -n "$step_log" ] && [ -s "$step_log" ]; then
		tail -n 15 "$step_log" | sed 's/^/        | /'
	fi
}
# skip NAME REASON: a check that cannot run yet (neither passed nor failed).
skip() {
	skipped_names+=("$1")
	say "SKIP  $1 ($2)"
}
# check NAME CMD...: CMD's output goes to the step log (shown on failure).
# In a subshell: a function's redirection would otherwise still hold the
# shell's stdout when a signal's trap runs teardown (its summary lost).
check() {
	local name=$1
	shift
	: >"$step_log"
	if ("$@") >"$step_log" 2>&1; then pass "$name"; else fail "$name" "exit $?"; fi
}
# expect NAME CONDITION-TEXT: a check whose command already ran.
expect() {
	if [ "$2" = 0 ]; then pass "$1"; else fail "$1" "${3:-}"; fi
}
summary() {
	say "stack test: $((passed + failed)) checks in $(($(date +%s) - t0)) s"
	# Repeated here so that the tail of a long log names what failed.
	local n
	for n in "${skipped_names[@]}"; do say "skipped: $n"; done
	for n in "${failed_names[@]}"; do say "FAILED: $n"; done
	echo "$passed passed, $failed failed"
}
abort() {
	fail "$1" "${2:-}"
	say "cannot go on after this failure"
	exit 1 # the EXIT trap tears down and prints the summary
}

[ "$(id -u)" = 0 ] || {
	echo "stack-test: needs root (podman, FUSE, mounts)" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# --- packages --------------------------------------------------------------
need=()
# netavark + aardvark-dns: dumpfs reaches "mariadb" by name on the
# internal dbnet.  podman 4.3 does not depend on them, and with its CNI
# backend internal networks get no DNS at all; containers.conf below picks
# netavark.
for p in podman podman-compose netavark aardvark-dns runc \
	debootstrap fuse3 mariadb-server mariadb-client \
	gnupg iptables python3 iproute2 rsync prometheus; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing: ${need[*]}"
	apt-get update -q >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${need[@]}" >/dev/null || {
		echo "stack-test: apt-get install failed" >&2
		echo "0 passed, 1 failed"
		exit 1
	}
fi

# --- environment -----------------------------------------------------------
W=$(mktemp -d /tmp/dfstack.XXXXXX)
step_log=$W/step.log
export DUMPFS_PROJECT=dfstack
export COMPOSE=${STACK_TEST_COMPOSE:-podman-compose}
export DUMPFS_SECRETS=$W/secrets DUMPFS_BACKUPS=$W/backups DUMPFS_MOUNT_DIR=$W/mnt
export BASE_IMAGE=localhost/dumpfs-base:bookworm
export DUMPFS_IMAGE=localhost/dumpfs:stack-test
export MARIADB_IMAGE=localhost/dumpfs-mariadb:stack-test
export DUMPFS_RESTORE_IMAGE=localhost/dumpfs-restore:stack-test
export BUILDAH_FORMAT=docker
# Not UTC, to see that TZ reaches both containers (schedules and archive
# names are in local time).
export TZ=Europe/Paris
# podman on these machines: runc, ulimits within the hard limits (runc
# cannot raise them), cgroupfs and file events without systemd.
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
[ "$nofile" = unlimited ] && nofile=1048576
cat >"$W/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
EOF
export CONTAINERS_CONF=$W/containers.conf
# A machine whose podman ran with the CNI backend before keeps its bridge
# cni-podman0 on 10.88.0.0/16, netavark's default subnet too: its route
# then swallows the replies to the build containers (apt-get cannot
# resolve the mirror).  Drop it only when down, i.e. no CNI container uses it.
if ip -br link show cni-podman0 2>/dev/null | grep -qw DOWN; then
	say "removing the unused CNI bridge cni-podman0 (it shadows netavark's subnet)"
	ip link delete cni-podman0
fi

# Containers inside a container (a CI job's own container, say) need more
# than such a job usually gets.  Probe with the smallest container there
# is: a root fs holding one static binary (glibc's ldconfig).  If even that
# cannot start, nothing of the stack can: the test is skipped, exit 77,
# which tests/run.sh counts as skipped with the reason printed here.
probe_root=$W/probe-root
mkdir -p "$probe_root" && cp /sbin/ldconfig "$probe_root/probe"
if ! probe_out=$(podman run --rm --network none --rootfs "$probe_root" /probe --version 2>&1); then
	say "SKIPPED: containers cannot run here (nested in a container without" \
		"the privileges podman needs): $(printf '%s' "$probe_out" | tail -n 1)"
	rm -rf "$W"
	exit 77 # before the EXIT trap: nothing was started
fi
DB=${DUMPFS_PROJECT}_mariadb_1
FS=${DUMPFS_PROJECT}_dumpfs_1
MARKER="dumpfs-stack-marker-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')"
tdb_pid=
listener_pid=
bg_pid=
watchdog_pid=

stack() { "$root/docker/stack.sh" "$@"; }
mk() { make -s -C "$root" "$@"; }

teardown() {
	local rc=$?
	trap - EXIT INT TERM
	say "teardown"
	if [ $failed -gt 0 ] && podman container exists "$FS" 2>/dev/null; then
		say "dumpfs container log (last lines):"
		podman logs --tail 20 "$FS" 2>&1 | sed 's/^/        | /'
		say "mariadb container log (last lines):"
		podman logs --tail 20 "$DB" 2>&1 | sed 's/^/        | /'
	fi
	[ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null
	[ -n "$watchdog_pid" ] && pkill -P "$watchdog_pid" 2>/dev/null && kill "$watchdog_pid" 2>/dev/null
	[ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null
	if [ -n "$tdb_pid" ]; then
		kill "$tdb_pid" 2>/dev/null
		wait "$tdb_pid" 2>/dev/null
	fi
	stack down -v -t 10 >/dev/null 2>&1
	podman rm -f "$FS" "$DB" >/dev/null 2>&1
	podman volume rm -f "${DUMPFS_PROJECT}_mariadb_data" >/dev/null 2>&1
	podman network rm -f "${DUMPFS_PROJECT}_dbnet" >/dev/null 2>&1
	stack unisolate >/dev/null 2>&1
	if [ -n "$W" ]; then
		while mountpoint -q "$W/mnt" 2>/dev/null; do umount -l "$W/mnt" || break; done
		rm -rf "$W"
	fi
	if [ "${STACK_TEST_RMI:-0}" = 1 ]; then
		podman rmi -f "$DUMPFS_IMAGE" "$MARIADB_IMAGE" "$DUMPFS_RESTORE_IMAGE" >/dev/null 2>&1
	fi
	summary
	[ $failed -eq 0 ] && [ $rc -eq 0 ] && exit 0
	exit 1
}
trap teardown EXIT
trap 'exit 1' INT TERM
# A hung step (a FUSE read, a build) must not hold CI: stop after
# STACK_TEST_TIMEOUT seconds (default 25 min; a cold run takes ~12).
(sleep "${STACK_TEST_TIMEOUT:-1500}" && say "TIMEOUT: stopping the stack test" &&
	pkill -TERM -P $$ && kill -TERM $$) 2>/dev/null &
watchdog_pid=$!

# Leftovers of a killed run use the same fixed project name.
stack down -v -t 5 >/dev/null 2>&1
podman rm -f "$FS" "$DB" >/dev/null 2>&1
podman volume rm -f "${DUMPFS_PROJECT}_mariadb_data" >/dev/null 2>&1
stack unisolate >/dev/null 2>&1

# The stack's dumpfs.ini, but 5-second binlog segments (300 there): the
# point-in-time test waits for the segment holding its last row.  The
# mount and the restores read this copy (DUMPFS_INI).
export DUMPFS_INI=$W/dumpfs.ini
sed 's/^segment_seconds = 300 /segment_seconds = 5   /' "$root/docker/dumpfs.ini" >"$DUMPFS_INI"
grep -q '^enabled = true' "$DUMPFS_INI" && grep -q '^segment_seconds = 5 ' "$DUMPFS_INI" ||
	abort "docker/dumpfs.ini has [binlog] enabled = true, segment_seconds = 300"

# SQL as root in the mariadb container (password from the secret, via a
# pipe: never on a command line).
db_root() {
	podman exec -i "$DB" bash -c 'exec mariadb --defaults-extra-file=<(printf "[client]\nuser=root\npassword=\"%s\"\n" "$(cat /run/secrets/mariadb_root_password)") -N -B "$@"' sql "$@"
}
# The application's own account, as an application writes data.
# shellcheck disable=SC2120 # options may be passed, none are today
db_app() {
	podman exec -i "$DB" bash -c 'exec mariadb --defaults-extra-file=<(printf "[client]\nuser=app\npassword=\"%s\"\n" "$(cat /run/secrets/mariadb_app_password)") -N -B app "$@"' sql "$@"
}
tdb() { mariadb --no-defaults -S "$W/tdb/sock" -uroot -N -B "$@"; }
# The server's binlog from file $1 to the last, as the server sends it to
# a replica (decrypted), rows decoded: mariadb-binlog as root.
db_binlog() {
	podman exec -i "$DB" bash -c 'exec mariadb-binlog --defaults-extra-file=<(printf "[client]\nuser=root\npassword=\"%s\"\n" "$(cat /run/secrets/mariadb_root_password)") --read-from-remote-server --host=127.0.0.1 --protocol=tcp --to-last-log --base64-output=decode-rows --verbose "$1"' sql "$@"
}

# The table fingerprints compared after each restore.
FINGERPRINT_SQL="SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, payload, n))) FROM app.stack_marker;
SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, note))) FROM app.plain_control;
CHECKSUM TABLE app.stack_marker, app.plain_control EXTENDED;
SELECT COUNT(*) FROM app.v_marker;
SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='app';
SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='app';"

# --- 1. images -------------------------------------------------------------
say "base image (debootstrap --variant=minbase, podman import; cached)"
check "base image $BASE_IMAGE" "$root/tests/stack/base-image.sh" "$BASE_IMAGE"
podman image exists "$BASE_IMAGE" || abort "base image exists"

# The throwaway host-side server is prepared while the images build.
(
	mkdir -p "$W/tdb/tmp"
	mariadb-install-db --no-defaults --user=root --datadir="$W/tdb/data" \
		--auth-root-authentication-method=normal --skip-test-db >"$W/tdb/install.log" 2>&1
) &
bg_pid=$!

check "make secrets DEMO_KEY=1" mk secrets DEMO_KEY=1
keys_sum=$(sha256sum "$W/secrets/mariadb_innodb_keys" 2>/dev/null)
mk secrets DEMO_KEY=1 >"$step_log" 2>&1
[ "$(sha256sum "$W/secrets/mariadb_innodb_keys" 2>/dev/null)" = "$keys_sum" ] &&
	grep -q "0 file(s) created" "$step_log"
expect "make secrets never overwrites existing secrets" $?
perm=$(stat -c %a "$W/secrets")
[ "$perm" = 700 ] && [ "$(wc -l <"$W/secrets/mariadb_innodb_keys")" = 2 ] &&
	grep -Eq '^2;[0-9a-f]{64}$' "$W/secrets/mariadb_innodb_keys"
expect "secrets dir 0700, two 256-bit InnoDB keys" $? "mode $perm"

# Both images build at once, and the dumpfs image's build and runtime
# stages too (--jobs 2): package installs wait on I/O more than on the two
# cores.  Then `make build` finds every layer cached and checks the
# compose build.
say "building both images in parallel, then make build"
podman build -q -f "$root/docker/mariadb/Dockerfile" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
	-t "$MARIADB_IMAGE" "$root" >"$W/mariadb-build.log" 2>&1 &
p1=$!
podman build -q --jobs 2 -f "$root/docker/Dockerfile" --target runtime --build-arg "BASE_IMAGE=$BASE_IMAGE" \
	-t "$DUMPFS_IMAGE" "$root" >"$W/dumpfs-build.log" 2>&1 &
p2=$!
wait $p1
expect "mariadb image builds (docker/mariadb/Dockerfile FROM the debootstrap base)" $? \
	"$(tail -5 "$W/mariadb-build.log")"
wait $p2
expect "dumpfs image builds (docker/Dockerfile, multi-stage)" $? "$(tail -5 "$W/dumpfs-build.log")"
check "make build (compose build, cached layers)" mk build
podman image exists "$DUMPFS_IMAGE" && podman image exists "$MARIADB_IMAGE" ||
	abort "images built"
hc=$(podman image inspect "$DUMPFS_IMAGE" --format '{{json .Config.Healthcheck}}' 2>/dev/null)
case $hc in *dumpfs-healthcheck*) r=0 ;; *) r=1 ;; esac
expect "dumpfs image has a HEALTHCHECK" $r "$hc"

# The restore image builds in the background while the stack starts.
wait "$bg_pid"
bg_pid=
(podman build -q --target restore -t "$DUMPFS_RESTORE_IMAGE" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
	-f "$root/docker/Dockerfile" "$root" >"$W/restore-build.log" 2>&1) &
bg_pid=$!

# --- 2. up, health ---------------------------------------------------------
check "make up" mk up
[ "$(podman inspect -f '{{.State.Running}}' "$DB" 2>/dev/null)" = true ] &&
	[ "$(podman inspect -f '{{.State.Running}}' "$FS" 2>/dev/null)" = true ] &&
	! podman container exists "${DUMPFS_PROJECT}_binlog_1"
expect "the two containers running (mariadb, dumpfs: the mount streams the binlog itself)" $? || true
[ "$(podman inspect -f '{{.State.Running}}' "$FS" 2>/dev/null)" = true ] || abort "dumpfs container runs"

say "polling mariadb health (podman healthcheck run)"
ok=1
for _ in $(seq 90); do
	if podman healthcheck run "$DB" >/dev/null 2>&1; then
		ok=0
		break
	fi
	sleep 2
done
expect "mariadb healthy (healthcheck.sh --connect --innodb_initialized)" $ok
[ $ok = 0 ] || abort "mariadb healthy"
vars=$(db_root -e "SELECT @@log_bin, @@binlog_format, @@encrypt_binlog, @@server_id" 2>&1)
[ "$vars" = $'1\tROW\t1\t1' ]
expect "mariadb: log_bin on, binlog_format ROW, encrypt_binlog ON, server_id 1" $? "$vars"

# The stream must be up before the backup: without a position file it
# starts at the server's current position, and only backups taken from
# then on can be rolled forward.  podman-compose ignores depends_on:
# condition, so it started with MariaDB and retries (5 s, 10, 20, ...).
say "waiting for the mount's binlog stream (binlog_stream_open)"
ok=1
for _ in $(seq 75); do
	if grep -q 'binlog_stream_open' <<<"$(podman logs "$FS" 2>&1)"; then
		ok=0
		break
	fi
	sleep 2
done
expect "the mount reads the binlog as backup_ro (REPLICATION SLAVE)" $ok \
	"$(podman logs --tail 3 "$FS" 2>&1 | tr '\n' ' ')"

ok=1
for _ in $(seq 60); do
	if findmnt -n -t fuse.dumpfs "$W/mnt" >/dev/null 2>&1; then
		ok=0
		break
	fi
	sleep 1
done
expect "FUSE mount propagated to the host (rshared) at DUMPFS_MOUNT_DIR" $ok
[ $ok = 0 ] || abort "mount visible on the host"

out=$(cat "$W/mnt/status/health" 2>&1)
case $out in NONE*) r=0 ;; *) r=1 ;; esac
expect "host reads status/health through the mount: NONE before any backup" $r "$out"
out=$(stack monitor 2>&1)
r=$?
[ $r = 2 ] && case $out in NONE*) true ;; *) false ;; esac
expect "docker/stack.sh monitor passes dumpfs check's exit 2 (NONE) through" $? "exit $r: $out"
mk monitor >/dev/null 2>&1
r=$?
[ $r != 0 ]
expect "make monitor fails while there is no backup" $? "exit $r"
podman healthcheck run "$FS" >/dev/null 2>&1
r=$?
[ $r != 0 ]
expect "dumpfs container unhealthy before the first backup" $? "exit $r"

# --- 3. data through the mariadb service -----------------------------------
say "writing data through the mariadb service (marker $MARKER)"
db_app >"$step_log" 2>&1 <<EOF
CREATE TABLE stack_marker (id INT PRIMARY KEY, payload VARCHAR(200), n BIGINT) ENGINE=InnoDB;
INSERT INTO stack_marker
  SELECT seq, CONCAT('$MARKER ', seq, ' ', REPEAT('x', seq % 50)), seq * seq FROM seq_1_to_20000;
CREATE TABLE plain_control (id INT PRIMARY KEY, note VARCHAR(200)) ENGINE=InnoDB ENCRYPTED=NO;
INSERT INTO plain_control VALUES (1, '$MARKER control'), (2, 'unencrypted on purpose');
CREATE VIEW v_marker AS SELECT id, payload FROM stack_marker WHERE id <= 10;
CREATE PROCEDURE p_count() SELECT COUNT(*) FROM stack_marker;
CREATE TRIGGER t_note BEFORE INSERT ON plain_control FOR EACH ROW SET NEW.note = TRIM(NEW.note);
EOF
expect "app user writes tables, view, procedure, trigger through the mariadb service" $?
# Flush the tables' pages to their .ibd files so the at-rest check reads data.
check "FLUSH TABLES ... FOR EXPORT (pages on disk)" db_root -e \
	"FLUSH TABLES app.stack_marker, app.plain_control FOR EXPORT; UNLOCK TABLES; FLUSH BINARY LOGS;"
fp_source=$(db_root <<<"$FINGERPRINT_SQL" 2>&1)

# --- 4. backup, monitor, health --------------------------------------------
check "make backup" mk backup
archive=$(cd "$W/backups" 2>/dev/null && ls mariadb_*.sql.gz.gpg 2>/dev/null | head -1)
[ -n "$archive" ] && [ -f "$W/backups/$archive.sha256" ]
expect "archive file and .sha256 sidecar in ./backups" $? "$(ls -a "$W/backups" 2>&1 | tr '\n' ' ')"
check "sha256sum -c in the backups dir" bash -c "cd '$W/backups' && sha256sum -c '$archive.sha256'"
out=$(mk monitor 2>&1)
r=$?
[ $r = 0 ] && case $out in OK*) true ;; *) false ;; esac
expect "make monitor: OK, exit 0" $? "exit $r: $out"
out=$(stack monitor 2>&1)
expect "docker/stack.sh monitor exit 0" $? "$out"
out=$(podman healthcheck run "$FS" 2>&1)
expect "dumpfs container healthy after the backup (podman healthcheck run)" $? "$out"

# --- 5. the mount, from the host side --------------------------------------
m=$W/mnt
out=$(cat "$m/status/health" 2>&1)
case $out in "OK "*"$archive"*) r=0 ;; *) r=1 ;; esac
expect "host: status/health is OK and names the archive" $r "$out"
python3 - "$m/status/status.json" "$archive" >"$step_log" 2>&1 <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "ok", s
assert s["archive_count"] == 1, s
assert s["last_file"] == sys.argv[2], s
assert s["last_error"] is None, s
EOF
expect "host: status/status.json state ok, archive_count 1" $?
grep -qx 'dumpfs_up 1' "$m/status/metrics.prom" 2>/dev/null
expect "host: status/metrics.prom has dumpfs_up 1" $?
[ "$(readlink "$m/archive/latest.sql.gz.gpg" 2>/dev/null)" = "$archive" ]
expect "host: archive/latest.sql.gz.gpg -> the archive" $?
check "host: sha256sum -c through the mount" bash -c "cd '$m/archive' && sha256sum -c '$archive.sha256'"
touch "$m/status/x" 2>/dev/null
r=$?
[ $r != 0 ] && ! [ -e "$m/status/x" ]
expect "host: the mount is read-only" $?

# contrib/ against the live mount: monitoring and the offsite copy.
out=$("$root/contrib/monitoring/check_dumpfs" -m "$m" -w 25)
r=$?
case $out in "OK - OK "*"| age="*) [ $r = 0 ] ;; *) false ;; esac
expect "contrib check_dumpfs -m: OK, exit 0, perfdata" $? "exit $r: $out"
out=$("$root/contrib/monitoring/check_dumpfs" -d "$FS")
expect "contrib check_dumpfs -d <container>: exit 0" $? "$out"
mkdir -p "$W/textfile"
check "contrib dumpfs-textfile.sh writes the node_exporter file" \
	"$root/contrib/monitoring/dumpfs-textfile.sh" "$m" "$W/textfile"
if command -v promtool >/dev/null; then
	check "promtool check metrics on the published metrics.prom" \
		sh -c "promtool check metrics <'$W/textfile/dumpfs.prom'"
	check "promtool check + test of contrib alert rules" sh -c \
		"cd '$root/contrib/monitoring' && promtool check rules dumpfs.rules.yml && promtool test rules dumpfs.rules.test.yml"
fi
check "contrib dumpfs-offsite.sh -s to a local dir (rsync + cp snapshot, sha256sum -c)" \
	env DUMPFS_MOUNT="$m" "$root/contrib/offsite/dumpfs-offsite.sh" -s "$W/offsite"
[ -f "$W/offsite/archive/$archive" ] && ls "$W"/offsite/snapshots/mariadb_snapshot_*.sql.gz.gpg.sha256 >/dev/null 2>&1
expect "offsite copy holds the archive and a verified snapshot" $?

say "copying snapshot/now.sql.gz.gpg from the host side"
check "host: cp snapshot/now.sql.gz.gpg" cp "$m/snapshot/now.sql.gz.gpg" "$W/snapshot.sql.gz.gpg"
G=(gpg --homedir "$W/secrets/demo-dpo-gnupg" --batch --quiet --decrypt)
last=$("${G[@]}" "$W/snapshot.sql.gz.gpg" 2>"$step_log" | gunzip | tail -n 1)
[ "$last" = "-- dumpfs: dump completed" ]
expect "snapshot decrypts with the demo key, gunzips, ends with the completion line" $? "$last"
n=$("${G[@]}" "$W/snapshot.sql.gz.gpg" 2>/dev/null | gunzip | grep -c -- "$MARKER")
[ "${n:-0}" -gt 0 ]
expect "the decrypted snapshot holds the marker rows (control for the at-rest checks)" $? "count $n"

# --- 6. restore into a throwaway host-side server ---------------------------
mariadbd --no-defaults --user=root --datadir="$W/tdb/data" --socket="$W/tdb/sock" \
	--skip-networking --tmpdir="$W/tdb/tmp" --pid-file="$W/tdb/pid" \
	--innodb-buffer-pool-size=64M --log-error="$W/tdb/error.log" >/dev/null 2>&1 &
tdb_pid=$!
ok=1
for _ in $(seq 60); do
	tdb -e 'SELECT 1' >/dev/null 2>&1 && {
		ok=0
		break
	}
	sleep 1
done
expect "throwaway host-side mariadbd up" $ok "$(tail -3 "$W/tdb/error.log" 2>/dev/null)"
# A restore target has its accounts already (dumps hold no mysql schema):
# the view's and procedure's definer.
tdb -e "CREATE USER 'app'@'%'; GRANT ALL ON app.* TO 'app'@'%'" >/dev/null 2>&1
"${G[@]}" "$W/snapshot.sql.gz.gpg" 2>"$step_log" | gunzip |
	mariadb --no-defaults -S "$W/tdb/sock" -uroot --comments --max-allowed-packet=1G >>"$step_log" 2>&1
expect "snapshot restores into the throwaway server (gpg | gunzip | mariadb)" $?
fp_restored=$(tdb <<<"$FINGERPRINT_SQL" 2>&1)
[ -n "$fp_source" ] && [ "$fp_source" = "$fp_restored" ]
expect "restored data equal: row CRCs, CHECKSUM TABLE, view, procedure, trigger" $? \
	"source [$fp_source] restored [$fp_restored]"

# --- 7. encryption at rest ---------------------------------------------------
datadir=$(podman volume inspect "${DUMPFS_PROJECT}_mariadb_data" --format '{{.Mountpoint}}' 2>/dev/null)
ibd=$datadir/app/stack_marker.ibd
[ -s "$ibd" ] && ! grep -qa -- "$MARKER" "$ibd"
expect "at rest: stack_marker.ibd ($(stat -c %s "$ibd" 2>/dev/null) bytes) does not contain the marker" $?
grep -qa -- "$MARKER" "$datadir/app/plain_control.ibd" 2>/dev/null
expect "control: the ENCRYPTED=NO table's .ibd does contain it (the check can see plaintext)" $?
binlogs=("$datadir"/mariadb-bin.[0-9]*)
# ROW format: the marker is in the row events, which SHOW BINLOG EVENTS
# does not print; mariadb-binlog decodes them (from the server, decrypted).
first_binlog=$(db_root -e "SHOW BINARY LOGS" 2>/dev/null | head -1 | cut -f1)
events=$(db_binlog "$first_binlog" 2>/dev/null | grep -ac -- "$MARKER")
[ -e "${binlogs[0]}" ] && [ "${events:-0}" -gt 0 ] && ! grep -qa -- "$MARKER" "${binlogs[@]}"
expect "at rest: the binlog holds the marker rows ($events decoded lines) but its files do not contain it" $?
! grep -qa -- "$MARKER" "$datadir"/ib_logfile0 && [ -s "$datadir/ib_logfile0" ]
expect "at rest: the redo log does not contain the marker" $?

# --- 8. point in time: the binlog archive, restore --until -----------------
bdir=$W/backups/binlog
seg_re='s/^.*_[0-9]\{6\}_\(.*\)_\([0-9][0-9]*\)\.binlog\.gz\.gpg$/\1 \2/p'
# seg_plain SEGMENT: its plaintext (a binlog file), decrypted with the demo key.
seg_plain() { "${G[@]}" "$1" 2>/dev/null | gunzip 2>/dev/null; }
# seg_with TEXT: the first archived segment whose plaintext holds TEXT
# (grep without -q reads to the end: no SIGPIPE for pipefail to report).
seg_with() {
	local f
	for f in "$bdir"/*.binlog.gz.gpg; do
		[ -e "$f" ] && seg_plain "$f" | grep -aF -- "$1" >/dev/null && echo "$f" && return 0
	done
	return 1
}
# The dump's binlog coordinates (its header) and the first segment's start
# (its name): the archive must start at or before the dump.
dumppos=$("${G[@]}" "$W/backups/$archive" 2>/dev/null | gunzip 2>/dev/null | head -40 |
	sed -n "s/^--   CHANGE MASTER TO MASTER_LOG_FILE='\([^']*\)', MASTER_LOG_POS=\([0-9]*\);.*/\1 \2/p")
firstseg=$(cd "$bdir" 2>/dev/null && ls -- *.binlog.gz.gpg 2>/dev/null | sed -n "$seg_re" |
	sort -k1,1 -k2,2n | head -1)
read -r dfile dpos <<<"$dumppos"
read -r sfile spos <<<"$firstseg"
[ -n "$dfile" ] && [ -n "$sfile" ] &&
	{ [[ $sfile < $dfile ]] || { [ "$sfile" = "$dfile" ] && [ "$spos" -le "$dpos" ]; }; }
expect "binlog archive starts before the backup (first segment $sfile:$spos, dump at $dfile:$dpos)" $?

# Row A, then T (the DB container's local time, $TZ), then row B, 2 s
# apart on both sides so that A is stamped before T and B after it.  A
# new table: the dump does not have it, the replay creates it.
say "point in time: row A, then T, then row B"
db_app >"$step_log" 2>&1 <<EOF
CREATE TABLE pitr (id INT PRIMARY KEY, what VARCHAR(100)) ENGINE=InnoDB;
INSERT INTO pitr VALUES (1, '$MARKER row A');
EOF
expect "row A written (new table app.pitr, after the backup)" $?
sleep 2
T=$(db_root -e "SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s')" 2>&1)
sleep 2
db_app -e "INSERT INTO pitr VALUES (2, '$MARKER row B')" >"$step_log" 2>&1
[[ $T =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}$ ]]
expect "T = '$T' (local time of the DB container), row B written 2 s later" $?

say "waiting for the binlog segment holding row B (segment_seconds = 5)"
segB=
for _ in $(seq 45); do
	segB=$(seg_with "$MARKER row B") && break
	sleep 2
done
[ -n "$segB" ]
expect "segment holding row B archived: ${segB##*/}" $? "$(ls -A "$bdir" 2>&1 | tr '\n' ' ')"
segA=$(seg_with "$MARKER row A")
expect "row A archived too: ${segA##*/}" $?
# status/ on the host reports the archive: caught up, its segments counted
blst=
for _ in $(seq 20); do
	blst=$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["binlog"]; print(b["enabled"], b["lag_seconds"], b["segments"], b["last_error"])' "$W/mnt/status/status.json" 2>&1)
	case $blst in "True 0 "*" None") break ;; esac
	sleep 1
done
nseg=$(ls "$bdir" | grep -c '\.binlog\.gz\.gpg$')
[ "$blst" = "True 0 $nseg None" ] && grep -q '^dumpfs_binlog_lag_seconds 0$' "$W/mnt/status/metrics.prom" &&
	ls "$W/mnt/archive/binlog/" | grep -qF "${segB##*/}"
expect "mount: status.json binlog caught up ($blst; $nseg segments), metrics lag 0, archive/binlog/ lists them" $? \
	"$(grep dumpfs_binlog "$W/mnt/status/metrics.prom" 2>&1 | tr '\n' ' ')"
check "binlog/: sha256sum -c of every segment's sidecar" \
	bash -c "cd '$bdir' && ls -- *.binlog.gz.gpg && sha256sum -c -- *.binlog.gz.gpg.sha256"
modes=$(stat -c %a "$bdir"/*.binlog.gz.gpg 2>/dev/null | sort -u | tr '\n' ' ')
[ "$modes" = "440 " ]
expect "segments are mode 0440" $? "$modes"
grep -Eq '^file=mariadb-bin\.[0-9]+$' "$bdir/.binlog-position" 2>/dev/null &&
	grep -Eq '^pos=[0-9]+$' "$bdir/.binlog-position" && [ "$(wc -l <"$bdir/.binlog-position")" = 2 ]
expect "binlog/.binlog-position: file=..., pos=..." $? "$(head -c 200 "$bdir/.binlog-position" 2>&1)"
! grep -qaF -- "$MARKER" "$bdir"/* 2>/dev/null
expect "no archived binlog file contains the marker in plaintext" $?
if [ -n "$segB" ]; then
	seg_plain "$segB" >"$W/segB.binlog"
	n=$(mariadb-binlog --base64-output=decode-rows --verbose "$W/segB.binlog" 2>"$step_log" |
		grep -cF -- "'$MARKER row B'")
	rm -f "$W/segB.binlog"
	[ "${n:-0}" -gt 0 ]
	expect "the decrypted segment is a binlog that stock mariadb-binlog reads (row B decoded)" $?
fi

# The restore image (built in the background since the start).
wait "$bg_pid"
r=$?
bg_pid=
expect "restore image built (docker/Dockerfile --target restore)" $r "$(tail -3 "$W/restore-build.log")"
check "restore image has mariadb-binlog (restore --until)" \
	podman run --rm "$DUMPFS_RESTORE_IMAGE" sh -c 'command -v mariadb-binlog'

# pitr_restore UNTIL: `dumpfs restore ARCHIVE --until UNTIL` from the
# restore image into the throwaway server, after dropping what a previous
# restore loaded there.  As make restore runs it (read-only root, no
# capability), with no network: the server's socket is bound in.  The
# segments are <directory of FILE>/binlog, the default of --binlog-dir.
pitr_restore() {
	tdb -e "DROP DATABASE IF EXISTS app" &&
		podman run --rm --network none --read-only --tmpfs /tmp --cap-drop ALL \
			--security-opt no-new-privileges \
			-v "$W/backups:/restore:ro" \
			-v "$W/secrets/demo-dpo-gnupg:/gnupg" -e GNUPGHOME=/gnupg \
			-v "$DUMPFS_INI:/etc/dumpfs/dumpfs.ini:ro" \
			-v "$W/secrets/mariadb_backup_password:/run/secrets/mariadb_backup_password:ro" \
			-v "$W/secrets/dpo_pubkey:/run/secrets/dpo_pubkey:ro" \
			-v "$W/tdb:/tdb" -e TZ="$TZ" \
			-e DUMPFS_RESTORE_SOCKET=/tdb/sock -e DUMPFS_RESTORE_USER=root \
			"$DUMPFS_RESTORE_IMAGE" dumpfs restore "/restore/$archive" --until "$1"
}
if [ -z "$segB" ]; then
	fail "restore --until" "no segment holds row B: nothing to replay"
else
	check "dumpfs restore <archive> --until '$T' into the throwaway server" pitr_restore "$T"
	rows=$(tdb -e "SELECT GROUP_CONCAT(id ORDER BY id) FROM app.pitr" 2>&1)
	[ "$rows" = 1 ]
	expect "--until T: row A is there, row B is not" $? "ids [$rows]"
	fp_pitr=$(tdb <<<"$FINGERPRINT_SQL" 2>&1)
	[ "$fp_pitr" = "$fp_source" ]
	expect "--until T: the backup's data as before (row CRCs, CHECKSUM TABLE, objects)" $? "[$fp_pitr]"
	check "dumpfs restore <archive> --until latest into the throwaway server" pitr_restore latest
	rows=$(tdb -e "SELECT GROUP_CONCAT(id ORDER BY id) FROM app.pitr" 2>&1)
	[ "$rows" = 1,2 ]
	expect "--until latest: rows A and B" $? "ids [$rows]"
fi

# --- 9. make restore (DPO side) into the stack's server --------------------
# With --until T: the stack's own server back to T, its
# binlog segments from ./backups/binlog (docker/stack.sh binds them).
check "drop the app database in the stack's server" db_root -e "DROP DATABASE app"
if [ -n "$segB" ]; then
	check "make restore FILE=backups/<archive> RESTORE_ARGS='--until \"$T\"' (demo key)" \
		mk restore FILE="$W/backups/$archive" GNUPGHOME="$W/secrets/demo-dpo-gnupg" \
		RESTORE_ARGS="--until \"$T\""
	rows=$(db_root -e "SELECT GROUP_CONCAT(id ORDER BY id) FROM app.pitr" 2>&1)
	[ "$rows" = 1 ]
	expect "after make restore --until T: row A, not row B" $? "ids [$rows]"
else
	check "make restore FILE=backups/<archive> (demo key)" \
		mk restore FILE="$W/backups/$archive" GNUPGHOME="$W/secrets/demo-dpo-gnupg"
fi
fp_back=$(db_root <<<"$FINGERPRINT_SQL" 2>&1)
[ "$fp_source" = "$fp_back" ]
expect "after make restore: the same data as before" $? "[$fp_back]"

# --- 10. network -----------------------------------------------------------
python3 -u -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 0)); s.listen(16); print(s.getsockname()[1])
s.settimeout(120)
while True:
    try:
        c, a = s.accept()
    except OSError:
        break
    print("connection from", a[0]); c.close()
' >"$W/listener.log" 2>&1 &
listener_pid=$!
for _ in $(seq 50); do
	[ -s "$W/listener.log" ] && break
	sleep 0.2
done
port=$(head -1 "$W/listener.log")
gw=$(podman network inspect "${DUMPFS_PROJECT}_dbnet" --format '{{range .Subnets}}{{.Gateway}}{{end}}' 2>/dev/null)
hostips=$(ip -4 -o addr show scope global 2>/dev/null | awk -v gw="$gw" '{sub("/.*", "", $4); if ($4 != gw) print $4}')
bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
expect "control: the host-side listener on 0.0.0.0:$port accepts from the host" $?
podman exec "$FS" timeout 5 bash -c 'exec 3<>/dev/tcp/mariadb/3306' >/dev/null 2>&1
expect "control: the dumpfs container reaches mariadb:3306 on dbnet" $?
! podman exec "$FS" awk 'NR > 1 && $2 == "00000000" { found = 1 } END { exit !found }' /proc/net/route
expect "dumpfs container has no default route" $?
for ip in 127.0.0.1 $hostips $gw; do
	podman exec "$FS" timeout 5 bash -c "exec 3<>/dev/tcp/$ip/$port" >/dev/null 2>&1
	r=$?
	[ $r != 0 ]
	expect "dumpfs container cannot connect to the host listener at $ip:$port" $? "connected"
done
podman exec "$DB" timeout 5 bash -c "exec 3<>/dev/tcp/${gw:-127.0.0.1}/$port" >/dev/null 2>&1
[ $? != 0 ]
expect "mariadb container cannot connect to the host listener at ${gw}:$port" $?
n=$(grep -c '^connection from' "$W/listener.log")
[ "$n" = 1 ]
expect "the listener saw only the host's own control connection" $? "$(tail -n +2 "$W/listener.log" | tr '\n' ' ')"

# --- 11. hardening ---------------------------------------------------------
st=$(podman exec "$FS" cat /proc/1/comm /proc/1/status 2>/dev/null)
fspid=$(podman exec "$FS" sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = dumpfs ] && basename $p; done' 2>/dev/null | head -1)
fsst=$(podman exec "$FS" cat "/proc/$fspid/status" 2>/dev/null)
[ "$(head -1 <<<"$st")" = tini ]
expect "dumpfs container: PID 1 is tini" $?
grep -q '^PPid:[[:space:]]*1$' <<<"$fsst" && grep -q '^Uid:[[:space:]]*0' <<<"$fsst"
expect "dumpfs runs as tini's child, uid 0 (FUSE mount; docs say why not non-root)" $?
grep -q '^CapEff:[[:space:]]*0000000000200000$' <<<"$fsst" &&
	grep -q '^CapBnd:[[:space:]]*0000000000200000$' <<<"$fsst"
expect "dumpfs: only CAP_SYS_ADMIN (effective and bounding)" $? "$(grep Cap <<<"$fsst" | tr '\n' ' ')"
grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$fsst"
expect "dumpfs: no-new-privileges" $?
[ "$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$FS")" = true ] &&
	! podman exec "$FS" touch /etc/dumpfs-x 2>/dev/null && podman exec "$FS" touch /tmp/x
expect "dumpfs: read-only root fs, writable tmpfs /tmp" $?
lim=$(podman inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}' "$FS")
read -r mem cpu pids <<<"$lim"
[ "$mem" = 536870912 ] && [ "$cpu" = 1000000000 ] && [ "${pids:-0}" -gt 0 ]
expect "dumpfs: memory 512m, 1 cpu, pids limited ($lim)" $?
dbst=$(podman exec "$DB" sh -c 'cat /proc/1/status' 2>/dev/null)
grep -q '^Uid:[[:space:]]*999' <<<"$dbst" && grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$dbst" &&
	[ "$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Memory}}' "$DB")" = "true 1073741824" ]
expect "mariadb: mariadbd as uid 999, no-new-privileges, read-only root, 1g" $?
out=$(podman exec "$DB" mariadb -ubackup_ro -h 127.0.0.1 -e 'SELECT 1' 2>&1)
case $out in *"Access denied"*) r=0 ;; *) r=1 ;; esac
expect "backup_ro needs its password (no empty-password account)" $r "$out"
grants=$(db_root -e "SHOW GRANTS FOR 'backup_ro'@'%'" 2>&1 | head -1)
# (10.5+ shows REPLICATION CLIENT under its new name BINLOG MONITOR;
# REPLICATION SLAVE is the binlog stream's)
grep -Eq '^GRANT SELECT, RELOAD, LOCK TABLES, REPLICATION SLAVE, (REPLICATION CLIENT|BINLOG MONITOR), SHOW VIEW, EVENT, TRIGGER ON \*\.\* TO ' <<<"$grants"
r=$?
expect "backup_ro has exactly the documented least-privilege GRANT" $r "$grants"

out=$(mk logs 2>&1)
case $out in *"info mounted"*"ready for connections"* | *"ready for connections"*"info mounted"*) r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && grep -q 'binlog_stream_open' <<<"$out" && grep -q 'binlog_segment' <<<"$out"
expect "make logs shows both services (dumpfs mounted, its binlog stream and segments, mariadb ready)" $?

z=$(podman exec "$FS" date +%Z 2>&1)
zdb=$(db_root -e 'SELECT @@system_time_zone' 2>&1)
case "$z $zdb" in "CET CET" | "CEST CEST") r=0 ;; *) r=1 ;; esac
expect "TZ=Europe/Paris reaches both containers (tzdata installed)" $r "dumpfs $z, mariadb $zdb"

# --- 12. crash, restart, down, up again on the same data -------------------
podman kill -s KILL "$FS" >/dev/null 2>&1
sleep 1
out=$(timeout 10 cat "$W/mnt/status/health" 2>&1)
case $out in *"not connected"*) r=0 ;; *) r=1 ;; esac
expect "after kill -9 of the dumpfs container the host sees a stale mount" $r "$out"
check "make up after the crash" mk up
ok=1
for _ in $(seq 30); do
	case $(timeout 10 cat "$W/mnt/status/health" 2>/dev/null) in OK*)
		ok=0
		break
		;;
	esac
	sleep 1
done
expect "the stale mount is replaced: status/health OK again on the host" $ok
check "make down" mk down
! podman container exists "$FS" && ! podman container exists "$DB" &&
	! podman network exists "${DUMPFS_PROJECT}_dbnet" &&
	! findmnt -n -t fuse.dumpfs "$W/mnt" >/dev/null 2>&1 &&
	! iptables -w -S INPUT 2>/dev/null | grep -q DUMPFS-
expect "after make down: no containers, network, firewall chain; the FUSE mount is gone from the host" $?
podman volume exists "${DUMPFS_PROJECT}_mariadb_data"
expect "make down keeps the data volume" $?
binpos=$(sed -n 's/^file=//p; s/^pos=//p' "$W/backups/binlog/.binlog-position" 2>/dev/null | paste -sd:)
check "make up on the existing data volume (no first-run setup)" mk up
ok=1
for _ in $(seq 60); do
	podman healthcheck run "$DB" >/dev/null 2>&1 && {
		ok=0
		break
	}
	sleep 2
done
fp_again=$(db_root <<<"$FINGERPRINT_SQL" 2>&1)
[ $ok = 0 ] && [ "$fp_again" = "$fp_source" ] &&
	[ "$(podman logs "$DB" 2>&1 | grep -c 'initializing the datadir')" = 0 ]
expect "restarted MariaDB: same root password, same data, no re-initialization" $? "[$fp_again]"
from=
for _ in $(seq 60); do
	from=$(podman logs "$FS" 2>&1 | sed -n 's/.*binlog_stream_open.*from="\([^"]*\)".*/\1/p' | head -1)
	[ -n "$from" ] && break
	sleep 2
done
[ -n "$binpos" ] && [ "$from" = "$binpos" ]
expect "the binlog stream resumes where .binlog-position says ($binpos)" $? "from [$from]"
out=$(stack monitor 2>&1)
expect "monitor OK after the restart (archive kept in ./backups)" $? "$out"
check "make down (final)" mk down
exit 0
