/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for the integration tests that run vmpilot (or vmpilotd) as a child
 * process: start it with its output in a log file, stop it with SIGTERM and a deadline
 * (SIGKILL by PID after it), sleep, print a file to stderr, and read its JSON-lines
 * journal back. Test code: a journal line that is not JSON fails the test (cmocka).
 */
#ifndef VMP_TEST_CHILD_H
#define VMP_TEST_CHILD_H

#include <sys/types.h>

#include <jansson.h>

/* Sleeps ms milliseconds (resumed after a signal). */
void vmp_test_sleep_ms(unsigned ms);

/*
 * Forks and executes argv[0] (a path) with the NULL-terminated argv, its stderr and
 * stdout in the file log (created or truncated). Returns the child's PID, or -1 if
 * fork fails. The child exits 126 if it cannot open log, 127 if it cannot execute.
 */
pid_t vmp_test_child_start(const char *log, const char *const argv[]);

/*
 * Stops the child *pid: SIGCONT (a stopped child can then act on the next signal),
 * SIGTERM, then waits up to timeout_ms; after the deadline, SIGKILL by PID and a final
 * wait. Returns the child's wait status, or -1 if it had to be killed or *pid <= 0.
 * Sets *pid to -1.
 */
int vmp_test_child_stop(pid_t *pid, unsigned timeout_ms);

/* Copies the file at path to stderr under a "--- path" line; nothing if it cannot be opened. */
void vmp_test_dump_file(const char *path);

/*
 * The entries of the JSON-lines journal at path, in order (a new array; empty if the
 * file does not exist); with vm non-NULL, only the entries whose "vm" is vm. A line
 * that is not JSON fails the test.
 */
json_t *vmp_test_journal_load(const char *path, const char *vm);

#endif
