#!/bin/bash
# shellcheck shell=bash
# The session lifecycle with the daemon: RFC timers (scaled down for the
# test, and the shortest one at real scale), GC under churn, the NAT log and
# `xcgn log who`, and kill -9 in the middle of a pass.

# Start `xcgn daemon` in the NAT namespace; nsenter execs it, so $! is it.
start_daemon() {
	daemon_start log-file "$TMP/nat.log" "$@" || fail "daemon did not start"
}

# Seconds (with ms) until a mapping matching a jq filter is gone; bounded.
gone_after() {	# jq-filter max-seconds
	local t0 now
	t0=$(date +%s.%N)
	while xcgn -j session show | jq -e "[.[] | select($1)] | length > 0" >/dev/null; do
		now=$(date +%s.%N)
		if awk -v a="$now" -v b="$t0" -v m="$2" 'BEGIN { exit !(a - b > m) }'; then
			echo "timeout"
			return
		fi
		sleep 0.05
	done
	now=$(date +%s.%N)
	awk -v a="$now" -v b="$t0" 'BEGIN { printf "%.2f\n", a - b }'
}

between() {	# value lo hi message
	awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }' ||
		fail "$4: $1 not within [$2, $3]"
}

# Timers divided by 100: UDP 300 s -> 3 s, ICMP 60 s -> 0.6 s,
# TCP transitory 240 s -> 2.4 s, established 7440 s -> 74.4 s.
test_daemon_timers_scaled() {
	attach_default
	start_daemon time-scale 100 gc-interval 50
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	bg "$NS_INET" timeout 60 socat TCP4-LISTEN:7001,bind="$S1",reuseaddr,fork EXEC:cat
	wait_listen "$NS_INET" "$S1:7000" u
	wait_listen "$NS_INET" "$S1:7001" t

	in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 30000 1 "$S1" 7000 >/dev/null
	t=$(gone_after '.proto == "udp"' 6)
	# Timer, plus up to 1 s of last-seen granularity, plus a GC period.
	echo "UDP mapping lived ${t}s (timer 3 s)"
	between "$t" 2.9 4.5 "UDP lifetime"

	in_sub timeout 5 ping -q -c 1 -W 1 "$S1" >/dev/null
	t=$(gone_after '.proto == "icmp"' 3)
	echo "ICMP mapping lived ${t}s (timer 0.6 s)"
	between "$t" 0.5 1.9 "ICMP lifetime"

	# Outbound traffic refreshes: a keepalive every second for 6 s keeps
	# one mapping, seen by the server as one source.
	in_sub timeout 20 python3 - "$(sub_addr 2)" "$S1" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 31000))
s.settimeout(1)
for i in range(7):
    s.sendto(b"keepalive", (sys.argv[2], 7000))
    s.recv(100)
    time.sleep(1)
PY
	n=$(grep -c "" "$TMP/seen")
	assert_eq 2 "$n" "sources seen by the server (one per flow, the keepalive kept its mapping)"

	# An established TCP connection outlives the transitory timer; once
	# closed both ways it goes after it.
	(sleep 5; echo bye) | in_sub timeout 20 socat -t 5 - "TCP4:$S1:7001,bind=$(sub_addr 3)" >"$TMP/tcp.out" &
	tcp_pid=$!
	sleep 4
	xcgn -j session show | jq -e '[.[] | select(.proto == "tcp")] | length == 1' >/dev/null ||
		fail "established TCP mapping gone before its timer"
	wait "$tcp_pid"
	assert_eq bye "$(cat "$TMP/tcp.out")" "TCP echo"
	t=$(gone_after '.proto == "tcp"' 6)
	echo "closed TCP mapping lived ${t}s after the close (transitory 2.4 s)"
	between "$t" 2.2 3.9 "closed TCP lifetime"
}

# The shortest timer at real scale: an ICMP query mapping lives 60 s.
test_daemon_icmp_timer_real_scale() {
	attach_default
	start_daemon gc-interval 200
	in_sub timeout 5 ping -q -c 1 -W 1 "$S1" >/dev/null
	sleep 57
	assert_eq 1 "$(nmaps)" "ICMP mapping at 57 s"
	t=$(gone_after '.proto == "icmp"' 10)
	echo "ICMP mapping went ${t}s after the 57 s mark"
	between "$t" 2.8 4.6 "ICMP lifetime at real scale"
}

