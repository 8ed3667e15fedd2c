#!/bin/sh
# SPDX-License-Identifier: MIT
# The API as an operator's tools see it: `vmpilot run` on libvirt's test:///default with
# its API on a unix socket and on 127.0.0.1 with TLS (certificates made here by
# certtool); `promtool check metrics` on its /metrics; a real Prometheus server scraping
# it over TLS with a bearer token, then queried through its HTTP API for the VM's
# allocation; `vmpilot status`, `why` and `ctl` through the socket, the write audited in
# the journal. Usage: api-prometheus.sh VMPILOT MAKE-CERTS
set -u
vmpilot=$1 make_certs=$2
dir=$(mktemp -d /tmp/vmp-prom-XXXXXX)
pilot= prom=
cleanup() {
	[ -n "$pilot" ] && kill "$pilot" 2>/dev/null && wait "$pilot" 2>/dev/null
	[ -n "$prom" ] && kill "$prom" 2>/dev/null && wait "$prom" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$dir/log" ] && tail -20 "$dir/log" >&2; [ -f "$dir/prom.log" ] && tail -20 "$dir/prom.log" >&2; exit 1; }
need() {
	command -v "$1" >/dev/null && return 0
	if [ "${VMP_REQUIRE_VMS:-0}" = 1 ]; then fail "$1 missing (apt-get install $2)"; fi
	echo "*** SKIP: $1 missing (apt-get install $2) ***" >&2; exit 77
}
need promtool prometheus
need prometheus prometheus
need certtool gnutls-bin
need curl curl
# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds
wait_for() {
	t=$1; shift
	end=$(( $(date +%s) + t ))
	until "$@"; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$make_certs" "$dir" || fail "cannot make certificates"
api_port=$(port) prom_port=$(port)
token=prom-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf %s "$token" > "$dir/token"
sha=$(printf %s "$token" | sha256sum | cut -c1-64)
cat > "$dir/vmpilot.conf" <<CONF
interval_ms = 1000
ksm_enabled = no
state_db = $dir/state.db
status_file = $dir/status.json
api_socket = $dir/api.sock
api_listen = 127.0.0.1:$api_port
api_tls_cert = $dir/server.pem
api_tls_key = $dir/server.key
api_tls_ca = $dir/ca.pem
api_tokens = read:$sha
CONF
"$vmpilot" run -f "$dir/vmpilot.conf" -J "$dir/journal.jsonl" -c test:///default >"$dir/log" 2>&1 &
pilot=$!
sock() { curl -sf --unix-socket "$dir/api.sock" "http://localhost$1"; }
has_alloc() { sock /metrics 2>/dev/null | grep -q '^vmpilot_vm_memory_allocation_bytes{host="test:///default",vm="test"} 2147483648$'; }
wait_for 30 has_alloc || fail "no allocation in /metrics"
sock /metrics > "$dir/metrics.txt"
promtool check metrics < "$dir/metrics.txt" || fail "promtool check metrics"
echo "promtool check metrics: ok ($(grep -vc '^#' "$dir/metrics.txt") samples)"

# Over TLS: the token reads; no token is refused.
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/ca.pem" "https://127.0.0.1:$api_port/metrics")
[ "$code" = 401 ] || fail "TLS without credentials: $code, want 401"
curl -sf --cacert "$dir/ca.pem" -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/metrics" | grep -q vmpilot_cycles_total || fail "TLS with the token"

cat > "$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vmpilot
    scheme: https
    tls_config:
      ca_file: $dir/ca.pem
    authorization:
      credentials_file: $dir/token
    static_configs:
      - targets: ['127.0.0.1:$api_port']
YML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
	--web.listen-address="127.0.0.1:$prom_port" >"$dir/prom.log" 2>&1 &
prom=$!
query() {
	curl -sf "http://127.0.0.1:$prom_port/api/v1/query" \
		--data-urlencode 'query=vmpilot_vm_memory_allocation_bytes{vm="test"}' > "$dir/q.json" 2>/dev/null &&
	grep -q '"value":\[[0-9.]*,"2147483648"\]' "$dir/q.json"
}
wait_for 90 query || { cat "$dir/q.json" >&2; fail "Prometheus did not return the VM's allocation"; }
echo "prometheus query: $(cat "$dir/q.json")"
curl -sf "http://127.0.0.1:$prom_port/api/v1/targets" | grep -q '"health":"up"' || fail "target not up"

# The CLI through the socket; a write is audited.
"$vmpilot" status -c "vmpilot://$dir/api.sock" > "$dir/status.txt" || fail "vmpilot status -c vmpilot://"
grep -q '^  test ' "$dir/status.txt" || { cat "$dir/status.txt"; fail "status lacks vm test"; }
cat "$dir/status.txt"
"$vmpilot" ctl -c "vmpilot://$dir/api.sock" mode test advise | grep -q accepted || fail "ctl mode"
audited() { grep -q '"event":"api_write".*POST /api/v1/mode: vm test mode advise' "$dir/journal.jsonl"; }
wait_for 10 audited || fail "the write is not in the journal"
moded() { sock /api/v1/status | grep -q '"mode_source":"api \[vm\]"'; }
wait_for 10 moded || fail "the status does not show the override"
"$vmpilot" why -c "vmpilot://$dir/api.sock" --all test | grep -q . || fail "vmpilot why -c vmpilot://"
# History from the state database, through the API (10 s steps).
hist() { sock '/api/v1/history?vm=test' | grep -q '"step_ms":10000,.*"points":\[\[[0-9]*,[0-9]*,null,2097152.0,'; }
wait_for 30 hist || { sock '/api/v1/history?vm=test' >&2; fail "no history of vm test"; }

kill "$pilot"; wait "$pilot"; rc=$?; pilot=
[ "$rc" = 0 ] || fail "vmpilot run exited $rc after SIGTERM"
[ ! -e "$dir/api.sock" ] || fail "the socket was left behind"
echo "3 passed, 0 failed"
