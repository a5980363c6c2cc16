/* A last stage for tests: every byte written is appended to a strbuf.
 * Shared by the unit tests and the fuzz targets. */
#ifndef TESTS_STRBUFSINK_H
#define TESTS_STRBUFSINK_H

#include "../../dumper/strbuf.h"
#include "../../dumper/writer.h"

struct strbufsink {
	struct writer w; /* first: the stage is passed as &s->w */
	struct strbuf sb;
};

/* Initialises an empty sink; strbuf_release(&s->sb) frees what it holds.
 * Its close and free do nothing. */
void strbufsink_init(struct strbufsink *s);

#endif
