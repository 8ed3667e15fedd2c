/* SPDX-License-Identifier: MIT */
/*
 * Tests of the decision journal (src/daemon/journal.c): a real policy decision written
 * as a JSON line, read back by VM, explained; bad lines named by file and line.
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
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rightsize.h"
#include "daemon/journal.h"
#include "util/fileio.h"
#include "util/util.h"

#define GIB (1024ull * 1024)

/* The warnings of a query. */
struct warnings {
	size_t n;
	char last[512];
};

static void
on_warn(void *opaque, const char *msg)
{
	struct warnings *w = opaque;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static int
query(const char *path, const char *vm, size_t max, bool all, struct warnings *w,
      json_t **ret)
{
	struct vmp_journal_query q = { .vm = vm, .max = max, .all = all, .rotated = true,
				       .warn = w ? on_warn : NULL, .opaque = w };
	char *err = NULL;
	int r = vmp_journal_query(path, &q, ret, &err);

	free(err);
	return r;
}

static int
read_all(const char *path, const char *vm, size_t max, json_t **ret)
{
	return query(path, vm, max, true, NULL, ret);
}

/* A real decision: no shrink without fresh stats. */
static void
floor_decision(struct vmp_decision *d)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_vm_limits lim = { 0 };
	struct vmp_mem_input in = {
		.have_stats = false, .actual_kib = 2 * GIB, .have_available = true,
		.available_kib = 1 * GIB, .unused_kib = 1 * GIB, .psi_some_avg10 = -1,
	};

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	assert_int_equal(vmp_rightsize_memory(&p, &lim, &s, &in, (uint64_t)(1.1 * GIB), 0, d), 0);
}

static void
test_write_read_explain(void **state)
{
	char path[] = "/tmp/vmp-journal-XXXXXX";
	struct vmp_decision d, g;
	struct vmp_journal_record r = { .time_ms = 1764140000000ll, .vm = "web1",
					.policy = "memory", .decision = &d, .acted = false };
	json_t *entries = NULL, *e;
	char *err = NULL, *out = NULL;
	size_t len = 0;
	FILE *f, *mem;
	int fd;

	floor_decision(&d);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(d.reason, VMP_WHY_STATS_MISSING);
	vmp_decision_init(&g, "vcpus", 1);
	vmp_decision_set(&g, VMP_ACT_GROW, VMP_WHY_SATURATED, 2);
	vmp_decision_check(&g, "usage_per_vcpu", 0.97, 0.9, true);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(vmp_journal_append(f, &r), 0);
	r.vm = "db1";
	r.policy = "vcpus";
	r.decision = &g;
	r.acted = true;
	assert_int_equal(vmp_journal_append(f, &r), 0);
	r.vm = "web1";
	r.policy = "memory";
	r.decision = &d;
	r.time_ms += 60000;
	r.dry_run = true;
	r.acted = false;
	assert_int_equal(vmp_journal_append(f, &r), 0);
	fclose(f);

	/* Filtered by VM, oldest first; max keeps the last ones. */
	assert_int_equal(read_all(path, "web1", 0, &entries), 0);
	assert_int_equal(json_array_size(entries), 2);
	e = json_array_get(entries, 0);
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "stats_missing");
	assert_string_equal(json_string_value(json_object_get(e, "resource")), "memory_kib");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(e, "rejected"), 0), "why")), "stats missing or stale");
	json_decref(entries);
	assert_int_equal(read_all(path, NULL, 1, &entries), 0);
	assert_int_equal(json_array_size(entries), 1);
	e = json_array_get(entries, 0);
	assert_true(json_is_true(json_object_get(e, "dry_run")));

	/* The explanation names the action, the reason, the checks and the rejections. */
	mem = open_memstream(&out, &len);
	vmp_journal_explain(e, mem);
	fclose(mem);
	assert_non_null(strstr(out, "web1 memory: none at 1.10 GiB (stats_missing) [dry run]"));
	assert_non_null(strstr(out, "crossed stats_age_ms: -1 vs 9e+05"));
	assert_non_null(strstr(out, "rejected shrink (0): stats missing or stale"));
	free(out);
	json_decref(entries);

	assert_int_equal(read_all(path, "db1", 0, &entries), 0);
	mem = open_memstream(&out, &len);
	vmp_journal_explain(json_array_get(entries, 0), mem);
	fclose(mem);
	assert_non_null(strstr(out, "db1 vcpus: grow 1 -> 2 (saturated)"));
	assert_non_null(strstr(out, "crossed usage_per_vcpu: 0.97 vs 0.9"));
	free(out);
	json_decref(entries);
	unlink(path);
	(void)err;
	(void)state;
}

