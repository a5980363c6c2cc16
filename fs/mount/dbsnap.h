/* snapshot/databases/: one "<database>.sql.gz.gpg" per database a dump
 * takes, named without starting a dump.
 *
 * The names: [mariadb] databases when set (no server needed: the files
 * are listed even when it is down, and an open() then fails as one of
 * now.sql.gz.gpg does); otherwise every database the backup user can see
 * but the system ones, asked of the server with one short query, kept
 * DBSNAP_LIST_TTL seconds so that `ls -l` or a copy of every file ask once.
 * When the server cannot be asked, listing the directory and looking up
 * a file in it fail with -EIO (logged as database_list_failed): a job
 * copying from it fails instead of copying nothing.
 *
 * A name that cannot be a file name here (empty, with '/', a leading '.',
 * a control character, too long) is left out with a logged warning; the
 * database is still in now.sql.gz.gpg.
 */
#ifndef FS_DBSNAP_H
#define FS_DBSNAP_H

#include <stdbool.h>
#include <stddef.h>

#include "mountctx.h"

#define DBSNAP_DIR_NAME "databases"
#define DBSNAP_SUFFIX	".sql.gz.gpg"
#define DBSNAP_LIST_TTL 5

/* The database of file name `file` into db (size bytes): -ENOENT when it
 * cannot be one of ours (wrong suffix, a name dbsnap_name_ok refuses). */
int dbsnap_parse(const char *file, char *db, size_t size);

/* Calls add(arg, file name) for every database listed; stops at the
 * first non-zero return.  -EIO when the server cannot be asked. */
int dbsnap_list(struct dumpfs *fs, int (*add)(void *arg, const char *file), void *arg);

/* 0 when database `db` is listed, -ENOENT when not, -EIO as above. */
int dbsnap_exists(struct dumpfs *fs, const char *db);

/* At mount: warns once about configured names that get no file. */
void dbsnap_check_config(struct dumpfs *fs);

/* Frees the kept server list (before dumpfs_release). */
void dbsnap_release(struct dumpfs *fs);

#endif
