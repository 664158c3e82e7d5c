#!/bin/bash
# shellcheck shell=bash
# RFC 4787: NAT behavioural requirements for unicast UDP.

# REQ-1: one mapping for one internal endpoint, whatever the destination.
c4787_req1_eim() {
	attach_default
	echo_server "$S1" 3478 "$TMP/s1"
	echo_server "$S2" 3478 "$TMP/s2"
	udp_from "$(sub_addr 1)" 5000 "$S1" 3478
	udp_from "$(sub_addr 1)" 5000 "$S2" 3478
	a=$(seen "$TMP/s1" 1)
	b=$(seen "$TMP/s2" 1)
	echo "S1 saw $a, S2 saw $b"
	[ -n "$a" ] || fail "S1 saw nothing"
	assert_eq "$a" "$b" "the same public endpoint towards S1 and S2"
}

# REQ-2: paired pooling, one public address for all of a subscriber's
# traffic, UDP, TCP and ICMP alike.
c4787_req2_paired() {
	attach_default
	local sub
	sub=$(sub_addr 2)
	echo_server "$S1" 3478 "$TMP/s1"
	bg "$NS_INET" timeout 20 socat -u TCP4-LISTEN:9000,bind="$S1",reuseaddr,fork /dev/null
	wait_listen "$NS_INET" "$S1:9000" t
	capture "$NS_INET" "$DEV_E" "$TMP/c.pcap" src net 198.51.100.0/28
	for p in 5000 5001 5002; do udp_from "$sub" "$p" "$S1" 3478; done
	for p in 6000 6001; do
		echo hi | in_sub timeout 5 socat -u - "TCP4:$S1:9000,bind=$sub:$p"
	done
	in_sub timeout 5 ping -q -c 2 -i 0.2 -I "$sub" "$S1" >/dev/null
	capture_stop 9
	addrs=$(packets "$TMP/c.pcap" | jq -r .src | sort -u)
	echo "public sources seen: $addrs"
	assert_eq 1 "$(echo "$addrs" | wc -l)" "one public address for UDP, TCP and ICMP"
	n=$(packets "$TMP/c.pcap" | jq -r .proto | sort -u | wc -l)
	assert_eq 3 "$n" "all three protocols captured"
}

# REQ-3: no port overloading: two subscribers, same source port, same
# destination, two different public endpoints.
c4787_req3_no_overloading() {
	attach_default
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 1)" 5000 "$S1" 3478
	udp_from "$(sub_addr 2)" 5000 "$S1" 3478
	a=$(seen "$TMP/s1" 1)
	b=$(seen "$TMP/s1" 2)
	echo "$a and $b"
	[ -n "$a" ] && [ -n "$b" ] || fail "both flows must pass"
	[ "$a" != "$b" ] || fail "one public endpoint for two subscribers"
}

# REQ-4: port parity kept when the pool asks for it.
c4787_req4_parity() {
	attach_default parity
	echo_server "$S1" 3478 "$TMP/s1"
	in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 3)" 41000 40 "$S1" 3478 2 >/dev/null
	xcgn -j session show >"$TMP/s.json"
	n=$(jq '[.[] | select(.proto == "udp")] | length' "$TMP/s.json")
	bad=$(jq '[.[] | select(.proto == "udp" and (.inside_port % 2) != (.public_port % 2))] | length' \
		"$TMP/s.json")
	echo "$n mappings, $bad with another parity"
	assert_eq 40 "$n" "forty mappings"
	assert_eq 0 "$bad" "every public port keeps its parity"
}

