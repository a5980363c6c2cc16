/* `dumpfs restore --jobs N`: the SQL spread over one main client and N
 * data clients, all the stock client of restore_client.c (same option
 * memfd, --binary-mode, --sandbox).  See restore.h.
 *
 * Every statement runs on the main connection in the dump's order, but
 * the INSERTs of a table's data (a run of INSERT statements in a "Table"
 * section of a dumpfs dump), which go statement by statement to the data
 * connection with the shortest queue.  The two never overlap: before a
 * run of INSERTs starts, the main connection has executed everything it
 * was sent; before the next other statement is sent to it, every data
 * connection has executed its INSERTs.  So a table's definition precedes
 * its rows and its triggers follow all of them, on whichever connections;
 * the result is that of the one-connection restore.  Each data connection
 * first runs the dump's session header (its SET statements: character
 * set, time zone, UNIQUE_CHECKS=0, FOREIGN_KEY_CHECKS=0, sql_mode), and
 * USE for the table's database.
 *
 * Knowing what a connection executed: a marker statement, SELECT
 * '<nonce>:<n>', whose output the client prints on its stdout (read here
 * with its stderr).  Markers also bound what is remembered per
 * connection: which of its lines came from which SQL line and table, to
 * name the failing statement's line in the SQL and its table.
 *
 * The SQL is split only where a fresh client would be between statements
 * (sqlguard_at_fresh_start(), a second guard over exactly what is sent),
 * so every client sees whole statements, lexed as the guard lexed them.
 * A file that is not a dumpfs dump, or that changes the session after its
 * header, runs on the main connection only from there on.
 *
 * Memory: per connection a queue of at most QUEUE_CAP bytes not yet in
 * its pipe (and the writer's buffer of the same size), RUNS_MAX line
 * records; nothing grows with the dump.  The first failure (a client's
 * ERROR, or a client gone) kills every other client before it sees the
 * end of its input; free() without close() kills them all. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "restore_priv.h"
#include "sqlguard.h"
#include "strbuf.h"
#include "thread.h"

#define PREFIX_MAX  4096	/* enough of a line to classify it */
#define QUEUE_CAP   (2u << 20)	/* bytes queued for one client's pipe */
#define STAGE_FLUSH (64u << 10) /* staged by the splitter before queueing */
#define MARK_EVERY  16		/* statements between two markers */
#define RUNS_MAX    256		/* line records per connection */
#define NAME_MAX_   200		/* a database or table name kept for messages */
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
	bool cancelled;
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

static void lock(struct jobs *j)
{
	mutex_lock(&j->lock);
}

