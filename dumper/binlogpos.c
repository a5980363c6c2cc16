/* Binlog coordinates in plaintext files.  See binlogpos.h. */
#include "binlogpos.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "sink.h"

#define POSITION_FILE_MAX 512
#define STAMP_LEN	  17 /* "YYYY-MM-DD_HHMMSS" */

bool binlog_file_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > BINLOG_FILE_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int binlog_position_parse(const char *text, size_t len, struct binlog_pos *p)
{
	const char *end = text + len, *nl, *num;
	uint64_t pos = 0;

	if (len < 5 || memcmp(text, "file=", 5) || !(nl = memchr(text, '\n', len)))
		return -EINVAL;
	if ((size_t)(nl - text - 5) > BINLOG_FILE_MAX ||
	    memchr(text + 5, '\0', (size_t)(nl - text - 5)))
		return -EINVAL;
	memcpy(p->file, text + 5, (size_t)(nl - text - 5));
	p->file[nl - text - 5] = '\0';
	num = nl + 1;
	if (!binlog_file_name_valid(p->file) || end - num < 6 || memcmp(num, "pos=", 4))
		return -EINVAL;
	num += 4;
	if (*num < '1' || *num > '9')
		return -EINVAL;
	for (; num < end && *num >= '0' && *num <= '9'; num++) {
		uint64_t digit = (uint64_t)(*num - '0');

		if (pos > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		pos = pos * 10 + digit;
	}
	if (pos < 4 || end - num != 1 || *num != '\n')
		return -EINVAL;
	p->pos = pos;
	return 0;
}

int binlog_position_load(const char *path, struct binlog_pos *p, struct errbuf *err)
{
	char buf[POSITION_FILE_MAX];
	ssize_t n = file_read_small(path, buf, sizeof(buf), err);

	if (n < 0)
		return (int)n;
	if ((size_t)n < sizeof(buf) && !binlog_position_parse(buf, (size_t)n, p))
		return 0;
	return error_set(err, -EINVAL,
			 "corrupt binlog position file '%s' (want \"file=<binlog "
			 "file>\\npos=<n>\\n\")",
			 path);
}

int binlog_position_store(const char *path, const struct binlog_pos *p, mode_t mode, gid_t group,
			  struct errbuf *err)
{
	char text[POSITION_FILE_MAX];
	struct outfile of = {.fd = -1};
	int len = snprintf(text, sizeof(text), "file=%s\npos=%" PRIu64 "\n", p->file, p->pos);
	int rc = outfile_open(&of, path, mode, err);

	if (!rc && group != (gid_t)-1 && fchown(of.fd, (uid_t)-1, group) < 0)
		rc = error_set(err, -errno, "cannot give '%s' to group %ld: %s", path, (long)group,
			       strerror(errno));
	if (!rc && (rc = fd_write_all(of.fd, text, (size_t)len)))
		rc = error_set(err, rc, "cannot write '%s': %s", path, strerror(-rc));
	if (!rc)
		rc = outfile_commit(&of, 0, err);
	outfile_release(&of);
	return rc;
}

int backup_position_name(char *buf, size_t size, const char *backup)
{
	if ((size_t)snprintf(buf, size, ".%s%s", backup, BACKUP_POSITION_SUFFIX) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- segment names ---- */

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool binlog_segment_name_parse(const char *name, struct binlog_pos *pos, size_t *prefix_len)
{
	size_t len = strlen(name), sl = strlen(BINLOG_SEGMENT_SUFFIX);
	const char *stamp = NULL, *off;
	char *end;

	if (name[0] == '.' || len <= sl || strcmp(name + len - sl, BINLOG_SEGMENT_SUFFIX))
		return false;
	len -= sl;
	for (const char *s = name + 1; s + STAMP_LEN + 2 <= name + len; s++)
		if (s[0] == '_' && all_digits(s + 1, 4) && s[5] == '-' && all_digits(s + 6, 2) &&
		    s[8] == '-' && all_digits(s + 9, 2) && s[11] == '_' && all_digits(s + 12, 6) &&
		    s[18] == '_') {
			stamp = s + 1;
			break;
		}
	off = memrchr(name, '_', len);
	if (!stamp || !off || off <= stamp + STAMP_LEN ||
	    !all_digits(off + 1, len - (size_t)(off + 1 - name)))
		return false;
	if ((size_t)(off - (stamp + STAMP_LEN + 1)) > BINLOG_FILE_MAX)
		return false;
	memcpy(pos->file, stamp + STAMP_LEN + 1, (size_t)(off - (stamp + STAMP_LEN + 1)));
	pos->file[off - (stamp + STAMP_LEN + 1)] = '\0';
	*prefix_len = (size_t)(stamp - 1 - name);
	errno = 0;
	pos->pos = strtoull(off + 1, &end, 10);
	return !errno && binlog_file_name_valid(pos->file) && pos->pos >= 4;
}

static int file_cmp(const char *a, const char *b)
{
	const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
	size_t la, lb;
	int c;

	if (!da || !db || (size_t)(da - a) != (size_t)(db - b) || strncmp(a, b, (size_t)(da - a)))
		return strcmp(a, b);
	la = strlen(da + 1);
	lb = strlen(db + 1);
	if (all_digits(da + 1, la) && all_digits(db + 1, lb) && la != lb) {
		while (la > lb && *++da == '0')
			la--;
		while (lb > la && *++db == '0')
			lb--;
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	c = strcmp(da, db);
	return c;
}

int binlog_pos_cmp(const struct binlog_pos *a, const struct binlog_pos *b)
{
	int c = file_cmp(a->file, b->file);

	if (c)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}
