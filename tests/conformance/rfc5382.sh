#!/bin/bash
# shellcheck shell=bash
# RFC 5382: NAT behavioural requirements for TCP.

# A TCP server on ADDR:PORT that appends "peer_addr:peer_port" per
# connection to LOG.
tcp_server() {	# ADDR PORT LOG
	bg "$NS_INET" python3 "$TOOLS/tcp_peers.py" "$1" "$2" "$3" 30
	wait_listen "$NS_INET" "$1:$2" t
}

tcp_from() {	# SUB_ADDR SPORT DST DPORT
	echo hi | in_sub timeout 5 socat -u - "TCP4:$3:$4,bind=$1:$2,reuseaddr"
}

# REQ-1: endpoint-independent mapping for TCP.
c5382_req1_eim() {
	attach_default
	tcp_server "$S1" 9000 "$TMP/s1"
	tcp_server "$S2" 9000 "$TMP/s2"
	tcp_from "$(sub_addr 1)" 40000 "$S1" 9000
	tcp_from "$(sub_addr 1)" 40000 "$S2" 9000
	a=$(seen "$TMP/s1" 1)
	b=$(seen "$TMP/s2" 1)
	echo "S1 saw $a, S2 saw $b"
	[ -n "$a" ] || fail "S1 saw nothing"
	assert_eq "$a" "$b" "one public endpoint towards S1 and S2"
}

# REQ-2, 2a: every valid sequence, simultaneous open included: both ends
# connect() to each other; the server's first SYN is lost, so each side
# sees the other's SYN before any SYN-ACK.
c5382_req2_simultaneous_open() {
	attach_default
	local sub
	sub=$(sub_addr 2)
	in_inet nft -f - <<-EOF
	table ip simopen {
		chain in {
			type filter hook input priority 0;
			tcp dport 9001 tcp flags & (syn | ack) == syn drop
		}
	}
	EOF
	# The subscriber's connect: its SYN never gets an answer yet.
	bg "$NS_SUB" python3 -c "
import socket, sys
s = socket.socket(); s.settimeout(20)
s.bind(('$sub', 41000)); s.connect(('$S1', 9001))
s.sendall(b'from-sub'); print(s.recv(100).decode()); s.close()" >"$TMP/sub.out"
	local pub=""
	for _ in $(seq 1 50); do
		pub=$(xcgn -j session show | jq -r '.[] | select(.inside_port == 41000) |
			"\(.public_addr) \(.public_port)"')
		[ -n "$pub" ] && break
		sleep 0.1
	done
	[ -n "$pub" ] || fail "no mapping for the subscriber's SYN"
	# The server connects to the public endpoint: SYN meets SYN.
	# shellcheck disable=SC2086
	set -- $pub
	in_inet timeout 20 python3 -c "
import socket
s = socket.socket(); s.settimeout(15)
s.bind(('$S1', 9001)); s.connect(('$1', $2))
print(s.recv(100).decode()); s.sendall(b'from-server'); s.close()" >"$TMP/srv.out"
	wait_until 10 test -s "$TMP/sub.out" || true
	assert_eq from-sub "$(cat "$TMP/srv.out")" "the server got the subscriber's data"
	assert_eq from-server "$(cat "$TMP/sub.out")" "the subscriber got the server's data"
}

# REQ-3: endpoint-independent filtering: a SYN from a host never contacted
# reaches the subscriber's mapped port.
c5382_req3_filtering() {
	attach_default
	tcp_server "$S1" 9000 "$TMP/s1"
	tcp_from "$(sub_addr 3)" 40000 "$S1" 9000
	pub=$(seen "$TMP/s1" 1)
	capture "$NS_SUB" "$DEV_S" "$TMP/c.pcap" tcp dst port 40000
	craft "$NS_INET" syn "$S2" 5555 "${pub%:*}" "${pub#*:}"
	capture_stop 1
	n=$(packets "$TMP/c.pcap" | jq -r 'select(.src == "'"$S2"'" and .dport == 40000) | .flags' |
		grep -c S || true)
	assert_eq 1 "$n" "S2's SYN reached the subscriber"
}

# REQ-3b: TCP filtered apart from UDP, in one pool: UDP address-dependent
# (S2, never contacted, is refused, as the kernel's NAT refuses every
# protocol's), TCP endpoint-independent (S2's SYN reaches the subscriber).
c5382_req3b_tcp_filtering_apart() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add "$POOL" filtering address-dependent tcp-filtering endpoint-independent
	xcgn -j pool show | jq -e '.[0] | .filtering == "per-protocol" and
		.udp_filtering == "address-dependent" and .tcp_filtering == "endpoint-independent" and
		.icmp_filtering == "address-dependent"' >/dev/null ||
		fail "pool show: $(xcgn -j pool show | jq -c '.[0]')"
	xcgn pool show | grep -q "udp-filtering address-dependent  tcp-filtering endpoint-independent" ||
		fail "pool show: $(xcgn pool show)"
	local sub
	sub=$(sub_addr 4)
	echo_server "$S1" 3478 "$TMP/u1"
	bg "$NS_SUB" python3 "$TOOLS/udp_recv.py" "$sub" 5000 "$TMP/adf" 10 "$S1:3478"
	pub=$(seen "$TMP/u1" 1)
	craft "$NS_INET" udp "$S2" 4000 "${pub%:*}" "${pub#*:}" from-s2
	sleep 0.5
	[ ! -s "$TMP/adf" ] || fail "UDP, address-dependent: a host never contacted got through"
	assert_ge "$(drop filtered)" 1 "the UDP refusal counted"

	tcp_server "$S1" 9000 "$TMP/t1"
	tcp_from "$sub" 40001 "$S1" 9000
	pub=$(seen "$TMP/t1" 1)
	capture "$NS_SUB" "$DEV_S" "$TMP/c.pcap" tcp dst port 40001
	craft "$NS_INET" syn "$S2" 5555 "${pub%:*}" "${pub#*:}"
	capture_stop 1
	n=$(packets "$TMP/c.pcap" | jq -r 'select(.src == "'"$S2"'" and .dport == 40001) | .flags' |
		grep -c S || true)
	assert_eq 1 "$n" "TCP, endpoint-independent: S2's SYN reached the subscriber"
}

