/* The run state file "<dir>/.dumpfs-state": key=value lines. */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "lock.h"
#include "sink.h"
#include "timefmt.h"

#define STATE_VERSION  1
#define STATE_FILE_MAX (64 * 1024)

void state_init(struct run_state *st)
{
	memset(st, 0, sizeof(*st));
	st->last_duration = -1;
}

static int state_path(char *buf, size_t len, const char *dir, struct errbuf *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, STATE_FILE_NAME) >= len)
		return error_set(err, -ENAMETOOLONG, "archive directory name too long: '%s'", dir);
	return 0;
}

/* Copies msg into dst (STATE_MSG_MAX), control characters made spaces. */
static void set_msg(char *dst, const char *msg)
{
	size_t i;

	for (i = 0; msg && msg[i] && i < STATE_MSG_MAX - 1; i++)
		dst[i] = (unsigned char)msg[i] < 0x20 || msg[i] == 0x7f ? ' ' : msg[i];
	dst[i] = '\0';
}

void state_format(const struct run_state *st, struct strbuf *sb)
{
	strbuf_addf(sb, "# dumpfs run state: written by dumpfs, do not edit\n");
	strbuf_addf(sb, "version=%d\n", STATE_VERSION);
	strbuf_addf(sb, "last_success=%lld\n", (long long)st->last_success);
	strbuf_addf(sb, "last_file=%s\n", st->last_file);
	strbuf_addf(sb, "last_size=%" PRIu64 "\n", st->last_size);
	if (st->last_duration >= 0)
		strbuf_addf(sb, "last_duration=%.3f\n", st->last_duration);
	else
		strbuf_addf(sb, "last_duration=\n");
	strbuf_addf(sb, "last_error_at=%lld\n", (long long)st->last_error_at);
	strbuf_addf(sb, "last_error=%s\n", st->last_error);
	strbuf_addf(sb, "successes=%" PRIu64 "\n", st->successes);
	strbuf_addf(sb, "failures=%" PRIu64 "\n", st->failures);
	strbuf_addf(sb, "started=%lld\n", (long long)st->started);
	strbuf_addf(sb, "started_pid=%ld\n", (long)st->started_pid);
	strbuf_addf(sb, "stale_notified=%d\n", st->stale_notified ? 1 : 0);
	strbuf_addf(sb, "expiry_warned_day=%ld\n", st->expiry_warned_day);
}

static bool parse_u64(const char *v, uint64_t *out)
{
	unsigned long long x;
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		return false;
	*out = x;
	return true;
}

static bool parse_i64(const char *v, int64_t max, int64_t *out)
{
	uint64_t x;

	if (!parse_u64(v, &x) || x > (uint64_t)max)
		return false;
	*out = (int64_t)x;
	return true;
}

static bool set_time(const char *v, time_t *out)
{
	int64_t x;

	if (!parse_i64(v, INT64_MAX, &x))
		return false;
	*out = (time_t)x;
	return true;
}

/* One "key=value"; false when the value is invalid.  Unknown keys are
 * ignored so an older dumpfs can read a newer file. */
static bool parse_kv(struct run_state *st, const char *k, const char *v)
{
	int64_t x;
	char *end;

	if (!strcmp(k, "version"))
		return parse_i64(v, INT_MAX, &x);
	if (!strcmp(k, "successes"))
		return parse_u64(v, &st->successes);
	if (!strcmp(k, "failures"))
		return parse_u64(v, &st->failures);
	if (!strcmp(k, "last_success"))
		return set_time(v, &st->last_success);
	if (!strcmp(k, "last_error_at"))
		return set_time(v, &st->last_error_at);
	if (!strcmp(k, "started"))
		return set_time(v, &st->started);
	if (!strcmp(k, "last_size"))
		return parse_u64(v, &st->last_size);
	if (!strcmp(k, "last_file")) {
		if (strlen(v) >= sizeof(st->last_file))
			return false;
		strcpy(st->last_file, v);
		return true;
	}
	if (!strcmp(k, "last_error")) {
		set_msg(st->last_error, v);
		return true;
	}
	if (!strcmp(k, "last_duration")) {
		if (!*v) {
			st->last_duration = -1;
			return true;
		}
		errno = 0;
		st->last_duration = strtod(v, &end);
		return !errno && !*end && st->last_duration >= 0;
	}
	if (!strcmp(k, "started_pid")) {
		if (!parse_i64(v, INT_MAX, &x))
			return false;
		st->started_pid = (pid_t)x;
		return true;
	}
	if (!strcmp(k, "stale_notified")) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			return false;
		st->stale_notified = *v == '1';
		return true;
	}
	if (!strcmp(k, "expiry_warned_day")) {
		if (!parse_i64(v, LONG_MAX, &x))
			return false;
		st->expiry_warned_day = (long)x;
		return true;
	}
	return true;
}

