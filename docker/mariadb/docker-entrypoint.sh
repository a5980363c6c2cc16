#!/bin/bash
# Entrypoint of docker/mariadb/Dockerfile: the official mariadb image's
# conventions, in short, for Debian's mariadb-server.
#
# First start (empty datadir): mariadb-install-db, then a temporary server
# without networking sets the root password (MARIADB_ROOT_PASSWORD[_FILE]),
# creates MARIADB_DATABASE and MARIADB_USER (MARIADB_PASSWORD[_FILE]) and the
# healthcheck user, and runs /docker-entrypoint-initdb.d/* (*.sh sourced
# with docker_process_sql available, or executed when executable; *.sql,
# *.sql.gz as root).  Then, and on every later start, mariadbd runs as the
# mysql user, in the foreground, as PID 1.
#
# Passwords are read from the *_FILE secrets and never passed on a command
# line: the client gets them from an option file on a pipe (/dev/fd/N).
set -Eeo pipefail

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

log() { printf '%s [entrypoint] %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# file_env VAR: VAR from $VAR or from the file named by $VAR_FILE (not both).
file_env() {
	local var=$1 fvar="${1}_FILE" def=${2:-}
	if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
		die "both $var and $fvar are set (use only one)"
	fi
	local val=$def
	if [ -n "${!var:-}" ]; then
		val=${!var}
	elif [ -n "${!fvar:-}" ]; then
		[ -r "${!fvar}" ] || die "$fvar: cannot read '${!fvar}'"
		val=$(<"${!fvar}")
	fi
	export "$var"="$val"
	unset "$fvar"
}

# SQL string literal body: backslashes and quotes escaped.
sql_escape() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//\'/\\\'}"
}

# Option file value: double-quoted, backslashes and quotes escaped.
cnf_escape() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//\"/\\\"}"
}

# docker_process_sql [client args]: SQL on stdin, as root over the socket
# of the temporary server (same name and use as in the official image).
docker_process_sql() {
	if [ -n "${MARIADB_ROOT_PASSWORD:-}" ] && [ -z "${_ROOT_NOPASS:-}" ]; then
		mariadb --defaults-extra-file=<(printf '[client]\npassword="%s"\n' \
			"$(cnf_escape "$MARIADB_ROOT_PASSWORD")") \
			--protocol=socket --socket="$SOCKET" -uroot --comments "$@"
	else
		mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot --comments "$@"
	fi
}

temp_server_start() {
	log "starting a temporary server (no networking) for the first-run setup"
	mariadbd --skip-networking --socket="$SOCKET" --skip-slave-start --skip-log-bin \
		--loose-innodb-buffer-pool-load-at-startup=0 "$@" &
	TEMP_PID=$!
	local _
	for _ in $(seq 120); do
		if mariadb-admin --no-defaults --socket="$SOCKET" -uroot ping >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$TEMP_PID" 2>/dev/null || die "the temporary server died (see above)"
		sleep 0.5
	done
	die "the temporary server did not answer within 60 s"
}

temp_server_stop() {
	kill -TERM "$TEMP_PID"
	wait "$TEMP_PID" || die "the temporary server did not stop cleanly"
	unset TEMP_PID
}

