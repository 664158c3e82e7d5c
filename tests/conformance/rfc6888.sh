#!/bin/bash
# shellcheck shell=bash
# RFC 6888: common requirements for carrier-grade NATs.

# REQ-1: what is not TCP, UDP or ICMP is never mistranslated: GRE from a
# subscriber does not leave with its subscriber address.
c6888_req1_other_protocols() {
	attach_default
	capture "$NS_INET" "$DEV_E" "$TMP/c.pcap" ip proto 47
	craft "$NS_SUB" gre "$(sub_addr 1)" "$S1"
	capture_stop 0
	assert_eq "" "$(packets "$TMP/c.pcap")" "no GRE left untranslated"
	assert_ge "$(drop untranslatable)" 1 "dropped and counted"
}

# REQ-3: pools need not be contiguous: two disjoint prefixes both serve.
c6888_req3_noncontiguous_pools() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	# Two blocks an address, eight a pool: the first fills, the second serves.
	xcgn pool add 198.51.100.0/30 ports 1024-2047 block-size 512 max-blocks 1
	xcgn pool add 198.51.100.8/30 ports 1024-2047 block-size 512 max-blocks 1
	echo_server "$S1" 3478 "$TMP/s1"
	for i in $(seq 1 12); do udp_from "$(sub_addr "$i")" 5000 "$S1" 3478 || true; done
	used=$(cut -d: -f1 "$TMP/s1" | sort -u)
	echo "addresses used: $(echo "$used" | tr '\n' ' ')"
	echo "$used" | grep -q '^198\.51\.100\.[0-3]$' || fail "first pool unused"
	echo "$used" | grep -q '^198\.51\.100\.\([89]\|1[01]\)$' || fail "second pool unused"
}

# REQ-4, 4a: a configurable cap on a subscriber's ports; others unaffected.
c6888_req4_port_limit() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add "$POOL" block-size 64 max-blocks 1
	echo_server "$S1" 3478 "$TMP/s1"
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 2)" 20000 70 "$S1" 3478 3 >"$TMP/n"
	echo "one subscriber, 70 flows: $(cat "$TMP/n") answered"
	assert_eq 64 "$(cat "$TMP/n")" "capped at 64 ports"
	udp_from "$(sub_addr 3)" 5000 "$S1" 3478 || fail "another subscriber harmed"
}

# REQ-4c, REQ-5b: new mappings a second per subscriber, capped.
c6888_req4c_rate_limit() {
	attach_default new-rate 20
	echo_server "$S1" 3478 "$TMP/s1"
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 4)" 20000 200 "$S1" 3478 2 >"$TMP/n"
	echo "200 flows at once: $(cat "$TMP/n")"
	n=$(cat "$TMP/n")
	[ "$n" -le 60 ] || fail "the cap let $n of 200 through"
	assert_ge "$(drop subscriber_rate)" 100 "the rest refused and counted"
	udp_from "$(sub_addr 5)" 5000 "$S1" 3478 || fail "another subscriber harmed"
}

# REQ-6: bypass: a destination reached untranslated.
c6888_req6_bypass() {
	attach_default
	xcgn pool bypass add "$S2/32"
	echo_server "$S2" 3478 "$TMP/s2"
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 6)" 5000 "$S2" 3478 || true
	udp_from "$(sub_addr 6)" 5000 "$S1" 3478
	assert_eq "$(sub_addr 6):5000" "$(seen "$TMP/s2" 1)" "S2 sees the subscriber itself"
	[[ "$(seen "$TMP/s1" 1)" == 198.51.100.* ]] || fail "S1 must see a pool address"
}

