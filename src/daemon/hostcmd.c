/* SPDX-License-Identifier: MIT */
/* Running a host power command with a deadline (see hostcmd.h). */
#include "daemon/hostcmd.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int
vmp_hostcmd_run(const char *command, const char *host, int64_t timeout_ms, char **ret_msg)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *script = xasprintf("%s \"$1\"", command);
	char *argv[] = { "sh", "-c", script, "vmpilot-host-command", (char *)host, NULL };
	int64_t deadline = vmp_monotonic_ms() + timeout_ms;
	pid_t pid;
	int r, status = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	/* its own process group, so that the deadline kills what it started too */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(script);
	if (r != 0) {
		*ret_msg = xasprintf("cannot run /bin/sh: %s", strerror(r));
		return -r;
	}
	for (;;) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = -errno;
			*ret_msg = xasprintf("cannot wait for the command: %s", strerror(errno));
			return r;
		}
		if (vmp_monotonic_ms() >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			*ret_msg = xasprintf("ran over %lld ms: killed", (long long)timeout_ms);
			return -ETIMEDOUT;
		}
		nanosleep(&tick, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		*ret_msg = xasprintf("exited with status %d", WEXITSTATUS(status));
	else
		*ret_msg = xasprintf("killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -EIO;
}
