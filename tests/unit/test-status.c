/* SPDX-License-Identifier: MIT */
/*
 * Tests of `vmpilot status` run in-process against libvirt's test:///default driver:
 * the table and the JSON show the driver's VM, follow a balloon change made through
 * the backend, and bad usage or an unreachable hypervisor give the right exit status;
 * each VM's mode and recommendation come from a real `vmpilot run` cycle's status file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cmdrun.h"
#include "util/util.h"

/* Runs `vmpilot status ARGS...` with stdout captured; returns the exit status. */
static int
run_capture(char **out, int argc, char **argv)
{
	return vmp_test_run_cmd(&vmp_cmd_status, argc, argv, out);
}

static void
test_table(void **state)
{
	char *argv[] = { "status", "--connect", "test:///default", NULL };
	char *out = NULL;

	assert_int_equal(run_capture(&out, 3, argv), VMP_EXIT_OK);
	assert_non_null(strstr(out, "NAME"));
	/* name, state, vCPUs current/max, CPU% unknown (the test driver has no CPU stats),
	 * actual memory 2048 MiB */
	assert_non_null(strstr(out, "test "));
	assert_non_null(strstr(out, " running "));
	assert_non_null(strstr(out, " 2/2 "));
	assert_non_null(strstr(out, " 2048 "));
	free(out);
}

static void
test_json_follows_backend(void **state)
{
	char *argv[] = { "status", "-c", "test:///default", "--json", NULL };
	struct vmp_backend *b = NULL;
	json_error_t jerr;
	json_t *root, *vm;
	char *out = NULL, *err = NULL;

	/* While b is open, test:///default keeps its state across connections: status
	 * must show the balloon and vCPU changes made through the backend. */
	assert_int_equal(vmp_backend_open("test:///default", 5000, &b, &err), 0);
	assert_int_equal(vmp_backend_set_balloon(b, "test", 1048576), 0);
	assert_int_equal(vmp_backend_set_vcpus(b, "test", 1), 0);
	assert_int_equal(run_capture(&out, 4, argv), VMP_EXIT_OK);
	root = json_loads(out, 0, &jerr);
	if (!root)
		fail_msg("status --json printed invalid JSON: %s: %s", jerr.text, out);
	assert_string_equal(json_string_value(json_object_get(root, "uri")), "test:///default");
	assert_int_equal(json_array_size(json_object_get(root, "vms")), 1);
	vm = json_array_get(json_object_get(root, "vms"), 0);
	assert_string_equal(json_string_value(json_object_get(vm, "name")), "test");
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
	assert_int_equal(json_integer_value(json_object_get(vm, "vcpus_current")), 1);
	assert_int_equal(json_integer_value(json_object_get(vm, "vcpus_max")), 2);
	assert_int_equal(json_integer_value(json_object_get(vm, "memory_actual_kib")), 1048576);
	assert_int_equal(json_integer_value(json_object_get(vm, "memory_max_kib")), 8388608);
	assert_true(json_is_null(json_object_get(vm, "cpu_pct")));
	assert_true(json_is_true(json_object_get(vm, "stats_ok")));
	json_decref(root);
	free(out);
	vmp_backend_close(b);
}

static void
test_watch_count(void **state)
{
	char *argv[] = { "status", "-c", "test:///default", "-j", "-w", "1s", "--count", "2", NULL };
	char *out = NULL, *nl;
	int lines = 0;

	assert_int_equal(run_capture(&out, 8, argv), VMP_EXIT_OK);
	for (nl = out; (nl = strchr(nl, '\n')); nl++)
		lines++;
	assert_int_equal(lines, 2); /* one JSON document per refresh */
	free(out);
}

/*
 * A cycle of the loop (`vmpilot run`, built-in advise mode) publishes the VM's mode and,
 * the test driver having no balloon stats, why it is not managed; `status --config`
 * shows both. A pending recommendation in the status file is printed with its reason.
 */
