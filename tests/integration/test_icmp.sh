#!/bin/bash
# shellcheck shell=bash
# ICMP errors through xcgn, with the real kernel generating them.

# Path MTU discovery: a router past xcgn has a 1280-byte link; its
# "fragmentation needed" must reach the subscriber translated, or a TCP
# upload with DF hangs in a black hole.
test_pmtu_discovery_through_xcgn() {
	local far=${P}far
	ip netns add "$far"
	trap 'ip netns del '"$far"' 2>/dev/null; test_teardown' EXIT
	ip -n "$NS_INET" link add "${P}m" type veth peer name "${P}f" netns "$far"
	ip -n "$NS_INET" addr add 192.0.2.1/24 dev "${P}m"
	ip -n "$NS_INET" link set "${P}m" mtu 1280 up
	ip netns exec "$NS_INET" sysctl -qw net.ipv4.conf.all.forwarding=1
	ip -n "$far" addr add 192.0.2.10/24 dev "${P}f"
	ip -n "$far" link set lo up
	ip -n "$far" link set "${P}f" up
	ip -n "$far" route add default via 192.0.2.1
	ip netns exec "$far" ethtool -K "${P}f" tx off >/dev/null
	attach_default

	# shellcheck disable=SC1010 # "-M do" is ping's option, not a loop
	out=$(in_sub timeout 10 ping -M do -s 1400 -c 3 -i 0.3 -W 1 -I "$(sub_addr 4)" 192.0.2.10 2>&1 || true)
	echo "$out"
	echo "$out" | grep -Eq 'mtu ?= ?1280' || fail "no fragmentation-needed reached the subscriber"
	in_sub ip route get 192.0.2.10 from "$(sub_addr 4)" | grep -q "mtu 1280" ||
		fail "the subscriber's kernel did not learn the path MTU"
	assert_ge "$(stat icmp_error_in)" 1 "ICMP errors translated inwards"

	head -c 2000000 /dev/urandom >"$TMP/up"
	ip netns exec "$far" timeout 30 socat -u TCP4-LISTEN:9000,bind=192.0.2.10,reuseaddr \
		OPEN:"$TMP/up.got",creat,trunc &
	BG_PIDS+=($!)
	wait_listen "$far" "192.0.2.10:9000" t
	in_sub timeout 20 socat -u OPEN:"$TMP/up" "TCP4:192.0.2.10:9000,bind=$(sub_addr 5)" ||
		fail "upload did not complete"
	wait_until 10 cmp -s "$TMP/up" "$TMP/up.got" || true
	cmp "$TMP/up" "$TMP/up.got" || fail "upload differs"
	echo "2 MB upload over a 1280-byte hop completed, byte for byte"
}

# A subscriber's port unreachable for an inbound datagram goes out
# translated: the server sees it about its own packet to the public port.
test_subscriber_icmp_error_translated() {
	attach_default
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 30
	wait_listen "$NS_INET" "$S1:7000" u
	in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 6)" 33000 1 "$S1" 7000 >/dev/null
	pub=$(cut -d: -f1 "$TMP/seen")
	pport=$(cut -d: -f2 "$TMP/seen")
	# Nothing listens on the subscriber's port now: its kernel answers a
	# datagram with port unreachable.
	bg "$NS_INET" timeout 10 tcpdump -i "$DEV_E" -n -U -c 1 -w "$TMP/icmp.pcap" icmp
	sleep 0.5
	echo probe | in_inet timeout 3 socat -t 0.5 - "UDP4:$pub:$pport,bind=$S1:7100" >/dev/null 2>&1 || true
	wait_until 6 eval '[ -s "$TMP/icmp.pcap" ] && [ "$(tcpdump -r "$TMP/icmp.pcap" -n 2>/dev/null | wc -l)" -ge 1 ]' || true
	line=$(tcpdump -r "$TMP/icmp.pcap" -n -v 2>/dev/null | tr '\n' ' ')
	echo "$line"
	echo "$line" | grep -q "$pub > $S1: ICMP $pub udp port $pport unreachable" ||
		fail "the error did not leave translated"
	echo "$line" | grep -q "100\.64\." && fail "a subscriber address leaked inside the error"
	assert_ge "$(stat icmp_error_out)" 1 "ICMP errors translated outwards"
}

# RFC 6888 REQ-11(b): a refused subscriber hears "administratively
# prohibited" from xcgn's inside address; ping prints it.
test_refused_subscriber_gets_icmp_prohibited() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add "$POOL" new-rate 1
	in_sub timeout 5 ping -q -c 1 -W 1 -I "$(sub_addr 1)" "$S1" >/dev/null || fail "first ping"
	out=$(in_sub timeout 5 ping -c 1 -W 1 -I "$(sub_addr 1)" "$S1" 2>&1 || true)
	echo "$out"
	echo "$out" | grep -q "From 100.64.1.254 .*Packet filtered" ||
		fail "no administratively-prohibited error from xcgn"
	assert_ge "$(stat icmp_prohibited_sent)" 1 "errors sent"
	assert_ge "$(drop subscriber_rate)" 1 "refusals counted"
	in_sub timeout 5 ping -q -c 1 -W 1 -I "$(sub_addr 2)" "$S1" >/dev/null ||
		fail "another subscriber is unaffected"
}

