#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Drives Debian's headless Chromium over the DevTools protocol (--remote-debugging-pipe:
# JSON messages on fds 3 and 4, Python's standard library only) against a running
# vmpilotd's dashboard, and checks what a user would see:
#   - the page loads over TLS with a read-only bearer token (sent by Chromium on every
#     request) and raises no script error, CSP violation or failed request;
#   - every chart is a uPlot canvas with data points, and the selected VM's memory chart
#     has pixels of both its lines (Okabe-Ito blue demand, vermillion allocation);
#   - a real mouse click on an acted decision's mark on the timeline shows its reason,
#     checks and outcome in the DOM; the same decision read independently from
#     /api/v1/decisions must match what the panel says;
#   - an untrusted VM name (HTML in it) shows as text, never as markup;
#   - the page is never wider than the window, at 1280 and at 700 px;
#   - a screenshot is drawn (non-white pixels, both palette colours; python3-pil).
# Chromium is started here and killed by its PID at the end.
# Usage: dashboard-cdp.py --url URL --token TOKEN --ca CA.pem --server-cert CERT.pem
#        --out DIR [--vm NAME] [--xss-name NAME] [--timeout S]
import argparse
import base64
import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

BLUE = (0x00, 0x72, 0xB2)
VERMILLION = (0xD5, 0x5E, 0x00)


class Failed(Exception):
    pass


def log(msg):
    print('dashboard-cdp: ' + msg, flush=True)


# ---- the server's SubjectPublicKeyInfo hash, for --ignore-certificate-errors-spki-list ----

def der_tlv(b, i):
    """(tag, start of content, end of content) of the DER element at i."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(b[i:i + k], 'big')
        i += k
    return tag, i, i + n


def spki_sha256_b64(pem_path):
    with open(pem_path) as f:
        pem = f.read()
    body = pem.split('-----BEGIN CERTIFICATE-----')[1].split('-----END CERTIFICATE-----')[0]
    der = base64.b64decode(''.join(body.split()))
    _, c0, _ = der_tlv(der, 0)          # Certificate
    _, i, _ = der_tlv(der, c0)          # tbsCertificate
    fields = []
    while len(fields) < 7:
        tag, s, e = der_tlv(der, i)
        if not fields and tag != 0xa0:  # no explicit version
            fields.append(None)
        fields.append((i, e))
        i = e
    start, end = fields[6]              # version, serial, sig, issuer, validity, subject, spki
    return base64.b64encode(hashlib.sha256(der[start:end]).digest()).decode()


# ---- DevTools over a pipe ----

class Browser:
    def __init__(self, exe, args, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # Chromium reads commands on fd 3 and answers on fd 4; the pipe ends may
            # themselves be 3 or 4, so move them out of the way first.
            r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.setpgid(0, 0)

        self.proc = subprocess.Popen(
            [exe] + args + ['--user-data-dir=' + profile, '--remote-debugging-pipe',
                            'about:blank'],
            preexec_fn=fds, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(profile, '..', 'chrome.err'), 'w'))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b''
        self.next_id = 0
        self.events = []
        self.session = None

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.kill()
        self.proc.wait()

    def _read(self, deadline):
        while b'\0' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed('Chromium did not answer in time')
            r, _, _ = select.select([self.from_chrome], [], [], left)
            if r:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise Failed('Chromium closed its DevTools pipe (exit %s)' % self.proc.poll())
                self.buf += chunk
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {'id': self.next_id, 'method': method, 'params': params or {}}
        if session and self.session:
            msg['sessionId'] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b'\0')
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get('id') == self.next_id:
                if 'error' in m:
                    raise Failed('%s: %s' % (method, m['error'].get('message')))
                return m.get('result', {})
            if 'method' in m:
                self.events.append(m)

    def pump(self, seconds):
        """Collects events for a while."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read(deadline))
        except Failed as e:
            if 'in time' not in str(e):
                raise

    def eval(self, expr, timeout=30):
        r = self.call('Runtime.evaluate', {'expression': expr, 'returnByValue': True,
                                           'awaitPromise': True}, timeout=timeout)
        if 'exceptionDetails' in r:
            raise Failed('script failed: %s: %s' % (expr[:60], r['exceptionDetails'].get('text')))
        return r['result'].get('value')

    def wait_for(self, expr, timeout, what):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.eval(expr)
            if last and last.get('ok'):
                return last
            self.pump(0.5)
        raise Failed('%s within %d s; last seen: %s' % (what, timeout, json.dumps(last)))


# ---- in-page measurements ----

