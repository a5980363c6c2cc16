/* Inside the restore: the client stage (restore_client.c) used by
 * restore.c.  Not a public header. */
#ifndef DUMPER_RESTORE_PRIV_H
#define DUMPER_RESTORE_PRIV_H

#include "restore.h"
#include "strbuf.h"

/* Starts `client` (NULL = "mariadb") with its stdin as the stage's
 * output.  close() ends its input and waits: 0 when it exited 0, else
 * its first error line.  free() without close() kills it first (SIGKILL),
 * so it never executes a statement cut short. */
int sqlclient_start(struct writer **out, const char *client, const struct restore_target *t,
		    struct errbuf *err);
/* From any thread: SIGKILL now (cancel).  Safe on NULL. */
void sqlclient_kill(struct writer *w);
/* The [client] option file text for t (tests). */
void sqlclient_options(struct strbuf *sb, const struct restore_target *t);

#endif
