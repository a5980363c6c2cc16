/* `restore --jobs` inside (restore_jobs.c, restore_conns.c): the state
 * of the splitter and of its connections, and what the connections' side
 * offers the splitter.  Not for other modules: restore_priv.h has the
 * entry points (sqljobs_start, sqljobs_kill).
 *
 * Invariants: j->lock guards what is marked "under j->lock"; a connection's
 * writer and reader threads touch only their own fds and, under the lock,
 * its queue, acked, errline and exit fields; everything else belongs to
 * the thread calling the writer (the splitter). */
#ifndef DUMPER_RESTORE_JOBS_PRIV_H
#define DUMPER_RESTORE_JOBS_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "restore_priv.h"
#include "sqlguard.h"
#include "strbuf.h"
#include "thread.h"
#include "writer.h"

#define PREFIX_MAX  4096       /* enough of a line to classify it */
#define QUEUE_CAP   (2u << 20) /* bytes queued for one client's pipe */
#define RUNS_MAX    256	       /* line records per connection */
#define NAME_MAX_   200	       /* a database or table name kept for messages */
#define LABEL_MAX   (2 * NAME_MAX_ + 8)
#define ERRLINE_MAX 1024

enum section { SEC_NONE, SEC_TABLE, SEC_OTHER, SEC_PROGRAM };

/* Lines client_line.. of a connection are SQL lines sql_line.. (0: ours). */
struct run {
	unsigned long long client_line, sql_line;
	unsigned long long done_seq; /* executed once this marker is seen */
	char label[LABEL_MAX];	     /* the table, or "" */
};

struct jconn {
	struct jobs *j;
	unsigned idx; /* 0: the main connection */
	bool started;
	/* Under j->lock. */
	pid_t pid; /* 0 once it exited (a zombie until reaped) */
	bool exited, closing;
	int exit_code, exit_signal;
	struct strbuf q; /* for its stdin */
	unsigned long long acked;
	char errline[ERRLINE_MAX];
	/* The writer's and the reader's. */
	int in_fd, out_fd;
	pthread_t writer, reader;
	bool writer_on, reader_on;
	/* The splitter's (the thread calling write/close). */
	struct strbuf stage;
	unsigned long long lines, marker, last_sql;
	unsigned stmts;
	bool run_open;
	struct run *runs;
	size_t nruns;
	char db[NAME_MAX_];
};

struct jobs {
	struct writer w;
	char *client;
	const struct restore_target *t;
	unsigned nconn; /* main + data connections */
	struct jconn *c;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int failed; /* under lock: 1 + the first failed connection */
	bool abort; /* under lock: free() or cancel */
	bool workers_up;
	bool sync_on;  /* lock and cond initialised */
	unsigned next; /* the data connection to try first, from 0 */
	char nonce[17];
	struct sqlguard *guard;
	/* The splitter. */
	char line[PREFIX_MAX + 1];
	size_t len;
	bool streaming, fresh, stmt_open, dumpfs, parallel, hdr_open, data_out, main_out;
	unsigned long long lineno; /* lines done */
	struct jconn *dest;
	enum section section;
	struct strbuf hdr;
	char db[NAME_MAX_];
	char label[LABEL_MAX];
	bool broken; /* a write or close failed */
};

static inline void lock(struct jobs *j)
{
	mutex_lock(&j->lock);
}

static inline void unlock(struct jobs *j)
{
	mutex_unlock(&j->lock);
}

static inline bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* ---- restore_conns.c: the clients, their queues and markers ---- */

/* Spawns c's client and starts its writer and reader threads. */
int jconn_start(struct jobs *j, struct jconn *c, struct errbuf *err);
/* Joins c's threads (its client killed or done first), closes its fds,
 * frees its buffers. */
void jconn_release(struct jconn *c);
/* Under the lock: SIGKILL every client still running. */
void jobs_kill_all_locked(struct jobs *j);
/* 0, or the error that stops the restore: the first failed connection's
 * statement (its SQL line and table), or -ECANCELED. */
int jobs_check_locked(struct jobs *j, struct errbuf *err);
int jobs_check(struct jobs *j, struct errbuf *err);
/* c's staged bytes into its queue, waiting for room. */
int jconn_flush(struct jobs *j, struct jconn *c, struct errbuf *err);
int jobs_flush_all(struct jobs *j, struct errbuf *err);
/* Lines of our own (not from the SQL), staged for c. */
void jconn_send_own(struct jconn *c, const char *text);
/* A marker statement staged for c: once its output is read, c has
 * executed all it was sent before. */
void jconn_send_marker(struct jobs *j, struct jconn *c);
/* Waits until connections [from, to) executed all they were sent. */
int jobs_barrier(struct jobs *j, unsigned from, unsigned to, struct errbuf *err);
/* Room for one more line record on c (at a statement boundary). */
int jconn_run_room(struct jobs *j, struct jconn *c, struct errbuf *err);

#endif
