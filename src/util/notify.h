/* SPDX-License-Identifier: MIT */
/*
 * The service manager's readiness and watchdog protocol (sd_notify(3) of libsystemd)
 * for vmpilotd under a Type=notify systemd unit: READY=1 after the first cycle,
 * STATUS= lines, WATCHDOG=1 pings, RELOADING=1 around a SIGHUP reload, STOPPING=1.
 * Without NOTIFY_SOCKET in the environment (not started by systemd), or when built
 * without libsystemd, every call does nothing. Does not log.
 */
#ifndef VMP_UTIL_NOTIFY_H
#define VMP_UTIL_NOTIFY_H

#include <stdint.h>

/* Sends state (newline-separated "KEY=VALUE" assignments). Returns >0 sent, 0 no
 * manager to tell, or a negative errno. */
int vmp_notify(const char *state);

/* Sends a printf-formatted state. */
int vmp_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog timeout the manager asked for (WatchdogSec=), in ms; 0 = none. */
int64_t vmp_notify_watchdog_ms(void);

#endif
