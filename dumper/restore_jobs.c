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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "restore_jobs_priv.h"
#include "sqlquote.h"

#define STAGE_FLUSH (64u << 10) /* staged by the splitter before queueing */
#define MARK_EVERY  16		/* statements between two markers */

/* Bytes of SQL line j->lineno + 1 to c; line_start: its first bytes. */
static int route(struct jobs *j, struct jconn *c, const char *p, size_t n, bool line_start,
		 struct errbuf *err)
{
	unsigned long long sql = j->lineno + 1;
	const char *label = c->idx ? j->label : "";
	int ret = 0;

	if (line_start && (!c->run_open || !c->nruns || c->last_sql + 1 != sql ||
			   strcmp(c->runs[c->nruns - 1].label, label))) {
		ret = jconn_run_room(j, c, err);
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
		ret = jconn_flush(j, c, err);
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

static int start_workers(struct jobs *j, struct errbuf *err)
{
	int ret = 0;

	j->workers_up = true;
	for (unsigned i = 1; !ret && i < j->nconn; i++) {
		ret = jconn_start(j, &j->c[i], err);
		if (!ret)
			jconn_send_own(&j->c[i], strbuf_str(&j->hdr));
	}
	return ret;
}

/* The data connection with the least queued, once one has room. */
static int pick_worker(struct jobs *j, struct jconn **out, struct errbuf *err)
{
	struct jconn *best = NULL;
	int ret;

	ret = jobs_flush_all(j, err);
	lock(j);
	while (!ret && !(ret = jobs_check_locked(j, err))) {
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
		ret = jobs_barrier(j, 0, 1, err);
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
		sql_add_ident(&use, j->db);
		strbuf_addstr(&use, ";\n");
		if (strbuf_error(&use))
			return error_set(err, -ENOMEM, "restore: out of memory");
		jconn_send_own(c, use.buf);
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
		ret = jobs_barrier(j, 1, j->nconn, err);
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
			jconn_send_marker(j, c);
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
		ret = jobs_flush_all(j, err);
	if (!ret)
		ret = jobs_check(j, err);
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
	ret = j->data_out ? jobs_barrier(j, 1, j->nconn, err) : 0;
	if (!ret)
		ret = jobs_flush_all(j, err);
	if (ret)
		return ret;
	lock(j);
	for (unsigned i = 0; i < j->nconn; i++)
		j->c[i].closing = true;
	cond_broadcast(&j->cond);
	while (!(ret = jobs_check_locked(j, err)) && !all_exited_locked(j))
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
	jobs_kill_all_locked(j);
	cond_broadcast(&j->cond);
	unlock(j);
}

static void jobs_free(struct writer *w)
{
	struct jobs *j = (struct jobs *)w;

	if (!j)
		return;
	sqljobs_kill(w); /* not closed: no client may see the end of its input */
	for (unsigned i = 0; i < j->nconn; i++)
		jconn_release(&j->c[i]);
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
	ret = jconn_start(j, &j->c[0], err);
	if (ret) {
		jobs_free(&j->w);
		return ret;
	}
	*out = &j->w;
	return 0;
}
