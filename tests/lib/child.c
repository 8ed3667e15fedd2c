/* SPDX-License-Identifier: MIT */
/* vmpilot as a child process of an integration test, and its journal. See child.h. */
#include "child.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
vmp_test_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

pid_t
vmp_test_child_start(const char *log, const char *const argv[])
{
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -1 : pid;
	if (!freopen(log, "w", stderr))
		_exit(126);
	dup2(STDERR_FILENO, STDOUT_FILENO);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

int
vmp_test_child_stop(pid_t *pid, unsigned timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int status = -1;

	if (*pid <= 0)
		return -1;
	kill(*pid, SIGCONT);
	kill(*pid, SIGTERM);
	while (waitpid(*pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(*pid, SIGKILL);
			waitpid(*pid, &status, 0);
			status = -1;
			break;
		}
		vmp_test_sleep_ms(50);
	}
	*pid = -1;
	return status;
}

void
vmp_test_dump_file(const char *path)
{
	char line[4096];
	FILE *in = fopen(path, "r");

	if (!in)
		return;
	fprintf(stderr, "--- %s\n", path);
	while (fgets(line, sizeof(line), in))
		fputs(line, stderr);
	fclose(in);
}

json_t *
vmp_test_journal_load(const char *path, const char *vm)
{
	json_t *all = json_array();
	char *line = NULL;
	size_t cap = 0;
	FILE *in = fopen(path, "r");

	if (!in)
		return all;
	while (getline(&line, &cap, in) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *v;

		if (!o)
			fail_msg("journal line is not JSON: %s", line);
		v = json_string_value(json_object_get(o, "vm"));
		if (!vm || !strcmp(v ? v : "", vm))
			json_array_append(all, o);
		json_decref(o);
	}
	free(line);
	fclose(in);
	return all;
}
