/* SPDX-License-Identifier: MIT */
/*
 * The command table of the vmpilot binary, and the table-driven option parser that
 * every command uses. Add a command: write cmd_NAME.c defining its struct
 * vmp_cli_command (name, help, option table, run function), declare it in cli.h and
 * add one row here.
 */
#include "build-config.h"
#include "cli/cli.h"
#include "util/units.h"
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every command, in the order `vmpilot --help` lists them. */
const struct vmp_cli_command *const vmp_commands[] = {
	&vmp_cmd_audit,
	&vmp_cmd_check,
	&vmp_cmd_ctl,
	&vmp_cmd_diagnose,
	&vmp_cmd_profile,
	&vmp_cmd_replay,
	&vmp_cmd_run,
	&vmp_cmd_simulate,
	&vmp_cmd_status,
	&vmp_cmd_tune,
	&vmp_cmd_why,
	NULL,
};

/*
 * Every short flag, with the one long option it names in every command (doc/cli.md
 * lists the same table; keep them together). -h is --help.
 */
const struct vmp_cli_short_flag vmp_cli_short_flags[] = {
	{ 'a', "all" },
	{ 'c', "connect" },
	{ 'd', "dry-run" },
	{ 'f', "config" },
	{ 'i', "interval" },
	{ 'j', "json" },
	{ 'J', "journal" },
	{ 'l', "list" },
	{ 'n', "check" },
	{ 'N', "cycles" },
	{ 'o', "only" },
	{ 'p', "policy" },
	{ 'r', "root" },
	{ 't', "trace" },
	{ 'v', "verbose" },
	{ 'w', "watch" },
	{ 0, NULL },
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

const char *
vmp_cli_default_uri(void)
{
	const char *uri = getenv("LIBVIRT_DEFAULT_URI");

	return uri && *uri ? uri : NULL;
}

int
vmp_cli_parse_duration(const struct vmp_cli_command *cmd, const char *opt, const char *arg,
		       int64_t min_ms, int64_t max_ms, int64_t *ret_ms)
{
	char lo[32], hi[32];
	int64_t v;

	if (vmp_parse_duration_ms(arg, 1000, &v) == 0 && v >= min_ms && v <= max_ms) {
		*ret_ms = v;
		return VMP_EXIT_OK;
	}
	vmp_format_duration_ms(min_ms, lo, sizeof(lo));
	vmp_format_duration_ms(max_ms, hi, sizeof(hi));
	return vmp_cli_usage_error(cmd, "--%s needs a duration from %s to %s (e.g. 500ms, 30s, "
				   "5m; a bare number is seconds), not '%s'", opt, lo, hi, arg);
}

int
vmp_cli_parse_count(const struct vmp_cli_command *cmd, const char *opt, const char *arg,
		    uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v;

	if (vmp_parse_u64(arg, &v) == 0 && v >= min && v <= max) {
		*ret = v;
		return VMP_EXIT_OK;
	}
	return vmp_cli_usage_error(cmd, "--%s needs a whole number from %llu to %llu, not '%s'",
				   opt, (unsigned long long)min, (unsigned long long)max, arg);
}

/* true when this process's executable lies below the build directory it was built in. */
static bool
running_from_build_dir(void)
{
	char exe[PATH_MAX], root[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len;

	if (n <= 0 || !realpath(VMP_BUILD_ROOT, root))
		return false;
	exe[n] = '\0';
	len = strlen(root);
	return strncmp(exe, root, len) == 0 && exe[len] == '/';
}

const char *
vmp_cli_datadir(void)
{
	const char *env = getenv("VMPILOT_DATADIR");

	if (env && *env)
		return env;
	if (running_from_build_dir())
		return VMP_SOURCE_DATADIR;
	return VMP_DATADIR;
}

char *
vmp_cli_data_path(const char *rel)
{
	return xasprintf("%s/%s", vmp_cli_datadir(), rel);
}

char *
vmp_cli_command_line(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_-./=:,+@%";
	char *line = xstrdup(cmd->progname ? cmd->progname : "vmpilot"), *next;
	int i;

	for (i = cmd->progname ? 1 : 0; i < argc; i++) {
		const char *a = argv[i], *c;
		char *q;
		size_t n = 0;

		if (*a && strspn(a, safe) == strlen(a)) {
			next = xasprintf("%s %s", line, a);
		} else {
			/* 'it'\''s' */
			q = xmalloc(strlen(a) * 4 + 3);
			q[n++] = '\'';
			for (c = a; *c; c++) {
				if (*c == '\'') {
					memcpy(q + n, "'\\''", 4);
					n += 4;
				} else {
					q[n++] = *c;
				}
			}
			q[n++] = '\'';
			q[n] = '\0';
			next = xasprintf("%s %s", line, q);
			free(q);
		}
		free(line);
		line = next;
	}
	return line;
}

/* "-c, --connect URI" or "    --json": the left column of one option's help line. */
static char *
option_left(const struct vmp_cli_option *o)
{
	return xasprintf("%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
			 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ',
			 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

void
vmp_cli_print_command_help(const struct vmp_cli_command *cmd, FILE *out)
{
	const struct vmp_cli_option *o;
	size_t w = strlen("-h, --help");
	char *left;

	/* The column is as wide as the longest option of this command. */
	for (o = cmd->options; o && o->name; o++) {
		left = option_left(o);
		if (strlen(left) > w)
			w = strlen(left);
		free(left);
	}
	fprintf(out, "usage: %s%s%s [OPTION...]%s%s\n\n%s\n\n%s\n\noptions:\n",
		cmd->progname ? cmd->progname : "vmpilot", cmd->progname ? "" : " ",
		cmd->progname ? "" : cmd->name, cmd->synopsis && *cmd->synopsis ? " " : "", cmd->synopsis ? cmd->synopsis : "",
		cmd->summary, cmd->description);
	for (o = cmd->options; o && o->name; o++) {
		left = option_left(o);
		fprintf(out, "  %-*s  %s\n", (int)w, left, o->help);
		free(left);
	}
	fprintf(out, "  %-*s  %s\n", (int)w, "-h, --help", "show this help and exit");
	fprintf(out, "\nOptions may come before or after the operands; '--' ends the options.\n"
		"Durations take a unit (500ms, 30s, 5m, 1h), sizes too (512M, 4G); see vmpilot(1).\n");
}

int
vmp_cli_usage_error(const struct vmp_cli_command *cmd, const char *fmt, ...)
{
	const char *prog = cmd->progname ? cmd->progname : "vmpilot";
	const char *name = cmd->progname ? "" : cmd->name;
	va_list ap;

	fprintf(stderr, "%s%s%s: ", prog, *name ? " " : "", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s%s%s --help'.\n", prog, *name ? " " : "", name);
	return VMP_EXIT_USAGE;
}

int
vmp_cli_check_table(const struct vmp_cli_command *cmd, char **ret_msg)
{
	const struct vmp_cli_short_flag *f;
	const struct vmp_cli_option *o, *q;

	for (o = cmd->options; o && o->name; o++) {
		if (o->id <= 0 || !strcmp(o->name, "help") || o->short_name == 'h') {
			*ret_msg = xasprintf("command '%s': option '--%s' has a reserved name or id",
					     cmd->name, o->name);
			return -EINVAL;
		}
		for (q = cmd->options; q != o; q++)
			if (!strcmp(q->name, o->name) || (o->short_name && q->short_name == o->short_name)) {
				*ret_msg = xasprintf("command '%s': option '--%s' defined twice",
						     cmd->name, o->name);
				return -EINVAL;
			}
		if (!o->short_name)
			continue;
		for (f = vmp_cli_short_flags; f->short_name; f++)
			if (f->short_name == o->short_name)
				break;
		if (!f->short_name || strcmp(f->name, o->name) != 0) {
			*ret_msg = xasprintf("command '%s': '-%c' is '--%s' in every command, not "
					     "'--%s' (cli.h vmp_cli_short_flags)", cmd->name,
					     o->short_name, f->short_name ? f->name : "(nothing)",
					     o->name);
			return -EINVAL;
		}
	}
	return 0;
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

/* Moves argv[i] to the very end, shifting argv[i+1..argc-1] left: operands keep their order. */
static void
rotate_to_end(char **argv, int i, int argc)
{
	char *a = argv[i];

	memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(*argv));
	argv[argc - 1] = a;
}

/*
 * Options and operands may be mixed; "--" ends options. Each operand met is moved to
 * the end of argv (after the operands moved before it), so that on VMP_CLI_END the
 * operands are argv[optind..argc-1] in their original order.
 */
int
vmp_cli_next_option(const struct vmp_cli_command *cmd, struct vmp_cli_parser *p,
		    int argc, char **argv)
{
	const struct vmp_cli_option *o;
	const char *a;

	p->optarg = NULL;
	if (p->end == 0) {
		char *msg = NULL;

		if (vmp_cli_check_table(cmd, &msg) < 0) {
			fprintf(stderr, "vmpilot: internal error: %s\n", msg);
			free(msg);
			return VMP_CLI_ERROR;
		}
		p->end = argc;
	}
	if (p->shortpos == 0) {
		for (;;) {
			if (p->optind >= p->end) {
				p->optind = p->end;
				return VMP_CLI_END;
			}
			a = argv[p->optind];
			if (a[0] == '-' && a[1] != '\0')
				break;
			/* an operand: set it aside at the end, and look further */
			rotate_to_end(argv, p->optind, argc);
			p->end--;
		}
		if (strcmp(a, "--") == 0) {
			int k, rest = p->end - p->optind - 1;

			/* what follows "--" are operands, after those already set aside */
			for (k = 0; k < rest; k++)
				rotate_to_end(argv, p->optind + 1, argc);
			p->optind++;
			p->end = p->optind;
			return VMP_CLI_END;
		}
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
				} else if (p->optind < p->end) {
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
		} else if (p->optind + 1 < p->end) {
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