static void
test_mode_and_recommendation(void **state)
{
	char dir[] = "/tmp/vmp-test-status-XXXXXX";
	char *conf, *journal, *status, *out = NULL, *text;
	json_t *root, *vm;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	conf = xasprintf("%s/vmpilot.conf", dir);
	journal = xasprintf("%s/journal", dir);
	status = xasprintf("%s/status.json", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "status_file = %s\n", status);
	fclose(f);
	{
		char *argv[] = { "run", "-c", "test:///default", "-f", conf, "-J", journal,
				 "-N", "1", NULL };

		assert_int_equal(vmp_test_run_cmd(&vmp_cmd_run, 9, argv, &out), VMP_EXIT_OK);
		free(out);
	}
	{
		char *argv[] = { "status", "-c", "test:///default", "-f", conf, "--json", NULL };

		assert_int_equal(run_capture(&out, 6, argv), VMP_EXIT_OK);
		root = json_loads(out, 0, NULL);
		assert_non_null(root);
		assert_string_equal(json_string_value(json_object_get(root, "autopilot")), "ok");
		vm = json_array_get(json_object_get(root, "vms"), 0);
		assert_string_equal(json_string_value(json_object_get(vm, "mode")), "advise");
		assert_string_equal(json_string_value(json_object_get(vm, "mode_source")),
				    "config global");
		assert_string_equal(json_string_value(json_object_get(vm, "recommendation")), "none");
		/* The driver reported period 0: vmpilot switched the statistics on. */
		assert_non_null(strstr(json_string_value(json_object_get(vm, "not_managed")),
				       "balloon statistics switched on (period 5 s)"));
		json_decref(root);
		free(out);
	}
	/* A grow the daemon advised and did not carry out. */
	text = xasprintf("{\"hosts\":[{\"uri\":\"test:///default\",\"mode\":\"advise\",\"vms\":"
			 "[{\"name\":\"test\",\"mode\":\"advise\",\"mode_source\":\"config global\","
			 "\"managed\":true,\"not_managed\":null,\"decisions\":[{\"policy\":"
			 "\"rightsize-memory\",\"resource\":\"memory_kib\",\"action\":\"grow\","
			 "\"reason\":\"guest_pressure\",\"from\":2097152,\"to\":2199552,"
			 "\"acted\":false,\"time_ms\":1}]}]}]}\n");
	f = fopen(status, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	{
		char *argv[] = { "status", "-c", "test:///default", "-f", conf, NULL };

		assert_int_equal(run_capture(&out, 5, argv), VMP_EXIT_OK);
		assert_non_null(strstr(out, " advise  grow memory 2048 -> 2148 MiB (guest_pressure)"));
		free(out);
	}
	/* A status file that is not one is named, not trusted. */
	f = fopen(status, "w");
	assert_non_null(f);
	fputs("{\"hosts\": 3", f);
	fclose(f);
	{
		char *argv[] = { "status", "-c", "test:///default", "-f", conf, NULL };

		assert_int_equal(run_capture(&out, 5, argv), VMP_EXIT_OK);
		assert_non_null(strstr(out, "status.json:1: not a vmpilot status file"));
		free(out);
	}
	unlink(status);
	unlink(journal);
	unlink(conf);
	rmdir(dir);
	free(conf);
	free(journal);
	free(status);
}

static void
test_usage_errors(void **state)
{
	char *a1[] = { "status", "--watch", "0", NULL };
	char *a2[] = { "status", "-c", "test:///default", "--count", "3", NULL };
	char *a3[] = { "status", "-c", "nosuchscheme:///x", NULL };
	char *a4[] = { "status", "-c", "qemu+unix:///system?socket=/nonexistent/sock", NULL };
	char *out = NULL;

	assert_int_equal(run_capture(&out, 3, a1), VMP_EXIT_USAGE);
	free(out);
	assert_int_equal(run_capture(&out, 5, a2), VMP_EXIT_USAGE);
	free(out);
	assert_int_equal(run_capture(&out, 3, a3), VMP_EXIT_USAGE);
	free(out);
	assert_int_equal(run_capture(&out, 3, a4), VMP_EXIT_FINDING);
	assert_string_equal(out, "");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_json_follows_backend),
		cmocka_unit_test(test_watch_count),
		cmocka_unit_test(test_mode_and_recommendation),
		cmocka_unit_test(test_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