# Thousands of short flows come and go while long-lived ones carry on.
test_daemon_gc_under_churn_with_log() {
	attach_default
	start_daemon time-scale 100 gc-interval 100
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/churn.seen" 90 detail
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S2" 7000 "$TMP/long.seen" 90
	bg "$NS_INET" timeout 90 iperf3 -s -B "$S1" -p 5201 -1
	wait_listen "$NS_INET" "$S1:7000" u
	wait_listen "$NS_INET" "$S2:7000" u
	wait_listen "$NS_INET" "$S1:5201" t

	# Long-lived: UDP every 0.3 s for 12 s, and a 12 s TCP transfer.
	ip netns exec "$NS_SUB" timeout 30 python3 - "$(sub_addr 1)" "$S2" >"$TMP/long.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 40000))
s.settimeout(1)
lost = 0
for i in range(40):
    s.sendto(b"long %d" % i, (sys.argv[2], 7000))
    try:
        s.recv(100)
    except socket.timeout:
        lost += 1
    time.sleep(0.3)
print(lost)
PY
	long_pid=$!
	ip netns exec "$NS_SUB" timeout 30 iperf3 -c "$S1" -B "$(sub_addr 2)" -p 5201 -t 12 -J >"$TMP/iperf.json" &
	iperf_pid=$!

	maxidle=0
	churn=()
	for round in $(seq 1 8); do
		for i in $(seq 3 40); do
			in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" $((20000 + round * 50)) 50 "$S1" 7000 >/dev/null &
			churn+=($!)
		done
		sleep 1.2
		m=$(xcgn -j session show | jq '[.[] | select(.proto == "udp") | .idle_s] | max // 0')
		[ "$m" -gt "$maxidle" ] && maxidle=$m
	done
	for p in "${churn[@]}"; do
		wait "$p" || true
	done
	wait "$long_pid"
	assert_eq 0 "$(cat "$TMP/long.out")" "long-lived UDP packets lost"
	assert_eq 1 "$(grep -c "" "$TMP/long.seen")" "long-lived UDP flow kept one mapping"
	wait "$iperf_pid" || fail "long-lived TCP transfer broke"
	echo "longest UDP idle seen: ${maxidle}s (timer 3 s + 1 s stamp granularity, GC every 0.1 s)"
	[ "$maxidle" -le 4 ] || fail "a mapping outlived its timer by more than a GC period"
	flows=$(grep -c "" "$TMP/churn.seen")
	assert_ge "$flows" 10000 "churn flows answered"

	# Traffic stops: everything comes back.
	wait_all_expired
	assert_eq 0 "$(nmaps)" "mappings after the churn"
	assert_eq 0 "$(xcgn -j pool show | jq '.[0].blocks_taken')" "blocks taken after quarantine"
	assert_eq 0 "$(xcgn -j subscriber show | jq length)" "subscribers after the churn"

	# The log: every allocation has its release, no destinations in it.
	allocs=$(grep -c '"event":"alloc"' "$TMP/nat.log")
	releases=$(grep -c '"event":"release"' "$TMP/nat.log")
	echo "NAT log: $allocs allocations, $releases releases for $flows flows"
	assert_ge "$allocs" 40 "allocations logged"
	assert_eq "$allocs" "$releases" "releases logged"
	log_pairs_held "allocations left open in the log"
	grep -q '203\.0\.113' "$TMP/nat.log" && fail "a destination address in the NAT log"

	# `xcgn log who` for a random sample of what the server saw.
	shuf -n 25 --random-source=<(yes) "$TMP/churn.seen" | while read -r obs when src _; do
		got=$(xcgn -j log who "$obs" at "@$(printf '%.3f' "$when")" file "$TMP/nat.log" | jq -r .subscriber)
		[ "$got" = "$src" ] || fail "log who $obs at $when: $got, the server saw $src"
	done
	echo "log who: 25 of 25 observations answered with the right subscriber"
}

