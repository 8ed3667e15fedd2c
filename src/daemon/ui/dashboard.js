// SPDX-License-Identifier: MIT
// The vmpilotd dashboard (doc/dashboard.md). Every string from the API reaches the page
// through textContent (the CSP requires Trusted Types, so an HTML sink would throw).
'use strict';

(function () {
	var REFRESH_MS = 5000;

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}

	function kib(v) {
		if (v === null || v === undefined)
			return '–';
		if (v >= 1048576)
			return (v / 1048576).toFixed(2) + ' GiB';
		return (v / 1024).toFixed(0) + ' MiB';
	}

	function num(v, digits) {
		return v === null || v === undefined ? '–' : Number(v).toFixed(digits);
	}

	function getJSON(path) {
		return fetch(path, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
			return r.json().then(function (body) {
				if (!r.ok)
					throw new Error(path + ': ' + r.status + ' ' + (body && body.error ? body.error : ''));
				return body;
			});
		});
	}

	function renderHosts(status) {
		var box = document.getElementById('hosts');
		box.replaceChildren();
		status.hosts.forEach(function (h) {
			var card = el('article', 'card'), dl = el('dl');
			card.appendChild(el('h3', null, h.uri));
			function row(k, v) {
				dl.appendChild(el('dt', null, k));
				dl.appendChild(el('dd', null, v));
			}
			row('state', h.ok ? 'up' : 'unreachable: ' + h.fault);
			row('mode', h.mode);
			row('memory', kib(h.mem_total_kib - h.mem_available_kib) + ' used of ' + kib(h.mem_total_kib));
			row('CPU', num(h.cpu_used_cores, 2) + ' of ' + num(h.cpu_capacity_cores, 0) + ' cores');
			Object.keys(h.budget_left || {}).forEach(function (k) {
				row('budget: ' + k, h.budget_left[k] + ' left this hour');
			});
			card.appendChild(dl);
			box.appendChild(card);
		});
	}

	function renderVMs(status) {
		var body = document.querySelector('#vms tbody');
		body.replaceChildren();
		status.hosts.forEach(function (h) {
			h.vms.forEach(function (v) {
				var tr = el('tr'), d = (v.decisions || [])[0];
				tr.appendChild(el('th', null, v.name)).scope = 'row';
				tr.appendChild(el('td', null, h.uri));
				tr.appendChild(el('td', null, v.state + (v.migrating ? ' (migrating)' : '') +
					(v.fault ? ': ' + v.fault : '')));
				tr.appendChild(el('td', null, v.mode + (v.pinned ? ', pinned' : '')));
				tr.appendChild(el('td', 'num', kib(v.mem_demand_kib)));
				tr.appendChild(el('td', 'num', kib(v.mem_alloc_kib)));
				tr.appendChild(el('td', 'num', kib(v.mem_max_kib)));
				tr.appendChild(el('td', 'num', num(v.cpu_used_cores, 2)));
				tr.appendChild(el('td', 'num', v.vcpus + ' / ' + v.vcpus_max));
				tr.appendChild(el('td', null, d ? d.policy + ': ' + d.action + ' (' + d.reason + ')' : '–'));
				body.appendChild(tr);
			});
		});
	}

	function refresh() {
		getJSON('api/v1/status').then(function (status) {
			document.getElementById('error').hidden = true;
			document.getElementById('summary').textContent = 'cycle ' + status.cycle + ' at ' +
				new Date(status.time_ms).toLocaleTimeString() +
				(status.paused ? ' · loop paused' : '') + (status.dry_run ? ' · dry run' : '') +
				(status.journal_failing ? ' · journal failing: acting as dry run' : '');
			renderHosts(status);
			renderVMs(status);
		}).catch(function (e) {
			var err = document.getElementById('error');
			err.textContent = String(e.message || e);
			err.hidden = false;
		});
	}

	refresh();
	setInterval(refresh, REFRESH_MS);
})();