static void unlock(struct jobs *j)
{
	mutex_unlock(&j->lock);
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Under the lock: SIGKILL every client still running. */
static void kill_all_locked(struct jobs *j)
{
	for (unsigned i = 0; i < j->nconn; i++)
		if (j->c[i].pid && !j->c[i].exited)
			kill(j->c[i].pid, SIGKILL);
}

/* ---- the threads of a connection ---- */

/* Moves the queue into the client's stdin; closes it when told to. */
static void *writer_main(void *arg)
{
	struct jconn *c = arg;
	struct jobs *j = c->j;
	struct strbuf out = STRBUF_INIT, tmp;
	bool broken = false;

	lock(j);
	for (;;) {
		while (!c->q.len && !c->closing && !j->abort && !c->exited)
			cond_wait(&j->cond, &j->lock);
		if (j->abort || c->exited || broken || !c->q.len)
			break;
		tmp = c->q;
		c->q = out;
		out = tmp;
		cond_broadcast(&j->cond);
		unlock(j);
		/* EPIPE: the client is gone; its reader says why. */
		broken = fd_write_all(c->in_fd, out.buf, out.len) != 0;
		strbuf_reset(&out);
		lock(j);
	}
	strbuf_reset(&c->q);
	cond_broadcast(&j->cond);
	unlock(j);
	/* After a kill (abort, failure) or once all was written. */
	close(c->in_fd);
	c->in_fd = -1;
	strbuf_release(&out);
	return NULL;
}

static void reader_line(struct jconn *c, char *line)
{
	struct jobs *j = c->j;
	size_t n = strlen(j->nonce);

	lock(j);
	if (!strncmp(line, j->nonce, n) && line[n] == ':') {
		unsigned long long seq = strtoull(line + n + 1, NULL, 10);

		if (seq > c->acked && seq <= c->marker)
			c->acked = seq;
		cond_broadcast(&j->cond);
	} else if (starts(line, "ERROR ") && !c->errline[0]) {
		snprintf(c->errline, sizeof(c->errline), "%s", line);
	}
	unlock(j);
}

/* The client ended: the first unexpected end fails the restore and stops
 * every other client at once. */
static void reader_exit(struct jconn *c)
{
	struct jobs *j = c->j;
	siginfo_t si;
	pid_t pid = c->pid;
	int r;

	memset(&si, 0, sizeof(si));
	do /* WNOWAIT: a zombie keeps its pid until reaped, so kill() is safe */
		r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	while (r < 0 && errno == EINTR);
	lock(j);
	c->exited = true;
	c->exit_code = r == 0 && si.si_code == CLD_EXITED ? si.si_status : -1;
	c->exit_signal = r == 0 && si.si_code != CLD_EXITED ? si.si_status : 0;
	if ((c->exit_code != 0 || !c->closing) && !j->failed && !j->abort) {
		j->failed = (int)c->idx + 1;
		kill_all_locked(j);
	}
	c->pid = 0;
	cond_broadcast(&j->cond);
	unlock(j);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Reads the client's stdout and stderr: markers and its ERROR line. */
static void *reader_main(void *arg)
{
	struct jconn *c = arg;
	char buf[4096], line[ERRLINE_MAX];
	size_t ll = 0;
	ssize_t n;

	for (;;) {
		n = read(c->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				line[ll] = '\0';
				reader_line(c, line);
				ll = 0;
			} else if (ll < sizeof(line) - 1) {
				line[ll++] = buf[i];
			}
		}
	}
	line[ll] = '\0';
	if (ll)
		reader_line(c, line);
	reader_exit(c);
	return NULL;
}

static int conn_start(struct jobs *j, struct jconn *c, struct errbuf *err)
{
	pid_t pid;
	int ret;

	ret = sqlclient_spawn_piped(j->client, j->t, &pid, &c->in_fd, &c->out_fd, err);
	if (ret)
		return ret;
	lock(j);
	c->pid = pid;
	c->started = true;
	unlock(j);
	ret = thread_start_nosig(&c->reader, reader_main, c);
	if (!ret) {
		c->reader_on = true;
		ret = thread_start_nosig(&c->writer, writer_main, c);
		c->writer_on = !ret;
	}
	if (ret) {
		lock(j);
		j->abort = true;
		kill_all_locked(j);
		if (!c->reader_on) { /* nobody else reaps it */
			c->pid = 0;
			c->exited = true;
		}
		unlock(j);
		if (!c->reader_on)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		return error_set(err, ret, "cannot start a thread: %s", strerror(-ret));
	}
	return 0;
}

/* ---- failures ---- */

/* The failed connection's ERROR line, its line mapped to the SQL. */
static int failure(struct jobs *j, struct jconn *c, struct errbuf *err)
{
	const char *at = strstr(c->errline, " at line ");
	unsigned long long l = at ? strtoull(at + 9, NULL, 10) : 0;
	const char *msg = at ? strchr(at + 9, ':') : NULL;
	const struct run *r = NULL;
	char code[64] = "";

	for (size_t i = 0; l && i < c->nruns && c->runs[i].client_line <= l; i++)
		r = &c->runs[i];
	if (!at || !msg || !r || !r->sql_line) {
		if (c->errline[0])
			return error_set(err, -EIO,
					 "the server rejected the SQL (connection %u of %u): %s",
					 c->idx + 1, j->nconn, c->errline);
		if (c->exit_signal)
			return error_set(err, -EIO, "the '%s' client was killed by signal %d",
					 j->client, c->exit_signal);
		return error_set(err, -EIO,
				 "the '%s' client of connection %u ended early (exit %d)",
				 j->client, c->idx + 1, c->exit_code);
	}
	snprintf(code, sizeof(code), "%.*s", (int)(at - c->errline), c->errline);
	return error_set(err, -EIO,
			 "the server rejected the SQL at line %llu%s%s (connection %u of %u): "
			 "%s%s (the line number counts lines of the decrypted SQL, as `gpg -d "
			 "FILE | gunzip | sed -n NUMp` shows; the other connections were stopped)",
			 r->sql_line + (l - r->client_line), r->label[0] ? ", table " : "",
			 r->label, c->idx + 1, j->nconn, code, msg);
}

/* 0, or the error that stops the restore (reported once). */
static int check_locked(struct jobs *j, struct errbuf *err)
{
	if (j->failed)
		return failure(j, &j->c[j->failed - 1], err);
	if (j->abort)
		return error_set(err, -ECANCELED, "restore cancelled");
	return 0;
}

static int check(struct jobs *j, struct errbuf *err)
{
	int ret;

	lock(j);
	ret = check_locked(j, err);
	unlock(j);
	return ret;
}

/* ---- queues, markers, barriers ---- */

static int flush_stage(struct jobs *j, struct jconn *c, struct errbuf *err)
{
	int ret;

	if (strbuf_error(&c->stage))
		return error_set(err, -ENOMEM, "restore: out of memory");
	if (!c->stage.len)
		return 0;
	lock(j);
	while (!(ret = check_locked(j, err)) && c->q.len && c->q.len + c->stage.len > QUEUE_CAP)
		cond_wait(&j->cond, &j->lock);
	if (!ret) {
		strbuf_add(&c->q, c->stage.buf, c->stage.len);
		if (strbuf_error(&c->q))
			ret = error_set(err, -ENOMEM, "restore: out of memory");
		cond_broadcast(&j->cond);
	}
	unlock(j);
	strbuf_reset(&c->stage);
	return ret;
}

static int flush_all(struct jobs *j, struct errbuf *err)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < j->nconn; i++)
		if (j->c[i].started)
			ret = flush_stage(j, &j->c[i], err);
	return ret;
}

