/* The throwaway server of `rehearse`.  See tmpserver.h. */
#include "tmpserver.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dbconn.h"
#include "fdio.h"
#include "progpath.h"
#include "thread.h"
#include "tmphome.h"

#define START_TIMEOUT 300
#define POLL_MS	      50
#define LOG_TAIL      480 /* bytes of a program's log quoted in an error */
#define KEY_FD	      3	  /* the programs' fd of the key memfd */
#define KEY_IDS	      255 /* ENCRYPTION_KEY_ID 1..KEY_IDS restore */

struct tmpserver {
	const struct tmpserver_opts *o;
	atomic_bool cancel;
	pthread_mutex_t lock; /* guards the pids against tmpserver_cancel() */
	pid_t install_pid, server_pid;
	int dir_lock;
	int key_fd; /* memfd: "id;hexkey" lines, random, never on disk */
	char dir[PATH_MAX];
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char user[256];
	char install[PATH_MAX], mariadbd[PATH_MAX];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tmpserver_new(struct tmpserver **out, const struct tmpserver_opts *opts, struct errbuf *err)
{
	struct tmpserver *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	if (mutex_init(&s->lock)) {
		free(s);
		return error_set(err, -ENOMEM, "cannot create a mutex");
	}
	s->o = opts;
	s->dir_lock = s->key_fd = -1;
	atomic_init(&s->cancel, false);
	*out = s;
	return 0;
}

const char *tmpserver_socket(const struct tmpserver *s)
{
	return s->socket;
}

const char *tmpserver_user(const struct tmpserver *s)
{
	return s->user;
}

/* ---- programs ---- */

/* `name` in PATH, then in `extra` (":"-separated). */
static int find_program(const char *name, const char *extra, char *out, size_t len,
			struct errbuf *err)
{
	if (progpath_find(name, extra, out, len))
		return 0;
	return error_set(err, -ENOENT,
			 "cannot find '%s' in PATH or %s: install the MariaDB server "
			 "binaries (Debian: apt-get install mariadb-server) or put them in PATH",
			 name, extra);
}

/* The last LOG_TAIL bytes of a log, on one line. */
static void log_tail(const char *path, char *buf, size_t len)
{
	char raw[LOG_TAIL + 1];
	struct stat sb;
	ssize_t n = 0;
	size_t o = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0)
		return;
	if (!fstat(fd, &sb) && sb.st_size > LOG_TAIL)
		(void)lseek(fd, sb.st_size - LOG_TAIL, SEEK_SET);
	do
		n = read(fd, raw, LOG_TAIL);
	while (n < 0 && errno == EINTR);
	close(fd);
	for (ssize_t i = 0; i < n && o + 1 < len; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		if (c == ' ' && (!o || buf[o - 1] == ' '))
			continue;
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
}

/* fork + exec with everything prepared before: the child calls only
 * async-signal-safe functions (other threads may hold locks).  Its own
 * process group, killed with us, default signals, stdin /dev/null,
 * stdout and stderr to `logfile`, the key memfd as fd 3. */
static int spawn(struct tmpserver *s, char *const argv[], const char *logfile, pid_t *pid,
		 struct errbuf *err)
{
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int logfd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	pid_t parent = getpid(), p;
	int e = 0;

	if (devnull < 0 || logfd < 0) {
		e = errno;
		goto out;
	}
	p = fork();
	if (p < 0) {
		e = errno;
		goto out;
	}
	if (p == 0) {
		struct sigaction dfl;
		sigset_t none;

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP: EINVAL */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 ||
		    dup2(s->key_fd, KEY_FD) < 0)
			_exit(127);
		close_range(KEY_FD + 1, ~0U, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	/* Also here: whichever of us runs first, the group exists. */
	(void)setpgid(p, p);
	mutex_lock(&s->lock);
	*pid = p;
	mutex_unlock(&s->lock);
	if (atomic_load(&s->cancel))
		kill(-p, SIGKILL);
out:
	if (devnull >= 0)
		close(devnull);
	if (logfd >= 0)
		close(logfd);
	if (e)
		return error_set(err, -e, "cannot start '%s': %s", argv[0], strerror(e));
	return 0;
}

/* Kills the group of *pid and reaps it; *pid becomes 0. */
static void kill_wait(struct tmpserver *s, pid_t *pid)
{
	pid_t p;

	mutex_lock(&s->lock);
	p = *pid;
	if (p)
		kill(-p, SIGKILL);
	mutex_unlock(&s->lock);
	if (!p)
		return;
	while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
		;
	mutex_lock(&s->lock);
	*pid = 0;
	mutex_unlock(&s->lock);
}

/* 1 exited (status in *status), 0 running. */
static int exited(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == ECHILD) { /* not ours any more: never success */
		*status = 127 << 8;
		return 1;
	}
	return r == pid;
}

static void pause_poll(void)
{
	struct timespec ts = {0, POLL_MS * 1000000L};

	nanosleep(&ts, NULL);
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "stopped");
}

