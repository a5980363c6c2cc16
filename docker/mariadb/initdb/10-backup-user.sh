#!/bin/bash
# Creates dumpfs's least-privilege account `backup_ro` (docs/files.md):
#   SELECT, SHOW VIEW, RELOAD, LOCK TABLES, REPLICATION CLIENT, EVENT,
#   TRIGGER ON *.*   -- the dumps: no PROCESS, no SUPER, no write privilege;
#   REPLICATION SLAVE ON *.*  -- the mount's binlog stream (or `dumpfs binlog`) reads
#   the binlog as a replica (COM_BINLOG_DUMP).  Its other statements
#   (@@global.binlog_checksum, @@server_id, SHOW STATUS LIKE
#   'binlog_snapshot_%') need no privilege; REPLICATION CLIENT is shown as
#   BINLOG MONITOR since 10.5.
# Run once, at the first start, by the entrypoint of docker/mariadb/Dockerfile
# or of the official mariadb image (both source *.sh files from
# /docker-entrypoint-initdb.d and provide docker_process_sql).
#
# The password is the compose secret mariadb_backup_password (the file named
# by MARIADB_BACKUP_PASSWORD_FILE), the same file dumpfs reads: it is never
# written here.  Host '%': only dbnet (an internal network) reaches the
# server.  Databases whose views call stored functions also need EXECUTE:
# list them in BACKUP_EXECUTE_DATABASES (space separated).
_bk_file=${MARIADB_BACKUP_PASSWORD_FILE:-/run/secrets/mariadb_backup_password}
if ! [ -r "$_bk_file" ]; then
	echo "10-backup-user.sh: cannot read $_bk_file (the mariadb_backup_password secret)" >&2
	exit 1
fi
_bk_pw=$(<"$_bk_file")
_bk_pw=${_bk_pw//\\/\\\\}
_bk_pw=${_bk_pw//\'/\\\'}
_bk_exec=
for _bk_db in ${BACKUP_EXECUTE_DATABASES:-}; do
	_bk_exec+="GRANT EXECUTE ON \`${_bk_db//\`/\`\`}\`.* TO 'backup_ro'@'%';"$'\n'
done
docker_process_sql --binary-mode <<-EOSQL
	CREATE USER IF NOT EXISTS 'backup_ro'@'%' IDENTIFIED BY '${_bk_pw}';
	GRANT SELECT, SHOW VIEW, RELOAD, LOCK TABLES, REPLICATION CLIENT, EVENT, TRIGGER
	  ON *.* TO 'backup_ro'@'%';
	GRANT REPLICATION SLAVE ON *.* TO 'backup_ro'@'%';
	${_bk_exec}
EOSQL
unset _bk_file _bk_pw _bk_exec _bk_db
