#include "hexspan.h"

#include <stdint.h>

/* 1 + the digit's value for [0-9A-F], else 0. */
static const uint8_t digit[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* Whether the bytes spelled by the first HEXSPAN_PROBE digits of p[0, n)
 * take at least 80% of the distinct values m random bytes would:
 * 256 * (1 - (255/256)^m). */
static bool looks_random(const unsigned char *p, size_t n)
{
	size_t m = (n < HEXSPAN_PROBE ? n : HEXSPAN_PROBE) / 2;
	uint64_t seen[4] = {0, 0, 0, 0};
	unsigned distinct = 0;
	double none = 1.0;

	for (size_t i = 0; i < m; i++) {
		unsigned b =
			(unsigned)(digit[p[2 * i]] - 1) << 4 | (unsigned)(digit[p[2 * i + 1]] - 1);
		uint64_t bit = (uint64_t)1 << (b & 63);

		if (!(seen[b >> 6] & bit)) {
			seen[b >> 6] |= bit;
			distinct++;
		}
		none *= 255.0 / 256.0;
	}
	return distinct >= 0.8 * 256.0 * (1.0 - none);
}

/* The first span within one run of digits [run, run_end), from its
 * pieces' verdicts; false when no piece counts. */
static bool span_in_run(const unsigned char *p, size_t run, size_t run_end, size_t *start,
			size_t *end)
{
	bool found = false;

	for (size_t a = run; a < run_end;) {
		size_t b = run_end - a > HEXSPAN_PROBE_EVERY ? a + HEXSPAN_PROBE_EVERY : run_end;
		/* A short tail follows the piece before it. */
		bool counts = b - a >= HEXSPAN_MIN ? looks_random(p + a, b - a) : found;

		if (counts) {
			if (!found)
				*start = a;
			*end = b;
			found = true;
		} else if (found) {
			break;
		}
		a = b;
	}
	return found;
}

/* The first piece at or after `from`.  Every run of HEXSPAN_MIN digits
 * or more holds a position from + HEXSPAN_MIN - 1 + k * HEXSPAN_MIN, so
 * only those are probed and a run is measured around a probe that hits a
 * digit: text is skipped without looking at most of its bytes. */
static bool next_piece(const unsigned char *p, size_t len, size_t from, size_t *start, size_t *end)
{
	size_t probe = from + HEXSPAN_MIN - 1;

	while (probe < len) {
		size_t run = probe, run_end = probe + 1;

		if (!digit[p[probe]]) {
			probe += HEXSPAN_MIN;
			continue;
		}
		while (run > from && digit[p[run - 1]])
			run--;
		while (run_end < len && digit[p[run_end]])
			run_end++;
		if (run_end - run >= HEXSPAN_MIN && span_in_run(p, run, run_end, start, end))
			return true;
		/* p[run_end] is not a digit: the next run starts after it. */
		probe = run_end + HEXSPAN_MIN;
	}
	return false;
}

void hexspan_iter_init(struct hexspan_iter *it, const unsigned char *p, size_t len)
{
	it->p = p;
	it->len = len;
	it->have = next_piece(p, len, 0, &it->a, &it->b);
}

bool hexspan_iter_next(struct hexspan_iter *it, size_t *start, size_t *end)
{
	if (!it->have)
		return false;
	*start = it->a;
	*end = it->b;
	/* Join what follows closely: "...,0x" between two BLOB columns. */
	while ((it->have = next_piece(it->p, it->len, *end, &it->a, &it->b)) &&
	       it->a - *end < HEXSPAN_GAP)
		*end = it->b;
	return true;
}
