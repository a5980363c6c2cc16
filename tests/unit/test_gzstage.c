#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../dumper/gzstage.h"
#include "../../dumper/strbuf.h"
#include "unit.h"

/* The next stage: collects what the gzip stage emits, checks it is only
 * called from the thread that drives the stage, and can be told to fail
 * once it has accepted `fail_after` bytes. */
struct collector {
	struct writer w;
	struct strbuf out;
	pthread_t owner;
	int wrong_thread;
	size_t calls;
	size_t fail_after; /* SIZE_MAX: never fail */
};

static int collect_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct collector *c = (struct collector *)w;

	c->calls++;
	if (!pthread_equal(pthread_self(), c->owner))
		c->wrong_thread = 1;
	if (c->out.len + len > c->fail_after)
		return error_set(err, -ENOSPC, "test sink full after %zu bytes", c->fail_after);
	strbuf_add(&c->out, buf, len);
	return strbuf_error(&c->out);
}

static int collect_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void collect_free(struct writer *w)
{
	(void)w;
}

static const struct writer_ops collect_ops = {
	.stage = "test",
	.write = collect_write,
	.close = collect_close,
	.free = collect_free,
};

static void collector_init(struct collector *c)
{
	memset(c, 0, sizeof(*c));
	c->w.ops = &collect_ops;
	strbuf_init(&c->out);
	c->owner = pthread_self();
	c->fail_after = SIZE_MAX;
}

/* Inflates a concatenation of gzip members; returns the number of
 * members, or -1 when the data is not a clean sequence of members.  A
 * block of `block` input bytes is one member or several (hex spans get
 * their own): no member may cross a multiple of `block`. */
static long gunzip_members(const unsigned char *gz, size_t len, size_t block, struct strbuf *plain)
{
	unsigned char buf[65536];
	z_stream zs;
	long members = 0;
	size_t pos = 0, start, out = 0;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return -1;
	while (pos < len) {
		if (len - pos < 18 || gz[pos] != 0x1f || gz[pos + 1] != 0x8b)
			goto bad;
		zs.next_in = (unsigned char *)gz + pos;
		zs.avail_in = (uInt)(len - pos);
		start = out;
		do {
			zs.next_out = buf;
			zs.avail_out = sizeof(buf);
			rc = inflate(&zs, Z_NO_FLUSH);
			if (rc != Z_OK && rc != Z_STREAM_END)
				goto bad;
			strbuf_add(plain, buf, sizeof(buf) - zs.avail_out);
			out += sizeof(buf) - zs.avail_out;
			if (rc == Z_OK && zs.avail_in == 0)
				goto bad; /* truncated member */
		} while (rc != Z_STREAM_END);
		/* Within one block; only an empty input makes an empty one. */
		if (out > start && start / block != (out - 1) / block)
			goto bad;
		if (out == start && (members || len - zs.avail_in != len))
			goto bad;
		pos = len - zs.avail_in;
		members++;
		if (inflateReset(&zs) != Z_OK)
			goto bad;
	}
	inflateEnd(&zs);
	return members;
bad:
	inflateEnd(&zs);
	return -1;
}

/* Deterministic test data: SQL-ish text, or noise when `random`. */
static unsigned char *make_data(size_t len, int random)
{
	unsigned char *p = malloc(len ? len : 1);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t i = 0;

	if (!p)
		return NULL;
	while (i < len) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (random) {
			p[i++] = (unsigned char)(x >> 32);
		} else {
			char row[64];
			int n = snprintf(row, sizeof(row), "(%llu,'name %llu'),",
					 (unsigned long long)(x % 100000),
					 (unsigned long long)(x >> 50));
			for (int k = 0; k < n && i < len; k++)
				p[i++] = (unsigned char)row[k];
		}
	}
	return p;
}

struct run {
	size_t len;   /* input size */
	size_t chunk; /* size of each write() */
	int random;   /* incompressible data */
	struct gz_opts opts;
};

