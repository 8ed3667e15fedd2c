/* SPDX-License-Identifier: MIT */
/*
 * Tests of the one command-line grammar (doc/cli.md): the table-driven option parser,
 * the global short-flag table every command's options must follow, and every command
 * driven in-process with options after its operands and with each shared short flag
 * (checked against the long form), LIBVIRT_DEFAULT_URI, units and exit statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-config.h"
#include "cli/cli.h"
#include "cmdrun.h"
#include "core/sim.h"
#include "util/fileio.h"
#include "util/util.h"

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


static void
test_options_after_operands(void **state)
{
	char *argv[] = { "t", "op1", "-j", "op2", "--root", "/x", "--", "-w", "op3", NULL };
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	int argc = 9;

	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, argc, argv), T_JSON);
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, argc, argv), T_ROOT);
	assert_string_equal(p.optarg, "/x");
	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, argc, argv), VMP_CLI_END);
	/* the operands, in their order; "-w" after "--" is one of them */
	assert_int_equal(argc - p.optind, 4);
	assert_string_equal(argv[p.optind], "op1");
	assert_string_equal(argv[p.optind + 1], "op2");
	assert_string_equal(argv[p.optind + 2], "-w");
	assert_string_equal(argv[p.optind + 3], "op3");
}

static void
test_only_operands(void **state)
{
	char *argv[] = { "t", "a", "-", "b", NULL };
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;

	assert_int_equal(vmp_cli_next_option(&t_cmd, &p, 4, argv), VMP_CLI_END);
	assert_int_equal(p.optind, 1);
	assert_string_equal(argv[1], "a");
	assert_string_equal(argv[2], "-"); /* a lone dash is an operand */
	assert_string_equal(argv[3], "b");
}

/* Every command's table follows the global short-flag table, which is itself a map. */
static void
test_short_flags_mean_one_thing(void **state)
{
	const struct vmp_cli_short_flag *f, *g;
	const struct vmp_cli_option *o, *q;
	char *msg = NULL;
	size_t i, j;

	for (f = vmp_cli_short_flags; f->short_name; f++) {
		assert_true(f->short_name != 'h');
		for (g = vmp_cli_short_flags; g != f; g++) {
			assert_true(g->short_name != f->short_name);
			assert_true(strcmp(g->name, f->name) != 0);
		}
	}
	for (i = 0; vmp_commands[i]; i++) {
		if (vmp_cli_check_table(vmp_commands[i], &msg) < 0)
			fail_msg("%s", msg);
		/* a long name used by two commands takes a value in both or in neither */
		for (o = vmp_commands[i]->options; o->name; o++)
			for (j = 0; j < i; j++)
				for (q = vmp_commands[j]->options; q->name; q++)
					if (!strcmp(o->name, q->name) && !o->arg != !q->arg)
						fail_msg("--%s takes a value in '%s' but not in '%s'",
							 o->name, vmp_commands[i]->name,
							 vmp_commands[j]->name);
	}
}

/* doc/cli.md and vmpilot(1) list exactly the short-flag table. */
static void
test_short_flags_documented(void **state)
{
	const char *dir = getenv("VMP_TESTS_DIR");
	const struct vmp_cli_short_flag *f;
	char *md = NULL, *man = NULL, *path;
	size_t rows = 0;
	const char *p;

	assert_non_null(dir);
	path = xasprintf("%s/../doc/cli.md", dir);
	assert_int_equal(vmp_read_file(NULL, path, &md, NULL), 0);
	free(path);
	path = xasprintf("%s/../doc/man/vmpilot.1", dir);
	assert_int_equal(vmp_read_file(NULL, path, &man, NULL), 0);
	free(path);
	for (f = vmp_cli_short_flags; f->short_name; f++) {
		char *row = xasprintf("| `-%c` | `--%s` |", f->short_name, f->name);
		char *esc = xmalloc(2 * strlen(f->name) + 1), *q = esc, *entry;
		const char *s;

		if (!strstr(md, row))
			fail_msg("doc/cli.md lacks the row %s", row);
		for (s = f->name; *s; s++) {
			if (*s == '-')
				*q++ = '\\';
			*q++ = *s;
		}
		*q = '\0';
		/* ".B \-x" then ".BR \-\-long ," (or ".B \-\-long" on its own line) */
		entry = xasprintf(".B \\-%c\n.B%s \\-\\-%s%s", f->short_name,
				  f->short_name == 'n' ? "" : "R", esc,
				  f->short_name == 'n' ? "\n" : " ");
		if (!strstr(man, entry))
			fail_msg("vmpilot(1) OPTIONS AND OPERANDS lacks -%c --%s", f->short_name,
				 f->name);
		free(entry);
		free(esc);
		free(row);
	}
	/* and no other flag rows */
	for (p = md; (p = strstr(p, "\n| `-")); p++)
		rows++;
	assert_int_equal(rows, (size_t)(f - vmp_cli_short_flags) + 1 /* -h */);
	free(md);
	free(man);
}