MEASURE_CHARTS = r'''
(() => {
  const near = (d, i, c) => Math.abs(d[i] - c[0]) < 40 && Math.abs(d[i + 1] - c[1]) < 40 &&
    Math.abs(d[i + 2] - c[2]) < 40 && d[i + 3] > 200;
  const figs = [...document.querySelectorAll('figure.chart')];
  const charts = figs.map(f => {
    const cv = f.querySelector('canvas');
    let blue = 0, verm = 0, ink = 0;
    if (cv && cv.width && cv.height) {
      const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 0) ink++;
        if (near(d, i, [0x00, 0x72, 0xB2])) blue++;
        if (near(d, i, [0xD5, 0x5E, 0x00])) verm++;
      }
    }
    return { vm: f.dataset.vm, kind: f.dataset.kind, points: +f.dataset.points,
             w: cv ? cv.width : 0, ink, blue, verm };
  });
  const vmMem = charts.find(c => c.vm === %(vm)s && c.kind === 'memory');
  const acted = [...document.querySelectorAll('#timeline .mark')].filter(m => m.dataset.acted);
  const ok = !!vmMem && vmMem.points >= %(points)d && vmMem.blue >= %(px)d && vmMem.verm >= %(px)d &&
    charts.every(c => c.points >= 1 && c.ink > 0) && acted.length > 0;
  return { ok, charts, vmMem, marks: document.querySelectorAll('#timeline .mark').length,
           acted: acted.length, error: document.getElementById('error').hidden ? '' :
           document.getElementById('error').textContent };
})()
'''

MEASURE_FIT = r'''
(() => {
  const w = window.innerWidth, d = document.documentElement;
  const over = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > w + 0.5 && !e.closest('.scroll');
  }).map(e => e.tagName + '.' + e.className);
  const widths = [...document.querySelectorAll('figure.chart canvas')].map(c =>
    Math.round(c.getBoundingClientRect().width));
  const holders = [...document.querySelectorAll('figure.chart .plot')].map(p => p.clientWidth);
  const fitted = widths.every((cw, i) => cw <= holders[i] + 1 && cw >= holders[i] - 40);
  return { ok: d.scrollWidth <= w && over.length === 0 && fitted, width: w,
           scroll: d.scrollWidth, over: over.slice(0, 5), widths, holders };
})()
'''


def png_stats(path):
    from PIL import Image
    im = Image.open(path).convert('RGB')
    w, h = im.size
    px = im.load()
    n = ink = blue = verm = 0
    for y in range(0, h, 2):
        for x in range(0, w, 2):
            p = px[x, y]
            n += 1
            if min(p) < 235:
                ink += 1
            if all(abs(p[i] - BLUE[i]) < 40 for i in range(3)):
                blue += 1
            if all(abs(p[i] - VERMILLION[i]) < 40 for i in range(3)):
                verm += 1
    return w, h, ink / n, blue, verm


def api_get(url, token, ca, path):
    ctx = ssl.create_default_context(cafile=ca)
    rq = urllib.request.Request(url.rstrip('/') + path, headers={'Authorization': 'Bearer ' + token})
    with urllib.request.urlopen(rq, context=ctx, timeout=10) as r:
        return json.loads(r.read())


