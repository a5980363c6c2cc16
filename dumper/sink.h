/* Final stages of the writer chain: a file descriptor, and files that
 * appear under their name only when complete. */
#ifndef DUMPER_SINK_H
#define DUMPER_SINK_H

#include <sys/types.h>

#include "writer.h"

/* Writes everything to `fd` (borrowed; not closed).  `name` (copied)
 * names the destination in errors: "stdout", a path.  ENOSPC, EPIPE and
 * friends are reported with the name and strerror. */
int fdsink_new(struct writer **out, int fd, const char *name, struct errbuf *err);

/* *w becomes a writer that takes everything and keeps nothing (a dry
 * run, a pass whose output is not wanted); it never fails and holds
 * nothing to free. */
void nullsink_init(struct writer *w);

/* A file written as a hidden temporary ".<name>.tmp-XXXXXX" next to
 * `path`, then fsync'ed and renamed into place by outfile_commit().
 * Until committed, nothing exists under `path`. */
struct outfile {
	char *path; /* owned */
	char *tmp;  /* owned; NULL once committed or aborted */
	int fd;
};

/* Creates the temporary with `mode`.  With `no_replace`, commit fails with
 * -EEXIST instead of replacing an existing `path`. */
int outfile_open(struct outfile *of, const char *path, mode_t mode, struct errbuf *err);
/* fsync, rename (or link+unlink when no_replace) onto path, fsync the
 * directory, close.  On failure the temporary is removed. */
int outfile_commit(struct outfile *of, int no_replace, struct errbuf *err);
/* Closes and removes the temporary if still there; frees; idempotent. */
void outfile_release(struct outfile *of);

/* True when `name` is one of our hidden temporaries (".*.tmp-XXXXXX"). */
int outfile_is_temp_name(const char *name);

#endif
