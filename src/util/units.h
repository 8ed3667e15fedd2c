/* SPDX-License-Identifier: MIT */
/*
 * Durations and sizes written with a unit ("500ms", "30s", "5m", "1.5h", "512M", "4G"):
 * the one grammar shared by command-line options and the configuration file
 * (doc/cli.md, vmpilot.conf(5)). Parsers of untrusted input: strict, fuzzed
 * (tests/fuzz/fuzz-numbers.c), never logging.
 */
#ifndef VMP_UTIL_UNITS_H
#define VMP_UTIL_UNITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses a duration: a non-negative decimal number (at most 9 digits after the point)
 * followed by one of ms, s, m (minutes), h, d, or by nothing when bare_unit_ms > 0 (the
 * number is then in units of bare_unit_ms: 1 for a key named *_ms, 1000 for an option
 * in seconds). Surrounding white space is ignored; none is allowed inside. The result
 * must be a whole number of milliseconds. Returns 0 and *ret_ms, -EINVAL (not a
 * duration, a missing unit, finer than 1 ms) or -ERANGE (does not fit); *ret_ms
 * untouched on failure.
 */
int vmp_parse_duration_ms(const char *s, int64_t bare_unit_ms, int64_t *ret_ms);

/*
 * Parses a size in KiB: a non-negative decimal number followed by one of B, K, M, G, T
 * (powers of 1024; KiB, MiB, GiB, TiB and lower-case k, m, g, t mean the same), or by
 * nothing when bare_unit_kib > 0 (then in units of bare_unit_kib KiB). The result must
 * be a whole number of KiB. Returns 0, -EINVAL or -ERANGE as vmp_parse_duration_ms.
 */
int vmp_parse_size_kib(const char *s, uint64_t bare_unit_kib, uint64_t *ret_kib);

/* The same in bytes: a bare number is bytes; any whole number of bytes is allowed. */
int vmp_parse_size_bytes(const char *s, uint64_t *ret_bytes);

/* Writes ms as the shortest exact form among d, h, m, s, ms ("90s", "1500ms"). */
void vmp_format_duration_ms(int64_t ms, char *buf, size_t size);

#endif
