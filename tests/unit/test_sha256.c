#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../dumper/sha256.h"
#include "unit.h"

static void hash_str(const void *data, size_t len, char hex[65])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final_hex(&c, hex);
}

TEST(sha256_nist_short)
{
	char hex[65];

	hash_str("", 0, hex);
	CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hash_str("abc", 3, hex);
	CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hash_str("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	hash_str("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
		 "klmnopqrlmnopqrsmnopqrstnopqrstu",
		 112, hex);
	CHECK_STREQ(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(sha256_million_a_in_odd_pieces)
{
	static char buf[1000000];
	struct sha256 c;
	char hex[65];
	size_t off = 0, step = 1;

	memset(buf, 'a', sizeof(buf));
	sha256_init(&c);
	/* Uneven pieces exercise the partial-block paths. */
	while (off < sizeof(buf)) {
		size_t n = step < sizeof(buf) - off ? step : sizeof(buf) - off;

		sha256_update(&c, buf + off, n);
		off += n;
		step = step * 7 % 257 + 1;
	}
	sha256_final_hex(&c, hex);
	CHECK_STREQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(sha256_block_boundaries)
{
	/* 55, 56, 63, 64, 65 bytes: padding edge cases (python hashlib). */
	static const char *const want[] = {
		"9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
		"b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
		"7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
		"ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
		"635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0",
	};
	static const size_t lens[] = {55, 56, 63, 64, 65};
	char buf[65], hex[65];

	memset(buf, 'a', sizeof(buf));
	for (size_t i = 0; i < 5; i++) {
		hash_str(buf, lens[i], hex);
		CHECK_STREQ(hex, want[i]);
	}
}

struct collect {
	struct writer w;
	size_t n;
	int fail;
};

static int collect_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct collect *c = (struct collect *)w;

	(void)buf;
	if (c->fail)
		return error_set(err, -ENOSPC, "full");
	c->n += len;
	return 0;
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

static const struct writer_ops collect_ops = {"collect", collect_write, collect_close,
					      collect_free};

TEST(sha256_stage_passes_through_and_hashes)
{
	struct collect sink = {{&collect_ops}, 0, 0};
	struct writer *w = NULL;
	struct sha256 ctx;
	struct errbuf err;
	char hex[65];

	CHECK(sha256stage_new(&w, &sink.w, &ctx, &err) == 0);
	CHECK(writer_write(w, "a", 1, &err) == 0);
	CHECK(writer_write(w, "bc", 2, &err) == 0);
	/* A write the next stage refused is not part of the hash. */
	sink.fail = 1;
	CHECK(writer_write(w, "x", 1, &err) == -ENOSPC);
	CHECK(writer_close(w, &err) == 0);
	sha256_final_hex(&ctx, hex);
	CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(sink.n == 3);
	writer_free(w);
}
