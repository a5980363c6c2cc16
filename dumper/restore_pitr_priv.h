/* Shared by restore_pitr.c (the plan and the replay) and
 * restore_pitr_chain.c (the segments and their chain); nothing else
 * includes it. */
#ifndef DUMPER_RESTORE_PITR_PRIV_H
#define DUMPER_RESTORE_PITR_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "binlog_filter.h"
#include "restore_priv.h"

/* A segment of the directory, by its name. */
struct segname {
	char *name;	   /* owned */
	size_t prefix_len; /* of name, before "_YYYY-MM-DD_HHMMSS_" */
	struct binlog_pos start;
};

/* What the check learnt of a segment of the chain: the replay reads it
 * again and must find the same file and the same shape. */
struct seg {
	struct segname id;
	uint64_t first, end;
	size_t fde_len;
	bool padded, rotated, reached_until;
	uint64_t padding;
	struct binlog_pos rotate_to;
	time_t last_time;
	struct stat file; /* dev, ino, size, mtime when checked */
};

struct pitr {
	struct binlog_pos from; /* the dump's position */
	time_t started;		/* the dump's start */
	char *dir;		/* owned */
	struct seg *segs;	/* the chain, in order (owned) */
	size_t n, cap;
	char **dbs; /* the databases loaded (owned) */
	size_t ndbs, dbcap;
	bool db_oom;
};

/* Every segment of the directory, sorted by position, into *out (owned by
 * the caller: pitr_free_names); -ENOENT when it holds none. */
int pitr_list_segments(const char *dir, struct segname **out, size_t *nout, struct errbuf *err);
void pitr_free_names(struct segname *v, size_t n);

/* Segment s of dir -> decrypt -> gunzip -> binlog_filter (fo) -> next
 * (NULL: nothing), *info filled.  The check (check) also reads the
 * sidecar and the OpenPGP shape and records the file in s->file; the
 * replay (!check) fails if it is not the same file any more. */
int pitr_read_segment(struct restore *r, const char *dir, struct seg *s, bool check,
		      const struct binlog_filter_opts *fo, struct writer *next,
		      struct binlog_seginfo *info, struct errbuf *err);

/* Picks and checks the chain into p->segs: from the segment of all[0, n)
 * holding the dump's position p->from, each following the last, up to
 * the one reaching --until.  The names of the chain move from all[] to
 * p (all[i].name is then NULL); *info is scratch space. */
int pitr_build_chain(struct restore *r, struct pitr *p, struct segname *all, size_t n,
		     struct binlog_seginfo *info, struct errbuf *err);

#endif
