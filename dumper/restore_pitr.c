/* Point-in-time recovery (restore.h, docs/pitr.md): the dump, then the
 * archived binlog from the dump's position up to a time.
 *
 *   segment --decrypt--> gunzip --> binlog_filter --> mariadb-binlog
 *       (one feeder thread, segment after segment, one stream)
 *   mariadb-binlog's SQL --> sqlguard (mariadb-binlog's \C allowed) --> client
 *
 * Before anything is loaded every segment needed is read once in full:
 * sidecar, OpenPGP shape, decryption, every event (binlog_filter.h), and
 * the chain: each starts where the previous ended, or, after a rotate
 * event, at the start of the file it names (restore_pitr_chain.c).  The
 * replay reads them again and fails, killing the client, if one changed
 * in between.
 *
 * dumpfs, not mariadb-binlog --stop-datetime, ends the stream at the
 * first event stamped at or after the time: mariadb-binlog would stop
 * reading mid-stream and break the pipe feeding it.  An open transaction
 * at the cut is rolled back by the ROLLBACK mariadb-binlog ends with. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binlog_filter.h"
#include "progpath.h"
#include "restore_pitr_priv.h"
#include "sink.h"
#include "sqlguard.h"
#include "strbuf.h"
#include "thread.h"
#include "timefmt.h"

#define HEADER_MAX   65536 /* the dump's header is read up to here */
#define READ_CHUNK   65536
#define STAMP_LEN    17 /* "YYYY-MM-DD_HHMMSS" */
#define TOOL_ERR_MAX 512

/* ---- the dump's header ---- */

struct headgrab {
	struct writer w;
	struct strbuf text;
	bool done;
};

static int hg_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct headgrab *h = (struct headgrab *)w;
	const char *end;

	strbuf_add(&h->text, buf, len);
	if (strbuf_error(&h->text))
		return error_set(err, -ENOMEM, "out of memory");
	/* The header ends at its first line that is not a comment. */
	for (const char *l = h->text.buf;
	     (end = memchr(l, '\n', h->text.len - (size_t)(l - h->text.buf))); l = end + 1)
		if (strncmp(l, "--", 2) && end > l) {
			h->done = true;
			return error_set(err, -ECANCELED, "header read");
		}
	if (h->text.len > HEADER_MAX) {
		h->done = true;
		return error_set(err, -ECANCELED, "header read");
	}
	return 0;
}

static int hg_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void hg_free(struct writer *w)
{
	(void)w;
}

static const struct writer_ops headgrab_ops = {"header reader", hg_write, hg_close, hg_free};

/* The header's lines: "-- Started: <ISO 8601 UTC>" and
 * "--   CHANGE MASTER TO MASTER_LOG_FILE='<file>', MASTER_LOG_POS=<n>;". */
static int parse_header(struct pitr *p, const char *file, const char *text, struct errbuf *err)
{
	const char *s = strstr(text, "\n-- Started: ");
	char name[BINLOG_FILE_MAX + 2];
	unsigned long long pos;
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s || !strptime(s + 13, "%Y-%m-%dT%H:%M:%SZ", &tm) || (p->started = timegm(&tm)) <= 0)
		return error_set(err, -EINVAL,
				 "'%s' has no dump start time in its header: not a dumpfs dump",
				 file);
	s = strstr(text, "\n--   CHANGE MASTER TO MASTER_LOG_FILE='");
	if (!s)
		return error_set(err, -ENOENT,
				 "'%s' was taken without the binary log (its header has no binlog "
				 "position): there is nothing to replay from; restore without "
				 "--until, or use a dump taken with log_bin on",
				 file);
	if (sscanf(s,
		   "\n--   CHANGE MASTER TO MASTER_LOG_FILE='%129[A-Za-z0-9._-]', "
		   "MASTER_LOG_POS=%llu;%n",
		   name, &pos, &n) != 2 ||
	    !n || !binlog_file_name_valid(name) || pos < 4)
		return error_set(err, -EINVAL,
				 "'%s' has an unreadable binlog position in its header", file);
	memcpy(p->from.file, name, strlen(name) + 1); /* valid: at most BINLOG_FILE_MAX */
	p->from.pos = pos;
	return 0;
}

/* Cuts the text after the header: its comment lines up to the first
 * line that is not one (what follows is SQL, which may hold anything). */
static void header_only(struct strbuf *text)
{
	const char *l = text->buf, *end;

	if (!l)
		return;
	for (; (end = memchr(l, '\n', text->len - (size_t)(l - text->buf))); l = end + 1)
		if (strncmp(l, "--", 2) && end > l)
			break;
	text->len = (size_t)(l - text->buf);
}

