#!/bin/bash
# shellcheck shell=bash
# Mapping behaviour observed from the servers' side.

# RFC 4787 REQ-1: the same inside ip:port appears as the same public ip:port
# to two different servers.
test_eim_two_servers() {
	attach_default
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 3478 "$TMP/s1.seen" 60
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S2" 3478 "$TMP/s2.seen" 60
	wait_listen "$NS_INET" "$S1:3478" u
	wait_listen "$NS_INET" "$S2:3478" u
	for s in "$S1" "$S2"; do
		echo hello | in_sub timeout 5 socat -t 1 - "UDP4:$s:3478,bind=$(sub_addr 5):40000,reuseaddr" >/dev/null
	done
	s1=$(cat "$TMP/s1.seen")
	s2=$(cat "$TMP/s2.seen")
	echo "S1 saw $s1, S2 saw $s2"
	[ -n "$s1" ] || fail "S1 saw nothing"
	assert_eq "$s1" "$s2" "observed mapping at S1 and S2"
	case $s1 in 198.51.100.*) ;; *) fail "not a pool address: $s1" ;; esac
	# TCP too: two connections from one source port to two servers.
	bg "$NS_INET" timeout 30 socat TCP4-LISTEN:8001,bind="$S1",reuseaddr SYSTEM:'echo $SOCAT_PEERADDR $SOCAT_PEERPORT'
	bg "$NS_INET" timeout 30 socat TCP4-LISTEN:8001,bind="$S2",reuseaddr SYSTEM:'echo $SOCAT_PEERADDR $SOCAT_PEERPORT'
	wait_listen "$NS_INET" "$S1:8001" t
	wait_listen "$NS_INET" "$S2:8001" t
	t1=$(in_sub timeout 5 socat -t 2 - "TCP4:$S1:8001,bind=$(sub_addr 5):41000,reuseaddr" </dev/null)
	# The first connection's TIME_WAIT would block the same 4-tuple, not this one.
	t2=$(in_sub timeout 5 socat -t 2 - "TCP4:$S2:8001,bind=$(sub_addr 5):41000,reuseaddr" </dev/null)
	echo "TCP: S1 saw $t1, S2 saw $t2"
	[ -n "$t1" ] || fail "TCP to S1 failed"
	assert_eq "$t1" "$t2" "observed TCP mapping at S1 and S2"
}

# One subscriber exhausts its ports; another keeps working; the refused
# flows are counted and no existing mapping is evicted.
test_block_exhaustion_one_subscriber() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add 198.51.100.5/32 ports 1024-1151 block-size 64 max-blocks 1
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	got=$(in_sub timeout 20 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 20000 70 "$S1" 7000)
	assert_eq 64 "$got" "flows that fit in one 64-port block"
	assert_ge "$(drop subscriber_limit)" 6 "refusals counted"
	got=$(in_sub timeout 20 python3 "$TOOLS/udp_flows.py" "$(sub_addr 2)" 20000 10 "$S1" 7000)
	assert_eq 10 "$got" "the other subscriber's flows"
	got=$(in_sub timeout 20 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 20000 5 "$S1" 7000)
	assert_eq 5 "$got" "the exhausted subscriber's existing flows still work"
	assert_eq 74 "$(nmaps)" "mappings (none evicted)"
	xcgn subscriber show
}

# Unsolicited traffic to the pool is dropped and counted, and creates no state.
test_unsolicited_inbound_dropped() {
	attach_default
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null	# one mapping, to have a subscriber
	before=$(nmaps)
	for port in 1024 1025 40000 65535; do
		echo probe | in_inet timeout 3 socat -t 0.2 - "UDP4:198.51.100.3:$port" >/dev/null 2>&1 || true
	done
	in_inet timeout 3 socat -t 0.2 - TCP4:198.51.100.3:22,connect-timeout=1 </dev/null >/dev/null 2>&1 || true
	sleep 0.3
	assert_ge "$(drop no_mapping)" 5 "unsolicited packets dropped"
	assert_eq "$before" "$(nmaps)" "mappings"
}

# First packets before the neighbour is resolved take the slow path (tc);
# the rest the fast path (XDP). Both translate alike.
test_slow_path_then_fast_path() {
	attach_default
	ip -n "$NS_NAT" neigh flush all
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	xcgn stats reset
	got=$(in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 3)" 30000 1 "$S1" 7000)
	assert_eq 1 "$got" "first flow answered"
	assert_ge "$(stat snat_tc)" 1 "first packet translated by tc egress"
	seen1=$(cat "$TMP/seen")
	got=$(in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 3)" 30000 1 "$S1" 7000)
	assert_eq 1 "$got" "second exchange answered"
	assert_ge "$(stat redirect_out)" 1 "later packet redirected at XDP"
	assert_eq "$seen1" "$(cat "$TMP/seen")" "same mapping on both paths"
}

