/* SPDX-License-Identifier: MIT */
/* stderr logging for the edges (CLI, daemon). See log.h. */
#include "util/log.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>

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
	char *msg, *safe;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* Messages carry VM names and replies from peers: no escape reaches the terminal. */
	safe = vmp_str_printable(msg);
	fprintf(stderr, "%s: %s\n", log_progname, safe);
	free(safe);
	free(msg);
}