/* Under the lock: forgets the line records of what was executed. */
static void prune_locked(struct jconn *c)
{
	size_t k = 0;

	while (k < c->nruns && c->runs[k].done_seq <= c->acked)
		k++;
	memmove(c->runs, c->runs + k, (c->nruns - k) * sizeof(*c->runs));
	c->nruns -= k;
}

/* Lines of our own (not from the SQL) to c. */
static void send_own(struct jconn *c, const char *text)
{
	strbuf_addstr(&c->stage, text);
	for (const char *p = text; *p; p++)
		c->lines += *p == '\n';
	c->run_open = false;
}

static void send_marker(struct jobs *j, struct jconn *c)
{
	char sql[96];

	lock(j); /* the reader compares with it */
	c->marker++;
	unlock(j);
	snprintf(sql, sizeof(sql), "SELECT '%s:%llu';\n", j->nonce, c->marker);
	send_own(c, sql);
	c->stmts = 0;
}

static bool all_acked_locked(struct jobs *j, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		if (j->c[i].started && j->c[i].acked < j->c[i].marker)
			return false;
	return true;
}

/* Waits until connections [from, to) executed all they were sent. */
static int barrier(struct jobs *j, unsigned from, unsigned to, struct errbuf *err)
{
	int ret = 0;

	for (unsigned i = from; i < to; i++)
		if (j->c[i].started)
			send_marker(j, &j->c[i]);
	ret = flush_all(j, err);
	if (ret)
		return ret;
	lock(j);
	while (!(ret = check_locked(j, err)) && !all_acked_locked(j, from, to))
		cond_wait(&j->cond, &j->lock);
	for (unsigned i = from; i < to; i++)
		prune_locked(&j->c[i]);
	unlock(j);
	return ret;
}