/* Compresses through the stage and checks the output decompresses to the
 * input, as the expected number of members. */
static void roundtrip(const struct run *r)
{
	struct collector c;
	struct writer *gz = NULL;
	struct errbuf err = {""};
	struct strbuf plain = STRBUF_INIT;
	unsigned char *data = make_data(r->len, r->random);
	size_t block = r->opts.block_size ? r->opts.block_size : 1 << 20;
	size_t off, n;
	long members, want;

	CHECK(data != NULL);
	collector_init(&c);
	CHECK(gzstage_new(&gz, &c.w, &r->opts, &err) == 0);
	if (!gz || !data)
		goto out;
	for (off = 0; off < r->len; off += n) {
		n = r->len - off < r->chunk ? r->len - off : r->chunk;
		CHECK(writer_write(gz, data + off, n, &err) == 0);
	}
	CHECK(writer_close(gz, &err) == 0);
	CHECK(c.wrong_thread == 0);
	CHECK(strbuf_error(&c.out) == 0);
	members = gunzip_members((unsigned char *)c.out.buf, c.out.len, block, &plain);
	want = r->len ? (long)((r->len + block - 1) / block) : 1;
	if (members != want)
		printf("#   len %zu block %zu: %ld members, want %ld\n", r->len, block, members,
		       want);
	CHECK(members == want);
	CHECK(plain.len == r->len);
	CHECK(plain.len == r->len && (!r->len || !memcmp(plain.buf, data, r->len)));
	if (r->random) /* stored blocks: a few bytes per 16 KiB plus members */
		CHECK(c.out.len < r->len + r->len / 1000 + 64 * (size_t)want);
	else /* 18 bytes of header and trailer per member, 2 of end block */
		CHECK(c.out.len < r->len / 2 + 32 * (size_t)want);
out:
	writer_free(gz);
	strbuf_release(&plain);
	strbuf_release(&c.out);
	free(data);
}

/* The checker itself rejects broken member sequences. */
TEST(gz_member_checker_rejects_damage)
{
	struct gz_opts o = {.level = 6, .threads = 2, .block_size = 1000};
	unsigned char *data = make_data(5000, 0);
	struct strbuf plain = STRBUF_INIT;
	struct collector c;
	struct writer *gz = NULL;
	struct errbuf err;
	unsigned char *out;
	size_t len;

	collector_init(&c);
	CHECK(data && gzstage_new(&gz, &c.w, &o, &err) == 0);
	if (!data || !gz)
		goto out;
	CHECK(writer_write(gz, data, 5000, &err) == 0);
	CHECK(writer_close(gz, &err) == 0);
	out = (unsigned char *)c.out.buf;
	len = c.out.len;
	CHECK(gunzip_members(out, len, 1000, &plain) == 5);
	strbuf_reset(&plain);
	CHECK(gunzip_members(out, len - 1, 1000, &plain) == -1);
	strbuf_reset(&plain);
	CHECK(gunzip_members(out, len, 999, &plain) == -1);
	strbuf_reset(&plain);
	strbuf_add(&c.out, "junk", 4);
	out = (unsigned char *)c.out.buf;
	CHECK(gunzip_members(out, len + 4, 1000, &plain) == -1);
	strbuf_reset(&plain);
	out[len / 2] ^= 0x55;
	CHECK(gunzip_members(out, len, 1000, &plain) == -1);
out:
	writer_free(gz);
	strbuf_release(&plain);
	strbuf_release(&c.out);
	free(data);
}

TEST(gz_empty_input_is_one_empty_member)
{
	struct run r = {.len = 0, .chunk = 1, .opts = {.level = 6, .threads = 2}};

	roundtrip(&r);
}

TEST(gz_one_byte)
{
	struct run r = {.len = 1, .chunk = 1, .opts = {.level = 6, .threads = 2}};

	roundtrip(&r);
}