static int corrupt(struct run_state *st, const char *path, unsigned line, const char *what,
		   struct errbuf *err)
{
	state_init(st);
	return error_set(err, -EINVAL,
			 "corrupt state file '%s' line %u: %s (remove it to start afresh; only the "
			 "status history is lost)",
			 path, line, what);
}

static int parse_text(struct run_state *st, char *text, const char *path, struct errbuf *err)
{
	unsigned line = 0;
	char *p = text, *nl, *eq;

	state_init(st);
	while (*p) {
		line++;
		nl = strchr(p, '\n');
		if (!nl)
			return corrupt(st, path, line, "truncated (no final newline)", err);
		*nl = '\0';
		if (*p && *p != '#') {
			eq = strchr(p, '=');
			if (!eq || eq == p)
				return corrupt(st, path, line, "not a key=value line", err);
			*eq = '\0';
			if (!parse_kv(st, p, eq + 1))
				return corrupt(st, path, line, "invalid value", err);
		}
		p = nl + 1;
	}
	return 0;
}

int state_load(struct run_state *st, const char *path, struct errbuf *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	state_init(st);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return error_set(err, -errno, "cannot read state file '%s': %s", path,
				 strerror(errno));
	}
	text = malloc(STATE_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		return error_set(err, -ENOMEM, "out of memory");
	}
	len = fread(text, 1, STATE_FILE_MAX + 1, f);
	if (ferror(f)) {
		rc = error_set(err, -EIO, "cannot read state file '%s'", path);
	} else if (len > STATE_FILE_MAX) {
		rc = corrupt(st, path, 0, "file too large", err);
	} else if (memchr(text, '\0', len)) {
		rc = corrupt(st, path, 0, "binary data", err);
	} else {
		text[len] = '\0';
		rc = parse_text(st, text, path, err);
	}
	fclose(f);
	free(text);
	return rc;
}

int state_save(const struct run_state *st, const char *path, struct errbuf *err)
{
	struct strbuf sb = STRBUF_INIT;
	struct outfile of;
	int rc;

	state_format(st, &sb);
	if (strbuf_error(&sb)) {
		strbuf_release(&sb);
		return error_set(err, -ENOMEM, "out of memory");
	}
	rc = outfile_open(&of, path, 0640, err);
	if (rc) {
		strbuf_release(&sb);
		return rc;
	}
	rc = fd_write_all(of.fd, sb.buf, sb.len);
	if (rc)
		rc = error_set(err, rc, "cannot write state file '%s': %s", path, strerror(-rc));
	else
		rc = outfile_commit(&of, 0, err);
	outfile_release(&of);
	strbuf_release(&sb);
	return rc;
}

static void settle_crash(struct run_state *st)
{
	char iso[ISO8601_LEN];

	iso8601_utc(st->started, iso);
	if (!iso[0])
		strcpy(iso, "?");
	st->failures++;
	st->last_error_at = st->started;
	snprintf(
		st->last_error, sizeof(st->last_error),
		"backup started at %s (pid %ld) did not finish (the process was killed or crashed)",
		iso, (long)st->started_pid);
	st->started = 0;
	st->started_pid = 0;
}

int state_read(struct run_state *st, const char *dir, struct errbuf *err)
{
	char path[PATH_MAX];
	struct run_state again;
	bool held;
	pid_t holder;
	int rc, lrc;

	state_init(st);
	rc = state_path(path, sizeof(path), dir, err);
	if (rc)
		return rc;
	rc = state_load(st, path, err);
	if (rc && rc != -EINVAL)
		return rc;
	lrc = runlock_probe(dir, &held, &holder, rc ? NULL : err);
	if (lrc)
		return rc ? rc : lrc;
	st->running = held;
	st->running_pid = held ? holder : 0;
	if (rc || !st->started || held)
		return rc;
	/* `started` without the lock: crashed, unless that run ended (or a
	 * new one began) between our read and the probe; read again. */
	if (state_load(&again, path, NULL) == 0 &&
	    (again.started != st->started || again.started_pid != st->started_pid)) {
		*st = again;
		st->running = again.started != 0;
		st->running_pid = st->running ? again.started_pid : 0;
		return 0;
	}
	settle_crash(st);
	return 0;
}

