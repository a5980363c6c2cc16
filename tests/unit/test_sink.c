#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dumper/sink.h"
#include "../../dumper/fdio.h"
#include "unit.h"

static int make_dir(char *tmpl)
{
	return mkdtemp(tmpl) ? 0 : -1;
}

static void remove_dir(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

/* Number of entries in dir (without . and ..); `temps` gets how many of
 * them are our temporaries. */
static int count_entries(const char *dir, int *temps)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	*temps = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		*temps += outfile_is_temp_name(e->d_name);
	}
	closedir(d);
	return n;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	return close(fd) == 0 && ok ? 0 : -1;
}

/* Writes `s` into the outfile through an fdsink, as the pipeline does. */
static int write_through_sink(struct outfile *of, const char *s, struct errbuf *err)
{
	struct writer *w = NULL;
	int rc = fdsink_new(&w, of->fd, of->path, err);

	if (!rc)
		rc = writer_write(w, s, strlen(s), err);
	if (!rc)
		rc = writer_close(w, err);
	writer_free(w);
	return rc;
}

TEST(outfile_commit_creates_file)
{
	char dir[] = "/tmp/sinktest-XXXXXX", path[128], buf[64], *base;
	struct outfile of = {0};
	struct errbuf err;
	struct stat st;
	int temps;

	CHECK(make_dir(dir) == 0);
	snprintf(path, sizeof(path), "%s/backup.sql.gz.gpg", dir);
	CHECK(outfile_open(&of, path, 0640, &err) == 0);
	CHECK(of.tmp != NULL && of.fd >= 0);
	if (!of.tmp)
		goto out;
	CHECK(fcntl(of.fd, F_GETFD) & FD_CLOEXEC);
	base = strrchr(of.tmp, '/') + 1;
	CHECK(strncmp(base, ".backup.sql.gz.gpg.tmp-", 23) == 0);
	CHECK(strlen(base) == 23 + 6);
	CHECK(outfile_is_temp_name(base));
	CHECK(access(path, F_OK) < 0 && errno == ENOENT); /* not there yet */
	CHECK(count_entries(dir, &temps) == 1 && temps == 1);
	CHECK(write_through_sink(&of, "hello, world\n", &err) == 0);
	CHECK(outfile_commit(&of, 0, &err) == 0);
	CHECK(of.tmp == NULL && of.fd < 0);
	CHECK(read_file(path, buf, sizeof(buf)) == 13);
	CHECK_STREQ(buf, "hello, world\n");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	CHECK(count_entries(dir, &temps) == 1 && temps == 0);
	outfile_release(&of);
	outfile_release(&of);
	CHECK(of.path == NULL);
	CHECK(access(path, F_OK) == 0); /* release keeps the committed file */
out:
	outfile_release(&of);
	remove_dir(dir);
}

