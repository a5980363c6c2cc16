/* Throughput of the gzip stage, for comparison with gzip and pigz.
 *
 *   gzbench gen MB > data.sql         realistic dump-like SQL text
 *   gzbench [-l LEVEL] [-p THREADS] [-b BLOCK_KIB] < data.sql > data.sql.gz
 *
 * The second form reads stdin in 64 KiB pieces (as pigz does), pushes it
 * through gzstage into an fdsink on stdout and prints MB/s (of input) and
 * the output size on stderr.  Build (from the repository root):
 *
 *   cc -O2 -std=gnu11 -D_GNU_SOURCE -pthread -o /tmp/gzbench \
 *      tests/bench/gzbench.c dumper/gzstage.c dumper/hexspan.c \
 *      dumper/thread.c dumper/sink.c dumper/errbuf.c -ldeflate -lz
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../dumper/gzstage.h"
#include "../../dumper/sink.h"

static const char *const words[] = {
	"the",	     "order",	"shipped", "customer", "payment",  "refund",  "delivery",
	"address",   "street",	"berlin",  "paris",    "london",   "quality", "product",
	"returned",  "damaged", "invoice", "pending",  "priority", "express", "standard",
	"warehouse", "stock",	"of",	   "and",      "to",	   "with",    "please",
	"contact",   "support", "thanks",  "again",    "late",	   "fast",    "good",
	"bad",	     "package", "box",	   "color",    "size",	   "large",   "small",
};
static const char *const first[] = {"Anna",  "Ben",  "Clara", "David", "Emma",	"Felix",
				    "Greta", "Hans", "Ida",   "Jonas", "Klara", "Lukas",
				    "Marie", "Noah", "Olga",  "Paul"};
static const char *const last[] = {"Müller", "Schmidt",	 "Schneider", "Fischer",
				   "Weber",  "Meyer",	 "Wagner",    "Becker",
				   "Schulz", "Hoffmann", "O\\'Brien", "Koch"};
static const char *const status[] = {"new", "paid", "shipped", "delivered", "cancelled"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define rnd() rnd_next(rng)

/* Skewed towards the first entries, like real vocabularies. */
static const char *pick(uint64_t *rng, const char *const *list, size_t n)
{
	uint64_t r = rnd();

	return list[(r % n) * ((r >> 32) % n) / n];
}

static void row(uint64_t *rng, FILE *f, unsigned long id)
{
	const char *fn = pick(rng, first, N(first)), *ln = pick(rng, last, N(last));
	unsigned long ts = 1700000000ul + id * 37 + rnd() % 30;
	int nwords = (int)(rnd() % 12);

	fprintf(f, "(%lu,%lu,'%s %s','%c.%s%lu@example.com',%lu.%02lu,'%s',", id, 1 + rnd() % 50000,
		fn, ln, fn[0], ln, (unsigned long)(rnd() % 1000), (unsigned long)(rnd() % 2000),
		(unsigned long)(rnd() % 100), status[rnd() % N(status)]);
	time_t t = (time_t)ts;
	struct tm tm;
	char when[32];

	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		strcpy(when, "1970-01-01 00:00:00");
	fprintf(f, "'%s',", when);
	if (rnd() % 4)
		fprintf(f, "'%016llx%016llx',", (unsigned long long)rnd(),
			(unsigned long long)rnd());
	else
		fputs("NULL,", f);
	fputc('\'', f);
	for (int i = 0; i < nwords; i++)
		fprintf(f, "%s%s", i ? " " : "", pick(rng, words, N(words)));
	fprintf(f, "',%d)", (int)(rnd() % 2));
}

static int gen(long mb)
{
	uint64_t rng = 0x2545f4914f6cdd1dull;
	unsigned long id = 1;
	long long want = mb * 1000000LL;
	long pos;

	fputs("-- MariaDB dump 10.19\n\nCREATE TABLE `orders` (\n"
	      "  `id` bigint NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n"
	      ") ENGINE=InnoDB;\n",
	      stdout);
	for (;;) {
		pos = ftell(stdout);
		if (pos >= 0 && pos >= want)
			break;
		fputs("INSERT INTO `orders` VALUES ", stdout);
		for (int i = 0; i < 2000; i++) {
			if (i)
				fputc(',', stdout);
			row(&rng, stdout, id++);
		}
		fputs(";\n", stdout);
		if (pos < 0 && (long long)id * 140 > want)
			break; /* not seekable: estimate */
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts what reaches stdout. */
struct counter {
	struct writer w;
	struct writer *next;
	unsigned long long bytes;
};

static int count_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct counter *c = (struct counter *)w;

	c->bytes += len;
	return writer_write(c->next, buf, len, err);
}

static int count_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void count_free(struct writer *w)
{
	(void)w;
}

static const struct writer_ops count_ops = {"count", count_write, count_close, count_free};

static int run(struct gz_opts *o)
{
	static char buf[65536];
	struct counter c = {{&count_ops}, NULL, 0};
	struct writer *gz = NULL;
	struct errbuf err = {""};
	unsigned long long in = 0;
	double t0 = now(), t;
	ssize_t n;
	int rc;

	rc = fdsink_new(&c.next, 1, "stdout", &err);
	if (!rc)
		rc = gzstage_new(&gz, &c.w, o, &err);
	while (!rc && (n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(&err, -errno, "cannot read stdin: %s", strerror(errno));
			break;
		}
		in += (unsigned long long)n;
		rc = writer_write(gz, buf, (size_t)n, &err);
	}
	if (!rc)
		rc = writer_close(gz, &err);
	writer_free(gz);
	writer_free(c.next);
	if (rc) {
		fprintf(stderr, "gzbench: %s\n", err.msg);
		return 1;
	}
	t = now() - t0;
	fprintf(stderr,
		"gzbench: level %d threads %u block %zu KiB: %llu -> %llu bytes "
		"(%.2f%%) in %.3f s = %.1f MB/s\n",
		o->level, o->threads, (o->block_size ? o->block_size : 1 << 20) >> 10, in, c.bytes,
		in ? 100.0 * (double)c.bytes / (double)in : 0.0, t, (double)in / t / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	struct gz_opts o = {.level = 6};
	int opt;

	if (argc == 3 && !strcmp(argv[1], "gen"))
		return gen(atol(argv[2]));
	while ((opt = getopt(argc, argv, "l:p:b:")) != -1) {
		switch (opt) {
		case 'l':
			o.level = atoi(optarg);
			break;
		case 'p':
			o.threads = (unsigned)atoi(optarg);
			break;
		case 'b':
			o.block_size = (size_t)atol(optarg) << 10;
			break;
		default:
			fprintf(stderr, "usage: gzbench gen MB | gzbench [-l LEVEL] "
					"[-p THREADS] [-b BLOCK_KIB]\n");
			return 2;
		}
	}
	return run(&o);
}