static void
test_broken_table_refused(void **state)
{
	static const struct vmp_cli_option bad_options[] = {
		{ "report", 'r', "FILE", "-r is --root everywhere", 1 },
		{ 0 },
	};
	static const struct vmp_cli_command bad = {
		.name = "bad", .summary = "s", .synopsis = "", .description = "d",
		.options = bad_options,
	};
	char *argv[] = { "bad", "--report", "x", NULL };
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	char *msg = NULL;

	assert_int_equal(vmp_cli_check_table(&bad, &msg), -EINVAL);
	assert_non_null(strstr(msg, "'-r' is '--root'"));
	free(msg);
	assert_int_equal(vmp_cli_next_option(&bad, &p, 3, argv), VMP_CLI_ERROR);
}

/* ---- every command, in-process ---- */

static char tmpdir[] = "/tmp/vmp-test-cli-XXXXXX";
static char *tests_dir;
static bool used_short[128];
static const struct vmp_cli_command *driven[64];
static size_t n_driven;

/* Runs argv (NULL-terminated) through its command; notes each short flag it uses. */
static int
run_argv(char **argv, char **ret_out)
{
	const struct vmp_cli_command *cmd = vmp_cli_find_command(argv[0]);
	int argc = 0, i;

	assert_non_null(cmd);
	for (i = 0; i < (int)n_driven && driven[i] != cmd; i++)
		;
	if (i == (int)n_driven && n_driven < VMP_ARRAY_SIZE(driven))
		driven[n_driven++] = cmd;
	while (argv[argc])
		argc++;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (argv[i][0] == '-' && argv[i][1] != '-' && argv[i][1])
			used_short[(unsigned char)argv[i][1]] = true;
	}
	return vmp_test_run_cmd(cmd, argc, argv, ret_out);
}

/* Runs both forms; both must exit with rc and print the same (after dropping lines
 * holding `volatile`, e.g. wall times). */
