/* Inside the restore: the client stage (restore_client.c) used by
 * restore.c.  Not a public header. */
#ifndef DUMPER_RESTORE_PRIV_H
#define DUMPER_RESTORE_PRIV_H

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
/* From any thread: SIGKILL every client now (cancel).  Safe on NULL. */
void sqljobs_kill(struct writer *w);
/* From any thread: SIGKILL now (cancel).  Safe on NULL. */
void sqlclient_kill(struct writer *w);
/* The [client] option file text for t (tests). */
void sqlclient_options(struct strbuf *sb, const struct restore_target *t);

#endif
