/* The gzip stage: compresses on several cores.
 *
 * Input is cut into blocks of `block_size` bytes; each block becomes
 * independent gzip members (RFC 1952): one, or one per hex span of
 * incompressible bytes and one per text between them.  A pool of worker
 * threads compresses them (libdeflate; huffgz.h for the hex spans) and they
 * are written to the next stage in input order.  `gunzip` reads the
 * concatenation as one stream.  Memory is bounded: at most
 * 2 * threads + 2 blocks (input and output) are held at any time.
 * The stage's write() and close() are called from one thread; the next
 * stage is only ever called from that same thread.
 */
#ifndef DUMPER_GZSTAGE_H
#define DUMPER_GZSTAGE_H

#include <stddef.h>

#include "writer.h"

struct gz_opts {
	int level;	   /* 1..9 */
	unsigned threads;  /* worker threads; 0 = number of online CPUs */
	size_t block_size; /* input bytes per member; 0 = default (1 MiB) */
};

/* Creates the stage writing into `next` (borrowed; must outlive the
 * stage).  On success *out is owned by the caller (writer_free). */
int gzstage_new(struct writer **out, struct writer *next, const struct gz_opts *opts,
		struct errbuf *err);

#endif