/* Under the state lock nobody else can be writing the state, so any
 * temporary of it is what a killed writer left: remove it. */
static void remove_stale_state_temps(const char *dir)
{
	const char prefix[] = "." STATE_FILE_NAME ".tmp-";
	struct dirent *de;
	DIR *dp = opendir(dir);

	if (!dp)
		return; /* the save that follows reports the real problem */
	while ((de = readdir(dp)))
		if (!strncmp(de->d_name, prefix, sizeof(prefix) - 1) &&
		    outfile_is_temp_name(de->d_name))
			unlinkat(dirfd(dp), de->d_name, 0);
	closedir(dp);
}

int state_clean_temps(const char *dir, struct errbuf *err)
{
	int fd, rc = runlock_state_lock(dir, &fd, err);

	if (rc)
		return rc;
	remove_stale_state_temps(dir);
	close(fd);
	return 0;
}

int state_update(const char *dir, state_edit_fn edit, void *arg, struct errbuf *err)
{
	char path[PATH_MAX];
	struct run_state st;
	int rc, fd;

	rc = state_path(path, sizeof(path), dir, err);
	if (rc)
		return rc;
	rc = runlock_state_lock(dir, &fd, err);
	if (rc)
		return rc;
	remove_stale_state_temps(dir);
	rc = state_load(&st, path, err);
	if (rc == -EINVAL)
		rc = 0; /* corrupt: start afresh (st is the empty state) */
	if (!rc) {
		edit(&st, arg);
		st.running = false;
		st.running_pid = 0;
		rc = state_save(&st, path, err);
	}
	close(fd);
	return rc;
}

struct record {
	time_t now;
	pid_t pid;
	const char *file, *msg;
	uint64_t size;
	double seconds;
};

static void end_run(struct run_state *st, pid_t pid)
{
	/* Only the run that set `started` clears it. */
	if (st->started_pid == pid) {
		st->started = 0;
		st->started_pid = 0;
	}
}

static void edit_begin(struct run_state *st, void *arg)
{
	const struct record *r = arg;

	/* We hold the run lock: a `started` left in the file is a crash. */
	if (st->started)
		settle_crash(st);
	st->started = r->now;
	st->started_pid = r->pid;
}

static void edit_success(struct run_state *st, void *arg)
{
	const struct record *r = arg;

	end_run(st, r->pid);
	st->last_success = r->now;
	snprintf(st->last_file, sizeof(st->last_file), "%s", r->file);
	st->last_size = r->size;
	st->last_duration = r->seconds >= 0 ? r->seconds : -1;
	st->last_error_at = 0;
	st->last_error[0] = '\0';
	st->successes++;
	st->stale_notified = false;
}

static void edit_failure(struct run_state *st, void *arg)
{
	const struct record *r = arg;

	end_run(st, r->pid);
	st->last_error_at = r->now;
	set_msg(st->last_error, r->msg);
	st->failures++;
}

static void edit_error(struct run_state *st, void *arg)
{
	const struct record *r = arg;

	st->last_error_at = r->now;
	set_msg(st->last_error, r->msg);
}

int state_begin_run(const char *dir, time_t now, pid_t pid, struct errbuf *err)
{
	struct record r = {.now = now, .pid = pid};

	return state_update(dir, edit_begin, &r, err);
}

int state_record_success(const char *dir, time_t now, const char *file, uint64_t size,
			 double seconds, struct errbuf *err)
{
	struct record r = {
		.now = now, .pid = getpid(), .file = file, .size = size, .seconds = seconds};

	return state_update(dir, edit_success, &r, err);
}

int state_record_failure(const char *dir, time_t now, const char *msg, struct errbuf *err)
{
	struct record r = {.now = now, .pid = getpid(), .msg = msg};

	return state_update(dir, edit_failure, &r, err);
}

int state_record_error(const char *dir, time_t now, const char *msg, struct errbuf *err)
{
	struct record r = {.now = now, .msg = msg};

	return state_update(dir, edit_error, &r, err);
}
