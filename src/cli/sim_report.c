/* SPDX-License-Identifier: MIT */
/*
 * The HTML report of sim_report.h: line charts as inline SVG, computed here.
 */
#include "cli/sim_report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/util.h"

#define CHART_W 900
#define CHART_H 260
#define PAD_L 64
#define PAD_R 16
#define PAD_T 28
#define PAD_B 36

static const char *const colors[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
	"#7f7f7f", "#bcbd22", "#17becf",
};
#define NCOLORS (sizeof(colors) / sizeof(colors[0]))

/* Which per-step series a chart shows. */
enum series_kind {
	S_ACTIVE,
	S_POWER,
	S_OVERSUB,
	S_MIGRATIONS,
};

static void
html_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

static double
series_value(const struct vmp_simrun_result *r, enum series_kind k, size_t i)
{
	switch (k) {
	case S_ACTIVE:
		return r->sim.series.active_hosts[i];
	case S_POWER:
		return r->sim.series.power_w[i] / 1000.0;
	case S_OVERSUB:
		return r->oversubscribed_hosts ? r->oversubscribed_hosts[i] : 0;
	case S_MIGRATIONS:
		return r->sim.series.migrations[i];
	}
	return 0;
}

/* A "nice" step for about n ticks over [0, max]. */
static double
nice_step(double max, int n)
{
	double raw = max / n, mag = pow(10, floor(log10(raw))), f = raw / mag;

	if (f <= 1)
		return mag;
	if (f <= 2)
		return 2 * mag;
	if (f <= 5)
		return 5 * mag;
	return 10 * mag;
}

static void
polyline(FILE *out, const double *x, const double *y, size_t n, double xmax, double ymax,
	 const char *color, const char *dash)
{
	double pw = CHART_W - PAD_L - PAD_R, ph = CHART_H - PAD_T - PAD_B;
	size_t i;

	fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s%s%s points=\"",
		color, dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
	for (i = 0; i < n; i++)
		fprintf(out, "%s%.1f,%.1f", i ? " " : "", PAD_L + x[i] / xmax * pw,
			PAD_T + ph - (y[i] / ymax) * ph);
	fputs("\"/>\n", out);
}

static void
chart(FILE *out, const char *id, const char *title, const char *unit,
      const struct vmp_sim_report_run *runs, size_t nruns, enum series_kind kind)
{
	double pw = CHART_W - PAD_L - PAD_R, ph = CHART_H - PAD_T - PAD_B;
	double xmax = 0, ymax = 0, step, v;
	double *x = NULL, *y = NULL;
	size_t i, j, cap = 0;

	for (i = 0; i < nruns; i++) {
		const struct vmp_simrun_result *r = runs[i].result;

		for (j = 0; j < r->sim.series.n; j++) {
			if (r->sim.series.time_s[j] / 3600 > xmax)
				xmax = r->sim.series.time_s[j] / 3600;
			if (series_value(r, kind, j) > ymax)
				ymax = series_value(r, kind, j);
			if (kind == S_POWER && r->bound_w && r->bound_w[j] / 1000 > ymax)
				ymax = r->bound_w[j] / 1000;
		}
		if (r->sim.series.n > cap)
			cap = r->sim.series.n;
	}
	if (xmax <= 0)
		xmax = 24;
	if (ymax <= 0)
		ymax = 1;
	step = nice_step(ymax, 5);
	ymax = ceil(ymax / step) * step;
	fprintf(out, "<figure><figcaption>%s</figcaption>\n", title);
	fprintf(out, "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
		"viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n", id, CHART_W,
		CHART_H, CHART_W, CHART_H);
	/* grid and axes */
	for (v = 0; v <= ymax + step / 2; v += step) {
		double yy = PAD_T + ph - v / ymax * ph;

		fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"ytick\">%g</text>\n", PAD_L,
			CHART_W - PAD_R, yy, yy, PAD_L - 6, yy + 4, v);
	}
	for (v = 0; v <= xmax + 0.01; v += 3) {
		double xx = PAD_L + v / xmax * pw;

		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
			"<text x=\"%.1f\" y=\"%d\" class=\"xtick\">%gh</text>\n", xx, xx, PAD_T,
			PAD_T + ph, xx, CHART_H - PAD_B + 16, v);
	}
	fprintf(out, "<text x=\"14\" y=\"%d\" class=\"unit\" transform=\"rotate(-90 14 %d)\">%s"
		"</text>\n", PAD_T + (int)ph / 2, PAD_T + (int)ph / 2, unit);
	x = xcalloc(cap ? cap : 1, sizeof(double));
	y = xcalloc(cap ? cap : 1, sizeof(double));
	for (i = 0; i < nruns; i++) {
		const struct vmp_simrun_result *r = runs[i].result;

		for (j = 0; j < r->sim.series.n; j++) {
			x[j] = r->sim.series.time_s[j] / 3600;
			y[j] = series_value(r, kind, j);
		}
		polyline(out, x, y, r->sim.series.n, xmax, ymax, colors[i % NCOLORS], NULL);
	}
	if (kind == S_POWER && nruns > 0 && runs[0].result->bound_w) {
		const struct vmp_simrun_result *r = runs[0].result;

		for (j = 0; j < r->sim.series.n; j++) {
			x[j] = r->sim.series.time_s[j] / 3600;
			y[j] = r->bound_w[j] / 1000;
		}
		polyline(out, x, y, r->sim.series.n, xmax, ymax, "#000000", "4 3");
	}
	free(x);
	free(y);
	fputs("</svg></figure>\n", out);
}