TEST(outfile_commit_replaces_by_default)
{
	char dir[] = "/tmp/sinktest-XXXXXX", path[128], buf[64];
	struct outfile of = {0};
	struct errbuf err;
	int temps;

	CHECK(make_dir(dir) == 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK(write_file(path, "old") == 0);
	CHECK(outfile_open(&of, path, 0600, &err) == 0);
	CHECK(write_through_sink(&of, "new", &err) == 0);
	CHECK(outfile_commit(&of, 0, &err) == 0);
	CHECK(read_file(path, buf, sizeof(buf)) == 3);
	CHECK_STREQ(buf, "new");
	CHECK(count_entries(dir, &temps) == 1 && temps == 0);
	outfile_release(&of);
	remove_dir(dir);
}

TEST(outfile_release_without_commit_leaves_nothing)
{
	char dir[] = "/tmp/sinktest-XXXXXX", path[128];
	struct outfile of = {0};
	struct errbuf err;
	int temps;

	CHECK(make_dir(dir) == 0);
	snprintf(path, sizeof(path), "%s/partial", dir);
	CHECK(outfile_open(&of, path, 0600, &err) == 0);
	CHECK(write_through_sink(&of, "half a dump", &err) == 0);
	outfile_release(&of);
	CHECK(of.path == NULL && of.tmp == NULL && of.fd < 0);
	CHECK(count_entries(dir, &temps) == 0);
	outfile_release(&of);
	remove_dir(dir);
}

TEST(outfile_release_zeroed_struct)
{
	struct outfile of;
	int before = fcntl(0, F_GETFD);

	memset(&of, 0, sizeof(of));
	outfile_release(&of);
	/* fd 0 in a zeroed struct is not ours to close */
	CHECK(fcntl(0, F_GETFD) == before);
	outfile_release(&of);
}

TEST(outfile_no_replace_refuses_existing)
{
	char dir[] = "/tmp/sinktest-XXXXXX", path[128], buf[64], want[200];
	struct outfile of = {0};
	struct errbuf err;
	int temps;

	CHECK(make_dir(dir) == 0);
	snprintf(path, sizeof(path), "%s/taken", dir);
	CHECK(write_file(path, "precious") == 0);
	CHECK(outfile_open(&of, path, 0600, &err) == 0);
	CHECK(write_through_sink(&of, "intruder", &err) == 0);
	CHECK(outfile_commit(&of, 1, &err) == -EEXIST);
	snprintf(want, sizeof(want), "'%s' already exists; not replacing it", path);
	CHECK_STREQ(err.msg, want);
	CHECK(of.tmp == NULL);
	CHECK(read_file(path, buf, sizeof(buf)) == 8);
	CHECK_STREQ(buf, "precious");
	CHECK(count_entries(dir, &temps) == 1 && temps == 0);
	outfile_release(&of);
	remove_dir(dir);
}

TEST(outfile_no_replace_creates_new)
{
	char dir[] = "/tmp/sinktest-XXXXXX", path[128], buf[64];
	struct outfile of = {0};
	struct errbuf err;
	struct stat st;
	int temps;

	CHECK(make_dir(dir) == 0);
	snprintf(path, sizeof(path), "%s/fresh", dir);
	CHECK(outfile_open(&of, path, 0444, &err) == 0);
	CHECK(write_through_sink(&of, "data", &err) == 0);
	CHECK(outfile_commit(&of, 1, &err) == 0);
	CHECK(read_file(path, buf, sizeof(buf)) == 4);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0444 && st.st_nlink == 1);
	CHECK(count_entries(dir, &temps) == 1 && temps == 0);
	outfile_release(&of);
	remove_dir(dir);
}

TEST(outfile_open_errors)
{
	struct outfile of = {0};
	struct errbuf err;

	CHECK(outfile_open(&of, "/nonexistent-dumpfs-dir/x", 0600, &err) == -ENOENT);
	CHECK(strstr(err.msg, "'/nonexistent-dumpfs-dir/x'") != NULL);
	CHECK(strstr(err.msg, "No such file or directory") != NULL);
	CHECK(of.path == NULL && of.tmp == NULL && of.fd < 0);
	outfile_release(&of);
	CHECK(outfile_open(&of, "/tmp/", 0600, &err) == -EINVAL);
	CHECK(outfile_open(&of, "", 0600, &err) == -EINVAL);
	outfile_release(&of);
	CHECK(outfile_commit(&of, 0, &err) == -EINVAL);
}

/* A bare name lives in the current directory. */
TEST(outfile_relative_name)
{
	char dir[] = "/tmp/sinktest-XXXXXX", buf[16];
	struct outfile of = {0};
	struct errbuf err;
	int cwd = open(".", O_RDONLY | O_DIRECTORY), temps;

	CHECK(cwd >= 0 && make_dir(dir) == 0 && chdir(dir) == 0);
	CHECK(outfile_open(&of, "rel", 0600, &err) == 0);
	CHECK(of.tmp && strncmp(of.tmp, ".rel.tmp-", 9) == 0);
	CHECK(write_through_sink(&of, "r", &err) == 0);
	CHECK(outfile_commit(&of, 0, &err) == 0);
	CHECK(read_file("rel", buf, sizeof(buf)) == 1);
	CHECK(count_entries(".", &temps) == 1 && temps == 0);
	outfile_release(&of);
	CHECK(fchdir(cwd) == 0);
	close(cwd);
	remove_dir(dir);
}

