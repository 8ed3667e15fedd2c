/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot run`: the autopilot loop in the foreground (the same code as vmpilotd):
 * samples the hosts of every --connect URI, decides, acts (or only journals, with
 * --dry-run) and writes the decision journal. -n checks the config file and exits.
 */
#include "cli/cli.h"
#include "cli/run_replay.h"
#include "daemon/config.h"
#include "daemon/runner.h"
#include "util/log.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/vmpilot/vmpilot.conf"

enum { OPT_CONNECT = 1, OPT_CONFIG, OPT_DRY_RUN, OPT_INTERVAL, OPT_JOURNAL, OPT_CYCLES,
       OPT_CHECK, OPT_VERBOSE, OPT_SAMPLE, OPT_REPLAY };

static const struct vmp_cli_option run_options[] = {
	{ "connect", 'c', "URI", "a host to watch (repeat for several hosts; default "
	  "$LIBVIRT_DEFAULT_URI)", OPT_CONNECT },
	{ "config", 'f', "FILE", "configuration file (default " DEFAULT_CONFIG " if it exists)",
	  OPT_CONFIG },
	{ "dry-run", 'd', NULL, "decide and journal, never act", OPT_DRY_RUN },
	{ "interval", 'i', "DURATION", "time between cycles, e.g. 30s (overrides interval_ms)",
	  OPT_INTERVAL },
	{ "journal", 'J', "FILE", "decision journal, JSON lines ('-' = stdout)", OPT_JOURNAL },
	{ "cycles", 'N', "N", "stop after N cycles (default: until SIGTERM/SIGINT)", OPT_CYCLES },
	{ "check", 'n', NULL, "check the configuration file (and the etcd options, without contacting etcd) and exit", OPT_CHECK },
	{ "verbose", 'v', NULL, "log every recovery and cycle (repeat for more)", OPT_VERBOSE },
	{ "sample-config", 0, NULL, "print the sample configuration with every key and exit",
	  OPT_SAMPLE },
	{ "replay", 0, NULL, "run on a simulated cluster (-c sim://DIR, default the bundled "
	  "trace) as fast as it goes, then compare with vmpilot simulate", OPT_REPLAY },
	{ 0 },
};

/* Shared with vmpilotd: parses the options of `run` into a (uris is a new array). */
static int
run_parse(const struct vmp_cli_command *cmd, int argc, char **argv,
	  struct vmp_runner_args *a, const char ***uris, int *verbose)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	size_t alloc = 0, n = 0;
	int64_t interval_ms;
	int id;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_CONNECT:
			xgrow((void **)uris, &alloc, n + 1, sizeof(**uris));
			(*uris)[n++] = p.optarg;
			break;
		case OPT_CONFIG:
			a->config_path = p.optarg;
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case OPT_INTERVAL:
			if (vmp_cli_parse_duration(cmd, "interval", p.optarg, 100, 86400000,
						   &interval_ms) != 0)
				return VMP_EXIT_USAGE;
			a->interval_s = (double)interval_ms / 1000.0;
			break;
		case OPT_JOURNAL:
			a->journal_path = p.optarg;
			break;
		case OPT_CYCLES:
			if (vmp_cli_parse_count(cmd, "cycles", p.optarg, 1, UINT32_MAX,
						&a->cycles) != 0)
				return VMP_EXIT_USAGE;
			break;
		case OPT_CHECK:
			a->check_only = true;
			break;
		case OPT_VERBOSE:
			(*verbose)++;
			break;
		case OPT_SAMPLE:
			vmp_config_write_sample(stdout);
			return -1;
		case OPT_REPLAY:
			a->replay = true;
			break;
		}
	}
	if (id == VMP_CLI_HELP)
		return -1;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	if (p.optind < argc)
		return vmp_cli_usage_error(cmd, "unexpected argument '%s'", argv[p.optind]);
	if (a->replay) {
		/* the bundled trace unless -c says; no system config: a demo is the same anywhere */
		a->uris = *uris;
		a->n_uris = n;
		return 0;
	}
	if (!a->config_path && (a->check_only || access(DEFAULT_CONFIG, F_OK) == 0))
		a->config_path = DEFAULT_CONFIG;
	if (!a->check_only && n == 0 && vmp_cli_default_uri()) {
		/* as virsh: no --connect means $LIBVIRT_DEFAULT_URI */
		xgrow((void **)uris, &alloc, n + 1, sizeof(**uris));
		(*uris)[n++] = vmp_cli_default_uri();
	}
	if (!a->check_only && n == 0)
		return vmp_cli_usage_error(cmd, "give at least one --connect URI (or set "
					   "LIBVIRT_DEFAULT_URI)");
	a->uris = *uris;
	a->n_uris = n;
	return 0;
}

int
vmp_cli_run_loop(const struct vmp_cli_command *cmd, const char *progname, int argc,
		 char **argv)
{
	struct vmp_runner_args a = { 0 };
	const char **uris = NULL;
	int verbose = 0, r;

	r = run_parse(cmd, argc, argv, &a, &uris, &verbose);
	if (r != 0) {
		free(uris);
		return r < 0 ? VMP_EXIT_OK : r;
	}
	vmp_log_init(progname, verbose >= 2 ? VMP_LOG_DEBUG : verbose ? VMP_LOG_INFO
								     : VMP_LOG_WARN);
	if (a.replay) {
		r = vmp_cli_run_replay(cmd, &a, verbose);
		free(uris);
		return r;
	}
	if (!cmd->progname) {
		/* `vmpilot run` in a terminal: a line per cycle; a summary at exit anyway */
		a.progress = isatty(STDERR_FILENO) ? stderr : NULL;
		a.summary = stderr;
	}
	r = vmp_runner_main(&a);
	free(uris);
	return r == 0 ? VMP_EXIT_OK : r == 1 ? VMP_EXIT_FINDING : VMP_EXIT_USAGE;
}

static int
run_run(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	return vmp_cli_run_loop(cmd, "vmpilot run", argc, argv);
}

const struct vmp_cli_command vmp_cmd_run = {
	.name = "run",
	.summary = "run the autopilot loop in the foreground",
	.synopsis = "",
	.description =
		"Every interval: samples each --connect host and its VMs, right-sizes memory\n"
		"(balloon) and vCPUs (hot-plug), relieves host memory pressure, moves a VM to\n"
		"another host when resizing in place cannot, tunes KSM on this machine, all\n"
		"inside the hourly action budget, and writes every action and deliberate\n"
		"non-action with its reason to the decision journal ('vmpilot why VM' reads\n"
		"it). SIGHUP reloads --config\n"
		"(an invalid file is refused and the running config kept); SIGTERM or SIGINT\n"
		"stop after the current cycle. On a terminal each cycle prints one line; a\n"
		"summary follows at exit. vmpilotd runs the same loop. -n checks the\n"
		"configuration file and exits: 0 when valid, 1 with 'file:line: message' when\n"
		"not (with etcd_endpoints set, the etcd options too, without contacting etcd).\n"
		"--sample-config prints every key with its default and unit.\n"
		"--replay runs the same loop on a simulated cluster (one host per simulated\n"
		"host of -c sim://DIR, default the bundled PlanetLab day) as fast as it goes,\n"
		"printing its migrations, then its energy, overload, unserved CPU and\n"
		"migrations beside vmpilot simulate's rows for the same day.",
	.options = run_options,
	.run = run_run,
};
