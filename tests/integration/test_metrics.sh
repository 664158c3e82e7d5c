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
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 20000 5 "$S1" 7000 >/dev/null
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 2)" 20000 3 "$S1" 7000 >/dev/null
	want=$(nmaps)
	assert_eq 8 "$want" "mappings made"
	# The exposition without the daemon, then with it, clean for promtool.
	xcgn stats metrics >"$TMP/m1" || fail "xcgn stats metrics"
	promtool check metrics <"$TMP/m1" || fail "promtool on xcgn stats metrics"
	grep -q '^xcgn_drops_total{reason="no_port"} 0$' "$TMP/m1" || fail "drop reasons as a label"
	grep -q "^xcgn_pool_subscribers{pool=\"$POOL\"} 2$" "$TMP/m1" || fail "pool subscribers"
	grep -q '^xcgn_table_entries{table="mappings"} 8$' "$TMP/m1" || fail "mappings counted"
	grep -q '^xcgn_build_info{version=".*",abi="[0-9]*"} 1$' "$TMP/m1" || fail "build info"
	: >"$TMP/d.err"
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/nat.log" gc-interval 100 \
		metrics 127.0.0.1:9800 ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	d=$DAEMON_PID
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
	nsenter --net="/run/netns/$NS_NAT" python3 "$TOOLS/http_abuse.py" 127.0.0.1 9800 7 3 ||
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
	# A port taken: the daemon says so and stops. The test takes a port
	# the kernel says is free (port 0), and waits until it is held.
	nsenter --net="/run/netns/$NS_NAT" python3 -c "
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
open(sys.argv[1] + '.tmp', 'w').write(str(s.getsockname()[1]))
__import__('os').rename(sys.argv[1] + '.tmp', sys.argv[1])
time.sleep(15)" "$TMP/taken" &
	BG_PIDS+=($!)
	wait_until 10 test -s "$TMP/taken" || fail "the port holder did not start"
	taken=$(cat "$TMP/taken")
	rc=0
	nsenter --net="/run/netns/$NS_NAT" timeout 5 "$XCGN_BIN" daemon log-file "$TMP/nat2.log" \
		metrics "127.0.0.1:$taken" 2>"$TMP/err" || rc=$?
	assert_eq 1 "$rc" "exit status of xcgn daemon metrics 127.0.0.1:$taken (a port held by another socket)"
	grep -q "serve metrics on 127.0.0.1:$taken" "$TMP/err" || fail "$(cat "$TMP/err")"
}

