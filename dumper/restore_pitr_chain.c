/* The binlog segments of a point-in-time recovery: the archive's listing,
 * one segment read through decryption, gunzip and the event filter, and
 * the check of the chain from the dump's position (restore_pitr_priv.h).
 * restore_pitr.c plans and replays with them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restore_pitr_priv.h"

#define START_ENC_MAX 40 /* a start-encryption event, replaced by padding */

static int name_cmp(const void *a, const void *b)
{
	return binlog_pos_cmp(&((const struct segname *)a)->start,
			      &((const struct segname *)b)->start);
}

void pitr_free_names(struct segname *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

int pitr_list_segments(const char *dir, struct segname **out, size_t *nout, struct errbuf *err)
{
	DIR *d = opendir(dir);
	struct segname *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int ret = 0;

	*out = NULL;
	*nout = 0;
	if (!d)
		return error_set(err, -errno,
				 "cannot read the binlog archive '%s': %s (give it with "
				 "--binlog-dir)",
				 dir, strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		struct segname sn = {NULL, 0, {"", 0}};

		if (!binlog_segment_name_parse(de->d_name, &sn.start, &sn.prefix_len))
			continue;
		if (n == cap) {
			struct segname *nv = reallocarray(v, cap ? cap * 2 : 64, sizeof(*v));

			if (!nv) {
				ret = error_set(err, -ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = cap ? cap * 2 : 64;
		}
		if (!(sn.name = strdup(de->d_name))) {
			ret = error_set(err, -ENOMEM, "out of memory");
			break;
		}
		v[n++] = sn;
	}
	if (!ret && errno)
		ret = error_set(err, -errno, "cannot read the binlog archive '%s': %s", dir,
				strerror(errno));
	closedir(d);
	if (!ret && !n)
		ret = error_set(err, -ENOENT,
				"the binlog archive '%s' holds no segment: is `dumpfs binlog` "
				"running, and is this the right --binlog-dir? restore refused, "
				"nothing was loaded",
				dir);
	if (ret) {
		pitr_free_names(v, n);
		return ret;
	}
	qsort(v, n, sizeof(*v), name_cmp);
	*out = v;
	*nout = n;
	return 0;
}

static int open_segment(const char *dir, const char *name, char **path, struct errbuf *err)
{
	int fd;

	if (asprintf(path, "%s/%s", dir, name) < 0) {
		*path = NULL;
		return error_set(err, -ENOMEM, "out of memory");
	}
	fd = open(*path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return error_set(err, -errno, "cannot open the binlog segment '%s': %s", *path,
				 strerror(errno));
	return fd;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int pitr_read_segment(struct restore *r, const char *dir, struct seg *s, bool check,
		      const struct binlog_filter_opts *fo, struct writer *next,
		      struct binlog_seginfo *info, struct errbuf *err)
{
	struct writer *bf = NULL, *gz = NULL;
	bool sidecar = false;
	struct stat now;
	char *path;
	int fd = open_segment(dir, s->id.name, &path, err), ret = 0;

	if (fd < 0) {
		free(path);
		return fd;
	}
	if (fstat(fd, &now))
		ret = error_set(err, -errno, "cannot stat '%s': %s", path, strerror(errno));
	else if (check)
		s->file = now;
	else if (!same_file(&s->file, &now))
		ret = error_set(err, -EBADMSG,
				"the binlog segment '%s' changed since it was checked; the replay "
				"was stopped (restore again into a fresh server)",
				path);
	if (!ret && check)
		ret = restore_check_file(fd, path, &sidecar, err);
	if (!ret)
		ret = binlog_filter_new(&bf, next, fo, info, err);
	if (!ret)
		ret = gunzipstage_new(&gz, bf, NULL, err);
	if (!ret)
		ret = restore_decrypt(r, fd, path, gz, err);
	if (!ret)
		ret = writer_close(gz, err);
	if (!ret)
		ret = writer_close(bf, err);
	if (!ret && info->first != s->id.start.pos)
		ret = error_set(err, -EBADMSG,
				"the binlog segment '%s' starts at offset %" PRIu64
				", not at the %" PRIu64
				" its name says: it was altered or renamed; "
				"restore refused",
				path, info->first, s->id.start.pos);
	writer_free(gz);
	writer_free(bf);
	close(fd);
	free(path);
	return ret;
}

static void summarize(struct seg *s, const struct binlog_seginfo *in)
{
	s->first = in->first;
	s->end = in->end;
	s->fde_len = in->fde_len;
	s->padded = in->padded;
	s->padding = in->padding;
	s->rotated = in->rotated;
	s->rotate_to = in->rotate_to;
	s->reached_until = in->reached_until;
	s->last_time = in->last_time;
}

/* True when b follows a without a gap. */
static bool follows(const struct seg *a, const struct seg *b)
{
	uint64_t header = 4 + b->fde_len;

	if (!a->rotated)
		return !strcmp(a->id.start.file, b->id.start.file) && b->first == a->end;
	/* after a rotate: the next file from its start, where only the
	 * start-encryption event (left out of segments) may be missing */
	return !strcmp(a->rotate_to.file, b->id.start.file) &&
	       (b->first == header ||
		(b->padded && b->padding <= START_ENC_MAX && b->first == header + b->padding));
}

static int gap(const char *dir, const struct seg *a, const struct seg *b, struct errbuf *err)
{
	int plen = (int)a->id.prefix_len;

	if (a->rotated)
		return error_set(err, -ENOENT,
				 "the binlog archive '%s' has a gap: '%s' ends with the switch to "
				 "'%s', but the next segment is '%s': the segments at the start of "
				 "'%s' are missing (deleted?); restore refused, nothing was loaded",
				 dir, a->id.name, a->rotate_to.file, b->id.name, a->rotate_to.file);
	return error_set(err, -ENOENT,
			 "the binlog archive '%s' has a gap: '%s' ends at %s:%" PRIu64
			 " but the next segment '%s' starts at %s:%" PRIu64
			 ": the segment '%.*s_*_%s_%" PRIu64 "%s' is missing (deleted?); restore "
			 "refused, nothing was loaded",
			 dir, a->id.name, a->id.start.file, a->end, b->id.name, b->id.start.file,
			 b->id.start.pos, plen, a->id.name, a->id.start.file, a->end,
			 BINLOG_SEGMENT_SUFFIX);
}

/* Appends all[i] to the chain (its name moves to p). */
static struct seg *chain_add(struct pitr *p, struct segname *sn)
{
	if (p->n == p->cap) {
		struct seg *nv = reallocarray(p->segs, p->cap ? p->cap * 2 : 16, sizeof(*nv));

		if (!nv)
			return NULL;
		p->segs = nv;
		p->cap = p->cap ? p->cap * 2 : 16;
	}
	memset(&p->segs[p->n], 0, sizeof(p->segs[p->n]));
	p->segs[p->n].id = *sn;
	sn->name = NULL;
	return &p->segs[p->n++];
}

int pitr_build_chain(struct restore *r, struct pitr *p, struct segname *all, size_t n,
		     struct binlog_seginfo *info, struct errbuf *err)
{
	const struct restore_opts *o = restore_options(r);
	struct binlog_filter_opts fo;
	size_t i, first = n;

	for (i = 0; i < n; i++)
		if (!strcmp(all[i].start.file, p->from.file) && all[i].start.pos <= p->from.pos)
			first = i;
	if (first == n) {
		for (i = 0; i < n && binlog_pos_cmp(&all[i].start, &p->from) < 0; i++)
			;
		if (i < n)
			return error_set(
				err, -ENOENT,
				"the binlog archive '%s' does not hold the dump's position "
				"%s:%" PRIu64 ": its next segment is '%s' (the archive started "
				"after this dump, or segments were deleted); use a newer dump; "
				"restore refused, nothing was loaded",
				p->dir, p->from.file, p->from.pos, all[i].name);
		return 0; /* nothing archived after the dump */
	}
	for (i = first; i < n; i++) {
		struct seg *s = chain_add(p, &all[i]);
		int ret;

		if (!s)
			return error_set(err, -ENOMEM, "out of memory");
		if (restore_cancelled(r))
			return error_set(err, -ECANCELED, "restore cancelled");
		memset(&fo, 0, sizeof(fo));
		fo.name = s->id.name;
		fo.from = i == first ? p->from.pos : 0;
		fo.has_until = o->has_until;
		fo.until = o->until;
		ret = pitr_read_segment(r, p->dir, s, true, &fo, NULL, info, err);
		if (ret)
			return ret;
		summarize(s, info);
		if (i == first && p->from.pos > s->end)
			return error_set(
				err, -ENOENT,
				"the binlog archive '%s' does not hold the dump's position "
				"%s:%" PRIu64 ": '%s' ends at %" PRIu64
				" and the next segment is missing; restore refused, nothing "
				"was loaded",
				p->dir, p->from.file, p->from.pos, s->id.name, s->end);
		if (i > first && !follows(s - 1, s))
			return gap(p->dir, s - 1, s, err);
		if (s->reached_until)
			break;
	}
	return 0;
}
