/* The stock mariadb client as the restore's last stage: SQL goes to its
 * stdin; its connection settings (password included) come from a sealed
 * memfd passed as --defaults-file=/dev/fd/3.  See restore.h for why. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "restore_priv.h"
#include "strbuf.h"
#include "thread.h"

extern char **environ;

#define ERRTEXT_MAX  4096
#define CHILD_FD_MIN 10 /* our pipe/memfd copies: never 0..3 */

struct sqlclient {
	struct writer w;
	char *name; /* the client program */
	pid_t pid;  /* 0 once reaped */
	int in_fd;  /* its stdin */
	int err_fd; /* its stderr, read by the thread */
	pthread_t reader;
	bool reader_started;
	pthread_mutex_t lock;
	char errtext[ERRTEXT_MAX];
	size_t errlen;
	bool failed;
};

/* "value" with the option-file escapes the client understands. */
static void opt_value(struct strbuf *sb, const char *key, const char *v)
{
	strbuf_addf(sb, "%s=\"", key);
	for (; *v; v++) {
		switch (*v) {
		case '\\':
			strbuf_addstr(sb, "\\\\");
			break;
		case '"':
			strbuf_addstr(sb, "\\\"");
			break;
		case '\n':
			strbuf_addstr(sb, "\\n");
			break;
		case '\r':
			strbuf_addstr(sb, "\\r");
			break;
		case '\t':
			strbuf_addstr(sb, "\\t");
			break;
		default:
			strbuf_addch(sb, *v);
		}
	}
	strbuf_addstr(sb, "\"\n");
}

void sqlclient_options(struct strbuf *sb, const struct restore_target *t)
{
	strbuf_addstr(sb, "[client]\n");
	if (t->user)
		opt_value(sb, "user", t->user);
	if (t->password)
		opt_value(sb, "password", t->password);
	if (t->socket) {
		opt_value(sb, "socket", t->socket);
		strbuf_addstr(sb, "protocol=SOCKET\n");
	} else {
		/* TCP even for "localhost", which would mean the default socket. */
		opt_value(sb, "host", t->host ? t->host : "127.0.0.1");
		strbuf_addf(sb, "port=%u\nprotocol=TCP\n", t->port ? t->port : 3306);
	}
	if (t->ssl_ca) {
		opt_value(sb, "ssl-ca", t->ssl_ca);
		strbuf_addstr(sb, "ssl-verify-server-cert\n");
	}
	strbuf_addstr(sb, "default-character-set=utf8mb4\n");
}

/* The option file in a sealed, 0600 memfd at an fd >= CHILD_FD_MIN. */
static int options_memfd(const struct restore_target *t, int *out, struct errbuf *err)
{
	struct strbuf sb = STRBUF_INIT;
	int fd, hi = -1, ret = 0, e;

	sqlclient_options(&sb, t);
	if (strbuf_error(&sb))
		return error_set(err, -ENOMEM, "restore: out of memory");
	fd = memfd_create("dumpfs-client.cnf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		ret = error_set(err, -errno, "cannot create the client's option memfd: %s",
				strerror(errno));
	/* The client ignores a world-writable option file (memfd: 0777). */
	if (!ret && fchmod(fd, 0600))
		ret = error_set(err, -errno, "cannot chmod the option memfd: %s", strerror(errno));
	if (!ret && (e = fd_write_all(fd, sb.buf, sb.len)) != 0)
		ret = error_set(err, e, "cannot write the option memfd: %s", strerror(-e));
	if (!ret &&
	    (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) ||
	     lseek(fd, 0, SEEK_SET)))
		ret = error_set(err, -errno, "cannot seal the option memfd: %s", strerror(errno));
	if (!ret && (hi = fcntl(fd, F_DUPFD_CLOEXEC, CHILD_FD_MIN)) < 0)
		ret = error_set(err, -errno, "cannot move the option memfd: %s", strerror(errno));
	explicit_bzero(sb.buf, sb.len);
	strbuf_release(&sb);
	if (fd >= 0)
		close(fd);
	*out = hi;
	return ret;
}

/* A CLOEXEC pipe whose ends sit at fds >= CHILD_FD_MIN. */
static int high_pipe(int p[2], struct errbuf *err)
{
	int low[2];

	p[0] = p[1] = -1;
	if (pipe2(low, O_CLOEXEC))
		return error_set(err, -errno, "cannot create a pipe: %s", strerror(errno));
	p[0] = fcntl(low[0], F_DUPFD_CLOEXEC, CHILD_FD_MIN);
	p[1] = fcntl(low[1], F_DUPFD_CLOEXEC, CHILD_FD_MIN);
	close(low[0]);
	close(low[1]);
	if (p[0] < 0 || p[1] < 0) {
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		return error_set(err, -EMFILE, "cannot create a pipe: too many open files");
	}
	return 0;
}

