#!/bin/bash
# shellcheck shell=bash
# PCP (RFC 6887) and NAT-PMP (RFC 6886), RFC 6888 REQ-9: a client nobody
# here wrote (natpmpc) opens a port the internet reaches; hand-built PCP
# requests for every opcode and every result code xcgn sends; spoofed and
# outside sources get nothing.

GW=100.64.1.254

start_pcp_daemon() {	# daemon options...
	# A fresh file: a restarted daemon's lines are not its predecessor's.
	: >"$TMP/daemon.err"
	daemon_start log-file "$TMP/nat.log" pcp "$@" &&
		wait_until 5 grep -q "PCP and NAT-PMP on UDP port 5351" "$TMP/daemon.err" ||
		fail "the daemon did not start its PCP server: $(cat "$TMP/daemon.err")"
}

# One hand-built PCP request from subscriber I (or any SRC) and its answer.
probe() {	# SRC [key=value...]
	local src=$1
	shift
	in_sub /usr/bin/python3 "$TOOLS/pcp_probe.py" "$DEV_S" "$src" 40001 "$GW" "$@"
}

# The field of a probe's JSON answer.
field() { jq -r ".$1"; }

test_pcp_natpmpc_opens_a_port_the_internet_reaches() {
	local out paddr pport sub_paddr t0
	attach_default
	expect_err 2 "need pcp" daemon pcp-rate 5
	expect_err 2 "invalid pcp-lifetime" daemon pcp pcp-lifetime 10-5
	expect_err 2 "invalid pcp-lifetime" daemon pcp pcp-lifetime 0-5
	start_pcp_daemon pcp-lifetime 2-3600
	in_sub timeout 5 natpmpc -g "$GW" >"$TMP/addr.out" 2>&1 || {
		cat "$TMP/addr.out"
		fail "natpmpc: public address"
	}
	paddr=$(sed -n 's/.*Public IP address : \([0-9.]*\).*/\1/p' "$TMP/addr.out")
	sub_paddr=$(xcgn -j subscriber show | jq -r ".[] | select(.subscriber == \"$(sub_addr 1)\") | .public")
	[ -n "$paddr" ] || fail "no public address in: $(cat "$TMP/addr.out")"
	assert_eq "$sub_paddr" "$paddr" "natpmpc's public address is the subscriber's"

	# A subscriber that carries no traffic of its own has its holds cut to
	# the UDP timer (300 s here: pcp-share, man xcgn): this one sends first.
	in_sub timeout 5 ping -q -c 1 -W 2 -I "$(sub_addr 1)" "$S1" >/dev/null || fail "ping"
	# A server behind the NAT, a port mapped for it, a client on the internet.
	bg "$NS_SUB" timeout 60 socat TCP4-LISTEN:8080,bind="$(sub_addr 1)",reuseaddr,fork \
		SYSTEM:'echo served-by-subscriber'
	wait_listen "$NS_SUB" "$(sub_addr 1):8080" t
	in_sub timeout 5 natpmpc -g "$GW" -a 8080 8080 tcp 600 >"$TMP/map.out" 2>&1 || {
		cat "$TMP/map.out"
		fail "natpmpc: map"
	}
	pport=$(sed -n 's/.*Mapped public port \([0-9]*\) protocol TCP to local port 8080.*/\1/p' \
		"$TMP/map.out")
	[ -n "$pport" ] || fail "no mapping in: $(cat "$TMP/map.out")"
	out=$(in_inet timeout 5 socat -T 3 - "TCP4:$paddr:$pport" </dev/null) ||
		fail "the internet could not reach $paddr:$pport"
	assert_eq served-by-subscriber "$out" "what the internet got"
	xcgn -j session show | jq -e ".[] | select(.inside_port == 8080 and .public_port == $pport
		and .pcp == \"natpmp\" and .pcp_lifetime_s == 600)" >/dev/null ||
		fail "session show: $(xcgn -j session show)"

	# The NAT log names it, and log who says it was a mapping asked for.
	grep -q "\"event\":\"pcp_map\".*\"public\":\"$paddr\",\"port_lo\":$pport.*\"inside_port\":8080.*\"via\":\"natpmp\"" \
		"$TMP/nat.log" || fail "no pcp_map record: $(cat "$TMP/nat.log")"
	xcgn -j log who "$paddr:$pport" | jq -e \
		".subscriber == \"$(sub_addr 1)\" and .pcp.inside_port == 8080 and .pcp.via == \"natpmp\"" \
		>/dev/null || fail "log who (live): $(xcgn -j log who "$paddr:$pport")"
	sleep 1.1	# the log's clock is ms: ask a time after the record
	out=$(xcgn -j log who "$paddr:$pport" at "@$(date +%s)" file "$TMP/nat.log")
	echo "$out" | jq -e ".subscriber == \"$(sub_addr 1)\" and .pcp.inside_port == 8080 and
		.pcp.via == \"natpmp\"" >/dev/null || fail "log who (NAT log): $out"

	# Deleted on request: gone, and the internet no longer gets in.
	in_sub timeout 5 natpmpc -g "$GW" -a 8080 8080 tcp 0 >"$TMP/del.out" 2>&1 ||
		fail "natpmpc: delete: $(cat "$TMP/del.out")"
	xcgn -j session show | jq -e '[.[] | select(.inside_port == 8080)] | length == 0' \
		>/dev/null || fail "still mapped after the delete: $(xcgn -j session show)"
	in_inet timeout 3 socat -T 2 - "TCP4:$paddr:$pport,connect-timeout=2" </dev/null \
		>/dev/null 2>&1 && fail "the internet still reaches the deleted mapping"
	grep -q "\"event\":\"pcp_end\".*\"port_lo\":$pport" "$TMP/nat.log" ||
		fail "no pcp_end record"

	# Expires at its lifetime (2 s; the daemon sweeps each second).
	in_sub timeout 5 natpmpc -g "$GW" -a 9000 9000 udp 2 >"$TMP/exp.out" 2>&1 ||
		fail "natpmpc: map udp: $(cat "$TMP/exp.out")"
	grep -q "liftime 2\|lifetime 2" "$TMP/exp.out" || fail "lifetime granted: $(cat "$TMP/exp.out")"
	t0=$(date +%s.%N)
	for _ in $(seq 1 60); do
		xcgn -j session show | jq -e '[.[] | select(.inside_port == 9000)] | length == 0' \
			>/dev/null && break
		sleep 0.1
	done
	xcgn -j session show | jq -e '[.[] | select(.inside_port == 9000)] | length == 0' \
		>/dev/null || fail "not expired 6 s after a 2 s lifetime"
	awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { exit !(a - b >= 1.5) }' ||
		fail "expired before its lifetime"
}