static int read_header(struct restore *r, struct pitr *p, int fd, const char *file,
		       struct errbuf *err)
{
	struct headgrab h = {{&headgrab_ops}, STRBUF_INIT, false};
	struct writer *gz = NULL;
	int ret = gunzipstage_new(&gz, &h.w, NULL, err);

	if (!ret)
		ret = restore_decrypt(r, fd, file, gz, err);
	if (!ret)
		ret = writer_close(gz, err);
	writer_free(gz);
	if (h.done || !ret) {
		errbuf_clear(err);
		header_only(&h.text);
		strbuf_addch(&h.text, '\0');
		ret = strbuf_error(&h.text) ? error_set(err, -ENOMEM, "out of memory")
					    : parse_header(p, file, h.text.buf, err);
	}
	strbuf_release(&h.text);
	return ret;
}

static int default_dir(const char *file, char **out)
{
	const char *slash = strrchr(file, '/');
	int n = slash ? asprintf(out, "%.*s/binlog", (int)(slash - file), file)
		      : asprintf(out, "binlog");

	if (n < 0)
		*out = NULL;
	return n < 0 ? -ENOMEM : 0;
}

/* The archive holds nothing at or after --until (or, with latest, nothing
 * after the dump): it may lag, or the server was idle; said, not refused. */
static void archive_ends(const struct restore_opts *o, const struct pitr *p)
{
	char when[ISO8601_LEN] = "";

	if (p->n)
		iso8601_local(p->segs[p->n - 1].last_time, when);
	logger_log(o->log, LOGL_WARN, "pitr_archive_ends",
		   "dir=\"%s\" last_event=\"%s\" note=\"%s: everything archived after the dump "
		   "is replayed; events the streamer has not archived yet are not\"",
		   p->dir, p->n ? when : "none after the dump",
		   o->has_until ? "the archive holds no event at or after --until"
				: "the archive holds no event after the dump");
}

/* The replaying tool must be there before anything is loaded. */
static int find_tool(const char *tool, struct errbuf *err)
{
	char path[PATH_MAX];

	if (progpath_find(tool, NULL, path, sizeof(path)))
		return 0;
	return error_set(err, -ENOENT,
			 "'%s' is not in PATH: install mariadb-client (restore --until replays "
			 "the binlog through it); restore refused, nothing was loaded",
			 tool);
}