/* A good line, as the writer writes it. */
static char *
good_line(const char *vm, int64_t t, enum vmp_action action)
{
	static struct vmp_decision d;
	struct vmp_journal_record r = { .time_ms = t, .vm = vm, .policy = "memory",
					.decision = &d };

	vmp_decision_init(&d, "memory_kib", 1024);
	vmp_decision_set(&d, action, action == VMP_ACT_NONE ? VMP_WHY_STEADY : VMP_WHY_TARGET,
			 action == VMP_ACT_NONE ? 1024 : 2048);
	return vmp_journal_format(&r);
}

/* One bad line among good ones: skipped with a warning naming file:line, not fatal. */
static void
test_bad_lines(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "{\"time_ms\": 1", ":2: not JSON" },
		{ "[1, 2]", ":2: not a JSON object" },
		{ "{\"time_ms\": \"x\", \"vm\": \"a\"}", ":2: missing or mistyped key 'time_ms'" },
		{ "{\"time_ms\": 1, \"vm\": \"a\", \"policy\": \"memory\", \"action\": \"none\", "
		  "\"reason\": \"steady\", \"resource\": \"memory_kib\", \"checks\": [], "
		  "\"rejected\": [], \"vm\": \"b\"}", ":2: not JSON" /* duplicate key */ },
		{ "{\"time_ms\": 1, \"vm\": \"a\", \"policy\": \"event\", \"event\": 3, "
		  "\"message\": \"x\"}", ":2: missing or mistyped key 'event'" },
	};
	char path[] = "/tmp/vmp-journal-XXXXXX";
	json_t *entries = NULL;
	size_t i;
	char *err = NULL;

	(void)state;
	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		char *g1 = good_line("a", 1000, VMP_ACT_GROW), *g2 = good_line("a", 2000,
									      VMP_ACT_SHRINK);
		char *text = xasprintf("%s\n%s\n%s\n", g1, cases[i].text, g2);
		struct warnings w = { 0 };
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
		close(fd);
		assert_int_equal(query(path, "a", 0, true, &w, &entries), 0);
		assert_int_equal(json_array_size(entries), 2);
		assert_int_equal(w.n, 1);
		assert_non_null(strstr(w.last, path));
		if (!strstr(w.last, cases[i].msg))
			fprintf(stderr, "case %zu: got '%s'\n", i, w.last);
		assert_non_null(strstr(w.last, cases[i].msg));
		json_decref(entries);
		free(text);
		free(g1);
		free(g2);
		unlink(path);
		strcpy(path, "/tmp/vmp-journal-XXXXXX");
	}
	assert_int_equal(read_all("/nonexistent/j", NULL, 0, &entries), -ENOENT);
	{
		struct vmp_journal_query q = { 0 };

		assert_int_equal(vmp_journal_query("/nonexistent/j", &q, &entries, &err), -ENOENT);
		assert_non_null(strstr(err, "cannot read journal '/nonexistent/j'"));
		free(err);
		/* /dev/zero used to be read until memory ran out. */
		err = NULL;
		assert_int_equal(vmp_journal_query("/dev/zero", &q, &entries, &err), -VMP_ENOTREG);
		assert_non_null(strstr(err, "not a regular file"));
		free(err);
	}
}