setup_db() {
	local root_pw hc_pw
	root_pw=$(sql_escape "$MARIADB_ROOT_PASSWORD")
	hc_pw=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	_ROOT_NOPASS=1 docker_process_sql --database=mysql --binary-mode <<-EOSQL
		SET @@SESSION.SQL_LOG_BIN=0;
		DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host NOT IN ('localhost'));
		ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_pw}';
		CREATE USER 'root'@'${MARIADB_ROOT_HOST:-%}' IDENTIFIED BY '${root_pw}';
		GRANT ALL ON *.* TO 'root'@'${MARIADB_ROOT_HOST:-%}' WITH GRANT OPTION;
		GRANT PROXY ON ''@'%' TO 'root'@'${MARIADB_ROOT_HOST:-%}' WITH GRANT OPTION;
		CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY '${hc_pw}';
		CREATE USER 'healthcheck'@'::1' IDENTIFIED BY '${hc_pw}';
		CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY '${hc_pw}';
		DROP DATABASE IF EXISTS test;
		FLUSH PRIVILEGES;
	EOSQL
	# The official image's healthcheck credentials file, same place.
	umask 077
	printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\nprotocol=tcp\n' \
		"$SOCKET" "$hc_pw" >"$DATADIR/.my-healthcheck.cnf"
	chown mysql:mysql "$DATADIR/.my-healthcheck.cnf"
	umask 022

	if [ -n "${MARIADB_DATABASE:-}" ]; then
		log "creating database $MARIADB_DATABASE"
		docker_process_sql --binary-mode <<-EOSQL
			SET @@SESSION.SQL_LOG_BIN=0;
			CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE//\`/\`\`}\`;
		EOSQL
	fi
	if [ -n "${MARIADB_USER:-}" ]; then
		[ -n "${MARIADB_PASSWORD:-}" ] || die "MARIADB_USER needs MARIADB_PASSWORD(_FILE)"
		log "creating user $MARIADB_USER"
		local grant=
		[ -n "${MARIADB_DATABASE:-}" ] &&
			grant="GRANT ALL ON \`${MARIADB_DATABASE//\`/\`\`}\`.* TO '$(sql_escape "$MARIADB_USER")'@'%';"
		docker_process_sql --binary-mode <<-EOSQL
			SET @@SESSION.SQL_LOG_BIN=0;
			CREATE USER '$(sql_escape "$MARIADB_USER")'@'%' IDENTIFIED BY '$(sql_escape "$MARIADB_PASSWORD")';
			${grant}
		EOSQL
	fi
}

process_init_files() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case $f in
		*.sh)
			if [ -x "$f" ]; then
				log "running $f"
				"$f"
			else
				log "sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql)
			log "loading $f"
			docker_process_sql <"$f"
			;;
		*.sql.gz)
			log "loading $f"
			gunzip -c "$f" | docker_process_sql
			;;
		*) log "ignoring $f" ;;
		esac
	done
}

init_datadir() {
	file_env MARIADB_ROOT_PASSWORD
	file_env MARIADB_PASSWORD
	if [ -z "${MARIADB_ROOT_PASSWORD:-}" ]; then
		die "the datadir is empty and no root password is set: set MARIADB_ROOT_PASSWORD_FILE"
	fi
	log "initializing the datadir $DATADIR"
	# A failed first start must not leave a half-made datadir that the
	# next start (restart policy) would run without passwords.
	trap 'init_failed' ERR EXIT
	mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db \
		--auth-root-authentication-method=normal --rpm --cross-bootstrap \
		--skip-log-bin --default-time-zone=SYSTEM >/dev/null ||
		die "mariadb-install-db failed"
	temp_server_start "$@"
	setup_db
	process_init_files
	temp_server_stop
	trap - ERR EXIT
	log "first-run setup done"
}

init_failed() {
	trap - ERR EXIT
	log "first-run setup failed: emptying $DATADIR so that the next start retries"
	[ -n "${TEMP_PID:-}" ] && kill -KILL "$TEMP_PID" 2>/dev/null
	find "$DATADIR" -mindepth 1 -delete 2>/dev/null || true
	exit 1
}

main() {
	if [ "${1:0:1}" = - ]; then
		set -- mariadbd "$@"
	fi
	if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
		exec "$@"
	fi
	# As root only what needs root (chown), then everything as mysql, as
	# the official image does: the container needs no CAP_KILL or
	# CAP_DAC_OVERRIDE (compose.yml: CHOWN, SETUID, SETGID only).
	if [ "$(id -u)" = 0 ]; then
		mkdir -p /run/mysqld
		chown mysql:mysql /run/mysqld
		[ "$(stat -c %U "$DATADIR")" = mysql ] || chown mysql:mysql "$DATADIR"
		exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	shift
	if [ ! -d "$DATADIR/mysql" ]; then
		init_datadir "$@"
	fi
	unset MARIADB_ROOT_PASSWORD MARIADB_PASSWORD MARIADB_ROOT_PASSWORD_FILE \
		MARIADB_PASSWORD_FILE
	exec mariadbd "$@"
}

main "$@"