int pitr_prepare(struct restore *r, int dump_fd, struct pitr **out, struct errbuf *err)
{
	const struct restore_opts *o = restore_options(r);
	struct pitr *p = calloc(1, sizeof(*p));
	struct binlog_seginfo *info = malloc(sizeof(*info));
	struct segname *all = NULL;
	size_t n = 0;
	char when[ISO8601_LEN];
	int ret;

	*out = NULL;
	if (!p || !info) {
		free(p);
		free(info);
		return error_set(err, -ENOMEM, "out of memory");
	}
	ret = find_tool(o->binlog_tool ? o->binlog_tool : "mariadb-binlog", err);
	if (!ret)
		ret = read_header(r, p, dump_fd, o->file, err);
	if (!ret && o->has_until && o->until <= p->started) {
		iso8601_local(p->started, when);
		ret = error_set(err, -EINVAL,
				"--until is before the dump '%s' was taken (%s): restore an "
				"older dump",
				o->file, when);
	}
	if (!ret && o->binlog_dir && !(p->dir = strdup(o->binlog_dir)))
		ret = error_set(err, -ENOMEM, "out of memory");
	if (!ret && !o->binlog_dir && default_dir(o->file, &p->dir))
		ret = error_set(err, -ENOMEM, "out of memory");
	if (!ret)
		ret = pitr_list_segments(p->dir, &all, &n, err);
	if (!ret)
		ret = pitr_build_chain(r, p, all, n, info, err);
	if (!ret && (!p->n || !p->segs[p->n - 1].reached_until))
		archive_ends(o, p);
	pitr_free_names(all, n);
	free(info);
	logger_log(o->log, ret ? LOGL_ERROR : LOGL_INFO, "pitr_plan",
		   "file=\"%s\" from=\"%s:%" PRIu64 "\" segments=%zu ok=%s", o->file, p->from.file,
		   p->from.pos, p->n, LOG_BOOL(!ret));
	if (ret) {
		pitr_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void pitr_free(struct pitr *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->segs[i].id.name);
	free(p->segs);
	for (size_t i = 0; i < p->ndbs; i++)
		free(p->dbs[i]);
	free(p->dbs);
	free(p->dir);
	free(p);
}

/* ---- the databases ---- */

void pitr_add_database(void *arg, const char *name)
{
	struct pitr *p = arg;

	for (size_t i = 0; i < p->ndbs; i++)
		if (!strcmp(p->dbs[i], name))
			return;
	if (p->ndbs == p->dbcap) {
		char **nv = reallocarray(p->dbs, p->dbcap ? p->dbcap * 2 : 16, sizeof(*nv));

		if (!nv) {
			p->db_oom = true;
			return;
		}
		p->dbs = nv;
		p->dbcap = p->dbcap ? p->dbcap * 2 : 16;
	}
	if (!(p->dbs[p->ndbs] = strdup(name)))
		p->db_oom = true;
	else
		p->ndbs++;
}

static bool keep_db(void *arg, const char *db, size_t len)
{
	const struct pitr *p = arg;

	for (size_t i = 0; i < p->ndbs; i++)
		if (strlen(p->dbs[i]) == len && !memcmp(p->dbs[i], db, len))
			return true;
	return false;
}

/* ---- the replay ---- */

struct feeder {
	struct restore *r;
	struct pitr *p;
	pid_t tool; /* mariadb-binlog: killed when the feed fails */
	int fd;	    /* its stdin; the feeder closes it */
	int ret;
	struct errbuf err;
	uint64_t events, skipped;
	time_t last;
	unsigned segments;
};

static int feed_all(struct feeder *f, struct writer *out, struct errbuf *err)
{
	const struct restore_opts *o = restore_options(f->r);
	struct pitr *p = f->p;
	unsigned char prev[BINLOG_FDE_MAX];
	size_t prev_len = 0;
	struct binlog_seginfo *now = malloc(sizeof(*now));
	int ret = 0;

	if (!now)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < p->n && !ret; i++) {
		struct seg *s = &p->segs[i];
		struct binlog_filter_opts fo;

		memset(&fo, 0, sizeof(fo));
		fo.name = s->id.name;
		fo.magic = i == 0;
		fo.prev_fde = prev_len ? prev : NULL;
		fo.prev_fde_len = prev_len;
		fo.from = i == 0 ? p->from.pos : 0;
		fo.has_until = o->has_until;
		fo.until = o->until;
		fo.keep_db = keep_db;
		fo.keep_db_arg = p;
		ret = pitr_read_segment(f->r, p->dir, s, false, &fo, out, now, err);
		if (!ret && (now->end != s->end || now->rotated != s->rotated ||
			     now->reached_until != s->reached_until))
			ret = error_set(
				err, -EBADMSG,
				"the binlog segment '%s/%s' changed since it was checked; "
				"the replay was stopped (restore again into a fresh server)",
				p->dir, s->id.name);
		if (ret)
			break;
		memcpy(prev, now->fde, now->fde_len);
		prev_len = now->fde_len;
		f->segments++;
		f->events += now->passed;
		f->skipped += now->skipped;
		if (now->passed && now->last_time > f->last)
			f->last = now->last_time;
	}
	free(now);
	return ret;
}

static void *feeder_main(void *arg)
{
	struct feeder *f = arg;
	struct writer *out = NULL;

	f->ret = fdsink_new(&out, f->fd, "mariadb-binlog", &f->err);
	if (!f->ret)
		f->ret = feed_all(f, out, &f->err);
	if (!f->ret)
		f->ret = writer_close(out, &f->err);
	writer_free(out);
	/* A failed feed must not look like the end of the binlog to
	 * mariadb-binlog: it would print what it has and exit 0. */
	if (f->ret)
		kill(f->tool, SIGKILL);
	close(f->fd); /* mariadb-binlog sees the end */
	f->fd = -1;
	return NULL;
}

static int spawn_tool(const char *tool, pid_t *pid, int in_r, int out_w, int err_fd,
		      struct errbuf *err)
{
	/* --no-defaults: no option file decides what is replayed;
	 * --skip-gtid-strict-mode: the stream starts mid-history (at the
	 * dump), its GTID state is not the one of a server's first file */
	char *argv[] = {(char *)tool,
			(char *)"--no-defaults",
			(char *)"--skip-gtid-strict-mode",
			(char *)"--skip-annotate-row-events",
			(char *)"-",
			NULL};

	return restore_spawn(argv, in_r, out_w, err_fd, -1, pid, err);
}

