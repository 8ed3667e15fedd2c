/* SPDX-License-Identifier: MIT */
/* stderr logging for the edges (CLI, daemon). See log.h. */
#include "util/log.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *log_progname = "vmpilot";
static enum vmp_log_level log_level = VMP_LOG_WARN;
static bool log_journal;

/* syslog(3) priorities of the levels: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int log_priority[VMP_LOG_MAX] = { 3, 4, 6, 7 };

bool
vmp_log_stderr_is_journal(void)
{
	const char *s = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	/* systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected stderr to. */
	if (!s || sscanf(s, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
vmp_log_init(const char *progname, enum vmp_log_level level)
{
	log_progname = progname;
	log_level = level;
	log_journal = vmp_log_stderr_is_journal();
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
	/* The journal takes "<N>" as the line's priority and names the program itself. */
	if (log_journal)
		fprintf(stderr, "<%d>%s\n",
			log_priority[level < VMP_LOG_MAX ? level : VMP_LOG_DEBUG], safe);
	else
		fprintf(stderr, "%s: %s\n", log_progname, safe);
	free(safe);
	free(msg);
}
