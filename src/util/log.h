/* SPDX-License-Identifier: MIT */
/*
 * The tiny logging API of the CLI and the daemon (after OpenBSD's log_warn/fatal).
 * Library code does not log: it returns a negative errno and the edge decides what
 * to say. Messages go to stderr as "vmpilot: message"; when stderr is the systemd
 * journal (JOURNAL_STREAM names it, as under a systemd service) as "<N>message", N the
 * syslog priority of the level (3 err, 4 warning, 6 info, 7 debug), which journald
 * stores as the line's priority.
 */
#ifndef VMP_LOG_H
#define VMP_LOG_H

#include "util/util.h"

enum vmp_log_level {
	VMP_LOG_ERR,
	VMP_LOG_WARN,
	VMP_LOG_INFO,
	VMP_LOG_DEBUG,
	VMP_LOG_MAX,
};

/* Also decides, once, whether stderr is the journal. */
void vmp_log_init(const char *progname, enum vmp_log_level level);
/* Whether stderr is the stream systemd's JOURNAL_STREAM names. */
bool vmp_log_stderr_is_journal(void);
void vmp_log(enum vmp_log_level level, const char *fmt, ...) VMP_PRINTF(2, 3);
#define log_err(...) vmp_log(VMP_LOG_ERR, __VA_ARGS__)
#define log_warn(...) vmp_log(VMP_LOG_WARN, __VA_ARGS__)
#define log_info(...) vmp_log(VMP_LOG_INFO, __VA_ARGS__)
#define log_debug(...) vmp_log(VMP_LOG_DEBUG, __VA_ARGS__)

#endif