/* A line longer than the cap is skipped with a warning; the lines around it are read. */
static void
test_line_cap(void **state)
{
	char path[] = "/tmp/vmp-journal-XXXXXX";
	char *g1 = good_line("a", 1000, VMP_ACT_GROW), *g2 = good_line("a", 2000, VMP_ACT_SHRINK);
	size_t big = 3 * VMP_JOURNAL_LINE_MAX;
	char *junk = xmalloc(big + 1);
	struct warnings w = { 0 };
	json_t *entries = NULL;
	FILE *f;
	int fd;

	(void)state;
	memset(junk, 'x', big);
	junk[big] = '\0';
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "%s\n%s\n%s\n", g1, junk, g2);
	fclose(f);
	assert_int_equal(query(path, "a", 0, true, &w, &entries), 0);
	assert_int_equal(json_array_size(entries), 2);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, ":2: line longer than"));
	json_decref(entries);
	unlink(path);
	free(junk);
	free(g1);
	free(g2);
}

static char *
journal_dir(void)
{
	char tmpl[] = "/tmp/vmp-jdir-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return xstrdup(tmpl);
}

static void
rm_dir(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

/* Writes n decisions about vm0..vm(nvms-1), every 7th an action. */
static void
write_many(struct vmp_journal *j, size_t n, unsigned nvms, int64_t t0)
{
	struct vmp_decision d;
	size_t i;

	for (i = 0; i < n; i++) {
		char vm[16];
		bool act = i % 7 == 0;
		struct vmp_journal_record r = { .time_ms = t0 + (int64_t)i, .vm = vm,
						.policy = "rightsize-memory", .decision = &d,
						.acted = act };

		snprintf(vm, sizeof(vm), "vm%u", (unsigned)(i % nvms));
		vmp_decision_init(&d, "memory_kib", (double)i);
		vmp_decision_set(&d, act ? VMP_ACT_SHRINK : VMP_ACT_NONE,
				 act ? VMP_WHY_TARGET : VMP_WHY_STEADY, act ? (double)i - 1 : (double)i);
		assert_int_equal(vmp_journal_write(j, &r), 0);
	}
}

/* The index answers exactly as a full scan does, also when stale or missing. */
static void
test_index(void **state)
{
	char *dir = journal_dir(), *path = xasprintf("%s/j.jsonl", dir);
	char *idx = xasprintf("%s.idx", path);
	struct vmp_journal *j = NULL;
	json_t *a = NULL, *b = NULL;
	char *err = NULL;
	struct stat st;
	unsigned vm;

	(void)state;
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), 0);
	write_many(j, 3000, 13, 1000);
	assert_int_equal(vmp_journal_sync(j), 0);
	assert_int_equal(stat(idx, &st), 0);
	assert_int_equal((size_t)st.st_size, 16 + 3000 * 32);
	for (vm = 0; vm < 13; vm += 4) {
		char name[16];

		snprintf(name, sizeof(name), "vm%u", vm);
		assert_int_equal(query(path, name, 5, false, NULL, &a), 0);
		assert_int_equal(json_array_size(a), 5);
		rename(idx, "/tmp/vmp-idx-aside");
		assert_int_equal(query(path, name, 5, false, NULL, &b), 0);
		rename("/tmp/vmp-idx-aside", idx);
		assert_true(json_equal(a, b));
		json_decref(a);
		json_decref(b);
		assert_int_equal(query(path, name, 0, true, NULL, &a), 0);
		assert_int_equal(json_array_size(a), 3000 / 13 + (vm < 3000 % 13));
		json_decref(a);
	}
	/* Lines the index lacks (written by another writer) are read from the journal. */
	vmp_journal_close(j);
	{
		char *g = good_line("vm1", 99999999, VMP_ACT_GROW);
		FILE *f = fopen(path, "a");

		fprintf(f, "%s\n", g);
		fclose(f);
		free(g);
	}
	assert_int_equal(query(path, "vm1", 1, false, NULL, &a), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "time_ms")),
			 99999999);
	json_decref(a);
	/* Reopened, the writer catches the index up. */
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), 0);
	vmp_journal_close(j);
	assert_int_equal(stat(idx, &st), 0);
	assert_int_equal((size_t)st.st_size, 16 + 3001 * 32);
	/* A journal replaced under an old index: the index is not trusted. */
	{
		char *g = good_line("vm1", 5, VMP_ACT_GROW);
		FILE *f = fopen(path, "w");

		fprintf(f, "%s\n", g);
		fclose(f);
		free(g);
	}
	assert_int_equal(query(path, "vm1", 0, true, NULL, &a), 0);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	/*
	 * Replaced by a larger journal of other VMs (a restored copy) while the index of
	 * the 3001-line file stays: the index's last record lies inside the new file, but
	 * its line is not there, so the index is not used (it was: dozens of "not JSON"
	 * warnings and no entry found).
	 */
	{
		struct warnings w = { 0 };
		FILE *f = fopen(path, "w");
		unsigned i;

		for (i = 0; i < 4000; i++) {
			char name[16], *g;

			snprintf(name, sizeof(name), "new%u", i % 7);
			g = good_line(name, 1000 + i, VMP_ACT_GROW);
			fprintf(f, "%s\n", g);
			free(g);
		}
		fclose(f);
		assert_int_equal(stat(idx, &st), 0);
		assert_int_equal((size_t)st.st_size, 16 + 3001 * 32);
		assert_int_equal(query(path, "new3", 0, true, &w, &a), 0);
		assert_int_equal(json_array_size(a), 4000 / 7 + (3 < 4000 % 7));
		assert_int_equal(w.n, 0);
		json_decref(a);
	}
	free(idx);
	free(path);
	rm_dir(dir);
}