# IPFIX: two thousand subscribers take blocks and, flushed, give them back;
# every allocation and release of the JSON log is found, field for field,
# in what ipfixDump (libfixbuf) and nfcapd/nfdump decode, exported to both
# at once; the header's sequence numbers count the data records.
test_ipfix_export_decoded_by_two_collectors() {
	local n=2000 i
	subscribers_behind "$n"
	xcgn link attach inside "$DEV_I" outside "$DEV_O" || fail "attach"
	xcgn pool add "$POOL" block-size 256 max-blocks 1 || fail "pool add"
	# A deterministic pool: its 16 static bindings are exported once.
	xcgn pool add 198.51.100.64/30 deterministic 100.64.2.0/28 max-blocks 2 || fail "det pool"
	mkdir -p "$TMP/nf"
	bg "$NS_NAT" nfcapd -b 127.0.0.1 -p 4739 -w "$TMP/nf" -t 3600
	nfc=${BG_PIDS[-1]}
	bg "$NS_NAT" python3 "$TOOLS/udp_sink.py" 127.0.0.1 4740 "$TMP/ipfix.raw" "$TMP/stop" 120
	wait_listen "$NS_NAT" 127.0.0.1:4739 u
	wait_listen "$NS_NAT" 127.0.0.1:4740 u
	: >"$TMP/d.err"
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/nat.log" ipfix 127.0.0.1:4739 \
		ipfix 127.0.0.1:4740 ipfix-domain 7 time-scale 50 gc-interval 100 quarantine 1 ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	d=$DAEMON_PID
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 120
	wait_listen "$NS_INET" "$S1:7000" u
	in_sub timeout 60 python3 "$TOOLS/udp_many.py" 100.64.8.0 "$n" 1 20000 "$S1" 7000 2 >/dev/null
	# Three refused (the pool's 16 addresses of 252 blocks would take them
	# all, so a quota: max-blocks 1 and a second block wanted).
	in_sub timeout 20 python3 "$TOOLS/udp_flows.py" 100.64.8.1 30000 300 "$S1" 7000 1 >/dev/null || true
	xcgn session flush >/dev/null
	for _ in $(seq 1 100); do
		[ "$(grep -c '"event":"release"' "$TMP/nat.log")" -ge "$n" ] && break
		sleep 0.2
	done
	kill "$d"
	wait "$d" || fail "daemon: $(cat "$TMP/d.err")"
	touch "$TMP/stop"
	kill "$nfc"
	wait "$nfc" 2>/dev/null || true
	bg_reap
	allocs=$(grep -c '"event":"alloc"' "$TMP/nat.log")
	releases=$(grep -c '"event":"release"' "$TMP/nat.log")
	echo "log: $allocs allocations, $releases releases"
	assert_ge "$allocs" "$n" "allocations logged"
	assert_eq "$allocs" "$releases" "every block released"
	# The log's block records, one line each: event sub public lo hi.
	jq -r 'select(.event == "alloc" or .event == "release") |
		"\(.event) \(.subscriber) \(.public) \(.port_lo) \(.port_hi)"' "$TMP/nat.log" |
		sort >"$TMP/log.recs"
	# ipfixDump: the same, from the data records of template 256.
	ipfixDump --in "$TMP/ipfix.raw" >"$TMP/dump.txt" 2>&1 || fail "ipfixDump: $(tail -3 "$TMP/dump.txt")"
	awk '/natEvent :/ {ev = $NF == 16 ? "alloc" : $NF == 17 ? "release" : ""}
	     / sourceIPv4Address :/ {sa = $NF}
	     /postNATSourceIPv4Address :/ {pa = $NF}
	     /portRangeStart :/ {lo = $NF}
	     /portRangeEnd :/ {if (ev != "") print ev, sa, pa, lo, $NF}' "$TMP/dump.txt" |
		sort >"$TMP/ipfix.recs"
	# The deterministic bindings, as `log who` computes them.
	grep ' 198\.51\.100\.6[4-7] ' "$TMP/ipfix.recs" >"$TMP/det.recs" || true
	assert_eq 16 "$(wc -l <"$TMP/det.recs")" "deterministic bindings exported"
	read -r _ dsub dpub dlo _ < <(sed -n 7p "$TMP/det.recs")
	assert_eq "$dsub" "$(xcgn -j log who "$dpub:$dlo" | jq -r .subscriber)" \
		"an exported binding is what log who answers"
	grep -v ' 198\.51\.100\.6[4-7] ' "$TMP/ipfix.recs" >"$TMP/ipfix.dyn" || true
	cmp -s "$TMP/log.recs" "$TMP/ipfix.dyn" ||
		fail "ipfixDump differs from the log: $(diff "$TMP/log.recs" "$TMP/ipfix.dyn" | head -5)"
	grep -q "observation domain id: 7" "$TMP/dump.txt" || fail "observation domain"
	assert_ge "$(grep -c 'natEvent : 13' "$TMP/dump.txt")" 1 "quota exceeded exported"
	# Sequence numbers: each message's is the data records sent before it.
	# (ipfixDump prints "sequence number: N (0xN)")
	awk '/sequence number:/ {seq = $(NF - 1); if (seq != recs + 0) bad++}
	     /^--- data record/ {recs++}
	     END {print bad + 0}' "$TMP/dump.txt" | grep -qx 0 ||
		fail "sequence numbers do not count the data records"
	# nfdump (nfcapd): event, subscriber, public address and time.
	nfdump -R "$TMP/nf" -o raw >"$TMP/nf.txt" 2>&1 || fail "nfdump: $(tail -3 "$TMP/nf.txt")"
	awk '/^Flow Record/ {if (ev != "") print ev, sa, pa; ev = ""}
	     /nat event/ {ev = $4 == "16:" ? "alloc" : $4 == "17:" ? "release" : ""}
	     /^  src addr/ {sa = $NF}
	     /src xlt ip/ {pa = $NF}
	     END {if (ev != "") print ev, sa, pa}' "$TMP/nf.txt" | sort >"$TMP/nf.recs"
	cut -d' ' -f1-3 "$TMP/log.recs" "$TMP/det.recs" | sort >"$TMP/log3.recs"
	cmp -s "$TMP/log3.recs" "$TMP/nf.recs" ||
		fail "nfdump differs from the log: $(diff "$TMP/log3.recs" "$TMP/nf.recs" | head -5)"
	echo "ipfixDump and nfdump: $(wc -l <"$TMP/ipfix.recs") block records each, as logged"
}