/* 0 when the tool exited 0, else its first message. */
static int reap_tool(const char *tool, pid_t pid, int err_fd, struct errbuf *err)
{
	char msg[TOOL_ERR_MAX] = "";
	int status = 0;
	ssize_t n;
	pid_t w;

	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w == pid && WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	n = pread(err_fd, msg, sizeof(msg) - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	return error_set(err, -EIO, "'%s' failed on the archived binlog (%s): %s", tool,
			 w == pid && WIFSIGNALED(status) ? "killed" : "exit status",
			 msg[0] ? msg : "no message");
}

/* mariadb-binlog's SQL, judged by the guard, into the sink. */
static int pump(int out_r, struct writer *sink, struct errbuf *err)
{
	struct sqlguard *g = sqlguard_new();
	char *buf = malloc(READ_CHUNK);
	int ret = 0;

	if (!g || !buf) {
		ret = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	sqlguard_allow_charset(g);
	for (;;) {
		ssize_t n = read(out_r, buf, READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error_set(err, -errno, "cannot read mariadb-binlog's output: %s",
					strerror(errno));
			break;
		}
		if (!n)
			break;
		ret = sqlguard_feed(g, buf, (size_t)n, err);
		if (!ret)
			ret = writer_write(sink, buf, (size_t)n, err);
		if (ret)
			break;
	}
	if (!ret)
		ret = sqlguard_end(g, err);
	if (ret == -EPERM)
		error_prefix(err, ret, "the replayed binlog (mariadb-binlog's output)");
out:
	sqlguard_free(g);
	free(buf);
	return ret;
}

static int open_pipes(int in[2], int out[2], int *err_fd, struct errbuf *err)
{
	in[0] = in[1] = out[0] = out[1] = *err_fd = -1;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return error_set(err, -errno, "cannot create a pipe: %s", strerror(errno));
	*err_fd = memfd_create("mariadb-binlog-stderr", MFD_CLOEXEC);
	if (*err_fd < 0)
		return error_set(err, -errno, "cannot create a memfd: %s", strerror(errno));
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int pitr_replay(struct restore *r, struct pitr *p, struct restore_stats *st, struct errbuf *err)
{
	const char *tool = restore_options(r)->binlog_tool ? restore_options(r)->binlog_tool
							   : "mariadb-binlog";
	struct feeder f = {r, p, 0, -1, 0, {""}, 0, 0, 0, 0};
	struct errbuf terr;
	int in[2], out[2], err_fd, ret;
	struct writer *sink = NULL;
	bool started = false;
	pthread_t t;
	pid_t pid = 0;

	if (!p->n)
		return 0;
	if (p->db_oom)
		return error_set(err, -ENOMEM, "out of memory");
	ret = open_pipes(in, out, &err_fd, err);
	if (!ret)
		ret = spawn_tool(tool, &pid, in[0], out[1], err_fd, err);
	close_fd(&in[0]);
	close_fd(&out[1]);
	if (!ret)
		ret = restore_sink_open(r, &sink, err);
	if (!ret) {
		f.tool = pid;
		f.fd = in[1];
		in[1] = -1;
		ret = thread_start_nosig(&t, feeder_main, &f);
		if (ret) {
			close_fd(&f.fd);
			error_set(err, ret, "cannot start a thread");
		}
		started = !ret;
	}
	if (!ret)
		ret = pump(out[0], sink, err);
	if (ret && pid)
		kill(pid, SIGKILL);
	close_fd(&out[0]); /* a feeder still writing gets EPIPE */
	if (started)
		thread_join(t);
	if (pid) {
		int tr = reap_tool(tool, pid, err_fd, &terr);

		/* A segment's own error says more, unless the feed broke
		 * because mariadb-binlog failed: then its message. */
		if (!ret && f.ret && !(f.ret == -EPIPE && tr))
			ret = f.ret, memcpy(err, &f.err, sizeof(*err));
		else if (!ret && tr)
			ret = tr, memcpy(err, &terr, sizeof(*err));
	}
	if (!ret && f.ret)
		ret = f.ret, memcpy(err, &f.err, sizeof(*err));
	if (!ret)
		ret = writer_close(sink, err);
	if (sink)
		restore_sink_free(r, sink);
	close_fd(&in[1]);
	close_fd(&err_fd);
	st->segments = f.segments;
	st->binlog_events = f.events;
	st->binlog_skipped = f.skipped;
	st->binlog_last_event = f.last;
	return ret;
}