# kill -9 in the middle of a pass; restart; nothing leaks, nothing is freed twice.
test_daemon_kill9_and_restart() {
	attach_default
	start_daemon time-scale 100 gc-interval 100 gc-batch 64
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	flows=()
	for i in $(seq 1 40); do
		in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" 20000 60 "$S1" 7000 >/dev/null &
		flows+=($!)
	done
	for p in "${flows[@]}"; do
		wait "$p" || true
	done
	total=$(nmaps)
	assert_ge "$total" 2000 "mappings made"
	# Expiry starts after 3 s; kill the collector once it is under way.
	for _ in $(seq 1 100); do
		n=$(nmaps)
		[ "$n" -lt "$total" ] && break
		sleep 0.05
	done
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	echo "killed with $n of $total mappings left"
	[ "$n" -gt 0 ] || fail "the pass finished before the kill"
	in_sub timeout 5 ping -q -c 2 -i 0.2 -W 1 "$S1" >/dev/null || fail "forwarding without the daemon"
	check_blocks() {
		xcgn -j pool show | jq -e '.[0] | (.blocks_used <= .blocks_taken) and
			(.blocks_taken + .blocks_free == .blocks_total)' >/dev/null ||
			fail "block accounting: $(xcgn -j pool show)"
	}
	check_blocks
	start_daemon time-scale 100 gc-interval 100
	for _ in $(seq 1 100); do
		check_blocks
		[ "$(nmaps)" = 0 ] && [ "$(xcgn -j pool show | jq '.[0].blocks_taken')" = 0 ] && break
		sleep 0.2
	done
	assert_eq 0 "$(nmaps)" "mappings after restart"
	assert_eq 0 "$(xcgn -j pool show | jq '.[0].blocks_taken')" "blocks taken: none leaked"
	echo "allocations $(grep -c '"event":"alloc"' "$TMP/nat.log"), releases $(grep -c '"event":"release"' "$TMP/nat.log")"
	log_pairs_held "allocations left open after the restart"
}

# Refusals reach the log at a bounded rate; SIGHUP reopens the log file.
test_daemon_logs_refusals_and_reopens_on_sighup() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add 198.51.100.5/32 ports 1024-1087 block-size 64 max-blocks 1
	start_daemon refusal-rate 5
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 20000 64 "$S1" 7000 >/dev/null
	mv "$TMP/nat.log" "$TMP/nat.log.1"
	kill -HUP "$DAEMON_PID"
	sleep 0.3
	got=$(in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 30000 200 "$S1" 7000 1)
	assert_eq 0 "$got" "flows past the subscriber's block"
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 2)" 30000 1 "$S1" 7000 >/dev/null
	sleep 1.5
	grep -q '"event":"alloc".*"subscriber":"100.64.1.1"' "$TMP/nat.log.1" || fail "allocation before the rotation"
	[ -s "$TMP/nat.log" ] || fail "nothing written after SIGHUP"
	refused=$(grep -c '"event":"refused".*"subscriber":"100.64.1.1".*"reason":"subscriber_limit"' "$TMP/nat.log" || true)
	echo "refusal records: $refused, logged; rate limit 5 a second"
	assert_ge "$refused" 1 "refusals logged with subscriber and reason"
	[ "$refused" -le 10 ] || fail "the refusal log is not rate limited ($refused records)"
	grep -q '"event":"refusals_suppressed"' "$TMP/nat.log" ||
		[ "$(stat refusal_event_limited)" -gt 0 ] || fail "no count of what the limits held back"
}

