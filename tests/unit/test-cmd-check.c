/* SPDX-License-Identifier: MIT */
/*
 * Tests of the `vmpilot check` command in-process: exit statuses (0 no FAIL, 1 a FAIL,
 * 2 usage), the table, --json, --only, --list, and no colour when stdout is a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "host/check.h"
#include "util/fileio.h"
#include "util/util.h"

/* Runs `vmpilot check ARGS...` with stdout in a file; returns the exit status, *ret_out the output. */
static int
run(char **ret_out, ...)
{
	char *argv[16] = { "check" }, path[] = "/tmp/vmp-test-cmd-check-XXXXXX";
	int argc = 1, fd, saved, status;
	va_list ap;
	char *a;

	va_start(ap, ret_out);
	while ((a = va_arg(ap, char *)) && argc < 15)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(1);
	assert_true(dup2(fd, 1) == 1);
	status = vmp_cmd_check.run(&vmp_cmd_check, argc, argv);
	fflush(stdout);
	assert_true(dup2(saved, 1) == 1);
	close(saved);
	close(fd);
	assert_int_equal(vmp_read_file(NULL, path, ret_out, NULL), 0);
	unlink(path);
	return status;
}

static char *
host(const char *name)
{
	assert_non_null(getenv("VMP_TESTS_DIR"));
	return xasprintf("%s/data/hosts/%s", getenv("VMP_TESTS_DIR"), name);
}

static void
test_exit_status(void **state)
{
	char *good = host("intel-ept-1g"), *bad = host("no-kvm"), *out = NULL;

	assert_int_equal(run(&out, "--root", good, NULL), VMP_EXIT_OK);
	assert_non_null(strstr(out, "CHECK"));
	assert_non_null(strstr(out, "kvm.paging"));
	assert_null(strchr(out, '\033')); /* not a terminal: no colour */
	free(out);
	assert_int_equal(run(&out, "--root", bad, NULL), VMP_EXIT_FINDING);
	assert_non_null(strstr(out, "FAIL"));
	assert_non_null(strstr(out, "fix: modprobe tun"));
	free(out);
	assert_int_equal(run(&out, "--bogus", NULL), VMP_EXIT_USAGE);
	free(out);
	assert_int_equal(run(&out, "--only", "no.such", NULL), VMP_EXIT_USAGE);
	free(out);
	assert_int_equal(run(&out, "--root", "/nonexistent-vmpilot-root", NULL), VMP_EXIT_USAGE);
	free(out);
	assert_int_equal(run(&out, "--root", good, "extra", NULL), VMP_EXIT_USAGE);
	free(out);
	free(good);
	free(bad);
}

static void
test_json_and_only(void **state)
{
	char *root = host("pvm-nested-v1"), *out = NULL;
	json_error_t err;
	json_t *j, *checks;

	assert_int_equal(run(&out, "--json", "--root", root, "--only", "kvm.module,psi", "-o", "cpu.virt", NULL),
			 VMP_EXIT_FINDING); /* cpu.virt FAILs on this host */
	j = json_loads(out, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "schema")), "vmpilot-check/1");
	assert_true(json_is_false(json_object_get(j, "live")));
	checks = json_object_get(j, "checks");
	assert_int_equal(json_array_size(checks), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(checks, 0), "id")), "cpu.virt");
	assert_string_equal(json_string_value(json_object_get(json_array_get(checks, 1), "status")), "WARN");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(checks, 1), "finding")),
			       "kvm_pvm"));
	assert_true(json_is_null(json_object_get(json_array_get(checks, 2), "fix")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "FAIL")), 1);
	json_decref(j);
	free(out);
	free(root);
}

static void
test_list(void **state)
{
	char *out = NULL;

	assert_int_equal(run(&out, "--list", NULL), VMP_EXIT_OK);
	assert_non_null(strstr(out, "cpu.virt"));
	assert_non_null(strstr(out, "cpu.mitigations"));
	free(out);
}

/* vmpilot.1 lists every command of the table and every check id. */
static void
test_man_page(void **state)
{
	char *path = xasprintf("%s/../doc/man/vmpilot.1", getenv("VMP_TESTS_DIR")), *man = NULL;
	size_t i;

	assert_int_equal(vmp_read_file(NULL, path, &man, NULL), 0);
	for (i = 0; vmp_commands[i]; i++) {
		char *entry = xasprintf(".TP\n.B %s\n", vmp_commands[i]->name);

		if (!strstr(man, entry)) {
			fprintf(stderr, "doc/man/vmpilot.1: COMMANDS does not list '%s'\n", vmp_commands[i]->name);
			fail();
		}
		free(entry);
	}
	for (i = 0; i < vmp_checks_count; i++) {
		char *entry = xasprintf(".BR %s", vmp_checks[i].id);

		if (!strstr(man, entry)) {
			fprintf(stderr, "doc/man/vmpilot.1: CHECK does not list '%s'\n", vmp_checks[i].id);
			fail();
		}
		free(entry);
	}
	assert_non_null(strstr(man, ".SH EXIT STATUS"));
	assert_non_null(strstr(man, ".SS Examples"));
	free(man);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_json_and_only),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_man_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
