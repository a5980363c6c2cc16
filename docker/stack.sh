#!/usr/bin/env bash
# docker/stack.sh COMMAND — operations of the compose stack (docs/deployment.md).
# The Makefile's build/up/down/backup/monitor/logs/restore/secrets targets
# call this; call it directly when the exact exit code matters (make turns
# every failure into 2): `docker/stack.sh monitor` exits with `dumpfs
# check`'s code (0 OK, 1 CRITICAL, 2 NONE, 3 unknown).
#
#   secrets            make secrets/ (never overwrites; DEMO_KEY=1: demo DPO key)
#   build              build both images
#   up                 prepare the host mount dir, start the stack
#   down               stop and remove the containers and network (data kept)
#   backup             `dumpfs backup` in the dumpfs container
#   monitor            `dumpfs check` in the dumpfs container
#   logs [ARGS]        container logs (FOLLOW=1: follow)
#   restore FILE [OPT] DPO side: `dumpfs restore FILE [OPT]` into the stack's MariaDB
#                      (OPT --until TIME|latest: replays FILE's directory's binlog/)
#   prepare-mount      make DUMPFS_MOUNT_DIR a shared mount point (root)
#   isolate|unisolate  add/remove the host firewall chain for dbnet (root)
#
# Environment: COMPOSE (docker compose | docker-compose | podman-compose),
# DUMPFS_PROJECT (dumpfs), DUMPFS_SECRETS (secrets), DUMPFS_MOUNT_DIR
# (/mnt/dumpfs), BASE_IMAGE, GNUPGHOME (restore: the DPO's keyring).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# docker/.env holds settings for compose (DUMPFS_MOUNT_DIR, MARIADB_IMAGE,
# ...); read the same ones here.  As in compose, the environment wins.
if [ -r "$here/.env" ]; then
	while IFS='=' read -r key value; do
		case $key in '' | \#*) continue ;; esac
		[[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
		[ -n "${!key+x}" ] || export "$key=$value"
	done <"$here/.env"
fi
project=${DUMPFS_PROJECT:-dumpfs}
secrets=${DUMPFS_SECRETS:-$root/secrets}
mnt=${DUMPFS_MOUNT_DIR:-/mnt/dumpfs}
DUMPFS_SECRETS=$(realpath -m "$secrets")
export DUMPFS_SECRETS DUMPFS_MOUNT_DIR=$mnt
# podman builds OCI images by default, which drop HEALTHCHECK.
export BUILDAH_FORMAT=${BUILDAH_FORMAT:-docker}

die() {
	echo "stack: $*" >&2
	exit 1
}

detect_compose() {
	if [ -n "${COMPOSE:-}" ]; then
		echo "$COMPOSE"
	elif docker compose version >/dev/null 2>&1; then
		echo "docker compose"
	elif command -v podman-compose >/dev/null 2>&1; then
		echo podman-compose
	elif command -v docker-compose >/dev/null 2>&1; then
		echo docker-compose
	else
		die "no compose tool: install Docker's compose plugin, docker-compose or podman-compose"
	fi
}

compose() {
	local c
	c=$(detect_compose)
	# shellcheck disable=SC2086 # COMPOSE may be two words
	$c -p "$project" -f "$here/compose.yml" "$@"
}

# The engine behind COMPOSE, for `restore` (a one-off container).
engine() {
	if [ -n "${CONTAINER_ENGINE:-}" ]; then
		echo "$CONTAINER_ENGINE"
	else
		case $(detect_compose) in
		*podman*) echo podman ;;
		*) echo docker ;;
		esac
	fi
}

need_secrets() {
	local f missing=
	for f in mariadb_root_password mariadb_app_password mariadb_backup_password \
		mariadb_innodb_keys dpo_pubkey backup_webhook_url backup_smtp_password; do
		[ -e "$DUMPFS_SECRETS/$f" ] || missing+=" $f"
	done
	[ -z "$missing" ] || die "missing in $DUMPFS_SECRETS:$missing (run: make secrets)"
}

