/* One binlog segment being written.  See binlog_segment.h. */
#include "binlog_segment.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "gzstage.h"
#include "sha256.h"
#include "sink.h"
#include "strbuf.h"

#define FILE_MODE 0440 /* like backups: readable by the group only */

struct binlog_segment {
	char name[ARCHIVE_NAME_MAX];
	const char *dir;
	gid_t group;
	struct outfile of;
	struct sha256 sha;
	struct writer *gz, *gpg, *hash, *fd; /* front to back */
	bool committed;
};

static int segment_name(char *buf, size_t len, const char *prefix, const struct binlog_pos *start,
			time_t first, struct errbuf *err)
{
	char stamp[ARCHIVE_STAMP_MAX];
	int rc = archive_name_stamp(stamp, prefix, first, err);

	if (rc)
		return rc;
	/* Room for the sidecar's suffix: both must fit a file name. */
	if ((size_t)snprintf(buf, len, "%s_%s_%s_%llu%s", prefix, stamp, start->file,
			     (unsigned long long)start->pos,
			     BINLOG_SEGMENT_SUFFIX) >= len - sizeof(ARCHIVE_SIDECAR_SUFFIX))
		return error_set(err, -ENAMETOOLONG,
				 "segment name too long for prefix '%s' and binlog file '%s'",
				 prefix, start->file);
	return 0;
}

static int open_file(struct outfile *of, const char *dir, const char *name, gid_t group,
		     struct errbuf *err)
{
	char *path = NULL;
	int rc;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return error_set(err, -ENOMEM, "out of memory");
	rc = outfile_open(of, path, FILE_MODE, err);
	if (!rc && group != (gid_t)-1 && fchown(of->fd, (uid_t)-1, group)) {
		rc = error_set(err, -errno, "cannot give '%s' to group %u: %s", path,
			       (unsigned)group, strerror(errno));
		outfile_release(of);
	}
	free(path);
	return rc;
}

int binlog_segment_open(struct binlog_segment **out, const struct binlog_stream_opts *o,
			const struct binlog_pos *start, time_t first, struct errbuf *err)
{
	struct gz_opts gz = {.level = o->compression_level, .threads = 1};
	struct binlog_segment *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->dir = o->dir;
	s->group = o->group;
	s->of.fd = -1;
	rc = segment_name(s->name, sizeof(s->name), o->prefix, start, first, err);
	if (!rc)
		rc = open_file(&s->of, o->dir, s->name, o->group, err);
	if (!rc)
		rc = fdsink_new(&s->fd, s->of.fd, s->of.path, err);
	if (!rc)
		rc = sha256stage_new(&s->hash, s->fd, &s->sha, err);
	if (!rc)
		rc = gpgstage_new(&s->gpg, s->hash, o->key, err);
	if (!rc)
		rc = gzstage_new(&s->gz, s->gpg, &gz, err);
	if (rc) {
		binlog_segment_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int binlog_segment_write(struct binlog_segment *s, const void *buf, size_t len, struct errbuf *err)
{
	return writer_write(s->gz, buf, len, err);
}

static int write_sidecar(struct binlog_segment *s, const char *hex, struct errbuf *err)
{
	char side[ARCHIVE_NAME_MAX];
	struct strbuf sb = STRBUF_INIT;
	struct outfile of = {.fd = -1};
	int rc;

	if (archive_sidecar_name(side, sizeof(side), s->name))
		return error_set(err, -ENAMETOOLONG, "sidecar name too long for '%s'", s->name);
	archive_sidecar_format(&sb, hex, s->name);
	rc = strbuf_error(&sb) ? error_set(err, -ENOMEM, "out of memory") : 0;
	if (!rc)
		rc = open_file(&of, s->dir, side, s->group, err);
	if (!rc && (rc = fd_write_all(of.fd, strbuf_str(&sb), sb.len)))
		rc = error_set(err, rc, "cannot write '%s': %s", of.path, strerror(-rc));
	if (!rc)
		rc = outfile_commit(&of, 0, err);
	outfile_release(&of);
	strbuf_release(&sb);
	return rc;
}

int binlog_segment_commit(struct binlog_segment *s, char *name, struct errbuf *err)
{
	char hex[SHA256_HEX_LEN + 1];
	int rc = writer_close(s->gz, err);

	if (!rc)
		rc = writer_close(s->gpg, err);
	if (!rc)
		rc = writer_close(s->hash, err);
	if (!rc)
		rc = writer_close(s->fd, err);
	if (rc)
		return rc;
	sha256_final_hex(&s->sha, hex);
	rc = outfile_commit(&s->of, 0, err);
	if (rc)
		return rc;
	s->committed = true;
	snprintf(name, ARCHIVE_NAME_MAX, "%s", s->name);
	return write_sidecar(s, hex, err);
}

void binlog_segment_free(struct binlog_segment *s)
{
	if (!s)
		return;
	writer_free(s->gz);
	writer_free(s->gpg);
	writer_free(s->hash);
	writer_free(s->fd);
	outfile_release(&s->of);
	free(s);
}