test_pcp_requests_and_every_result_code() {
	local out nonce=a1a2a3a4a5a6a7a8a9aaabac s1 s2 port paddr
	s1=$(sub_addr 1)
	s2=$(sub_addr 2)
	attach_default
	start_pcp_daemon pcp-mappings 3 pcp-rate 1000
	in_nat ip route add 100.64.9.0/24 dev lo

	# ANNOUNCE: success, lifetime 0, the epoch of this attach.
	out=$(probe "$s1" op=announce life=0)
	echo "announce: $out"
	assert_eq 0 "$(echo "$out" | field result)" "ANNOUNCE"
	assert_eq 128 "$(echo "$out" | field opcode)" "ANNOUNCE response opcode"
	[ "$(echo "$out" | field epoch)" -lt 30 ] || fail "epoch: $out"

	# MAP: a port, on the subscriber's public address, open to anyone.
	out=$(probe "$s1" op=map proto=17 port=5000 life=300 nonce=$nonce)
	echo "map: $out"
	assert_eq 0 "$(echo "$out" | field result)" "MAP"
	assert_eq 300 "$(echo "$out" | field lifetime)" "MAP lifetime"
	port=$(echo "$out" | field port)
	paddr=$(echo "$out" | field addr)
	assert_eq "$(xcgn -j subscriber show | jq -r ".[] | select(.subscriber == \"$s1\") | .public")" \
		"$paddr" "MAP's address is the subscriber's (paired pooling)"
	bg "$NS_SUB" timeout 30 socat -u UDP4-RECV:5000,bind="$s1" "OPEN:$TMP/got,creat"
	wait_listen "$NS_SUB" "$s1:5000" u
	echo hello-from-S2 | in_inet socat -u - "UDP4-SENDTO:$paddr:$port,bind=$S2"
	wait_until 6 grep -q hello-from-S2 "$TMP/got" || true
	grep -q hello-from-S2 "$TMP/got" || fail "the internet did not reach the MAP"

	# Renewal with the same nonce: the same port. Another nonce: refused.
	out=$(probe "$s1" op=map proto=17 port=5000 life=300 nonce=$nonce)
	assert_eq "$port" "$(echo "$out" | field port)" "renewal keeps the port"
	out=$(probe "$s1" op=map proto=17 port=5000 life=300 nonce=ffffffffffffffffffffffff)
	assert_eq 2 "$(echo "$out" | field result)" "another nonce: NOT_AUTHORIZED"

	# A suggested port inside the subscriber's block (of 512) is honoured.
	local base=$(( 1024 + (port - 1024) / 512 * 512 ))
	local want=$(( base + (port - base + 1) % 512 ))
	out=$(probe "$s1" op=map proto=6 port=22 want=$want life=300)
	assert_eq 0 "$(echo "$out" | field result)" "MAP with a suggestion"
	assert_eq "$want" "$(echo "$out" | field port)" "the suggested port"

	# PEER: success, on the same public address.
	out=$(probe "$s1" op=peer proto=17 port=6000 peer=$S1 peer_port=3478 life=300)
	echo "peer: $out"
	assert_eq 0 "$(echo "$out" | field result)" "PEER"
	assert_eq "$paddr" "$(echo "$out" | field addr)" "PEER's address"
	out=$(probe "$s1" op=peer proto=17 port=6000 peer=$S2 peer_port=3478 life=300 \
		nonce=b1b2b3b4b5b6b7b8b9babbbc)
	assert_eq 0 "$(echo "$out" | field result)" "the same client's PEER for another remote"

	# The per-subscriber cap (3): the fourth is over quota.
	out=$(probe "$s1" op=map proto=17 port=5001 life=300)
	assert_eq 10 "$(echo "$out" | field result)" "fourth mapping: USER_EX_QUOTA"

	# Delete with the right nonce: success, lifetime 0, mapping gone.
	out=$(probe "$s1" op=map proto=17 port=5000 life=0 nonce=$nonce)
	assert_eq 0 "$(echo "$out" | field result)" "delete"
	assert_eq 0 "$(echo "$out" | field lifetime)" "delete lifetime"
	xcgn -j session show | jq -e "[.[] | select(.inside_port == 5000)] | length == 0" \
		>/dev/null || fail "still mapped after delete"

	# Every refusal, with its code.
	assert_eq 1 "$(probe "$s2" version=1 | field result)" "version 1: UNSUPP_VERSION"
	assert_eq 2 "$(probe "$s2" third=$s1 | field result)" "THIRD_PARTY not allowed: NOT_AUTHORIZED"
	assert_eq 3 "$(probe "$s2" extra=2 | field result)" "length not /4: MALFORMED_REQUEST"
	assert_eq 3 "$(probe "$s2" op=peer peer=0.0.0.0 | field result)" "PEER without a remote: MALFORMED_REQUEST"
	assert_eq 4 "$(probe "$s2" op=9 | field result)" "opcode 9: UNSUPP_OPCODE"
	assert_eq 5 "$(probe "$s2" opt=99:0 | field result)" "option 99: UNSUPP_OPTION"
	assert_eq 6 "$(probe "$s2" third=$s1 third_len=8 | field result)" "short THIRD_PARTY: MALFORMED_OPTION"
	assert_eq 9 "$(probe "$s2" proto=1 | field result)" "ICMP: UNSUPP_PROTOCOL"
	assert_eq 11 "$(probe "$s2" want_addr=192.0.2.1 prefer=1 port=7000 | field result)" \
		"another address, PREFER_FAILURE: CANNOT_PROVIDE_EXTERNAL"
	assert_eq 12 "$(probe "$s2" client=100.64.1.77 | field result)" "client address: ADDRESS_MISMATCH"
	# NO_RESOURCES: no address takes a new subscriber.
	local a
	for a in $(seq 0 15); do xcgn pool drain "198.51.100.$a" >/dev/null 2>&1 || true; done
	assert_eq 8 "$(probe "$(sub_addr 3)" port=7000 | field result)" "drained pool: NO_RESOURCES"

	# Spoofed: a subscriber source the inside has no route back to.
	local rp
	rp=$(drop reverse_path)
	in_sub ip addr add 100.64.9.9/32 dev "$DEV_S"
	assert_eq false "$(probe 100.64.9.9 | field answer)" "a spoofed source gets no answer"
	in_sub ip addr del 100.64.9.9/32 dev "$DEV_S"
	assert_ge "$(drop reverse_path)" $((rp + 1)) "dropped by the reverse-path check"
	# From the outside, to the inside address: never heard.
	in_inet ip route add "$GW/32" via "$NAT_OUT"
	out=$(in_inet /usr/bin/python3 "$TOOLS/pcp_probe.py" "$DEV_E" "$S2" 40001 "$GW")
	assert_eq false "$(echo "$out" | field answer)" "an outside source gets no answer"
	out=$(in_inet /usr/bin/python3 "$TOOLS/pcp_probe.py" "$DEV_E" "$S2" 40001 "$NAT_OUT")
	assert_eq false "$(echo "$out" | field answer)" "nothing listens on the outside"
}