# RFC 6888 REQ-6: a bypass destination sees the subscriber's own address;
# everything else still sees the pool.
test_bypass_destination_untranslated() {
	attach_default
	xcgn pool bypass add "$S2/32"
	ip -n "$NS_INET" route add 100.64.0.0/10 via "$NAT_OUT"	# S2 answers directly
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/s1.seen" 30
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S2" 7000 "$TMP/s2.seen" 30
	wait_listen "$NS_INET" "$S1:7000" u
	wait_listen "$NS_INET" "$S2:7000" u
	for s in "$S1" "$S2"; do
		got=$(in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 9)" 36000 1 "$s" 7000)
		assert_eq 1 "$got" "answer from $s"
	done
	echo "S1 saw $(cat "$TMP/s1.seen"), S2 saw $(cat "$TMP/s2.seen")"
	case $(cat "$TMP/s1.seen") in 198.51.100.*) ;; *) fail "S1 did not see the pool" ;; esac
	assert_eq "$(sub_addr 9):36000" "$(cat "$TMP/s2.seen")" "S2 sees the subscriber itself"
	assert_eq "$S2" "$(xcgn -j pool bypass show | jq -r '.[0].prefix')" "bypass listed"
	xcgn pool bypass del "$S2/32"
	assert_eq 0 "$(xcgn -j pool bypass show | jq length)" "bypass removed"
}

