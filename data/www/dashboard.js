/* SPDX-License-Identifier: MIT */
/*
 * The vmpilot dashboard: reads /api/v1/status, /api/v1/history and /api/v1/decisions of
 * the daemon that serves it (same origin), draws a VM's memory and CPU over time with
 * uPlot, and its decisions on a timeline; one click on a decision shows its reason, the
 * thresholds checked and the alternatives rejected. Refreshes every 10 s.
 * window.vmpDashboard exposes what was drawn, for the browser test.
 */
(function () {
  'use strict';
  var state = { status: null, vm: null, host: null, charts: {}, decisions: [] };
  window.vmpDashboard = state;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function get(path) {
    return fetch(path, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) return r.json().then(function (j) { throw new Error(path + ': ' + r.status + ' ' + (j.error || '')); });
      return r.json();
    });
  }
  function mib(kib) { return kib == null ? null : kib / 1024; }
  function fmt(x, d) { return x == null ? '-' : Number(x).toFixed(d); }
  function when(ms) { return new Date(ms).toLocaleTimeString(); }

  function drawStatus(s) {
    state.status = s;
    document.getElementById('daemon').textContent = 'cycle ' + s.cycle +
      (s.paused ? ', paused' : '') + (s.dry_run ? ', dry run' : '') +
      (s.journal_failing ? ', JOURNAL FAILING' : '') + ', last cycle ' + s.cycle_duration_ms + ' ms';
    var box = document.getElementById('hosts');
    box.textContent = '';
    s.hosts.forEach(function (h) {
      box.appendChild(el('div', { 'class': 'host' }, h.uri + (h.ok ? '' : ' (down)') + ' \u2014 mode ' + h.mode));
      var b = h.budget_left;
      box.appendChild(el('div', { 'class': 'budget' }, 'budget left this hour: ' + b.balloon +
        ' balloon, ' + b.hotplug + ' hot-plug, ' + b.migration + ' migration'));
      if (h.fault) box.appendChild(el('div', { 'class': 'fault' }, h.fault));
      var t = el('table'), head = el('tr');
      ['VM', 'mode', 'MiB', 'demand', 'vCPUs', 'CPU', 'now'].forEach(function (c) { head.appendChild(el('th', {}, c)); });
      t.appendChild(head);
      h.vms.forEach(function (v) {
        var tr = el('tr', { 'class': 'vm' + (v.name === state.vm ? ' selected' : ''), 'data-vm': v.name });
        var now = v.decisions.filter(function (d) { return d.action !== 'none'; })
          .map(function (d) { return d.resource + ' ' + d.action; }).join(', ') || '-';
        [v.name, v.mode + (v.pinned ? ' (pinned)' : ''), fmt(mib(v.mem_alloc_kib), 0),
         fmt(mib(v.mem_demand_kib), 0), v.vcpus, fmt(v.cpu_used_cores, 2), now].forEach(function (x, i) {
          tr.appendChild(el('td', i >= 2 && i <= 5 ? { 'class': 'num' } : {}, String(x)));
        });
        tr.addEventListener('click', function () { select(h.uri, v.name); });
        t.appendChild(tr);
      });
      box.appendChild(t);
    });
    if (!state.vm) {
      var first = s.hosts.filter(function (h) { return h.vms.length; })[0];
      if (first) select(first.uri, first.vms[0].name);
    }
  }

  function chart(id, title, labels, data, old) {
    var node = document.getElementById(id);
    var width = Math.max(280, node.clientWidth || 480);
    if (old) old.destroy();
    return new uPlot({
      width: width, height: 220, title: title,
      scales: { x: { time: true } },
      series: [{}].concat(labels.map(function (l, i) {
        return { label: l, stroke: ['#0072b2', '#d55e00', '#009e73'][i], width: 2, spanGaps: true };
      })),
      axes: [{}, {}]
    }, data, node);
  }

  function drawHistory(h) {
    var t = [], used = [], alloc = [], cpu = [], vcpu = [];
    h.points.forEach(function (p) {
      t.push(p[0] / 1000); used.push(mib(p[2])); alloc.push(mib(p[3])); cpu.push(p[4]); vcpu.push(p[5]);
    });
    state.history = h;
    state.charts.mem = chart('mem-chart', '', ['demand', 'allocation'], [t, used, alloc], state.charts.mem);
    state.charts.cpu = chart('cpu-chart', '', ['used', 'vCPUs'], [t, cpu, vcpu], state.charts.cpu);
  }

  function showReason(d) {
    var box = document.getElementById('reason');
    box.textContent = '';
    box.hidden = false;
    box.appendChild(el('div', { 'class': 'why' }, when(d.time_ms) + ' \u2014 ' + d.policy + ': ' +
      (d.event ? d.event + ': ' + (d.message || '') :
       d.action + ' ' + d.resource + ' ' + d.from + ' \u2192 ' + d.to + ' because ' + d.reason +
       (d.acted ? ' (done)' : d.error ? ' (failed: ' + d.error + ')' : ' (not done' + (d.mode ? ', mode ' + d.mode : '') + ')'))));
    if (d.checks && d.checks.length) {
      var t = el('table', { 'class': 'checks' }), head = el('tr');
      ['check', 'value', 'limit', 'crossed'].forEach(function (c) { head.appendChild(el('th', {}, c)); });
      t.appendChild(head);
      d.checks.forEach(function (c) {
        var tr = el('tr');
        [c.name, fmt(c.value, 2), fmt(c.limit, 2), c.crossed ? 'yes' : 'no'].forEach(function (x) { tr.appendChild(el('td', {}, x)); });
        t.appendChild(tr);
      });
      box.appendChild(t);
    }
    (d.rejected || []).forEach(function (r) {
      box.appendChild(el('div', { 'class': 'rejected' }, 'rejected: ' + r.alternative + ' ' + r.value + ' \u2014 ' + r.why));
    });
    state.shown = d;
  }

  function drawDecisions(list) {
    state.decisions = list;
    var line = document.getElementById('timeline'), ol = document.getElementById('decisions');
    line.textContent = '';
    ol.textContent = '';
    if (!list.length) { ol.appendChild(el('li', {}, 'no decision yet')); return; }
    var t0 = list[0].time_ms, t1 = list[list.length - 1].time_ms, span = Math.max(1, t1 - t0);
    list.forEach(function (d, i) {
      var label = when(d.time_ms) + ' ' + d.policy + ': ' + (d.event || (d.action + ' (' + d.reason + ')'));
      var dot = el('button', { 'class': 'dot ' + (d.acted ? 'acted' : d.action === 'none' ? 'none' : 'held'),
        title: label, 'aria-label': label, 'data-i': String(i) });
      dot.style.left = (list.length === 1 ? 50 : 100 * (d.time_ms - t0) / span) + '%';
      dot.addEventListener('click', function () { showReason(d); });
      line.appendChild(dot);
      var li = el('li'), b = el('button', { 'class': 'decision', 'data-i': String(i) }, label);
      b.addEventListener('click', function () { showReason(d); });
      li.appendChild(b);
      ol.appendChild(li);
    });
  }

  function select(host, vm) {
    state.host = host;
    state.vm = vm;
    document.getElementById('vm-title').textContent = 'VM ' + vm + ' on ' + host;
    Array.prototype.forEach.call(document.querySelectorAll('tr.vm'), function (tr) {
      tr.classList.toggle('selected', tr.getAttribute('data-vm') === vm);
    });
    var from = Date.now() - 3600 * 1000, q = '?vm=' + encodeURIComponent(vm) + '&host=' + encodeURIComponent(host);
    state.loading = Promise.all([
      get('/api/v1/history' + q + '&from_ms=' + from).then(drawHistory),
      get('/api/v1/decisions?vm=' + encodeURIComponent(vm) + '&limit=50').then(function (r) { drawDecisions(r.decisions); })
    ]).then(function () { state.ready = true; }, function (e) { state.error = String(e); });
  }

  function refresh() {
    get('/api/v1/status').then(function (s) {
      drawStatus(s);
      if (state.vm) select(state.host, state.vm);
    }, function (e) { document.getElementById('daemon').textContent = String(e); state.error = String(e); });
  }
  refresh();
  setInterval(refresh, 10000);
})();
