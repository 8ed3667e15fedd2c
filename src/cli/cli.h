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
#include <stdio.h>

/* Exit statuses shared by every command. */
enum {
	VMP_EXIT_OK = 0,
	VMP_EXIT_FINDING = 1, /* the command ran and found a problem (e.g. a FAIL in check) */
	VMP_EXIT_USAGE = 2,   /* bad usage or internal error */
};

struct vmp_cli_option {
	const char *name;      /* long name, without "--" */
	char short_name;       /* 0 if none */
	const char *arg;       /* metavar if the option takes an argument, else NULL */
	const char *help;      /* one line */
	int id;                /* returned by vmp_cli_next_option(); must be > 0 */
};

struct vmp_cli_command {
	const char *name;
	const char *summary;           /* one line for `vmpilot --help` */
	const char *synopsis;          /* arguments after the options, e.g. "[VM...]" */
	const char *description;       /* paragraph for `vmpilot CMD --help` */
	const struct vmp_cli_option *options; /* terminated by a zeroed row */
	int (*run)(const struct vmp_cli_command *cmd, int argc, char **argv);
};

/* NULL-terminated; defined in commands.c. */
extern const struct vmp_cli_command *const vmp_commands[];
const struct vmp_cli_command *vmp_cli_find_command(const char *name);

/* Option ids reserved by the parser. */
enum {
	VMP_CLI_END = -1,   /* no more options; argv[*optind..] are operands */
	VMP_CLI_ERROR = -2, /* an error was printed; the command should exit VMP_EXIT_USAGE */
	VMP_CLI_HELP = -3,  /* --help was given; help was printed; exit VMP_EXIT_OK */
};

/*
 * Parser state for one command. Initialise with VMP_CLI_PARSER_INIT, then call
 * vmp_cli_next_option() until it returns VMP_CLI_END (operands start at p.optind),
 * VMP_CLI_ERROR or VMP_CLI_HELP. --help/-h is accepted by every command.
 */
struct vmp_cli_parser {
	int optind;
	const char *optarg;
	int shortpos; /* position inside a group of short options, e.g. -jv */
};
#define VMP_CLI_PARSER_INIT { 1, NULL, 0 }

int vmp_cli_next_option(const struct vmp_cli_command *cmd, struct vmp_cli_parser *p,
			int argc, char **argv);

/*
 * Ends the option loop of a command that takes no operands, given the loop's last
 * result id: returns VMP_EXIT_OK after --help, VMP_EXIT_USAGE after a reported error
 * or an operand (reported here), or -1 when the command should go on.
 */
int vmp_cli_end_options(const struct vmp_cli_command *cmd, const struct vmp_cli_parser *p,
			int id, int argc, char **argv);

/* Prints the help of one command, generated from its table. */
void vmp_cli_print_command_help(const struct vmp_cli_command *cmd, FILE *out);
/* Prints "vmpilot CMD: message" and a hint to use --help; returns VMP_EXIT_USAGE. */
int vmp_cli_usage_error(const struct vmp_cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* true when stdout is a terminal and NO_COLOR is unset. */
bool vmp_cli_use_color(FILE *out);

/* The commands, one file each (cmd_NAME.c). */
extern const struct vmp_cli_command vmp_cmd_check;
extern const struct vmp_cli_command vmp_cmd_replay;
extern const struct vmp_cli_command vmp_cmd_run;
extern const struct vmp_cli_command vmp_cmd_simulate;
extern const struct vmp_cli_command vmp_cmd_status;
extern const struct vmp_cli_command vmp_cmd_why;

/* The loop of `vmpilot run` and vmpilotd (cmd_run.c): parses cmd's options, runs. */
int vmp_cli_run_loop(const struct vmp_cli_command *cmd, const char *progname, int argc,
		     char **argv);

#endif
