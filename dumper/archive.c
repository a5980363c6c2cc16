/* The archive directory: names, listing, sidecars, retention, cleanup. */
#include "archive.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "sink.h"

#define STAMP_LEN   17 /* "YYYY-MM-DD_HHMMSS" */
#define SIDECAR_MAX 4096

bool archive_prefix_valid(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	if (!n || n > ARCHIVE_PREFIX_MAX || prefix[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)prefix[i]) && !strchr("._-", prefix[i]))
			return false;
	return true;
}

int archive_name_stamp(char stamp[ARCHIVE_STAMP_MAX], const char *prefix, time_t t,
		       struct errbuf *err)
{
	struct tm tm;

	if (!archive_prefix_valid(prefix))
		return error_set(err, -EINVAL,
				 "invalid archive prefix '%s' (use letters, digits, '.', '_', '-')",
				 prefix ? prefix : "");
	if (!localtime_r(&t, &tm) || !strftime(stamp, ARCHIVE_STAMP_MAX, "%Y-%m-%d_%H%M%S", &tm))
		return error_set(err, -ERANGE, "cannot convert time %lld to local time",
				 (long long)t);
	return 0;
}

int archive_format_name(char *buf, size_t len, const char *prefix, time_t t, struct errbuf *err)
{
	char stamp[ARCHIVE_STAMP_MAX];
	int rc = archive_name_stamp(stamp, prefix, t, err);

	if (rc)
		return rc;
	if ((size_t)snprintf(buf, len, "%s_%s%s", prefix, stamp, ARCHIVE_SUFFIX) >= len)
		return error_set(err, -ENAMETOOLONG, "archive name too long for prefix '%s'",
				 prefix);
	return 0;
}

/* Reads `n` decimal digits; -1 when one is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

/* "YYYY-MM-DD_HHMMSS" -> local time; false when not a real date/time. */
static bool parse_stamp(const char *s, time_t *when)
{
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 13, 2), sec = digits(s + 15, 2);
	struct tm tm;
	time_t t;

	if (s[4] != '-' || s[7] != '-' || s[10] != '_')
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return false;
	if (when)
		*when = t;
	return true;
}

bool archive_parse_name(const char *name, const char *prefix, time_t *when)
{
	size_t np = strlen(prefix), nn = strlen(name), ns = strlen(ARCHIVE_SUFFIX);

	if (!archive_prefix_valid(prefix) || nn != np + 1 + STAMP_LEN + ns)
		return false;
	if (memcmp(name, prefix, np) || name[np] != '_' ||
	    memcmp(name + np + 1 + STAMP_LEN, ARCHIVE_SUFFIX, ns))
		return false;
	return parse_stamp(name + np + 1, when);
}

bool archive_is_sidecar_name(const char *name, const char *prefix)
{
	size_t nn = strlen(name), ns = strlen(ARCHIVE_SIDECAR_SUFFIX);
	char base[ARCHIVE_NAME_MAX];

	if (nn <= ns || nn - ns >= sizeof(base) || strcmp(name + nn - ns, ARCHIVE_SIDECAR_SUFFIX))
		return false;
	memcpy(base, name, nn - ns);
	base[nn - ns] = '\0';
	return archive_parse_name(base, prefix, NULL);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct archive_entry *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int list_push(struct archive_list *l, size_t *alloc, const struct archive_entry *e)
{
	if (l->n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 16;
		struct archive_entry *v = realloc(l->v, na * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		*alloc = na;
	}
	l->v[l->n++] = *e;
	return 0;
}

/* Fills e for backup `name` in dirfd; 1 = listed, 0 = skip, <0 error. */
static int stat_entry(int dfd, const char *name, time_t when, struct archive_entry *e)
{
	char side[ARCHIVE_NAME_MAX];
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->when = when;
	e->size = (uint64_t)st.st_size;
	e->mtime = st.st_mtim;
	if (archive_sidecar_name(side, sizeof(side), name) == 0 &&
	    fstatat(dfd, side, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		e->has_sidecar = true;
		e->sidecar_size = (uint64_t)st.st_size;
		e->sidecar_mtime = st.st_mtim;
	}
	return 1;
}

int archive_scan(struct archive_list *l, const char *dir, const char *prefix, struct errbuf *err)
{
	struct archive_entry e;
	struct dirent *de;
	size_t alloc = 0;
	time_t when;
	DIR *d;
	int rc = 0;

	l->v = NULL;
	l->n = 0;
	d = opendir(dir);
	if (!d)
		return error_set(err, -errno, "cannot read archive directory '%s': %s", dir,
				 strerror(errno));
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = error_set(err, -errno,
					       "cannot read archive directory '%s': %s", dir,
					       strerror(errno));
			break;
		}
		if (!archive_parse_name(de->d_name, prefix, &when))
			continue;
		rc = stat_entry(dirfd(d), de->d_name, when, &e);
		if (rc < 0) {
			rc = error_set(err, rc, "cannot stat '%s/%s': %s", dir, de->d_name,
				       strerror(-rc));
			break;
		}
		if (rc == 1 && (rc = list_push(l, &alloc, &e)) < 0) {
			rc = error_set(err, rc, "out of memory");
			break;
		}
		rc = 0;
	}
	closedir(d);
	if (rc) {
		archive_list_release(l);
		return rc;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), entry_cmp);
	return 0;
}

