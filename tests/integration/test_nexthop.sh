#!/bin/bash
# shellcheck shell=bash
# The next-hop cache (issue 13 item 1): with the daemon running, route and
# neighbour changes reach the datapath within 100 ms while traffic flows;
# with the daemon killed, the datapath asks the FIB again and a route change
# is still followed.

# A steady UDP stream from a subscriber to S1:9000, one datagram every 2 ms
# for up to 30 s, each carrying its send time (CLOCK_MONOTONIC); the
# receiver logs the send time of each that arrives (a receiver slowed down
# by a loaded machine then judges nothing wrongly late).
nh_stream_start() {
	cat >"$TMP/rx.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9000))
with open(sys.argv[2], "w", buffering=1) as f:
    end = time.monotonic() + 40
    s.settimeout(0.5)
    while time.monotonic() < end:
        try:
            d = s.recv(100)
        except socket.timeout:
            continue
        f.write(d.decode() + "\n")
PY
	cat >"$TMP/tx.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9001))
end = time.monotonic() + 30
while time.monotonic() < end:
    s.sendto(b"%.4f" % time.monotonic(), (sys.argv[2], 9000))
    time.sleep(0.002)
PY
	bg "$NS_INET" python3 "$TMP/rx.py" "$S1" "$TMP/rx.log"
	wait_listen "$NS_INET" "$S1:9000" u
	bg "$NS_SUB" python3 "$TMP/tx.py" "$(sub_addr 1)" "$S1"
}

mono() { python3 -c 'import time; print("%.4f" % time.monotonic())'; }
arrived_after() { awk -v t="$1" '$1 > t' "$TMP/rx.log" | wc -l; }	# sent after $1

# Wait until datagrams arrive again after time $1 (bounded).
nh_flowing_after() {
	local i
	for i in $(seq 1 50); do
		[ "$(arrived_after "$1")" -ge 10 ] && return 0
		sleep 0.1
	done
	fail "$2: traffic did not flow again"
}

# Make a change at a measured time, then check that nothing sent more than
# 100 ms later arrived: the datapath followed within 100 ms.
nh_change_stops_traffic() {	# what command...
	local what=$1 t late
	shift
	t=$(mono)
	"$@"
	sleep 0.6
	late=$(arrived_after "$(awk -v t="$t" 'BEGIN { printf "%.4f", t + 0.1 }')")
	echo "$what: $late datagram(s) sent more than 100 ms after the change arrived"
	assert_eq 0 "$late" "$what: followed within 100 ms"
}

test_nexthop_cache_follows_changes() {
	local d hits mac t
	attach_default
	: >"$TMP/d.err"
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/nat.log" ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	d=$DAEMON_PID
	nh_stream_start
	wait_until 10 eval '[ "$(stat nexthop_cached)" -gt 100 ]' || true
	assert_ge "$(stat nexthop_cached)" 100 "next hops served from the cache"
	assert_ge "$(stat nexthop_kept)" 1 "and kept from the FIB"

	# A neighbour change: S1's MAC, wrong. Frames to it are not S1's.
	mac=$(ip -n "$NS_INET" link show "$DEV_E" | awk '/link\/ether/ {print $2}')
	nh_change_stops_traffic "neighbour change" \
		ip -n "$NS_NAT" neigh replace "$S1" lladdr 02:00:00:00:00:99 dev "$DEV_O" nud permanent
	t=$(mono)
	ip -n "$NS_NAT" neigh replace "$S1" lladdr "$mac" dev "$DEV_O" nud reachable
	nh_flowing_after "$t" "neighbour restored"

	# A route change: S1 blackholed.
	nh_change_stops_traffic "route change" ip -n "$NS_NAT" route add blackhole "$S1/32"
	t=$(mono)
	ip -n "$NS_NAT" route del blackhole "$S1/32"
	nh_flowing_after "$t" "route restored"

	# The daemon killed: its lease runs out (100 ms), the FIB answers
	# again, and a route change is still followed.
	kill -9 "$d"
	wait "$d" 2>/dev/null || true
	sleep 0.3
	hits=$(stat nexthop_cached)
	sleep 0.5
	assert_eq "$hits" "$(stat nexthop_cached)" "no cached next hop without the daemon"
	nh_change_stops_traffic "route change, daemon killed" \
		ip -n "$NS_NAT" route add blackhole "$S1/32"
	t=$(mono)
	ip -n "$NS_NAT" route del blackhole "$S1/32"
	nh_flowing_after "$t" "route restored without the daemon"

	# A daemon again: the cache serves again.
	: >"$TMP/d2.err"
	DAEMON_ERR="$TMP/d2.err" daemon_start log-file "$TMP/nat.log" ||
		fail "the daemon did not start: $(cat "$TMP/d2.err")"
	d=$DAEMON_PID
	hits=$(stat nexthop_cached)
	wait_until 10 eval '[ "$(stat nexthop_cached)" -gt $((hits + 100)) ]' || true
	assert_ge "$(stat nexthop_cached)" $((hits + 100)) "served again with a daemon"
	# A policy rule: a destination alone no longer decides; the cache
	# stands aside while the rule is there.
	ip -n "$NS_NAT" rule add from 100.64.99.0/24 lookup main priority 1000
	sleep 0.5
	hits=$(stat nexthop_cached)
	sleep 0.5
	assert_eq "$hits" "$(stat nexthop_cached)" "no cache under policy rules"
	ip -n "$NS_NAT" rule del from 100.64.99.0/24 lookup main priority 1000
	wait_until 6 eval '[ "$(stat nexthop_cached)" -gt $((hits + 50)) ]' || true
	assert_ge "$(stat nexthop_cached)" $((hits + 50)) "served again without the rule"
	kill "$d"
	wait "$d" || fail "daemon exit: $(cat "$TMP/d2.err")"
	assert_eq 0 "$(bpftool map dump pinned "$(pin_dir)/xcgn_nhctl" -j | jq '.[0].formatted.value.flags')" \
		"a daemon that stops withdraws its word"
}