# IPFIX over UDP, a collector down while blocks were allocated: with
# ipfix-interim, every held block's allocation reaches it once it is up
# (the templates with them, so it can read them), with the time the block
# was taken; a block released is sent no more. (The kernel's NAT has no
# IPFIX export; nfdump's or a vendor box's interim logging is the model.)
test_ipfix_interim_reaches_a_collector_that_was_down() {
	attach_default block-size 256 max-blocks 1
	: >"$TMP/d.err"
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/nat.log" ipfix 127.0.0.1:4741 \
		ipfix-interim 1 gc-interval 100 quarantine 1 ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	d=$DAEMON_PID
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	local i
	for i in 1 2 3; do
		in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" 20000 1 "$S1" 7000 1 \
			>/dev/null || fail "subscriber $i got no answer"
	done
	allocs_ge() { [ "$(grep -c '"event":"alloc"' "$TMP/nat.log")" -ge "$1" ]; }
	wait_until 10 allocs_ge 3 ||
		fail "3 allocations not logged: $(cat "$TMP/nat.log")"
	# Only now does the collector listen: the allocations went nowhere.
	bg "$NS_NAT" python3 "$TOOLS/udp_sink.py" 127.0.0.1 4741 "$TMP/ipfix.raw" "$TMP/stop" 60
	wait_listen "$NS_NAT" 127.0.0.1:4741 u
	# Allocation records decoded so far, of subscriber $1 (0: all).
	decoded() {
		ipfixDump --in "$TMP/ipfix.raw" 2>/dev/null |
			awk -v s="$1" '/natEvent :/ {ev = $NF} / sourceIPv4Address :/ {
				if (ev == 16 && (s == "0" || $NF == s)) n++} END {print n + 0}'
	}
	decoded_ge() { [ "$(decoded "$1")" -ge "$2" ]; }
	wait_until 15 decoded_ge 0 6 || fail "no two interim passes: $(decoded 0) records"
	# Subscriber 1's block goes; from its release on, it is not sent again.
	xcgn session flush subscriber "$(sub_addr 1)" >/dev/null || fail "session flush"
	wait_until 10 grep -q '"event":"release"' "$TMP/nat.log" || fail "no release logged"
	local n2
	n2=$(decoded "$(sub_addr 2)")
	wait_until 15 decoded_ge "$(sub_addr 2)" $((n2 + 2)) || fail "no two passes after the release"
	touch "$TMP/stop"
	kill "$d"
	wait "$d" || fail "daemon: $(cat "$TMP/d.err")"
	bg_reap
	ipfixDump --in "$TMP/ipfix.raw" >"$TMP/dump.txt" 2>&1 || fail "ipfixDump: $(tail -3 "$TMP/dump.txt")"
	# The decoded block records, in the order they came: event sub public lo hi ms.
	awk '/observationTimeMilliseconds :/ {ts = $NF}
	     /natEvent :/ {ev = $NF == 16 ? "alloc" : $NF == 17 ? "release" : ""}
	     / sourceIPv4Address :/ {sa = $NF}
	     /postNATSourceIPv4Address :/ {pa = $NF}
	     /portRangeStart :/ {lo = $NF}
	     /portRangeEnd :/ {if (ev != "") print ev, sa, pa, lo, $NF, ts}' "$TMP/dump.txt" \
		>"$TMP/ipfix.recs"
	[ -s "$TMP/ipfix.recs" ] || fail "the collector decoded nothing: $(head -20 "$TMP/dump.txt")"
	jq -r 'select(.event == "alloc") | "\(.subscriber) \(.public) \(.port_lo) \(.port_hi) \(.ts_ms)"' \
		"$TMP/nat.log" >"$TMP/allocs"
	while read -r sub pub lo hi ms; do
		n=$(awk -v s="$sub" -v p="$pub" -v l="$lo" -v h="$hi" \
			'$1 == "alloc" && $2 == s && $3 == p && $4 == l && $5 == h' "$TMP/ipfix.recs" | wc -l)
		assert_ge "$n" 2 "interim records of $sub's block $pub:$lo-$hi"
		# ipfixDump prints the time as "YYYY-MM-DD HH:MM:SS.mmm"; within the
		# datapath clock's 4 ms tick of the log's.
		awk -v s="$sub" -v l="$lo" '$1 == "alloc" && $2 == s && $4 == l {print $6}' "$TMP/ipfix.recs" |
			sort -u >"$TMP/times"
		while read -r t; do
			got=$(date -u -d "${t/T/ } UTC" +%s%3N 2>/dev/null) || fail "time $t"
			d_ms=$((got - ms))
			[ "${d_ms#-}" -le 10 ] || fail "$sub: an interim record's time $t is not the block's ($ms)"
		done <"$TMP/times"
	done <"$TMP/allocs"
	assert_eq 3 "$(wc -l <"$TMP/allocs")" "allocations logged"
	read -r sub1 _ lo1 _ < <(grep "^$(sub_addr 1) " "$TMP/allocs")
	after=$(awk -v s="$sub1" -v l="$lo1" '$1 == "release" && $2 == s && $4 == l {r = 1; next}
		r && $1 == "alloc" && $2 == s && $4 == l {n++} END {print n + 0}' "$TMP/ipfix.recs")
	grep -q "^release $sub1 " "$TMP/ipfix.recs" || fail "the release did not reach the collector"
	assert_eq 0 "$after" "interim records of $sub1's block after its release"
	assert_eq 3 "$(grep -c '"event":"alloc"' "$TMP/nat.log")" "no interim record in the log file"
}

