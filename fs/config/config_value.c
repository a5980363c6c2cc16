#include "config_value.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../../dumper/fdio.h"
#include "../../dumper/sink.h"

#define SECRET_MAX (64 * 1024)

int cv_uint(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		unsigned long long d = (unsigned long long)(*s - '0');

		if (d > max || v > (max - d) / 10)
			return -EINVAL; /* above max: checked before it can overflow */
		v = v * 10 + d;
	}
	if (v < min)
		return -EINVAL;
	*out = v;
	return 0;
}

int cv_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1", NULL};
	static const char *const no[] = {"false", "no", "off", "0", NULL};
	unsigned i;

	if (!cv_enum(s, yes, &i)) {
		*out = true;
		return 0;
	}
	if (!cv_enum(s, no, &i)) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int cv_enum(const char *s, const char *const *names, unsigned *out)
{
	for (unsigned i = 0; names[i]; i++) {
		if (!strcasecmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

int cv_group(const char *s, gid_t *out)
{
	unsigned long long n;
	struct group gr, *res = NULL;
	size_t size = 1024;
	char *buf = NULL;
	int e;

	if (isdigit((unsigned char)*s)) {
		/* (gid_t)-1 means "unchanged" to fchown */
		if (cv_uint(s, 0, (gid_t)-1 - 1, &n))
			return -EINVAL;
		*out = (gid_t)n;
		return 0;
	}
	do {
		char *more = realloc(buf, size);

		if (!more) {
			free(buf);
			return -ENOMEM;
		}
		buf = more;
		e = getgrnam_r(s, &gr, buf, size, &res);
		size *= 2;
	} while (e == ERANGE && size <= (1u << 20));
	if (res)
		*out = res->gr_gid;
	free(buf);
	if (res)
		return 0;
	/* glibc and NSS modules say "no such group" in several ways */
	if (!e || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		return -EINVAL;
	return -e;
}

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

static size_t count_items(const char *s)
{
	size_t n = 0;

	while (*s) {
		while (is_sep(*s))
			s++;
		if (!*s)
			break;
		n++;
		while (*s && !is_sep(*s))
			s++;
	}
	return n;
}

int cv_list(const char *s, char ***out)
{
	size_t n = count_items(s), i = 0;
	char **list;

	if (n == 0) {
		*out = NULL;
		return 0;
	}
	list = calloc(n + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	while (i < n) {
		size_t len;

		while (is_sep(*s))
			s++;
		for (len = 0; s[len] && !is_sep(s[len]); len++)
			;
		list[i] = strndup(s, len);
		if (!list[i]) {
			cv_list_free(list);
			return -ENOMEM;
		}
		i++;
		s += len;
	}
	*out = list;
	return 0;
}

void cv_list_free(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

int cv_fingerprint(const char *s, char **out)
{
	char hex[65];
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ')
			continue;
		if (!isxdigit((unsigned char)*s) || n == sizeof(hex) - 1)
			return -EINVAL;
		hex[n++] = (char)toupper((unsigned char)*s);
	}
	if (n != 40 && n != 64)
		return -EINVAL;
	hex[n] = '\0';
	*out = strdup(hex);
	return *out ? 0 : -ENOMEM;
}

bool cv_is_name(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

bool cv_is_mail(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && at[1] && !strchr(at + 1, '@');
}

static int finish_secret(char *buf, size_t len)
{
	if (len > SECRET_MAX)
		return -EFBIG;
	if (memchr(buf, '\0', len))
		return -EILSEQ;
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	buf[len] = '\0';
	return len ? 0 : -ENODATA;
}

int cv_read_secret(const char *path, char **out)
{
	char *buf = malloc(SECRET_MAX + 2);
	ssize_t len;
	int fd, rc;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		free(buf);
		return rc;
	}
	len = fd_read_full(fd, buf, SECRET_MAX + 1, -1);
	(void)close(fd); /* read-only: nothing to lose */
	rc = len < 0 ? (int)len : finish_secret(buf, (size_t)len);
	if (!rc) {
		*out = strdup(buf);
		rc = *out ? 0 : -ENOMEM;
	}
	explicit_bzero(buf, SECRET_MAX + 2);
	free(buf);
	return rc;
}

void cv_secret_free(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

int cv_fingerprint_list(const char *s, char **out, char *bad, size_t badlen)
{
	size_t cap = strlen(s) + 1, used = 0;
	char *joined = malloc(cap);

	if (!joined)
		return -ENOMEM;
	joined[0] = '\0';
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char *item = strndup(s, len), *one = NULL;
		int rc;

		if (!item) {
			free(joined);
			return -ENOMEM;
		}
		rc = cv_fingerprint(item, &one);
		if (rc) {
			const char *b = item, *e = item + len;

			while (*b == ' ' || *b == '\t')
				b++;
			while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			snprintf(bad, badlen, "%.*s", (int)(e - b), b);
			free(item);
			free(joined);
			return rc;
		}
		/* A normalised fingerprint is never longer than its entry. */
		used += (size_t)snprintf(joined + used, cap - used, "%s%s", used ? "," : "", one);
		free(one);
		free(item);
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = joined;
	return 0;
}
