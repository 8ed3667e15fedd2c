/* SPDX-License-Identifier: MIT */
/*
 * The HTML report of sim_report.h: a column table and a chart table drive the results
 * table, the legend and the charts (inline SVG computed here, scaled by the browser to
 * the window's width).
 */
#include "cli/sim_report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/util.h"

/* The first half hour starts from the initial placement: shown, never scaled on. */
#define WARMUP_S 1800.0

/* Okabe & Ito (2008), colour-blind safe; black is the bound's. Yellow left out: too
 * pale on white. Past six policies the dash pattern tells them apart as well. */
static const char *const palette[] = {
	"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))
static const struct {
	const char *svg, *css;
} dashes[] = {
	{ NULL, "solid" }, { "7 4", "dashed" }, { "2 3", "dotted" },
};
#define NDASHES (sizeof(dashes) / sizeof(dashes[0]))
#define BOUND_COLOR "#000000"
#define CONTEXT_COLOR "#c8c8c8"

static const char *
run_color(size_t i)
{
	return palette[i % NPALETTE];
}

static size_t
run_dash(size_t i)
{
	return (i / NPALETTE) % NDASHES;
}

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

/* A swatch of run i's line (or the bound's, i = SIZE_MAX) for tables and legends. */
static void
swatch(FILE *out, size_t i)
{
	if (i == SIZE_MAX)
		fputs("<i class=\"sw\" style=\"border-top:3px dashed " BOUND_COLOR "\"></i>", out);
	else
		fprintf(out, "<i class=\"sw\" style=\"border-top:3px %s %s\"></i>",
			dashes[run_dash(i)].css, run_color(i));
}

/* ---- the results table and its legend ---- */

static double
col_energy(const struct vmp_sim_report_run *r)
{
	return r->result->sim.energy_kwh;
}

static double
col_ratio(const struct vmp_sim_report_run *r)
{
	return r->result->energy_ratio;
}

/* a / b in percent (0 when b is 0) */
static double
acct_pct(double a, double b)
{
	return b > 0 ? a / b * 100 : 0;
}

static double
col_overload_pct(const struct vmp_sim_report_run *r)
{
	const struct vmp_sim_acct *a = &r->result->sim.acct;

	return acct_pct(a->overload_host_s, a->active_host_s);
}

static double
col_overload_h(const struct vmp_sim_report_run *r)
{
	return r->result->sim.acct.overload_host_s / 3600;
}

static double
col_unserved_pct(const struct vmp_sim_report_run *r)
{
	const struct vmp_sim_acct *a = &r->result->sim.acct;

	return acct_pct(a->unserved_mips_s, a->requested_mips_s);
}

static double
col_worst_vm_pct(const struct vmp_sim_report_run *r)
{
	return r->result->sim.acct.worst_vm_unserved_frac * 100;
}

static double
col_mem_overload_pct(const struct vmp_sim_report_run *r)
{
	const struct vmp_sim_acct *a = &r->result->sim.acct;

	return acct_pct(a->mem_overload_host_s, a->active_host_s);
}

static double
col_mem_overload_h(const struct vmp_sim_report_run *r)
{
	return r->result->sim.acct.mem_overload_host_s / 3600;
}

static double
col_slatah(const struct vmp_sim_report_run *r)
{
	return r->result->sim.slatah * 100;
}

static double
col_pdm(const struct vmp_sim_report_run *r)
{
	return r->result->sim.pdm * 100;
}

static double
col_slav(const struct vmp_sim_report_run *r)
{
	return r->result->sim.slav * 1e5;
}

static double
col_esv(const struct vmp_sim_report_run *r)
{
	return r->result->sim.esv * 1e3;
}

static double
col_migrations(const struct vmp_sim_report_run *r)
{
	return (double)r->result->sim.migrations;
}

static double
col_shutdowns(const struct vmp_sim_report_run *r)
{
	return (double)r->result->sim.host_shutdowns;
}

static double
col_wall(const struct vmp_sim_report_run *r)
{
	return r->wall_s;
}

/* One column of the results table; its legend entry says what it measures. */
struct column {
	const char *head;      /* HTML */
	const char *legend;    /* HTML */
	int decimals;
	bool best_lowest;      /* bold the lowest value */
	double (*value)(const struct vmp_sim_report_run *r);
};

static const struct column columns[] = {
	{ "energy (kWh)",
	  "Energy all hosts drew over the trace, from the SPECpower curves of the HP ProLiant "
	  "ML110 G4 and G5 at each host's CPU use; a host switched off draws nothing.",
	  2, true, col_energy },
	{ "energy / bound",
	  "Energy divided by the oracle lower bound: the energy needed to serve the same "
	  "demand with no overload, packed fractionally on the most efficient hosts "
	  "(doc/pilot-policy.md). 1.0 is out of reach; lower is better.",
	  3, true, col_ratio },
	{ "overload (% of host time)",
	  "The time hosts' CPU demand exceeded their capacity, as a share of the time hosts "
	  "were active; integrated exactly over the trace from its demand (doc/metrics.md). "
	  "What tenants feel: with the next two, the judge of a policy.",
	  3, true, col_overload_pct },
	{ "overload (host-h)",
	  "The same overload time in host-hours.",
	  1, false, col_overload_h },
	{ "CPU not served (%)",
	  "The CPU the VMs asked for and did not get, through overload or while migrating, as "
	  "a share of all the CPU they asked for; integrated exactly.",
	  4, true, col_unserved_pct },
	{ "worst VM not served (%)",
	  "The same share for the one VM that lost the most: an average can hide a tenant "
	  "who suffered.",
	  2, true, col_worst_vm_pct },
	{ "memory overload (% of host time)",
	  "The time the memory the VMs of a host use exceeded its RAM, as a share of active "
	  "host time (PlanetLab records no memory: a VM is taken to use all of it).",
	  2, false, col_mem_overload_pct },
	{ "memory overload (host-h)",
	  "The same memory overload time in host-hours.",
	  1, false, col_mem_overload_h },
	{ "SLATAH (%)",
	  "SLA violation Time per Active Host (Beloglazov &amp; Buyya 2012): the share of "
	  "active host time a host was at 100 % CPU, looked at only at the simulator's "
	  "records, so it can miss overload between them. For comparison with the literature.",
	  2, true, col_slatah },
	{ "PDM (%)",
	  "Performance Degradation due to Migrations: the CPU VMs asked for and did not get "
	  "while migrating, as a share of all the CPU they asked for.",
	  3, true, col_pdm },
	{ "SLAV (10<sup>-5</sup>)",
	  "SLA Violation = SLATAH &times; PDM, in units of 10<sup>-5</sup>: the literature's "
	  "single figure of service quality.",
	  3, true, col_slav },
	{ "ESV (10<sup>-3</sup>)",
	  "Energy &times; SLAV, in units of 10<sup>-3</sup>: energy and service quality in one "
	  "number; lower is better.",
	  3, true, col_esv },
	{ "migrations",
	  "Live migrations started over the trace; each costs the VM CPU (PDM) and the network.",
	  0, true, col_migrations },
	{ "host shutdowns",
	  "Times a host was emptied and switched off.",
	  0, false, col_shutdowns },
	{ "time (s)",
	  "Wall-clock time this machine took to simulate the policy.",
	  3, false, col_wall },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static void
table(FILE *out, const struct vmp_sim_report_run *runs, size_t n)
{
	double best[NCOLUMNS];
	size_t i, c;

	for (c = 0; c < NCOLUMNS; c++) {
		best[c] = INFINITY;
		for (i = 0; i < n; i++)
			best[c] = fmin(best[c], columns[c].value(&runs[i]));
	}
	fputs("<div class=\"scroll\"><table id=\"results\">\n<thead><tr><th>policy</th>", out);
	for (c = 0; c < NCOLUMNS; c++)
		fprintf(out, "<th>%s</th>", columns[c].head);
	fputs("</tr></thead>\n<tbody>\n", out);
	for (i = 0; i < n; i++) {
		fputs("<tr class=\"run\"><td>", out);
		swatch(out, i);
		html_escape(out, runs[i].name);
		fputs("</td>", out);
		for (c = 0; c < NCOLUMNS; c++) {
			double v = columns[c].value(&runs[i]);
			bool b = columns[c].best_lowest && n > 1 && v <= best[c];

			fprintf(out, "<td%s>%.*f</td>", b ? " class=\"best\"" : "",
				columns[c].decimals, v);
		}
		fputs("</tr>\n", out);
	}
	if (n > 0) {
		fputs("<tr class=\"bound\"><td>", out);
		swatch(out, SIZE_MAX);
		fprintf(out, "lower bound</td><td>%.2f</td><td>1.000</td><td colspan=\"%zu\">"
			"oracle: the demand packed fractionally on the cheapest MIPS, no overload"
			"</td></tr>\n", runs[0].result->bound_kwh, NCOLUMNS - 2);
	}
	fputs("</tbody></table></div>\n", out);
}

/* ---- charts ---- */

enum series_kind {
	S_ACTIVE,
	S_POWER,
	S_OVERSUB,
	S_MIGRATIONS,
};

static const struct chart_kind {
	const char *id, *title, *unit, *legend;
	enum series_kind kind;
} charts[] = {
	{ "active", "Active hosts", "hosts",
	  "Hosts switched on at each step of the trace: what consolidation saves.", S_ACTIVE },
	{ "power", "Power", "kW",
	  "Power all hosts draw at each step; dashed black: the oracle lower bound's power at "
	  "the same step.", S_POWER },
	{ "oversub", "Oversubscribed hosts", "hosts",
	  "Hosts whose VMs ask for more CPU than the host has at that step: where tenants "
	  "wait.", S_OVERSUB },
	{ "migrations", "Migrations started per step", "migrations",
	  "Live migrations started at each step (5 minutes for PlanetLab traces).",
	  S_MIGRATIONS },
};
#define NCHARTS (sizeof(charts) / sizeof(charts[0]))

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

/* A "nice" step (1, 2 or 5 times a power of ten) for about n ticks over [0, max]. */
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

/* An hour step for at most about 8 ticks over [0, hours]. */
static double
hour_step(double hours)
{
	static const double steps[] = { 0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 168 };
	size_t i;

	for (i = 0; i < VMP_ARRAY_SIZE(steps); i++)
		if (hours / steps[i] <= 8)
			return steps[i];
	return nice_step(hours, 8);
}

/* The scales of one metric, shared by all its panels. */
struct scale {
	double xmax_h;        /* hours */
	double ymax;          /* top of the y axis */
	double ystep;
	double peak;          /* largest value, warm-up included */
	bool clipped;         /* the warm-up goes above ymax */
};

static void
scale_of(const struct vmp_sim_report_run *runs, size_t nruns, enum series_kind kind,
	 struct scale *s)
{
	double after = 0, all = 0;
	bool any_after = false;
	size_t i, j;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nruns; i++) {
		const struct vmp_simrun_result *r = runs[i].result;

		for (j = 0; j < r->sim.series.n; j++) {
			double t = r->sim.series.time_s[j], v = series_value(r, kind, j);

			if (kind == S_POWER && r->bound_w && r->bound_w[j] / 1000 > v)
				v = r->bound_w[j] / 1000;
			s->xmax_h = fmax(s->xmax_h, t / 3600);
			all = fmax(all, v);
			if (t >= WARMUP_S) {
				after = fmax(after, v);
				any_after = true;
			}
		}
	}
	if (s->xmax_h <= 0)
		s->xmax_h = 1;
	s->peak = all;
	s->ymax = any_after ? after : all;
	if (s->ymax <= 0)
		s->ymax = 1;
	s->ystep = nice_step(s->ymax * 1.05, 5);
	s->ymax = ceil(s->ymax * 1.05 / s->ystep) * s->ystep;
	s->clipped = all > s->ymax;
}

/* The drawing box of one SVG (in viewBox units). */
struct box {
	int w, h, l, r, t, b;
	int font;
};

static const struct box big = { 640, 280, 56, 14, 16, 34, 12 };
static const struct box small = { 380, 220, 46, 10, 14, 30, 13 };

static void
polyline(FILE *out, const struct box *bx, const struct scale *sc, const double *x,
	 const double *y, size_t n, const char *color, const char *dash, double width,
	 const char *title)
{
	double pw = bx->w - bx->l - bx->r, ph = bx->h - bx->t - bx->b;
	size_t i;

	fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
		"stroke-linejoin=\"round\"%s%s%s points=\"", color, width,
		dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
	for (i = 0; i < n; i++) {
		double v = fmin(y[i], sc->ymax); /* the warm-up's peaks are clipped at the top */

		fprintf(out, "%s%.1f,%.1f", i ? " " : "", bx->l + x[i] / sc->xmax_h * pw,
			bx->t + ph - v / sc->ymax * ph);
	}
	fputs("\">", out);
	if (title) {
		fputs("<title>", out);
		html_escape(out, title);
		fputs("</title>", out);
	}
	fputs("</polyline>\n", out);
}

/* The series of run (or its bound) in x (hours) and y; returns the number of points. */
static size_t
series_xy(const struct vmp_simrun_result *r, enum series_kind kind, bool bound, double *x,
	  double *y)
{
	size_t j;

	for (j = 0; j < r->sim.series.n; j++) {
		x[j] = r->sim.series.time_s[j] / 3600;
		y[j] = bound ? r->bound_w[j] / 1000 : series_value(r, kind, j);
	}
	return r->sim.series.n;
}

/*
 * One SVG: axes, the warm-up band when it is off scale, and the lines — every run in
 * its colour (focus == SIZE_MAX), or run `focus` in its colour over the others in grey.
 */
static void
plot(FILE *out, const struct box *bx, const struct scale *sc, const struct chart_kind *ck,
     const struct vmp_sim_report_run *runs, size_t nruns, size_t focus)
{
	double pw = bx->w - bx->l - bx->r, ph = bx->h - bx->t - bx->b, v, xs;
	double *x, *y;
	size_t i, cap = 1, n;

	for (i = 0; i < nruns; i++)
		if (runs[i].result->sim.series.n > cap)
			cap = runs[i].result->sim.series.n;
	x = xcalloc(cap, sizeof(double));
	y = xcalloc(cap, sizeof(double));
	fprintf(out, "<svg class=\"chart\" data-metric=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" style=\"font-size:%dpx\">\n", ck->id, bx->w,
		bx->h, bx->font);
	if (sc->clipped)
		fprintf(out, "<rect class=\"warm\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\">"
			"<title>first 30 minutes: the initial placement, off scale (up to %.4g)"
			"</title></rect>\n", bx->l, bx->t, fmin(WARMUP_S / 3600, sc->xmax_h) /
			sc->xmax_h * pw, ph, sc->peak);
	for (v = 0; v <= sc->ymax + sc->ystep / 2; v += sc->ystep) {
		double yy = bx->t + ph - v / sc->ymax * ph;

		fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"ytick\">%g</text>\n", bx->l,
			bx->w - bx->r, yy, yy, bx->l - 5, yy + bx->font / 3.0, v);
	}
	xs = hour_step(sc->xmax_h);
	for (v = 0; v <= sc->xmax_h + 1e-9; v += xs) {
		double xx = bx->l + v / sc->xmax_h * pw;

		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" class=\"xtick\">%gh</text>\n", xx, xx, bx->t,
			bx->t + ph, xx, bx->t + ph + bx->font + 4.0, v);
	}
	fprintf(out, "<text x=\"%d\" y=\"%.1f\" class=\"unit\" transform=\"rotate(-90 %d %.1f)\">"
		"%s</text>\n", bx->font, bx->t + ph / 2, bx->font, bx->t + ph / 2, ck->unit);
	if (sc->clipped)
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" class=\"clip\">&#9650; %.4g</text>\n",
			bx->l + 3, bx->t + bx->font + 1.0, sc->peak);
	/* context first (grey), then the focused or every run on top */
	for (i = 0; focus != SIZE_MAX && i < nruns; i++)
		if (i != focus) {
			n = series_xy(runs[i].result, ck->kind, false, x, y);
			polyline(out, bx, sc, x, y, n, CONTEXT_COLOR, NULL, 1.0, runs[i].name);
		}
	if (ck->kind == S_POWER && nruns > 0 && runs[0].result->bound_w) {
		n = series_xy(runs[0].result, ck->kind, true, x, y);
		polyline(out, bx, sc, x, y, n, BOUND_COLOR, "4 3", 1.2, "lower bound");
	}
	for (i = 0; i < nruns; i++)
		if (focus == SIZE_MAX || i == focus) {
			n = series_xy(runs[i].result, ck->kind, false, x, y);
			polyline(out, bx, sc, x, y, n, run_color(i), dashes[run_dash(i)].svg,
				 focus == SIZE_MAX ? 1.6 : 1.8, runs[i].name);
		}
	free(x);
	free(y);
	fputs("</svg>\n", out);
}