/* Room for one more line record on c (a statement boundary). */
static int run_room(struct jobs *j, struct jconn *c, struct errbuf *err)
{
	int ret = 0;

	lock(j);
	prune_locked(c);
	unlock(j);
	if (c->nruns < RUNS_MAX - 1)
		return 0;
	send_marker(j, c);
	ret = flush_stage(j, c, err);
	lock(j);
	while (!ret && !(ret = check_locked(j, err)) && c->acked < c->marker)
		cond_wait(&j->cond, &j->lock);
	prune_locked(c);
	unlock(j);
	return ret;
}

/* ---- routing ---- */

/* Bytes of SQL line j->lineno + 1 to c; line_start: its first bytes. */
static int route(struct jobs *j, struct jconn *c, const char *p, size_t n, bool line_start,
		 struct errbuf *err)
{
	unsigned long long sql = j->lineno + 1;
	const char *label = c->idx ? j->label : "";
	int ret = 0;

	if (line_start && (!c->run_open || !c->nruns || c->last_sql + 1 != sql ||
			   strcmp(c->runs[c->nruns - 1].label, label))) {
		ret = run_room(j, c, err);
		if (ret)
			return ret;
		c->runs[c->nruns].client_line = c->lines + 1;
		c->runs[c->nruns].sql_line = sql;
		c->runs[c->nruns].done_seq = c->marker + 1;
		snprintf(c->runs[c->nruns].label, LABEL_MAX, "%s", label);
		c->nruns++;
		c->run_open = true;
	}
	c->last_sql = sql;
	strbuf_add(&c->stage, p, n);
	if (c->stage.len >= STAGE_FLUSH)
		ret = flush_stage(j, c, err);
	return ret;
}

/* `name` of "`name`" at s (backquotes doubled inside) into out; false
 * when not an identifier of a line, or too long. */
static bool parse_ident(const char *s, char *out, size_t size)
{
	size_t n = 0;

	if (*s++ != '`')
		return false;
	for (; *s; s++) {
		if (*s == '`' && s[1] != '`')
			return n > 0;
		if (*s == '`')
			s++;
		if ((unsigned char)*s < 0x20 || n + 1 >= size)
			return false;
		out[n++] = *s;
		out[n] = '\0';
	}
	return false;
}

static void add_ident(struct strbuf *sb, const char *name)
{
	strbuf_addch(sb, '`');
	for (; *name; name++) {
		if (*name == '`')
			strbuf_addch(sb, '`');
		strbuf_addch(sb, *name);
	}
	strbuf_addch(sb, '`');
}

static int start_workers(struct jobs *j, struct errbuf *err)
{
	int ret = 0;

	j->workers_up = true;
	for (unsigned i = 1; !ret && i < j->nconn; i++) {
		ret = conn_start(j, &j->c[i], err);
		if (!ret)
			send_own(&j->c[i], strbuf_str(&j->hdr));
	}
	return ret;
}

/* The data connection with the least queued, once one has room. */
static int pick_worker(struct jobs *j, struct jconn **out, struct errbuf *err)
{
	struct jconn *best = NULL;
	int ret;

	ret = flush_all(j, err);
	lock(j);
	while (!ret && !(ret = check_locked(j, err))) {
		best = NULL;
		/* From the one after the last chosen: idle ones take turns. */
		for (unsigned k = 0; k < j->nconn - 1; k++) {
			struct jconn *c = &j->c[1 + (j->next + k) % (j->nconn - 1)];

			if (!best || c->q.len < best->q.len)
				best = c;
		}
		if (best->q.len <= QUEUE_CAP / 2)
			break;
		cond_wait(&j->cond, &j->lock);
	}
	unlock(j);
	*out = best;
	if (best)
		j->next = best->idx % (j->nconn - 1);
	return ret;
}

