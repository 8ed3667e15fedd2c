/* SPDX-License-Identifier: MIT */
/*
 * Small helpers used everywhere outside the pure core: allocation that aborts on
 * failure (so callers never check for NULL), string formatting and parsing.
 */
#ifndef VMP_UTIL_H
#define VMP_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define VMP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define VMP_NORETURN __attribute__((noreturn))
#else
#define VMP_PRINTF(f, a)
#define VMP_NORETURN
#endif

/* Allocation: these never return NULL; they abort the process when memory is exhausted. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows *ptr (an array of elem_size-byte items) so that it holds at least want items. */
void xgrow(void **ptr, size_t *alloc, size_t want, size_t elem_size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) VMP_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) VMP_PRINTF(1, 0);

/* CLOCK_MONOTONIC in milliseconds: for deadlines and ages, never for dates. */
int64_t vmp_monotonic_ms(void);

/* Strips leading and trailing ASCII white space in place; returns s. */
char *vmp_strstrip(char *s);
bool vmp_str_starts_with(const char *s, const char *prefix);

/*
 * For the terminal: s with every control character (C0, DEL, and the C1 range as
 * UTF-8 or raw bytes) replaced by '?', so a string from a peer or a file cannot move
 * the cursor, recolour or retitle the terminal. Returns a new string (caller frees);
 * NULL gives "".
 */
char *vmp_str_printable(const char *s);

/*
 * Strict number parsing: the whole string (after stripping white space) must be a
 * number in range. Returns 0, or -EINVAL (not a number) / -ERANGE; *ret untouched on
 * failure.
 */
int vmp_parse_i64(const char *s, int64_t *ret);
int vmp_parse_u64(const char *s, uint64_t *ret);
int vmp_parse_double(const char *s, double *ret);

#endif