# The mount propagates from the container to DUMPFS_MOUNT_DIR only when
# that directory is on a shared mount (systemd hosts: / is shared already).
# A killed daemon leaves "Transport endpoint is not connected" behind
# (stat fails; mountinfo still lists it): detach it.
detach_stale() {
	if ! stat "$mnt" >/dev/null 2>&1 && findmnt -n -M "$mnt" >/dev/null 2>&1; then
		echo "stack: detaching a stale mount on $mnt" >&2
		umount -l "$mnt" || true
	fi
}

prepare_mount() {
	detach_stale
	mkdir -p "$mnt"
	local prop
	prop=$(findmnt -n -o PROPAGATION --target "$mnt" | head -1)
	case $prop in
	shared*) return 0 ;;
	esac
	[ "$(id -u)" = 0 ] ||
		die "$mnt is on a $prop mount: run as root, or: mount --bind $mnt $mnt && mount --make-shared $mnt"
	mountpoint -q "$mnt" || mount --bind "$mnt" "$mnt"
	mount --make-shared "$mnt"
	echo "stack: $mnt is now a shared mount point (propagation from the container)" >&2
}

cmd_secrets() {
	"$here/make-secrets.sh" "$DUMPFS_SECRETS"
}

cmd_build() {
	compose build "$@"
}

# dbnet is internal (no route out), but the host's own address on the
# network's bridge (the gateway) still reaches every host service bound to
# 0.0.0.0, in Docker and podman alike.  Close it: from the bridge, only DNS
# (container names) and replies to the host's own connections.  Root and
# iptables only; DUMPFS_NO_FIREWALL=1 skips it (docs/deployment.md).
chain() { echo "DUMPFS-${project:0:20}"; }

bridge_of_dbnet() {
	local net="${project}_dbnet" id
	case $(engine) in
	podman) podman network inspect "$net" --format '{{.NetworkInterface}}' 2>/dev/null ;;
	*)
		id=$(docker network inspect "$net" --format '{{.Id}}' 2>/dev/null) || return 0
		docker network inspect "$net" \
			--format '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null |
			grep . || echo "br-${id:0:12}"
		;;
	esac
}

cmd_isolate() {
	[ "${DUMPFS_NO_FIREWALL:-0}" = 1 ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v iptables >/dev/null; then
		echo "stack: not root or no iptables: the host stays reachable from dbnet through its bridge address (docs/deployment.md)" >&2
		return 0
	fi
	local br c
	br=$(bridge_of_dbnet)
	[ -n "$br" ] || die "cannot find the bridge of ${project}_dbnet"
	c=$(chain)
	cmd_unisolate
	iptables -w -N "$c"
	iptables -w -A "$c" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	iptables -w -A "$c" -p udp --dport 53 -j ACCEPT
	iptables -w -A "$c" -p tcp --dport 53 -j ACCEPT
	iptables -w -A "$c" -j REJECT
	iptables -w -I INPUT -i "$br" -j "$c"
	echo "stack: host services closed to dbnet (iptables chain $c on $br)" >&2
}

cmd_unisolate() {
	command -v iptables >/dev/null && [ "$(id -u)" = 0 ] || return 0
	local c rule
	c=$(chain)
	while read -r rule; do
		# shellcheck disable=SC2086 # the rule's words
		[ -n "$rule" ] && iptables -w ${rule/-A INPUT/-D INPUT}
	done <<<"$(iptables -w -S INPUT 2>/dev/null | grep -- "-j $c\$" || true)"
	if iptables -w -S "$c" >/dev/null 2>&1; then
		iptables -w -F "$c"
		iptables -w -X "$c"
	fi
}

cmd_up() {
	need_secrets
	mkdir -p "${DUMPFS_BACKUPS:-$root/backups}"
	prepare_mount
	compose up -d "$@"
	cmd_isolate
}

cmd_down() {
	compose down "$@"
	# podman-compose 1.0.3 leaves the network behind (docker compose does not).
	case $(detect_compose) in
	*podman-compose*) podman network rm "${project}_dbnet" >/dev/null 2>&1 || true ;;
	esac
	cmd_unisolate
	detach_stale
}

