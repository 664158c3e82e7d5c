#!/bin/bash
# shellcheck shell=bash
# Observability (issue 12): the Prometheus exposition is clean for
# promtool, a real Prometheus server scrapes the daemon and answers a
# PromQL query with what the test made, and the endpoint survives hostile
# clients.

# A Prometheus server in the NAT namespace scraping the daemon every
# second; its API on 127.0.0.1:9090 there.
prometheus_start() {	# TARGET
	mkdir -p "$TMP/prom"
	cat >"$TMP/prom.yml" <<EOF2
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: xcgn
    static_configs:
      - targets: ['$1']
EOF2
	nsenter --net="/run/netns/$NS_NAT" prometheus --config.file="$TMP/prom.yml" \
		--storage.tsdb.path="$TMP/prom" --web.listen-address=127.0.0.1:9090 \
		>"$TMP/prom.log" 2>&1 &
	BG_PIDS+=($!)
}

# A PromQL query's single value (empty while there is none).
promql() {
	nsenter --net="/run/netns/$NS_NAT" curl -s --max-time 2 \
		--data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true
}

test_metrics_promtool_and_prometheus() {
	attach_default
	bg "$NS_INET" python3 "$TLIB/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	in_sub timeout 10 python3 "$TLIB/udp_flows.py" "$(sub_addr 1)" 20000 5 "$S1" 7000 >/dev/null
	in_sub timeout 10 python3 "$TLIB/udp_flows.py" "$(sub_addr 2)" 20000 3 "$S1" 7000 >/dev/null
	want=$(nmaps)
	assert_eq 8 "$want" "mappings made"
	# The exposition without the daemon, then with it, clean for promtool.
	xcgn stats metrics >"$TMP/m1" || fail "xcgn stats metrics"
	promtool check metrics <"$TMP/m1" || fail "promtool on xcgn stats metrics"
	grep -q '^xcgn_drops_total{reason="no_port"} 0$' "$TMP/m1" || fail "drop reasons as a label"
	grep -q "^xcgn_pool_subscribers{pool=\"$POOL\"} 2$" "$TMP/m1" || fail "pool subscribers"
	grep -q '^xcgn_table_entries{table="mappings"} 8$' "$TMP/m1" || fail "mappings counted"
	grep -q '^xcgn_build_info{version=".*",abi="[0-9]*"} 1$' "$TMP/m1" || fail "build info"
	nsenter --net="/run/netns/$NS_NAT" "$XCGN_BIN" daemon log-file "$TMP/nat.log" \
		gc-interval 100 metrics 127.0.0.1:9800 2>"$TMP/d.err" &
	d=$!
	BG_PIDS+=("$d")
	for _ in $(seq 1 50); do
		nsenter --net="/run/netns/$NS_NAT" curl -sf --max-time 1 \
			http://127.0.0.1:9800/metrics >"$TMP/m2" && break
		sleep 0.1
	done
	promtool check metrics <"$TMP/m2" || fail "promtool on the daemon's endpoint"
	grep -q '^xcgn_gc_passes_total ' "$TMP/m2" || fail "daemon figures missing"
	# A real Prometheus scrapes it; PromQL sees the mappings the test made.
	prometheus_start 127.0.0.1:9800
	got=
	for _ in $(seq 1 100); do
		got=$(promql 'xcgn_table_entries{table="mappings"}')
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	assert_eq "$want" "$got" "PromQL: mappings as Prometheus scraped them"
	assert_eq 2 "$(promql 'sum(xcgn_pool_subscribers)')" "PromQL: subscribers"
	assert_eq 1 "$(promql 'up{job="xcgn"}')" "PromQL: the target is up"
	# Hostile clients: the endpoint and the daemon go on.
	nsenter --net="/run/netns/$NS_NAT" python3 "$TLIB/http_abuse.py" 127.0.0.1 9800 7 3 ||
		fail "the abuse script"
	kill -0 "$d" || fail "the daemon died under hostile clients: $(cat "$TMP/d.err")"
	sleep 5.5	# idle connections time out (5 s)
	code=$(nsenter --net="/run/netns/$NS_NAT" curl -s -o /dev/null -w '%{http_code}' \
		--max-time 2 http://127.0.0.1:9800/metrics)
	assert_eq 200 "$code" "a scrape after the abuse"
	code=$(nsenter --net="/run/netns/$NS_NAT" curl -s -o /dev/null -w '%{http_code}' \
		--max-time 2 -X POST http://127.0.0.1:9800/metrics)
	assert_eq 405 "$code" "POST"
	code=$(nsenter --net="/run/netns/$NS_NAT" curl -s -o /dev/null -w '%{http_code}' \
		--max-time 2 http://127.0.0.1:9800/other)
	assert_eq 404 "$code" "another path"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "forwarding"
	kill "$d"
	wait "$d" || fail "daemon exit status: $(cat "$TMP/d.err")"
	# A port taken: the daemon says so and stops.
	nsenter --net="/run/netns/$NS_NAT" python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',9801)); s.listen(); time.sleep(5)" &
	BG_PIDS+=($!)
	sleep 0.3
	rc=0
	nsenter --net="/run/netns/$NS_NAT" timeout 5 "$XCGN_BIN" daemon log-file "$TMP/nat2.log" \
		metrics 127.0.0.1:9801 2>"$TMP/err" || rc=$?
	assert_eq 1 "$rc" "daemon on a taken metrics port"
	grep -q "serve metrics on 127.0.0.1:9801" "$TMP/err" || fail "$(cat "$TMP/err")"
}