static void
chart(FILE *out, const struct chart_kind *ck, const struct vmp_sim_report_run *runs,
      size_t nruns)
{
	struct scale sc;
	size_t i;

	scale_of(runs, nruns, ck->kind, &sc);
	fprintf(out, "<figure class=\"%s\" id=\"%s\"><figcaption><b>%s</b> (%s)",
		nruns > VMP_SIM_REPORT_OVERLAY_MAX ? "multiples" : "overlay", ck->id, ck->title,
		ck->unit);
	if (sc.clipped)
		fprintf(out, " <span class=\"note\">&mdash; the first 30 minutes (shaded) reach "
			"%.4g, above the scale</span>", sc.peak);
	fputs("</figcaption>\n", out);
	if (nruns <= VMP_SIM_REPORT_OVERLAY_MAX) {
		plot(out, &big, &sc, ck, runs, nruns, SIZE_MAX);
	} else {
		fputs("<div class=\"panels\">\n", out);
		for (i = 0; i < nruns; i++) {
			fputs("<div class=\"panel\"><div class=\"ptitle\">", out);
			swatch(out, i);
			html_escape(out, runs[i].name);
			fputs("</div>\n", out);
			plot(out, &small, &sc, ck, runs, nruns, i);
			fputs("</div>\n", out);
		}
		fputs("</div>\n", out);
	}
	fputs("</figure>\n", out);
}

