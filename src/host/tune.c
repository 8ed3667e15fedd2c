/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot tune` below a root prefix: a profile resolved into a plan, applied live and
 * persistently with the previous state recorded, verified, rolled back (see tune.h).
 */
#include "host/tune.h"
#include "host/parse.h"
#include "util/cpulist.h"
#include "util/fileio.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_SCHEMA "vmpilot-tune-state/1"

/* Appends a formatted string to *dst (NULL: starts it). */
static void
appendf(char **dst, const char *fmt, ...) VMP_PRINTF(2, 3);

static void
appendf(char **dst, const char *fmt, ...)
{
	va_list ap;
	char *item, *joined;

	va_start(ap, fmt);
	item = xvasprintf(fmt, ap);
	va_end(ap);
	if (!*dst) {
		*dst = item;
		return;
	}
	joined = xasprintf("%s%s", *dst, item);
	free(*dst);
	free(item);
	*dst = joined;
}

static bool
is_live(const char *root)
{
	return !root || !*root || strcmp(root, "/") == 0;
}

/* ---- reading and writing one knob ---- */

/* The value of path: the first line, or for a choice file the selected word. */
static int
read_value(const char *root, const char *path, bool choice, char **ret, char **ret_raw)
{
	char *line = NULL, *sel = NULL;
	int r;

	r = vmp_read_line(root, path, &line);
	if (r < 0)
		return r;
	if (choice) {
		r = vmp_parse_choice(line, &sel);
		if (r < 0) {
			/* a one-value file such as "none" has no brackets */
			if (strchr(line, '[') || strpbrk(line, " \t")) {
				free(line);
				return -EINVAL;
			}
			sel = xstrdup(line);
		}
	} else {
		sel = xstrdup(line);
	}
	if (ret_raw)
		*ret_raw = line;
	else
		free(line);
	*ret = sel;
	return 0;
}

/* Writes one regular or sysfs file that must exist: O_NOFOLLOW, no create. */
static int
write_existing(const char *root, const char *path, const char *data)
{
	char *full = vmp_root_path(root, path);
	size_t len = strlen(data);
	int fd, r = 0;

	fd = open(full, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	free(full);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/*
 * Writes value to a knob. On a fixture tree (not the live host) a choice file is
 * rewritten as the kernel shows it, with the new selection in brackets.
 */
static int
write_value(const char *root, const char *path, bool choice, const char *value)
{
	char *data = NULL, *raw = NULL;
	int r;

	if (choice && !is_live(root) && vmp_read_file(root, path, &raw, NULL) == 0) {
		/* Move the brackets, keep every other byte (the kernel's trailing blank too). */
		size_t vl = strlen(value), i = 0, o = 0;

		data = xmalloc(strlen(raw) + 3);
		while (raw[i]) {
			size_t wl;
			bool br = raw[i] == '[';

			if (strchr(" \t\n", raw[i])) {
				data[o++] = raw[i++];
				continue;
			}
			i += br;
			wl = strcspn(raw + i, "] \t\n");
			if (wl == vl && strncmp(raw + i, value, vl) == 0)
				data[o++] = '[';
			memcpy(data + o, raw + i, wl);
			o += wl;
			if (wl == vl && strncmp(raw + i, value, vl) == 0)
				data[o++] = ']';
			i += wl;
			if (br && raw[i] == ']')
				i++;
		}
		data[o] = '\0';
	} else {
		data = xasprintf("%s\n", value);
	}
	free(raw);
	r = write_existing(root, path, data);
	free(data);
	return r;
}

/* ---- atomic whole-file writes for persistent files and the state ---- */

static int
mkdirs(const char *full_dir)
{
	char *p = xstrdup(full_dir), *s;
	int r = 0;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			r = -errno;
		*s = '/';
	}
	if (r == 0 && mkdir(p, 0755) < 0 && errno != EEXIST)
		r = -errno;
	free(p);
	return r;
}

/*
 * Writes root+path whole: a temporary file in the same directory (O_EXCL, O_NOFOLLOW,
 * mode), fsync, rename over path, fsync of the directory. The target, if it exists,
 * must be a regular file.
 */
static int
write_file_atomic(const char *root, const char *path, const char *data, mode_t mode)
{
	char *full = vmp_root_path(root, path), *dir = xstrdup(full), *tmp = NULL, *slash;
	size_t len = strlen(data);
	struct stat st;
	int fd = -1, dfd, r;

	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	r = mkdirs(dir);
	if (r < 0)
		goto out;
	if (lstat(full, &st) == 0 && !S_ISREG(st.st_mode)) {
		r = -EEXIST;
		goto out;
	}
	tmp = xasprintf("%s.vmp-tmp", full);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fchmod(fd, mode) < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, full) < 0) {
		r = -errno;
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	} else if (r < 0 && tmp) {
		unlink(tmp);
	}
	free(tmp);
	free(dir);
	free(full);
	return r;
}

static int
remove_file(const char *root, const char *path)
{
	char *full = vmp_root_path(root, path);
	struct stat st;
	int r = 0;

	if (lstat(full, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			r = -EEXIST;
		else if (unlink(full) < 0)
			r = -errno;
	}
	free(full);
	return r;
}

/* The regular file root+path, or NULL (absent). -errno when it exists but cannot be read. */
static int
read_optional(const char *root, const char *path, char **ret)
{
	char *full = vmp_root_path(root, path);
	struct stat st;
	int r;

	r = lstat(full, &st);
	free(full);
	if (r < 0) {
		*ret = NULL;
		return errno == ENOENT ? 0 : -errno;
	}
	if (!S_ISREG(st.st_mode))
		return -EEXIST;
	return vmp_read_file(root, path, ret, NULL);
}

/* ---- resolving a profile ---- */

static void
add_item(struct vmp_tune_plan *plan, size_t *alloc, const struct vmp_tune_knob *k, char *name,
	 char *path)
{
	struct vmp_tune_item *it;

	xgrow((void **)&plan->items, alloc, plan->n_items + 1, sizeof(*plan->items));
	it = &plan->items[plan->n_items++];
	memset(it, 0, sizeof(*it));
	it->knob = k;
	it->name = name;
	it->path = path;
	it->after = xstrdup(k->value);
}

static void
unavailable(struct vmp_tune_item *it, const char *fmt, ...) VMP_PRINTF(2, 3);

static void
unavailable(struct vmp_tune_item *it, const char *fmt, ...)
{
	va_list ap;

	it->action = VMP_TUNE_UNAVAILABLE;
	va_start(ap, fmt);
	free(it->note);
	it->note = xvasprintf(fmt, ap);
	va_end(ap);
}

static bool
skip_block(const char *dev)
{
	static const char *const prefixes[] = { "loop", "ram", "zram", "dm-", "md", "sr", "nbd", "fd" };
	size_t i;

	for (i = 0; i < VMP_ARRAY_SIZE(prefixes); i++)
		if (vmp_str_starts_with(dev, prefixes[i]))
			return true;
	return false;
}

static enum vmp_tune_dev
block_type(const char *root, const char *dev)
{
	char *path, *line = NULL;
	bool rot = false;

	if (vmp_str_starts_with(dev, "nvme"))
		return VMP_TUNE_DEV_NVME;
	if (vmp_str_starts_with(dev, "vd") || vmp_str_starts_with(dev, "xvd"))
		return VMP_TUNE_DEV_VIRTUAL;
	path = xasprintf("/sys/block/%s/queue/rotational", dev);
	if (vmp_read_line(root, path, &line) == 0)
		rot = strcmp(line, "1") == 0;
	free(line);
	free(path);
	return rot ? VMP_TUNE_DEV_HDD : VMP_TUNE_DEV_SSD;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of root+dir whose name passes keep (NULL: all but dot files). */
static char **
list_dir(const char *root, const char *dir, bool (*keep)(const char *), size_t *ret_n)
{
	char *full = vmp_root_path(root, dir);
	DIR *d = opendir(full);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0;

	free(full);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (keep && !keep(de->d_name)))
			continue;
		xgrow((void **)&names, &alloc, n + 1, sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(char *), cmp_str);
	*ret_n = n;
	return names;
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool
is_cpu_dir(const char *name)
{
	return vmp_str_starts_with(name, "cpu") && name[3] && strspn(name + 3, "0123456789") == strlen(name + 3);
}

/* Natural order for cpuN. */
static int
cmp_cpu(const void *a, const void *b)
{
	long x = strtol(*(char *const *)a + 3, NULL, 10), y = strtol(*(char *const *)b + 3, NULL, 10);

	return x < y ? -1 : x > y;
}

/* Fills before/action of a concrete file item. */
static void
resolve_file(const char *root, struct vmp_tune_item *it, const char *choices_path)
{
	const struct vmp_tune_knob *k = it->knob;
	char *raw = NULL;
	int r;

	r = read_value(root, it->path, k->choice, &it->before, &raw);
	if (r == -ENOENT) {
		unavailable(it, "no '%s' on this host", it->path);
		goto out;
	}
	if (r < 0) {
		unavailable(it, "cannot read '%s': %s", it->path, strerror(-r));
		goto out;
	}
	if (k->choice && !vmp_parse_has_word(raw, k->value) && !strstr(raw, k->value)) {
		unavailable(it, "'%s' offers only: %s", it->path, raw);
		goto out;
	}
	if (choices_path) {
		char *list = NULL;

		if (vmp_read_line(root, choices_path, &list) == 0 && !vmp_parse_has_word(list, k->value)) {
			unavailable(it, "'%s' offers only: %s", choices_path, list);
			free(list);
			goto out;
		}
		free(list);
	}
	it->action = strcmp(it->before, k->value) == 0 ? VMP_TUNE_SAME : VMP_TUNE_CHANGE;
out:
	free(raw);
}

static void
resolve_knob(const char *root, struct vmp_tune_plan *plan, size_t *alloc, const struct vmp_tune_knob *k,
	     unsigned numa_nodes)
{
	size_t n = 0, i;
	char **names;

	switch (k->kind) {
	case VMP_TUNE_SYSCTL:
	case VMP_TUNE_SYSFS:
		add_item(plan, alloc, k, xstrdup(k->id), xstrdup(k->path));
		if (k->numa_only && numa_nodes <= 1) {
			unavailable(&plan->items[plan->n_items - 1], "one NUMA node: nothing to balance");
			return;
		}
		resolve_file(root, &plan->items[plan->n_items - 1], NULL);
		return;
	case VMP_TUNE_BLOCK:
		names = list_dir(root, "/sys/block", NULL, &n);
		for (i = 0; i < n; i++) {
			char *path;

			if (skip_block(names[i]) || block_type(root, names[i]) != k->dev)
				continue;
			path = xasprintf("/sys/block/%s/%s", names[i], k->path);
			add_item(plan, alloc, k, xasprintf("%s[%s]", k->id, names[i]), path);
			resolve_file(root, &plan->items[plan->n_items - 1], NULL);
		}
		free_names(names, n);
		return;
	case VMP_TUNE_CPU: {
		bool any = false;

		names = list_dir(root, "/sys/devices/system/cpu", is_cpu_dir, &n);
		if (n > 1)
			qsort(names, n, sizeof(char *), cmp_cpu);
		for (i = 0; i < n; i++) {
			char *path = xasprintf("/sys/devices/system/cpu/%s/%s", names[i], k->path);
			char *choices = xasprintf("/sys/devices/system/cpu/%s/%s", names[i], k->choices_path);
			char *full = vmp_root_path(root, path);
			bool exists = access(full, F_OK) == 0;

			free(full);
			if (!exists) {
				free(path);
				free(choices);
				continue;
			}
			any = true;
			add_item(plan, alloc, k, xasprintf("%s[%s]", k->id, names[i]), path);
			resolve_file(root, &plan->items[plan->n_items - 1], choices);
			free(choices);
		}
		free_names(names, n);
		if (!any) {
			add_item(plan, alloc, k, xstrdup(k->id), xstrdup("/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"));
			unavailable(&plan->items[plan->n_items - 1], "no cpufreq on this host");
		}
		return;
	}
	case VMP_TUNE_CMDLINE: {
		char *cmdline = NULL;

		add_item(plan, alloc, k, xstrdup(k->id), xstrdup("/proc/cmdline"));
		if (vmp_read_line(root, "/proc/cmdline", &cmdline) == 0 && vmp_parse_has_word(cmdline, k->value))
			plan->items[plan->n_items - 1].action = VMP_TUNE_ADVICE_MET;
		else
			plan->items[plan->n_items - 1].action = VMP_TUNE_ADVICE;
		free(cmdline);
		return;
	}
	}
}

static unsigned
count_numa_nodes(const char *root)
{
	char *line = NULL;
	unsigned n = 1;

	if (vmp_read_line(root, "/sys/devices/system/node/online", &line) == 0 &&
	    vmp_cpulist_count(line, &n) < 0)
		n = 1;
	free(line);
	return n;
}

/* The lines of the persistent files for the items the profile sets (SAME or CHANGE). */
static void
make_files(struct vmp_tune_plan *plan, const char *profile)
{
	char *text[3] = { NULL, NULL, NULL };
	size_t i;

	for (i = 0; i < plan->n_items; i++) {
		const struct vmp_tune_item *it = &plan->items[i];
		const struct vmp_tune_knob *k = it->knob;
		char *line, **dst;

		if (it->action != VMP_TUNE_SAME && it->action != VMP_TUNE_CHANGE)
			continue;
		switch (k->kind) {
		case VMP_TUNE_SYSCTL:
			line = xasprintf("%s = %s", k->id, k->value);
			dst = &text[0];
			break;
		case VMP_TUNE_SYSFS:
		case VMP_TUNE_CPU:
			line = xasprintf("w %s - - - - %s", it->path, k->value);
			dst = &text[1];
			break;
		case VMP_TUNE_BLOCK: {
			/* /sys/block/DEV/queue/x -> KERNEL=="DEV", ATTR{queue/x} */
			const char *dev = it->path + strlen("/sys/block/");
			size_t dl = strcspn(dev, "/");

			line = xasprintf("ACTION==\"add|change\", SUBSYSTEM==\"block\", KERNEL==\"%.*s\", ATTR{%s}=\"%s\"",
					 (int)dl, dev, k->path, k->value);
			dst = &text[2];
			break;
		}
		default:
			continue;
		}
		if (!*dst)
			*dst = xasprintf("# Written by 'vmpilot tune apply %s'; 'vmpilot tune rollback' removes it.\n",
					 profile);
		appendf(dst, "%s\n", line);
		free(line);
	}
	for (i = 0; i < 3; i++)
		plan->files[i].after = text[i];
}

int
vmp_tune_plan_make(const struct vmp_tune_roots *roots, const struct vmp_tune_profile *p,
		   const struct vmp_owner_scan *owners, struct vmp_tune_plan *ret, char **ret_err)
{
	static const char *const paths[3] = { VMP_TUNE_SYSCTL_FILE, VMP_TUNE_TMPFILES_FILE, VMP_TUNE_UDEV_FILE };
	struct vmp_tune_plan plan = { .profile = p };
	size_t alloc = 0, i;
	unsigned nodes = count_numa_nodes(roots->root);
	char *applied;
	int r;

	applied = vmp_tune_applied_profile(roots, NULL);
	if (applied) {
		*ret_err = xasprintf("profile '%s' is applied already: run 'vmpilot tune rollback' first", applied);
		free(applied);
		return -EEXIST;
	}
	for (i = 0; i < p->n_knobs; i++)
		resolve_knob(roots->root, &plan, &alloc, &p->knobs[i], nodes);
	for (i = 0; i < plan.n_items; i++) {
		struct vmp_tune_item *it = &plan.items[i];
		const struct vmp_owner *o;

		if (it->action != VMP_TUNE_SAME && it->action != VMP_TUNE_CHANGE)
			continue;
		o = vmp_owner_find(owners, it->knob->owner);
		if (o) {
			it->action = VMP_TUNE_REFUSED;
			it->note = vmp_owner_refusal(o, it->knob->owner);
		}
	}
	make_files(&plan, p->name);
	for (i = 0; i < 3; i++) {
		plan.files[i].path = xstrdup(paths[i]);
		r = read_optional(roots->persist_root, paths[i], &plan.files[i].before);
		if (r < 0) {
			*ret_err = xasprintf("cannot read '%s': %s", paths[i], strerror(-r));
			vmp_tune_plan_clear(&plan);
			return r;
		}
	}
	for (i = 0; i < plan.n_items; i++) {
		switch (plan.items[i].action) {
		case VMP_TUNE_SAME: plan.n_same++; break;
		case VMP_TUNE_CHANGE: plan.n_change++; break;
		case VMP_TUNE_REFUSED: plan.n_refused++; break;
		case VMP_TUNE_UNAVAILABLE: plan.n_unavailable++; break;
		case VMP_TUNE_ADVICE: case VMP_TUNE_ADVICE_MET: plan.n_advice++; break;
		}
	}
	*ret = plan;
	return 0;
}

void
vmp_tune_plan_clear(struct vmp_tune_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n_items; i++) {
		free(plan->items[i].name);
		free(plan->items[i].path);
		free(plan->items[i].before);
		free(plan->items[i].after);
		free(plan->items[i].note);
	}
	free(plan->items);
	for (i = 0; i < 3; i++) {
		free(plan->files[i].path);
		free(plan->files[i].before);
		free(plan->files[i].after);
	}
	memset(plan, 0, sizeof(*plan));
}

static void
print_file_diff(const struct vmp_tune_file *f, FILE *out)
{
	const char *what;

	if (!f->after && !f->before)
		return;
	if (!f->before)
		what = "new";
	else if (!f->after)
		what = "removed";
	else if (strcmp(f->before, f->after) == 0)
		what = "unchanged";
	else
		what = "replaced";
	fprintf(out, "--- %s (%s)\n", f->path, what);
	if (f->after) {
		const char *p = f->after;

		while (*p) {
			size_t l = strcspn(p, "\n");

			fprintf(out, "+%.*s\n", (int)l, p);
			p += l + (p[l] == '\n');
		}
	}
}

void
vmp_tune_plan_print(const struct vmp_tune_plan *plan, FILE *out)
{
	size_t i;

	fprintf(out, "profile %s: %s\n", plan->profile->name, plan->profile->summary);
	for (i = 0; i < plan->n_items; i++) {
		const struct vmp_tune_item *it = &plan->items[i];

		switch (it->action) {
		case VMP_TUNE_CHANGE:
			fprintf(out, "~ %s: %s -> %s\n", it->name, it->before, it->after);
			break;
		case VMP_TUNE_SAME:
			fprintf(out, "= %s: %s\n", it->name, it->after);
			break;
		case VMP_TUNE_REFUSED:
			if (strcmp(it->before, it->after) != 0)
				fprintf(out, "! %s: %s -> %s refused: %s\n", it->name, it->before, it->after, it->note);
			else
				fprintf(out, "! %s: %s, not claimed: %s\n", it->name, it->after, it->note);
			break;
		case VMP_TUNE_UNAVAILABLE:
			fprintf(out, "- %s: %s: %s\n", it->name, it->after, it->note);
			break;
		case VMP_TUNE_ADVICE:
			fprintf(out, "? %s: add '%s' to the kernel command line (advice, not applied)\n",
				it->name, it->after);
			break;
		case VMP_TUNE_ADVICE_MET:
			fprintf(out, "= %s: '%s' is on the kernel command line\n", it->name, it->after);
			break;
		}
		if (it->action != VMP_TUNE_UNAVAILABLE)
			fprintf(out, "    why: %s\n", it->knob->reason);
	}
	for (i = 0; i < 3; i++)
		print_file_diff(&plan->files[i], out);
	fprintf(out, "%u to change, %u already set, %u refused, %u unavailable, %u advice\n",
		plan->n_change, plan->n_same, plan->n_refused, plan->n_unavailable, plan->n_advice);
}

/* ---- the state file ---- */

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int
state_write(const struct vmp_tune_roots *roots, const struct vmp_tune_plan *plan)
{
	json_t *st = json_object(), *knobs = json_array(), *files = json_array();
	char *text;
	size_t i;
	int r;

	json_object_set_new(st, "schema", json_string(STATE_SCHEMA));
	json_object_set_new(st, "profile", json_string(plan->profile->name));
	for (i = 0; i < plan->n_items; i++) {
		const struct vmp_tune_item *it = &plan->items[i];

		if (it->action != VMP_TUNE_SAME && it->action != VMP_TUNE_CHANGE)
			continue;
		json_array_append_new(knobs, json_pack("{s:s,s:s,s:s,s:b,s:s,s:s}", "name", it->name,
						       "path", it->path, "class", vmp_knob_id(it->knob->owner),
						       "choice", it->knob->choice, "before", it->before,
						       "after", it->after));
	}
	for (i = 0; i < 3; i++)
		json_array_append_new(files, json_pack("{s:s,s:o,s:o}", "path", plan->files[i].path,
						       "before", str_or_null(plan->files[i].before),
						       "after", str_or_null(plan->files[i].after)));
	json_object_set_new(st, "knobs", knobs);
	json_object_set_new(st, "files", files);
	text = json_dumps(st, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(st);
	if (!text)
		return -ENOMEM;
	appendf(&text, "%s", "\n");
	r = write_file_atomic(roots->persist_root, VMP_TUNE_STATE_PATH, text, 0640);
	free(text);
	return r;
}

struct state_knob {
	const char *name, *path, *before, *after;
	bool choice;
};

struct state {
	json_t *json;
	const char *profile;
	struct state_knob *knobs;
	size_t n_knobs;
	struct { const char *path, *before, *after; } files[3];
	size_t n_files;
};

static void
state_clear(struct state *s)
{
	free(s->knobs);
	json_decref(s->json);
	memset(s, 0, sizeof(*s));
}

/* Reads and checks the state file. -ENOENT: none; -EINVAL with *ret_err: malformed. */
static int
state_read(const struct vmp_tune_roots *roots, struct state *ret, char **ret_err)
{
	struct state s = { 0 };
	json_error_t jerr;
	json_t *knobs, *files, *v;
	char *buf = NULL;
	size_t i;
	int r;

	r = read_optional(roots->persist_root, VMP_TUNE_STATE_PATH, &buf);
	if (r < 0) {
		*ret_err = xasprintf("cannot read '%s': %s", VMP_TUNE_STATE_PATH, strerror(-r));
		return r;
	}
	if (!buf)
		return -ENOENT;
	s.json = json_loads(buf, 0, &jerr);
	free(buf);
	if (!s.json) {
		*ret_err = xasprintf("%s:%d: %s", VMP_TUNE_STATE_PATH, jerr.line, jerr.text);
		return -EINVAL;
	}
	if (json_unpack(s.json, "{s:s,s:s,s:o,s:o}", "schema", (const char **)&buf, "profile", &s.profile,
			"knobs", &knobs, "files", &files) < 0 || strcmp(buf, STATE_SCHEMA) != 0 ||
	    !json_is_array(knobs) || !json_is_array(files) || json_array_size(files) > 3) {
		*ret_err = xasprintf("%s: not a %s state", VMP_TUNE_STATE_PATH, STATE_SCHEMA);
		state_clear(&s);
		return -EINVAL;
	}
	s.knobs = xcalloc(json_array_size(knobs) + 1, sizeof(*s.knobs));
	json_array_foreach(knobs, i, v) {
		struct state_knob *k = &s.knobs[s.n_knobs];
		int ch = 0;

		if (json_unpack(v, "{s:s,s:s,s:b,s:s,s:s}", "name", &k->name, "path", &k->path, "choice", &ch,
				"before", &k->before, "after", &k->after) < 0 || k->path[0] != '/' ||
		    strstr(k->path, "/../")) {
			*ret_err = xasprintf("%s: knob %zu is malformed", VMP_TUNE_STATE_PATH, i + 1);
			state_clear(&s);
			return -EINVAL;
		}
		k->choice = ch;
		s.n_knobs++;
	}
	json_array_foreach(files, i, v) {
		json_t *b, *a;

		if (json_unpack(v, "{s:s,s:o,s:o}", "path", &s.files[i].path, "before", &b, "after", &a) < 0 ||
		    (!json_is_null(b) && !json_is_string(b)) || (!json_is_null(a) && !json_is_string(a)) ||
		    (strcmp(s.files[i].path, VMP_TUNE_SYSCTL_FILE) && strcmp(s.files[i].path, VMP_TUNE_TMPFILES_FILE) &&
		     strcmp(s.files[i].path, VMP_TUNE_UDEV_FILE))) {
			*ret_err = xasprintf("%s: file %zu is malformed", VMP_TUNE_STATE_PATH, i + 1);
			state_clear(&s);
			return -EINVAL;
		}
		s.files[i].before = json_string_value(b);
		s.files[i].after = json_string_value(a);
		s.n_files++;
	}
	*ret = s;
	return 0;
}

char *
vmp_tune_applied_profile(const struct vmp_tune_roots *roots, bool knobs[VMP_KNOB_MAX])
{
	struct state s;
	char *err = NULL, *name;
	size_t i;
	int k;

	if (state_read(roots, &s, &err) < 0) {
		free(err);
		return NULL;
	}
	name = xstrdup(s.profile);
	if (knobs) {
		json_t *arr = json_object_get(s.json, "knobs"), *v;

		for (k = 0; k < VMP_KNOB_MAX; k++)
			knobs[k] = false;
		json_array_foreach(arr, i, v) {
			const char *cls = json_string_value(json_object_get(v, "class"));

			for (k = 0; cls && k < VMP_KNOB_MAX; k++)
				if (strcmp(cls, vmp_knob_id((enum vmp_knob)k)) == 0)
					knobs[k] = true;
		}
	}
	state_clear(&s);
	return name;
}

/* ---- apply, verify, rollback ---- */

/* Puts back the files' before contents (absent: removed). Returns the first error. */
static int
restore_files(const char *root, const char *const paths[], const char *const befores[],
	      size_t n, char **ret_err)
{
	int first = 0, r;
	size_t i;

	for (i = 0; i < n; i++) {
		r = befores[i] ? write_file_atomic(root, paths[i], befores[i], 0644) : remove_file(root, paths[i]);
		if (r < 0 && !first) {
			first = r;
			if (ret_err)
				*ret_err = xasprintf("cannot restore '%s': %s", paths[i], strerror(-r));
		}
	}
	return first;
}

int
vmp_tune_apply(const struct vmp_tune_roots *roots, const struct vmp_tune_plan *plan, char **ret_err)
{
	size_t i, j;
	int r;

	r = state_write(roots, plan);
	if (r < 0) {
		*ret_err = xasprintf("cannot write '%s': %s", VMP_TUNE_STATE_PATH, strerror(-r));
		return r;
	}
	for (i = 0; i < plan->n_items; i++) {
		const struct vmp_tune_item *it = &plan->items[i];

		if (it->action != VMP_TUNE_CHANGE)
			continue;
		r = write_value(roots->root, it->path, it->knob->choice, it->after);
		if (r < 0) {
			*ret_err = xasprintf("cannot write '%s' to '%s': %s (values written before were put back)",
					     it->after, it->path, strerror(-r));
			goto undo;
		}
	}
	for (i = 0; i < 3; i++) {
		const struct vmp_tune_file *f = &plan->files[i];

		r = f->after ? write_file_atomic(roots->persist_root, f->path, f->after, 0644) :
			       f->before ? 0 : remove_file(roots->persist_root, f->path);
		if (r < 0) {
			const char *paths[3], *befores[3];

			for (j = 0; j < i; j++) {
				paths[j] = plan->files[j].path;
				befores[j] = plan->files[j].before;
			}
			restore_files(roots->persist_root, paths, befores, i, NULL);
			*ret_err = xasprintf("cannot write '%s': %s (values and files written before were put back)",
					     f->path, strerror(-r));
			i = plan->n_items;
			goto undo;
		}
	}
	return 0;
undo:
	while (i-- > 0) {
		const struct vmp_tune_item *it = &plan->items[i];

		if (it->action == VMP_TUNE_CHANGE)
			write_value(roots->root, it->path, it->knob->choice, it->before);
	}
	remove_file(roots->persist_root, VMP_TUNE_STATE_PATH);
	return r;
}

int
vmp_tune_verify(const struct vmp_tune_roots *roots, FILE *out, char **ret_err)
{
	struct state s;
	unsigned drift = 0, ok = 0;
	size_t i;
	int r;

	r = state_read(roots, &s, ret_err);
	if (r < 0)
		return r;
	fprintf(out, "profile %s\n", s.profile);
	for (i = 0; i < s.n_knobs; i++) {
		const struct state_knob *k = &s.knobs[i];
		char *now = NULL;

		r = read_value(roots->root, k->path, k->choice, &now, NULL);
		if (r < 0) {
			fprintf(out, "DRIFT %s: cannot read '%s': %s\n", k->name, k->path, strerror(-r));
			drift++;
		} else if (strcmp(now, k->after) != 0) {
			fprintf(out, "DRIFT %s: %s is '%s', the profile sets '%s'\n", k->name, k->path, now, k->after);
			drift++;
		} else {
			fprintf(out, "ok    %s: %s\n", k->name, now);
			ok++;
		}
		free(now);
	}
	for (i = 0; i < s.n_files; i++) {
		char *now = NULL;

		r = read_optional(roots->persist_root, s.files[i].path, &now);
		if (r < 0 || (!now) != (!s.files[i].after) ||
		    (now && strcmp(now, s.files[i].after) != 0)) {
			fprintf(out, "DRIFT %s: %s\n", s.files[i].path,
				r < 0 ? strerror(-r) : !now ? "missing" : s.files[i].after ? "changed" : "should not exist");
			drift++;
		} else if (now) {
			fprintf(out, "ok    %s\n", s.files[i].path);
			ok++;
		}
		free(now);
	}
	fprintf(out, "%u ok, %u drifted\n", ok, drift);
	state_clear(&s);
	return drift ? 1 : 0;
}

int
vmp_tune_rollback(const struct vmp_tune_roots *roots, FILE *out, char **ret_err)
{
	const char *paths[3], *befores[3];
	struct state s;
	int first = 0, r;
	size_t i;

	r = state_read(roots, &s, ret_err);
	if (r < 0)
		return r;
	/* Reverse order: a knob written later may depend on one written before it. */
	for (i = s.n_knobs; i-- > 0;) {
		const struct state_knob *k = &s.knobs[i];
		char *now = NULL;

		if (read_value(roots->root, k->path, k->choice, &now, NULL) == 0 && strcmp(now, k->before) == 0) {
			free(now);
			continue;
		}
		r = write_value(roots->root, k->path, k->choice, k->before);
		if (out)
			fprintf(out, "%s %s: %s -> %s%s%s\n", r < 0 ? "FAILED" : "restored", k->name,
				now ? now : "?", k->before, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
		free(now);
		if (r < 0 && !first) {
			first = r;
			*ret_err = xasprintf("cannot write '%s' to '%s': %s", k->before, k->path, strerror(-r));
		}
	}
	for (i = 0; i < s.n_files; i++) {
		paths[i] = s.files[i].path;
		befores[i] = s.files[i].before;
		if (out && (s.files[i].before || s.files[i].after))
			fprintf(out, "%s %s\n", s.files[i].before ? "restored" : "removed", s.files[i].path);
	}
	r = restore_files(roots->persist_root, paths, befores, s.n_files, first ? NULL : ret_err);
	if (r < 0 && !first)
		first = r;
	if (!first) {
		r = remove_file(roots->persist_root, VMP_TUNE_STATE_PATH);
		if (r < 0) {
			first = r;
			*ret_err = xasprintf("cannot remove '%s': %s", VMP_TUNE_STATE_PATH, strerror(-r));
		}
	}
	state_clear(&s);
	return first;
}

/* ---- recommend ---- */

int
vmp_tune_facts_read(const char *root, struct vmp_tune_facts *ret)
{
	struct vmp_tune_facts f = { 0 };
	char *line = NULL, *buf = NULL;
	uint64_t kib = 0;
	size_t n = 0, i;
	char **names;
	int r;

	r = vmp_read_line(root, "/sys/devices/system/cpu/online", &line);
	if (r == 0 && vmp_cpulist_count(line, &f.cpus) < 0)
		r = -EINVAL;
	free(line);
	if (r == -ENOENT) {
		/* a captured tree without the online list: count the cpuN directories */
		names = list_dir(root, "/sys/devices/system/cpu", is_cpu_dir, &n);
		f.cpus = (unsigned)n;
		free_names(names, n);
		r = n ? 0 : -ENOENT;
	}
	if (r < 0)
		return r;
	f.numa_nodes = count_numa_nodes(root);
	/* MemTotal is optional (0: unknown; the VM ratios then stay 0) */
	if (vmp_read_file(root, "/proc/meminfo", &buf, NULL) == 0 &&
	    vmp_parse_kv_u64(buf, "MemTotal", &kib) < 0)
		kib = 0;
	free(buf);
	f.mem_total_kib = kib;
	names = list_dir(root, "/sys/block", NULL, &n);
	for (i = 0; i < n; i++)
		if (!skip_block(names[i]) && block_type(root, names[i]) == VMP_TUNE_DEV_HDD)
			f.rotational = true;
	free_names(names, n);
	*ret = f;
	return 0;
}

const struct vmp_tune_profile *
vmp_tune_recommend(const struct vmp_tune_facts *f, const char **ret_why)
{
	double mem_ratio = f->mem_total_kib ? (double)f->vm_mem_kib / (double)f->mem_total_kib : 0;
	double cpu_ratio = f->cpus ? (double)f->vm_vcpus / (double)f->cpus : 0;

	if (f->n_latency_vms > 0 && f->n_latency_vms * 2 >= f->n_vms) {
		*ret_why = "most VMs have the workload profile 'latency'";
		return vmp_tune_profile_find("latency");
	}
	if (mem_ratio > 0.9 || cpu_ratio > 4.0) {
		*ret_why = "the VMs commit more than 90 % of host memory or more than 4 vCPUs per CPU: an overcommitted host";
		return vmp_tune_profile_find("density");
	}
	if (f->n_vms > 0 && f->n_vms <= 2 && mem_ratio > 0.5) {
		*ret_why = "one or two large VMs own most of the host: run them for throughput";
		return vmp_tune_profile_find("throughput");
	}
	*ret_why = "a mixed KVM host without overcommit or latency-pinned VMs";
	return vmp_tune_profile_find("virtual-host");
}