void archive_list_release(struct archive_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const struct archive_entry *archive_newest(const struct archive_list *l)
{
	return l->n ? &l->v[l->n - 1] : NULL;
}

const struct archive_entry *archive_find(const struct archive_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

unsigned archive_report_missing_sidecars(const struct archive_list *l, const char *dir,
					 struct logger *lg)
{
	unsigned n = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].has_sidecar)
			continue;
		n++;
		logger_log(lg, LOGL_WARN, "backup_without_sidecar",
			   "dir=\"%s\" file=%s note=\"nothing vouches for it: verify it "
			   "(dumpfs verify) or move it out of the archive directory\"",
			   dir, l->v[i].name);
	}
	return n;
}

int archive_sidecar_name(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s%s", name, ARCHIVE_SIDECAR_SUFFIX) >= len)
		return -ENAMETOOLONG;
	return 0;
}

void archive_sidecar_format(struct strbuf *sb, const char *hex, const char *name)
{
	strbuf_addf(sb, "%s  %s\n", hex, name);
}

int archive_sidecar_parse(const char *text, size_t len, char hex[65],
			  char name_out[ARCHIVE_NAME_MAX], struct errbuf *err)
{
	size_t i, nlen;
	const char *name;

	if (len < 67)
		return error_set(err, -EINVAL, "sidecar too short for '<sha256>  <name>'");
	for (i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)text[i]))
			return error_set(err, -EINVAL, "sidecar does not start with 64 hex digits");
		hex[i] = (char)tolower((unsigned char)text[i]);
	}
	hex[64] = '\0';
	if (text[64] != ' ' || (text[65] != ' ' && text[65] != '*'))
		return error_set(err, -EINVAL, "sidecar is not in 'sha256sum' format");
	name = text + 66;
	nlen = len - 66;
	if (nlen && name[nlen - 1] == '\n')
		nlen--;
	if (!nlen || memchr(name, '\n', nlen) || memchr(name, '\0', nlen))
		return error_set(err, -EINVAL, "sidecar must hold exactly one line");
	if (nlen >= ARCHIVE_NAME_MAX)
		return error_set(err, -EINVAL, "sidecar names a file name too long");
	memcpy(name_out, name, nlen);
	name_out[nlen] = '\0';
	return 0;
}

int archive_sidecar_read(const char *path, char hex[65], char name_out[ARCHIVE_NAME_MAX],
			 struct errbuf *err)
{
	char buf[SIDECAR_MAX + 1];
	size_t len;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, "cannot open sidecar '%s': %s", path,
				 strerror(errno));
	n = fd_read_full(fd, buf, sizeof(buf), -1);
	close(fd);
	if (n < 0)
		return error_set(err, (int)n, "cannot read sidecar '%s': %s", path,
				 strerror((int)-n));
	len = (size_t)n;
	if (len > SIDECAR_MAX)
		return error_set(err, -EINVAL, "sidecar '%s' is too large", path);
	rc = archive_sidecar_parse(buf, len, hex, name_out, err);
	if (rc)
		return error_prefix(err, rc, "sidecar '%s'", path);
	return 0;
}