TEST(gz_exact_block_and_block_plus_one)
{
	struct run r = {.chunk = 100000, .opts = {.level = 6, .threads = 2, .block_size = 65536}};

	r.len = 65536;
	roundtrip(&r);
	r.len = 65537;
	roundtrip(&r);
	r.len = 3 * 65536;
	roundtrip(&r);
	r.chunk = 65536; /* writes that end exactly on block boundaries */
	roundtrip(&r);
}

TEST(gz_many_small_writes)
{
	struct run r = {
		.len = 300000, .chunk = 7, .opts = {.level = 6, .threads = 3, .block_size = 10000}};

	roundtrip(&r);
	r.chunk = 1;
	r.len = 50000;
	roundtrip(&r);
}

TEST(gz_one_huge_write_default_block)
{
	struct run r = {.len = (3 << 20) + 12345, .chunk = SIZE_MAX, .opts = {.level = 6}};

	roundtrip(&r);
}

TEST(gz_incompressible)
{
	struct run r = {.len = 1 << 20,
			.chunk = 4096,
			.random = 1,
			.opts = {.level = 9, .threads = 2, .block_size = 100000}};

	roundtrip(&r);
}

/* SQL with BLOBs in hex: random bytes (Huffman-coded), zero padding and
 * text (full deflate), about 1.4 MB. */
static void hex_blob_sql(struct strbuf *sql)
{
	unsigned char *noise = make_data(200000, 1);

	if (!noise) {
		CHECK(noise != NULL);
		return;
	}
	for (int row = 0; row < 8; row++) {
		strbuf_addf(sql, "INSERT INTO `docs` VALUES (%d,'report %d',0x", row, row);
		for (size_t i = (size_t)row * 20000; i < (size_t)row * 20000 + 60000; i++)
			strbuf_addf(sql, "%02X", noise[i % 200000]);
		strbuf_addstr(sql, ",0x");
		for (int i = 0; i < 20000; i++)
			strbuf_addstr(sql, "00");
		strbuf_addstr(sql, ",'");
		for (int i = 0; i < 300; i++)
			strbuf_addf(sql, "line %d of a text column; ", i);
		strbuf_addstr(sql, "');\n");
	}
	CHECK(strbuf_error(sql) == 0);
	free(noise);
}

/* Through the stage in one write; 0 or the stage's error. */
static int squeeze(const struct gz_opts *o, const void *data, size_t len, struct collector *c)
{
	struct writer *gz = NULL;
	struct errbuf err = {""};
	int rc;

	collector_init(c);
	rc = gzstage_new(&gz, &c->w, o, &err);
	if (!rc && len)
		rc = writer_write(gz, data, len, &err);
	if (!rc)
		rc = writer_close(gz, &err);
	if (rc)
		printf("#   gzstage: %s\n", err.msg);
	writer_free(gz);
	return rc ? rc : strbuf_error(&c->out);
}

/* Stock gunzip, fed `gz` through a pipe, gives back exactly `data`. */
static bool gunzip_pipe_gives(const void *gz, size_t gz_len, const void *data, size_t len)
{
	char dir[] = "/tmp/gztest-XXXXXX", path[64], cmd[128];
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	bool ok = false;
	FILE *f, *p;

	if (!mkdtemp(dir))
		return false;
	snprintf(path, sizeof(path), "%s/plain", dir);
	f = fopen(path, "wb");
	if (f && (len == 0 || fwrite(data, 1, len, f) == len) && fclose(f) == 0) {
		snprintf(cmd, sizeof(cmd), "gunzip -c | cmp -s - %s", path);
		/* A gunzip that gives up early must fail the check, not kill
		 * the runner with SIGPIPE. */
		sigaction(SIGPIPE, &ign, &old);
		p = popen(cmd, "w");
		if (p) {
			size_t put = fwrite(gz, 1, gz_len, p);
			int st = pclose(p);

			ok = put == gz_len && st == 0;
		}
		sigaction(SIGPIPE, &old, NULL);
	} else if (f) {
		fclose(f);
	}
	unlink(path);
	rmdir(dir);
	return ok;
}