TEST(outfile_temp_names)
{
	CHECK(outfile_is_temp_name(".a.tmp-Ab3xY9"));
	CHECK(outfile_is_temp_name(".mariadb_2026-11-29_020000.sql.gz.gpg.tmp-q1W2e3"));
	CHECK(outfile_is_temp_name("..tmp-abcdef.tmp-abcdef"));
	CHECK(!outfile_is_temp_name("..tmp-abcdef")); /* empty name part */
	CHECK(!outfile_is_temp_name(".tmp-abcdef"));
	CHECK(!outfile_is_temp_name("a.tmp-abcdef"));
	CHECK(!outfile_is_temp_name(".a.tmp-abcde"));
	CHECK(!outfile_is_temp_name(".a.tmp-abcdefg"));
	CHECK(!outfile_is_temp_name(".a.tmp-abc$ef"));
	CHECK(!outfile_is_temp_name(".a.tmp_abcdef"));
	CHECK(!outfile_is_temp_name(".a/b.tmp-abcdef"));
	CHECK(!outfile_is_temp_name("mariadb.sql.gz.gpg"));
	CHECK(!outfile_is_temp_name(".sha256"));
	CHECK(!outfile_is_temp_name(""));
	CHECK(!outfile_is_temp_name("."));
}

TEST(fdsink_dev_full)
{
	struct writer *w = NULL;
	struct errbuf err;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	const char *want = "cannot write to '/dev/full': No space left on device";

	CHECK(fd >= 0);
	CHECK(fdsink_new(&w, fd, "/dev/full", &err) == 0);
	if (!w)
		return;
	CHECK(writer_write(w, "x", 1, &err) == -ENOSPC);
	CHECK_STREQ(err.msg, want);
	err.msg[0] = '\0';
	CHECK(writer_write(w, "y", 1, &err) == -ENOSPC); /* stays failed */
	CHECK_STREQ(err.msg, want);
	CHECK(writer_close(w, &err) == -ENOSPC);
	writer_free(w);
	CHECK(fcntl(fd, F_GETFD) >= 0); /* not closed by the sink */
	close(fd);
}

TEST(fdsink_broken_pipe)
{
	struct writer *w = NULL;
	struct errbuf err;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	int p[2];

	CHECK(pipe(p) == 0);
	CHECK(sigaction(SIGPIPE, &ign, &old) == 0);
	close(p[0]);
	CHECK(fdsink_new(&w, p[1], "stdout", &err) == 0);
	CHECK(writer_write(w, "x", 1, &err) == -EPIPE);
	CHECK_STREQ(err.msg, "cannot write to 'stdout': Broken pipe");
	writer_free(w);
	close(p[1]);
	CHECK(sigaction(SIGPIPE, &old, NULL) == 0);
}

struct drain {
	int fd;
	size_t got;
	unsigned long sum;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	unsigned char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(d->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			d->sum = d->sum * 31 + buf[i];
		d->got += (size_t)n;
		usleep(50); /* slow reader: the writer sees a full pipe */
	}
	return NULL;
}

