/* SPDX-License-Identifier: MIT */
/* stderr logging for the edges (CLI, daemon). See log.h. */
#include "util/log.h"

#include <stdio.h>

static const char *log_progname = "vmpilot";
static enum vmp_log_level log_level = VMP_LOG_WARN;

void
vmp_log_init(const char *progname, enum vmp_log_level level)
{
	log_progname = progname;
	log_level = level;
}

void
vmp_log(enum vmp_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	fprintf(stderr, "%s: ", log_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