/* Hex spans get members of their own (the Huffman-only path was taken);
 * the round trip is exact and smaller than one plain zlib deflate. */
TEST(gz_hex_blobs_round_trip_and_compress_better)
{
	struct collector c;
	struct strbuf sql = STRBUF_INIT, plain = STRBUF_INIT;
	struct gz_opts o = {.level = 6, .threads = 2, .block_size = 256 * 1024};
	unsigned char *out = NULL;
	uLongf plain_len;
	long members, blocks;

	hex_blob_sql(&sql);
	CHECK(squeeze(&o, sql.buf, sql.len, &c) == 0);
	members = gunzip_members((unsigned char *)c.out.buf, c.out.len, o.block_size, &plain);
	blocks = (long)((sql.len + o.block_size - 1) / o.block_size);
	if (members <= blocks)
		printf("#   %ld members for %ld blocks\n", members, blocks);
	CHECK(members > blocks);
	CHECK(plain.len == sql.len && !memcmp(plain.buf, sql.buf, sql.len));

	plain_len = compressBound((uLong)sql.len);
	out = malloc(plain_len);
	CHECK(out && compress2(out, &plain_len, (const Bytef *)sql.buf, (uLong)sql.len, 6) == Z_OK);
	/* Random hex: about 51% instead of 57%; it is most of the input. */
	if (!(c.out.len < plain_len * 95 / 100))
		printf("#   stage %zu bytes, plain deflate %lu\n", c.out.len,
		       (unsigned long)plain_len);
	CHECK(c.out.len < plain_len * 95 / 100);
	free(out);
	strbuf_release(&sql);
	strbuf_release(&plain);
	strbuf_release(&c.out);
}

/* Every level, on empty input, one byte, both sides of the default 1 MiB
 * block and hex BLOBs: zlib and stock gunzip read the members back
 * exactly, and the level reaches the compressor (9 smaller than 1). */
TEST(gz_every_level_reads_back_with_zlib_and_gunzip)
{
	static const size_t lens[] = {0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1};
	const size_t nlens = sizeof(lens) / sizeof(lens[0]);
	unsigned char *text = make_data((1 << 20) + 1, 0);
	struct strbuf hex = STRBUF_INIT, plain = STRBUF_INIT;
	size_t text_size[10] = {0}, hex_size[10] = {0};
	struct collector c;

	hex_blob_sql(&hex);
	CHECK(text != NULL);
	if (!text)
		return;
	for (int level = 1; level <= 9; level++) {
		struct gz_opts o = {.level = level, .threads = 2};

		for (size_t i = 0; i <= nlens; i++) {
			const void *in = i < nlens ? (const void *)text : hex.buf;
			size_t len = i < nlens ? lens[i] : hex.len;
			long members, blocks = len ? (long)((len + (1 << 20) - 1) >> 20) : 1;

			CHECK(squeeze(&o, in, len, &c) == 0);
			strbuf_reset(&plain);
			members = gunzip_members((unsigned char *)c.out.buf, c.out.len, 1 << 20,
						 &plain);
			if (i < nlens ? members != blocks : members <= blocks)
				printf("#   level %d, %zu bytes: %ld members for %ld blocks\n",
				       level, len, members, blocks);
			CHECK(i < nlens ? members == blocks : members > blocks);
			CHECK(plain.len == len && (!len || !memcmp(plain.buf, in, len)));
			if (!gunzip_pipe_gives(c.out.buf, c.out.len, in, len))
				printf("#   level %d, %zu bytes: gunzip disagrees\n", level, len);
			CHECK(gunzip_pipe_gives(c.out.buf, c.out.len, in, len));
			if (len == 1 << 20)
				text_size[level] = c.out.len;
			if (i == nlens)
				hex_size[level] = c.out.len;
			strbuf_release(&c.out);
		}
	}
	if (!(text_size[9] < text_size[6] && text_size[6] < text_size[1]))
		printf("#   1 MiB of text: level 1 %zu, 6 %zu, 9 %zu bytes\n", text_size[1],
		       text_size[6], text_size[9]);
	CHECK(text_size[9] < text_size[6] && text_size[6] < text_size[1]);
	CHECK(hex_size[9] < hex_size[1]);
	strbuf_release(&hex);
	strbuf_release(&plain);
	free(text);
}

