#!/bin/sh
# SPDX-License-Identifier: MIT
# vmpilot simulate --report FILE.html in a real browser, headless Chromium (Debian's
# chromium package), at 1400 and 700 px wide, for two policies (one chart per metric)
# and for five (small multiples). A copy of the report gets a measuring script (the
# report itself has none) whose findings Chromium writes into the DOM it dumps:
# - the page is never wider than the window (the results table may scroll inside its
#   own box, nothing else may stick out);
# - every chart is there, with data lines, and as wide as the layout allows;
# - the legend explains every column and chart; the version, date and command line
#   are named.
# Screenshots of the two-policy report at both widths must be drawn: mostly white would
# mean an empty page, and the palette's first two colours (Okabe-Ito blue and vermillion)
# must appear.
# Usage: simulate-report.sh VMPILOT TRACE_DIR
set -u
vmpilot=$1 trace=$2
tmp=$(mktemp -d /tmp/vmp-report-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
bad() {
	echo "simulate-report: $*" >&2
	fail=1
}

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "simulate-report: FAILED: chromium is not installed (tools/debian-packages.txt lists it)" >&2
	exit 1
fi
chrome() { # FILE.html OPTIONS...
	page=$1
	shift
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
		--hide-scrollbars --disable-background-networking --disable-component-update \
		--disable-sync --user-data-dir="$tmp/profile" "$@" "file://$page" 2> "$tmp/chrome.err"
}

# The measuring script, appended to a copy of the report.
cat > "$tmp/measure.js" <<'JS'
<script>
(function () {
  var d = document.documentElement, w = window.innerWidth, all = Array.prototype;
  var charts = all.slice.call(document.querySelectorAll('svg.chart'));
  var withData = charts.filter(function (s) {
    return all.some.call(s.querySelectorAll('polyline'), function (p) {
      return p.points.numberOfItems >= 10;
    });
  }).length;
  var over = all.filter.call(document.querySelectorAll('body *'), function (e) {
    return e.getBoundingClientRect().right > w + 0.5 && !e.closest('.scroll');
  }).map(function (e) { return e.tagName + '.' + e.className; });
  var widths = charts.map(function (s) { return Math.round(s.getBoundingClientRect().width); });
  var r = { width: w, scroll: d.scrollWidth, charts: charts.length, withData: withData,
    minChart: Math.min.apply(null, widths), maxChart: Math.max.apply(null, widths),
    over: over.slice(0, 5).join(' '), legend: document.querySelectorAll('#legend dt').length,
    columns: document.querySelectorAll('#results thead th').length - 1,
    meta: document.getElementById('meta') ? document.getElementById('meta').textContent : '' };
  var pre = document.createElement('pre');
  pre.id = 'measure';
  pre.textContent = Object.keys(r).map(function (k) { return k + '=' + r[k]; }).join('\n');
  document.body.appendChild(pre);
})();
</script>
JS

# Screenshot statistics (Debian's python3-pil): the share of non-white pixels and the
# pixels near two palette colours, on a 2-pixel grid.
py=/usr/bin/python3
if ! "$py" -c 'import PIL' 2> /dev/null; then
	echo "simulate-report: FAILED: python3-pil is not installed (tools/debian-packages.txt lists it)" >&2
	exit 1
fi
cat > "$tmp/png.py" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert('RGB')
w, h = im.size
px = im.load()
def near(p, rgb):
    return sum(abs(p[k] - rgb[k]) for k in range(3)) < 60
ink = blue = verm = total = 0
for y in range(0, h, 2):
    for x in range(0, w, 2):
        p = px[x, y]
        total += 1
        ink += sum(p) < 720
        blue += near(p, (0x00, 0x72, 0xB2))
        verm += near(p, (0xD5, 0x5E, 0x00))
print('ink=%.4f blue=%d vermillion=%d' % (ink / total, blue, verm))
PY

check() { # LABEL REPORT.html NCHARTS MIN_CHART_PCT MIN_CHART_PX SCREENSHOT(yes/no)
	label=$1 report=$2 ncharts=$3 minpct=$4 minpx=$5 shoot=$6
	# the parser puts a script after </html> into the body: it runs last
	cat "$report" "$tmp/measure.js" > "$tmp/m.html"
	for w in 1400 700; do
		chrome "$tmp/m.html" --window-size=$w,1200 --dump-dom > "$tmp/dom.html" ||
			{ cat "$tmp/chrome.err" >&2; exit 1; }
		sed -n '/<pre id="measure">/,/<\/pre>/p' "$tmp/dom.html" | sed 's/<[^>]*>//g' > "$tmp/m.txt"
		val() { sed -n "s/^$1=//p" "$tmp/m.txt"; }
		[ "$(val width)" = "$w" ] || { bad "$label $w px: no measurement ($(cat "$tmp/m.txt"))"; continue; }
		[ "$(val scroll)" -le "$w" ] || bad "$label $w px: the page is $(val scroll) px wide"
		[ -z "$(val over)" ] || bad "$label $w px: sticking out of the window: $(val over)"
		[ "$(val charts)" -eq "$ncharts" ] || bad "$label $w px: $(val charts) charts, want $ncharts"
		[ "$(val withData)" -eq "$ncharts" ] || bad "$label $w px: $(val withData) charts with data lines"
		# charts fill the width they are given (a share of the window) and stay readable
		[ $(( $(val minChart) * 100 )) -ge $(( w * minpct )) ] && [ "$(val minChart)" -ge "$minpx" ] ||
			bad "$label $w px: a chart only $(val minChart) px wide"
		[ "$(val legend)" -ge $(( $(val columns) + 4 )) ] ||
			bad "$label $w px: legend explains $(val legend) terms for $(val columns) columns and 4 charts"
		val meta | grep -q "vmpilot [0-9].* written 20[0-9-]* [0-9:]* UTC .*vmpilot simulate .*--report" ||
			bad "$label $w px: version, date or command line missing: $(val meta)"
		if [ "$shoot" = no ]; then
			echo "simulate-report: $label at $w px: page $(val scroll) px, $(val charts) charts $(val minChart)-$(val maxChart) px wide, $(val legend) legend terms"
			continue
		fi
		chrome "$report" --window-size=$w,2400 --screenshot="$tmp/shot.png" ||
			{ cat "$tmp/chrome.err" >&2; exit 1; }
		stats=$("$py" "$tmp/png.py" "$tmp/shot.png") || { bad "$label $w px: unreadable screenshot"; continue; }
		echo "simulate-report: $label at $w px: page $(val scroll) px, $(val charts) charts $(val minChart)-$(val maxChart) px wide, $(val legend) legend terms; screenshot $stats"
		ink=$(echo "$stats" | sed 's/ink=\([0-9.]*\).*/\1/')
		"$py" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.02 else 1)" "$ink" ||
			bad "$label $w px: screenshot nearly blank ($stats)"
		echo "$stats" | grep -q 'blue=0 \|vermillion=0$' && bad "$label $w px: palette colours missing ($stats)"
	done
}

