/* SPDX-License-Identifier: MIT */
/*
 * The operator's host power commands (configuration keys host_standby_command and
 * host_wake_command), as VMware DPM drives IPMI or Wake-on-LAN: a command line run
 * through /bin/sh with the host's URI as its one argument ("$1"), standard input from
 * /dev/null, in its own process group, which is killed when it runs past its deadline.
 */
#ifndef VMP_DAEMON_HOSTCMD_H
#define VMP_DAEMON_HOSTCMD_H

#include <stdint.h>

/*
 * Runs command with host as "$1" and waits at most timeout_ms for it. Returns 0 when it
 * exited with status 0; otherwise a negative errno and *ret_msg (caller frees): "exited
 * with status 3", "killed by signal 9", "ran over 60000 ms: killed", or why it could not
 * start. Does not log.
 */
int vmp_hostcmd_run(const char *command, const char *host, int64_t timeout_ms, char **ret_msg);

#endif
