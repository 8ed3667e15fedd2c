/* SPDX-License-Identifier: MIT */
/* sd_notify(3) for vmpilotd, or nothing without libsystemd (see notify.h). */
#include "build-config.h"
#include "util/notify.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>

#if VMP_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

int
vmp_notify(const char *state)
{
#if VMP_HAVE_LIBSYSTEMD
	return sd_notify(0, state);
#else
	(void)state;
	return 0;
#endif
}

int
vmp_notifyf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	r = vmp_notify(s);
	free(s);
	return r;
}

int64_t
vmp_notify_watchdog_ms(void)
{
#if VMP_HAVE_LIBSYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return (int64_t)(usec / 1000);
#endif
	return 0;
}
