/* A private throwaway MariaDB server (`dumpfs rehearse`,
 * docs/rehearse.md), from the binaries on PATH (mariadb-install-db,
 * mariadbd; /usr/sbin and /usr/local/sbin are searched too, where Debian
 * puts mariadbd outside a user's PATH).
 *
 * Everything lives in "<base>/dumpfs-rehearse-<pid>-XXXXXX" (mode 0700,
 * tmphome.h: a later run sweeps what a SIGKILLed one left): the datadir,
 * the server's tmpdir, its unix socket (no TCP: skip-networking), its
 * error log.  The account is the invoking user's, by unix socket
 * authentication, with no password anywhere.  The data it will hold is
 * untrusted SQL: file access from SQL (INTO OUTFILE, LOAD DATA,
 * LOAD_FILE) is confined to an empty directory inside, symbolic links
 * (DATA/INDEX DIRECTORY) are off.  Durability is off (a throwaway).
 *
 * The programs run in process groups of their own, die with this process
 * (PR_SET_PDEATHSIG) and are SIGKILLed by tmpserver_free(), which then
 * removes the directory: whatever happened, nothing is left but after a
 * SIGKILL of this process (then the directory, until the next sweep). */
#ifndef DUMPER_TMPSERVER_H
#define DUMPER_TMPSERVER_H

#include "errbuf.h"
#include "log.h"

struct tmpserver_opts {
	const char *base;	/* parent directory: $TMPDIR, else /tmp */
	unsigned start_timeout; /* seconds for install + start; 0 = 300 */
	struct logger *log;	/* may be NULL */
};

struct tmpserver;

/* opts is borrowed and must outlive *out. */
int tmpserver_new(struct tmpserver **out, const struct tmpserver_opts *opts, struct errbuf *err);
/* Makes the directory, installs the system tables, starts the server and
 * waits until it accepts a connection (polled, bounded).  Errors say which
 * step failed, with the end of the program's log. */
int tmpserver_start(struct tmpserver *s, struct errbuf *err);
/* After a successful start: its socket path and the account to use. */
const char *tmpserver_socket(const struct tmpserver *s);
const char *tmpserver_user(const struct tmpserver *s);
/* Any thread: a running tmpserver_start() fails soon with -ECANCELED. */
void tmpserver_cancel(struct tmpserver *s);
/* Kills the programs, waits for them, removes the directory.  NULL-safe. */
void tmpserver_free(struct tmpserver *s);

#endif
