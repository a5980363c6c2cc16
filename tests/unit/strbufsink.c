/* A stage collecting into a strbuf.  See strbufsink.h. */
#include "strbufsink.h"

static int s_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	(void)err;
	strbuf_add(&((struct strbufsink *)w)->sb, buf, len);
	return 0;
}

static int s_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void s_free(struct writer *w)
{
	(void)w;
}

static const struct writer_ops strbufsink_ops = {"strbuf", s_write, s_close, s_free};

void strbufsink_init(struct strbufsink *s)
{
	s->w.ops = &strbufsink_ops;
	strbuf_init(&s->sb);
}