/* ---- the legend ---- */

static void
legend(FILE *out, const struct vmp_sim_report_run *runs, size_t n)
{
	size_t i;

	fputs("<section id=\"legend\">\n<h2>How to read this report</h2>\n"
	      "<div class=\"cols\">\n<div><h3>Policies</h3>\n<ul class=\"key\">\n", out);
	for (i = 0; i < n; i++) {
		fputs("<li>", out);
		swatch(out, i);
		html_escape(out, runs[i].name);
		fputs("</li>\n", out);
	}
	fputs("<li>", out);
	swatch(out, SIZE_MAX);
	fputs("lower bound (power chart)</li>\n</ul>\n", out);
	fprintf(out, "<p>Up to %d policies share one chart per metric; more get a panel each "
		"(small multiples), the others drawn in grey behind, all on the same scales. "
		"Hover a line for its policy. In the table, <b>bold</b> is the lowest of a "
		"column. The first 30 minutes start from the initial placement (every host on); "
		"when they go above the rest of the day they are shaded and clipped, with their "
		"peak marked &#9650;.</p>\n</div>\n", VMP_SIM_REPORT_OVERLAY_MAX);
	fputs("<div><h3>Columns</h3>\n<dl>\n", out);
	for (i = 0; i < NCOLUMNS; i++)
		fprintf(out, "<dt>%s</dt><dd>%s</dd>\n", columns[i].head, columns[i].legend);
	fputs("</dl>\n<h3>Charts</h3>\n<dl>\n", out);
	for (i = 0; i < NCHARTS; i++)
		fprintf(out, "<dt>%s (%s)</dt><dd>%s</dd>\n", charts[i].title, charts[i].unit,
			charts[i].legend);
	fputs("</dl>\n</div>\n</div>\n</section>\n", out);
}