/* Size-based rotation: path, path.1 ... path.keep; why reads across them. */
static void
test_rotation(void **state)
{
	char *dir = journal_dir(), *path = xasprintf("%s/j.jsonl", dir);
	struct vmp_journal_limits lim = { 20000, 2 };
	struct vmp_journal *j = NULL;
	char *err = NULL, *p;
	json_t *a = NULL;
	struct stat st;
	unsigned k;

	(void)state;
	assert_int_equal(vmp_journal_open(path, &lim, &j, &err), 0);
	write_many(j, 600, 3, 1000);
	vmp_journal_close(j);
	for (k = 0; k <= 3; k++) {
		p = k ? xasprintf("%s.%u", path, k) : xstrdup(path);
		if (k <= 2) {
			assert_int_equal(stat(p, &st), 0);
			assert_true(st.st_size <= 20000);
			assert_int_equal(st.st_mode & 07777, 0640);
		} else {
			assert_int_equal(stat(p, &st), -1); /* the oldest went */
		}
		free(p);
	}
	/* The newest entries, across files, oldest first, without gaps. */
	{
		struct vmp_journal_query q = { .vm = "vm0", .max = 60, .all = true, .rotated = true };
		size_t i;

		assert_int_equal(vmp_journal_query(path, &q, &a, &err), 0);
		assert_int_equal(json_array_size(a), 60);
		for (i = 0; i < 60; i++)
			assert_int_equal(json_integer_value(json_object_get(json_array_get(a, i),
									   "time_ms")),
					 1000 + 599 - 3 * (59 - (json_int_t)i) - (599 % 3));
		json_decref(a);
	}
	free(path);
	rm_dir(dir);
}

/* Regular files only, no symlinks, mode 0640 whatever the umask. */
static void
test_open_refuses(void **state)
{
	char *dir = journal_dir(), *path = xasprintf("%s/j.jsonl", dir);
	char *target = xasprintf("%s/elsewhere", dir);
	struct vmp_journal *j = NULL;
	char *err = NULL;
	struct stat st;
	mode_t old;

	(void)state;
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), -ELOOP);
	free(err);
	assert_int_equal(stat(target, &st), -1); /* nothing created through it */
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	err = NULL;
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), -VMP_ENOTREG);
	assert_non_null(strstr(err, "not a regular file"));
	free(err);
	unlink(path);
	old = umask(0);
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), 0);
	umask(old);
	vmp_journal_close(j);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(target);
	free(path);
	rm_dir(dir);
}

/*
 * A write that does not fit (here: past RLIMIT_FSIZE, a real partial write by the
 * kernel) leaves no fragment: the next line starts on a line of its own.
 */
