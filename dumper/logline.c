#include "logline.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

#define VALUE_MAX 4096
#define KEY_MAX	  64
/* Kept free while fields are added to a JSON line: what closes it,
 * ',"truncated":true}\n' and the NUL. */
#define JSON_KEEP 24

const char log_true[] = "true", log_false[] = "false";

/* A line being built: writes stop `keep` bytes before the end. */
struct out {
	char *p;
	size_t cap, n, keep;
	bool cut; /* something did not fit */
};

static bool out_room(const struct out *o, size_t len)
{
	return o->n + len + o->keep < o->cap;
}

static void out_put(struct out *o, const char *s, size_t len)
{
	for (; len > 0; len--, s++) {
		if (!out_room(o, 1)) {
			o->cut = true;
			return;
		}
		o->p[o->n++] = *s;
	}
}

static void out_puts(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* ---- the caller's conversions ---- */

enum arg_size { SZ_INT, SZ_LONG, SZ_LLONG, SZ_SIZE, SZ_MAX, SZ_PTRDIFF, SZ_LDOUBLE };
enum vkind { V_STR, V_NUM, V_BOOL, V_NULL };

struct conv {
	char spec[40]; /* "%-5.2llu", formatted alone */
	int stars[2], nstar;
	enum arg_size sz;
};

/* One formatted value. */
struct value {
	enum vkind kind;
	char text[VALUE_MAX];
};

/* Reads the conversion at fmt ('%', not "%%") into cv, and its '*'
 * arguments from ap.  Returns where its conversion character is, or NULL
 * when fmt ends first. */
static const char *parse_spec(const char *fmt, struct conv *cv, va_list *ap)
{
	size_t k = 0;

	cv->nstar = 0;
	cv->sz = SZ_INT;
	cv->spec[k++] = *fmt++;
	while (*fmt && strchr("-+ #0", *fmt) && k < 8)
		cv->spec[k++] = *fmt++;
	for (int part = 0; part < 2; part++) {
		if (part == 1) {
			if (*fmt != '.')
				break;
			cv->spec[k++] = *fmt++;
		}
		if (*fmt == '*') {
			cv->stars[cv->nstar++] = va_arg(*ap, int);
			cv->spec[k++] = *fmt++;
		}
		while (isdigit((unsigned char)*fmt) && k < 24)
			cv->spec[k++] = *fmt++;
	}
	while (*fmt && strchr("hlzjtL", *fmt) && k < 30) {
		cv->sz = *fmt == 'l'   ? (cv->sz == SZ_LONG ? SZ_LLONG : SZ_LONG)
			 : *fmt == 'z' ? SZ_SIZE
			 : *fmt == 'j' ? SZ_MAX
			 : *fmt == 't' ? SZ_PTRDIFF
			 : *fmt == 'L' ? SZ_LDOUBLE
				       : SZ_INT; /* h, hh: promoted to int */
		cv->spec[k++] = *fmt++;
	}
	if (!*fmt)
		return NULL;
	cv->spec[k++] = *fmt;
	cv->spec[k] = '\0';
	return fmt;
}

/* The caller's format was checked by the compiler (format attribute);
 * here each conversion is formatted alone with its own spec. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#define ONE(v)                                                                                     \
	(cv->nstar == 0	  ? snprintf(val->text, sizeof(val->text), cv->spec, v)                    \
	 : cv->nstar == 1 ? snprintf(val->text, sizeof(val->text), cv->spec, cv->stars[0], v)      \
			  : snprintf(val->text, sizeof(val->text), cv->spec, cv->stars[0],         \
				     cv->stars[1], v))

static void format_signed(const struct conv *cv, va_list *ap, struct value *val)
{
	switch (cv->sz) {
	case SZ_LONG:
		ONE(va_arg(*ap, long));
		break;
	case SZ_LLONG:
		ONE(va_arg(*ap, long long));
		break;
	case SZ_SIZE:
		ONE(va_arg(*ap, ssize_t));
		break;
	case SZ_MAX:
		ONE(va_arg(*ap, intmax_t));
		break;
	case SZ_PTRDIFF:
		ONE(va_arg(*ap, ptrdiff_t));
		break;
	default:
		ONE(va_arg(*ap, int));
	}
}

static void format_unsigned(const struct conv *cv, va_list *ap, struct value *val)
{
	switch (cv->sz) {
	case SZ_LONG:
		ONE(va_arg(*ap, unsigned long));
		break;
	case SZ_LLONG:
		ONE(va_arg(*ap, unsigned long long));
		break;
	case SZ_SIZE:
		ONE(va_arg(*ap, size_t));
		break;
	case SZ_MAX:
		ONE(va_arg(*ap, uintmax_t));
		break;
	case SZ_PTRDIFF:
		ONE(va_arg(*ap, ptrdiff_t));
		break;
	default:
		ONE(va_arg(*ap, unsigned int));
	}
}

static void format_string(const struct conv *cv, va_list *ap, struct value *val)
{
	const char *v = va_arg(*ap, const char *);

	if (v == log_true || v == log_false) {
		val->kind = V_BOOL;
		snprintf(val->text, sizeof(val->text), "%s", v);
	} else if (!v) {
		val->kind = V_NULL;
		ONE("(null)");
	} else {
		ONE(v);
	}
}

/* Formats one conversion (character c) into val.  Returns 0, or -1 for
 * a conversion the callers do not use. */
static int format_value(const struct conv *cv, char c, va_list *ap, struct value *val)
{
	val->kind = V_STR;
	val->text[0] = '\0';
	if (strchr("di", c)) {
		val->kind = V_NUM;
		format_signed(cv, ap, val);
	} else if (strchr("uoxX", c)) {
		val->kind = c == 'u' ? V_NUM : V_STR; /* JSON has no octal or hex */
		format_unsigned(cv, ap, val);
	} else if (strchr("eEfFgGaA", c)) {
		val->kind = strchr("aA", c) ? V_STR : V_NUM;
		if (cv->sz == SZ_LDOUBLE)
			ONE(va_arg(*ap, long double));
		else
			ONE(va_arg(*ap, double));
	} else if (c == 's') {
		format_string(cv, ap, val);
	} else if (c == 'c') {
		val->text[0] = (char)va_arg(*ap, int);
		val->text[1] = '\0';
	} else if (c == 'p') {
		ONE(va_arg(*ap, void *));
	} else {
		return -1;
	}
	return 0;
}
#undef ONE
#pragma GCC diagnostic pop

/* Formats the conversion at fmt (a '%' not followed by '%') into val.
 * Returns the rest of fmt, or NULL where formatting must stop. */
static const char *next_value(const char *fmt, va_list *ap, struct value *val)
{
	struct conv cv;
	const char *c = parse_spec(fmt, &cv, ap);

	if (!c || format_value(&cv, *c, ap, val))
		return NULL;
	return c + 1;
}

/* ---- text ---- */

/* s with what could end a value or a line escaped: backslash, double
 * quote, control characters (docs/security.md: one event is one line). */
static void text_escape(struct out *o, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c == '\\' || c == '"')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n' || c == '\r' || c == '\t')
			snprintf(esc, sizeof(esc), "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		if (!out_room(o, strlen(esc))) {
			o->cut = true;
			return;
		}
		out_puts(o, esc);
	}
}