# REQ-4: no answer to an unsolicited inbound SYN (silently dropped, as
# REQ-4a allows by policy; no ICMP after 6 s either).
c5382_req4_unsolicited_syn() {
	attach_default
	capture "$NS_INET" "$DEV_E" "$TMP/c.pcap" src net 198.51.100.0/28
	craft "$NS_INET" syn "$S1" 5555 198.51.100.5 6666
	sleep 7
	capture_stop 0
	assert_eq 0 "$(packets "$TMP/c.pcap" | grep -c . || true)" "nothing answered, in 7 s"
	assert_ge "$(drop no_mapping)" 1 "dropped and counted"
}

# REQ-5: established idle at least 2 h 4 min, transitory at least 4 min.
c5382_req5_timers() {
	attach_default
	assert_eq 7440 "$(xcgn -j pool show | jq '.[0].tcp_established')" "established default"
	assert_eq 240 "$(xcgn -j pool show | jq '.[0].tcp_transitory')" "transitory default"
	xcgn pool add 198.51.100.64/28 tcp-established 7439 2>/dev/null && fail "7439 s accepted"
	xcgn pool add 198.51.100.64/28 tcp-transitory 239 2>/dev/null && fail "239 s accepted"
	xcgn pool add 198.51.100.64/28 tcp-established 9000 tcp-transitory 300
}

# REQ-6: no ALG: an FTP PORT command's address passes unchanged.
c5382_req6_no_alg() {
	attach_default
	bg "$NS_INET" timeout 20 socat -u TCP4-LISTEN:2121,bind="$S1",reuseaddr OPEN:"$TMP/ftp",creat
	wait_listen "$NS_INET" "$S1:2121" t
	echo "PORT 100,64,1,9,156,64" | in_sub timeout 5 socat -u - "TCP4:$S1:2121"
	wait_until 6 test -s "$TMP/ftp" || true
	assert_eq "PORT 100,64,1,9,156,64" "$(cat "$TMP/ftp")" "payload unchanged"
}

# REQ-7: no port overloading for TCP.
c5382_req7_no_overloading() {
	attach_default
	tcp_server "$S1" 9000 "$TMP/s1"
	tcp_from "$(sub_addr 4)" 40000 "$S1" 9000
	tcp_from "$(sub_addr 5)" 40000 "$S1" 9000
	a=$(seen "$TMP/s1" 1)
	b=$(seen "$TMP/s1" 2)
	echo "$a and $b"
	[ -n "$b" ] || fail "both connections must pass"
	[ "$a" != "$b" ] || fail "one public endpoint for two subscribers"
}