# The shipped logrotate file rotates the live log twice under a running
# daemon (its path and signal pointed at this test's): the first rotation
# stays plain (delaycompress), the second is gzip; `log who` answers for
# every rotation from the files as they lie, given a pattern, and from
# the index the rotation brought up to date.
test_daemon_log_rotated_by_logrotate() {
	local conf="$TMP/logrotate.conf" i t rec
	attach_default
	start_daemon
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	# The test's log and daemon; dateext off, so two rotations in one day
	# have names of their own (nat.log.1, nat.log.2.gz).
	sed -e "s|^/var/log/xcgn/nat.log|$TMP/nat.log|" -e '/dateext\|dateformat/d' \
		-e "s|systemctl kill .*|kill -HUP $DAEMON_PID|" \
		-e "s|/usr/sbin/xcgn log index|$XCGN_BIN log index file '$TMP/nat.log*' index $TMP/idx.sqlite|" \
		"$XCGN_ROOT/dist/xcgn.logrotate" >"$conf"
	grep -q "kill -HUP $DAEMON_PID" "$conf" || fail "the shipped logrotate file has no postrotate to point"
	grep -q "log index file" "$conf" || fail "the shipped logrotate file does not index the log"
	for i in 1 2 3; do
		in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" 20000 1 "$S1" 7000 >/dev/null
		wait_until 10 grep -q "\"event\":\"alloc\".*\"subscriber\":\"$(sub_addr "$i")\"" "$TMP/nat.log" ||
			fail "no allocation of $(sub_addr "$i") in the live log"
		[ "$i" = 3 ] && break
		logrotate -f -s "$TMP/logrotate.state" "$conf" || fail "logrotate -f $conf"
		sleep 0.5	# the daemon's loop takes the HUP before the next record
	done
	[ -f "$TMP/nat.log.1" ] || fail "no nat.log.1 after two rotations: $(ls "$TMP")"
	gzip -t "$TMP/nat.log.2.gz" || fail "nat.log.2.gz is not gzip (compress, delaycompress)"
	zgrep -q '"subscriber":"100.64.1.1"' "$TMP/nat.log.2.gz" || fail "the first allocation is not in nat.log.2.gz"
	grep -q '"subscriber":"100.64.1.2"' "$TMP/nat.log.1" || fail "the second allocation is not in nat.log.1"
	for i in 1 2 3; do
		rec=$( (zcat -f "$TMP"/nat.log*) | grep "\"event\":\"alloc\".*\"subscriber\":\"$(sub_addr "$i")\"" | head -1)
		t=$(jq -r .ts_ms <<<"$rec")
		got=$(xcgn -j log who "$(jq -r .public <<<"$rec"):$(jq -r .port_lo <<<"$rec")" \
			at "@$((t / 1000 + 1))" file "$TMP/nat.log*" | jq -r .subscriber)
		assert_eq "$(sub_addr "$i")" "$got" "log who across the rotations (file \"$TMP/nat.log*\")"
		# The index the rotations built: the same answer, and nothing
		# of a rotated file filed twice.
		got=$(xcgn -j log who "$(jq -r .public <<<"$rec"):$(jq -r .port_lo <<<"$rec")" \
			at "@$((t / 1000 + 1))" file "$TMP/nat.log*" index "$TMP/idx.sqlite" |
			jq -r .subscriber)
		assert_eq "$(sub_addr "$i")" "$got" "log who from the index"
	done
	[ -s "$TMP/idx.sqlite" ] || fail "the rotations left no index"
	xcgn log index file "$TMP/nat.log*" index "$TMP/idx.sqlite" >/dev/null || fail "log index"
	n=$( (zcat -f "$TMP"/nat.log*) | jq -s '[.[] | select(.public != null or .pool != null)] | length')
	assert_eq "$n" "$(sqlite3 "$TMP/idx.sqlite" 'SELECT count(*) FROM rec')" \
		"records in the index (each once) and in the logs"
	echo "logrotate: two rotations (plain, then gzip); log who answered from all three files"
}

# RFC 7422: a deterministic pool logs nothing per subscriber and
# `xcgn log who` answers by arithmetic.
test_deterministic_pool_who_by_arithmetic() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add 198.51.100.0/30 block-size 512 max-blocks 2 deterministic 100.64.1.0/26
	start_daemon
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60 detail
	wait_listen "$NS_INET" "$S1:7000" u
	for i in 3 17 40; do
		in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" 25000 3 "$S1" 7000 >/dev/null
	done
	sleep 0.5
	assert_eq 9 "$(grep -c "" "$TMP/seen")" "flows seen"
	while read -r obs _ src _; do
		who=$(xcgn -j log who "$obs" | jq -r '.subscriber + " " + .source')
		echo "$obs sent by $src -> $who"
		assert_eq "$src deterministic arithmetic" "$who" "who had $obs"
	done <"$TMP/seen"
	grep -q '"event":"alloc"' "$TMP/nat.log" && fail "per-subscriber records for a deterministic pool"
	return 0
}