test_pcp_rate_limit_third_party_and_restart() {
	local s1 s2 out n
	s1=$(sub_addr 1)
	s2=$(sub_addr 2)
	attach_default
	start_pcp_daemon pcp-rate 2 pcp-third-party "$(sub_addr 1)/32" metrics 127.0.0.1:9755

	# 2 a second, burst 4: of 20 at once, 4 (and what refills while they
	# are sent) are answered.
	n=$(probe "$s2" op=announce life=0 count=20 wait=1 | field answered)
	[ "$n" -ge 4 ] && [ "$n" -le 7 ] || fail "rate limit: $n of 20 answered"
	in_nat curl -s http://127.0.0.1:9755/metrics >"$TMP/m.txt"
	grep -q '^xcgn_pcp_requests_total{outcome="rate_limited"} [1-9]' "$TMP/m.txt" ||
		fail "rate_limited not counted: $(grep pcp "$TMP/m.txt")"

	# THIRD_PARTY allowed: subscriber 1 maps for subscriber 3.
	out=$(probe "$s1" third="$(sub_addr 3)" port=4000 life=300)
	assert_eq 0 "$(echo "$out" | field result)" "THIRD_PARTY allowed"
	xcgn -j session show | jq -e ".[] | select(.inside_addr == \"$(sub_addr 3)\" and
		.inside_port == 4000 and .pcp_client == \"$s1\")" >/dev/null ||
		fail "third-party mapping: $(xcgn -j session show)"
	in_nat curl -s http://127.0.0.1:9755/metrics >"$TMP/m2.txt"
	grep -q '^xcgn_pcp_mapping_events_total{event="made"} 1$' "$TMP/m2.txt" ||
		fail "made not counted: $(grep pcp_mapping "$TMP/m2.txt")"
	# ... but not for a host outside the subscriber range.
	assert_eq 2 "$(probe "$s1" third=192.0.2.7 port=4001 | field result)" "THIRD_PARTY not a subscriber"

	# The daemon restarts: the mapping and its lifetime are still there.
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" || fail "daemon exit: $(cat "$TMP/daemon.err")"
	start_pcp_daemon pcp-third-party "$(sub_addr 1)/32"
	grep -q "1 mapping(s) held" "$TMP/daemon.err" || fail "held after restart: $(cat "$TMP/daemon.err")"
	out=$(probe "$s1" third="$(sub_addr 3)" port=4000 life=300)
	assert_eq 0 "$(echo "$out" | field result)" "renewed after the restart (same nonce)"
	# A client that is not on the pcp-third-party list may not.
	assert_eq 2 "$(probe "$s2" third="$(sub_addr 3)" port=4002 life=300 | field result)" \
		"THIRD_PARTY from a client not on the list (NOT_AUTHORIZED)"
	[ "$(xcgn -j session show | jq "[.[] | select(.pcp)] | length")" = 1 ] ||
		fail "one PCP mapping: $(xcgn -j session show)"
	xcgn -j link check | jq -e ".violations == 0" >/dev/null || fail "check: $(xcgn -j link check)"

	# A flush ends it through the daemon, which logs the end.
	out=$(xcgn -j session flush subscriber "$(sub_addr 3)")
	echo "$out" | jq -e '.flushed == 1 and (.pcp_held // 0) == 0' >/dev/null ||
		fail "flush: $out"
	grep -q '"event":"pcp_end".*"inside_port":4000' "$TMP/nat.log" ||
		fail "no pcp_end for the flushed mapping: $(cat "$TMP/nat.log")"
}

