#!/bin/bash
# healthcheck.sh [--connect] [--innodb_initialized] — the subset of the
# official mariadb image's healthcheck.sh that docker/compose.yml uses, so
# the same healthcheck line works with either image.
#   --connect             a TCP connection to the server succeeds
#                         (the first-run temporary server has no TCP)
#   --innodb_initialized  InnoDB is initialized (storage engine available)
# Credentials: the healthcheck user the entrypoint made at first start, in
# /var/lib/mysql/.my-healthcheck.cnf (the official image's file too).
set -o pipefail
cnf=/var/lib/mysql/.my-healthcheck.cnf
# Root without CAP_DAC_OVERRIDE (cap_drop ALL) cannot read the mysql-owned
# file: run as mysql.
if [ "$(id -u)" = 0 ] && ! [ -r "$cnf" ]; then
	exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
[ -r "$cnf" ] || { echo "healthcheck: $cnf is missing (first start not finished?)" >&2; exit 1; }
client=(mariadb --defaults-extra-file="$cnf" --host=127.0.0.1 --protocol=tcp
	--connect-timeout=5 -N -B)
[ $# -gt 0 ] || set -- --connect
for t in "$@"; do
	case $t in
	--connect)
		"${client[@]}" -e 'SELECT 1' >/dev/null || exit 1
		;;
	--innodb_initialized)
		v=$("${client[@]}" -e "SELECT 1 FROM information_schema.ENGINES WHERE engine='InnoDB' AND support IN ('YES','DEFAULT','ENABLED')") || exit 1
		[ "$v" = 1 ] || { echo "healthcheck: InnoDB is not initialized" >&2; exit 1; }
		;;
	--*) ;; # other official tests: not implemented here, treated as passing
	esac
done
exit 0