/* ---- the steps ---- */

static int path_in(const struct tmpserver *s, const char *name, char *out, size_t len,
		   struct errbuf *err)
{
	if ((size_t)snprintf(out, len, "%s/%s", s->dir, name) >= len)
		return error_set(err, -ENAMETOOLONG, "TMPDIR '%s' is too long", s->o->base);
	return 0;
}

static int make_dirs(struct tmpserver *s, struct errbuf *err)
{
	static const char *const sub[] = {"data", "tmp", "files"};
	char path[PATH_MAX];
	int ret;

	ret = tmphome_make(s->dir, sizeof(s->dir), s->o->base, "rehearse", &s->dir_lock, err);
	if (ret)
		return error_prefix(err, ret, "rehearse");
	if ((size_t)snprintf(s->socket, sizeof(s->socket), "%s/sock", s->dir) >= sizeof(s->socket))
		return error_set(err, -ENAMETOOLONG,
				 "the socket path in TMPDIR '%s' would be longer than "
				 "%zu bytes: set TMPDIR to a shorter directory",
				 s->o->base, sizeof(s->socket) - 1);
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		ret = path_in(s, sub[i], path, sizeof(path), err);
		if (ret)
			return ret;
		if (mkdir(path, 0700))
			return error_set(err, -errno, "cannot create '%s': %s", path,
					 strerror(errno));
	}
	return 0;
}

static int find_user(struct tmpserver *s, struct errbuf *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e = getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res);

	if (e || !res)
		return error_set(err, e ? -e : -ENOENT,
				 "the user id %u has no name (getpwuid): the throwaway "
				 "server needs one for its socket authentication",
				 (unsigned)geteuid());
	if (strlen(pw.pw_name) >= sizeof(s->user) || strchr(pw.pw_name, '\''))
		return error_set(err, -EINVAL, "unusable user name '%s'", pw.pw_name);
	snprintf(s->user, sizeof(s->user), "%s", pw.pw_name);
	return 0;
}

/* A quarter of the memory at most, 128 MiB to 2 GiB: room for the
 * restore's writes and the re-read without a large footprint. */
static unsigned long long buffer_pool_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	unsigned long long mem =
		pages > 0 && page > 0 ? (unsigned long long)pages * (unsigned long long)page : 0;
	unsigned long long b = mem / 8;

	if (b < (128ULL << 20))
		b = 128ULL << 20;
	if (b > (2ULL << 30))
		b = 2ULL << 30;
	return b & ~((1ULL << 20) - 1);
}

#define NARGS 32

struct args {
	char *v[NARGS];
	char buf[NARGS][PATH_MAX + 64];
	size_t n;
};

static void arg(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(struct args *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n + 1 >= NARGS)
		return;
	va_start(ap, fmt);
	vsnprintf(a->buf[a->n], sizeof(a->buf[a->n]), fmt, ap);
	va_end(ap);
	a->v[a->n] = a->buf[a->n];
	a->v[++a->n] = NULL;
}

/* What both the install and the server are given.  The restored rows
 * are the backup's plaintext: encrypted at rest (InnoDB, Aria, the redo
 * log, temporary files) with keys that exist only in the memfd, so what
 * the server writes under TMPDIR cannot be read once it is gone.
 * MyISAM cannot be encrypted (README "Proving a restore"). */