static void
same(char **short_form, char **long_form, int rc, const char *want, const char *volatile_key)
{
	char *a = NULL, *b = NULL, *line;

	assert_int_equal(run_argv(short_form, &a), rc);
	assert_int_equal(run_argv(long_form, &b), rc);
	if (want && !strstr(a, want))
		fail_msg("'%s' missing from the output of %s: %s", want, short_form[0], a);
	if (volatile_key) {
		char *outs[2] = { a, b };
		int k;

		/* cut each volatile line after its key: values of any length compare equal */
		for (k = 0; k < 2; k++)
			for (line = outs[k]; (line = strstr(line, volatile_key)); ) {
				char *eol = strchr(line, '\n');

				line += strlen(volatile_key);
				if (eol)
					memmove(line, eol, strlen(eol) + 1);
				else
					*line = '\0';
			}
	}
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static int
setup_dir(void **state)
{
	tests_dir = getenv("VMP_TESTS_DIR");
	if (!tests_dir || !mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int
teardown_dir(void **state)
{
	char *cmd = xasprintf("rm -rf -- '%s'", tmpdir);
	int r = system(cmd);

	free(cmd);
	return r == 0 ? 0 : -1;
}

static void
test_every_command(void **state)
{
	char *root = xasprintf("%s/data/hosts/intel-ept-1g", tests_dir);
	char *bb = xasprintf("%s/data/traces/bitbrains-mini", tests_dir);
	char *pl = xasprintf("%s/data/traces/planetlab-mini", tests_dir);
	char *j1 = xasprintf("%s/replay.jsonl", tmpdir), *j2 = xasprintf("%s/run.jsonl", tmpdir);
	char *conf = xasprintf("%s/ok.conf", tmpdir);
	char *out = NULL;
	const struct vmp_cli_short_flag *f;
	size_t i;
	FILE *fc;

	fc = fopen(conf, "w");
	assert_non_null(fc);
	fputs("interval_ms = 1500ms\nstale_ms = 3m\n[vm web1]\nmem_min_kib = 512M\n", fc);
	fclose(fc);

	/* check: no operands; short and long forms agree */
	same((char *[]){ "check", "-j", "-r", root, "-o", "kvm.module", NULL },
	     (char *[]){ "check", "--only", "kvm.module", "--root", root, "--json", NULL },
	     VMP_EXIT_OK, "\"kvm.module\"", NULL);
	same((char *[]){ "check", "-l", NULL }, (char *[]){ "check", "--list", NULL },
	     VMP_EXIT_OK, "kvm.module", NULL);
	assert_int_equal(run_argv((char *[]){ "check", "-r", root, "extra", NULL }, &out),
			 VMP_EXIT_USAGE);
	free(out);

	/* replay: writes the journal `why` reads below */
	same((char *[]){ "replay", "-t", bb, "-p", "vmpilot", "-j", NULL },
	     (char *[]){ "replay", "--json", "--policy", "vmpilot", "--trace", bb, NULL },
	     VMP_EXIT_OK, "\"vmpilot\"", NULL);
	assert_int_equal(run_argv((char *[]){ "replay", "-t", bb, "-p", "vmpilot", "-J", j1,
					      "--journal-vm", "1", NULL }, &out), VMP_EXIT_OK);
	free(out);

	/* why: options after the operand, as the man page's example */
	same((char *[]){ "why", "1", "-J", j1, "-a", "-j", "--last", "2", NULL },
	     (char *[]){ "why", "--journal", j1, "--all", "--json", "--last", "2", "--", "1", NULL },
	     VMP_EXIT_OK, "\"vm\": \"1\"", NULL);
	same((char *[]){ "why", "nosuchvm", "-J", j1, NULL },
	     (char *[]){ "why", "--journal", j1, "nosuchvm", NULL }, VMP_EXIT_FINDING, NULL, NULL);
	same((char *[]){ "why", "1", "-f", "/nonexistent/vmpilot.conf", NULL },
	     (char *[]){ "why", "1", "--config", "/nonexistent/vmpilot.conf", NULL },
	     VMP_EXIT_FAILURE, NULL, NULL);
	assert_int_equal(run_argv((char *[]){ "why", "-J", j1, NULL }, &out), VMP_EXIT_USAGE);
	free(out);
	assert_int_equal(run_argv((char *[]){ "why", "1", "2", "-J", j1, NULL }, &out),
			 VMP_EXIT_USAGE);
	free(out);

	/* simulate */
	same((char *[]){ "simulate", "-t", pl, "-p", "thr-mmt-0.8", "-j", "--hosts", "4", NULL },
	     (char *[]){ "simulate", "--hosts", "4", "--json", "--policy", "thr-mmt-0.8",
			 "--trace", pl, NULL },
	     VMP_EXIT_OK, "\"energy_kwh\"", "\"wall_s\"");
	/* every policy of the table runs on a trace with memory (vmpilot plans it) */
	{
		char *all = xstrdup(vmp_sim_policies[0].name), *tmp, *want;

		for (i = 1; vmp_sim_policies[i].name; i++) {
			tmp = xasprintf("%s,%s", all, vmp_sim_policies[i].name);
			free(all);
			all = tmp;
		}
		assert_int_equal(run_argv((char *[]){ "simulate", "-t", bb, "-p", all, "--hosts",
						      "2", "-j", NULL }, &out), VMP_EXIT_OK);
		for (i = 0; vmp_sim_policies[i].name; i++) {
			want = xasprintf("\"policy\": \"%s\"", vmp_sim_policies[i].name);
			if (!strstr(out, want))
				fail_msg("simulate on a Bitbrains trace: no row for %s",
					 vmp_sim_policies[i].name);
			free(want);
		}
		assert_non_null(strstr(out, "\"mem_overload_host_h\""));
		free(out);
		free(all);
	}
	/* --memory: the trace's demand or every VM's whole RAM, nothing else */
	assert_int_equal(run_argv((char *[]){ "simulate", "-t", bb, "-p", "vmpilot", "--memory",
					      "ram", "--hosts", "2", NULL }, &out), VMP_EXIT_OK);
	free(out);
	assert_int_equal(run_argv((char *[]){ "simulate", "-t", bb, "--memory", "disk", NULL },
				  &out), VMP_EXIT_USAGE);
	free(out);

	/* status */
	same((char *[]){ "status", "-c", "test:///default", "-j", "-w", "100ms", "--count", "1",
			 NULL },
	     (char *[]){ "status", "--json", "--watch", "0.1", "--count", "1", "--connect",
			 "test:///default", NULL },
	     VMP_EXIT_OK, "\"name\":\"test\"", NULL);

	/* run: -n checks a config with units; a dry cycle on test:///default */
	same((char *[]){ "run", "-n", "-f", conf, NULL },
	     (char *[]){ "run", "--config", conf, "--check", NULL }, VMP_EXIT_OK,
	     "configuration OK (1 vm section", NULL);
	/* -n checks the etcd options as an agent would start (no etcd contacted) */
	{
		char *ec = xasprintf("%s/etcd.conf", tmpdir);
		FILE *fe = fopen(ec, "w");

		assert_non_null(fe);
		fputs("etcd_endpoints = http://127.0.0.1:1,ftp://nowhere\n", fe);
		fclose(fe);
		assert_int_equal(run_argv((char *[]){ "run", "-n", "-f", ec, NULL }, &out),
				 VMP_EXIT_FAILURE);
		free(out);
		fe = fopen(ec, "w");
		fputs("etcd_endpoints = http://127.0.0.1:1\n", fe);
		fclose(fe);
		assert_int_equal(run_argv((char *[]){ "run", "-n", "-f", ec, NULL }, &out),
				 VMP_EXIT_OK);
		free(out);
		/* an agent has one local hypervisor */
		assert_int_equal(run_argv((char *[]){ "run", "-n", "-f", ec, "-c", "test:///default",
						      "-c", "test:///default", NULL }, &out),
				 VMP_EXIT_USAGE);
		free(out);
		unlink(ec);
		free(ec);
	}
	assert_int_equal(run_argv((char *[]){ "run", "-c", "test:///default", "-d", "-N", "2",
					      "-i", "100ms", "-J", j2, "-v", NULL }, &out),
			 VMP_EXIT_OK);
	free(out);
	assert_int_equal(run_argv((char *[]){ "run", "--connect", "test:///default", "--dry-run",
					      "--cycles", "1", "--interval", "0.1", "--journal",
					      j2, NULL }, &out),
			 VMP_EXIT_OK);
	free(out);
	{
		char *text = NULL;
		char *cat[] = { "why", "test", "--journal", j2, "--all", NULL };

		/* three cycles journaled the VM of test:///default */
		assert_int_equal(run_argv(cat, &text), VMP_EXIT_OK);
		assert_non_null(strstr(text, "test"));
		free(text);
	}

	/* ctl: no daemon at this socket (exit 1, said on stderr); a hypervisor URI is a usage error */
	{
		char *sock = xasprintf("vmpilot://%s/no-daemon.sock", tmpdir);

		same((char *[]){ "ctl", "mode", "web1", "advise", "-c", sock, "-j", NULL },
		     (char *[]){ "ctl", "--json", "--connect", sock, "mode", "web1", "advise", NULL },
		     VMP_EXIT_FAILURE, NULL, NULL);
		free(sock);
		assert_int_equal(run_argv((char *[]){ "ctl", "pause", "-c", "test:///default", NULL },
					  &out), VMP_EXIT_USAGE);
		free(out);
		assert_int_equal(run_argv((char *[]){ "ctl", "fly", NULL }, &out), VMP_EXIT_USAGE);
		free(out);
	}

	/* tune: operands before and after the options */
	same((char *[]){ "tune", "apply", "virtual-host", "-d", "-r", root, NULL },
	     (char *[]){ "tune", "--dry-run", "--root", root, "apply", "virtual-host", NULL },
	     VMP_EXIT_OK, "vm.swappiness", NULL);
	assert_int_equal(run_argv((char *[]){ "tune", "show", "-r", root, "--", "no-such-profile",
					      NULL }, &out), VMP_EXIT_USAGE);
	free(out);

	/* audit: VM operands before and after the options */
	same((char *[]){ "audit", "test", "-c", "test:///default", "-j", "-r", root, NULL },
	     (char *[]){ "audit", "--json", "--root", root, "--connect", "test:///default", "test", NULL },
	     VMP_EXIT_FINDING, "\"rule\": \"cpu.mode\"", NULL);
	assert_int_equal(run_argv((char *[]){ "audit", "-c", "test:///default", "no-such-vm", NULL },
				  &out), VMP_EXIT_USAGE);
	free(out);

	/* diagnose: VM operand before and after the options */
	same((char *[]){ "diagnose", "test", "-c", "test:///default", "-j", "-i", "100ms", NULL },
	     (char *[]){ "diagnose", "--json", "--interval", "0.1", "--connect", "test:///default", "test", NULL },
	     VMP_EXIT_OK, "\"bottleneck\": \"none\"", NULL);

	/* profile: operands before and after the options */
	same((char *[]){ "profile", "apply", "test", "latency", "-d", "-c", "test:///default", NULL },
	     (char *[]){ "profile", "--connect", "test:///default", "--dry-run", "apply", "test", "latency", NULL },
	     VMP_EXIT_OK, "would pin vCPU 0", NULL);
	assert_int_equal(run_argv((char *[]){ "profile", "show", "no-such-profile", NULL }, &out),
			 VMP_EXIT_USAGE);
	free(out);

	/* profile: pinning refused while numad or the kernel's NUMA balancing owns placement */
	{
		static const char *const owners[][2] = {
			{ "kernel-numa-balancing", "owned by kernel NUMA balancing" },
			{ "numad", "owned by numad" },
		};

		for (i = 0; i < 2; i++) {
			char *kroot = xasprintf("%s/owner-%zu", tmpdir, i);
			char *cp = xasprintf("cp -a '%s/data/owners/%s' '%s' && mkdir -p '%s/proc'", tests_dir,
					     owners[i][0], kroot, kroot);

			assert_int_equal(system(cp), 0);
			assert_int_equal(run_argv((char *[]){ "profile", "apply", "test", "latency", "-d", "-c",
							      "test:///default", "-r", kroot, NULL }, &out),
					 VMP_EXIT_FINDING);
			if (!strstr(out, owners[i][1]))
				fail_msg("profile apply on %s: %s", owners[i][0], out);
			free(out);
			free(cp);
			free(kroot);
		}
	}

	/* every command was driven above ... */
	for (i = 0; vmp_commands[i]; i++) {
		size_t k;

		for (k = 0; k < n_driven && driven[k] != vmp_commands[i]; k++)
			;
		if (k == n_driven)
			fail_msg("command '%s' is not driven by test_every_command "
				 "(tests/unit/test-cli.c): add its cases, options after operands",
				 vmp_commands[i]->name);
	}
	/* ... and every shared short flag */
	for (f = vmp_cli_short_flags; f->short_name; f++)
		if (!used_short[(unsigned char)f->short_name])
			fail_msg("short flag -%c (--%s) not driven by this test", f->short_name,
				 f->name);
	free(root);
	free(bb);
	free(pl);
	free(j1);
	free(j2);
	free(conf);
}

static void
test_usage_and_help_everywhere(void **state)
{
	size_t i;

	for (i = 0; vmp_commands[i]; i++) {
		char *bad[] = { (char *)vmp_commands[i]->name, "--no-such-option", NULL };
		char *help[] = { (char *)vmp_commands[i]->name, "x", "--help", NULL };
		const struct vmp_cli_option *o;
		char *out = NULL, *line;
		long col = -1;

		assert_int_equal(run_argv(bad, &out), VMP_EXIT_USAGE);
		free(out);
		assert_int_equal(run_argv(help, &out), VMP_EXIT_OK);
		/* every option listed, every help text starting in the same column */
		for (o = vmp_commands[i]->options; o->name; o++) {
			char *at = strstr(out, o->help);

			assert_non_null(at);
			for (line = at; line > out && line[-1] != '\n'; line--)
				;
			if (col < 0)
				col = at - line;
			assert_int_equal(at - line, col);
		}
		free(out);
	}
}

static void
test_libvirt_default_uri(void **state)
{
	char *j = xasprintf("%s/env.jsonl", tmpdir);
	char *out = NULL;
	struct stat st;

	/* as virsh: no -c means $LIBVIRT_DEFAULT_URI */
	setenv("LIBVIRT_DEFAULT_URI", "test:///default", 1);
	assert_int_equal(run_argv((char *[]){ "status", "-j", NULL }, &out), VMP_EXIT_OK);
	assert_non_null(strstr(out, "\"uri\":\"test:///default\""));
	free(out);
	assert_int_equal(run_argv((char *[]){ "run", "-d", "-N", "1", "-J", j, NULL }, &out),
			 VMP_EXIT_OK);
	free(out);
	assert_int_equal(stat(j, &st), 0);
	assert_true(st.st_size > 0);
	/* -c wins over the environment */
	setenv("LIBVIRT_DEFAULT_URI", "nosuchscheme:///x", 1);
	assert_int_equal(run_argv((char *[]){ "status", "-c", "test:///default", "-j", NULL },
				  &out), VMP_EXIT_OK);
	free(out);
	assert_int_equal(run_argv((char *[]){ "status", NULL }, &out), VMP_EXIT_USAGE);
	free(out);
	/* unset or empty: run has no host */
	setenv("LIBVIRT_DEFAULT_URI", "", 1);
	assert_int_equal(run_argv((char *[]){ "run", "-N", "1", "-J", j, NULL }, &out),
			 VMP_EXIT_USAGE);
	free(out);
	unsetenv("LIBVIRT_DEFAULT_URI");
	assert_int_equal(run_argv((char *[]){ "run", "-N", "1", "-J", j, NULL }, &out),
			 VMP_EXIT_USAGE);
	free(out);
	free(j);
}

static void
test_units_in_options(void **state)
{
	char *out = NULL;
	size_t i;
	struct {
		char *argv[8];
		int rc;
	} cases[] = {
		{ { "status", "-c", "test:///default", "--timeout", "500ms", NULL }, VMP_EXIT_OK },
		{ { "status", "-c", "test:///default", "--timeout", "2", NULL }, VMP_EXIT_OK },
		{ { "status", "-c", "test:///default", "--timeout", "2h", NULL }, VMP_EXIT_USAGE },
		{ { "status", "-c", "test:///default", "--timeout", "5 s", NULL }, VMP_EXIT_USAGE },
		{ { "status", "-w", "0", NULL }, VMP_EXIT_USAGE },
		{ { "status", "-w", "1.5ms", NULL }, VMP_EXIT_USAGE },
		{ { "run", "-c", "test:///default", "-i", "30x", NULL }, VMP_EXIT_USAGE },
		{ { "run", "-c", "test:///default", "-i", "2d", NULL }, VMP_EXIT_USAGE },
		{ { "run", "-c", "test:///default", "-N", "0", NULL }, VMP_EXIT_USAGE },
	};

	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		if (run_argv(cases[i].argv, &out) != cases[i].rc)
			fail_msg("case %zu (%s %s %s): not exit %d", i, cases[i].argv[0],
				 cases[i].argv[3] ? cases[i].argv[3] : cases[i].argv[1],
				 cases[i].argv[4] ? cases[i].argv[4] : "", cases[i].rc);
		free(out);
	}
}

static void
test_datadir(void **state)
{
	char cwd[4096], *out = NULL;

	/* this test binary lies below the build directory: the source tree's data */
	unsetenv("VMPILOT_DATADIR");
	assert_string_equal(vmp_cli_datadir(), VMP_SOURCE_DATADIR);
	/* from any working directory, the default trace is found */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(run_argv((char *[]){ "replay", "--max-vms", "2", "-p", "static", NULL },
				  &out), VMP_EXIT_OK);
	assert_non_null(strstr(out, VMP_SOURCE_DATADIR "/traces/bitbrains-rnd"));
	free(out);
	assert_int_equal(chdir(cwd), 0);
	/* $VMPILOT_DATADIR wins; a missing trace is a failure (1), not a usage error */
	setenv("VMPILOT_DATADIR", "/nonexistent-vmpilot-data", 1);
	assert_string_equal(vmp_cli_datadir(), "/nonexistent-vmpilot-data");
	assert_int_equal(run_argv((char *[]){ "simulate", NULL }, &out), VMP_EXIT_FAILURE);
	free(out);
	unsetenv("VMPILOT_DATADIR");
	assert_string_equal(VMP_DATADIR + strlen(VMP_DATADIR) - strlen("/vmpilot"), "/vmpilot");
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
		cmocka_unit_test(test_options_after_operands),
		cmocka_unit_test(test_only_operands),
		cmocka_unit_test(test_short_flags_mean_one_thing),
		cmocka_unit_test(test_short_flags_documented),
		cmocka_unit_test(test_broken_table_refused),
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_usage_and_help_everywhere),
		cmocka_unit_test(test_libvirt_default_uri),
		cmocka_unit_test(test_units_in_options),
		cmocka_unit_test(test_datadir),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
