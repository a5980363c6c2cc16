/* Inside the restore: the client stage (restore_client.c) used by
 * restore.c.  Not a public header. */
#ifndef DUMPER_RESTORE_PRIV_H
#define DUMPER_RESTORE_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#include "restore.h"
#include "strbuf.h"

/* Starts `client` (NULL = "mariadb") with its stdin as the stage's
 * output.  close() ends its input and waits: 0 when it exited 0, else
 * its first error line.  free() without close() kills it first (SIGKILL),
 * so it never executes a statement cut short. */
int sqlclient_start(struct writer **out, const char *client, const struct restore_target *t,
		    struct errbuf *err);
/* For `restore --jobs` (restore_jobs.c): the same client, sandbox and
 * option memfd, with its stdout and stderr both on *out_fd (read end)
 * and --skip-column-names; *in_fd is its stdin.  Both fds are CLOEXEC
 * and the caller's; so is reaping *pid. */
int sqlclient_spawn_piped(const char *client, const struct restore_target *t, pid_t *pid,
			  int *in_fd, int *out_fd, struct errbuf *err);
/* `restore --jobs` (restore_jobs.c): like sqlclient_start(), the SQL
 * spread over one main and `jobs` data clients (the data of tables,
 * statement by statement; everything else on the main one, in order).
 * close() fails with the first failed statement, its SQL line and table;
 * free() without close() kills every client. */
int sqljobs_start(struct writer **out, const char *client, const struct restore_target *t,
		  unsigned jobs, struct errbuf *err);
/* Starts argv[0] (from PATH) with stdin in_r, stdout out_w (< 0:
 * /dev/null), stderr err_w and, when fd3 >= 0, fd 3; default signal
 * dispositions and an empty mask.  The fds stay the caller's. */
int restore_spawn(char *const argv[], int in_r, int out_w, int err_w, int fd3, pid_t *pid,
		  struct errbuf *err);
/* From any thread: SIGKILL every client now (cancel).  Safe on NULL. */
void sqljobs_kill(struct writer *w);
/* From any thread: SIGKILL now (cancel).  Safe on NULL. */
void sqlclient_kill(struct writer *w);
/* The [client] option file text for t (tests). */
void sqlclient_options(struct strbuf *sb, const struct restore_target *t);

/* ---- restore.c, for restore_pitr.c ---- */

/* The sidecar (when there is one: *sidecar_checked) and OpenPGP shape of
 * the file at fd. */
int restore_check_file(int fd, const char *file, bool *sidecar_checked, struct errbuf *err);
/* Decrypts the whole file at fd (rewound first) into next. */
int restore_decrypt(struct restore *r, int fd, const char *file, struct writer *next,
		    struct errbuf *err);
bool restore_cancelled(struct restore *r);
const struct restore_opts *restore_options(const struct restore *r);
/* The restore's destination (the one client, or out_fd), killed by
 * restore_cancel() while open; restore_sink_free() after close(). */
int restore_sink_open(struct restore *r, struct writer **sink, struct errbuf *err);
void restore_sink_free(struct restore *r, struct writer *sink);

/* ---- restore_pitr.c: point-in-time recovery (restore.h, pitr) ---- */

struct pitr;

/* Reads the dump's header (its binlog position, its time), finds and
 * checks every segment from there to the wanted time.  Refuses a dump
 * without a position, a time before the dump, a gap.  Loads nothing. */
int pitr_prepare(struct restore *r, int dump_fd, struct pitr **out, struct errbuf *err);
/* A database the restore loaded: its events are replayed. */
void pitr_add_database(void *pitr, const char *name);
/* Replays the prepared segments into the restore's destination. */
int pitr_replay(struct restore *r, struct pitr *p, struct restore_stats *st, struct errbuf *err);
void pitr_free(struct pitr *p);

#endif