# REQ-8, 8a: TCP hairpinning, seen with the external source endpoint.
c5382_req8_hairpin() {
	attach_default
	local s1 s2
	s1=$(sub_addr 6)
	s2=$(sub_addr 7)
	tcp_server "$S1" 9000 "$TMP/s1"
	# Subscriber 1 listens on 5000 and, from the same port, opens its
	# mapping with a connection out (SO_REUSEPORT lets both share it).
	bg "$NS_SUB" timeout 20 python3 -c "
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
l.bind(('$s1', 5000)); l.listen(4)
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
c.bind(('$s1', 5000)); c.connect(('$S1', 9000))
a, peer = l.accept(); print('%s:%d' % peer, flush=True); a.recv(10)" >"$TMP/hp"
	pub1=$(seen "$TMP/s1" 1)
	[ -n "$pub1" ] || fail "no mapping for subscriber 1"
	echo hi | in_sub timeout 5 socat -u - "TCP4:${pub1%:*}:${pub1#*:},bind=$s2:6000"
	wait_until 6 test -s "$TMP/hp" || true
	pub2=$(xcgn -j session show | jq -r --arg a "$s2" '.[] | select(.inside_addr == $a and
		.inside_port == 6000) | "\(.public_addr):\(.public_port)"')
	echo "subscriber 1 saw $(cat "$TMP/hp"); subscriber 2 is $pub2"
	assert_eq "$pub2" "$(cat "$TMP/hp")" "seen with its public endpoint"
}

# REQ-9: destination unreachable about a TCP flow reaches the subscriber,
# the quoted header restored.
c5382_req9_icmp_translated() {
	attach_default
	tcp_server "$S1" 9000 "$TMP/s1"
	tcp_from "$(sub_addr 8)" 40000 "$S1" 9000
	pub=$(seen "$TMP/s1" 1)
	capture "$NS_SUB" "$DEV_S" "$TMP/c.pcap" icmp
	craft "$NS_INET" icmp-err "$S1" "${pub%:*}" 3 4 tcp "${pub%:*}" "${pub#*:}" "$S1" 9000
	capture_stop 1
	p=$(packets "$TMP/c.pcap" | head -1)
	echo "$p"
	assert_eq "$(sub_addr 8)" "$(echo "$p" | jq -r .dst)" "outer destination"
	assert_eq "3/4" "$(echo "$p" | jq -r '"\(.type)/\(.code)"')" "type and code"
	assert_eq "$(sub_addr 8):40000" "$(echo "$p" | jq -r '"\(.qsrc):\(.qsport)"')" "quoted source"
}

# REQ-10: ICMP errors tear nothing down: a transfer goes on through them.
c5382_req10_icmp_no_teardown() {
	attach_default
	head -c 500000 /dev/urandom >"$TMP/data"
	bg "$NS_INET" timeout 30 socat -u TCP4-LISTEN:9100,bind="$S1",reuseaddr OPEN:"$TMP/got",creat
	wait_listen "$NS_INET" "$S1:9100" t
	(sleep 1; cat "$TMP/data") | in_sub timeout 20 socat -u - "TCP4:$S1:9100,bind=$(sub_addr 9):40100" &
	local cl=$!
	local pub=""
	for _ in $(seq 1 30); do
		pub=$(xcgn -j session show | jq -r '.[] | select(.inside_port == 40100) |
			"\(.public_addr) \(.public_port)"')
		[ -n "$pub" ] && break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	set -- $pub
	for code in 0 1 3 13; do
		craft "$NS_INET" icmp-err "$S1" "$1" 3 "$code" tcp "$1" "$2" "$S1" 9100
	done
	wait "$cl" || fail "the transfer broke"
	assert_ge "$(stat icmp_error_in)" 4 "the errors reached the subscriber"
	assert_eq "$1 $2" "$(xcgn -j session show | jq -r '.[] | select(.inside_port == 40100) |
		"\(.public_addr) \(.public_port)"')" "the same mapping after them"
	wait_until 6 cmp -s "$TMP/data" "$TMP/got" || true
	cmp "$TMP/data" "$TMP/got" || fail "data differs"
}
