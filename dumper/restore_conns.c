/* `restore --jobs`: the clients (restore_jobs_priv.h).  Each connection
 * is a sandboxed client of restore_client.c with a writer thread that
 * moves its queue into the client's stdin and a reader thread that reads
 * its stdout and stderr: the markers it executed and its ERROR line.  The
 * first client that ends unexpectedly fails the restore and kills every
 * other one before it sees the end of its input. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "restore_jobs_priv.h"

/* Under the lock: SIGKILL every client still running. */
void jobs_kill_all_locked(struct jobs *j)
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
		jobs_kill_all_locked(j);
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

int jconn_start(struct jobs *j, struct jconn *c, struct errbuf *err)
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
		jobs_kill_all_locked(j);
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
int jobs_check_locked(struct jobs *j, struct errbuf *err)
{
	if (j->failed)
		return failure(j, &j->c[j->failed - 1], err);
	if (j->abort)
		return error_set(err, -ECANCELED, "restore cancelled");
	return 0;
}

int jobs_check(struct jobs *j, struct errbuf *err)
{
	int ret;

	lock(j);
	ret = jobs_check_locked(j, err);
	unlock(j);
	return ret;
}

/* ---- queues, markers, barriers ---- */

int jconn_flush(struct jobs *j, struct jconn *c, struct errbuf *err)
{
	int ret;

	if (strbuf_error(&c->stage))
		return error_set(err, -ENOMEM, "restore: out of memory");
	if (!c->stage.len)
		return 0;
	lock(j);
	while (!(ret = jobs_check_locked(j, err)) && c->q.len &&
	       c->q.len + c->stage.len > QUEUE_CAP)
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

int jobs_flush_all(struct jobs *j, struct errbuf *err)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < j->nconn; i++)
		if (j->c[i].started)
			ret = jconn_flush(j, &j->c[i], err);
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
void jconn_send_own(struct jconn *c, const char *text)
{
	strbuf_addstr(&c->stage, text);
	for (const char *p = text; *p; p++)
		c->lines += *p == '\n';
	c->run_open = false;
}

void jconn_send_marker(struct jobs *j, struct jconn *c)
{
	char sql[96];

	lock(j); /* the reader compares with it */
	c->marker++;
	unlock(j);
	snprintf(sql, sizeof(sql), "SELECT '%s:%llu';\n", j->nonce, c->marker);
	jconn_send_own(c, sql);
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
int jobs_barrier(struct jobs *j, unsigned from, unsigned to, struct errbuf *err)
{
	int ret = 0;

	for (unsigned i = from; i < to; i++)
		if (j->c[i].started)
			jconn_send_marker(j, &j->c[i]);
	ret = jobs_flush_all(j, err);
	if (ret)
		return ret;
	lock(j);
	while (!(ret = jobs_check_locked(j, err)) && !all_acked_locked(j, from, to))
		cond_wait(&j->cond, &j->lock);
	for (unsigned i = from; i < to; i++)
		prune_locked(&j->c[i]);
	unlock(j);
	return ret;
}

/* Room for one more line record on c (a statement boundary). */
int jconn_run_room(struct jobs *j, struct jconn *c, struct errbuf *err)
{
	int ret = 0;

	lock(j);
	prune_locked(c);
	unlock(j);
	if (c->nruns < RUNS_MAX - 1)
		return 0;
	jconn_send_marker(j, c);
	ret = jconn_flush(j, c, err);
	lock(j);
	while (!ret && !(ret = jobs_check_locked(j, err)) && c->acked < c->marker)
		cond_wait(&j->cond, &j->lock);
	prune_locked(c);
	unlock(j);
	return ret;
}

/* ---- routing ---- */
void jconn_release(struct jconn *c)
{
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