static void *stderr_reader(void *arg)
{
	struct sqlclient *c = arg;
	char buf[1024];
	ssize_t n;

	while ((n = read(c->err_fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		mutex_lock(&c->lock);
		if (c->errlen < ERRTEXT_MAX - 1) { /* the first error is what counts */
			size_t k = (size_t)n < ERRTEXT_MAX - 1 - c->errlen
					   ? (size_t)n
					   : ERRTEXT_MAX - 1 - c->errlen;

			memcpy(c->errtext + c->errlen, buf, k);
			c->errlen += k;
			c->errtext[c->errlen] = '\0';
		}
		mutex_unlock(&c->lock);
	}
	return NULL;
}

int restore_spawn(char *const argv[], int in_r, int out_w, int err_w, int fd3, pid_t *pid,
		  struct errbuf *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	int rc;

	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	if (posix_spawn_file_actions_init(&fa))
		return error_set(err, -ENOMEM, "restore: out of memory");
	if (posix_spawnattr_init(&at)) {
		posix_spawn_file_actions_destroy(&fa);
		return error_set(err, -ENOMEM, "restore: out of memory");
	}
	rc = posix_spawn_file_actions_adddup2(&fa, in_r, 0);
	if (out_w >= 0)
		rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	else
		rc = rc ? rc : posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	if (fd3 >= 0)
		rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	/* Our signal mask (sigcancel blocks SIGINT/SIGTERM) and ignored
	 * SIGPIPE must not reach the child. */
	rc = rc ? rc
		: posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = rc ? rc : posix_spawnattr_setsigmask(&at, &none);
	rc = rc ? rc : posix_spawnattr_setsigdefault(&at, &def);
	rc = rc ? rc : posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc) {
		*pid = 0;
		return error_set(err, -rc,
				 "cannot run '%s': %s (install mariadb-client or put it in PATH)",
				 argv[0], strerror(rc));
	}
	return 0;
}

/* out_w < 0: stdout to /dev/null (the one-connection restore); else
 * stdout to out_w and --skip-column-names, for the markers of
 * `restore --jobs` (restore_jobs.c). */
static int spawn_client(const char *name, pid_t *pid, int in_r, int out_w, int err_w, int optfd,
			struct errbuf *err)
{
	char defaults_arg[64];
	/* --binary-mode: no client command but DELIMITER and \C; --sandbox:
	 * none that touches files or runs programs.  Behind the SQL filter's
	 * own refusal (sqlguard.c). */
	char *argv[] = {(char *)name,
			defaults_arg,
			(char *)"--comments",
			(char *)"--max-allowed-packet=1G",
			(char *)"--batch",
			(char *)"--binary-mode",
			(char *)"--sandbox",
			out_w >= 0 ? (char *)"--skip-column-names" : NULL,
			(char *)"--unbuffered", /* each marker's output at once */
			NULL};

	snprintf(defaults_arg, sizeof(defaults_arg), "--defaults-file=/dev/fd/3");
	return restore_spawn(argv, in_r, out_w, err_w, optfd, pid, err);
}

static int spawn(struct sqlclient *c, int in_r, int err_w, int optfd, struct errbuf *err)
{
	return spawn_client(c->name, &c->pid, in_r, -1, err_w, optfd, err);
}

int sqlclient_spawn_piped(const char *client, const struct restore_target *t, pid_t *pid,
			  int *in_fd, int *out_fd, struct errbuf *err)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, optfd = -1, ret;

	*pid = 0;
	*in_fd = *out_fd = -1;
	ret = options_memfd(t, &optfd, err);
	if (!ret)
		ret = high_pipe(in, err);
	if (!ret)
		ret = high_pipe(out, err);
	if (!ret)
		ret = spawn_client(client ? client : "mariadb", pid, in[0], out[1], out[1], optfd,
				   err);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (optfd >= 0)
		close(optfd);
	if (ret) {
		if (in[1] >= 0)
			close(in[1]);
		if (out[0] >= 0)
			close(out[0]);
		return ret;
	}
	*in_fd = in[1];
	*out_fd = out[0];
	return 0;
}