# svc_exec SERVICE CMD...: run CMD in the service's container, exit code
# passed through (podman-compose 1.0.3's exec always exits 0, so podman
# is called directly there).
svc_exec() {
	local svc=$1
	shift
	case $(detect_compose) in
	*podman-compose*) podman exec -i "${project}_${svc}_1" "$@" ;;
	*) compose exec -T "$svc" "$@" ;;
	esac
}

cmd_backup() {
	svc_exec dumpfs dumpfs backup
}

cmd_monitor() {
	svc_exec dumpfs dumpfs check
}

cmd_logs() {
	compose logs ${FOLLOW:+-f} "$@"
}

cmd_restore() {
	[ $# -ge 1 ] || die "usage: stack.sh restore FILE [dumpfs restore options] (make restore FILE=... [RESTORE_ARGS=...])"
	local file name eng image gh owner tty=() extra=()
	file=$(realpath -e "$1") || die "no such file: $1"
	shift
	name=$(basename "$file")
	[ -e "$file.sha256" ] && extra+=(-v "$file.sha256:/restore/$name.sha256:ro")
	# --until replays the binlog segments of <directory of FILE>/binlog
	# (the mount's ./backups/binlog), read-only like the file.
	[ -d "$(dirname "$file")/binlog" ] &&
		extra+=(-v "$(dirname "$file")/binlog:/restore/binlog:ro")
	gh=${GNUPGHOME:-$HOME/.gnupg}
	[ -d "$gh" ] || die "no GnuPG home '$gh': set GNUPGHOME to the DPO's keyring"
	gh=$(realpath "$gh")
	owner=$(stat -c %u:%g "$gh")
	eng=$(engine)
	image=${DUMPFS_RESTORE_IMAGE:-dumpfs-restore:latest}
	echo "stack: building $image (the restore stage of docker/Dockerfile)" >&2
	"$eng" build -q --target restore -t "$image" \
		--build-arg "BASE_IMAGE=${BASE_IMAGE:-debian:bookworm}" \
		-f "$here/Dockerfile" "$root" >/dev/null
	[ -t 0 ] && [ -t 1 ] && tty=(-t)
	# As the keyring's owner, read-only root, no capabilities, on dbnet
	# only; the root password reaches the client through dumpfs's memfd.
	# TZ as in compose.yml: --until "YYYY-MM-DD HH:MM:SS" is local time,
	# the stack's, as are the segment names.
	"$eng" run --rm -i "${tty[@]}" --network "${project}_dbnet" \
		--user "$owner" --read-only --tmpfs /tmp --cap-drop ALL \
		--security-opt no-new-privileges \
		-v "$file:/restore/$name:ro" "${extra[@]}" \
		-v "$gh:/gnupg" -e GNUPGHOME=/gnupg \
		-v "${DUMPFS_INI:-$here/dumpfs.ini}:/etc/dumpfs/dumpfs.ini:ro" \
		-v "$DUMPFS_SECRETS/mariadb_backup_password:/run/secrets/mariadb_backup_password:ro" \
		-v "$DUMPFS_SECRETS/mariadb_root_password:/run/secrets/mariadb_root_password:ro" \
		-v "$DUMPFS_SECRETS/dpo_pubkey:/run/secrets/dpo_pubkey:ro" \
		-e TZ="${TZ:-UTC}" \
		-e DUMPFS_RESTORE_HOST=mariadb -e DUMPFS_RESTORE_USER=root \
		-e DUMPFS_RESTORE_PASSWORD_FILE=/run/secrets/mariadb_root_password \
		"$image" sh -c 'GPG_TTY=$(tty 2>/dev/null) && export GPG_TTY; exec dumpfs restore "$@"' \
		restore "/restore/$name" "$@"
}

[ $# -ge 1 ] || die "usage: stack.sh secrets|build|up|down|backup|monitor|logs|restore FILE|prepare-mount"
cmd=$1
shift
case $cmd in
secrets | build | up | down | backup | monitor | logs | restore) "cmd_$cmd" "$@" ;;
prepare-mount) prepare_mount ;;
isolate | unisolate) "cmd_$cmd" ;;
*) die "unknown command '$cmd'" ;;
esac