/* A non-blocking pipe (partial writes, EAGAIN) gets every byte, in order. */
TEST(fdsink_nonblocking_pipe_partial_writes)
{
	size_t len = 1 << 20;
	unsigned char *data = malloc(len);
	unsigned long sum = 0;
	struct drain d = {0};
	struct writer *w = NULL;
	struct errbuf err;
	pthread_t tid;
	int p[2];

	CHECK(data && pipe(p) == 0);
	if (!data)
		return;
	for (size_t i = 0; i < len; i++) {
		data[i] = (unsigned char)(i * 7 + i / 251);
		sum = sum * 31 + data[i];
	}
	CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
	d.fd = p[0];
	CHECK(pthread_create(&tid, NULL, drain_main, &d) == 0);
	CHECK(fdsink_new(&w, p[1], "pipe", &err) == 0);
	CHECK(writer_write(w, data, len, &err) == 0);
	CHECK(writer_write(w, data, 0, &err) == 0);
	CHECK(writer_close(w, &err) == 0);
	writer_free(w);
	close(p[1]);
	CHECK(pthread_join(tid, NULL) == 0);
	close(p[0]);
	CHECK(d.got == len && d.sum == sum);
	free(data);
}

/* A full file system: the write fails naming the file, nothing is left. */
TEST(outfile_full_tmpfs)
{
	char dir[] = "/tmp/sinktest-XXXXXX", path[128], cmd[256];
	struct outfile of = {0};
	struct writer *w = NULL;
	struct errbuf err;
	char *chunk = calloc(1, 65536), want[256];
	int rc = 0, temps;

	CHECK(chunk && make_dir(dir) == 0);
	if (!chunk)
		goto out;
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=64k tmpfs '%s' 2>/dev/null", dir);
	if (system(cmd) != 0) {
		unit_skip("cannot mount a small tmpfs on %s (needs root or CAP_SYS_ADMIN; uid %d)",
			  dir, (int)geteuid());
		goto out;
	}
	snprintf(path, sizeof(path), "%s/big", dir);
	CHECK(outfile_open(&of, path, 0600, &err) == 0);
	CHECK(fdsink_new(&w, of.fd, of.path, &err) == 0);
	for (int i = 0; i < 4 && !rc && w; i++)
		rc = writer_write(w, chunk, 65536, &err);
	CHECK(rc == -ENOSPC);
	snprintf(want, sizeof(want), "cannot write to '%s': No space left on device", path);
	CHECK_STREQ(err.msg, want);
	writer_free(w);
	outfile_release(&of);
	CHECK(count_entries(dir, &temps) == 0);
	snprintf(cmd, sizeof(cmd), "umount '%s'", dir);
	CHECK(system(cmd) == 0);
out:
	free(chunk);
	remove_dir(dir);
}

/* A writer thread feeding a pipe in small pieces: fd_read_full still
 * returns whole requests, and the short count only at end of file. */
static void *dribble(void *arg)
{
	int fd = *(int *)arg;

	for (int i = 0; i < 100; i++) {
		char c[3] = {(char)('a' + i % 26), (char)('a' + i % 26), (char)('a' + i % 26)};

		if (write(fd, c, sizeof(c)) != 3)
			break;
		usleep(100);
	}
	close(fd);
	return NULL;
}

TEST(fd_read_full_short_reads_offsets_and_eof)
{
	char buf[512];
	int p[2];
	pthread_t t;
	FILE *f = tmpfile();

	CHECK(pipe(p) == 0);
	CHECK(pthread_create(&t, NULL, dribble, &p[1]) == 0);
	CHECK(fd_read_full(p[0], buf, 200, -1) == 200);
	CHECK(buf[0] == 'a' && buf[199] == 'a' + 66 % 26);
	CHECK(fd_read_full(p[0], buf, sizeof(buf), -1) == 100); /* 300 written */
	CHECK(fd_read_full(p[0], buf, sizeof(buf), -1) == 0);
	pthread_join(t, NULL);
	close(p[0]);

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fd_write_all(fileno(f), "0123456789", 10) == 0);
	CHECK(fd_read_full(fileno(f), buf, 4, 3) == 4 && !memcmp(buf, "3456", 4));
	CHECK(fd_read_full(fileno(f), buf, 100, 8) == 2 && !memcmp(buf, "89", 2));
	CHECK(fd_read_full(-1, buf, 1, -1) == -EBADF);
	fclose(f);
}
