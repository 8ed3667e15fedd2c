/* SPDX-License-Identifier: MIT */
/*
 * The command table of the vmpilot binary, and the table-driven option parser that
 * every command uses. Add a command: write cmd_NAME.c defining its struct
 * vmp_cli_command (name, help, option table, run function), declare it in cli.h and
 * add one row here.
 */
#include "cli/cli.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every command, in the order `vmpilot --help` lists them. */
const struct vmp_cli_command *const vmp_commands[] = {
	&vmp_cmd_check,
	&vmp_cmd_replay,
	&vmp_cmd_run,
	&vmp_cmd_simulate,
	&vmp_cmd_status,
	&vmp_cmd_why,
	NULL,
};

const struct vmp_cli_command *
vmp_cli_find_command(const char *name)
{
	size_t i;

	for (i = 0; vmp_commands[i]; i++)
		if (strcmp(vmp_commands[i]->name, name) == 0)
			return vmp_commands[i];
	return NULL;
}

bool
vmp_cli_use_color(FILE *out)
{
	return isatty(fileno(out)) && !getenv("NO_COLOR");
}

void
vmp_cli_print_command_help(const struct vmp_cli_command *cmd, FILE *out)
{
	const struct vmp_cli_option *o;

	fprintf(out, "usage: vmpilot %s [OPTION...]%s%s\n\n%s\n\n%s\n\noptions:\n",
		cmd->name, cmd->synopsis && *cmd->synopsis ? " " : "",
		cmd->synopsis ? cmd->synopsis : "", cmd->summary, cmd->description);
	for (o = cmd->options; o && o->name; o++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->short_name ? "-" : "",
			 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ",
			 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-28s %s\n", o->short_name ? left : left + 2, o->help);
	}
	fprintf(out, "  %-28s %s\n", "-h, --help", "show this help and exit");
}

int
vmp_cli_usage_error(const struct vmp_cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmpilot %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vmpilot %s --help'.\n", cmd->name);
	return VMP_EXIT_USAGE;
}

int
vmp_cli_end_options(const struct vmp_cli_command *cmd, const struct vmp_cli_parser *p,
		    int id, int argc, char **argv)
{
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	if (p->optind < argc)
		return vmp_cli_usage_error(cmd, "unexpected argument '%s'", argv[p->optind]);
	return -1;
}

static const struct vmp_cli_option *
find_long(const struct vmp_cli_command *cmd, const char *name, size_t len)
{
	const struct vmp_cli_option *o;

	for (o = cmd->options; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static const struct vmp_cli_option *
find_short(const struct vmp_cli_command *cmd, char c)
{
	const struct vmp_cli_option *o;

	for (o = cmd->options; o && o->name; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

/* Options and operands may be mixed; "--" ends options. Operands are moved to the end. */
int
vmp_cli_next_option(const struct vmp_cli_command *cmd, struct vmp_cli_parser *p,
		    int argc, char **argv)
{
	const struct vmp_cli_option *o;
	const char *a;

	p->optarg = NULL;
	if (p->shortpos == 0) {
		if (p->optind >= argc)
			return VMP_CLI_END;
		a = argv[p->optind];
		if (strcmp(a, "--") == 0) {
			p->optind++;
			return VMP_CLI_END;
		}
		if (a[0] != '-' || a[1] == '\0')
			return VMP_CLI_END; /* first operand: options must come first */
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			p->optind++;
			if (len == 4 && strncmp(name, "help", 4) == 0) {
				vmp_cli_print_command_help(cmd, stdout);
				return VMP_CLI_HELP;
			}
			o = find_long(cmd, name, len);
			if (!o) {
				vmp_cli_usage_error(cmd, "unknown option '--%.*s'", (int)len, name);
				return VMP_CLI_ERROR;
			}
			if (o->arg) {
				if (eq) {
					p->optarg = eq + 1;
				} else if (p->optind < argc) {
					p->optarg = argv[p->optind++];
				} else {
					vmp_cli_usage_error(cmd, "option '--%s' needs %s", o->name, o->arg);
					return VMP_CLI_ERROR;
				}
			} else if (eq) {
				vmp_cli_usage_error(cmd, "option '--%s' takes no value", o->name);
				return VMP_CLI_ERROR;
			}
			return o->id;
		}
		p->shortpos = 1;
	}
	a = argv[p->optind];
	if (a[p->shortpos] == 'h') {
		p->shortpos = 0;
		p->optind++;
		vmp_cli_print_command_help(cmd, stdout);
		return VMP_CLI_HELP;
	}
	o = find_short(cmd, a[p->shortpos]);
	if (!o) {
		vmp_cli_usage_error(cmd, "unknown option '-%c'", a[p->shortpos]);
		return VMP_CLI_ERROR;
	}
	p->shortpos++;
	if (o->arg) {
		if (a[p->shortpos] != '\0') {
			p->optarg = a + p->shortpos;
		} else if (p->optind + 1 < argc) {
			p->optarg = argv[++p->optind];
		} else {
			p->shortpos = 0;
			p->optind++;
			vmp_cli_usage_error(cmd, "option '-%c' needs %s", o->short_name, o->arg);
			return VMP_CLI_ERROR;
		}
		p->shortpos = 0;
		p->optind++;
	} else if (a[p->shortpos] == '\0') {
		p->shortpos = 0;
		p->optind++;
	}
	return o->id;
}