static void
test_partial_write_cut(void **state)
{
	char *dir = journal_dir(), *path = xasprintf("%s/j.jsonl", dir);
	struct vmp_journal *j = NULL;
	struct rlimit old, lim;
	struct warnings w = { 0 };
	json_t *a = NULL;
	char *err = NULL;
	struct stat st;
	off_t size;

	(void)state;
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), 0);
	write_many(j, 10, 1, 1000);
	assert_int_equal(stat(path, &st), 0);
	size = st.st_size;
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 40; /* part of the next line fits */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	{
		struct vmp_decision d;
		struct vmp_journal_record r = { .time_ms = 5, .vm = "vm0", .policy = "p",
						.decision = &d };

		vmp_decision_init(&d, "memory_kib", 1);
		/* A short write: its cause is not known, so it reads as a full disk. */
		assert_int_equal(vmp_journal_write(j, &r), -ENOSPC);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, size); /* the fragment was cut off */
	write_many(j, 1, 1, 2000);
	vmp_journal_close(j);
	assert_int_equal(query(path, "vm0", 0, true, &w, &a), 0);
	assert_int_equal(json_array_size(a), 11);
	assert_int_equal(w.n, 0);
	json_decref(a);
	/* A torn line left by someone else is ended at open, and then skipped. */
	{
		FILE *f = fopen(path, "a");

		fputs("{\"time_ms\": 12", f);
		fclose(f);
	}
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), 0);
	write_many(j, 1, 1, 3000);
	vmp_journal_close(j);
	assert_int_equal(query(path, "vm0", 0, true, &w, &a), 0);
	assert_int_equal(json_array_size(a), 12);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, ":12: not JSON"));
	json_decref(a);
	free(path);
	rm_dir(dir);
}

/* An intent followed by its outcome shows as the outcome; a lone intent shows. */
static void
test_intent_and_events(void **state)
{
	char *dir = journal_dir(), *path = xasprintf("%s/j.jsonl", dir);
	struct vmp_journal *j = NULL;
	struct vmp_decision d;
	struct vmp_journal_record r = { .time_ms = 100, .vm = "vm\x1b[2J", .policy = "rightsize-memory",
					.decision = &d, .intent = true };
	struct vmp_journal_event ev = { .time_ms = 300, .vm = "vm\x1b[2J", .event = "vm_gone",
					.message = "QEMU died\x07" };
	json_t *a = NULL;
	char *err = NULL, *out = NULL;
	size_t len = 0, i;
	FILE *mem;

	(void)state;
	vmp_decision_init(&d, "memory_kib", 1024 * 1024);
	vmp_decision_set(&d, VMP_ACT_SHRINK, VMP_WHY_TARGET, 512 * 1024);
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), 0);
	assert_int_equal(vmp_journal_write(j, &r), 0);
	r.intent = false;
	r.acted = true;
	assert_int_equal(vmp_journal_write(j, &r), 0);
	r.time_ms = 200;
	r.intent = true;
	r.acted = false;
	assert_int_equal(vmp_journal_write(j, &r), 0);
	assert_int_equal(vmp_journal_write_event(j, &ev), 0);
	vmp_journal_close(j);
	assert_int_equal(query(path, "vm\x1b[2J", 0, false, NULL, &a), 0);
	assert_int_equal(json_array_size(a), 3);
	assert_false(json_is_true(json_object_get(json_array_get(a, 0), "intent")));
	assert_true(json_is_true(json_object_get(json_array_get(a, 1), "intent")));
	mem = open_memstream(&out, &len);
	json_array_foreach(a, i, r.inputs)
		vmp_journal_explain(r.inputs, mem);
	fclose(mem);
	assert_non_null(strstr(out, "[intended: no outcome journaled]"));
	assert_non_null(strstr(out, "vm_gone: QEMU died?"));
	/* No escape character reaches the terminal. */
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\x07'));
	free(out);
	json_decref(a);
	free(path);
	rm_dir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read_explain),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_line_cap),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_open_refuses),
		cmocka_unit_test(test_partial_write_cut),
		cmocka_unit_test(test_intent_and_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