static void common_args(const struct tmpserver *s, struct args *a)
{
	arg(a, "--no-defaults");
	arg(a, "--datadir=%s/data", s->dir);
	arg(a, "--tmpdir=%s/tmp", s->dir);
	if (geteuid() == 0)
		arg(a, "--user=%s", s->user);
	arg(a, "--innodb-buffer-pool-size=%llu", buffer_pool_bytes());
	arg(a, "--innodb-log-file-size=256M");
	arg(a, "--plugin-load-add=file_key_management");
	arg(a, "--file-key-management-filename=/dev/fd/%d", KEY_FD);
	arg(a, "--file-key-management-encryption-algorithm=AES_CTR");
	arg(a, "--innodb-encrypt-tables=ON");
	arg(a, "--innodb-encrypt-log=ON");
	arg(a, "--innodb-encrypt-temporary-tables=ON");
	arg(a, "--aria-encrypt-tables=ON");
	arg(a, "--encrypt-tmp-disk-tables=ON");
	arg(a, "--encrypt-tmp-files=ON");
}

/* KEY_IDS random AES-256 keys in a sealed memfd for file_key_management. */
static int make_keys(struct tmpserver *s, struct errbuf *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char key[32];
	char line[16 + 2 * sizeof(key) + 2];
	int fd = memfd_create("dumpfs-rehearse-keys", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return error_set(err, -errno, "memfd_create: %s", strerror(errno));
	s->key_fd = fd;
	for (unsigned id = 1; id <= KEY_IDS; id++) {
		int n = snprintf(line, sizeof(line), "%u;", id);

		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
			return error_set(err, -EIO, "getrandom failed");
		for (size_t i = 0; i < sizeof(key); i++) {
			line[n++] = hex[key[i] >> 4];
			line[n++] = hex[key[i] & 15];
		}
		line[n++] = '\n';
		if (fd_write_all(fd, line, (size_t)n))
			return error_set(err, -errno, "writing the key memfd: %s", strerror(errno));
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(line, sizeof(line));
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL))
		return error_set(err, -errno, "sealing the key memfd: %s", strerror(errno));
	return 0;
}

static int wait_install(struct tmpserver *s, double deadline, struct errbuf *err)
{
	char logfile[PATH_MAX], tail[LOG_TAIL + 1], how[64];
	int status = 0, ret;

	ret = path_in(s, "install.log", logfile, sizeof(logfile), err);
	if (ret)
		return ret;
	for (;;) {
		if (atomic_load(&s->cancel)) {
			kill_wait(s, &s->install_pid);
			return error_set(err, -ECANCELED, "cancelled");
		}
		if (exited(s->install_pid, &status))
			break;
		if (now_s() > deadline) {
			kill_wait(s, &s->install_pid);
			log_tail(logfile, tail, sizeof(tail));
			return error_set(err, -ETIMEDOUT,
					 "mariadb-install-db did not finish within %u s: %s",
					 s->o->start_timeout ? s->o->start_timeout : START_TIMEOUT,
					 tail);
		}
		pause_poll();
	}
	mutex_lock(&s->lock);
	s->install_pid = 0;
	mutex_unlock(&s->lock);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	describe_status(status, how, sizeof(how));
	log_tail(logfile, tail, sizeof(tail));
	return error_set(err, -EIO, "mariadb-install-db %s (its log ends: %s)", how,
			 tail[0] ? tail : "empty");
}

static int install(struct tmpserver *s, double deadline, struct errbuf *err)
{
	struct args *a = calloc(1, sizeof(*a));
	char logfile[PATH_MAX];
	int ret;

	if (!a)
		return error_set(err, -ENOMEM, "out of memory");
	ret = path_in(s, "install.log", logfile, sizeof(logfile), err);
	if (!ret) {
		arg(a, "%s", s->install);
		common_args(s, a);
		arg(a, "--auth-root-authentication-method=socket");
		arg(a, "--auth-root-socket-user=%s", s->user);
		arg(a, "--skip-test-db");
		arg(a, "--skip-name-resolve");
		ret = spawn(s, a->v, logfile, &s->install_pid, err);
	}
	free(a);
	return ret ? ret : wait_install(s, deadline, err);
}

