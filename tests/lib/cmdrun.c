/* SPDX-License-Identifier: MIT */
/* In-process runs of vmpilot commands with captured stdout, for tests. See cmdrun.h. */
#include "cmdrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
die(const char *what)
{
	perror(what);
	abort();
}

int
vmp_test_run_cmd(const struct vmp_cli_command *cmd, int argc, char **argv, char **ret_out)
{
	FILE *tmp = tmpfile();
	char *out;
	int saved, rc;
	long len;

	if (!tmp)
		die("cmdrun: tmpfile");
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0)
		die("cmdrun: redirect stdout");
	rc = cmd->run(cmd, argc, argv);
	fflush(stdout);
	if (dup2(saved, STDOUT_FILENO) < 0)
		die("cmdrun: restore stdout");
	close(saved);
	len = ftell(tmp);
	if (len < 0)
		die("cmdrun: ftell");
	out = calloc(1, (size_t)len + 1);
	if (!out)
		abort();
	rewind(tmp);
	if (fread(out, 1, (size_t)len, tmp) != (size_t)len)
		die("cmdrun: read back");
	fclose(tmp);
	*ret_out = out;
	return rc;
}

json_t *
vmp_test_status_find_vm(const char *json_text, const char *name, char **ret_err)
{
	json_t *root, *vms, *vm = NULL;
	json_error_t jerr;
	size_t i;

	root = json_loads(json_text, 0, &jerr);
	if (!root) {
		if (ret_err)
			*ret_err = strdup(jerr.text);
		return NULL;
	}
	vms = json_object_get(root, "vms");
	for (i = 0; i < json_array_size(vms); i++) {
		json_t *v = json_array_get(vms, i);
		const char *n = json_string_value(json_object_get(v, "name"));

		if (n && strcmp(n, name) == 0) {
			vm = json_incref(v);
			break;
		}
	}
	json_decref(root);
	return vm;
}