static const char style[] =
	"*{box-sizing:border-box}\n"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1a1a1a;"
	"background:#fff;margin:0 auto;max-width:1680px;padding:12px clamp(10px,3vw,32px);"
	"overflow-wrap:anywhere}\n"
	"h1{font-size:1.4em;margin:.3em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}"
	"h3{font-size:1em;margin:.8em 0 .3em}\n"
	".meta{color:#444;margin:.2em 0}.meta code{white-space:pre-wrap;background:#f3f3f3;"
	"padding:1px 4px;border-radius:3px}\n"
	".scroll{overflow-x:auto;max-width:100%}\n"
	"table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}\n"
	"td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right;"
	"overflow-wrap:normal}\n"
	"td{white-space:nowrap}\n"
	"th{vertical-align:bottom;font-weight:600}\n"
	"td:first-child,th:first-child{text-align:left;white-space:nowrap}\n"
	"td.best{font-weight:700}tr.bound td{color:#444}\n"
	"i.sw{display:inline-block;width:22px;height:0;margin-right:6px;vertical-align:middle}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr));"
	"gap:8px 28px}\n"
	"figure{margin:10px 0;min-width:0}figcaption{margin-bottom:4px}\n"
	"figure.multiples{grid-column:1/-1}\n"
	".panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr));"
	"gap:6px 16px}\n"
	".panel{min-width:0}.ptitle{font-size:.9em;white-space:nowrap;overflow:hidden;"
	"text-overflow:ellipsis}\n"
	"svg.chart{display:block;width:100%;height:auto}\n"
	".note{color:#555;font-size:.9em}\n"
	".grid{stroke:#e6e6e6}.warm{fill:#f1f1f1}\n"
	".ytick{text-anchor:end;fill:#555}.xtick{text-anchor:middle;fill:#555}\n"
	".unit{text-anchor:middle;fill:#555}.clip{fill:#555}\n"
	"#legend .cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));"
	"gap:0 32px}\n"
	"ul.key{list-style:none;padding:0;margin:0;columns:2 180px}ul.key li{margin:2px 0}\n"
	"dl{margin:0}dt{font-weight:600;margin-top:.5em}dd{margin:0 0 0 1em;color:#333}\n"
	"@media (max-width:760px){body{font-size:14px}td,th{padding:3px 5px}}\n";