# Two policies: one chart per metric, every line in it.
"$vmpilot" simulate --trace "$trace" --policy thr-mmt-0.8,vmpilot --report "$tmp/r.html" \
	> "$tmp/table.txt" || { echo "simulate-report: vmpilot simulate failed" >&2; exit 1; }
cat "$tmp/table.txt"
check "2 policies" "$tmp/r.html" 4 40 400 yes
# the DOM Chromium dumped last (700 px) has every chart line and table row
want() { # what count pattern
	n=$(grep -o "$3" "$tmp/dom.html" | wc -l)
	[ "$n" -eq "$2" ] || bad "want $2 $1 in the rendered DOM, got $n"
}
want "svg charts" 4 '<svg '
want "lines (2 policies x 4 charts + the bound)" 9 '<polyline'
want "result rows" 2 '<tr class="run">'
want "bound rows" 1 '<tr class="bound">'
grep -q '</i>vmpilot</td>' "$tmp/dom.html" || bad "no vmpilot row"

# Five policies: small multiples, a panel per policy and metric.
"$vmpilot" simulate --trace "$trace" --hosts 400 \
	--policy thr-mmt-0.8,vmpilot,lr-mmt-1.2,iqr-mmt-1.5,thr-rs-0.8 --report "$tmp/r5.html" \
	> /dev/null || { echo "simulate-report: vmpilot simulate (5 policies) failed" >&2; exit 1; }
check "5 policies" "$tmp/r5.html" 20 20 280 no

[ "$fail" = 0 ] && echo "simulate-report: ok"
exit $fail