static int to_data(struct jobs *j, struct errbuf *err)
{
	struct jconn *c;
	int ret = 0;

	if (j->main_out)
		ret = barrier(j, 0, 1, err);
	j->main_out = false;
	if (!ret && !j->workers_up)
		ret = start_workers(j, err);
	if (!ret)
		ret = pick_worker(j, &c, err);
	if (ret)
		return ret;
	if (strcmp(c->db, j->db)) {
		struct strbuf use = STRBUF_INIT;

		strbuf_addstr(&use, "USE ");
		add_ident(&use, j->db);
		strbuf_addstr(&use, ";\n");
		if (strbuf_error(&use))
			return error_set(err, -ENOMEM, "restore: out of memory");
		send_own(c, use.buf);
		strbuf_release(&use);
		snprintf(c->db, sizeof(c->db), "%s", j->db);
	}
	j->dest = c;
	j->data_out = true;
	return 0;
}

static int to_main(struct jobs *j, struct errbuf *err)
{
	int ret = 0;

	if (j->data_out)
		ret = barrier(j, 1, j->nconn, err);
	j->data_out = false;
	j->main_out = true;
	j->dest = &j->c[0];
	return ret;
}

/* ---- the splitter ---- */

static void note_section(struct jobs *j, const char *line)
{
	static const struct {
		const char *prefix;
		enum section sec;
	} kinds[] = {
		{"-- Table ", SEC_TABLE},	{"-- Database ", SEC_OTHER},
		{"-- Sequence ", SEC_OTHER},	{"-- Stand-in for view ", SEC_OTHER},
		{"-- View ", SEC_PROGRAM},	{"-- Trigger ", SEC_PROGRAM},
		{"-- Event ", SEC_PROGRAM},	{"-- FUNCTION ", SEC_PROGRAM},
		{"-- PROCEDURE ", SEC_PROGRAM}, {"-- PACKAGE ", SEC_PROGRAM},
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (starts(line, kinds[i].prefix))
			j->section = kinds[i].sec;
}

/* Where a statement starting with `s` goes (at a fresh start). */
static int classify(struct jobs *j, const char *s, struct errbuf *err)
{
	char name[NAME_MAX_];

	if (j->hdr_open && starts(s, "SET ")) {
		j->main_out = true;
		j->dest = &j->c[0];
		return 0;
	}
	j->hdr_open = false;
	if (starts(s, "USE ")) {
		if (!parse_ident(s + 4, j->db, sizeof(j->db)))
			j->parallel = false;
	} else if (starts(s, "INSERT INTO ") && j->parallel && j->section == SEC_TABLE &&
		   j->db[0]) {
		if (!parse_ident(s + 12, name, sizeof(name)))
			snprintf(name, sizeof(name), "?");
		snprintf(j->label, sizeof(j->label), "`%s`.`%s`", j->db, name);
		return to_data(j, err);
	} else if (starts(s, "SET ") && j->section != SEC_PROGRAM) {
		j->parallel = false; /* the session changes: data no longer elsewhere */
	}
	return to_main(j, err);
}

static bool comment_or_blank(const char *s)
{
	s += strspn(s, " \t\r\n");
	return !*s || starts(s, "--") || *s == '#';
}

static void line_end(struct jobs *j)
{
	struct jconn *c = j->dest;

	j->lineno++;
	c->lines++;
	j->fresh = sqlguard_at_fresh_start(j->guard);
	if (j->fresh && j->stmt_open) {
		j->stmt_open = false;
		if (++c->stmts >= MARK_EVERY)
			send_marker(j, c);
	}
}

/* A line at a fresh start, known whole or by its first PREFIX_MAX bytes. */
static int fresh_line(struct jobs *j, size_t n, bool whole, struct errbuf *err)
{
	int ret = 0;

	j->line[n] = '\0';
	if (whole && comment_or_blank(j->line)) {
		ret = sqlguard_feed(j->guard, j->line, n, err);
		if (!ret && sqlguard_at_fresh_start(j->guard)) {
			note_section(j, j->line);
			return route(j, j->dest, j->line, n, true, err);
		}
		if (!ret)
			ret = to_main(j, err); /* a statement after all */
		j->stmt_open = true;
		return ret ? ret : route(j, j->dest, j->line, n, true, err);
	}
	ret = classify(j, j->line, err);
	if (!ret && j->hdr_open) {
		strbuf_add(&j->hdr, j->line, n);
		if (!whole || j->hdr.len > 65536)
			j->parallel = false;
	}
	if (!ret)
		ret = sqlguard_feed(j->guard, j->line, n, err);
	j->stmt_open = true;
	return ret ? ret : route(j, j->dest, j->line, n, true, err);
}

/* The first PREFIX_MAX bytes of a line, or all of it. */
static int start_line(struct jobs *j, bool whole, struct errbuf *err)
{
	size_t n = j->len;
	int ret;

	j->len = 0;
	if (!j->lineno && !j->dest) {
		j->line[n] = '\0';
		j->dumpfs = starts(j->line, "-- dumpfs ");
		j->parallel = j->dumpfs && j->nconn > 1;
		j->dest = &j->c[0];
	}
	if (j->fresh) {
		ret = fresh_line(j, n, whole, err);
	} else {
		ret = sqlguard_feed(j->guard, j->line, n, err);
		if (!ret && j->hdr_open)
			strbuf_add(&j->hdr, j->line, n);
		if (!ret)
			ret = route(j, j->dest, j->line, n, true, err);
	}
	if (!ret && whole)
		line_end(j);
	j->streaming = !ret && !whole;
	return ret;
}

/* The rest of a long line: to where its start went. */
static size_t stream_rest(struct jobs *j, const char *p, size_t len, int *ret, struct errbuf *err)
{
	const char *nl = memchr(p, '\n', len);
	size_t n = nl ? (size_t)(nl - p) + 1 : len;

	*ret = sqlguard_feed(j->guard, p, n, err);
	if (!*ret && j->hdr_open)
		j->parallel = false;
	if (!*ret)
		*ret = route(j, j->dest, p, n, false, err);
	if (!*ret && nl) {
		j->streaming = false;
		line_end(j);
	}
	return n;
}

static int jobs_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct jobs *j = (struct jobs *)w;
	const char *p = buf;
	int ret = 0;

	if (j->broken)
		return error_set(err, -EIO, "restore: an earlier write failed");
	while (len && !ret) {
		size_t n;

		if (j->streaming) {
			n = stream_rest(j, p, len, &ret, err);
		} else {
			const char *nl = memchr(p, '\n', len);
			size_t want = nl ? (size_t)(nl - p) + 1 : len;

			n = want < PREFIX_MAX - j->len ? want : PREFIX_MAX - j->len;
			memcpy(j->line + j->len, p, n);
			j->len += n;
			if (j->line[j->len - 1] == '\n')
				ret = start_line(j, true, err);
			else if (j->len == PREFIX_MAX)
				ret = start_line(j, false, err);
		}
		p += n;
		len -= n;
	}
	if (!ret)
		ret = flush_all(j, err);
	if (!ret)
		ret = check(j, err);
	j->broken = ret != 0;
	return ret;
}