# REQ-8: a freed port rests 120 s (configurable) before anyone else gets
# it: one block in the pool; released, it is refused to the next
# subscriber until the quarantine ends (here at 1/100 scale: 1.2 s).
c6888_req8_port_quarantine() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add 198.51.100.5/32 ports 1024-1087 block-size 64 max-blocks 1
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 7)" 5000 "$S1" 3478
	daemon_with_log time-scale 100 gc-interval 50
	wait_until 20 grep -q '"event":"release"' "$TMP/nat.log" || true
	grep -q '"event":"release"' "$TMP/nat.log" || fail "no release"
	udp_from "$(sub_addr 8)" 5000 "$S1" 3478 && fail "the block was handed out again at once"
	sleep 1.5
	udp_from "$(sub_addr 8)" 5000 "$S1" 3478 || fail "the block after its quarantine"
	"$XCGN_BIN" daemon help >"$TMP/help" || fail "daemon help status"
	grep -q "quarantine S" "$TMP/help" || fail "quarantine not configurable"
}

# REQ-9: subscribers control their mappings with PCP: a MAP request from a
# subscriber (built by hand, RFC 6887 §11) gets a mapping on its public
# address that S2, which it never contacted, reaches.
c6888_req9_pcp() {
	local out paddr port sub
	sub=$(sub_addr 11)
	attach_default
	daemon_with_log pcp
	wait_until 6 grep -q "PCP and NAT-PMP on" "$TMP/daemon.err" || true
	out=$(in_sub "$SCAPY" "$TOOLS/pcp_probe.py" "$DEV_S" "$sub" 40001 100.64.1.254 op=map \
		proto=17 port=6000 life=600)
	echo "MAP: $out"
	[ "$(echo "$out" | jq .result)" = 0 ] || fail "MAP refused: $out"
	paddr=$(echo "$out" | jq -r .addr)
	port=$(echo "$out" | jq -r .port)
	[ "$(xcgn -j subscriber show | jq -r ".[] | select(.subscriber == \"$sub\") | .public")" = \
		"$paddr" ] || fail "not the subscriber's public address"
	bg "$NS_SUB" timeout 20 socat -u UDP4-RECV:6000,bind="$sub" "OPEN:$TMP/got,creat"
	wait_listen "$NS_SUB" "$sub:6000" u
	echo from-S2 | in_inet socat -u - "UDP4-SENDTO:$paddr:$port,bind=$S2"
	for _ in $(seq 1 30); do grep -q from-S2 "$TMP/got" && return 0; sleep 0.1; done
	fail "S2 did not reach the PCP mapping"
}

# REQ-10: manageable: state and counters through the CLI, as JSON.
c6888_req10_manageable() {
	attach_default
	udp_from "$(sub_addr 9)" 5000 "$S1" 3478 || true
	xcgn -j stats show | jq -e '.counters.mapping_created >= 1' >/dev/null
	xcgn -j session show | jq -e 'length >= 1' >/dev/null
	xcgn -j subscriber show | jq -e 'length >= 1' >/dev/null
	xcgn -j pool show | jq -e '.[0].blocks_used >= 1' >/dev/null
	xcgn -j link show | jq -e '.[0].inside' >/dev/null
}

# REQ-11: at the quota: the packet dropped (a), the refusal logged (c),
# no existing mapping evicted (d).
c6888_req11_quota() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add "$POOL" block-size 64 max-blocks 1
	daemon_with_log
	echo_server "$S1" 3478 "$TMP/s1"
	local sub
	sub=$(sub_addr 10)
	udp_from "$sub" 5000 "$S1" 3478
	first=$(seen "$TMP/s1" 1)
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$sub" 20000 100 "$S1" 3478 2 >/dev/null || true
	assert_ge "$(drop subscriber_limit)" 1 "refused and dropped"
	wait_until 6 grep -q '"event":"refused"' "$TMP/nat.log" || true
	grep -q '"event":"refused".*"reason":"subscriber_limit"' "$TMP/nat.log" || fail "not logged"
	udp_from "$sub" 5000 "$S1" 3478 || fail "the first flow was evicted"
	assert_eq "$first" "$(grep -F "$first" "$TMP/s1")" "same public endpoint"
}