/* About the most members a block can have: random hex spans of the
 * shortest length counted (512 digits) between text just too long to be
 * joined to them; the round trip is exact at the fastest and the slowest
 * level, and every member stays within its block. */
TEST(gz_most_members_per_block_fit)
{
	unsigned char *noise = make_data(1 << 20, 1);
	struct strbuf in = STRBUF_INIT, plain = STRBUF_INIT;
	struct collector c;
	size_t k = 0;

	CHECK(noise != NULL);
	if (!noise)
		return;
	while (in.len < (1 << 20) + 1000) {
		for (int i = 0; i < 256; i++)
			strbuf_addf(&in, "%02X", noise[k++ % (1 << 20)]);
		/* not hex digits, and no repeats worth a match */
		for (int i = 0; i < 300; i++)
			strbuf_addch(&in, (char)('G' + noise[k++ % (1 << 20)] % 20));
	}
	CHECK(strbuf_error(&in) == 0);
	for (int level = 1; level <= 9; level += 8) {
		struct gz_opts o = {.level = level, .threads = 2};
		long members;

		CHECK(squeeze(&o, in.buf, in.len, &c) == 0);
		strbuf_reset(&plain);
		members = gunzip_members((unsigned char *)c.out.buf, c.out.len, 1 << 20, &plain);
		if (members < 2500)
			printf("#   level %d: %ld members\n", level, members);
		CHECK(members >= 2500);
		CHECK(plain.len == in.len && !memcmp(plain.buf, in.buf, in.len));
		strbuf_release(&c.out);
	}
	strbuf_release(&in);
	strbuf_release(&plain);
	free(noise);
}

TEST(gz_thread_counts_block_sizes_levels)
{
	static const unsigned threads[] = {1, 2, 3, 8};
	static const size_t blocks[] = {1, 777, 4096, 131072};
	struct run r = {.chunk = 5000};

	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
			r.opts.threads = threads[t];
			r.opts.block_size = blocks[b];
			r.opts.level = 1 + (int)((t * 4 + b) % 9);
			/* a block of 1 byte makes 20-byte members: keep it short */
			r.len = blocks[b] == 1 ? 300 : 400000;
			roundtrip(&r);
		}
	}
}

/* Same input, same output: members do not depend on timing. */
TEST(gz_output_is_deterministic)
{
	unsigned char *data = make_data(500000, 0);
	struct gz_opts o1 = {.level = 6, .threads = 1, .block_size = 30000};
	struct gz_opts o4 = {.level = 6, .threads = 4, .block_size = 30000};
	struct collector c1, c4;
	struct writer *g1 = NULL, *g4 = NULL;
	struct errbuf err;

	collector_init(&c1);
	collector_init(&c4);
	CHECK(data && gzstage_new(&g1, &c1.w, &o1, &err) == 0);
	CHECK(gzstage_new(&g4, &c4.w, &o4, &err) == 0);
	if (data && g1 && g4) {
		CHECK(writer_write(g1, data, 500000, &err) == 0);
		CHECK(writer_write(g4, data, 500000, &err) == 0);
		CHECK(writer_close(g1, &err) == 0);
		CHECK(writer_close(g4, &err) == 0);
		CHECK(c1.out.len == c4.out.len);
		CHECK(c1.out.len > 0 && !memcmp(c1.out.buf, c4.out.buf, c1.out.len));
	}
	writer_free(g1);
	writer_free(g4);
	strbuf_release(&c1.out);
	strbuf_release(&c4.out);
	free(data);
}