static bool all_exited_locked(struct jobs *j)
{
	for (unsigned i = 0; i < j->nconn; i++)
		if (j->c[i].started && !j->c[i].exited)
			return false;
	return true;
}

/* Every client gets the end of its input and must exit 0. */
static int jobs_close(struct writer *w, struct errbuf *err)
{
	struct jobs *j = (struct jobs *)w;
	int ret;

	if (j->broken)
		return error_set(err, -EIO, "restore: an earlier write failed");
	j->broken = true;
	if (j->len || j->streaming)
		return error_set(err, -EPROTO, "restore: the SQL ends inside a line");
	ret = j->data_out ? barrier(j, 1, j->nconn, err) : 0;
	if (!ret)
		ret = flush_all(j, err);
	if (ret)
		return ret;
	lock(j);
	for (unsigned i = 0; i < j->nconn; i++)
		j->c[i].closing = true;
	cond_broadcast(&j->cond);
	while (!(ret = check_locked(j, err)) && !all_exited_locked(j))
		cond_wait(&j->cond, &j->lock);
	unlock(j);
	return ret;
}

void sqljobs_kill(struct writer *w)
{
	struct jobs *j = (struct jobs *)w;

	if (!j)
		return;
	lock(j);
	j->abort = true;
	kill_all_locked(j);
	cond_broadcast(&j->cond);
	unlock(j);
}

