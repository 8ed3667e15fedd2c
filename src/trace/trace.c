/* SPDX-License-Identifier: MIT */
/* PlanetLab and per-VM CSV trace readers. See trace.h for the formats. */
#include "trace/trace.h"
#include "util/fileio.h"
#include "util/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TRACE_STEP_S 300

void
vmp_trace_free(struct vmp_trace *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->names && i < t->nvms; i++)
		free(t->names[i]);
	free(t->names);
	free(t->cpu_usage_pct);
	free(t->cpu_usage_mhz);
	free(t->cpu_provisioned_mhz);
	free(t->mem_usage_kib);
	free(t->mem_provisioned_kib);
	free(t->cpu_cores);
	free(t);
}

void
vmp_trace_csv_free(struct vmp_trace_csv *c)
{
	if (!c)
		return;
	free(c->timestamp_s);
	free(c->cpu_usage_pct);
	free(c->cpu_usage_mhz);
	free(c->cpu_provisioned_mhz);
	free(c->mem_usage_kib);
	free(c->mem_provisioned_kib);
	free(c->cpu_cores);
	free(c->disk_read_kbs);
	free(c->disk_write_kbs);
	free(c);
}

/* A line cursor over a buffer that need not be NUL-terminated. */
struct line_iter {
	const char *p, *end;
	size_t lineno;
};

/* Returns true and the next line (without its newline or CR) in *ret_s and *ret_n. */
static bool
next_line(struct line_iter *it, const char **ret_s, size_t *ret_n)
{
	const char *nl;
	size_t n;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	n = nl ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
	*ret_s = it->p;
	*ret_n = n > 0 && it->p[n - 1] == '\r' ? n - 1 : n;
	it->p = nl ? nl + 1 : it->end;
	it->lineno++;
	return true;
}

/* Copies s[0..n) into a new NUL-terminated, blank-stripped string. */
static char *
strip_copy(const char *s, size_t n)
{
	char *c = xstrndup(s, n);

	return vmp_strstrip(c);
}

/* true if s[0..n) holds only blanks (s need not be NUL-terminated). */
static bool
is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* A printable, bounded rendering of a bad token for messages. */
static char *
quote_token(const char *s)
{
	size_t i, n = strlen(s);
	char *q = xstrndup(s, n > 32 ? 32 : n);

	for (i = 0; q[i]; i++)
		if (!isprint((unsigned char)q[i]))
			q[i] = '?';
	if (n > 32) {
		char *r = xasprintf("%s...", q);

		free(q);
		return r;
	}
	return q;
}