# REQ-12: the log names no destination.
c6888_req12_log_no_destination() {
	attach_default
	daemon_with_log
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 11)" 5000 "$S1" 3478
	wait_until 6 test -s "$TMP/nat.log" || true
	cat "$TMP/nat.log"
	grep -q '"event":"alloc"' "$TMP/nat.log" || fail "no record"
	grep -qF "$S1" "$TMP/nat.log" && fail "the destination is in the log"
	jq -s -e 'all(.[]; keys - ["time","ts_ms","event","subscriber","public","port_lo","port_hi",
		"reason","count"] | length == 0)' "$TMP/nat.log" >/dev/null ||
		fail "unexpected fields in: $(cat "$TMP/nat.log")"
}

# REQ-13: port utilisation follows the block size: with blocks of 64 a
# subscriber using 30 ports holds 64, not 512.
c6888_req13_utilisation() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add "$POOL" block-size 64 max-blocks 8
	echo_server "$S1" 3478 "$TMP/s1"
	for i in 12 13 14; do
		in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" 20000 30 "$S1" 3478 1 >/dev/null
	done
	used=$(xcgn -j pool show | jq '.[0].blocks_used')
	echo "3 subscribers x 30 flows hold $used blocks of 64 ports"
	assert_eq 3 "$used" "one block each"
}

# REQ-14: log volume: one record per block, not per flow.
c6888_req14_log_volume() {
	attach_default
	daemon_with_log
	echo_server "$S1" 3478 "$TMP/s1"
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 15)" 20000 300 "$S1" 3478 2 >/dev/null
	sleep 0.5
	n=$(grep -c . "$TMP/nat.log")
	echo "300 flows, $n log record(s)"
	assert_eq 1 "$n" "one allocation record for 300 flows"
}

# REQ-15: public ports hard to guess: sequential source ports outside the
# block get ports from random starts, not a sequence.
c6888_req15_unpredictable_ports() {
	attach_default
	echo_server "$S1" 3478 "$TMP/s1"
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 16)" 50000 100 "$S1" 3478 2 >/dev/null
	xcgn -j session show | jq '[.[] | select(.inside_port >= 50000)] | sort_by(.inside_port) |
		[.[].public_port]' >"$TMP/ports"
	n=$(jq length "$TMP/ports")
	seq=$(jq '[range(1; length) as $i | select(.[$i] - .[$i - 1] == 1)] | length' "$TMP/ports")
	distinct=$(jq 'unique | length' "$TMP/ports")
	echo "$n ports, $seq successors of their predecessor, $distinct distinct"
	assert_eq 100 "$n" "all flows mapped"
	[ "$seq" -le 10 ] || fail "$seq of 99 ports follow their predecessor: predictable"
}

# REQ-11b: at the quota, RFC 6888's "host unreachable" when asked for
# (RFC 5508 REQ-8's "administratively prohibited" is the default).
c6888_req11b_host_unreachable() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O" refusal-icmp host-unreachable
	xcgn pool add 198.51.100.5/32 ports 1024-1087 block-size 64 max-blocks 1
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 12)" 5000 "$S1" 3478
	capture "$NS_SUB" "$DEV_S" "$TMP/c.pcap" icmp
	udp_from "$(sub_addr 13)" 5000 "$S1" 3478 && fail "a second subscriber got the only block"
	capture_stop 1
	p=$(packets "$TMP/c.pcap" | head -1)
	echo "$p"
	assert_eq "3/1" "$(echo "$p" | jq -r '"\(.type)/\(.code)"')" "host unreachable"
	assert_eq host-unreachable "$(xcgn -j link show | jq -r '.[0].refusal_icmp')" "shown"
	# Switched on the running instance: the next refusal says the other.
	xcgn link set refusal-icmp prohibited
	capture "$NS_SUB" "$DEV_S" "$TMP/c2.pcap" icmp
	udp_from "$(sub_addr 14)" 5000 "$S1" 3478 && fail "a third subscriber got the only block"
	capture_stop 1
	p=$(packets "$TMP/c2.pcap" | head -1)
	assert_eq "3/13" "$(echo "$p" | jq -r '"\(.type)/\(.code)"')" "prohibited, switched live"
}
