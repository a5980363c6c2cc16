/* Value parsers for the config loader; private to fs/config*.c.
 *
 * Each parser takes a value as inih hands it over (surrounding spaces and
 * comments already gone) and returns 0, -EINVAL for a malformed value or
 * -ENOMEM.  Outputs are only written on success.
 */
#ifndef FS_CONFIG_VALUE_H
#define FS_CONFIG_VALUE_H

#include <stdbool.h>
#include <sys/types.h>

/* Decimal digits only, min <= value <= max. */
int cv_uint(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out);
/* true/false, yes/no, on/off, 1/0, any case. */
int cv_bool(const char *s, bool *out);
/* Index of `s` in the NULL-terminated `names`, any case. */
int cv_enum(const char *s, const char *const *names, unsigned *out);
/* Items separated by commas and/or spaces; *out is a NULL-terminated
 * array owned by the caller (cv_list_free), or NULL when there is none. */
int cv_list(const char *s, char ***out);
void cv_list_free(char **list);
/* An OpenPGP fingerprint: 40 or 64 hex digits, spaces allowed; *out is
 * the normalised form (upper case, no spaces), owned by the caller. */
int cv_fingerprint(const char *s, char **out);
/* A comma-separated list of fingerprints ([gpg] fingerprint, docs/recipients.md):
 * *out is each normalised, joined by ","; on -EINVAL `bad` gets the
 * offending entry (trimmed, possibly empty). */
int cv_fingerprint_list(const char *s, char **out, char *bad, size_t badlen);
/* Letters, digits, '.', '_' and '-', starting with a letter or digit. */
bool cv_is_name(const char *s);
/* A group name known to the system (getgrnam) or a group number. */
int cv_group(const char *s, gid_t *out);
/* Something that looks like an e-mail address: "local@domain". */
bool cv_is_mail(const char *s);
/* Reads the secret in `path`, dropping one trailing "\n" or "\r\n".
 * Returns 0, -errno from open/read, -ENODATA when it is empty, -EFBIG
 * past 64 KiB, -EILSEQ when it holds a NUL byte, or -ENOMEM.  *out is
 * owned by the caller: free it with cv_secret_free(). */
int cv_read_secret(const char *path, char **out);
/* Overwrites a secret with zeros, then frees it. */
void cv_secret_free(char *secret);

#endif