# RFC 4787 REQ-14: a 4000-byte UDP datagram (three fragments each way at MTU
# 1500) goes through both ways intact; a flood of bogus later fragments is
# dropped and disturbs nothing.
test_fragmented_udp_both_ways() {
	attach_default
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 30
	wait_listen "$NS_INET" "$S1:7000" u
	head -c 4000 /dev/urandom >"$TMP/big"
	in_sub timeout 10 socat -t 2 -b 8192 - "UDP4:$S1:7000,bind=$(sub_addr 8)" <"$TMP/big" >"$TMP/big.back"
	cmp "$TMP/big" "$TMP/big.back" || fail "the 4000-byte datagram did not come back intact"
	assert_ge "$(stat fragment_translated)" 4 "later fragments translated (2 out, 2 in)"
	echo "4000-byte datagram out and back: intact"

	# 10000 later fragments of datagrams nobody started, from the internet.
	in_inet timeout 20 python3 - <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i in range(10000):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 64, i & 0xffff, 0x0010 | 0x2000, 64, 17,
                      0, socket.inet_aton("203.0.113.2"), socket.inet_aton("198.51.100.%d" % (i % 16)))
    s.sendto(hdr + bytes(64), ("198.51.100.%d" % (i % 16), 0))
PY
	# Held for a first fragment that never comes, or dropped once the
	# queue of held fragments is full: either way counted, and bounded.
	assert_ge $(( $(drop fragment_unknown) + $(stat fragment_held) )) 9000 \
		"bogus fragments held or dropped"
	in_sub timeout 10 socat -t 2 -b 8192 - "UDP4:$S1:7000,bind=$(sub_addr 9)" <"$TMP/big" >"$TMP/big.back2"
	cmp "$TMP/big" "$TMP/big.back2" || fail "traffic after the flood"
}

# RFC 4787 REQ-14 out of order: a 4000-byte datagram sent last fragment
# first, both ways, arrives whole; and shuffled with the first in the middle.
test_fragments_out_of_order_both_ways() {
	attach_default
	head -c 4000 /dev/urandom >"$TMP/up"
	head -c 4000 /dev/urandom >"$TMP/down"
	local sub
	sub=$(sub_addr 8)
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 30
	wait_listen "$NS_INET" "$S1:7000" u
	# The subscriber opens its mapping (and so becomes known), then waits.
	bg "$NS_SUB" python3 "$TOOLS/udp_recv.py" "$sub" 33000 "$TMP/down.got" 15 "$S1:7000"
	wait_until 10 test -s "$TMP/seen" || true
	[ -s "$TMP/seen" ] || fail "the mapping was not opened"
	pub=$(cut -d: -f1 "$TMP/seen")
	pport=$(cut -d: -f2 "$TMP/seen")

	# Out: last fragment first.
	bg "$NS_INET" python3 "$TOOLS/udp_recv.py" "$S1" 7001 "$TMP/up.got" 15
	wait_listen "$NS_INET" "$S1:7001" u
	in_sub /usr/bin/python3 "$TOOLS/frag_send.py" "$sub" 33000 "$S1" 7001 "$TMP/up" reverse
	# In: last fragment first, from the server to the public address.
	in_inet /usr/bin/python3 "$TOOLS/frag_send.py" "$S1" 7000 "$pub" "$pport" "$TMP/down" reverse
	wait_until 10 eval '[ -s "$TMP/up.got" ] && [ -s "$TMP/down.got" ]' || true
	cmp "$TMP/up" "$TMP/up.got" || fail "outbound datagram, fragments reversed, not whole"
	cmp "$TMP/down" "$TMP/down.got" || fail "inbound datagram, fragments reversed, not whole"
	assert_ge "$(stat fragment_held)" 2 "inbound later fragments held"
	assert_ge "$(stat fragment_released)" 2 "and released"
	echo "4000 bytes each way, fragments reversed: whole"

	# Shuffled, the first fragment in the middle, inbound again.
	bg "$NS_SUB" python3 "$TOOLS/udp_recv.py" "$sub" 33001 "$TMP/down2.got" 15 "$S1:7000"
	wait_until 10 eval '[ "$(wc -l <"$TMP/seen")" -ge 2 ]' || true
	pport=$(sed -n 2p "$TMP/seen" | cut -d: -f2)
	in_inet /usr/bin/python3 "$TOOLS/frag_send.py" "$S1" 7000 "$pub" "$pport" "$TMP/down" shuffle 600
	wait_until 10 test -s "$TMP/down2.got" || true
	cmp "$TMP/down" "$TMP/down2.got" || fail "inbound datagram, 7 fragments shuffled, not whole"
}
