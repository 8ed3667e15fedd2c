/* SPDX-License-Identifier: MIT */
/*
 * The vmpilot command table and its option parser. Every subcommand is one struct
 * vmp_cli_command (in its cmd_NAME.c) listed in vmp_commands[] (commands.c), with its
 * options as a table; `vmpilot --help`,
 * `vmpilot CMD --help` and the parser all read those tables, so usage text cannot
 * drift from what is accepted.
 */
#ifndef VMP_CLI_H
#define VMP_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Exit statuses shared by every command (doc/cli.md "Exit status"): 0 the command did
 * its job and found nothing wrong; 1 it found a problem (a FAIL in check, a VM the
 * journal does not know) or could not do its job (a hypervisor, a file, a trace that
 * failed); 2 the command line itself was wrong (unknown option, bad value, missing
 * operand).
 */
enum {
	VMP_EXIT_OK = 0,
	VMP_EXIT_FINDING = 1, /* found a problem, or failed */
	VMP_EXIT_FAILURE = 1, /* the same status, for "could not do its job" */
	VMP_EXIT_USAGE = 2,   /* bad command line */
};

/*
 * One option of a command. A short flag means the same option in every command: it
 * must be the row of vmp_cli_short_flags[] with this long name (the parser refuses a
 * table that breaks this, and tests/unit/test-cli.c walks every command).
 */
struct vmp_cli_option {
	const char *name;      /* long name, without "--" */
	char short_name;       /* 0 if none; else as in vmp_cli_short_flags[] */
	const char *arg;       /* metavar if the option takes an argument, else NULL */
	const char *help;      /* one line */
	int id;                /* returned by vmp_cli_next_option(); must be > 0 */
};

struct vmp_cli_command {
	const char *name;
	const char *summary;           /* one line for `vmpilot --help` */
	const char *synopsis;          /* the operands, e.g. "[VM...]" */
	const char *description;       /* paragraph for `vmpilot CMD --help` */
	const struct vmp_cli_option *options; /* terminated by a zeroed row */
	int (*run)(const struct vmp_cli_command *cmd, int argc, char **argv);
	const char *progname;          /* NULL: "vmpilot NAME"; else the whole name ("vmpilotd") */
};

/* NULL-terminated; defined in commands.c. */
extern const struct vmp_cli_command *const vmp_commands[];
const struct vmp_cli_command *vmp_cli_find_command(const char *name);

/*
 * The one table of short flags (doc/cli.md): each letter names one long option,
 * whatever the command. Zero-terminated. -h is --help everywhere and is not listed.
 */
struct vmp_cli_short_flag {
	char short_name;
	const char *name;
};
extern const struct vmp_cli_short_flag vmp_cli_short_flags[];

/*
 * Checks cmd's option table against vmp_cli_short_flags[]: every short flag is listed
 * there with the same long name, no long or short name is used twice, ids are > 0 and
 * "help"/'h' are not redefined. Returns 0, or -EINVAL with *ret_msg (caller frees).
 */
int vmp_cli_check_table(const struct vmp_cli_command *cmd, char **ret_msg);

/* Option ids reserved by the parser. */
enum {
	VMP_CLI_END = -1,   /* no more options; argv[*optind..] are operands */
	VMP_CLI_ERROR = -2, /* an error was printed; the command should exit VMP_EXIT_USAGE */
	VMP_CLI_HELP = -3,  /* --help was given; help was printed; exit VMP_EXIT_OK */
};

/*
 * Parser state for one command. Initialise with VMP_CLI_PARSER_INIT, then call
 * vmp_cli_next_option() until it returns VMP_CLI_END, VMP_CLI_ERROR or VMP_CLI_HELP.
 * Options and operands may come in any order ("why web1 --journal F"); "--" ends the
 * options. The parser moves the operands, in their order, to the end of argv: after
 * VMP_CLI_END they are argv[p.optind..argc-1]. --help/-h is accepted by every command.
 * A command whose option table breaks vmp_cli_check_table() gets VMP_CLI_ERROR.
 */
struct vmp_cli_parser {
	int optind;
	const char *optarg;
	int shortpos; /* position inside a group of short options, e.g. -jv */
	int end;      /* argv[end..argc-1] are the operands moved so far; 0 = not started */
};
#define VMP_CLI_PARSER_INIT { 1, NULL, 0, 0 }

int vmp_cli_next_option(const struct vmp_cli_command *cmd, struct vmp_cli_parser *p,
			int argc, char **argv);

/*
 * Ends the option loop of a command that takes no operands, given the loop's last
 * result id: returns VMP_EXIT_OK after --help, VMP_EXIT_USAGE after a reported error
 * or an operand (reported here), or -1 when the command should go on.
 */
