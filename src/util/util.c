/* SPDX-License-Identifier: MIT */
/* Allocation that aborts on failure, and strict string helpers. See util.h. */
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static VMP_NORETURN void
oom(size_t size)
{
	fprintf(stderr, "vmpilot: out of memory allocating %zu bytes\n", size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

void
xgrow(void **ptr, size_t *alloc, size_t want, size_t elem_size)
{
	size_t n;

	if (want <= *alloc)
		return;
	n = *alloc ? *alloc : 8;
	while (n < want) {
		if (n > SIZE_MAX / 2 / elem_size)
			oom(SIZE_MAX);
		n *= 2;
	}
	*ptr = xrealloc(*ptr, n * elem_size);
	*alloc = n;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *p = NULL;

	if (vasprintf(&p, fmt, ap) < 0)
		oom(strlen(fmt));
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

char *
vmp_strstrip(char *s)
{
	char *start = s;
	size_t len;

	while (*start && isspace((unsigned char)*start))
		start++;
	len = strlen(start);
	while (len > 0 && isspace((unsigned char)start[len - 1]))
		len--;
	memmove(s, start, len);
	s[len] = '\0';
	return s;
}

char *
vmp_str_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;

	if (!s)
		return xstrdup("");
	out = o = xmalloc(strlen(s) + 1);
	while (*p) {
		size_t n = 0, i;

		/* The length of a valid UTF-8 sequence starting here (0: not one). */
		if (*p >= 0x20 && *p < 0x7f)
			n = 1;
		else if (*p >= 0xc2 && *p <= 0xdf)
			n = 2;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 3;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 4;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f) {
			*o++ = '?'; /* U+0080..U+009F: the C1 controls */
			p += 2;
			continue;
		}
		if (n == 0) {
			*o++ = '?';
			p++;
			continue;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return out;
}

bool
vmp_str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Copies s without surrounding white space into buf; -EINVAL if empty or too long. */
static int
strip_copy(const char *s, char *buf, size_t size)
{
	size_t len;

	while (*s && isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= size)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

int
vmp_parse_i64(const char *s, int64_t *ret)
{
	char buf[64], *end;
	long long v;

	if (strip_copy(s, buf, sizeof(buf)) < 0)
		return -EINVAL;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

int
vmp_parse_u64(const char *s, uint64_t *ret)
{
	char buf[64], *end;
	unsigned long long v;

	if (strip_copy(s, buf, sizeof(buf)) < 0)
		return -EINVAL;
	if (buf[0] == '-')
		return -ERANGE;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

int
vmp_parse_double(const char *s, double *ret)
{
	char buf[64], *end;
	double v;

	if (strip_copy(s, buf, sizeof(buf)) < 0)
		return -EINVAL;
	errno = 0;
	v = strtod(buf, &end);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || !isfinite(v))
		return -ERANGE;
	*ret = v;
	return 0;
}

int64_t
vmp_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