int
vmp_sim_report_fprint(FILE *out, const struct vmp_sim_report_meta *m,
		      const struct vmp_sim_report_run *runs, size_t n)
{
	char when[64] = "unknown date";
	time_t t = (time_t)m->generated_s;
	struct tm tm;
	size_t i;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<meta name=\"generator\" content=\"vmpilot %s\">\n"
		"<title>vmpilot simulate report</title>\n<style>\n%s</style></head><body>\n"
		"<header><h1>vmpilot simulate report</h1>\n<p class=\"meta\" id=\"meta\">vmpilot ",
		m->version, style);
	html_escape(out, m->version);
	fprintf(out, " &middot; written %s", when);
	if (m->command_line) {
		fputs(" &middot; <code>", out);
		html_escape(out, m->command_line);
		fputs("</code>", out);
	}
	fputs(" &middot; <a href=\"#legend\">what the numbers mean</a></p>\n"
	      "<p class=\"meta\">Trace <code>", out);
	html_escape(out, m->trace);
	fprintf(out, "</code>: %zu VMs on %zu hosts (HP ProLiant ML110 G4 and G5 alternating)%s. "
		"Policies are judged first by what tenants feel, overload time and CPU not "
		"served, integrated exactly over the trace, and by energy and migrations; "
		"SLATAH, PDM, SLAV and ESV are there for comparison with the literature.</p>"
		"</header>\n", m->nvms, m->nhosts,
		m->compat ? ", with CloudSim 3.0.3's quirks (--compat cloudsim)" : "");
	fputs("<h2>Results</h2>\n", out);
	table(out, runs, n);
	fputs("<h2>Over the trace</h2>\n<div class=\"charts\">\n", out);
	for (i = 0; i < NCHARTS; i++)
		chart(out, &charts[i], runs, n);
	fputs("</div>\n", out);
	legend(out, runs, n);
	fputs("<footer class=\"meta\"><p>Written by vmpilot simulate; self-contained (no script, "
	      "nothing fetched). Metrics: doc/design/simulator.md, doc/pilot-policy.md.</p>"
	      "</footer>\n</body></html>\n", out);
	return ferror(out) ? -EIO : 0;
}

int
vmp_sim_report_write(const char *path, const struct vmp_sim_report_meta *meta,
		     const struct vmp_sim_report_run *runs, size_t n)
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
	r = vmp_sim_report_fprint(f, meta, runs, n);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}