TEST(gz_output_streams_before_close)
{
	unsigned char *data = make_data(1 << 20, 0);
	struct gz_opts o = {.level = 1, .threads = 2, .block_size = 16384};
	struct collector c;
	struct writer *gz = NULL;
	struct errbuf err;

	collector_init(&c);
	CHECK(data && gzstage_new(&gz, &c.w, &o, &err) == 0);
	if (data && gz) {
		CHECK(writer_write(gz, data, 1 << 20, &err) == 0);
		/* 64 blocks through 2 * 2 + 2 slots: most forwarded already */
		CHECK(c.calls >= 64 - 6);
		CHECK(writer_close(gz, &err) == 0);
		CHECK(c.calls == 64);
		CHECK(writer_close(gz, &err) == 0); /* second close: no-op */
		CHECK(c.calls == 64);
		CHECK(writer_write(gz, "x", 1, &err) == -EINVAL);
	}
	writer_free(gz);
	strbuf_release(&c.out);
	free(data);
}

TEST(gz_real_gunzip_accepts_output)
{
	char dir[] = "/tmp/gztest-XXXXXX", path[64], cmd[256];
	struct run r = {.len = 2500000, .opts = {.level = 6, .block_size = 1 << 20}};
	unsigned char *data = make_data(r.len, 0);
	struct collector c;
	struct writer *gz = NULL;
	struct errbuf err;
	FILE *f;
	long size = -1;

	collector_init(&c);
	CHECK(data && mkdtemp(dir) != NULL);
	CHECK(gzstage_new(&gz, &c.w, &r.opts, &err) == 0);
	if (!data || !gz)
		goto out;
	CHECK(writer_write(gz, data, r.len, &err) == 0);
	CHECK(writer_close(gz, &err) == 0);
	snprintf(path, sizeof(path), "%s/a.gz", dir);
	f = fopen(path, "wb");
	CHECK(f && fwrite(c.out.buf, 1, c.out.len, f) == c.out.len);
	CHECK(f && fclose(f) == 0);
	snprintf(path, sizeof(path), "%s/a", dir);
	f = fopen(path, "wb");
	CHECK(f && fwrite(data, 1, r.len, f) == r.len);
	CHECK(f && fclose(f) == 0);
	snprintf(cmd, sizeof(cmd), "gunzip -t %s/a.gz && gunzip -c %s/a.gz | cmp -s - %s/a", dir,
		 dir, dir);
	CHECK(system(cmd) == 0);
	/* gunzip really read all members, not just the first */
	snprintf(cmd, sizeof(cmd), "gunzip -c %s/a.gz | wc -c > %s/n", dir, dir);
	CHECK(system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/n", dir);
	f = fopen(path, "r");
	CHECK(f && fscanf(f, "%ld", &size) == 1);
	if (f)
		fclose(f);
	CHECK(size == (long)r.len);
out:
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	writer_free(gz);
	strbuf_release(&c.out);
	free(data);
}

TEST(gz_real_gunzip_accepts_empty)
{
	char dir[] = "/tmp/gztest-XXXXXX", cmd[256];
	struct gz_opts o = {.level = 6};
	struct collector c;
	struct writer *gz = NULL;
	struct errbuf err;
	FILE *f;

	collector_init(&c);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(gzstage_new(&gz, &c.w, &o, &err) == 0);
	if (!gz)
		goto out;
	CHECK(writer_close(gz, &err) == 0);
	CHECK(c.out.len == 20);
	snprintf(cmd, sizeof(cmd), "%s/e.gz", dir);
	f = fopen(cmd, "wb");
	CHECK(f && fwrite(c.out.buf, 1, c.out.len, f) == c.out.len);
	CHECK(f && fclose(f) == 0);
	snprintf(cmd, sizeof(cmd), "test \"$(gunzip -c %s/e.gz | wc -c)\" = 0", dir);
	CHECK(system(cmd) == 0);
out:
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	writer_free(gz);
	strbuf_release(&c.out);
}

/* The next stage fails part way: its error comes back unchanged, from
 * then on, and free() still cleans up. */
static void failing_next(size_t fail_after, size_t total, size_t chunk)
{
	unsigned char *data = make_data(total, 0);
	struct gz_opts o = {.level = 6, .threads = 2, .block_size = 8192};
	struct collector c;
	struct writer *gz = NULL;
	struct errbuf err = {""};
	char want[128];
	size_t off, n;
	int rc = 0;

	collector_init(&c);
	c.fail_after = fail_after;
	snprintf(want, sizeof(want), "test sink full after %zu bytes", fail_after);
	CHECK(data && gzstage_new(&gz, &c.w, &o, &err) == 0);
	if (!data || !gz)
		goto out;
	for (off = 0; off < total && rc == 0; off += n) {
		n = total - off < chunk ? total - off : chunk;
		rc = writer_write(gz, data + off, n, &err);
	}
	if (rc == 0)
		rc = writer_close(gz, &err);
	CHECK(rc == -ENOSPC);
	CHECK_STREQ(err.msg, want);
	err.msg[0] = '\0';
	CHECK(writer_write(gz, "x", 1, &err) == -ENOSPC);
	CHECK_STREQ(err.msg, want);
	err.msg[0] = '\0';
	CHECK(writer_close(gz, &err) == -ENOSPC);
	CHECK_STREQ(err.msg, want);
	CHECK(c.out.len <= fail_after);
out:
	writer_free(gz);
	strbuf_release(&c.out);
	free(data);
}

TEST(gz_next_stage_error_in_write)
{
	failing_next(0, 1 << 20, 10000);
	failing_next(5000, 1 << 20, 65536);
}

TEST(gz_next_stage_error_in_close)
{
	/* 20000 bytes: members go out in close() only */
	failing_next(100, 20000, 20000);
}

TEST(gz_free_without_close_aborts)
{
	unsigned char *data = make_data(1 << 20, 1);
	struct gz_opts o = {.level = 9, .threads = 2, .block_size = 65536};
	struct collector c;
	struct writer *gz = NULL;
	struct errbuf err;

	collector_init(&c);
	CHECK(data && gzstage_new(&gz, &c.w, &o, &err) == 0);
	if (data && gz)
		CHECK(writer_write(gz, data, 1 << 20, &err) == 0);
	writer_free(gz); /* workers may still be busy: must not hang or leak */
	writer_free(NULL);
	strbuf_release(&c.out);
	free(data);
}

TEST(gz_invalid_options)
{
	static const int bad_levels[] = {0, 10, -1, 100};
	struct collector c;
	struct writer *gz = NULL;
	struct errbuf err;

	collector_init(&c);
	for (size_t i = 0; i < sizeof(bad_levels) / sizeof(bad_levels[0]); i++) {
		struct gz_opts o = {.level = bad_levels[i]};
		char want[80];

		err.msg[0] = '\0';
		CHECK(gzstage_new(&gz, &c.w, &o, &err) == -EINVAL);
		CHECK(gz == NULL);
		snprintf(want, sizeof(want), "gzip: invalid compression level %d (use 1..9)",
			 bad_levels[i]);
		CHECK_STREQ(err.msg, want);
	}
	{
		struct gz_opts o = {.level = 6, .block_size = (size_t)1 << 40};

		CHECK(gzstage_new(&gz, &c.w, &o, &err) == -EINVAL);
		CHECK(gz == NULL);
		CHECK(strstr(err.msg, "block size") != NULL);
	}
	CHECK(c.calls == 0);
}