int
vmp_trace_parse_planetlab(const char *name, const char *buf, size_t len,
			  float **ret_pct, char **ret_err)
{
	struct line_iter it = { buf, buf + len, 0 };
	float *pct = NULL;
	size_t n = 0, alloc = 0, blank_line = 0;
	const char *s;
	size_t sn;

	while (next_line(&it, &s, &sn)) {
		char tok[32];
		int64_t v;

		/* strip blanks without allocating: this runs for every sample of every VM */
		while (sn > 0 && isspace((unsigned char)*s)) {
			s++;
			sn--;
		}
		while (sn > 0 && isspace((unsigned char)s[sn - 1]))
			sn--;
		if (sn == 0) {
			if (!blank_line)
				blank_line = it.lineno;
			continue;
		}
		if (blank_line) {
			*ret_err = xasprintf("%s:%zu: empty line inside the samples", name,
					     blank_line);
			free(pct);
			return -EINVAL;
		}
		memcpy(tok, s, sn < sizeof(tok) - 1 ? sn : sizeof(tok) - 1);
		tok[sn < sizeof(tok) - 1 ? sn : sizeof(tok) - 1] = '\0';
		if (sn >= sizeof(tok) || memchr(s, '\0', sn) || vmp_parse_i64(tok, &v) < 0 ||
		    v < 0 || v > 100) {
			char *raw = xstrndup(s, sn), *q = quote_token(raw);

			*ret_err = xasprintf("%s:%zu: '%s' is not an integer percentage 0..100",
					     name, it.lineno, q);
			free(q);
			free(raw);
			free(pct);
			return -EINVAL;
		}
		if (n >= VMP_TRACE_MAX_STEPS) {
			*ret_err = xasprintf("%s:%zu: more than %u samples", name, it.lineno,
					     VMP_TRACE_MAX_STEPS);
			free(pct);
			return -EFBIG;
		}
		xgrow((void **)&pct, &alloc, n + 1, sizeof(*pct));
		pct[n++] = (float)v;
	}
	if (n == 0) {
		*ret_err = xasprintf("%s:1: no samples", name);
		free(pct);
		return -EINVAL;
	}
	*ret_pct = pct;
	return (int)n;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Lists the regular files of dir (not starting with '.', ending in suffix if given),
 * sorted by strcmp. Returns the count and *ret_names, or a negative errno.
 */
static void free_names(char **names, size_t n);

static int
list_dir(const char *dir, const char *suffix, char ***ret_names, char **ret_err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0;

	if (!d) {
		int r = -errno;

		*ret_err = xasprintf("cannot open trace directory '%s': %s", dir, strerror(errno));
		return r;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char *path;
		size_t nl = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;

		if (de->d_name[0] == '.')
			continue;
		if (suffix && (nl <= sl || strcmp(de->d_name + nl - sl, suffix) != 0))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || S_ISDIR(st.st_mode)) {
			free(path);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			/* A FIFO or device where a trace file belongs: said, not waited on. */
			*ret_err = xasprintf("cannot read trace file '%s': not a regular file", path);
			free(path);
			free_names(names, n);
			closedir(d);
			return -VMP_ENOTREG;
		}
		free(path);
		if (n >= VMP_TRACE_MAX_VMS)
			break;
		xgrow((void **)&names, &alloc, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n == 0) {
		*ret_err = xasprintf("trace directory '%s' holds no %s files", dir,
				     suffix ? suffix : "trace");
		free(names);
		return -ENOENT;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	*ret_names = names;
	return (int)n;
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static int
read_one(const char *dir, const char *name, char **ret_path, char **ret_buf, size_t *ret_len,
	 char **ret_err)
{
	char *path = xasprintf("%s/%s", dir, name);
	int r = vmp_read_file(NULL, path, ret_buf, ret_len);

	if (r < 0) {
		*ret_err = xasprintf("cannot read trace file '%s': %s", path, vmp_file_strerror(r));
		free(path);
		return r;
	}
	*ret_path = path;
	return 0;
}

int
vmp_trace_read_planetlab(const char *dir, struct vmp_trace **ret_trace, char **ret_err)
{
	struct vmp_trace *t = NULL;
	char **names = NULL;
	int n, r = 0;
	size_t i;

	n = list_dir(dir, NULL, &names, ret_err);
	if (n < 0)
		return n;
	t = xcalloc(1, sizeof(*t));
	t->nvms = (size_t)n;
	t->names = names;
	t->step_s = TRACE_STEP_S;
	for (i = 0; i < t->nvms; i++) {
		char *path = NULL, *buf = NULL;
		float *pct = NULL;
		size_t len;
		int m;

		r = read_one(dir, names[i], &path, &buf, &len, ret_err);
		if (r < 0)
			goto out;
		m = vmp_trace_parse_planetlab(path, buf, len, &pct, ret_err);
		free(buf);
		if (m < 0) {
			free(path);
			r = m;
			goto out;
		}
		if (i == 0) {
			t->nsteps = (size_t)m;
			if ((size_t)n > SIZE_MAX / sizeof(float) / t->nsteps) {
				*ret_err = xasprintf("trace directory '%s' is too large", dir);
				free(pct);
				free(path);
				r = -EFBIG;
				goto out;
			}
			t->cpu_usage_pct = xmalloc(t->nvms * t->nsteps * sizeof(float));
		} else if ((size_t)m != t->nsteps) {
			*ret_err = xasprintf("%s:%d: has %d samples, but '%s' has %zu", path, m,
					     m, names[0], t->nsteps);
			free(pct);
			free(path);
			r = -EINVAL;
			goto out;
		}
		memcpy(t->cpu_usage_pct + vmp_trace_at(t, i, 0), pct, t->nsteps * sizeof(float));
		free(pct);
		free(path);
	}
	*ret_trace = t;
	t = NULL;
out:
	vmp_trace_free(t);
	return r;
}

/* CSV columns we understand; the order matches the fields of struct vmp_trace_csv. */
enum csv_col {
	COL_TS,
	COL_PCT,
	COL_MHZ,
	COL_PROV_MHZ,
	COL_MEM,
	COL_PROV_MEM,
	COL_CORES,
	COL_DISK_RD,
	COL_DISK_WR,
	COL_MAX,
};

/* Accepted header names per column (lower case, unit suffix "[...]" removed). */
static const char *const col_names[COL_MAX][3] = {
	[COL_TS] = { "timestamp", "time", NULL },
	[COL_PCT] = { "cpu usage", "cpu_pct", "cpu_usage_pct" },
	[COL_MHZ] = { "cpu usage mhz", "cpu_usage_mhz", NULL },
	[COL_PROV_MHZ] = { "cpu capacity provisioned", "cpu_provisioned_mhz", NULL },
	[COL_MEM] = { "memory usage", "mem_usage_kib", NULL },
	[COL_PROV_MEM] = { "memory capacity provisioned", "mem_provisioned_kib", NULL },
	[COL_CORES] = { "cpu cores", "cpu_cores", NULL },
	[COL_DISK_RD] = { "disk read throughput", "disk_read_kbs", NULL },
	[COL_DISK_WR] = { "disk write throughput", "disk_write_kbs", NULL },
};

/*
 * Normalises a header cell: lower case, blanks stripped; "CPU usage [MHZ]" becomes
 * "cpu usage mhz" (the MHz and % variants of "CPU usage" differ only by unit), other
 * "[unit]" suffixes are dropped.
 */
static char *
norm_header(const char *s, size_t n)
{
	char *h = strip_copy(s, n), *br;
	size_t i;

	for (i = 0; h[i]; i++)
		h[i] = (char)tolower((unsigned char)h[i]);
	br = strchr(h, '[');
	if (br) {
		bool mhz = strncmp(br, "[mhz]", 5) == 0 && strncmp(h, "cpu usage", 9) == 0;

		*br = '\0';
		vmp_strstrip(h);
		if (mhz) {
			char *m = xasprintf("%s mhz", h);

			free(h);
			h = m;
		}
	}
	return h;
}

/* Splits a line at sep into at most max cells; returns the count (more cells: max+1). */
static size_t
split(const char *s, size_t n, char sep, const char **cells, size_t *lens, size_t max)
{
	size_t k = 0, start = 0, i;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == sep) {
			if (k < max) {
				cells[k] = s + start;
				lens[k] = i - start;
			}
			k++;
			start = i + 1;
		}
	}
	return k > max ? max + 1 : k;
}

#define CSV_MAX_COLS 64

int
vmp_trace_parse_csv(const char *name, const char *buf, size_t len,
		    struct vmp_trace_csv **ret_csv, char **ret_err)
{
	struct line_iter it = { buf, buf + len, 0 };
	const char *cells[CSV_MAX_COLS];
	size_t lens[CSV_MAX_COLS];
	int colidx[COL_MAX];
	struct vmp_trace_csv *c = NULL;
	double *vals[COL_MAX] = { NULL };
	size_t ncols, alloc = 0, i, j;
	const char *s;
	size_t sn;
	char sep;
	int r = -EINVAL;

	if (!next_line(&it, &s, &sn) || sn == 0) {
		*ret_err = xasprintf("%s:1: missing header line", name);
		return -EINVAL;
	}
	sep = memchr(s, ';', sn) ? ';' : ',';
	ncols = split(s, sn, sep, cells, lens, CSV_MAX_COLS);
	if (ncols > CSV_MAX_COLS) {
		*ret_err = xasprintf("%s:1: more than %d columns", name, CSV_MAX_COLS);
		return -EINVAL;
	}
	for (j = 0; j < COL_MAX; j++)
		colidx[j] = -1;
	for (i = 0; i < ncols; i++) {
		char *h = norm_header(cells[i], lens[i]);

		for (j = 0; j < COL_MAX; j++) {
			size_t a;

			for (a = 0; a < 3 && col_names[j][a]; a++)
				if (strcmp(h, col_names[j][a]) == 0 && colidx[j] < 0)
					colidx[j] = (int)i;
		}
		free(h);
	}
	if (colidx[COL_TS] < 0) {
		*ret_err = xasprintf("%s:1: no timestamp column in the header", name);
		return -EINVAL;
	}
	if (colidx[COL_PCT] < 0 && (colidx[COL_MHZ] < 0 || colidx[COL_PROV_MHZ] < 0)) {
		*ret_err = xasprintf("%s:1: no CPU usage column (a percentage, or usage and "
				     "provisioned MHz) in the header", name);
		return -EINVAL;
	}
	c = xcalloc(1, sizeof(*c));
	while (next_line(&it, &s, &sn)) {
		size_t k;

		if (is_blank(s, sn))
			continue;
		k = split(s, sn, sep, cells, lens, CSV_MAX_COLS);
		if (c->nrows >= VMP_TRACE_MAX_STEPS) {
			*ret_err = xasprintf("%s:%zu: more than %u rows", name, it.lineno,
					     VMP_TRACE_MAX_STEPS);
			r = -EFBIG;
			goto out;
		}
		if (c->nrows + 1 > alloc) {
			size_t a = alloc;

			xgrow((void **)&c->timestamp_s, &a, c->nrows + 1, sizeof(int64_t));
			for (j = 1; j < COL_MAX; j++) {
				size_t a2 = alloc;

				xgrow((void **)&vals[j], &a2, c->nrows + 1, sizeof(double));
			}
			alloc = a;
		}
		for (j = 0; j < COL_MAX; j++) {
			char *tok;
			double d;
			int64_t ts;

			if (colidx[j] < 0)
				continue;
			if ((size_t)colidx[j] >= k) {
				*ret_err = xasprintf("%s:%zu: %zu fields, the header has %zu", name,
						     it.lineno, k, ncols);
				goto out;
			}
			tok = strip_copy(cells[colidx[j]], lens[colidx[j]]);
			if (j == COL_TS) {
				if (vmp_parse_i64(tok, &ts) < 0) {
					if (vmp_parse_double(tok, &d) < 0 || d < -9e15 || d > 9e15) {
						char *q = quote_token(tok);

						*ret_err = xasprintf("%s:%zu: timestamp '%s' is not a "
								     "number", name, it.lineno, q);
						free(q);
						free(tok);
						goto out;
					}
					ts = (int64_t)llround(d);
				}
				if (ts < -((int64_t)1 << 52) || ts > ((int64_t)1 << 52)) {
					*ret_err = xasprintf("%s:%zu: timestamp out of range", name,
							     it.lineno);
					free(tok);
					goto out;
				}
				c->timestamp_s[c->nrows] = ts;
			} else if (!*tok) {
				vals[j][c->nrows] = NAN;
			} else if (vmp_parse_double(tok, &d) < 0 || d < 0 || d > 1e15) {
				char *q = quote_token(tok);

				*ret_err = xasprintf("%s:%zu: '%s' is not a number in 0..1e15 "
						     "(column %d)", name, it.lineno, q,
						     colidx[j] + 1);
				free(q);
				free(tok);
				goto out;
			} else {
				vals[j][c->nrows] = d;
			}
			free(tok);
		}
		c->nrows++;
	}
	if (c->nrows == 0) {
		*ret_err = xasprintf("%s:%zu: no data rows", name, it.lineno);
		goto out;
	}
	for (j = 1; j < COL_MAX; j++) {
		if (colidx[j] < 0) {
			free(vals[j]);
			vals[j] = NULL;
		}
	}
	c->cpu_usage_pct = vals[COL_PCT];
	c->cpu_usage_mhz = vals[COL_MHZ];
	c->cpu_provisioned_mhz = vals[COL_PROV_MHZ];
	c->mem_usage_kib = vals[COL_MEM];
	c->mem_provisioned_kib = vals[COL_PROV_MEM];
	c->cpu_cores = vals[COL_CORES];
	c->disk_read_kbs = vals[COL_DISK_RD];
	c->disk_write_kbs = vals[COL_DISK_WR];
	*ret_csv = c;
	return 0;
out:
	for (j = 1; j < COL_MAX; j++)
		free(vals[j]);
	vmp_trace_csv_free(c);
	return r;
}

/* Places one VM's rows on its grid (step 0 at start_s, its first row): carry forward. */
static void
grid_fill(const struct vmp_trace_csv *c, const double *src, int64_t start_s, size_t nsteps,
	  double *dst)
{
	size_t i, k;
	bool *set = xcalloc(nsteps, sizeof(*set));
	double first = NAN, last;

	for (i = 0; i < c->nrows; i++) {
		size_t step = (size_t)llround((double)(c->timestamp_s[i] - start_s) / TRACE_STEP_S);
		double v = src ? src[i] : 0.0;

		if (isnan(v) || step >= nsteps)
			continue;
		dst[step] = v;
		set[step] = true;
	}
	for (k = 0; k < nsteps; k++)
		if (set[k]) {
			first = dst[k];
			break;
		}
	last = isnan(first) ? 0.0 : first;
	for (k = 0; k < nsteps; k++) {
		if (set[k])
			last = dst[k];
		else
			dst[k] = last;
	}
	free(set);
}

bool
vmp_trace_dir_has_csv(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool csv = false;

	if (!d)
		return false;
	while (!csv && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		csv = n > 4 && strcmp(de->d_name + n - 4, ".csv") == 0;
	}
	closedir(d);
	return csv;
}

int
vmp_trace_read_csv_dir(const char *dir, struct vmp_trace **ret_trace, char **ret_err)
{
	struct vmp_trace_csv **csv = NULL;
	struct vmp_trace *t = NULL;
	char **names = NULL;
	int64_t start = INT64_MAX, span = INT64_MAX, *first = NULL;
	size_t shortest = 0;
	double *tmp = NULL;
	size_t i, k;
	int n, r = 0;

	n = list_dir(dir, ".csv", &names, ret_err);
	if (n < 0)
		return n;
	csv = xcalloc((size_t)n, sizeof(*csv));
	first = xcalloc((size_t)n + 1, sizeof(*first));
	for (i = 0; i < (size_t)n; i++) {
		char *path = NULL, *buf = NULL;
		size_t len;

		r = read_one(dir, names[i], &path, &buf, &len, ret_err);
		if (r < 0)
			goto out;
		r = vmp_trace_parse_csv(path, buf, len, &csv[i], ret_err);
		free(buf);
		free(path);
		if (r < 0)
			goto out;
		/* Each VM on its own grid: step 0 at its first row (rows may come unordered). */
		{
			int64_t lo = INT64_MAX, hi = INT64_MIN;

			for (k = 0; k < csv[i]->nrows; k++) {
				if (csv[i]->timestamp_s[k] < lo)
					lo = csv[i]->timestamp_s[k];
				if (csv[i]->timestamp_s[k] > hi)
					hi = csv[i]->timestamp_s[k];
			}
			first[i] = lo;
			if (lo < start)
				start = lo;
			if (hi - lo < span) {
				span = hi - lo;
				shortest = i;
			}
		}
	}
	if ((double)span / TRACE_STEP_S >= VMP_TRACE_MAX_STEPS) {
		*ret_err = xasprintf("trace directory '%s': timestamps span more than %u steps",
				     dir, VMP_TRACE_MAX_STEPS);
		r = -EFBIG;
		goto out;
	}
	t = xcalloc(1, sizeof(*t));
	t->nvms = (size_t)n;
	t->nsteps = (size_t)llround((double)span / TRACE_STEP_S) + 1;
	t->step_s = TRACE_STEP_S;
	t->start_s = start;
	t->shortest_vm = shortest;
	if (t->nvms > SIZE_MAX / sizeof(double) / t->nsteps) {
		*ret_err = xasprintf("trace directory '%s' is too large", dir);
		r = -EFBIG;
		goto out;
	}
	for (i = 0; i < t->nvms; i++) {
		if (csv[i]->cpu_usage_mhz && csv[i]->cpu_provisioned_mhz)
			t->fields |= VMP_TRACE_CPU_MHZ;
		if (csv[i]->mem_usage_kib || csv[i]->mem_provisioned_kib)
			t->fields |= VMP_TRACE_MEM;
		if (csv[i]->cpu_cores)
			t->fields |= VMP_TRACE_CPU_CORES;
	}
	t->cpu_usage_pct = xmalloc(t->nvms * t->nsteps * sizeof(float));
	if (t->fields & VMP_TRACE_CPU_MHZ) {
		t->cpu_usage_mhz = xmalloc(t->nvms * t->nsteps * sizeof(double));
		t->cpu_provisioned_mhz = xmalloc(t->nvms * t->nsteps * sizeof(double));
	}
	if (t->fields & VMP_TRACE_MEM) {
		t->mem_usage_kib = xmalloc(t->nvms * t->nsteps * sizeof(double));
		t->mem_provisioned_kib = xmalloc(t->nvms * t->nsteps * sizeof(double));
	}
	if (t->fields & VMP_TRACE_CPU_CORES)
		t->cpu_cores = xmalloc(t->nvms * t->nsteps * sizeof(double));
	tmp = xmalloc(t->nsteps * sizeof(double));
	for (i = 0; i < t->nvms; i++) {
		const struct vmp_trace_csv *c = csv[i];
		size_t at = vmp_trace_at(t, i, 0);

		if (c->cpu_usage_pct) {
			grid_fill(c, c->cpu_usage_pct, first[i], t->nsteps, tmp);
		} else {
			double *u = xmalloc(t->nsteps * sizeof(double));

			grid_fill(c, c->cpu_usage_mhz, first[i], t->nsteps, tmp);
			grid_fill(c, c->cpu_provisioned_mhz, first[i], t->nsteps, u);
			for (k = 0; k < t->nsteps; k++)
				tmp[k] = u[k] > 0 ? tmp[k] / u[k] * 100.0 : 0.0;
			free(u);
		}
		for (k = 0; k < t->nsteps; k++)
			t->cpu_usage_pct[at + k] = (float)tmp[k];
		if (t->cpu_usage_mhz) {
			grid_fill(c, c->cpu_usage_mhz, first[i], t->nsteps, t->cpu_usage_mhz + at);
			grid_fill(c, c->cpu_provisioned_mhz, first[i], t->nsteps,
				  t->cpu_provisioned_mhz + at);
		}
		if (t->mem_usage_kib) {
			grid_fill(c, c->mem_usage_kib, first[i], t->nsteps, t->mem_usage_kib + at);
			grid_fill(c, c->mem_provisioned_kib, first[i], t->nsteps,
				  t->mem_provisioned_kib + at);
		}
		if (t->cpu_cores)
			grid_fill(c, c->cpu_cores, first[i], t->nsteps, t->cpu_cores + at);
		for (k = 0; k < c->nrows; k++)
			if (llround((double)(c->timestamp_s[k] - first[i]) / TRACE_STEP_S) >=
			    (long long)t->nsteps)
				t->rows_dropped++;
	}
	t->names = names;
	names = NULL;
	*ret_trace = t;
	t = NULL;
out:
	free(tmp);
	free(first);
	for (i = 0; csv && i < (size_t)n; i++)
		vmp_trace_csv_free(csv[i]);
	free(csv);
	free_names(names, (size_t)n);
	vmp_trace_free(t);
	return r;
}
