/* The multi-threaded FUSE loop, with a worker pool sized for the
 * snapshot readers. */
#ifndef FS_FUSELOOP_H
#define FS_FUSELOOP_H

struct fuse;

/* FUSE worker threads for `readers` snapshot readers: a reader may hold
 * a worker for as long as its dump runs (open() of a spool, a read()
 * waiting for the next bytes), sometimes two (a read and the release of
 * another handle), and status/, archive/, lookups and the other openers
 * must still get one meanwhile. */
#define FUSELOOP_THREADS(readers) (2 * (readers) + 8)

/* fuse_loop_mt() with at most `max_threads` workers (libfuse creates them
 * when all are busy, keeps them idle afterwards).  Its return value: 0
 * unmounted, > 0 the signal that ended it, < 0 an error. */
int fuseloop_run(struct fuse *f, unsigned max_threads);

#endif
