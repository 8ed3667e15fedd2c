/* SPDX-License-Identifier: MIT */
/*
 * Test helpers: run a vmpilot command in-process with its standard output captured, and
 * pick one VM out of `vmpilot status --json` output. Test code: an I/O failure of the
 * capture itself aborts the test.
 */
#ifndef VMP_TEST_CMDRUN_H
#define VMP_TEST_CMDRUN_H

#include <jansson.h>

#include "cli/cli.h"

/*
 * Runs cmd->run(cmd, argc, argv) with stdout redirected to a temporary file; stores what
 * it printed in *ret_out (NUL-terminated, caller frees) and returns its exit status.
 */
int vmp_test_run_cmd(const struct vmp_cli_command *cmd, int argc, char **argv, char **ret_out);

/*
 * Parses the output of `vmpilot status --json` and returns the object of the VM named
 * name (a new reference), or NULL when the text is not JSON or has no such VM; on a
 * parse error *ret_err (may be NULL) gets jansson's message.
 */
json_t *vmp_test_status_find_vm(const char *json_text, const char *name, char **ret_err);

#endif
