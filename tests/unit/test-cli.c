/* SPDX-License-Identifier: MIT */
/* Tests of the table-driven option parser and the command table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

enum { T_ROOT = 1, T_JSON, T_WATCH };

static const struct vmp_cli_option t_options[] = {
	{ "root", 'r', "DIR", "root", T_ROOT },
	{ "json", 'j', NULL, "json", T_JSON },
	{ "watch", 'w', "N", "watch", T_WATCH },
	{ 0 },
};

static const struct vmp_cli_command t_cmd = {
	.name = "t", .summary = "s", .synopsis = "[X]", .description = "d",
	.options = t_options, .run = NULL,
};

static void
test_long_and_short(void **state)
{
	char *argv[] = { "t", "--root", "/x", "-j", "--watch=5", "-w3", "op", NULL };
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	int argc = 7;

	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, argc, argv), T_ROOT);
	assert_string_equal(p.optarg, "/x");
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, argc, argv), T_JSON);
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, argc, argv), T_WATCH);
	assert_string_equal(p.optarg, "5");
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, argc, argv), T_WATCH);
	assert_string_equal(p.optarg, "3");
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, argc, argv), VMP_CLI_END);
	assert_int_equal(p.optind, 6);
	assert_string_equal(argv[p.optind], "op");
}

static void
test_grouped_short(void **state)
{
	char *argv[] = { "t", "-jr", "/y", NULL };
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;

	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, 3, argv), T_JSON);
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, 3, argv), T_ROOT);
	assert_string_equal(p.optarg, "/y");
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, 3, argv), VMP_CLI_END);
}

static void
test_errors(void **state)
{
	char *a1[] = { "t", "--bogus", NULL };
	char *a2[] = { "t", "--root", NULL };
	char *a3[] = { "t", "--json=1", NULL };
	char *a4[] = { "t", "-x", NULL };
	struct vmp_cli_parser p;

	p = (struct vmp_cli_parser)VMP_CLI_PARSER_INIT;
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, 2, a1), VMP_CLI_ERROR);
	p = (struct vmp_cli_parser)VMP_CLI_PARSER_INIT;
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, 2, a2), VMP_CLI_ERROR);
	p = (struct vmp_cli_parser)VMP_CLI_PARSER_INIT;
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, 2, a3), VMP_CLI_ERROR);
	p = (struct vmp_cli_parser)VMP_CLI_PARSER_INIT;
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, 2, a4), VMP_CLI_ERROR);
}

static void
test_help_lists_every_option(void **state)
{
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	const struct vmp_cli_option *o;

	assert_non_null(f);
	vmp_cli_print_command_help(&t_cmd, f);
	fclose(f);
	for (o = t_options; o->name; o++)
		assert_non_null(strstr(buf, o->name));
	assert_non_null(strstr(buf, "--help"));
}

static void
test_end_options(void **state)
{
	char *argv[] = { "t", "-j", "operand", NULL };
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	int id;

	while ((id = vmp_cli_next_option(&t_cmd, &p, 3, argv)) > 0)
		;
	assert_int_equal(id, VMP_CLI_END);
	/* an operand where none is taken is a usage error */
	assert_int_equal(vmp_cli_end_options(&t_cmd, &p, id, 3, argv), VMP_EXIT_USAGE);
	/* without it the command goes on */
	assert_int_equal(vmp_cli_end_options(&t_cmd, &p, id, 2, argv), -1);
	assert_int_equal(vmp_cli_end_options(&t_cmd, &p, VMP_CLI_HELP, 2, argv), VMP_EXIT_OK);
	assert_int_equal(vmp_cli_end_options(&t_cmd, &p, VMP_CLI_ERROR, 2, argv), VMP_EXIT_USAGE);
}

static void
test_command_table(void **state)
{
	size_t i, j;

	for (i = 0; vmp_commands[i]; i++) {
		assert_non_null(vmp_commands[i]->run);
		assert_non_null(vmp_commands[i]->summary);
		assert_ptr_equal(vmp_cli_find_command(vmp_commands[i]->name), vmp_commands[i]);
		for (j = 0; vmp_commands[i]->options[j].name; j++)
			assert_true(vmp_commands[i]->options[j].id > 0);
	}
	assert_true(i >= 1);
	assert_null(vmp_cli_find_command("no-such-command"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_and_short),
		cmocka_unit_test(test_grouped_short),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_help_lists_every_option),
		cmocka_unit_test(test_end_options),
		cmocka_unit_test(test_command_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