# RFC 4787 REQ-9: subscriber 2 reaches subscriber 1 at 1's public address
# and port, and 1 sees 2's public address and port; no ip rule needed.
test_hairpin_udp_between_subscribers() {
	attach_default
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/s1.seen" 30
	wait_listen "$NS_INET" "$S1:7000" u
	# Subscriber 1 opens a mapping from its port 7000 and then serves on it.
	cat >"$TMP/sub1.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7000))
s.sendto(b"hello", (sys.argv[2], 7000))
s.settimeout(1)
deadline = time.monotonic() + 20
with open(sys.argv[3], "a", buffering=1) as log:
    while time.monotonic() < deadline:
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        if data == b"hello":
            continue	# the server's echo of our opening packet
        log.write("%s:%d\n" % peer)
        s.sendto(data, peer)
PY
	# (a background job's stdin is /dev/null: the script goes in a file)
	bg "$NS_SUB" python3 "$TMP/sub1.py" "$(sub_addr 1)" "$S1" "$TMP/sub1.seen"
	wait_until 6 test -s "$TMP/s1.seen" || true
	pub1=$(cat "$TMP/s1.seen")
	echo "subscriber 1 is $pub1 to the world"
	got=$(in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 2)" 37000 3 "${pub1%:*}" "${pub1#*:}")
	assert_eq 3 "$got" "echoes through the hairpin"
	seen=$(sort -u "$TMP/sub1.seen")
	echo "subscriber 1 saw: $seen"
	assert_eq 3 "$(grep -c "" <<<"$seen")" "three flows"
	grep -q '^100\.64\.' <<<"$seen" && fail "subscriber 1 saw subscriber 2's inside address"
	grep -q '^198\.51\.100\.' <<<"$seen" || fail "not a public address"
	# The echoes' first packet found no neighbour for subscriber 2 yet: the
	# kernel routed it towards the upstream, and tc egress turned it to the
	# inside (the upstream here drops pool-to-pool); the rest turn at XDP.
	assert_ge "$(stat hairpin)" 3 "hairpinned"
	got=$(in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 2)" 37000 3 "${pub1%:*}" "${pub1#*:}")
	assert_eq 3 "$got" "echoes again, neighbours known"
	assert_ge "$(stat hairpin)" 9 "both ways at XDP"
}

# Issue 10 item 4: hairpinning needs nothing of the upstream, whose filter
# here drops pool-to-pool (scripts/netns-env.sh), and the end hosts keep
# their default offloads (partial checksums). A fragmented datagram and
# its fragmented echo, an ICMP port unreachable about a hairpinned packet,
# and a TCP connection all turn around inside xcgn; a pool source from the
# internet is a spoof.
test_hairpin_without_the_upstream() {
	hairpin_cases on
}

test_hairpin_without_the_upstream_offloads_off() {
	hairpin_cases off
}

# The same with the pool null-routed on the NAT host, the usual guard
# against routing loops, with the subscribers' checksum offload on and off.
# What XDP leaves to the kernel (the partial checksums, the first packet
# before the neighbour is known) turns around at the inside's tc ingress,
# before the routing decision, as the kernel's NAT does it in prerouting;
# routed, it would meet the null route untranslated.
test_hairpin_pool_null_routed_offloads_on() {
	hairpin_cases on blackhole
}

test_hairpin_pool_null_routed_offloads_off() {
	hairpin_cases off blackhole
}

hairpin_cases() {	# OFFLOADS(on|off) [blackhole]
	local s1 s2 pub1 pub2 out
	s1=$(sub_addr 3)
	s2=$(sub_addr 4)
	in_sub ethtool -K "$DEV_S" tx "$1" >/dev/null
	attach_default
	[ "${2:-}" != blackhole ] || in_nat ip route add blackhole "$POOL" ||
		fail "ip route add blackhole $POOL"
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/s1.seen" 30
	wait_listen "$NS_INET" "$S1:7000" u
	# Subscriber 1: a mapping from 7000, then an echo on it logging "peer
	# size"; a mapping from 7001 whose socket then closes (nothing listens:
	# its kernel answers port unreachable); a TCP listener on 7002 with its
	# mapping opened by a connection out from the same port.
	cat >"$TMP/sub1.py" <<'PY'
import socket, sys, time
me, srv, log = sys.argv[1], sys.argv[2], sys.argv[3]
closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
closed.bind((me, 7001)); closed.sendto(b"open", (srv, 7000)); time.sleep(0.3); closed.close()
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
l.bind((me, 7002)); l.listen(4)
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
c.bind((me, 7002)); c.connect((srv, 7002))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((me, 7000)); s.sendto(b"open", (srv, 7000)); s.settimeout(0.2); l.settimeout(0.2)
deadline = time.monotonic() + 25
with open(log, "a", buffering=1) as f:
    while time.monotonic() < deadline:
        try:
            a, peer = l.accept()
            a.settimeout(2)
            f.write("tcp %s:%d %s\n" % (peer[0], peer[1], a.recv(100).decode()))
            a.sendall(b"pong"); a.close()
        except socket.timeout:
            pass
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        if data == b"open":
            continue
        f.write("udp %s:%d %d\n" % (peer[0], peer[1], len(data)))
        s.sendto(data, peer)
PY
	bg "$NS_INET" timeout 30 socat TCP4-LISTEN:7002,bind="$S1",reuseaddr,fork SYSTEM:'cat >/dev/null'
	wait_listen "$NS_INET" "$S1:7002" t
	bg "$NS_SUB" python3 "$TMP/sub1.py" "$s1" "$S1" "$TMP/sub1.log"
	wait_until 10 eval '[ "$(sort -u "$TMP/s1.seen" 2>/dev/null | wc -l)" -ge 2 ]' || true
	pub1=$(xcgn -j session show | jq -r --arg a "$s1" '.[] | select(.inside_addr == $a and
		.inside_port == 7000 and .proto == "udp") | .public_addr')
	[ -n "$pub1" ] || fail "no mapping for subscriber 1"
	port() { xcgn -j session show | jq -r --arg a "$s1" --argjson p "$1" --arg proto "$2" \
		'.[] | select(.inside_addr == $a and .inside_port == $p and .proto == $proto) | .public_port'; }
	echo "subscriber 1 is $pub1: udp $(port 7000 udp), closed $(port 7001 udp), tcp $(port 7002 tcp)"

	# A 3000-byte datagram (three fragments each way) and its echo.
	out=$(in_sub timeout 10 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.bind(('$s2', 37000))
for i in range(3):
    s.sendto(b'x' * 3000, ('$pub1', $(port 7000 udp)))
    try:
        print(len(s.recv(65535))); break
    except socket.timeout:
        pass")
	assert_eq 3000 "$out" "the fragmented echo came back whole"
	pub2=$(xcgn -j session show | jq -r --arg a "$s2" '.[] | select(.inside_addr == $a and
		.inside_port == 37000) | "\(.public_addr):\(.public_port)"')
	grep -q "^udp $pub2 3000$" "$TMP/sub1.log" || fail "subscriber 1 did not get it whole from $pub2: $(cat "$TMP/sub1.log")"

	# Port unreachable about a hairpinned datagram, to its sender's socket.
	in_sub timeout 8 python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.bind(('$s2', 38000)); s.connect(('$pub1', $(port 7001 udp)))
for i in range(3):
    s.send(b'x')
    try:
        s.recv(10)
    except ConnectionRefusedError:
        sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)" || fail "subscriber 2 never heard the port unreachable"

	# TCP, partial checksums both ways.
	out=$(echo ping | in_sub timeout 10 socat -t 3 - "TCP4:$pub1:$(port 7002 tcp),bind=$s2:39000")
	assert_eq pong "$out" "TCP through the hairpin"
	grep -q "^tcp ${pub2%:*}:[0-9]* ping$" "$TMP/sub1.log" || fail "subscriber 1 saw: $(cat "$TMP/sub1.log")"

	assert_ge "$(stat hairpin)" 8 "all of it hairpinned"
	assert_eq 0 "$(stat icmp_error_in)" "no error came back from the internet"

	# From the internet, a pool source is a spoof.
	local spoofs got
	spoofs=$(drop spoofed_source)
	got=$(grep -c "^udp" "$TMP/sub1.log")
	in_inet /usr/bin/python3 -c "
from scapy.all import IP, UDP, send, conf
conf.verb = 0
send(IP(src='${pub2%:*}', dst='$pub1') / UDP(sport=${pub2#*:}, dport=$(port 7000 udp)) / b'spoofed', count=3)"
	wait_until 6 eval '[ "$(drop spoofed_source)" -ge $((spoofs + 3)) ]' || true
	assert_ge "$(drop spoofed_source)" $((spoofs + 3)) "pool-sourced packets from the internet dropped"
	sleep 0.3
	assert_eq "$got" "$(grep -c "^udp" "$TMP/sub1.log")" "no spoofed datagram reached subscriber 1"
}