def run(a, b):
    b.call('Target.setDiscoverTargets', {'discover': True}, session=False)
    pages = [t for t in b.call('Target.getTargets', session=False)['targetInfos']
             if t['type'] == 'page']
    if not pages:
        raise Failed('Chromium has no page target')
    b.session = b.call('Target.attachToTarget', {'targetId': pages[0]['targetId'],
                                                 'flatten': True}, session=False)['sessionId']
    for m in ('Page.enable', 'Runtime.enable', 'Log.enable', 'Network.enable'):
        b.call(m)
    b.call('Network.setExtraHTTPHeaders', {'headers': {'Authorization': 'Bearer ' + a.token}})
    b.call('Emulation.setDeviceMetricsOverride', {'width': 1280, 'height': 1000,
                                                  'deviceScaleFactor': 1, 'mobile': False})
    # The VM's charts by a link, as an operator would share it.
    b.call('Page.navigate', {'url': a.url + '#vm=' + urllib.parse.quote(a.vm)})
    m = b.wait_for("({ok: document.readyState === 'complete' && typeof uPlot === 'function'})",
                   30, 'the page and uPlot loaded')

    # Charts with data, and decisions on the timeline.
    vm = json.dumps(a.vm)
    m = b.wait_for(MEASURE_CHARTS % {'vm': vm, 'points': a.points, 'px': a.line_px}, a.timeout,
                   'charts drawn with data and an acted decision on the timeline')
    log('charts: ' + ', '.join('%s/%s %d points %dpx ink %d blue %d vermillion %d' % (
        c['vm'] or 'host', c['kind'], c['points'], c['w'], c['ink'], c['blue'], c['verm'])
        for c in m['charts']))
    log('timeline: %d marks, %d acted' % (m['marks'], m['acted']))

    # Hosts with their action budget, every VM of the status.
    hv = b.eval(r'''
(async () => {
  const s = await (await fetch('api/v1/status')).json();
  const vms = s.hosts.reduce((n, h) => n + h.vms.length, 0);
  const budget = [...document.querySelectorAll('#hosts dd.budget')].map(d => d.textContent);
  return { hosts: document.querySelectorAll('#hosts .card').length, want_hosts: s.hosts.length,
           vms: document.querySelectorAll('#vms tbody tr').length, want_vms: vms, budget,
           want_budget: s.hosts.reduce((n, h) => n + Object.keys(h.budget_left).length, 0) };
})()''')
    log('hosts %d, VMs %d, budget: %s' % (hv['hosts'], hv['vms'], '; '.join(hv['budget'])))
    if hv['hosts'] != hv['want_hosts'] or hv['vms'] != hv['want_vms'] or \
            len(hv['budget']) != hv['want_budget'] or hv['want_budget'] == 0 or \
            not all(' of ' in t for t in hv['budget']):
        raise Failed('hosts, VMs or budget not all shown: %s' % json.dumps(hv))

    # One click on an acted decision's mark: its reason is in the DOM.
    target = b.eval(r'''
(() => {
  const ms = [...document.querySelectorAll('#timeline .mark')].filter(m => m.dataset.acted);
  // An acted grow or shrink of the VM whose charts are shown, if there is one.
  const mine = ms.filter(x => x.dataset.acted.split('\n').some(k => JSON.parse(k)[1] === %s));
  const pool = mine.length ? mine : ms;
  const m = pool.find(x => x.classList.contains('shrink') || x.classList.contains('grow')) || pool[0];
  m.scrollIntoView({block: 'center', inline: 'nearest'});
  const r = m.getBoundingClientRect();
  return { key: m.dataset.acted.split('\n')[0], keys: m.dataset.keys,
           x: r.left + r.width / 2, y: r.top + r.height / 2,
           why_hidden: document.getElementById('why').hidden };
})()''' % json.dumps(a.vm))
    if not target['why_hidden']:
        raise Failed('the reason panel was open before any click')
    hit = b.eval('document.elementFromPoint(%f, %f).dataset.keys' % (target['x'], target['y']))
    if hit != target['keys']:
        raise Failed('the mark is covered at its centre (%r there)' % hit)
    for kind in ('mouseMoved', 'mousePressed', 'mouseReleased'):
        b.call('Input.dispatchMouseEvent', {'type': kind, 'x': target['x'], 'y': target['y'],
                                            'button': 'left', 'clickCount': 1})
    why = b.wait_for(r'''
(() => {
  const w = document.getElementById('why');
  const a = [...w.querySelectorAll('article.decision')].find(x => x.dataset.key === %s);
  const r = w.getBoundingClientRect();
  const reason = a ? a.querySelector('dd.reason') : null;
  return { ok: !w.hidden && r.height > 0 && !!reason && reason.getBoundingClientRect().height > 0,
           text: a ? a.innerText : w.innerText, reason: reason ? reason.textContent : '',
           shown: w.querySelectorAll('article.decision').length };
})()''' % json.dumps(target['key']), 5, 'the reason shown after one click')
    log('clicked the mark of %d decision(s); %s: %s' % (why['shown'], target['key'], why['reason']))
    # The same decision, read from the API on our own, must be what the panel says.
    t_ms, vmname, policy, resource = json.loads(target['key'])[:4]
    entries = api_get(a.url, a.token, a.ca, '/api/v1/decisions?limit=1000&vm=' +
                      urllib.parse.quote(vmname))['decisions']
    same = [e for e in entries if e['time_ms'] == t_ms and e.get('policy') == policy and
            e.get('resource', '') == resource and not e.get('intent')]
    if not same:
        raise Failed('decision %s is not in /api/v1/decisions' % target['key'])
    e = same[-1]
    for want in [e['reason'], e['vm'], e['policy'], e['action']] + \
            [c['name'] for c in e.get('checks', [])]:
        if want not in why['text']:
            raise Failed('the panel does not say %r; it says: %s' % (want, why['text']))
    if not why['reason'].startswith(e['reason']):
        raise Failed('reason %r shown as %r' % (e['reason'], why['reason']))

    # An untrusted VM name is text, never markup.
    if a.xss_name:
        x = b.eval('''(() => ({ shown: document.getElementById('vms').textContent.includes(%s),
            tags: document.querySelectorAll('main b, main i, main img, main script').length }))()'''
                   % json.dumps(a.xss_name))
        if not x['shown'] or x['tags']:
            raise Failed('VM name %r: shown as text %s, elements made of it %d' % (
                a.xss_name, x['shown'], x['tags']))
        log('untrusted VM name shown as text, no element made of it')

    # Screenshot of the whole page at 1280 px.
    b.eval('window.scrollTo(0, 0)')
    lm = b.call('Page.getLayoutMetrics')
    size = lm.get('cssContentSize') or lm['contentSize']
    shot = b.call('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': True,
                  'clip': {'x': 0, 'y': 0, 'width': 1280, 'height': min(size['height'], 4000),
                           'scale': 1}}, timeout=60)
    png = os.path.join(a.out, 'dashboard-1280.png')
    with open(png, 'wb') as f:
        f.write(base64.b64decode(shot['data']))
    w, h, ink, blue, verm = png_stats(png)
    log('screenshot %s: %dx%d, %.1f%% drawn, %d blue and %d vermillion samples' % (
        png, w, h, 100 * ink, blue, verm))
    if ink < 0.03 or blue < a.line_px or verm < a.line_px:
        raise Failed('the screenshot looks blank or lacks the palette')

    # Fits the window at 1280 and 700 px.
    for width in (1280, 700):
        b.call('Emulation.setDeviceMetricsOverride', {'width': width, 'height': 1000,
                                                      'deviceScaleFactor': 1, 'mobile': False})
        f = b.wait_for(MEASURE_FIT, 10, 'the page fitted into %d px' % width)
        log('at %d px: page %d px wide, charts %s px' % (width, f['scroll'], f['widths']))
    shot = b.call('Page.captureScreenshot', {'format': 'png'}, timeout=60)
    with open(os.path.join(a.out, 'dashboard-700.png'), 'wb') as f:
        f.write(base64.b64decode(shot['data']))

    # Nothing went wrong in the page.
    bad = []
    for ev in b.events:
        p = ev.get('params', {})
        if ev['method'] == 'Runtime.exceptionThrown':
            bad.append('exception: ' + json.dumps(p.get('exceptionDetails', {}))[:300])
        elif ev['method'] == 'Log.entryAdded' and p['entry'].get('level') == 'error':
            bad.append('log: %s %s' % (p['entry'].get('source'), p['entry'].get('text')))
        elif ev['method'] == 'Runtime.consoleAPICalled' and p.get('type') in ('error', 'assert'):
            bad.append('console: ' + json.dumps(p.get('args'))[:300])
        elif ev['method'] == 'Page.javascriptDialogOpening':
            bad.append('a dialog opened: ' + p.get('message', ''))
        elif ev['method'] == 'Network.loadingFailed':
            bad.append('request failed: %s %s' % (p.get('errorText'), p.get('blockedReason', '')))
        elif ev['method'] == 'Network.responseReceived' and p['response']['status'] >= 400:
            bad.append('HTTP %d for %s' % (p['response']['status'], p['response']['url']))
    err = b.eval("document.getElementById('error').hidden ? '' : "
                 "document.getElementById('error').textContent")
    if err:
        bad.append('the page shows an error: ' + err)
    if bad:
        raise Failed('the page reported problems:\n  ' + '\n  '.join(bad[:10]))
    log('no script error, CSP violation or failed request')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--token', required=True)
    ap.add_argument('--ca', required=True)
    ap.add_argument('--server-cert', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--vm', required=True, help='the VM whose charts must have data')
    ap.add_argument('--xss-name', default='')
    ap.add_argument('--points', type=int, default=3)
    ap.add_argument('--timeout', type=int, default=120)
    ap.add_argument('--line-px', type=int, default=20,
                    help='pixels of each line the VM memory chart must have')
    a = ap.parse_args()
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if not exe:
        log('FAILED: chromium is not installed (tools/debian-packages.txt lists it)')
        return 1
    tmp = tempfile.mkdtemp(prefix='vmp-dash-chrome-')
    profile = os.path.join(tmp, 'profile')
    os.mkdir(profile)
    args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--hide-scrollbars', '--window-size=1280,1000',
            '--ignore-certificate-errors-spki-list=' + spki_sha256_b64(a.server_cert)]
    b = Browser(exe, args, profile)
    log('chromium pid %d' % b.proc.pid)
    try:
        run(a, b)
        return 0
    except Failed as e:
        log('FAILED: %s' % e)
        try:   # what the page looked like, for whoever reads the log
            shot = b.call('Page.captureScreenshot', {'format': 'png'}, timeout=20)
            with open(os.path.join(a.out, 'dashboard-failed.png'), 'wb') as f:
                f.write(base64.b64decode(shot['data']))
            log('screenshot of the failure: ' + os.path.join(a.out, 'dashboard-failed.png'))
        except (Failed, OSError):
            pass
        try:
            with open(os.path.join(tmp, 'chrome.err')) as f:
                err = f.read()[-2000:]
            if err.strip():
                log('chromium said:\n' + err)
        except OSError:
            pass
        return 1
    finally:
        b.kill()
        log('chromium pid %d killed' % b.proc.pid)
        shutil.rmtree(tmp, ignore_errors=True)


sys.exit(main())
