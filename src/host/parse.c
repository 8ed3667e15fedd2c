/* SPDX-License-Identifier: MIT */
/* Parsers of /proc and /sys text formats (pure string code). See parse.h. */
#include "host/parse.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool
vmp_parse_has_word(const char *list, const char *word)
{
	size_t wlen = strlen(word);
	const char *p = list;

	if (wlen == 0)
		return false;
	while (*p) {
		const char *start;

		while (*p && is_blank(*p))
			p++;
		start = p;
		while (*p && !is_blank(*p))
			p++;
		if ((size_t)(p - start) == wlen && memcmp(start, word, wlen) == 0)
			return true;
	}
	return false;
}

/*
 * Calls back for each line of buf (without its newline) until fn returns non-zero;
 * returns that value, or 0. line is a private copy the callee may modify.
 */
static int
for_each_line(const char *buf, int (*fn)(char *line, size_t lineno, void *data), void *data)
{
	const char *p = buf;
	size_t lineno = 0;
	int r = 0;

	while (*p && r == 0) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);

		lineno++;
		r = fn(line, lineno, data);
		free(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	return r;
}

struct kv_find {
	const char *key;
	char *value;
	bool empty;
};

static int
kv_line(char *line, size_t lineno, void *data)
{
	struct kv_find *f = data;
	char *p = line, *word, *end;
	size_t len;

	while (*p && is_blank(*p))
		p++;
	if (*p == '#' || *p == '\0')
		return 0;
	/* Per-node meminfo: "Node 0 MemTotal:   123 kB". */
	if (strncmp(p, "Node ", 5) == 0) {
		char *q = p + 5;

		while (*q == ' ')
			q++;
		if (isdigit((unsigned char)*q)) {
			while (isdigit((unsigned char)*q))
				q++;
			while (*q && is_blank(*q))
				q++;
			p = q;
		}
	}
	word = p;
	while (*p && !is_blank(*p))
		p++;
	end = p;
	len = (size_t)(end - word);
	if (len > 0 && word[len - 1] == ':')
		len--;
	if (len != strlen(f->key) || memcmp(word, f->key, len) != 0)
		return 0;
	vmp_strstrip(p);
	if (*p == '\0') {
		f->empty = true;
		return 1;
	}
	f->value = xstrdup(p);
	return 1;
}

int
vmp_parse_kv(const char *buf, const char *key, char **ret_value)
{
	struct kv_find f = { key, NULL, false };

	if (!for_each_line(buf, kv_line, &f))
		return -ENOENT;
	if (f.empty)
		return -EINVAL;
	*ret_value = f.value;
	return 0;
}