static void text_fields(struct out *o, const char *fmt, va_list *ap)
{
	struct value val;

	while (*fmt) {
		if (*fmt != '%' || fmt[1] == '%') {
			out_put(o, fmt, 1);
			fmt += *fmt == '%' ? 2 : 1;
			continue;
		}
		fmt = next_value(fmt, ap, &val);
		if (!fmt)
			return;
		if (val.kind == V_STR || val.kind == V_NULL)
			text_escape(o, val.text);
		else
			out_puts(o, val.text);
	}
}

size_t logline_text(char *buf, size_t cap, const struct logline_head *h, const char *fmt,
		    va_list *ap)
{
	struct out o = {.p = buf, .cap = cap, .keep = 1}; /* room for '\n' */
	char when[32];
	struct tm tm;

	gmtime_r(&h->when.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out_puts(&o, when);
	out_put(&o, " ", 1);
	out_puts(&o, h->level);
	out_put(&o, " ", 1);
	out_puts(&o, h->event);
	if (fmt && *fmt) {
		out_put(&o, " ", 1);
		text_fields(&o, fmt, ap);
	}
	o.keep = 0;
	out_put(&o, "\n", 1);
	buf[o.n] = '\0';
	return o.n;
}

/* ---- JSON ---- */

/* s as a JSON string; where the line has no room left it stops (never
 * inside an escape or a UTF-8 sequence) and still closes the string. */
static void json_string(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	out_put(o, "\"", 1);
	o->keep++; /* the closing quote */
	while (*p) {
		char esc[8];
		size_t len, elen = json_char_escape(p, &len, esc);

		if (!out_room(o, elen)) {
			o->cut = true;
			break;
		}
		out_put(o, esc, elen);
		p += len;
	}
	o->keep--;
	out_put(o, "\"", 1);
}

/* A JSON number as strtod would not check it: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static bool json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (isdigit((unsigned char)*s))
			s++;
	else
		return false;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/* One field of the format being read. */
struct jfield {
	char key[KEY_MAX];
	char val[VALUE_MAX];
	size_t klen, vlen;
	enum vkind kind;      /* of the value when it is one conversion alone */
	unsigned convs, lits; /* conversions and literal characters in the value */
	bool in_value, quoted, was_quoted;
};

static void jf_reset(struct jfield *f)
{
	f->klen = f->vlen = 0;
	f->key[0] = f->val[0] = '\0';
	f->convs = f->lits = 0;
	f->in_value = f->quoted = f->was_quoted = false;
}

static void jf_add(char *buf, size_t cap, size_t *len, const char *s)
{
	for (; *s && *len + 1 < cap; s++)
		buf[(*len)++] = *s;
	buf[*len] = '\0';
}

/* The member's name: safe characters only, and never one of the line's. */
static void member_key(const struct jfield *f, char key[KEY_MAX + 8])
{
	static const char *const own[] = {"time", "level", "event", "host", "pid", "truncated"};
	const char *k = f->in_value ? f->key : "msg";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!strcmp(k, own[i]))
			n = (size_t)snprintf(key, KEY_MAX + 8, "field_");
	for (; *k && n < KEY_MAX + 7; k++)
		key[n++] = isalnum((unsigned char)*k) || strchr("_.-", *k) ? *k : '_';
	key[n] = '\0';
}