static void
legend(FILE *out, const struct vmp_sim_report_run *runs, size_t n)
{
	size_t i;

	fputs("<p class=\"legend\">", out);
	for (i = 0; i < n; i++) {
		fprintf(out, "<span><i style=\"background:%s\"></i>", colors[i % NCOLORS]);
		html_escape(out, runs[i].name);
		fputs("</span>", out);
	}
	fputs("<span><i class=\"bound\"></i>lower bound (power chart)</span></p>\n"
	      "<p>Bold: the best of a column.</p>\n", out);
}

/* A cell with decimals digits, in bold when it is the smallest of its column. */
static void
cell(FILE *out, int decimals, double v, double best)
{
	fprintf(out, "%s%.*f</td>", v <= best ? "<td class=\"best\">" : "<td>", decimals, v);
}

/* a / b in percent (0 when b is 0) */
static double
acct_pct(double a, double b)
{
	return b > 0 ? a / b * 100 : 0;
}

static void
table(FILE *out, const struct vmp_sim_report_run *runs, size_t n)
{
	double be = INFINITY, bs = INFINITY, bv = INFINITY, bm = INFINITY;
	double bo = INFINITY, bu = INFINITY, bw = INFINITY;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct vmp_sim_result *r = &runs[i].result->sim;

		bo = fmin(bo, acct_pct(r->acct.overload_host_s, r->acct.active_host_s));
		bu = fmin(bu, acct_pct(r->acct.unserved_mips_s, r->acct.requested_mips_s));
		bw = fmin(bw, r->acct.worst_vm_unserved_frac * 100);
		be = fmin(be, r->energy_kwh);
		bs = fmin(bs, r->slav);
		bv = fmin(bv, r->esv);
		bm = fmin(bm, (double)r->migrations);
	}

	fputs("<table id=\"results\">\n<thead><tr><th>policy</th><th>energy (kWh)</th>"
	      "<th>energy / bound</th><th>overload (% of host time)</th>"
	      "<th>overload (host-h)</th><th>CPU not served (%)</th>"
	      "<th>worst VM not served (%)</th><th>memory overload (% of host time)</th>"
	      "<th>SLATAH (%)</th><th>PDM (%)</th>"
	      "<th>SLAV (10<sup>-5</sup>)</th><th>ESV (10<sup>-3</sup>)</th><th>migrations</th>"
	      "<th>host shutdowns</th><th>time (s)</th></tr></thead>\n<tbody>\n", out);
	for (i = 0; i < n; i++) {
		const struct vmp_sim_result *r = &runs[i].result->sim;

		fprintf(out, "<tr class=\"run\"><td><i style=\"background:%s\"></i>",
			colors[i % NCOLORS]);
		html_escape(out, runs[i].name);
		fputs("</td>", out);
		cell(out, 2, r->energy_kwh, be);
		fprintf(out, "<td>%.3f</td>", runs[i].result->energy_ratio);
		cell(out, 3, acct_pct(r->acct.overload_host_s, r->acct.active_host_s), bo);
		fprintf(out, "<td>%.1f</td>", r->acct.overload_host_s / 3600);
		cell(out, 4, acct_pct(r->acct.unserved_mips_s, r->acct.requested_mips_s), bu);
		cell(out, 2, r->acct.worst_vm_unserved_frac * 100, bw);
		fprintf(out, "<td>%.2f</td><td>%.2f</td><td>%.3f</td>",
			acct_pct(r->acct.mem_overload_host_s, r->acct.active_host_s),
			r->slatah * 100, r->pdm * 100);
		cell(out, 3, r->slav * 1e5, bs * 1e5);
		cell(out, 3, r->esv * 1e3, bv * 1e3);
		cell(out, 0, (double)r->migrations, bm);
		fprintf(out, "<td>%llu</td><td>%.3f</td></tr>\n",
			(unsigned long long)r->host_shutdowns, runs[i].wall_s);
	}
	if (n > 0)
		fprintf(out, "<tr class=\"bound\"><td>lower bound</td><td>%.2f</td><td>1.000</td>"
			"<td colspan=\"12\">oracle: the demand packed fractionally on the cheapest "
			"MIPS, no overload</td></tr>\n", runs[0].result->bound_kwh);
	fputs("</tbody></table>\n", out);
}