# REQ-5: the UDP mapping timer is at least 2 minutes, 5 by default.
c4787_req5_udp_timer() {
	attach_default
	assert_eq 300 "$(xcgn -j pool show | jq '.[0].udp_timeout')" "default UDP timer"
	xcgn pool add 198.51.100.64/28 udp-timeout 119 2>"$TMP/err" && fail "119 s accepted"
	grep -q "below the RFC minimum 120" "$TMP/err" || fail "no reason given"
	xcgn pool add 198.51.100.64/28 udp-timeout 120
	assert_eq 120 "$(xcgn -j pool show | jq '.[1].udp_timeout')" "configurable (REQ-5b)"
	xcgn pool del 198.51.100.64/28
	# At 1/100 scale the default is 3 s: a reply after 2.5 s idle arrives.
	daemon_with_log time-scale 100 gc-interval 50
	bg "$NS_SUB" python3 "$TOOLS/udp_recv.py" "$(sub_addr 4)" 5000 "$TMP/got" 10 "$S1:3478"
	sleep 2.5
	echo_server "$S1" 3478 "$TMP/s1"
	pub=$(xcgn -j session show | jq -r '.[] | select(.inside_port == 5000) |
		"\(.public_addr) \(.public_port)"')
	[ -n "$pub" ] || fail "the mapping expired before its time"
	# shellcheck disable=SC2086
	craft "$NS_INET" udp "$S1" 3478 $pub late
	wait_until 6 test -s "$TMP/got" || true
	assert_eq late "$(cat "$TMP/got")" "the late reply delivered"
	# And the timer does run: idle past it (3 s, plus the 1 s stamp
	# granularity), the mapping is gone.
	sleep 4.5
	assert_eq 0 "$(xcgn -j session show | jq '[.[] | select(.inside_port == 5000)] | length')" \
		"expired after its timer"
}

# REQ-6: outbound packets refresh the mapping.
c4787_req6_outbound_refresh() {
	attach_default
	daemon_with_log time-scale 100 gc-interval 50
	echo_server "$S1" 3478 "$TMP/s1"
	# The timer is 3 s at this scale; one datagram a second for 7 s.
	for _ in $(seq 1 7); do
		udp_from "$(sub_addr 5)" 5000 "$S1" 3478
		sleep 1
	done
	assert_eq 1 "$(stat mapping_created)" "one mapping all along"
}

# REQ-7: address ranges: a pool that overlaps the inside range is refused.
c4787_req7_overlap() {
	attach_default
	xcgn pool add 100.64.9.0/24 2>"$TMP/err" && fail "overlapping pool accepted"
	grep -q "overlaps the subscriber range" "$TMP/err" || fail "no reason given"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "running traffic harmed"
}

# REQ-8: endpoint-independent filtering by default; address-dependent per
# pool: another host is refused, the same host from another port is not.
c4787_req8_filtering() {
	attach_default
	local sub
	sub=$(sub_addr 6)
	echo_server "$S1" 3478 "$TMP/s1"
	bg "$NS_SUB" python3 "$TOOLS/udp_recv.py" "$sub" 5000 "$TMP/eif" 10 "$S1:3478"
	pub=$(seen "$TMP/s1" 1)
	craft "$NS_INET" udp "$S2" 4000 "${pub%:*}" "${pub#*:}" from-s2
	wait_until 6 test -s "$TMP/eif" || true
	assert_eq from-s2 "$(cat "$TMP/eif" 2>/dev/null)" "EIF: a host never contacted gets through"

	xcgn link detach
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add "$POOL" filtering address-dependent
	bg "$NS_SUB" python3 "$TOOLS/udp_recv.py" "$sub" 5001 "$TMP/adf" 10 "$S1:3478"
	pub=$(seen "$TMP/s1" 2)
	craft "$NS_INET" udp "$S2" 4000 "${pub%:*}" "${pub#*:}" from-s2
	sleep 0.5
	[ ! -s "$TMP/adf" ] || fail "ADF: a host never contacted got through"
	assert_ge "$(drop filtered)" 1 "ADF refusal counted"
	craft "$NS_INET" udp "$S1" 4001 "${pub%:*}" "${pub#*:}" from-s1-other-port
	wait_until 6 test -s "$TMP/adf" || true
	assert_eq from-s1-other-port "$(cat "$TMP/adf")" "ADF: the same host from another port passes"
}

# REQ-9: hairpinning: subscriber 2 reaches subscriber 1 through its public
# endpoint and is seen with its own public endpoint.
c4787_req9_hairpin() {
	attach_default
	local s1 s2
	s1=$(sub_addr 7)
	s2=$(sub_addr 8)
	echo_server "$S1" 3478 "$TMP/s1"
	bg "$NS_SUB" python3 "$TOOLS/udp_echo.py" "$s1" 5000 "$TMP/hp" 20
	wait_listen "$NS_SUB" "$s1:5000" u
	craft "$NS_SUB" udp "$s1" 5000 "$S1" 3478 open
	pub1=$(seen "$TMP/s1" 1)
	in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$s2" 6000 1 "${pub1%:*}" "${pub1#*:}" 2 |
		grep -q "^1" || fail "no answer through the hairpin"
	from=$(grep -v "^$S1:" "$TMP/hp" | head -1)
	pub2=$(xcgn -j session show | jq -r --arg a "$s2" '.[] | select(.inside_addr == $a and
		.inside_port == 6000) | "\(.public_addr):\(.public_port)"')
	echo "subscriber 1 saw $from; subscriber 2's public endpoint is $pub2"
	assert_eq "$pub2" "$from" "seen with its own public endpoint"
}

# REQ-10: no ALG rewrites payloads (none is built in).
c4787_req10_no_alg() {
	attach_default
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 5060 "$TMP/sip" 20 detail
	wait_listen "$NS_INET" "$S1:5060" u
	local sub
	sub=$(sub_addr 9)
	craft "$NS_SUB" udp "$sub" 5060 "$S1" 5060 "INVITE sip:a@$S1 SIP/2.0 Via: SIP/2.0/UDP $sub:5060"
	wait_until 6 test -s "$TMP/sip" || true
	grep -q "UDP $sub:5060" "$TMP/sip" || fail "payload changed: $(cat "$TMP/sip")"
}

# REQ-11: deterministic: mapping and filtering behave the same under load.
c4787_req11_deterministic() {
	attach_default
	echo_server "$S1" 3478 "$TMP/s1"
	echo_server "$S2" 3478 "$TMP/s2"
	local pids=()
	for i in $(seq 10 40); do
		in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" 20000 30 "$S1" 3478 \
			0.5 >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	assert_ge "$(xcgn -j session show | jq length)" 900 "under load"
	udp_from "$(sub_addr 1)" 5000 "$S2" 3478
	udp_from "$(sub_addr 1)" 5000 "$S1" 3478
	a=$(grep -c . "$TMP/s2")
	assert_eq 1 "$a" "S2 saw one sender"
	assert_eq "$(seen "$TMP/s2" 1)" "$(grep "$(seen "$TMP/s2" 1)" "$TMP/s1")" "still one mapping"
}

# REQ-12: an ICMP error never destroys the mapping it is about.
c4787_req12_icmp_keeps_mapping() {
	attach_default
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 11)" 5000 "$S1" 3478
	pub=$(seen "$TMP/s1" 1)
	# From S2, a host the subscriber never talked to (REQ-12a: no
	# filtering of ICMP by source).
	craft "$NS_INET" icmp-err "$S2" "${pub%:*}" 3 3 udp "${pub%:*}" "${pub#*:}" "$S1" 3478
	sleep 0.3
	assert_ge "$(stat icmp_error_in)" 1 "the error was translated"
	udp_from "$(sub_addr 11)" 5000 "$S1" 3478 || fail "the flow died"
	assert_eq 1 "$(stat mapping_created)" "same mapping after the error"
}

# REQ-13: a datagram with DF too big for the next hop: the subscriber
# hears "fragmentation needed", it is not silently dropped.
c4787_req13_df() {
	attach_default
	ip -n "$NS_NAT" link set "$DEV_O" mtu 1400
	ip -n "$NS_INET" link set "$DEV_E" mtu 1400
	# shellcheck disable=SC1010 # "-M do" is ping's option
	out=$(in_sub timeout 5 ping -M do -s 1450 -c 2 -i 0.3 -W 1 -I "$(sub_addr 12)" "$S1" 2>&1 || true)
	echo "$out"
	echo "$out" | grep -Eq 'mtu ?= ?1400|Frag needed' || fail "no fragmentation-needed heard"
}

# REQ-14: fragments pass both ways, also out of order.
c4787_req14_fragments() {
	attach_default
	head -c 4000 /dev/urandom >"$TMP/up"
	head -c 4000 /dev/urandom >"$TMP/down"
	local sub
	sub=$(sub_addr 13)
	echo_server "$S1" 3478 "$TMP/s1"
	bg "$NS_SUB" python3 "$TOOLS/udp_recv.py" "$sub" 5000 "$TMP/down.got" 15 "$S1:3478"
	pub=$(seen "$TMP/s1" 1)
	bg "$NS_INET" python3 "$TOOLS/udp_recv.py" "$S1" 7001 "$TMP/up.got" 15
	wait_listen "$NS_INET" "$S1:7001" u
	in_sub "$SCAPY" "$TOOLS/frag_send.py" "$sub" 5000 "$S1" 7001 "$TMP/up" reverse
	in_inet "$SCAPY" "$TOOLS/frag_send.py" "$S1" 3478 "${pub%:*}" "${pub#*:}" "$TMP/down" reverse
	wait_until 10 eval '[ -s "$TMP/up.got" ] && [ -s "$TMP/down.got" ]' || true
	cmp "$TMP/up" "$TMP/up.got" || fail "outbound, last fragment first"
	cmp "$TMP/down" "$TMP/down.got" || fail "inbound, last fragment first"
}

# REQ-13a: DF clear and too big for the next hop: fragmented, delivered.
c4787_req13a_fragmented() {
	attach_default
	ip -n "$NS_NAT" link set "$DEV_O" mtu 1400
	ip -n "$NS_INET" link set "$DEV_E" mtu 1400
	bg "$NS_INET" python3 "$TOOLS/udp_recv.py" "$S1" 7002 "$TMP/got" 10
	wait_listen "$NS_INET" "$S1:7002" u
	head -c 1450 /dev/urandom >"$TMP/data"
	# One 1478-byte datagram without DF: fragmenting it is xcgn's (the
	# kernel's, on the slow path) job.
	in_sub "$SCAPY" "$TOOLS/frag_send.py" "$(sub_addr 14)" 5000 "$S1" 7002 "$TMP/data" forward 1480
	wait_until 6 test -s "$TMP/got" || true
	cmp "$TMP/data" "$TMP/got" || fail "not delivered whole"
	assert_ge "$(stat fragment_translated)" 1 "the fragments were translated"
}

# REQ-14a: a flood of bogus later fragments (held, bounded) does not stop
# a real out-of-order datagram.
c4787_req14a_fragment_flood() {
	attach_default
	in_inet timeout 30 python3 - <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i in range(5000):
    dst = "198.51.100.%d" % (i % 16)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 64, i & 0xffff, 0x0010 | 0x2000, 64, 17,
                      0, socket.inet_aton("203.0.113.2"), socket.inet_aton(dst))
    s.sendto(hdr + bytes(64), (dst, 0))
PY
	assert_ge $(( $(stat fragment_held) + $(drop fragment_unknown) )) 4500 "the flood was held or dropped"
	c4787_req14_fragments_after_flood
}

c4787_req14_fragments_after_flood() {
	head -c 4000 /dev/urandom >"$TMP/down"
	local sub
	sub=$(sub_addr 15)
	echo_server "$S1" 3478 "$TMP/s1"
	bg "$NS_SUB" python3 "$TOOLS/udp_recv.py" "$sub" 5000 "$TMP/down.got" 15 "$S1:3478"
	pub=$(seen "$TMP/s1" 1)
	in_inet "$SCAPY" "$TOOLS/frag_send.py" "$S1" 3478 "${pub%:*}" "${pub#*:}" "$TMP/down" reverse
	wait_until 10 test -s "$TMP/down.got" || true
	cmp "$TMP/down" "$TMP/down.got" || fail "a real datagram after the flood"
}
