/* The config loader's internals, shared by fs/config.c (the schema and
 * turning raw text into struct config) and fs/config_source.c (collecting
 * raw text from the INI file and the environment).  Not a public API.
 */
#ifndef FS_CONFIG_SCHEMA_H
#define FS_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

enum ktype {
	K_STR,
	K_NAME,	   /* a string usable in file names */
	K_SECRET,  /* a string never shown; the next entry is its *_file */
	K_SECFILE, /* the file holding the previous entry's secret */
	K_PORT,
	K_UINT,
	K_BOOL,
	K_ENUM,
	K_LIST,
	K_SCHEDULE,
	K_LOGLEVEL,
	K_FPR,
	K_GROUP, /* a group name or number, stored as gid_t */
};

#define F_REQUIRED 1u
#define F_MAIL	   2u /* each item must look like an e-mail address */

struct key_def {
	const char *section, *key;
	enum ktype type;
	unsigned flags;
	size_t off, size; /* the field in struct config */
	const char *def;  /* default, parsed like a value; NULL: unset */
	unsigned long long min, max;
	const char *const *names; /* K_ENUM/K_LOGLEVEL values, in enum order */
};

/* The schema: every key of every section, in the order of docs/config.md. */
extern const struct key_def config_keys[];
extern const size_t config_nkeys;

/* Where a raw value came from: a file line or an environment entry. */
struct slot {
	char *raw;	 /* owned; NULL: not set */
	int line;	 /* > 0: set by this line of the file */
	const char *env; /* else: the "NAME=value" entry of envp (borrowed) */
};

/* One config_load() call. */
struct load {
	struct config *cfg;
	const char *path;
	struct errbuf *err;
	int rc; /* the first error, 0 until then */
	FILE *f;
	char *buf; /* the reader's getline() buffer */
	size_t cap;
	int lineno;
	struct slot *slots; /* config_nkeys of them, parallel to config_keys */
};

static inline bool key_is_secret(size_t i)
{
	return config_keys[i].type == K_SECRET || config_keys[i].type == K_SECFILE;
}

/* A secret's *_file entry and back. */
static inline size_t key_twin(size_t i)
{
	return config_keys[i].type == K_SECRET ? i + 1 : i - 1;
}

/* Sets the error (once: the first one wins) as "<file>:<line>: msg",
 * "environment VAR: msg" or, for sl == NULL, "<file>: msg". */
int config_fail(struct load *ld, const struct slot *sl, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "line 4" or "DUMPFS_X": where sl was set. */
void config_where(const struct slot *sl, char *buf, size_t size);
/* "DUMPFS_<SECTION>_<KEY>" for key i. */
void config_env_name(size_t i, char *buf, size_t size);
struct slot *config_find_slot(struct load *ld, const char *section, const char *key);
/* Forgets slot i's raw value (zeroed first for secrets). */
void config_drop_raw(struct load *ld, size_t i);
/* Fill ld->slots; return 0 or ld->rc. */
int config_parse_file(struct load *ld);
int config_parse_env(struct load *ld, const char *const *envp);

#endif