# xcgn monitor: the events as the daemon writes them, to every monitor,
# the log losing none of them; route changes too.
test_monitor_streams_events() {
	attach_default
	expect_err 1 "no xcgn daemon to monitor" monitor count 1
	start_daemon gc-interval 100 time-scale 50 quarantine 1
	nsenter --net="/run/netns/$NS_NAT" "$XCGN_BIN" -j monitor count 11 >"$TMP/mon.json" &
	m1=$!
	nsenter --net="/run/netns/$NS_NAT" "$XCGN_BIN" monitor count 10 >"$TMP/mon.txt" &
	m2=$!
	BG_PIDS+=("$m1" "$m2")
	sleep 0.5
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	for i in 1 2 3 4 5; do
		in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" 20000 1 "$S1" 7000 >/dev/null
	done
	xcgn session flush >/dev/null
	for _ in $(seq 1 50); do
		[ "$(grep -c '"event":"release"' "$TMP/nat.log")" -ge 5 ] && break
		sleep 0.2
	done
	ip -n "$NS_NAT" route add 192.0.2.0/24 via "$S1" dev "$DEV_O"
	wait "$m1" || fail "monitor -j"
	wait "$m2" || fail "monitor"
	cat "$TMP/mon.txt"
	# The same records as the log, in the same order.
	grep -E '"event":"(alloc|release)"' "$TMP/nat.log" >"$TMP/log.blk"
	grep -E '"event":"(alloc|release)"' "$TMP/mon.json" >"$TMP/mon.blk"
	cmp -s "$TMP/log.blk" "$TMP/mon.blk" || fail "monitor and log differ: $(diff "$TMP/log.blk" "$TMP/mon.blk")"
	assert_eq 10 "$(wc -l <"$TMP/mon.blk")" "allocations and releases seen"
	grep -q '"event":"rpf".*"added":1' "$TMP/mon.json" || fail "no route change seen: $(tail -1 "$TMP/mon.json")"
	assert_eq 5 "$(grep -c " alloc .* -> 198\.51\.100\.[0-9]*:[0-9]*-[0-9]*$" "$TMP/mon.txt")" \
		"text allocations"
}

