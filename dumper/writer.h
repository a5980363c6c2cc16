/* The writer chain: SQL -> gzip -> OpenPGP -> sink.
 *
 * Modelled on curl's client writers.  Each stage is a `struct writer`
 * embedded at the start of its own state; it pushes its output into the
 * next stage it was created with (borrowed, not owned).  Whoever built the
 * chain owns every stage and finishes them front to back:
 *
 *     writer_write(first, ...)  any number of times
 *     writer_close(first), writer_close(second), ...   on success
 *     writer_free(each)                                  always
 *
 * Invariants:
 * - write() either consumes all `len` bytes or fails; a failed stage stays
 *   failed and every later call returns an error.
 * - close() flushes and writes the format's trailer into the next stage;
 *   it never closes the next stage.
 * - free() without a successful close() aborts: buffered data is dropped,
 *   helper threads and child processes are stopped, nothing is flushed.
 *   It is safe on NULL.
 * - Stages are used by one thread at a time unless they say otherwise.
 */
#ifndef DUMPER_WRITER_H
#define DUMPER_WRITER_H

#include <stddef.h>

#include "errbuf.h"

struct writer;

struct writer_ops {
	const char *stage; /* names the stage in error messages */
	int (*write)(struct writer *w, const void *buf, size_t len, struct errbuf *err);
	int (*close)(struct writer *w, struct errbuf *err);
	void (*free)(struct writer *w);
};

struct writer {
	const struct writer_ops *ops;
};

static inline int writer_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	return w->ops->write(w, buf, len, err);
}

static inline int writer_close(struct writer *w, struct errbuf *err)
{
	return w->ops->close(w, err);
}

static inline void writer_free(struct writer *w)
{
	if (w)
		w->ops->free(w);
}

#endif
