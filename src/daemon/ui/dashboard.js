// SPDX-License-Identifier: MIT
// The vmpilotd dashboard (doc/dashboard.md): hosts and VMs with live numbers from
// /api/v1/status, demand against allocation over time from /api/v1/history (uPlot),
// decisions on a timeline with their reasons from /api/v1/decisions, the action budget.
// Every string from the API reaches the page through textContent or setAttribute: the
// Content-Security-Policy requires Trusted Types, so an HTML sink (innerHTML) throws.
'use strict';

(function () {
	// Okabe-Ito: told apart with any colour vision (as the simulate report uses).
	var C = {
		blue: '#0072B2', vermillion: '#D55E00', green: '#009E73', orange: '#E69F00',
		sky: '#56B4E9', purple: '#CC79A7', yellow: '#F0E442', black: '#000000', grey: '#777777',
	};
	var ACTION_COLOUR = { grow: C.blue, shrink: C.vermillion, set: C.green, none: C.grey,
		event: C.orange };
	var STATUS_MS = 5000, SLOW_MS = 15000, CHART_H = 190, DECISIONS_MAX = 2000;
	var WINDOWS = [['15 minutes', 15 * 60e3], ['1 hour', 3600e3], ['6 hours', 6 * 3600e3],
		['1 day', 86400e3], ['7 days', 7 * 86400e3], ['30 days', 30 * 86400e3]];
	// What each reason name of the journal means (core/decision.h).
	var REASONS = {
		steady: 'the target is inside the dead band: nothing to change',
		target: 'moved toward the recommender\'s target (the demand model\'s percentile plus headroom)',
		guest_pressure: 'the guest signalled memory pressure: immediate bump',
		saturated: 'the vCPUs are busy: one more is hot-added',
		idle: 'the vCPUs are idle: one is removed',
		stats_missing: 'no shrink: the guest\'s statistics are missing or stale',
		cooldown: 'too soon after the last change',
		at_bound: 'already at its minimum or maximum, or at the protected floor',
		host_pressure: 'the host is short of free memory: memory is reclaimed',
		host_relief: 'the host\'s memory pressure is over: memory is given back',
		budget: 'the hourly action budget is spent',
		opt_out: 'the VM opted out of automatic changes',
		migrating: 'the VM is migrating: hands off',
		learning: 'not enough history yet to decide',
		ksm_tune: 'KSM scan rate changed (ksmtuned-style)',
		host_overload: 'the host\'s CPU is overloaded: a VM is moved away',
		consolidate: 'the host is nearly idle: it is emptied onto the others',
	};

	var st = {
		status: null, win: 3600e3, sel: null, decisions: [], open: null,
		vmCharts: [], hostCharts: [], dataFrom: null, errors: {},
	};

	// ---- small helpers ----

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}

	function add(parent, tag, cls, text) {
		return parent.appendChild(el(tag, cls, text));
	}

	function known(v) {
		return v !== null && v !== undefined && !(typeof v === 'number' && isNaN(v));
	}

	function kib(v) {
		if (!known(v))
			return '–';
		if (Math.abs(v) >= 1048576)
			return (v / 1048576).toFixed(2) + ' GiB';
		return (v / 1024).toFixed(0) + ' MiB';
	}

	function num(v, digits) {
		return known(v) ? Number(v).toFixed(digits) : '–';
	}

	// A resource's value in its unit ("memory_kib" in KiB, "vcpus", ...).
	function amount(resource, v) {
		if (!known(v))
			return '–';
		if (/_kib$/.test(resource))
			return kib(v);
		if (/_kibps$/.test(resource))
			return (v / 1024).toFixed(1) + ' MiB/s';
		return String(Math.round(v * 100) / 100);
	}

	// hh:mm:ss today, else with the date.
	function shortClock(ms) {
		var d = new Date(ms), today = new Date(now()).toDateString() === d.toDateString();
		return today ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit',
			second: '2-digit', hour12: false }) : clock(ms);
	}

	function clock(ms) {
		var d = new Date(ms);
		return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit',
			minute: '2-digit', second: '2-digit' });
	}

	function now() {
		return st.status ? st.status.time_ms : Date.now();
	}

	function getJSON(path) {
		return fetch(path, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
			return r.json().catch(function () { return {}; }).then(function (body) {
				if (!r.ok)
					throw new Error(path.split('?')[0] + ': ' + r.status + ' ' +
						(body && body.error ? body.error : r.statusText));
				return body;
			});
		});
	}

	// One message per source (status, history, decisions), cleared when it answers again.
	function showError(where, e) {
		st.errors[where] = where + ': ' + String(e && e.message ? e.message : e);
		renderErrors();
	}

	function clearError(where) {
		if (st.errors[where]) {
			delete st.errors[where];
			renderErrors();
		}
	}

	function renderErrors() {
		var box = document.getElementById('error'), keys = Object.keys(st.errors);
		box.textContent = keys.map(function (k) { return st.errors[k]; }).join(' · ');
		box.hidden = keys.length === 0;
	}

	function vmKey(host, vm) {
		return host + '\u0000' + vm;
	}

	function allVMs() {
		var out = [];
		if (st.status)
			st.status.hosts.forEach(function (h) {
				h.vms.forEach(function (v) { out.push({ host: h.uri, vm: v }); });
			});
		return out;
	}

	// ---- hosts, VMs, budget ----

	function renderSummary(s) {
		var parts = ['cycle ' + s.cycle, 'at ' + clock(s.time_ms),
			'cycle took ' + s.cycle_duration_ms + ' ms'];
		if (s.paused)
			parts.push('loop paused');
		if (s.dry_run)
			parts.push('dry run');
		if (s.journal_failing)
			parts.push('journal failing: acting as dry run');
		document.getElementById('summary').textContent = parts.join(' · ');
	}

	function meter(parent, used, total, label) {
		var m = add(parent, 'meter');
		m.min = 0;
		m.max = known(total) && total > 0 ? total : 1;
		m.value = known(used) ? Math.max(0, used) : 0;
		m.setAttribute('aria-label', label);
		return m;
	}

	function renderHosts(s) {
		var box = document.getElementById('hosts');
		box.replaceChildren();
		s.hosts.forEach(function (h) {
			var card = add(box, 'article', 'card' + (h.ok ? '' : ' down'));
			var dl, used = known(h.mem_total_kib) && known(h.mem_available_kib) ?
				h.mem_total_kib - h.mem_available_kib : null;
			add(card, 'h3', null, h.uri);
			dl = add(card, 'dl');
			function row(k, v) {
				add(dl, 'dt', null, k);
				return add(dl, 'dd', null, v);
			}
			row('state', h.ok ? 'up' : 'unreachable');
			if (h.fault)
				row('fault', h.fault).className = 'fault';
			row('mode', h.mode);
			row('VMs', h.vms.length);
			meter(row('memory', kib(used) + ' used of ' + kib(h.mem_total_kib)), used,
				h.mem_total_kib, 'memory used');
			meter(row('CPU', num(h.cpu_used_cores, 2) + ' of ' + num(h.cpu_capacity_cores, 0) +
				' cores'), h.cpu_used_cores, h.cpu_capacity_cores, 'CPU used');
			// The action budget: actions of each kind left in the sliding hour.
			Object.keys(h.budget_left || {}).forEach(function (k) {
				var left = h.budget_left[k], of = (h.budget_per_hour || {})[k], dd;
				dd = row('budget ' + k, left + (known(of) ? ' of ' + of : '') + ' left this hour');
				dd.className = 'budget' + (left === 0 ? ' spent' : '');
				if (known(of))
					meter(dd, left, of, k + ' budget left');
			});
		});
	}

	function renderVMs(s) {
		var body = document.querySelector('#vms tbody');
		body.replaceChildren();
		allVMs().forEach(function (x) {
			var v = x.vm, tr = add(body, 'tr'), th = add(tr, 'th'), b, d;
			var acts = (v.decisions || []).filter(function (e) { return e.action !== 'none'; });
			th.scope = 'row';
			b = add(th, 'button', 'link', v.name);
			b.type = 'button';
			b.title = 'chart this VM';
			b.addEventListener('click', function () { selectVM(x.host, v.name); });
			if (st.sel && st.sel.host === x.host && st.sel.vm === v.name)
				tr.className = 'selected';
			add(tr, 'td', null, x.host);
			add(tr, 'td', null, v.state + (v.migrating ? ' (migrating)' : '') +
				(v.fault ? ': ' + v.fault : ''));
			add(tr, 'td', null, v.mode + (v.pinned ? ', pinned' : ''));
			add(tr, 'td', 'num', kib(v.mem_demand_kib));
			add(tr, 'td', 'num', kib(v.mem_alloc_kib));
			add(tr, 'td', 'num', kib(v.mem_max_kib));
			add(tr, 'td', 'num', num(v.cpu_used_cores, 2));
			add(tr, 'td', 'num', v.vcpus + ' / ' + v.vcpus_max);
			d = acts[0] || (v.decisions || [])[0];
			add(tr, 'td', null, d ? d.policy + ': ' + d.action + ' ' + amount(d.resource, d.from) +
				(d.action === 'none' ? '' : ' → ' + amount(d.resource, d.to)) + ' (' + d.reason +
				')' + (d.action !== 'none' && !d.acted ? ', not acted' : '') : '–');
		});
	}

	// ---- charts: demand against allocation over time ----

	function fmtAxis(unit) {
		return function (u, vals) {
			return vals.map(function (v) { return v === null ? '' : (+v.toFixed(2)) + ' ' + unit; });
		};
	}

	function marksFor(host, vm, resource) {
		return st.decisions.filter(function (d) {
			return d.host === host && d.vm === vm && d.entry.resource === resource &&
				d.entry.action !== 'none';
		});
	}

	// A uPlot chart of used against allocated (and the step's peak), with the decisions
	// on that resource as vertical lines (colour and dash by action).
	function makeChart(box, title, unit, names, marks) {
		var fig = add(box, 'figure', 'chart'), holder, u;
		add(fig, 'figcaption', null, title);
		holder = add(fig, 'div', 'plot');
		u = new uPlot({
			width: Math.max(200, holder.clientWidth || box.clientWidth || 400),
			height: CHART_H,
			scales: { x: { time: true }, y: { range: function (self, min, max) {
				return [0, known(max) && max > 0 ? max * 1.1 : 1];
			} } },
			series: [
				{},
				{ label: names[0], stroke: C.blue, width: 2 },
				{ label: names[1], stroke: C.vermillion, width: 2,
					paths: uPlot.paths.stepped({ align: 1 }) },
				{ label: names[2], stroke: C.sky, width: 1, dash: [4, 4] },
			],
			axes: [{}, { values: fmtAxis(unit), size: 70 }],
			legend: { live: true },
			hooks: {
				draw: [function (self) {
					var ctx = self.ctx, top = self.bbox.top, h = self.bbox.height;
					marks().forEach(function (d) {
						var x = self.valToPos(d.entry.time_ms / 1000, 'x', true);
						if (x < self.bbox.left || x > self.bbox.left + self.bbox.width)
							return;
						ctx.save();
						ctx.strokeStyle = ACTION_COLOUR[d.entry.action] || C.black;
						ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
						ctx.setLineDash(d.entry.action === 'shrink' ? [6, 4] : []);
						ctx.beginPath();
						ctx.moveTo(x, top);
						ctx.lineTo(x, top + h);
						ctx.stroke();
						ctx.restore();
					});
				}],
			},
		}, [[], [], [], []], holder);
		fig.dataset.points = '0';
		return { u: u, fig: fig, holder: holder };
	}

	// History columns into uPlot data: x in seconds, values scaled (KiB to GiB).
	function toData(h, cols, scale) {
		var idx = {}, x = [], out;
		h.columns.forEach(function (c, i) { idx[c] = i; });
		out = cols.map(function () { return []; });
		h.points.forEach(function (p) {
			x.push(p[idx.t_ms] / 1000);
			cols.forEach(function (c, i) {
				var v = p[idx[c]];
				out[i].push(known(v) ? v * scale : null);
			});
		});
		return [x].concat(out);
	}

	// The x axis spans the window, or from the first sample on when the history is
	// younger than the window (a freshly started daemon).
	function setChart(ch, data, from, to, step) {
		var first = data[0].length ? data[0][0] * 1000 - step : from;
		if (data[0].length && (!known(st.dataFrom) || first < st.dataFrom))
			st.dataFrom = first;
		ch.u.setData(data);
		ch.u.setScale('x', { min: Math.max(from, first) / 1000, max: to / 1000 });
		ch.fig.dataset.points = String(data[0].length);
	}

	function chartPair(box, host, vm, h) {
		var isHost = vm === '', who = isHost ? 'host ' + host : vm;
		var mem = makeChart(box, 'memory of ' + who + (isHost ? ': used and total' :
			': demand and allocation'), 'GiB', isHost ? ['used', 'total', 'peak used'] :
			['demand', 'allocation', 'peak demand'],
			function () { return marksFor(host, vm, 'memory_kib'); });
		var cpu = makeChart(box, 'CPU of ' + who + (isHost ? ': used and capacity' :
			': used and vCPUs'), 'cores', isHost ? ['used', 'capacity', 'peak used'] :
			['used', 'vCPUs', 'peak used'],
			function () { return marksFor(host, vm, 'vcpus'); });
		mem.fig.dataset.host = host;
		mem.fig.dataset.vm = vm;
		mem.fig.dataset.kind = 'memory';
		cpu.fig.dataset.host = host;
		cpu.fig.dataset.vm = vm;
		cpu.fig.dataset.kind = 'cpu';
		return [mem, cpu];
	}

	function fillPair(pair, h, from, to) {
		setChart(pair[0], toData(h, ['mem_used_kib', 'mem_alloc_kib', 'mem_used_max_kib'],
			1 / 1048576), from, to, h.step_ms);
		setChart(pair[1], toData(h, ['cpu_used', 'cpu_alloc', 'cpu_used_max'], 1), from, to,
			h.step_ms);
	}

	function destroy(list) {
		list.forEach(function (ch) { ch.u.destroy(); });
	}

	function historyURL(host, vm, from, to) {
		return 'api/v1/history?host=' + encodeURIComponent(host) + '&vm=' +
			encodeURIComponent(vm) + '&from_ms=' + Math.floor(from) + '&to_ms=' + Math.ceil(to);
	}

	function buildCharts() {
		var vmBox = document.getElementById('vm-charts');
		var hostBox = document.getElementById('host-charts');
		destroy(st.vmCharts);
		destroy(st.hostCharts);
		vmBox.replaceChildren();
		hostBox.replaceChildren();
		st.vmCharts = st.sel ? chartPair(vmBox, st.sel.host, st.sel.vm) : [];
		st.hostCharts = [];
		if (st.status)
			st.status.hosts.forEach(function (h) {
				st.hostCharts = st.hostCharts.concat(chartPair(hostBox, h.uri, ''));
			});
		loadHistory();
	}

	function loadHistory() {
		var to = now(), from = to - st.win, jobs = [], i;
		if (st.sel && st.vmCharts.length)
			jobs.push(getJSON(historyURL(st.sel.host, st.sel.vm, from, to)).then(function (h) {
				fillPair(st.vmCharts, h, from, to);
			}));
		for (i = 0; i < st.hostCharts.length; i += 2)
			(function (pair) {
				jobs.push(getJSON(historyURL(pair[0].fig.dataset.host, '', from, to))
					.then(function (h) { fillPair(pair, h, from, to); }));
			})(st.hostCharts.slice(i, i + 2));
		return Promise.all(jobs).then(function () {
			clearError('history');
			renderTimeline();
		}).catch(function (e) { showError('history', e); });
	}

	function resizeCharts() {
		st.vmCharts.concat(st.hostCharts).forEach(function (ch) {
			var w = Math.max(200, ch.holder.clientWidth);
			if (Math.abs(w - ch.u.width) > 1)
				ch.u.setSize({ width: w, height: CHART_H });
		});
	}

	// The selected VM is kept in the address (#vm=NAME&host=URI): a link to its charts.
	function fromHash() {
		var q = new URLSearchParams(location.hash.replace(/^#/, ''));
		return q.get('vm') ? { host: q.get('host') || '', vm: q.get('vm') } : null;
	}

	function selectVM(host, vm) {
		st.sel = { host: host, vm: vm };
		history.replaceState(null, '', '#' + new URLSearchParams({ vm: vm, host: host }));
		renderChooser();
		renderVMs(st.status);
		buildCharts();
	}

	function renderChooser() {
		var sel = document.getElementById('vm-choice'), list = allVMs();
		sel.replaceChildren();
		list.forEach(function (x, i) {
			var o = add(sel, 'option', null, x.vm.name + ' on ' + x.host);
			o.value = String(i);
			if (st.sel && st.sel.host === x.host && st.sel.vm === x.vm.name)
				o.selected = true;
		});
		sel.disabled = list.length === 0;
	}

	// ---- decisions: timeline, list, reasons ----

	// Journal entries into decisions to show: an intent followed by its outcome shows once.
	function digest(entries) {
		var out = [], i, e, j, later;
		for (i = 0; i < entries.length; i++) {
			e = entries[i];
			if (e.intent) {
				later = false;
				for (j = i + 1; j < entries.length && !later; j++)
					later = !entries[j].intent && entries[j].vm === e.vm &&
						entries[j].policy === e.policy && entries[j].resource === e.resource &&
						entries[j].to === e.to;
				if (later)
					continue;
			}
			out.push({ entry: e, host: e.host || '', vm: e.vm || '',
				key: JSON.stringify([e.time_ms, e.vm || '', e.policy || '', e.resource || '',
					e.event || '']) });
		}
		return out;
	}

	function kindOf(e) {
		return e.policy === 'event' ? 'event' : e.action || 'none';
	}

	function outcome(e) {
		if (e.policy === 'event')
			return 'event';
		if (e.error)
			return 'failed: ' + e.error;
		if (e.intent)
			return 'intended (no outcome journaled)';
		if (e.acted)
			return 'acted';
		if (e.action === 'none')
			return 'no action';
		if (e.dry_run)
			return 'not acted: dry run';
		if (e.mode && e.mode !== 'act')
			return 'not acted: mode ' + e.mode;
		return 'not acted';
	}

	function headline(e) {
		if (e.policy === 'event')
			return (e.vm ? e.vm + ': ' : '') + e.event;
		return (e.vm ? e.vm : 'host') + ': ' + e.policy + ' ' + e.action + ' ' + e.resource + ' ' +
			amount(e.resource, e.from) + (e.action === 'none' ? '' : ' → ' + amount(e.resource, e.to));
	}

	function loadDecisions() {
		var from = now() - st.win;
		return getJSON('api/v1/decisions?limit=' + DECISIONS_MAX + '&since_ms=' +
			Math.floor(from))
			.then(function (r) {
				clearError('decisions');
				st.decisions = digest(r.decisions || []);
				st.truncated = (r.decisions || []).length >= DECISIONS_MAX;
				renderTimeline();
				renderDecisionList();
				st.vmCharts.concat(st.hostCharts).forEach(function (ch) { ch.u.redraw(false); });
				if (st.open)
					showWhy(st.open, false);
			}).catch(function (e) { showError('decisions', e); });
	}

	// Where the timeline starts: the window's start, or later when the daemon's history
	// and decisions are younger (so a fresh daemon's marks do not crowd at the right).
	function spanFrom() {
		var to = now(), from = to - st.win, first = known(st.dataFrom) ? st.dataFrom : from;
		st.decisions.forEach(function (d) { first = Math.min(first, d.entry.time_ms); });
		return Math.max(from, first - (to - first) * 0.02);
	}

	// How much a decision matters on the timeline: what a group's mark shows.
	function weight(e) {
		if (e.policy === 'event')
			return 1;
		if (e.action === 'none')
			return 0;
		return e.acted ? 3 : 2;
	}

	// One lane per VM (and per host for host-wide decisions and events); decisions closer
	// than a mark's width share one mark, which opens all of them.
	function renderTimeline() {
		var box = document.getElementById('timeline'), to = now(), from = spanFrom();
		var lanes = {}, order = [], axis, k, px = 0, MARK_PX = 16;
		box.replaceChildren();
		box.dataset.count = String(st.decisions.length);
		st.decisions.forEach(function (d) {
			var key = vmKey(d.host, d.vm), lane, track;
			if (!lanes[key]) {
				lane = add(box, 'div', 'lane');
				add(lane, 'div', 'lane-label', d.vm ? d.vm : (d.host ? 'host ' + d.host : 'daemon'))
					.title = d.vm ? d.vm + ' on ' + d.host : d.host;
				track = add(lane, 'div', 'track');
				lanes[key] = { track: track, groups: [] };
				order.push(key);
			}
			lanes[key].groups.push(d);
		});
		if (order.length)
			px = lanes[order[0]].track.clientWidth || 600;
		order.forEach(function (key) {
			var lane = lanes[key], groups = [], cur = null;
			lane.groups.sort(function (x, y) { return x.entry.time_ms - y.entry.time_ms; });
			lane.groups.forEach(function (d) {
				var left = Math.min(1, Math.max(0, (d.entry.time_ms - from) / (to - from)));
				if (!cur || (left - cur.left) * px > MARK_PX) {
					cur = { left: left, ds: [] };
					groups.push(cur);
				}
				cur.ds.push(d);
			});
			groups.forEach(function (g) {
				var top = g.ds.reduce(function (x, y) {
					return weight(y.entry) >= weight(x.entry) ? y : x;
				}), e = top.entry, b, label;
				b = add(lane.track, 'button', 'mark ' + kindOf(e) + (e.acted ? ' acted' : ''));
				b.type = 'button';
				b.style.left = g.left * 100 + '%';
				b.dataset.keys = JSON.stringify(g.ds.map(function (d) { return d.key; }));
				b.dataset.acted = g.ds.filter(function (d) {
					return d.entry.acted && d.entry.policy !== 'event';
				}).map(function (d) { return d.key; }).join('\n');
				if (g.ds.length > 1)
					add(b, 'span', 'count', g.ds.length);
				label = g.ds.map(function (d) {
					return clock(d.entry.time_ms) + ' ' + headline(d.entry) + ' (' +
						(d.entry.reason || d.entry.message || '') + ')';
				});
				b.setAttribute('aria-label', label.join('; '));
				b.title = label.slice(0, 8).join('\n') + (label.length > 8 ? '\n…' : '');
				b.addEventListener('click', function () {
					showWhy(g.ds.map(function (d) { return d.key; }), true);
				});
			});
		});
		if (!order.length)
			add(box, 'p', 'empty', 'No decisions in this window.');
		if (st.truncated)
			add(box, 'p', 'empty', 'Only the newest ' + DECISIONS_MAX + ' decisions of this ' +
				'window are shown (vmpilot why VM reads them all).');
		axis = add(box, 'div', 'lane axis');
		add(axis, 'div', 'lane-label');
		k = add(axis, 'div', 'track ticks');
		[0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
			var t = add(k, 'span', 'tick', new Date(from + f * (to - from)).toLocaleTimeString(
				undefined, { hour: '2-digit', minute: '2-digit', second: to - from < 3600e3 ?
					'2-digit' : undefined }));
			t.style.left = f * 100 + '%';
		});
	}

	function renderDecisionList() {
		var body = document.querySelector('#decision-list tbody'), n = 0;
		body.replaceChildren();
		for (var i = st.decisions.length - 1; i >= 0 && n < 200; i--, n++)
			(function (d) {
				var e = d.entry, tr = add(body, 'tr'), b;
				b = add(add(tr, 'td'), 'button', 'link', shortClock(e.time_ms));
				b.title = clock(e.time_ms);
				b.type = 'button';
				b.dataset.keys = JSON.stringify([d.key]);
				b.addEventListener('click', function () { showWhy([d.key], true); });
				add(tr, 'td', null, e.vm || (e.host ? 'host' : 'daemon'));
				add(tr, 'td', null, e.policy === 'event' ? 'event: ' + e.event : e.policy);
				add(tr, 'td', 'kind ' + kindOf(e), e.policy === 'event' ? '' : e.action);
				add(tr, 'td', 'num', e.policy === 'event' ? '' : amount(e.resource, e.from) +
					(e.action === 'none' ? '' : ' → ' + amount(e.resource, e.to)));
				add(tr, 'td', null, e.policy === 'event' ? e.message : e.reason);
				add(tr, 'td', null, outcome(e));
			})(st.decisions[i]);
	}

	// One decision's reason, outcome, checks, rejected alternatives and inputs.
	function explain(parent, e, key) {
		var art = add(parent, 'article', 'decision'), dl, t, tb;
		art.dataset.key = key;
		add(art, 'h3', null, headline(e));
		dl = add(art, 'dl', 'facts');
		function row(k, v) {
			add(dl, 'dt', null, k);
			return add(dl, 'dd', null, v);
		}
		row('when', clock(e.time_ms));
		if (e.host)
			row('host', e.host);
		if (e.policy === 'event') {
			row('event', e.event);
			row('message', e.message).className = 'reason';
		} else {
			row('reason', e.reason + (REASONS[e.reason] ? ': ' + REASONS[e.reason] : ''))
				.className = 'reason';
			row('outcome', outcome(e));
			if (e.mode)
				row('mode', e.mode);
		}
		if (e.checks && e.checks.length) {
			add(art, 'h4', null, 'Checks');
			t = add(add(art, 'div', 'scroll'), 'table', 'checks');
			tb = add(add(t, 'thead'), 'tr');
			['check', 'value', 'limit', 'crossed'].forEach(function (h) { add(tb, 'th', null, h); });
			tb = add(t, 'tbody');
			e.checks.forEach(function (c) {
				var tr = add(tb, 'tr', c.crossed ? 'crossed' : null);
				add(tr, 'td', null, c.name);
				add(tr, 'td', 'num', known(c.value) ? +Number(c.value).toFixed(3) : '–');
				add(tr, 'td', 'num', known(c.limit) ? +Number(c.limit).toFixed(3) : '–');
				add(tr, 'td', null, c.crossed ? 'yes' : 'no');
			});
		}
		if (e.rejected && e.rejected.length) {
			add(art, 'h4', null, 'Alternatives rejected');
			t = add(art, 'ul', 'rejected');
			e.rejected.forEach(function (r) {
				add(t, 'li', null, r.alternative + ' (' + amount(e.resource, r.value) + '): ' + r.why);
			});
		}
		if (e.inputs && typeof e.inputs === 'object') {
			add(art, 'h4', null, 'What the policy saw');
			t = add(art, 'dl', 'facts');
			Object.keys(e.inputs).forEach(function (k) {
				var v = e.inputs[k];
				add(t, 'dt', null, k);
				add(t, 'dd', null, typeof v === 'object' ? JSON.stringify(v) : String(v));
			});
		}
	}

	// The decisions of a mark or a list row in the side panel, the most important first.
	function showWhy(keys, scroll) {
		var box = document.getElementById('why'), body = document.getElementById('why-body');
		var ds = st.decisions.filter(function (x) { return keys.indexOf(x.key) >= 0; });
		var want = JSON.stringify(keys);
		ds.sort(function (x, y) { return weight(y.entry) - weight(x.entry); });
		st.open = keys;
		document.querySelectorAll('.chosen').forEach(function (m) { m.classList.remove('chosen'); });
		document.querySelectorAll('[data-keys]').forEach(function (m) {
			if (m.dataset.keys === want)
				(m.classList.contains('mark') ? m : m.closest('tr')).classList.add('chosen');
		});
		body.replaceChildren();
		if (!ds.length)
			add(body, 'p', null, 'That decision is no longer in the window.');
		ds.forEach(function (d) { explain(body, d.entry, d.key); });
		box.hidden = false;
		if (scroll && box.scrollIntoView)
			box.scrollIntoView({ block: 'nearest' });
	}

	// ---- refresh ----

	function refreshStatus() {
		return getJSON('api/v1/status').then(function (s) {
			var first = !st.status, list, hostsChanged;
			hostsChanged = !st.status || st.status.hosts.map(function (h) { return h.uri; }).join() !==
				s.hosts.map(function (h) { return h.uri; }).join();
			st.status = s;
			clearError('status');
			renderSummary(s);
			renderHosts(s);
			list = allVMs();
			if (first && fromHash()) {
				st.sel = fromHash();
				list.forEach(function (x) {   /* a link without its host */
					if (!st.sel.host && x.vm.name === st.sel.vm)
						st.sel.host = x.host;
				});
			}
			if (!st.sel || !list.some(function (x) { return x.host === st.sel.host &&
				x.vm.name === st.sel.vm; })) {
				st.sel = list.length ? { host: list[0].host, vm: list[0].vm.name } : null;
				hostsChanged = true;
			}
			renderVMs(s);
			renderChooser();
			if (first || hostsChanged) {
				buildCharts();
				loadDecisions();
			}
		}).catch(function (e) { showError('status', e); });
	}

	function init() {
		var win = document.getElementById('window');
		WINDOWS.forEach(function (w) {
			var o = add(win, 'option', null, w[0]);
			o.value = String(w[1]);
			o.selected = w[1] === st.win;
		});
		win.addEventListener('change', function () {
			st.win = Number(win.value);
			st.dataFrom = null;
			loadHistory();
			loadDecisions();
		});
		document.getElementById('vm-choice').addEventListener('change', function (ev) {
			var x = allVMs()[Number(ev.target.value)];
			if (x)
				selectVM(x.host, x.vm.name);
		});
		document.getElementById('why-close').addEventListener('click', function () {
			st.open = null;
			document.getElementById('why').hidden = true;
			document.querySelectorAll('.chosen').forEach(function (m) { m.classList.remove('chosen'); });
		});
		window.addEventListener('resize', function () {
			resizeCharts();
			renderTimeline();
		});
		if (window.ResizeObserver)
			new ResizeObserver(resizeCharts).observe(document.querySelector('main'));
		if (typeof uPlot === 'undefined') {
			showError('charts', 'uPlot did not load');
			return;
		}
		refreshStatus();
		setInterval(refreshStatus, STATUS_MS);
		setInterval(function () {
			if (!st.status)
				return;
			loadHistory();
			loadDecisions();
		}, SLOW_MS);
	}

	init();
})();