# Utilisation at a glance: pool percent and per address, the top
# subscribers, gauges and rates beside the counters.
test_utilisation_at_a_glance() {
	attach_default max-blocks 4 block-size 512
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	# Subscriber 3 takes two blocks (600 ports), 1 and 2 one each.
	in_sub timeout 20 python3 "$TOOLS/udp_flows.py" "$(sub_addr 3)" 20000 600 "$S1" 7000 >/dev/null
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 20000 5 "$S1" 7000 >/dev/null
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 2)" 20000 9 "$S1" 7000 >/dev/null
	# 16 addresses of 126 blocks; 4 in use: 4/2016.
	xcgn -j pool show | jq -e '.[0] | .blocks_used == 4 and
		(.utilisation_pct * 1000 | round) == (4 * 100000 / 2016 | round)' >/dev/null ||
		fail "pool utilisation: $(xcgn -j pool show | jq -c '.[0] | [.blocks_used, .utilisation_pct]')"
	xcgn pool show | grep -q "utilisation 0.2%" || fail "utilisation in text: $(xcgn pool show)"
	xcgn -j pool show "$POOL" detail | jq -e '.[0].addresses_detail | length == 16 and
		(map(.in_use) | add) == 4' >/dev/null ||
		fail "pool detail: $(xcgn -j pool show "$POOL" detail | jq -c '.[0].addresses_detail')"
	assert_eq "$(sub_addr 3) $(sub_addr 2)" \
		"$(xcgn -j subscriber show top 2 | jq -r '[.[].subscriber] | join(" ")')" "top by ports"
	assert_eq 1024 "$(xcgn -j subscriber show top 1 | jq '.[0].ports')" "ports held"
	assert_eq "$(sub_addr 3) $(sub_addr 2) $(sub_addr 1)" \
		"$(xcgn -j subscriber show top 3 by mappings | jq -r '[.[].subscriber] | join(" ")')" \
		"top by mappings"
	xcgn -j stats show | jq -e '.tables.mappings.used == 614 and .tables.mappings.capacity == 262144
		and .tables.subscribers.used == 3' >/dev/null ||
		fail "gauges: $(xcgn -j stats show | jq -c .tables)"
	# Rates over an interval, while pings run.
	bg "$NS_SUB" ping -q -i 0.05 -c 60 "$S1"
	xcgn -j stats show interval 2 >"$TMP/rate.json"
	jq -e '.counters.inside_rx_per_s >= 10 and .counters.inside_rx_per_s <= 40' "$TMP/rate.json" \
		>/dev/null || fail "rate: $(jq -c '.counters.inside_rx_per_s' "$TMP/rate.json")"
	expect_err 2 "must be 1..3600" stats show interval 0
}

