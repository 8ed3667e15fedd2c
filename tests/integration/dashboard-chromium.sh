#!/bin/sh
# SPDX-License-Identifier: MIT
# The dashboard of a running daemon in headless Chromium (Debian's chromium). The API
# listens on a unix socket; a small proxy here (/usr/bin/python3) gives Chromium a loopback HTTP
# address for it, the way an operator reaches it with `ssh -L`, and adds to the page a
# measuring script that waits for the dashboard to draw, then checks that both uPlot
# charts have data and painted pixels, clicks the first decision once and checks that
# its reason, checks and rejected alternatives are shown. A screenshot must not be blank.
# Usage: dashboard-chromium.sh SOCKET OUTDIR
set -u
sock=$1 out=$2
tmp=$(mktemp -d /tmp/vmp-dash-XXXXXX)
proxy=
cleanup() { [ -n "$proxy" ] && kill "$proxy" 2>/dev/null && wait "$proxy" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "dashboard: FAILED: $*" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || fail "chromium is not installed (tools/debian-packages.txt lists it)"
/usr/bin/python3 -c 'import PIL' 2>/dev/null || fail "python3-pil is not installed"

cat > "$tmp/measure.html" <<'JS'
<script>
(function () {
  var started = Date.now();
  function report(r) {
    var pre = document.createElement('pre');
    pre.id = 'measure';
    pre.textContent = Object.keys(r).map(function (k) { return k + '=' + r[k]; }).join('\n');
    document.body.appendChild(pre);
  }
  function painted(u) {
    var c = u.root.querySelector('canvas'), g = c.getContext('2d');
    var d = g.getImageData(0, 0, c.width, c.height).data, n = 0;
    for (var i = 3; i < d.length; i += 16) if (d[i] > 0) n++;
    return n;
  }
  var timer = setInterval(function () {
    var s = window.vmpDashboard;
    if (!(s && s.ready && s.charts.mem && s.charts.cpu) && Date.now() - started < 20000) return;
    clearInterval(timer);
    if (!s || !s.ready) { report({ ready: false, error: s && s.error }); return; }
    var r = { ready: true, vm: s.vm, memPoints: s.charts.mem.data[0].length,
      memDemand: s.charts.mem.data[1].filter(function (x) { return x != null; }).length,
      memAlloc: s.charts.mem.data[2].filter(function (x) { return x != null; }).length,
      cpuPoints: s.charts.cpu.data[0].length, memPainted: painted(s.charts.mem),
      cpuPainted: painted(s.charts.cpu), decisions: s.decisions.length,
      rows: document.querySelectorAll('tr.vm').length };
    var buttons = document.querySelectorAll('#decisions button.decision');
    function first(pred) {
      return Array.prototype.filter.call(buttons, function (b) {
        return pred(s.decisions[+b.getAttribute('data-i')]);
      })[0];
    }
    /* an action with its checks first (a resize), else any decision with checks */
    var pick = first(function (d) { return d.action && d.action !== 'none' && d.policy !== 'stats-period' && d.checks && d.checks.length; }) ||
      first(function (d) { return d.checks && d.checks.length; }) || buttons[0];
    var box = document.getElementById('reason');
    r.reasonHiddenBefore = box.hidden;
    if (pick) pick.click();   /* one click */
    r.reasonHiddenAfter = box.hidden;
    r.reason = box.querySelector('.why') ? box.querySelector('.why').textContent : '';
    r.checks = box.querySelectorAll('table.checks tr').length - 1;
    r.rejected = box.querySelectorAll('.rejected').length;
    report(r);
  }, 200);
})();
</script>
JS

# The proxy: 127.0.0.1:PORT -> the API's unix socket; the page gets the measuring script.
cat > "$tmp/proxy.py" <<'PY'
import http.client, http.server, socket, sys
sock, measure = sys.argv[1], open(sys.argv[2], 'rb').read()
class UnixConn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        c = UnixConn('localhost', timeout=10)
        c.request('GET', self.path)
        r = c.getresponse()
        body = r.read()
        if self.path == '/':
            body = body.replace(b'</body>', measure + b'</body>')
        self.send_response(r.status)
        self.send_header('Content-Type', r.getheader('Content-Type') or 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
/usr/bin/python3 "$tmp/proxy.py" "$sock" "$tmp/measure.html" > "$tmp/port" 2>"$tmp/proxy.err" &
proxy=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "the proxy did not start: $(cat "$tmp/proxy.err")"
	sleep 0.1
done
url="http://127.0.0.1:$(cat "$tmp/port")/"
chrome() {
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
		--hide-scrollbars --disable-background-networking --disable-component-update \
		--disable-sync --user-data-dir="$tmp/profile" --window-size=1400,1000 "$@" "$url" \
		2>>"$tmp/chrome.err"
}
chrome --virtual-time-budget=30000 --dump-dom > "$tmp/dom.html" || fail "chromium --dump-dom failed: $(tail -3 "$tmp/chrome.err")"
sed -n '/<pre id="measure">/,/<\/pre>/p' "$tmp/dom.html" | sed 's/<[^>]*>//g' > "$out/dashboard-measure.txt"
cat "$out/dashboard-measure.txt"
m() { sed -n "s/^$1=//p" "$out/dashboard-measure.txt"; }
[ "$(m ready)" = true ] || fail "the dashboard did not draw (error: $(m error))"
[ "$(m memPoints)" -ge 3 ] && [ "$(m memDemand)" -ge 2 ] && [ "$(m memAlloc)" -ge 3 ] || fail "memory chart without data"
[ "$(m cpuPoints)" -ge 3 ] || fail "cpu chart without data"
[ "$(m memPainted)" -ge 200 ] && [ "$(m cpuPainted)" -ge 200 ] || fail "charts not painted"
[ "$(m rows)" -ge 1 ] || fail "no VM row"
[ "$(m decisions)" -ge 1 ] || fail "no decision on the timeline"
[ "$(m reasonHiddenBefore)" = true ] && [ "$(m reasonHiddenAfter)" = false ] || fail "one click did not show the reason"
case "$(m reason)" in *because*) ;; *) fail "the reason panel says: $(m reason)" ;; esac
[ "$(m checks)" -ge 1 ] || fail "the reason shows no checks"

chrome --virtual-time-budget=30000 --screenshot="$out/dashboard.png" >/dev/null || fail "screenshot failed"
/usr/bin/python3 - "$out/dashboard.png" <<'PY' || fail "blank screenshot"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert('RGB')
w, h = im.size
px = im.load()
non_white = sum(1 for x in range(0, w, 2) for y in range(0, h, 2) if sum(px[x, y]) < 720)
blue = sum(1 for x in range(0, w, 2) for y in range(0, h, 2)
           if abs(px[x, y][0] - 0) < 40 and abs(px[x, y][1] - 114) < 40 and abs(px[x, y][2] - 178) < 40)
share = non_white / ((w // 2) * (h // 2))
print('screenshot %dx%d: %.1f%% not white, %d chart-blue pixels' % (w, h, 100 * share, blue))
sys.exit(0 if share > 0.03 and blue > 50 else 1)
PY
echo "dashboard: ok"