static int launch(struct tmpserver *s, struct errbuf *err)
{
	struct args *a = calloc(1, sizeof(*a));
	char logfile[PATH_MAX];
	int ret;

	if (!a)
		return error_set(err, -ENOMEM, "out of memory");
	ret = path_in(s, "error.log", logfile, sizeof(logfile), err);
	if (!ret) {
		arg(a, "%s", s->mariadbd);
		common_args(s, a);
		arg(a, "--socket=%s", s->socket);
		arg(a, "--skip-networking");
		arg(a, "--pid-file=%s/mariadbd.pid", s->dir);
		arg(a, "--log-error=%s", logfile);
		/* The SQL restored is untrusted: no files outside. */
		arg(a, "--secure-file-priv=%s/files", s->dir);
		arg(a, "--skip-symbolic-links");
		arg(a, "--local-infile=0");
		arg(a, "--event-scheduler=OFF"); /* events must not change the rows */
		arg(a, "--skip-slave-start");
		arg(a, "--max-allowed-packet=1G");
		arg(a, "--character-set-server=utf8mb4");
		arg(a, "--collation-server=utf8mb4_general_ci");
		arg(a, "--innodb-flush-log-at-trx-commit=0");
		arg(a, "--innodb-doublewrite=0");
		arg(a, "--skip-name-resolve");
		ret = spawn(s, a->v, logfile, &s->server_pid, err);
	}
	free(a);
	return ret;
}

static int wait_ready(struct tmpserver *s, double deadline, struct errbuf *err)
{
	struct dbconn_opts c = {0};
	char logfile[PATH_MAX], tail[LOG_TAIL + 1], how[64];
	struct errbuf last;
	int status = 0, ret;

	ret = path_in(s, "error.log", logfile, sizeof(logfile), err);
	if (ret)
		return ret;
	c.socket = s->socket;
	c.user = s->user;
	c.connect_timeout = 2;
	c.read_timeout = 10;
	errbuf_clear(&last);
	for (;;) {
		struct stat sb;
		MYSQL *m;

		if (atomic_load(&s->cancel))
			return error_set(err, -ECANCELED, "cancelled");
		if (exited(s->server_pid, &status)) {
			mutex_lock(&s->lock);
			s->server_pid = 0;
			mutex_unlock(&s->lock);
			describe_status(status, how, sizeof(how));
			log_tail(logfile, tail, sizeof(tail));
			return error_set(err, -EIO,
					 "the throwaway mariadbd %s at start (its error "
					 "log ends: %s)",
					 how, tail[0] ? tail : "empty");
		}
		if (!stat(s->socket, &sb) && !dbconn_open(&m, &c, &last)) {
			mysql_close(m);
			return 0;
		}
		if (now_s() > deadline) {
			log_tail(logfile, tail, sizeof(tail));
			return error_set(err, -ETIMEDOUT,
					 "the throwaway mariadbd did not accept a connection "
					 "within %u s (%s; its error log ends: %s)",
					 s->o->start_timeout ? s->o->start_timeout : START_TIMEOUT,
					 last.msg[0] ? last.msg : "no socket yet", tail);
		}
		pause_poll();
	}
}

int tmpserver_start(struct tmpserver *s, struct errbuf *err)
{
	double deadline = now_s() + (s->o->start_timeout ? s->o->start_timeout : START_TIMEOUT);
	int ret;

	ret = find_program("mariadb-install-db",
			   "/usr/bin:/usr/local/bin:/usr/sbin:/usr/local/sbin", s->install,
			   sizeof(s->install), err);
	if (!ret)
		ret = find_program("mariadbd", "/usr/sbin:/usr/local/sbin:/usr/libexec",
				   s->mariadbd, sizeof(s->mariadbd), err);
	if (!ret)
		ret = find_user(s, err);
	if (!ret)
		ret = make_dirs(s, err);
	if (!ret)
		ret = make_keys(s, err);
	if (!ret)
		ret = install(s, deadline, err);
	if (!ret)
		ret = launch(s, err);
	if (!ret)
		ret = wait_ready(s, deadline, err);
	if (!ret)
		logger_log(s->o->log, LOGL_DEBUG, "rehearse.server", "dir=\"%s\" user=\"%s\"",
			   s->dir, s->user);
	return ret;
}

void tmpserver_cancel(struct tmpserver *s)
{
	atomic_store(&s->cancel, true);
	mutex_lock(&s->lock);
	if (s->install_pid)
		kill(-s->install_pid, SIGKILL);
	mutex_unlock(&s->lock);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void tmpserver_free(struct tmpserver *s)
{
	if (!s)
		return;
	kill_wait(s, &s->install_pid);
	kill_wait(s, &s->server_pid);
	if (s->dir[0] && nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		logger_log(s->o->log, LOGL_WARN, "cleanup_failed", "dir=\"%s\" error=\"%s\"",
			   s->dir, strerror(errno));
	if (s->dir_lock >= 0)
		close(s->dir_lock);
	if (s->key_fd >= 0)
		close(s->key_fd);
	mutex_destroy(&s->lock);
	free(s);
}