# The event stream is the NAT log's records: root's, and a named group's.
# An unprivileged user connecting to the daemon's socket gets a refusal,
# never a record; with monitor-group nogroup it reads them; a user holding
# the name before the daemon does is named by the daemon and not trusted
# by xcgn monitor; and a record's control characters never reach a
# terminal.
as_nobody() {	# CMD...: in the NAT namespace, as uid and gid 65534, no other group
	nsenter --net="/run/netns/$NS_NAT" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

monitor_daemon() {	# ARGS...: the daemon in the background; its PID in MD
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/nat.log" "$@" ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	MD=$DAEMON_PID
	wait_until 5 sh -c "nsenter --net=/run/netns/$NS_NAT ss -xl | grep -q xcgn-monitor" ||
		fail "the daemon holds no monitor socket: $(cat "$TMP/d.err")"
}

monitor_stop() {
	kill "$MD"
	wait "$MD" || fail "daemon exit status: $(cat "$TMP/d.err")"
}

test_monitor_stream_is_roots() {
	local i pub=$TMP/pub
	# What the unprivileged user writes, where it may.
	chmod o+x "$TMP"
	mkdir -m 1777 "$pub"
	attach_default
	monitor_daemon
	as_nobody /usr/bin/python3 "$TOOLS/monitor_peer.py" read 3 "$pub/nobody" &
	BG_PIDS+=($!)
	sleep 0.5
	for i in 1 2 3; do
		in_sub timeout 3 ping -q -c 1 -W 1 -I "$(sub_addr "$i")" "$S1" >/dev/null || true
	done
	wait_until 5 grep -q '"event":"alloc"' "$TMP/nat.log" || fail "no allocation logged"
	sleep 2.7
	cat "$pub/nobody"
	grep -q '"event":"monitor_refused"' "$pub/nobody" ||
		fail "an unprivileged peer was not told it is refused: $(cat "$pub/nobody")"
	! grep -q '"event":"alloc"' "$pub/nobody" || fail "an unprivileged peer read a record"
	monitor_stop
	expect_err 2 "no such group" daemon monitor-group no-such-group-xcgn
	monitor_daemon monitor-group nogroup
	as_nobody /usr/bin/python3 "$TOOLS/monitor_peer.py" read 3 "$pub/member" &
	BG_PIDS+=($!)
	sleep 0.5
	for i in 4 5; do
		in_sub timeout 3 ping -q -c 1 -W 1 -I "$(sub_addr "$i")" "$S1" >/dev/null || true
	done
	sleep 2.7
	grep -q '"event":"alloc"' "$pub/member" ||
		fail "a member of monitor-group read no record: $(cat "$pub/member")"
	monitor_stop
	# A user squats the name while no daemon runs.
	as_nobody /usr/bin/python3 "$TOOLS/monitor_peer.py" squat 8 "$pub/squatting" &
	BG_PIDS+=($!)
	wait_until 5 test -e "$pub/squatting" || fail "the squatter did not bind"
	: >"$TMP/d.err"
	nsenter --net="/run/netns/$NS_NAT" timeout 2 "$XCGN_BIN" daemon log-file "$TMP/nat.log" \
		2>"$TMP/d.err" || true
	grep -q "held by another process" "$TMP/d.err" ||
		fail "the daemon did not say its monitor socket is taken: $(cat "$TMP/d.err")"
	expect_err 1 "held by uid 65534" monitor count 1
	# A root peer is trusted, but a record's escapes are not printed.
	wait_until 10 sh -c "! nsenter --net=/run/netns/$NS_NAT ss -xl | grep -q xcgn-monitor" ||
		fail "the squatter did not go"
	rm -f "$TMP/squatting"
	nsenter --net="/run/netns/$NS_NAT" /usr/bin/python3 "$TOOLS/monitor_peer.py" squat 5 \
		"$TMP/squatting" &
	BG_PIDS+=($!)
	wait_until 5 test -e "$TMP/squatting" || fail "the root peer did not bind"
	nsenter --net="/run/netns/$NS_NAT" timeout 5 "$XCGN_BIN" -j monitor count 1 >"$TMP/raw" ||
		fail "xcgn monitor from a root peer"
	! grep -q $'\x1b' "$TMP/raw" || fail "an escape sequence reached the terminal"
	grep -q "owned" "$TMP/raw" || fail "the record was not printed at all: $(cat -v "$TMP/raw")"
}

# Scrapes walk nothing: the daemon keeps the aggregates a scrape reads
# (taken every 5 s, in batches), so 10 scrapes a second under subscriber
# churn make no per-entry walk of any table (each used to walk every
# subscriber, two system calls each, in the daemon's one thread) and hold
# no NAT log record up by a second.
test_metrics_scrapes_walk_nothing() {
	local n=600 i d churn delay nk
	subscribers_behind "$n"
	xcgn link attach inside "$DEV_I" outside "$DEV_O" || fail "attach"
	xcgn pool add "$POOL" block-size 64 max-blocks 1 || fail "pool add"
	: >"$TMP/d.err"
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/nat.log" metrics 127.0.0.1:9812 ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	d=$DAEMON_PID
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 120
	wait_listen "$NS_INET" "$S1:7000" u
	in_sub timeout 60 python3 "$TOOLS/udp_many.py" 100.64.8.0 "$n" 1 20000 "$S1" 7000 2 >/dev/null
	wait_until 10 sh -c "[ \$(nsenter --net=/run/netns/$NS_NAT $XCGN_BIN -j subscriber show | jq length) -ge $((n / 2)) ]" ||
		fail "the subscribers were not made"
	sleep 5.5	# a snapshot taken with them in it
	scrapes() {	# 10 a second, for 10 s
		for i in $(seq 1 100); do
			nsenter --net="/run/netns/$NS_NAT" curl -s -o /dev/null --max-time 1 \
				http://127.0.0.1:9812/metrics || true
			sleep 0.1
		done
	}
	# The daemon's entry-by-entry steps over 10 s without scrapes (its
	# collector's own, each pass), then over 10 s with 100 of them: the
	# scrapes add none. (They used to add every subscriber, each time.)
	steps() {	# OUT: GET_NEXT_KEY calls of the daemon over the next 10 s
		timeout 10 strace -f -qq -e trace=bpf -p "$d" -o "$1" || true
		grep -c "BPF_MAP_GET_NEXT_KEY" "$1" || true
	}
	local idle busy sp
	idle=$(steps "$TMP/strace.idle")
	scrapes &
	sp=$!
	busy=$(steps "$TMP/strace.busy")
	wait "$sp"
	echo "entry-by-entry steps in 10 s: $idle without scrapes, $busy with 100"
	# A window may hold one collector pass more than the other (a pass
	# walks the mappings and the subscribers: 2n steps); a walk a scrape
	# would add 100n.
	[ "$busy" -le $((idle + 5 * n)) ] ||
		fail "100 scrapes made the daemon walk tables entry by entry: $busy steps, $idle without them"
	# Churn: a daemon whose timers run 60 times faster, so that mappings
	# expire and blocks are released and taken again every few seconds,
	# while the scrapes go on: no record is held up.
	kill "$d"
	wait "$d" || fail "daemon exit status: $(cat "$TMP/d.err")"
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/nat.log" metrics 127.0.0.1:9812 \
		time-scale 60 gc-interval 200 quarantine 1 ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	d=$DAEMON_PID
	wait_until 5 sh -c "nsenter --net=/run/netns/$NS_NAT curl -sf -o /dev/null --max-time 1 http://127.0.0.1:9812/metrics" ||
		fail "the second daemon serves no metrics: $(cat "$TMP/d.err")"
	ip netns exec "$NS_SUB" timeout 15 sh -c "while :; do python3 $TOOLS/udp_many.py 100.64.8.0 $n 1 21000 $S1 7000 1 >/dev/null; sleep 0.2; done" &
	churn=$!
	BG_PIDS+=("$churn")
	python3 "$TOOLS/natlog_delay.py" "$TMP/nat.log" 10 >"$TMP/delay" &
	delay=$!
	scrapes
	wait "$delay" || fail "natlog_delay.py"
	kill "$churn" 2>/dev/null
	echo "NAT log while scraped under churn: $(cat "$TMP/delay") (records, worst ms)"
	read -r recs worst <"$TMP/delay"
	assert_ge "$recs" 1 "NAT log records written meanwhile (the churn made some)"
	[ "$worst" -le 1000 ] || fail "a NAT log record was $worst ms late while scrapes ran"
	nsenter --net="/run/netns/$NS_NAT" curl -s --max-time 2 -o "$TMP/scrape" \
		http://127.0.0.1:9812/metrics || fail "the last scrape"
	grep -q '^xcgn_pool_subscribers{pool="198.51.100.0/28"} [1-9]' "$TMP/scrape" ||
		fail "the snapshot's subscribers are not in the scrape"
}