# RFC 6887 §14.1.3: a starting server multicasts an ANNOUNCE to
# 224.0.0.1:5350 out of the inside device, so clients renew at once.
test_pcp_announce_at_start() {
	attach_default
	cat >"$TMP/listen.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5350))
ifindex = socket.if_nametoindex(sys.argv[1])
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4si", socket.inet_aton("224.0.0.1"), b"\0" * 4, ifindex))
s.settimeout(8)
open(sys.argv[2], "w").write("listening\n")
data, peer = s.recvfrom(1100)
open(sys.argv[2], "a").write("%s %s\n" % (peer[0], data.hex()))
PY
	bg "$NS_SUB" timeout 10 python3 "$TMP/listen.py" "$DEV_S" "$TMP/announce"
	wait_until 10 test -s "$TMP/announce" || true
	start_pcp_daemon
	wait_until 10 eval '[ "$(wc -l <"$TMP/announce")" -ge 2 ]' || true
	read -r from hex < <(tail -n 1 "$TMP/announce")
	echo "ANNOUNCE from $from: $hex"
	assert_eq 100.64.1.254 "$from" "from the inside address"
	assert_eq 48 "${#hex}" "a bare PCP header (24 bytes)"
	assert_eq 02800000 "${hex:0:8}" "version 2, an ANNOUNCE response, SUCCESS"
	[ $((16#${hex:16:8})) -lt 60 ] || fail "epoch ${hex:16:8}: not counted from the attach"
}

# One inside host sends NAT-PMP mapping requests from 300 spoofed
# subscriber addresses (they pass the reverse-path check: the range routes
# inside, and no answer is needed), paced under the new-subscriber cap.
# Each made a subscriber and its block, held for a day: the pool was the
# attacker's. Now the subscribers requests make, while they carry no
# traffic, hold at most pcp-share (25%) of the pool's blocks, each hold no
# longer than the pool's UDP timer; and a subscriber that took no part gets
# its first packet through. (nftables has no PCP to compare with.)
test_pcp_spoofed_requests_cannot_hold_the_pool() {
	local held real
	real=$(sub_addr 2)
	xcgn link attach inside "$DEV_I" outside "$DEV_O" || fail "attach"
	# 4 addresses x 64 blocks: 256 blocks, one a subscriber.
	xcgn pool add 198.51.100.0/30 ports 1024-65535 block-size 1008 max-blocks 1 || fail "pool add"
	assert_eq 256 "$(xcgn -j pool show | jq '.[0].blocks_total')" "the pool's blocks"
	xcgn pool set 198.51.100.0/30 sub-burst 100 sub-refill 3 || fail "pool set"
	in_nat ip route add 100.64.2.0/24 via "$(sub_addr 1)" dev "$DEV_I"
	start_pcp_daemon pcp-rate 1000
	in_sub timeout 60 /usr/bin/python3 - "$GW" "$DEV_S" <<'PY' || fail "the spoofed requests"
import sys, time
from scapy.all import IP, UDP, Raw, conf, send
conf.verb = 0
gw, dev = sys.argv[1], sys.argv[2]
srcs = ["100.64.1.%d" % i for i in range(100, 255)] + ["100.64.2.%d" % i for i in range(1, 146)]
for i, src in enumerate(srcs):
    # NAT-PMP: version 0, opcode 1 (UDP), internal port, suggested port, a day
    req = bytes([0, 1, 0, 0]) + (5000).to_bytes(2, "big") + (0).to_bytes(2, "big") + \
        (86400).to_bytes(4, "big")
    send(IP(src=src, dst=gw) / UDP(sport=5351 + 1000 + i % 100, dport=5351) / Raw(req), iface=dev)
    time.sleep(0.03)
PY
	sleep 1.5	# the last sweep
	held=$(xcgn -j subscriber show | jq length)
	echo "subscribers the requests made: $held of 256 blocks"
	[ "$held" -le 64 ] || fail "requests made $held subscribers, past pcp-share (64 of 256 blocks)"
	assert_ge "$held" 32 "the requests made subscribers at all (the test must reach the share)"
	# Every hold granted no longer than the pool's UDP timer (300 s).
	jq -r 'select(.event=="pcp_map") | .lifetime' "$TMP/nat.log" | sort -un >"$TMP/lives"
	[ -s "$TMP/lives" ] || fail "no pcp_map record"
	[ "$(tail -n 1 "$TMP/lives")" -le 300 ] ||
		fail "a hold of a subscriber with no traffic outlasts the UDP timer: $(tr '\n' ' ' <"$TMP/lives")"
	# A subscriber that took no part: its first packet goes through.
	in_sub timeout 5 ping -q -c 1 -W 2 -I "$real" "$S1" >/dev/null ||
		fail "the first packet of a subscriber that took no part"
}

# The PCP holds' table is sized at attach with the instance, a quarter of
# the mapping table (it was fixed at 65,536: 1,024 subscribers at 64 holds
# each filled it for everybody).
test_pcp_table_sized_with_the_instance() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O" max-mappings 1048576 || fail "attach"
	assert_eq 262144 "$(bpftool -j map show pinned "$(pin_dir)/xcgn_pcp" | jq .max_entries)" \
		"xcgn_pcp at max-mappings 1048576"
	xcgn link detach || fail "detach"
	xcgn link attach inside "$DEV_I" outside "$DEV_O" || fail "attach"
	assert_eq 65536 "$(bpftool -j map show pinned "$(pin_dir)/xcgn_pcp" | jq .max_entries)" \
		"xcgn_pcp at the default max-mappings"
}

# A request to end all of a client's mappings costs what that subscriber
# holds, not a walk of every hold in the table (it ran in the daemon's one
# thread, up to 64 requests a wake-up, while the NAT log waited).
test_pcp_delete_all_costs_what_the_subscriber_holds() {
	local s1 s2 nonce=0a0b0c0d0e0f101112131415 i steps
	s1=$(sub_addr 1)
	s2=$(sub_addr 2)
	attach_default
	start_pcp_daemon pcp-rate 1000 pcp-mappings 200 metrics 127.0.0.1:9756
	in_sub timeout 5 ping -q -c 1 -W 2 -I "$s2" "$S1" >/dev/null || fail "ping"
	# The others' holds, 150 of them (one process: the probe's own builder).
	in_sub timeout 30 /usr/bin/python3 - "$TOOLS" "$s2" "$GW" <<'PY' || fail "subscriber 2's holds"
import socket, sys, time
sys.path.insert(0, sys.argv[1])
from pcp_probe import build
src, gw = sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 40555))
s.settimeout(2)
for i in range(150):
    s.sendto(build({"op": "map", "proto": "17", "port": str(6001 + i), "life": "600"}, src),
             (gw, 5351))
    s.recv(1100)
PY
	for i in 1 2 3; do
		assert_eq 0 "$(probe "$s1" op=map proto=17 port=$((5000 + i)) life=600 nonce=$nonce | field result)" \
			"subscriber 1's mapping $i"
	done
	assert_eq 153 "$(xcgn -j session show | jq '[.[] | select(.pcp)] | length')" "holds before"
	assert_eq 0 "$(probe "$s1" op=map proto=0 port=0 life=0 nonce=$nonce | field result)" \
		"delete all (protocol 0, port 0, lifetime 0)"
	assert_eq 150 "$(xcgn -j session show | jq '[.[] | select(.pcp)] | length')" \
		"subscriber 1's three gone, subscriber 2's 150 kept"
	steps=$(nsenter --net="/run/netns/$NS_NAT" curl -s --max-time 2 http://127.0.0.1:9756/metrics |
		awk '$1 == "xcgn_pcp_delete_all_steps_total" {print $2}')
	echo "the delete-all looked at $steps holds"
	[ -n "$steps" ] && [ "$steps" -le 6 ] ||
		fail "a delete-all looked at $steps holds for a subscriber that held 3"
}

