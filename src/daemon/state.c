/* SPDX-License-Identifier: MIT */
/* The restart-proof state in SQLite: learned histories, budgets, migrations, history (see state.h). */
#include "daemon/state.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_MS (24ll * 3600 * 1000)
#define PRUNE_EVERY 100
#define VM_KEEP_MS (30 * DAY_MS)

/* The history tiers: one row per step per VM, kept for keep_ms. */
static const struct {
	int64_t step_ms, keep_ms;
} tiers[] = {
	{ 10 * 1000, DAY_MS },
	{ 5 * 60 * 1000, 30 * DAY_MS },
	{ 3600 * 1000, 365 * DAY_MS },
};

struct vmp_state {
	sqlite3 *db;
	char *path;
	unsigned saves;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS vm_state ("
	" host TEXT NOT NULL, vm TEXT NOT NULL, saved_ms INTEGER NOT NULL,"
	" state TEXT NOT NULL, PRIMARY KEY (host, vm));"
	"CREATE TABLE IF NOT EXISTS budget ("
	" host TEXT NOT NULL, kind INTEGER NOT NULL, spent_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS budget_host ON budget (host);"
	"CREATE TABLE IF NOT EXISTS migration ("
	" host TEXT NOT NULL, vm TEXT NOT NULL, dest_host TEXT NOT NULL,"
	" start_ms INTEGER NOT NULL, PRIMARY KEY (host, vm));"
	"CREATE TABLE IF NOT EXISTS sample ("
	" tier INTEGER NOT NULL, host TEXT NOT NULL, vm TEXT NOT NULL, t_ms INTEGER NOT NULL,"
	" n INTEGER NOT NULL, mem_used_kib REAL, mem_alloc_kib REAL, cpu_used REAL,"
	" cpu_alloc REAL, mem_used_max_kib REAL, cpu_used_max REAL,"
	" PRIMARY KEY (tier, host, vm, t_ms)) WITHOUT ROWID;";

static int
fail(struct vmp_state *s, char **ret_err, int r, const char *what)
{
	*ret_err = xasprintf("%s: %s: %s", s->path, what, s->db ? sqlite3_errmsg(s->db) : "");
	return r;
}

/* Checks that path is a regular file (creating it with mode 0640 when create). */
static int
check_file(const char *path, bool create, char **ret_err)
{
	struct stat st;
	int fd;

	fd = open(path, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC |
		  O_NONBLOCK, 0640);
	if (fd < 0) {
		int e = errno;

		*ret_err = xasprintf("cannot open state database '%s': %s", path,
				     e == ELOOP ? "is a symbolic link" : strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*ret_err = xasprintf("cannot open state database '%s': not a regular file", path);
		return -EINVAL;
	}
	if (create && (st.st_mode & 07777) != 0640 && fchmod(fd, 0640) < 0) {
		int e = errno;

		close(fd);
		*ret_err = xasprintf("cannot set the mode of '%s': %s", path, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

static int
open_common(const char *path, bool writer, struct vmp_state **ret, char **ret_err)
{
	struct vmp_state *s;
	sqlite3_stmt *st = NULL;
	int r, version;

	r = check_file(path, writer, ret_err);
	if (r < 0)
		return r;
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	if (sqlite3_open_v2(path, &s->db, (writer ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
			    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		r = fail(s, ret_err, -EIO, "cannot open");
		goto err;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		r = fail(s, ret_err, -EIO, "not a state database");
		goto err;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version > VMP_STATE_SCHEMA) {
		*ret_err = xasprintf("%s: schema version %d is newer than this vmpilot's (%d)", path,
				     version, VMP_STATE_SCHEMA);
		r = -EPROTO;
		goto err;
	}
	if (writer) {
		char *sql;

		if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL,
				 NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
			r = fail(s, ret_err, -EIO, "cannot create the schema");
			goto err;
		}
		sql = xasprintf("PRAGMA user_version = %d", VMP_STATE_SCHEMA);
		r = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		free(sql);
		if (r != SQLITE_OK) {
			r = fail(s, ret_err, -EIO, "cannot set the schema version");
			goto err;
		}
	} else if (version != VMP_STATE_SCHEMA) {
		*ret_err = xasprintf("%s: no schema yet (the daemon has not saved)", path);
		r = -ENOENT;
		goto err;
	}
	*ret = s;
	return 0;
err:
	vmp_state_close(s);
	return r;
}

int
vmp_state_open(const char *path, struct vmp_state **ret, char **ret_err)
{
	return open_common(path, true, ret, ret_err);
}

int
vmp_state_open_reader(const char *path, struct vmp_state **ret, char **ret_err)
{
	return open_common(path, false, ret, ret_err);
}

void
vmp_state_close(struct vmp_state *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* ---- the learned state of one VM as JSON ---- */

static json_t *
model_to_json(const struct vmp_usage_model *m, int64_t off)
{
	json_t *w = json_array();
	unsigned i;

	for (i = 0; i < m->hist.nbuckets; i++)
		if (m->hist.w[i] != 0)
			json_array_append_new(w, json_pack("[i,f]", (int)i, m->hist.w[i]));
	return json_pack("{s:f,s:f,s:f,s:I,s:i,s:I,s:b,s:f,s:o,s:I,s:I,s:f,s:b,s:I,s:I,s:I}",
			 "first_bucket", m->hist.p.first_bucket, "ratio", m->hist.p.ratio,
			 "max_value", m->hist.p.max_value,
			 "half_life_ms", (json_int_t)m->hist.p.half_life_ms,
			 "nbuckets", (int)m->hist.nbuckets,
			 "ref_ms", (json_int_t)(m->hist.ref_ms + off), "has_ref", m->hist.has_ref,
			 "total", m->hist.total, "w", w,
			 "peak_window_ms", (json_int_t)m->peak_window_ms,
			 "window_start_ms", (json_int_t)(m->window_start_ms + off),
			 "window_peak", m->window_peak, "in_window", m->in_window,
			 "first_ms", (json_int_t)(m->first_ms + off),
			 "last_ms", (json_int_t)(m->last_ms + off),
			 "samples", (json_int_t)m->samples);
}

json_t *
vmp_state_vm_to_json(const struct vmp_mem_state *mem, const struct vmp_cpu_state *cpu,
		     int64_t off)
{
	return json_pack("{s:i,s:{s:o,s:I,s:b,s:I,s:I,s:I,s:I,s:b},s:{s:o,s:I,s:b}}",
			 "version", 1,
			 "mem", "model", model_to_json(&mem->model, off),
			 "last_change_ms", (json_int_t)(mem->last_change_ms + off),
			 "changed", mem->changed,
			 "recent_peak_kib", (json_int_t)mem->recent_peak_kib,
			 "recent_peak_ms", (json_int_t)(mem->recent_peak_ms + off),
			 "demand_kib", (json_int_t)mem->demand_kib,
			 "floor_kib", (json_int_t)mem->floor_kib,
			 "pressure", mem->pressure,
			 "cpu", "model", model_to_json(&cpu->model, off),
			 "last_change_ms", (json_int_t)(cpu->last_change_ms + off),
			 "changed", cpu->changed);
}

/* Field readers: each sets *err (naming the field) on a wrong type or range. */
static double
get_num(const json_t *o, const char *where, const char *k, double min, double max, char **err)
{
	const json_t *v = json_object_get(o, k);
	double d;

	if (*err)
		return 0;
	if (!json_is_number(v)) {
		*err = xasprintf("%s.%s: missing or not a number", where, k);
		return 0;
	}
	d = json_number_value(v);
	if (!isfinite(d) || d < min || d > max) {
		*err = xasprintf("%s.%s: %g out of range", where, k, d);
		return 0;
	}
	return d;
}

static int64_t
get_int(const json_t *o, const char *where, const char *k, int64_t min, int64_t max, char **err)
{
	const json_t *v = json_object_get(o, k);
	json_int_t i;

	if (*err)
		return 0;
	if (!json_is_integer(v)) {
		*err = xasprintf("%s.%s: missing or not an integer", where, k);
		return 0;
	}
	i = json_integer_value(v);
	if (i < min || i > max) {
		*err = xasprintf("%s.%s: %lld out of range", where, k, (long long)i);
		return 0;
	}
	return (int64_t)i;
}

static bool
get_bool(const json_t *o, const char *where, const char *k, char **err)
{
	const json_t *v = json_object_get(o, k);

	if (*err)
		return false;
	if (!json_is_boolean(v)) {
		*err = xasprintf("%s.%s: missing or not a boolean", where, k);
		return false;
	}
	return json_is_true(v);
}

/* Times: within ±100 years of the epoch, so shifting them cannot overflow. */
#define T_MAX (100ll * 365 * DAY_MS)

static void
model_from_json(const json_t *o, const char *where, const struct vmp_usage_model *fresh,
		int64_t off, struct vmp_usage_model *m, char **err)
{
	const json_t *w, *pair;
	size_t i;

	if (*err)
		return;
	if (!json_is_object(o)) {
		*err = xasprintf("%s: missing or not an object", where);
		return;
	}
	*m = *fresh;   /* the params in force; the layout must match */
	if (get_num(o, where, "first_bucket", 0, INFINITY, err) != fresh->hist.p.first_bucket ||
	    get_num(o, where, "ratio", 0, INFINITY, err) != fresh->hist.p.ratio ||
	    get_num(o, where, "max_value", 0, INFINITY, err) != fresh->hist.p.max_value ||
	    get_int(o, where, "nbuckets", 0, VMP_HIST_BUCKETS_MAX, err) !=
		    (int64_t)fresh->hist.nbuckets ||
	    get_int(o, where, "peak_window_ms", 0, T_MAX, err) != fresh->peak_window_ms) {
		if (!*err)
			*err = xasprintf("%s: saved with another histogram layout or peak window "
					 "than the configuration's", where);
		return;
	}
	m->hist.ref_ms = get_int(o, where, "ref_ms", -T_MAX, T_MAX, err) - off;
	m->hist.has_ref = get_bool(o, where, "has_ref", err);
	m->hist.total = get_num(o, where, "total", 0, 1e300, err);
	m->window_start_ms = get_int(o, where, "window_start_ms", -T_MAX, T_MAX, err) - off;
	m->window_peak = get_num(o, where, "window_peak", 0, 1e300, err);
	m->in_window = get_bool(o, where, "in_window", err);
	m->first_ms = get_int(o, where, "first_ms", -T_MAX, T_MAX, err) - off;
	m->last_ms = get_int(o, where, "last_ms", -T_MAX, T_MAX, err) - off;
	m->samples = (uint64_t)get_int(o, where, "samples", 0, INT64_MAX, err);
	if (*err)
		return;
	w = json_object_get(o, "w");
	if (!json_is_array(w)) {
		*err = xasprintf("%s.w: missing or not an array", where);
		return;
	}
	memset(m->hist.w, 0, sizeof(m->hist.w));
	json_array_foreach(w, i, pair) {
		const json_t *b = json_array_get(pair, 0), *x = json_array_get(pair, 1);
		double v;

		if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_integer(b) ||
		    !json_is_number(x) || json_integer_value(b) < 0 ||
		    json_integer_value(b) >= (json_int_t)m->hist.nbuckets) {
			*err = xasprintf("%s.w[%zu]: not a [bucket, weight] pair in range", where, i);
			return;
		}
		v = json_number_value(x);
		if (!isfinite(v) || v < -1e300 || v > 1e300) {
			*err = xasprintf("%s.w[%zu]: weight %g out of range", where, i, v);
			return;
		}
		m->hist.w[json_integer_value(b)] = v;
	}
	if (m->last_ms < m->first_ms)
		*err = xasprintf("%s: last_ms before first_ms", where);
}

int
vmp_state_vm_from_json(const json_t *o, const struct vmp_mem_params *mp,
		       const struct vmp_cpu_params *cp, int64_t off, struct vmp_mem_state *mem,
		       struct vmp_cpu_state *cpu, char **ret_err)
{
	struct vmp_mem_state m;
	struct vmp_cpu_state c, fresh_c;
	struct vmp_mem_state fresh_m;
	const json_t *jm, *jc;
	char *err = NULL;

	if (!json_is_object(o)) {
		*ret_err = xstrdup("not an object");
		return -EINVAL;
	}
	if (get_int(o, "state", "version", 1, 1, &err) != 1 || err) {
		*ret_err = err;
		return -EINVAL;
	}
	if (vmp_mem_state_init(&fresh_m, mp) < 0 || vmp_cpu_state_init(&fresh_c, cp) < 0) {
		*ret_err = xstrdup("the configuration's histogram parameters are invalid");
		return -EINVAL;
	}
	jm = json_object_get(o, "mem");
	jc = json_object_get(o, "cpu");
	if (!json_is_object(jm) || !json_is_object(jc)) {
		*ret_err = xstrdup(!json_is_object(jm) ? "mem: missing or not an object"
						       : "cpu: missing or not an object");
		return -EINVAL;
	}
	m = fresh_m;
	model_from_json(json_object_get(jm, "model"), "mem.model", &fresh_m.model, off, &m.model,
			&err);
	m.last_change_ms = get_int(jm, "mem", "last_change_ms", -T_MAX, T_MAX, &err) - off;
	m.changed = get_bool(jm, "mem", "changed", &err);
	m.recent_peak_kib = (uint64_t)get_int(jm, "mem", "recent_peak_kib", 0, INT64_MAX, &err);
	m.recent_peak_ms = get_int(jm, "mem", "recent_peak_ms", -T_MAX, T_MAX, &err) - off;
	m.demand_kib = (uint64_t)get_int(jm, "mem", "demand_kib", 0, INT64_MAX, &err);
	m.floor_kib = (uint64_t)get_int(jm, "mem", "floor_kib", 0, INT64_MAX, &err);
	m.pressure = get_bool(jm, "mem", "pressure", &err);
	c = fresh_c;
	model_from_json(json_object_get(jc, "model"), "cpu.model", &fresh_c.model, off, &c.model,
			&err);
	c.last_change_ms = get_int(jc, "cpu", "last_change_ms", -T_MAX, T_MAX, &err) - off;
	c.changed = get_bool(jc, "cpu", "changed", &err);
	if (err) {
		*ret_err = err;
		return -EINVAL;
	}
	*mem = m;
	*cpu = c;
	return 0;
}

/* ---- save ---- */

struct save_ctx {
	struct vmp_state *s;
	struct vmp_loop *l;
	int64_t off, wall_ms;
	sqlite3_stmt *vm, *mig, *sample;
	int rc;                /* first SQLite error */
};

static int
step_done(sqlite3_stmt *st)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r == SQLITE_DONE ? SQLITE_OK : r;
}

static void
bind_opt(sqlite3_stmt *st, int i, bool have, double v)
{
	if (have)
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* One history sample into every tier (averaged into the tier's step; max kept). */
static int
put_sample(struct save_ctx *c, const char *host, const char *vm, bool have_used, double mem_used,
	   bool have_alloc, double mem_alloc, bool have_cpu, double cpu_used, bool have_cpu_alloc,
	   double cpu_alloc)
{
	size_t t;
	int r;

	for (t = 0; t < VMP_ARRAY_SIZE(tiers); t++) {
		sqlite3_bind_int(c->sample, 1, (int)t);
		sqlite3_bind_text(c->sample, 2, host, -1, SQLITE_STATIC);
		sqlite3_bind_text(c->sample, 3, vm, -1, SQLITE_STATIC);
		sqlite3_bind_int64(c->sample, 4, c->wall_ms - c->wall_ms % tiers[t].step_ms);
		bind_opt(c->sample, 5, have_used, mem_used);
		bind_opt(c->sample, 6, have_alloc, mem_alloc);
		bind_opt(c->sample, 7, have_cpu, cpu_used);
		bind_opt(c->sample, 8, have_cpu_alloc, cpu_alloc);
		r = step_done(c->sample);
		if (r != SQLITE_OK)
			return r;
	}
	return SQLITE_OK;
}

static void
save_vm(void *opaque, const struct vmp_loop_vm_view *v)
{
	struct save_ctx *c = opaque;
	const char *host = vmp_loop_host_uri(c->l, v->host);
	json_t *j;
	char *text;

	if (c->rc != SQLITE_OK)
		return;
	j = vmp_state_vm_to_json(v->mem, v->cpu, c->off);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	sqlite3_bind_text(c->vm, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(c->vm, 2, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(c->vm, 3, c->wall_ms);
	sqlite3_bind_text(c->vm, 4, text, -1, SQLITE_STATIC);
	c->rc = step_done(c->vm);
	free(text);
	if (c->rc == SQLITE_OK && v->migrating) {
		sqlite3_bind_text(c->mig, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_text(c->mig, 2, v->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(c->mig, 3, vmp_loop_host_uri(c->l, v->mig_dest), -1, SQLITE_STATIC);
		sqlite3_bind_int64(c->mig, 4, v->mig_start_ms + c->off);
		c->rc = step_done(c->mig);
	}
	if (c->rc == SQLITE_OK && v->sampled)
		c->rc = put_sample(c, host, v->name, v->mem_demand_kib > 0,
				   (double)v->mem_demand_kib, v->mem_alloc_kib > 0,
				   (double)v->mem_alloc_kib, v->have_cpu, v->cpu_cores, v->vcpus > 0,
				   (double)v->vcpus);
}

static const char sample_sql[] =
	"INSERT INTO sample (tier, host, vm, t_ms, n, mem_used_kib, mem_alloc_kib, cpu_used,"
	" cpu_alloc, mem_used_max_kib, cpu_used_max)"
	" VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?5, ?7)"
	" ON CONFLICT (tier, host, vm, t_ms) DO UPDATE SET n = n + 1,"
	" mem_used_kib = CASE WHEN excluded.mem_used_kib IS NULL THEN mem_used_kib"
	"  WHEN mem_used_kib IS NULL THEN excluded.mem_used_kib"
	"  ELSE (mem_used_kib * n + excluded.mem_used_kib) / (n + 1) END,"
	" mem_alloc_kib = CASE WHEN excluded.mem_alloc_kib IS NULL THEN mem_alloc_kib"
	"  WHEN mem_alloc_kib IS NULL THEN excluded.mem_alloc_kib"
	"  ELSE (mem_alloc_kib * n + excluded.mem_alloc_kib) / (n + 1) END,"
	" cpu_used = CASE WHEN excluded.cpu_used IS NULL THEN cpu_used"
	"  WHEN cpu_used IS NULL THEN excluded.cpu_used"
	"  ELSE (cpu_used * n + excluded.cpu_used) / (n + 1) END,"
	" cpu_alloc = CASE WHEN excluded.cpu_alloc IS NULL THEN cpu_alloc"
	"  WHEN cpu_alloc IS NULL THEN excluded.cpu_alloc"
	"  ELSE (cpu_alloc * n + excluded.cpu_alloc) / (n + 1) END,"
	" mem_used_max_kib = max(coalesce(mem_used_max_kib, excluded.mem_used_max_kib),"
	"  coalesce(excluded.mem_used_max_kib, mem_used_max_kib)),"
	" cpu_used_max = max(coalesce(cpu_used_max, excluded.cpu_used_max),"
	"  coalesce(excluded.cpu_used_max, cpu_used_max))";

static int
save_budget(struct save_ctx *c, size_t host)
{
	const char *uri = vmp_loop_host_uri(c->l, host);
	struct vmp_budget *b = vmp_loop_budget(c->l, host);
	sqlite3_stmt *del = NULL, *ins = NULL;
	unsigned k, i;
	int r;

	r = sqlite3_prepare_v2(c->s->db, "DELETE FROM budget WHERE host = ?1", -1, &del, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(c->s->db, "INSERT INTO budget (host, kind, spent_ms) "
				       "VALUES (?1, ?2, ?3)", -1, &ins, NULL);
	if (r == SQLITE_OK) {
		sqlite3_bind_text(del, 1, uri, -1, SQLITE_STATIC);
		r = step_done(del);
	}
	for (k = 0; r == SQLITE_OK && k < VMP_BUDGET_KIND_MAX; k++)
		for (i = 0; r == SQLITE_OK && i < b->count[k]; i++) {
			sqlite3_bind_text(ins, 1, uri, -1, SQLITE_STATIC);
			sqlite3_bind_int(ins, 2, (int)k);
			sqlite3_bind_int64(ins, 3,
					   b->spent_ms[k][(b->head[k] + i) % VMP_BUDGET_CAP] + c->off);
			r = step_done(ins);
		}
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	return r;
}

static int
save_host(struct save_ctx *c, size_t host)
{
	struct vmp_loop_host_view hv;
	const struct vmp_host_stats *st = &hv.stats;

	vmp_loop_host_view(c->l, host, &hv);
	if (!hv.ok)
		return SQLITE_OK;
	return put_sample(c, hv.uri, "", hv.have_stats && st->mem_total_kib,
			  (double)(st->mem_total_kib - (st->mem_available_kib < st->mem_total_kib ?
							st->mem_available_kib : st->mem_total_kib)),
			  hv.have_stats && st->mem_total_kib, (double)st->mem_total_kib, hv.cpu_capacity > 0, hv.cpu_used,
			  hv.cpu_capacity > 0, hv.cpu_capacity);
}

static int
prune(struct save_ctx *c)
{
	sqlite3_stmt *st = NULL;
	size_t t;
	int r;

	r = sqlite3_prepare_v2(c->s->db, "DELETE FROM sample WHERE tier = ?1 AND t_ms < ?2", -1,
			       &st, NULL);
	for (t = 0; r == SQLITE_OK && t < VMP_ARRAY_SIZE(tiers); t++) {
		sqlite3_bind_int(st, 1, (int)t);
		sqlite3_bind_int64(st, 2, c->wall_ms - tiers[t].keep_ms);
		r = step_done(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(c->s->db, "DELETE FROM vm_state WHERE saved_ms < ?1", -1,
				       &st, NULL);
	if (r == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, c->wall_ms - VM_KEEP_MS);
		r = step_done(st);
	}
	sqlite3_finalize(st);
	return r;
}

int
vmp_state_save(struct vmp_state *s, struct vmp_loop *l, int64_t now_ms, int64_t wall_ms,
	       char **ret_err)
{
	struct save_ctx c = { .s = s, .l = l, .off = wall_ms - now_ms, .wall_ms = wall_ms };
	size_t i;
	int r;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(s, ret_err, -EIO, "cannot begin a transaction");
	r = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO vm_state (host, vm, saved_ms, state) "
			       "VALUES (?1, ?2, ?3, ?4)", -1, &c.vm, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO migration (host, vm, dest_host,"
				       " start_ms) VALUES (?1, ?2, ?3, ?4)", -1, &c.mig, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(s->db, sample_sql, -1, &c.sample, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_exec(s->db, "DELETE FROM migration", NULL, NULL, NULL);
	c.rc = r;
	if (r == SQLITE_OK)
		vmp_loop_foreach_vm(l, save_vm, &c);
	r = c.rc;
	for (i = 0; r == SQLITE_OK && i < vmp_loop_hosts(l); i++) {
		r = save_budget(&c, i);
		if (r == SQLITE_OK)
			r = save_host(&c, i);
	}
	if (r == SQLITE_OK && ++s->saves % PRUNE_EVERY == 1)
		r = prune(&c);
	sqlite3_finalize(c.vm);
	sqlite3_finalize(c.mig);
	sqlite3_finalize(c.sample);
	if (r != SQLITE_OK) {
		r = fail(s, ret_err, -EIO, "cannot save the state");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = fail(s, ret_err, -EIO, "cannot commit the state");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return 0;
}

/* ---- restore ---- */

static long
host_index(struct vmp_loop *l, const char *uri)
{
	size_t i;

	for (i = 0; uri && i < vmp_loop_hosts(l); i++)
		if (!strcmp(vmp_loop_host_uri(l, i), uri))
			return (long)i;
	return -1;
}

int
vmp_state_restore(struct vmp_state *s, struct vmp_loop *l, int64_t now_ms, int64_t wall_ms,
		  char **ret_err)
{
	int64_t off = wall_ms - now_ms;
	struct vmp_mem_params mp;
	struct vmp_cpu_params cp;
	sqlite3_stmt *st = NULL, *mig = NULL;
	int r, n = 0;

	vmp_loop_params(l, &mp, &cp);
	r = sqlite3_prepare_v2(s->db, "SELECT host, vm, state FROM vm_state", -1, &st, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(s->db, "SELECT dest_host, start_ms FROM migration "
				       "WHERE host = ?1 AND vm = ?2", -1, &mig, NULL);
	if (r != SQLITE_OK) {
		r = fail(s, ret_err, -EIO, "cannot read the state");
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *uri = (const char *)sqlite3_column_text(st, 0);
		const char *vm = (const char *)sqlite3_column_text(st, 1);
		const char *text = (const char *)sqlite3_column_text(st, 2);
		long h = host_index(l, uri), dest = -1;
		struct vmp_mem_state mem;
		struct vmp_cpu_state cpu;
		int64_t mig_start = 0;
		char *err = NULL;
		json_t *j;

		if (h < 0 || !vm || !text)
			continue;   /* a host no longer watched: kept until it ages out */
		j = json_loads(text, 0, NULL);
		if (vmp_state_vm_from_json(j, &mp, &cp, off, &mem, &cpu, &err) < 0) {
			/* Unusable (another layout, corrupt): this VM starts afresh. */
			json_decref(j);
			free(err);
			continue;
		}
		json_decref(j);
		sqlite3_bind_text(mig, 1, uri, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(mig, 2, vm, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(mig) == SQLITE_ROW) {
			dest = host_index(l, (const char *)sqlite3_column_text(mig, 0));
			mig_start = sqlite3_column_int64(mig, 1) - off;
		}
		sqlite3_reset(mig);
		if (vmp_loop_vm_restore(l, (size_t)h, vm, &mem, &cpu, dest, mig_start) == 0)
			n++;
	}
	if (r != SQLITE_DONE) {
		r = fail(s, ret_err, -EIO, "cannot read the state");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sqlite3_prepare_v2(s->db, "SELECT host, kind, spent_ms FROM budget ORDER BY spent_ms",
			       -1, &st, NULL);
	if (r != SQLITE_OK) {
		r = fail(s, ret_err, -EIO, "cannot read the budgets");
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		long h = host_index(l, (const char *)sqlite3_column_text(st, 0));
		int k = sqlite3_column_int(st, 1);
		int64_t t = sqlite3_column_int64(st, 2) - off;
		struct vmp_budget *b;

		if (h < 0 || k < 0 || k >= VMP_BUDGET_KIND_MAX)
			continue;
		b = vmp_loop_budget(l, (size_t)h);
		/* Only what still counts in the sliding hour, oldest first. */
		if (t <= now_ms - b->window_ms || t > now_ms || b->count[k] >= VMP_BUDGET_CAP)
			continue;
		b->spent_ms[k][(b->head[k] + b->count[k]) % VMP_BUDGET_CAP] = t;
		b->count[k]++;
	}
	if (r != SQLITE_DONE) {
		r = fail(s, ret_err, -EIO, "cannot read the budgets");
		goto out;
	}
	r = n;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(mig);
	return r;
}

/* ---- history ---- */

int
vmp_state_history(struct vmp_state *s, const char *host, const char *vm, int64_t from_ms,
		  int64_t to_ms, json_t **ret, char **ret_err)
{
	sqlite3_stmt *st = NULL;
	json_t *points, *o;
	size_t t, tier = VMP_ARRAY_SIZE(tiers) - 1;
	int64_t newest = 0;
	int r;

	/* The finest tier whose retention reaches back to from_ms (from its newest row). */
	r = sqlite3_prepare_v2(s->db, "SELECT max(t_ms) FROM sample WHERE tier = 0", -1, &st, NULL);
	if (r == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		newest = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	for (t = 0; t < VMP_ARRAY_SIZE(tiers); t++)
		if (from_ms >= newest - tiers[t].keep_ms) {
			tier = t;
			break;
		}
	r = sqlite3_prepare_v2(s->db, "SELECT t_ms, n, mem_used_kib, mem_alloc_kib, cpu_used,"
			       " cpu_alloc, mem_used_max_kib, cpu_used_max FROM sample"
			       " WHERE tier = ?1 AND host = ?2 AND vm = ?3 AND t_ms >= ?4"
			       " AND t_ms <= ?5 ORDER BY t_ms", -1, &st, NULL);
	if (r != SQLITE_OK)
		return fail(s, ret_err, -EIO, "cannot read the history");
	sqlite3_bind_int(st, 1, (int)tier);
	sqlite3_bind_text(st, 2, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, vm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, from_ms - from_ms % tiers[tier].step_ms);
	sqlite3_bind_int64(st, 5, to_ms);
	points = json_array();
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *p = json_array();
		int c;

		json_array_append_new(p, json_integer(sqlite3_column_int64(st, 0)));
		json_array_append_new(p, json_integer(sqlite3_column_int64(st, 1)));
		for (c = 2; c < 8; c++)
			json_array_append_new(p, sqlite3_column_type(st, c) == SQLITE_NULL ?
					      json_null() :
					      json_real(sqlite3_column_double(st, c)));
		json_array_append_new(points, p);
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		json_decref(points);
		return fail(s, ret_err, -EIO, "cannot read the history");
	}
	o = json_pack("{s:s,s:s,s:I,s:[s,s,s,s,s,s,s,s],s:o}", "host", host, "vm", vm,
		      "step_ms", (json_int_t)tiers[tier].step_ms, "columns", "t_ms", "n",
		      "mem_used_kib", "mem_alloc_kib", "cpu_used", "cpu_alloc", "mem_used_max_kib",
		      "cpu_used_max", "points", points);
	*ret = o;
	return 0;
}