int
vmp_sim_report_fprint(FILE *out, const char *trace, size_t nvms, size_t nhosts, bool compat,
		      const struct vmp_sim_report_run *runs, size_t n)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>vmpilot simulate report</title>\n<style>\n"
	      "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:960px}\n"
	      "h1{font-size:20px}table{border-collapse:collapse;margin:12px 0}\n"
	      "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}\n"
	      "td:first-child,th:first-child{text-align:left}th,td:first-child{white-space:nowrap}\n"
	      "td.best{font-weight:700}\n"
	      "i{display:inline-block;width:12px;height:12px;margin-right:6px;"
	      "vertical-align:middle}\n"
	      "i.bound{border-top:2px dashed #000;height:0}\n"
	      ".legend span{margin-right:16px}figure{margin:12px 0}\n"
	      "figcaption{font-weight:600}\n"
	      ".grid{stroke:#e5e5e5}.ytick{font-size:11px;text-anchor:end;fill:#555}\n"
	      ".xtick{font-size:11px;text-anchor:middle;fill:#555}\n"
	      ".unit{font-size:11px;text-anchor:middle;fill:#555}\n"
	      "</style></head><body>\n<h1>vmpilot simulate: ", out);
	html_escape(out, trace);
	fprintf(out, "</h1>\n<p>%zu VMs, %zu hosts%s. Overload and CPU not served are "
		"integrated exactly over the day from the trace's demand (doc/metrics.md): the time "
		"hosts' demand exceeded their capacity, and the CPU VMs asked for and did not get "
		"(overload and migrations). SLATAH, PDM, SLAV = SLATAH &times; PDM and ESV = "
		"energy &times; SLAV are Beloglazov &amp; Buyya's (2012), for comparison with the "
		"literature. The lower bound is "
		"the energy an oracle needs to serve the demand with no overload.</p>\n", nvms,
		nhosts, compat ? ", CloudSim 3.0.3 compat" : "");
	table(out, runs, n);
	legend(out, runs, n);
	chart(out, "active", "Active hosts", "hosts", runs, n, S_ACTIVE);
	chart(out, "power", "Power (dashed: lower bound)", "kW", runs, n, S_POWER);
	chart(out, "oversub", "Oversubscribed hosts (VMs ask more than the host has)", "hosts",
	      runs, n, S_OVERSUB);
	chart(out, "migrations", "Migrations started per 5-minute step", "migrations", runs, n,
	      S_MIGRATIONS);
	fputs("<p>Written by vmpilot simulate.</p>\n</body></html>\n", out);
	return ferror(out) ? -EIO : 0;
}

int
vmp_sim_report_write(const char *path, const char *trace, size_t nvms, size_t nhosts,
		     bool compat, const struct vmp_sim_report_run *runs, size_t n)
{
	size_t len = strlen(path);
	char *tmp = xmalloc(len + 8);
	FILE *f;
	int r;

	snprintf(tmp, len + 8, "%s.tmpXXX", path);
	r = vmp_open_regular(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	f = r >= 0 ? fdopen(r, "w") : NULL;
	if (!f) {
		if (r >= 0) {
			close(r);
			r = -errno;
		}
		free(tmp);
		return r;
	}
	r = vmp_sim_report_fprint(f, trace, nvms, nhosts, compat, runs, n);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}