/* Writes field f as a member, or nothing (and marks the line cut) when
 * even its shortest form does not fit. */
static void json_member(struct out *o, struct jfield *f)
{
	bool typed = f->in_value && !f->was_quoted && f->convs == 1 && !f->lits;
	enum vkind kind = typed ? f->kind : V_STR;
	char key[KEY_MAX + 8], *s = f->in_value ? f->val : f->key, *end;
	const char *v = s;

	if (kind == V_NUM) { /* widths pad with spaces */
		while (*s == ' ')
			s++;
		for (end = s + strlen(s); end > s && end[-1] == ' ';)
			*--end = '\0';
		v = s;
		if (!json_number(v))
			kind = V_STR;
	}
	if (kind == V_NULL)
		v = "null";
	member_key(f, key);
	if (!out_room(o, strlen(key) + 4 + (kind == V_STR ? 2 : strlen(v)))) {
		o->cut = true;
		return;
	}
	out_put(o, ",\"", 2);
	out_puts(o, key);
	out_put(o, "\":", 2);
	if (kind == V_STR)
		json_string(o, v);
	else
		out_puts(o, v);
}

static void jf_char_value(struct jfield *f, const char *s)
{
	jf_add(f->val, sizeof(f->val), &f->vlen, s);
	f->lits++;
}

/* One literal character of the format: a space ends an unquoted value
 * (or a word), '=' starts the value, a double quote opens or closes a
 * quoted one. */
static void jf_char(struct out *o, struct jfield *f, char c)
{
	char s[2] = {c, '\0'};

	if (f->quoted) {
		if (c == '"')
			f->quoted = false;
		else
			jf_char_value(f, s);
	} else if (c == ' ') {
		if (f->klen || f->in_value)
			json_member(o, f);
		jf_reset(f);
	} else if (!f->in_value) {
		if (c == '=')
			f->in_value = true;
		else
			jf_add(f->key, sizeof(f->key), &f->klen, s);
	} else if (c == '"' && !f->vlen && !f->convs && !f->lits) {
		f->quoted = f->was_quoted = true;
	} else {
		jf_char_value(f, s);
	}
}

static void json_fields(struct out *o, const char *fmt, va_list *ap)
{
	struct jfield f;
	struct value val;

	jf_reset(&f);
	while (*fmt) {
		if (*fmt != '%' || fmt[1] == '%') {
			jf_char(o, &f, *fmt);
			fmt += *fmt == '%' ? 2 : 1;
			continue;
		}
		fmt = next_value(fmt, ap, &val);
		if (!fmt)
			break;
		if (!f.in_value) {
			jf_add(f.key, sizeof(f.key), &f.klen, val.text);
		} else {
			jf_add(f.val, sizeof(f.val), &f.vlen, val.text);
			f.convs++;
			f.kind = val.kind;
		}
	}
	if (f.klen || f.in_value)
		json_member(o, &f);
}

size_t logline_json(char *buf, size_t cap, const struct logline_head *h, const char *fmt,
		    va_list *ap)
{
	struct out o = {.p = buf, .cap = cap, .keep = JSON_KEEP};
	char when[48], event[72], host[72], pid[32];
	struct tm tm;

	gmtime_r(&h->when.tv_sec, &tm);
	strftime(when, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ",
		 h->when.tv_nsec / 1000000);
	/* Bounded, so that the head always fits (HOST_NAME_MAX is 64). */
	snprintf(event, sizeof(event), "%.64s", h->event);
	snprintf(host, sizeof(host), "%.64s", h->host);
	out_puts(&o, "{\"time\":\"");
	out_puts(&o, when);
	out_puts(&o, "\",\"level\":\"");
	out_puts(&o, h->level);
	out_puts(&o, "\",\"event\":");
	json_string(&o, event);
	out_puts(&o, ",\"host\":");
	json_string(&o, host);
	snprintf(pid, sizeof(pid), ",\"pid\":%ld", (long)h->pid);
	out_puts(&o, pid);
	if (fmt && *fmt)
		json_fields(&o, fmt, ap);
	o.keep = 0;
	if (o.cut)
		out_puts(&o, ",\"truncated\":true");
	out_puts(&o, "}\n");
	buf[o.n] = '\0';
	return o.n;
}