int
vmp_parse_kv_u64(const char *buf, const char *key, uint64_t *ret)
{
	char *value = NULL, *sp;
	uint64_t v;
	int r;

	r = vmp_parse_kv(buf, key, &value);
	if (r < 0)
		return r;
	sp = value + strcspn(value, " \t");
	*sp = '\0';
	r = vmp_parse_u64(value, &v);
	free(value);
	if (r < 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

struct flags_find {
	char *flags;
};

static int
flags_line(char *line, size_t lineno, void *data)
{
	struct flags_find *f = data;
	char *colon;

	if (strncmp(line, "flags", 5) != 0)
		return 0;
	colon = strchr(line, ':');
	if (!colon)
		return 0;
	/* Only white space may separate "flags" from the colon. */
	for (char *q = line + 5; q < colon; q++)
		if (!is_blank(*q))
			return 0;
	f->flags = xstrdup(colon + 1);
	vmp_strstrip(f->flags);
	return 1;
}

int
vmp_parse_cpuinfo_flags(const char *cpuinfo, char **ret_flags)
{
	struct flags_find f = { NULL };

	if (!for_each_line(cpuinfo, flags_line, &f))
		return -ENOENT;
	*ret_flags = f.flags;
	return 0;
}

static bool
is_choice_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '+' || c == '-';
}

int
vmp_parse_choice(const char *s, char **ret_selected)
{
	const char *p = s, *sel = NULL;
	size_t sel_len = 0;
	unsigned words = 0;

	while (*p) {
		const char *start;
		bool bracket = false;

		while (*p && is_blank(*p))
			p++;
		if (!*p)
			break;
		if (*p == '[') {
			bracket = true;
			p++;
		}
		start = p;
		while (*p && is_choice_char(*p))
			p++;
		if (p == start)
			return -EINVAL;
		if (bracket) {
			if (*p != ']' || sel)
				return -EINVAL;
			sel = start;
			sel_len = (size_t)(p - start);
			p++;
		}
		if (*p && !is_blank(*p))
			return -EINVAL;
		words++;
	}
	if (!sel || words == 0)
		return -EINVAL;
	*ret_selected = xstrndup(sel, sel_len);
	return 0;
}

int
vmp_parse_bool(const char *s, bool *ret)
{
	char buf[8];
	size_t len;

	while (*s && is_blank(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (len != 1)
		return -EINVAL;
	memcpy(buf, s, 1);
	buf[1] = '\0';
	if (buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1') {
		*ret = true;
		return 0;
	}
	if (buf[0] == 'N' || buf[0] == 'n' || buf[0] == '0') {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

/* Splits line into at most max white-space separated fields; returns the count. */
static size_t
split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p && n < max) {
		while (*p && is_blank(*p))
			*p++ = '\0';
		if (!*p)
			break;
		fields[n++] = p;
		while (*p && !is_blank(*p))
			p++;
	}
	if (*p)
		*p = '\0';
	return n;
}

struct mounts_acc {
	struct vmp_mount *m;
	size_t n, alloc;
	size_t bad_line;
};

static int
mounts_line(char *line, size_t lineno, void *data)
{
	struct mounts_acc *a = data;
	char *f[6];
	size_t n;

	n = split_fields(line, f, 6);
	if (n == 0)
		return 0;
	if (n < 4) {
		a->bad_line = lineno;
		return 1;
	}
	xgrow((void **)&a->m, &a->alloc, a->n + 1, sizeof(*a->m));
	a->m[a->n].source = xstrdup(f[0]);
	a->m[a->n].dir = xstrdup(f[1]);
	a->m[a->n].type = xstrdup(f[2]);
	a->m[a->n].options = xstrdup(f[3]);
	a->n++;
	return 0;
}

int
vmp_parse_mounts(const char *buf, struct vmp_mount **ret_mounts, size_t *ret_n,
		 size_t *ret_bad_line)
{
	struct mounts_acc a = { NULL, 0, 0, 0 };

	if (for_each_line(buf, mounts_line, &a)) {
		if (ret_bad_line)
			*ret_bad_line = a.bad_line;
		vmp_mounts_free(a.m, a.n);
		return -EINVAL;
	}
	*ret_mounts = a.m;
	*ret_n = a.n;
	return 0;
}

void
vmp_mounts_free(struct vmp_mount *mounts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(mounts[i].source);
		free(mounts[i].dir);
		free(mounts[i].type);
		free(mounts[i].options);
	}
	free(mounts);
}

bool
vmp_mount_has_option(const struct vmp_mount *m, const char *opt)
{
	size_t len = strlen(opt);
	const char *p = m->options;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == len && memcmp(p, opt, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

struct cgroups_acc {
	struct vmp_cgroup_subsys *s;
	size_t n, alloc;
	size_t bad_line;
};

static int
cgroups_line(char *line, size_t lineno, void *data)
{
	struct cgroups_acc *a = data;
	char *f[5];
	uint64_t hier, num, en;
	size_t n;

	if (line[0] == '#')
		return 0;
	n = split_fields(line, f, 5);
	if (n == 0)
		return 0;
	if (n != 4 || strlen(f[0]) >= sizeof(a->s->name) ||
	    vmp_parse_u64(f[1], &hier) < 0 || hier > 1u << 20 ||
	    vmp_parse_u64(f[2], &num) < 0 || vmp_parse_u64(f[3], &en) < 0 || en > 1) {
		a->bad_line = lineno;
		return 1;
	}
	xgrow((void **)&a->s, &a->alloc, a->n + 1, sizeof(*a->s));
	memset(&a->s[a->n], 0, sizeof(a->s[a->n]));
	strcpy(a->s[a->n].name, f[0]);
	a->s[a->n].hierarchy = (unsigned)hier;
	a->s[a->n].enabled = en == 1;
	a->n++;
	return 0;
}

int
vmp_parse_proc_cgroups(const char *buf, struct vmp_cgroup_subsys **ret, size_t *ret_n,
		       size_t *ret_bad_line)
{
	struct cgroups_acc a = { NULL, 0, 0, 0 };

	if (!vmp_str_starts_with(buf, "#subsys_name")) {
		if (ret_bad_line)
			*ret_bad_line = 1;
		return -EINVAL;
	}
	if (for_each_line(buf, cgroups_line, &a)) {
		if (ret_bad_line)
			*ret_bad_line = a.bad_line;
		free(a.s);
		return -EINVAL;
	}
	*ret = a.s;
	*ret_n = a.n;
	return 0;
}

struct psi_find {
	const char *kind;
	struct vmp_psi_line v;
	int r;
};

static int
psi_line(char *line, size_t lineno, void *data)
{
	static const char *const keys[] = { "avg10=", "avg60=", "avg300=", "total=" };
	struct psi_find *f = data;
	char *fields[6];
	double d[3];
	uint64_t total;
	size_t n, i;

	n = split_fields(line, fields, 6);
	if (n == 0 || strcmp(fields[0], f->kind) != 0)
		return 0;
	f->r = -EINVAL;
	if (n != 5)
		return 1;
	for (i = 0; i < 4; i++) {
		const char *val = fields[i + 1] + strlen(keys[i]);

		if (!vmp_str_starts_with(fields[i + 1], keys[i]))
			return 1;
		if (i < 3) {
			if (vmp_parse_double(val, &d[i]) < 0 || d[i] < 0 || d[i] > 100)
				return 1;
		} else if (vmp_parse_u64(val, &total) < 0) {
			return 1;
		}
	}
	f->v.avg10_pct = d[0];
	f->v.avg60_pct = d[1];
	f->v.avg300_pct = d[2];
	f->v.total_us = total;
	f->r = 0;
	return 1;
}

int
vmp_parse_psi(const char *buf, const char *kind, struct vmp_psi_line *ret)
{
	struct psi_find f = { kind, { 0, 0, 0, 0 }, -ENOENT };

	for_each_line(buf, psi_line, &f);
	if (f.r == 0)
		*ret = f.v;
	return f.r;
}

struct swaps_acc {
	unsigned count;
	uint64_t size_kib;
	size_t bad_line;
};

static int
swaps_line(char *line, size_t lineno, void *data)
{
	struct swaps_acc *a = data;
	char *f[6];
	uint64_t size;
	size_t n;

	n = split_fields(line, f, 6);
	if (lineno == 1) {
		if (n < 1 || strcmp(f[0], "Filename") != 0) {
			a->bad_line = 1;
			return 1;
		}
		return 0;
	}
	if (n == 0)
		return 0;
	if (n != 5 || vmp_parse_u64(f[2], &size) < 0) {
		a->bad_line = lineno;
		return 1;
	}
	a->count++;
	a->size_kib += size;
	return 0;
}

int
vmp_parse_swaps(const char *buf, unsigned *ret_count, uint64_t *ret_size_kib,
		size_t *ret_bad_line)
{
	struct swaps_acc a = { 0, 0, 0 };

	if (!*buf || for_each_line(buf, swaps_line, &a)) {
		if (ret_bad_line)
			*ret_bad_line = a.bad_line ? a.bad_line : 1;
		return -EINVAL;
	}
	*ret_count = a.count;
	*ret_size_kib = a.size_kib;
	return 0;
}
