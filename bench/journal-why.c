/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot why` on a big journal: writes a journal of N entries (default 1,000,000)
 * about 1,000 VMs through the real writer (with its index), then times the query `why`
 * makes for one VM (the last 5 actions or refusals) with the index, against a baseline
 * measured in the same run: the same query with the index moved aside (a full scan of
 * the journal, which is what `why` did before the index). Also times the worst case with
 * the index: a VM whose entries are all steady, so the whole index is walked.
 * Prints the median of 5 runs of each (one run of the slow baseline) and the ratios.
 * usage: build/bench/journal-why [ENTRIES] [DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/journal.h"
#include "util/util.h"

#define VMS 1000
#define RUNS 5

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ms of runs (<= RUNS) queries for vm; *ret_n = entries returned. */
static double
time_query(const char *path, const char *vm, int runs, size_t *ret_n)
{
	struct vmp_journal_query q = { .vm = vm, .max = 5, .rotated = true };
	double t[RUNS];
	int i;

	for (i = 0; i < runs; i++) {
		json_t *a = NULL;
		char *err = NULL;
		double t0 = now_ms();

		if (vmp_journal_query(path, &q, &a, &err) < 0) {
			fprintf(stderr, "journal-why: %s\n", err);
			exit(1);
		}
		t[i] = now_ms() - t0;
		*ret_n = json_array_size(a);
		json_decref(a);
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
	return t[runs / 2];
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000, i, got = 0;
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	char *path = xasprintf("%s/vmp-bench-journal-%d.jsonl", dir, (int)getpid());
	char *idx = xasprintf("%s.idx", path), *aside = xasprintf("%s.aside", idx);
	struct vmp_journal *j = NULL;
	struct vmp_decision d;
	double t0, with, worst, base;
	char *err = NULL;

	if (vmp_journal_open(path, NULL, &j, &err) < 0) {
		fprintf(stderr, "journal-why: %s\n", err);
		return 1;
	}
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		char vm[16];
		/* Every 50th entry of a VM is an action; vm00999 only ever steady. */
		bool act = (i / VMS) % 50 == 0 && i % VMS != VMS - 1;
		struct vmp_journal_record r = { .time_ms = 1795000000000 + (int64_t)i * 60,
						.vm = vm, .policy = "rightsize-memory",
						.decision = &d, .acted = act, .host = "qemu:///system" };

		snprintf(vm, sizeof(vm), "vm%05zu", i % VMS);
		vmp_decision_init(&d, "memory_kib", 4194304);
		vmp_decision_check(&d, "dead_band_pct", 3, 10, false);
		vmp_decision_set(&d, act ? VMP_ACT_SHRINK : VMP_ACT_NONE,
				 act ? VMP_WHY_TARGET : VMP_WHY_STEADY, act ? 3145728 : 4194304);
		if (vmp_journal_write(j, &r) < 0) {
			fprintf(stderr, "journal-why: cannot write the journal\n");
			return 1;
		}
	}
	vmp_journal_sync(j);
	vmp_journal_close(j);
	{
		struct stat js, is;

		if (stat(path, &js) < 0 || stat(idx, &is) < 0)
			return 1;
		printf("journal-why: %zu entries about %d VMs written in %.1f s "
		       "(journal %.0f MB, index %.0f MB)\n", n, VMS, (now_ms() - t0) / 1e3,
		       (double)js.st_size / 1e6, (double)is.st_size / 1e6);
	}

	with = time_query(path, "vm00042", RUNS, &got);
	printf("  why vm00042 (last %zu actions), index:      %8.2f ms\n", got, with);
	worst = time_query(path, "vm00999", RUNS, &got);
	printf("  why vm00999 (%zu: only steady), index:       %8.2f ms\n", got, worst);
	rename(idx, aside);
	base = time_query(path, "vm00042", 1, &got); /* 20 s: once */
	rename(aside, idx);
	printf("  baseline: why vm00042 without the index:   %8.2f ms\n", base);
	printf("  ratio index/baseline: %.4f; worst case index/baseline: %.4f\n",
	       base > 0 ? with / base : 0, base > 0 ? worst / base : 0);
	unlink(path);
	unlink(idx);
	free(path);
	free(idx);
	free(aside);
	return 0;
}
