#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dumper/strbuf.h"
#include "unit.h"

TEST(strbuf_empty)
{
	struct strbuf sb = STRBUF_INIT;
	char *p;

	CHECK(sb.buf == NULL && sb.len == 0);
	CHECK_STREQ(strbuf_str(&sb), "");
	CHECK(strbuf_error(&sb) == 0);
	p = strbuf_detach(&sb);
	CHECK(p != NULL);
	CHECK_STREQ(p, "");
	free(p);
	strbuf_release(&sb);
	strbuf_release(&sb); /* twice is fine */
}

TEST(strbuf_add_variants)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_addstr(&sb, "INSERT");
	strbuf_addch(&sb, ' ');
	strbuf_add(&sb, "INTO xyz", 4);
	strbuf_add(&sb, NULL, 0);
	strbuf_addf(&sb, " `%s` %d%%", "t", 42);
	CHECK_STREQ(strbuf_str(&sb), "INSERT INTO `t` 42%");
	CHECK(sb.len == strlen("INSERT INTO `t` 42%"));
	CHECK(sb.buf[sb.len] == '\0');
	CHECK(sb.alloc > sb.len);
	CHECK(strbuf_error(&sb) == 0);
	strbuf_release(&sb);
	CHECK(sb.buf == NULL && sb.len == 0 && sb.alloc == 0);
}

TEST(strbuf_binary_and_nul)
{
	struct strbuf sb = STRBUF_INIT;
	const char bin[] = {'a', 0, 'b', 0};

	strbuf_add(&sb, bin, sizeof(bin));
	strbuf_addch(&sb, '\0');
	CHECK(sb.len == 5);
	CHECK(memcmp(sb.buf, bin, 4) == 0 && sb.buf[4] == 0 && sb.buf[5] == 0);
	strbuf_release(&sb);
}

/* Longer than the first guess of strbuf_addf: takes the second pass. */
TEST(strbuf_addf_long)
{
	struct strbuf sb = STRBUF_INIT;
	char want[1000];
	char big[600];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_addstr(&sb, "pre:");
	strbuf_addf(&sb, "%s|%05d|%s", big, 7, "end");
	snprintf(want, sizeof(want), "pre:%s|%05d|%s", big, 7, "end");
	CHECK_STREQ(strbuf_str(&sb), want);
	CHECK(sb.len == strlen(want));
	/* Exactly filling the remaining room, then one more. */
	strbuf_reset(&sb);
	for (size_t i = 0; i < 300; i++)
		strbuf_addf(&sb, "%zu,", i);
	CHECK(strbuf_error(&sb) == 0);
	CHECK(strncmp(strbuf_str(&sb), "0,1,2,", 6) == 0);
	CHECK(strstr(strbuf_str(&sb), ",298,299,") != NULL);
	CHECK(sb.buf[sb.len] == '\0' && sb.buf[sb.len - 1] == ',');
	strbuf_release(&sb);
}

TEST(strbuf_addf_empty_result)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s", "");
	CHECK(sb.len == 0);
	CHECK_STREQ(strbuf_str(&sb), "");
	CHECK(strbuf_error(&sb) == 0);
	strbuf_release(&sb);
}

TEST(strbuf_grows_large)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, n = 3 << 20;
	int ok = 1;

	for (i = 0; i < n; i++)
		strbuf_addch(&sb, (char)('a' + i % 26));
	CHECK(sb.len == n && sb.alloc > n);
	for (i = 0; i < n && ok; i++)
		ok = sb.buf[i] == (char)('a' + i % 26);
	CHECK(ok);
	CHECK(sb.buf[n] == '\0');
	strbuf_release(&sb);
}

TEST(strbuf_reset_keeps_memory)
{
	struct strbuf sb = STRBUF_INIT;
	char *before;
	size_t alloc;

	strbuf_addstr(&sb, "some text that is long enough");
	before = sb.buf;
	alloc = sb.alloc;
	strbuf_reset(&sb);
	CHECK(sb.len == 0 && sb.buf == before && sb.alloc == alloc);
	CHECK_STREQ(strbuf_str(&sb), "");
	strbuf_addstr(&sb, "again");
	CHECK(sb.buf == before);
	CHECK_STREQ(strbuf_str(&sb), "again");
	strbuf_release(&sb);
	strbuf_reset(&sb); /* on an empty buffer */
	CHECK(sb.len == 0 && sb.buf == NULL);
}

TEST(strbuf_grow_reserves)
{
	struct strbuf sb = STRBUF_INIT;
	char *p;

	strbuf_grow(&sb, 1000);
	CHECK(sb.alloc >= 1001 && sb.len == 0);
	p = sb.buf;
	strbuf_add(&sb, "0123456789", 10);
	for (int i = 0; i < 99; i++)
		strbuf_add(&sb, "0123456789", 10);
	CHECK(sb.len == 1000 && sb.buf == p); /* no reallocation needed */
	strbuf_release(&sb);
}

TEST(strbuf_detach_hands_over)
{
	struct strbuf sb = STRBUF_INIT;
	char *p;

	strbuf_addf(&sb, "%d-%s", 1, "two");
	p = strbuf_detach(&sb);
	CHECK_STREQ(p, "1-two");
	CHECK(sb.buf == NULL && sb.len == 0 && sb.alloc == 0 && !sb.failed);
	free(p);
	strbuf_addstr(&sb, "reusable");
	CHECK_STREQ(strbuf_str(&sb), "reusable");
	strbuf_release(&sb);
}

/* An impossible size is the one allocation failure we can provoke. */
TEST(strbuf_failure_sticks)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "ok so far");
	strbuf_grow(&sb, SIZE_MAX - 2);
	CHECK(sb.failed);
	CHECK(strbuf_error(&sb) == -ENOMEM);
	strbuf_addstr(&sb, "ignored");
	strbuf_addch(&sb, 'x');
	strbuf_addf(&sb, "%d", 5);
	CHECK(strbuf_error(&sb) == -ENOMEM);
	CHECK_STREQ(strbuf_str(&sb), "");
	CHECK(strbuf_detach(&sb) == NULL);
	CHECK(!sb.failed && sb.buf == NULL); /* reinitialised */
	strbuf_addstr(&sb, "fresh");
	CHECK_STREQ(strbuf_str(&sb), "fresh");
	strbuf_release(&sb);
}

TEST(strbuf_failure_release)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_grow(&sb, SIZE_MAX);
	CHECK(strbuf_error(&sb) == -ENOMEM);
	strbuf_release(&sb);
	CHECK(strbuf_error(&sb) == 0);
}