int vmp_cli_end_options(const struct vmp_cli_command *cmd, const struct vmp_cli_parser *p,
			int id, int argc, char **argv);

/*
 * The command line as typed, for reports: "vmpilot CMD ARG...", each argument quoted for
 * a POSIX shell when it needs it. Call before the option loop (which reorders argv).
 * Returns a new string.
 */
char *vmp_cli_command_line(const struct vmp_cli_command *cmd, int argc, char **argv);

/* Prints the help of one command, generated from its table. */
void vmp_cli_print_command_help(const struct vmp_cli_command *cmd, FILE *out);
/* Prints "vmpilot CMD: message" and a hint to use --help; returns VMP_EXIT_USAGE. */
int vmp_cli_usage_error(const struct vmp_cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* true when stdout is a terminal and NO_COLOR is unset. */
bool vmp_cli_use_color(FILE *out);

/*
 * The URI used when no --connect is given: $LIBVIRT_DEFAULT_URI when set and not
 * empty (as virsh), else NULL.
 */
const char *vmp_cli_default_uri(void);

/*
 * Option values with units (util/units.h), with the command's usage error on failure:
 * a duration option's bare number is in seconds; min_ms..max_ms bound the result.
 * Return VMP_EXIT_OK, or VMP_EXIT_USAGE after printing "--NAME needs ...".
 */
int vmp_cli_parse_duration(const struct vmp_cli_command *cmd, const char *opt,
			   const char *arg, int64_t min_ms, int64_t max_ms, int64_t *ret_ms);
/* A count: a whole number in min..max. */
int vmp_cli_parse_count(const struct vmp_cli_command *cmd, const char *opt, const char *arg,
			uint64_t min, uint64_t max, uint64_t *ret);

/*
 * The directory of vmpilot's bundled data (traces): $VMPILOT_DATADIR when set; the
 * source tree's data/ when this binary runs from its build directory; else the
 * installed data directory (meson's datadir/vmpilot, e.g. /usr/share/vmpilot).
 * Returns a static string.
 */
const char *vmp_cli_datadir(void);
/* vmp_cli_datadir()/rel as a new string. */
char *vmp_cli_data_path(const char *rel);

/* The commands, one file each (cmd_NAME.c). */
extern const struct vmp_cli_command vmp_cmd_audit;
extern const struct vmp_cli_command vmp_cmd_check;
extern const struct vmp_cli_command vmp_cmd_ctl;
extern const struct vmp_cli_command vmp_cmd_diagnose;
extern const struct vmp_cli_command vmp_cmd_profile;
extern const struct vmp_cli_command vmp_cmd_replay;
extern const struct vmp_cli_command vmp_cmd_run;
extern const struct vmp_cli_command vmp_cmd_simulate;
extern const struct vmp_cli_command vmp_cmd_status;
extern const struct vmp_cli_command vmp_cmd_tune;
extern const struct vmp_cli_command vmp_cmd_why;

/*
 * The daemon side of `status` and `why` (cmd_ctl.c): given a vmpilot:// or vmpilots://
 * URI they ask the running daemon's API instead of the hypervisor or the journal file.
 * Return an exit status.
 */
int vmp_ctl_status(const char *uri, bool json, FILE *out);
/*
 * One line for the "cluster" object of a daemon's status (agent mode, doc/cluster.md):
 * "cluster: agent A, follower of B (term T), 3 members, intents 0 pending 1 running 4
 * done 0 failed 0 cancelled, snapshot 1.0 s old" and why cluster moves are stopped;
 * nothing for {"mode": "single"} or no object.
 */
struct json_t;
void vmp_cli_cluster_line(FILE *out, const struct json_t *cluster);
int vmp_ctl_why(const char *uri, const char *vm, size_t last, bool all, bool json);

/*
 * Shared by diagnose and audit --observe (cmd_diagnose.c): a second sample of vm newer
 * than first (retried a few times, 200 ms apart, when the backend answers from a bulk
 * sample). Returns 0 or -errno. (A sample as the diagnosis reads it:
 * vmp_backend_diag_sample() in backend.h.)
 */
struct vmp_vm_stats;
struct vmp_backend;
int vmp_cli_second_sample(struct vmp_backend *b, const char *vm, const struct vmp_vm_stats *first,
			  struct vmp_vm_stats *ret);

/* The loop of `vmpilot run` and vmpilotd (cmd_run.c): parses cmd's options, runs. */
int vmp_cli_run_loop(const struct vmp_cli_command *cmd, const char *progname, int argc,
		     char **argv);

#endif