static void jobs_free(struct writer *w)
{
	struct jobs *j = (struct jobs *)w;

	if (!j)
		return;
	sqljobs_kill(w); /* not closed: no client may see the end of its input */
	for (unsigned i = 0; i < j->nconn; i++) {
		struct jconn *c = &j->c[i];

		if (c->writer_on)
			thread_join(c->writer);
		else if (c->in_fd >= 0)
			close(c->in_fd);
		if (c->reader_on)
			thread_join(c->reader);
		if (c->out_fd >= 0)
			close(c->out_fd);
		strbuf_release(&c->q);
		strbuf_release(&c->stage);
		free(c->runs);
	}
	sqlguard_free(j->guard);
	strbuf_release(&j->hdr);
	if (j->sync_on) {
		cond_destroy(&j->cond);
		mutex_destroy(&j->lock);
	}
	free(j->c);
	free(j->client);
	free(j);
}

static const struct writer_ops jobs_ops = {"mariadb clients", jobs_write, jobs_close, jobs_free};

static int jobs_alloc(struct jobs *j, unsigned jobs)
{
	unsigned char rnd[8];

	j->nconn = jobs + 1;
	j->c = calloc(j->nconn, sizeof(*j->c));
	if (!j->c || getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(j->nonce + 2 * i, 3, "%02x", rnd[i]);
	for (unsigned i = 0; i < j->nconn; i++) {
		j->c[i].j = j;
		j->c[i].idx = i;
		j->c[i].in_fd = j->c[i].out_fd = -1;
		j->c[i].runs = calloc(RUNS_MAX, sizeof(struct run));
		if (!j->c[i].runs)
			return -1;
	}
	return 0;
}

int sqljobs_start(struct writer **out, const char *client, const struct restore_target *t,
		  unsigned jobs, struct errbuf *err)
{
	struct jobs *j = calloc(1, sizeof(*j));
	int ret;

	*out = NULL;
	if (!j)
		return error_set(err, -ENOMEM, "restore: out of memory");
	j->w.ops = &jobs_ops;
	j->t = t;
	j->fresh = j->hdr_open = true;
	if (mutex_init(&j->lock)) {
		free(j);
		return error_set(err, -ENOMEM, "restore: cannot create a lock");
	}
	if (cond_init(&j->cond, false)) {
		mutex_destroy(&j->lock);
		free(j);
		return error_set(err, -ENOMEM, "restore: cannot create a condition variable");
	}
	j->sync_on = true;
	if (!(j->client = strdup(client ? client : "mariadb")) || !(j->guard = sqlguard_new()) ||
	    jobs_alloc(j, jobs < 1 ? 1 : jobs)) {
		jobs_free(&j->w);
		return error_set(err, -ENOMEM, "restore: out of memory");
	}
	ret = conn_start(j, &j->c[0], err);
	if (ret) {
		jobs_free(&j->w);
		return ret;
	}
	*out = &j->w;
	return 0;
}