# The operator's forward is no PCP client's: the subscriber cannot take it
# over or end it, with the nonce a forward has (none) or any other, one by
# one or all at once, over PCP or NAT-PMP. (nftables has no PCP.)
test_pcp_cannot_end_a_forward() {
	local sub nonce0=000000000000000000000000
	attach_default
	sub=$(sub_addr 5)
	start_pcp_daemon
	xcgn forward add 198.51.100.5:40123 to "$sub:8080" proto udp || fail "forward add"
	assert_eq 2 "$(probe "$sub" port=8080 life=600 nonce=$nonce0 | field result)" \
		"a MAP over the forward, its nonce: NOT_AUTHORIZED"
	assert_eq 2 "$(probe "$sub" port=8080 life=0 nonce=$nonce0 | field result)" \
		"a delete of the forward: NOT_AUTHORIZED"
	probe "$sub" port=0 proto=0 life=0 nonce=$nonce0 >/dev/null
	in_sub timeout 5 natpmpc -g "$GW" -a 8080 0 udp 0 >/dev/null 2>&1 || true
	sleep 1.5	# past a sweep
	xcgn -j forward show | jq -e 'length == 1 and .[0].public_port == 40123' >/dev/null ||
		fail "the forward after the subscriber's requests: $(xcgn -j forward show)"
}