/* Waits for the client; 0 when it exited 0, else its error text. */
static int reap(struct sqlclient *c, struct errbuf *err)
{
	int status = 0;
	pid_t p;

	if (!c->pid)
		return error_set(err, -EIO, "the '%s' client is gone", c->name);
	do
		p = waitpid(c->pid, &status, 0);
	while (p < 0 && errno == EINTR);
	c->pid = 0;
	if (c->reader_started) {
		thread_join(c->reader);
		c->reader_started = false;
	}
	if (p > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* One line: the client's first message ("ERROR 1064 (42000) at
	 * line 57: ..."). */
	for (char *s = c->errtext; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
	while (c->errlen && c->errtext[c->errlen - 1] == ' ')
		c->errtext[--c->errlen] = '\0';
	if (p > 0 && WIFSIGNALED(status))
		return error_set(err, -EIO, "the '%s' client was killed by signal %d%s%s", c->name,
				 WTERMSIG(status), c->errlen ? ": " : "", c->errtext);
	return error_set(err, -EIO,
			 "the server rejected the SQL: %s (the line number counts lines of the "
			 "decrypted SQL, as `gpg -d FILE | gunzip | sed -n NUMp` shows; the "
			 "statements before it were applied)",
			 c->errlen ? c->errtext : "the client failed without a message");
}

static int cl_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct sqlclient *c = (struct sqlclient *)w;
	int e;

	if (c->failed)
		return error_set(err, -EIO, "restore: the client stage failed earlier");
	e = fd_write_all(c->in_fd, buf, len);
	if (!e)
		return 0;
	c->failed = true;
	if (e == -EPIPE) { /* the client stopped: its error says why */
		int ret = reap(c, err);

		return ret ? ret : error_set(err, -EIO, "the client stopped reading");
	}
	return error_set(err, e, "cannot write to the '%s' client: %s", c->name, strerror(-e));
}

static int cl_close(struct writer *w, struct errbuf *err)
{
	struct sqlclient *c = (struct sqlclient *)w;

	if (c->failed)
		return error_set(err, -EIO, "restore: the client stage failed earlier");
	close(c->in_fd);
	c->in_fd = -1;
	c->failed = true; /* closed: no more writes */
	return reap(c, err);
}

void sqlclient_kill(struct writer *w)
{
	struct sqlclient *c = (struct sqlclient *)w;

	if (c && c->pid)
		kill(c->pid, SIGKILL);
}

static void cl_free(struct writer *w)
{
	struct sqlclient *c = (struct sqlclient *)w;
	struct errbuf ignored;

	if (!c)
		return;
	/* Not closed: it must not see EOF and run a cut statement. */
	if (c->pid) {
		kill(c->pid, SIGKILL);
		reap(c, &ignored);
	}
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->reader_started)
		thread_join(c->reader);
	if (c->err_fd >= 0)
		close(c->err_fd);
	mutex_destroy(&c->lock);
	free(c->name);
	free(c);
}

static const struct writer_ops client_ops = {"mariadb client", cl_write, cl_close, cl_free};

int sqlclient_start(struct writer **out, const char *client, const struct restore_target *t,
		    struct errbuf *err)
{
	struct sqlclient *c = calloc(1, sizeof(*c));
	int in[2] = {-1, -1}, er[2] = {-1, -1}, optfd = -1, ret;

	*out = NULL;
	if (!c || !(c->name = strdup(client ? client : "mariadb"))) {
		free(c);
		return error_set(err, -ENOMEM, "restore: out of memory");
	}
	c->w.ops = &client_ops;
	c->in_fd = c->err_fd = -1;
	if (mutex_init(&c->lock)) {
		free(c->name);
		free(c);
		return error_set(err, -ENOMEM, "restore: cannot create a mutex");
	}
	ret = options_memfd(t, &optfd, err);
	if (!ret)
		ret = high_pipe(in, err);
	if (!ret)
		ret = high_pipe(er, err);
	if (!ret)
		ret = spawn(c, in[0], er[1], optfd, err);
	if (in[0] >= 0)
		close(in[0]);
	if (er[1] >= 0)
		close(er[1]);
	if (optfd >= 0)
		close(optfd);
	c->in_fd = in[1];
	c->err_fd = er[0];
	if (!ret) {
		ret = thread_start_nosig(&c->reader, stderr_reader, c);
		if (ret)
			ret = error_set(err, ret, "cannot start a thread: %s", strerror(-ret));
		else
			c->reader_started = true;
	}
	if (ret) {
		cl_free(&c->w);
		return ret;
	}
	*out = &c->w;
	return 0;
}
