#!/bin/bash
# shellcheck shell=bash
# Reverse-path validation: the kernel as the oracle, the seed case, route
# changes followed live, spoofed traffic dropped, and the lint.

# The router namespace for the oracle: no default route (so something is
# unroutable), a slice of "internet" behind the outside, another device
# (${P}d, "dummy" in the matrix) with its own subnet, a blackholed pool.
rpf_router_setup() {
	ip -n "$NS_NAT" route del default
	ip -n "$NS_NAT" route add 198.18.0.0/15 via "$S1"
	# "Another device": one end of a veth pair (no dummy module here).
	ip -n "$NS_NAT" link add "${P}d" type veth peer name "${P}q"
	ip -n "$NS_NAT" addr add 192.0.2.1/26 dev "${P}d"
	ip -n "$NS_NAT" link set "${P}q" up
	ip -n "$NS_NAT" link set "${P}d" up
	ip -n "$NS_NAT" route add blackhole 198.51.100.0/28
	ip -n "$NS_NAT" route add unreachable 198.18.5.0/24
	ip -n "$NS_NAT" route add throw 198.18.6.0/24
	# Two paths: one through the inside, one through ${P}d.
	ip -n "$NS_NAT" route add 192.0.2.128/26 nexthop via 100.64.1.2 dev "$DEV_I" \
		nexthop dev "${P}d"
	# Steer by UDP port: 4002 arrives on ${P}d, 4003 on lo.
	in_nat tc qdisc add dev "$DEV_I" clsact
	# (u32: this kernel has no flower; the test packets carry no options.)
	in_nat tc filter add dev "$DEV_I" ingress protocol ip pref 1 u32 match ip protocol 17 0xff \
		match ip dport 4002 0xffff action mirred ingress redirect dev "${P}d"
	in_nat tc filter add dev "$DEV_I" ingress protocol ip pref 2 u32 match ip protocol 17 0xff \
		match ip dport 4003 0xffff action mirred ingress redirect dev lo
}

# Thirteen sources x three arrival devices x {strict, loose, off} x
# accept_local {0, 1} x {tables merged, split by a policy rule}: the
# kernel's rp_filter, `xcgn rpf explain` and, on the inside, the XDP
# program itself must agree on every case.
test_rpf_kernel_oracle_matrix() {
	rpf_router_setup
	timeout 300 python3 "$TOOLS/rpf_matrix.py" "$NS_NAT" "$NS_SUB" "$DEV_S" "$DEV_I" "${P}d" \
		100.64.1.254 "$DEV_O" "$XCGN_BIN" | tee "$TMP/matrix"
	grep -q "^468 cases, 468 agree, 0 disagree" "$TMP/matrix" || fail "verdicts disagree"
	# The matrix is only worth something if it has both answers.
	grep -Eq "kernel dropped [1-3][0-9][0-9], accepted [1-3][0-9][0-9]" "$TMP/matrix" ||
		fail "the matrix lacks drops or accepts"
}

# The exact seed case: source == destination == a local address, arriving
# on lo, strict, local sources allowed: the kernel accepts (the local-route
# fix) and so does xcgn; on a device that does not hold the address, both
# drop.
test_rpf_seed_case_loopback() {
	rpf_router_setup
	local dev
	for dev in all lo "${P}d" "$DEV_I"; do
		in_nat sysctl -qw "net.ipv4.conf.$dev.rp_filter=1" "net.ipv4.conf.$dev.accept_local=1"
	done
	bg "$NS_NAT" python3 "$TOOLS/udp_echo.py" 0.0.0.0 4003 "$TMP/lo.seen" 30
	bg "$NS_NAT" python3 "$TOOLS/udp_echo.py" 0.0.0.0 4002 "$TMP/dummy.seen" 30
	wait_listen "$NS_NAT" "0.0.0.0:4003" u
	wait_listen "$NS_NAT" "0.0.0.0:4002" u
	# Raw sends from the subscriber side, source and destination both the
	# router's inside address; the tc redirects pick the arrival device.
	in_sub python3 - "$DEV_S" "$(ip -n "$NS_NAT" -j link show "$DEV_I" | jq -r '.[0].address')" <<'EOF'
import socket, struct, sys
dev, dmac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
a = socket.inet_aton("100.64.1.254")
for port in (4003, 4002):
    udp = struct.pack("!HHHH", 5000, port, 12, 0) + b"seed"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 32, 7, 0, 64, 17, 0, a, a)
    c = sum(struct.unpack("!10H", ip)); c = (c >> 16) + (c & 0xffff); c = ~(c + (c >> 16)) & 0xffff
    ip = ip[:10] + struct.pack("!H", c) + ip[12:]
    s.send(dmac + s.getsockname()[4][:6] + b"\x08\x00" + ip + udp)
EOF
	sleep 0.5
	[ -s "$TMP/lo.seen" ] || fail "the kernel dropped the seed packet arriving on lo"
	[ ! -s "$TMP/dummy.seen" ] || fail "the kernel accepted it on a device without the address"
	in_nat tc qdisc del dev "$DEV_I" clsact
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn rpf sync >/dev/null
	xcgn -j rpf explain 100.64.1.254 dev lo to 100.64.1.254 | tee "$TMP/lo.json"
	assert_eq accept "$(jq -r .verdict "$TMP/lo.json")" "xcgn on lo"
	assert_eq loopback_local "$(jq -r .rule "$TMP/lo.json")" "the rule that decided"
	assert_eq "$DEV_I" "$(jq -r '.route.dev[0]' "$TMP/lo.json")" "the local route names the inside device"
	xcgn -j rpf explain 100.64.1.254 dev "${P}d" to 100.64.1.254 | tee "$TMP/d.json"
	assert_eq drop "$(jq -r .verdict "$TMP/d.json")" "xcgn on the dummy device"
	assert_eq other_device "$(jq -r .rule "$TMP/d.json")" "strict refuses the other device"
}

# Spoofed sources from a subscriber never leave: dropped at XDP and
# counted, while the real subscriber goes on being translated.
test_rpf_spoofed_sources_dropped() {
	attach_default
	in_sub ip addr add 192.0.2.66/32 dev "$DEV_S"
	bg "$NS_INET" timeout 20 tcpdump -i "$DEV_E" -n -U -w "$TMP/out.pcap" udp port 7000
	sleep 0.5
	in_sub timeout 5 python3 "$TOOLS/udp_flows.py" 192.0.2.66 33000 5 "$S1" 7000 0.5 >/dev/null || true
	in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 3)" 33000 5 "$S1" 7000 0.5 >/dev/null || true
	sleep 0.5
	assert_ge "$(drop reverse_path)" 5 "spoofed datagrams dropped for the reverse path"
	assert_eq 5 "$(stat mapping_created)" "mappings only for the real subscriber"
	bg_kill
	n=$(tcpdump -n -r "$TMP/out.pcap" 2>/dev/null | grep -c "192.0.2.66" || true)
	assert_eq 0 "$n" "spoofed source seen on the internet side"
	n=$(tcpdump -n -r "$TMP/out.pcap" 2>/dev/null | grep -c "198.51.100" || true)
	assert_ge "$n" 5 "translated datagrams on the internet side"
}

# Routes change under running traffic: a new subscriber prefix routed to
# the inside is accepted within a second without restart, a removed one is
# dropped, and an established flow goes on untouched.
test_rpf_route_changes_live() {
	attach_default
	# No periodic re-read: only the netlink subscription can notice.
	: >"$TMP/daemon.err"
	daemon_start log-file none rpf-resync 600000 || fail "the daemon did not start: $(cat "$TMP/daemon.err")"
	# The established flow: a TCP stream from subscriber 1.
	ip netns exec "$NS_INET" timeout 40 socat -u TCP4-LISTEN:9200,bind="$S1",reuseaddr \
		OPEN:"$TMP/stream.got",creat,trunc &
	BG_PIDS+=($!)
	wait_listen "$NS_INET" "$S1:9200" t
	(for _ in $(seq 1 60); do echo "tick $(date +%s%N)"; sleep 0.1; done) |
		in_sub timeout 30 socat -u - "TCP4:$S1:9200,bind=$(sub_addr 1)" &
	local stream=$!
	# A subscriber behind a second prefix, reached through a router on
	# the inside link that the NAT does not know about yet.
	in_sub ip addr add 100.64.9.9/32 dev "$DEV_S"
	in_sub ip addr add 100.64.1.200/24 dev "$DEV_S"
	pings() { in_sub timeout 3 ping -q -c 3 -i 0.2 -W 1 -I 100.64.9.9 "$S1" >/dev/null 2>&1; }
	pings && fail "100.64.9.9 has no route back yet, yet its pings went through"
	local before
	before=$(drop reverse_path)
	[ "$before" -ge 1 ] || fail "unrouted subscriber not counted as reverse_path"
	ip -n "$NS_NAT" route add 100.64.9.0/24 via 100.64.1.200
	local t0
	t0=$(date +%s%N)
	local ok=0
	for _ in $(seq 1 20); do
		if [ "$(xcgn -j rpf explain 100.64.9.9 dev "$DEV_I" | jq -r .verdict)" = accept ]; then
			ok=1
			break
		fi
		sleep 0.05
	done
	[ $ok = 1 ] || fail "new route not followed"
	echo "route followed after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 500 ] || fail "took half a second or more"
	pings || fail "pings from the new prefix after the route"
	ip -n "$NS_NAT" route del 100.64.9.0/24 via 100.64.1.200
	sleep 1
	before=$(drop reverse_path)
	pings && fail "pings from a removed prefix went through"
	assert_ge "$(drop reverse_path)" $((before + 1)) "removed prefix dropped again"
	wait "$stream" || fail "the established stream broke"
	assert_eq 60 "$(grep -c tick "$TMP/stream.got")" "every line of the stream arrived"
}

# The lint on deliberately broken hosts: each finding comes with a fix;
# applying it makes the finding go away and the configuration work.
test_rpf_lint_broken_hosts() {
	# 1. Kernel rp_filter strict on the inside while part of the
	#    subscribers sits behind another device.
	ip -n "$NS_NAT" route add 100.64.7.0/24 via "$S1"
	in_nat sysctl -qw net.ipv4.conf.all.rp_filter=1
	xcgn link attach inside "$DEV_I" outside "$DEV_O" 2>"$TMP/attach.err" &&
		fail "attach went ahead despite the lint's error"
	cat "$TMP/attach.err"
	grep -q kernel_rp_filter_strict "$TMP/attach.err" || fail "no rp_filter finding"
	xcgn link attach inside "$DEV_I" outside "$DEV_O" force 2>/dev/null
	xcgn pool add "$POOL"
	# lint exits 1 on errors: that is the point here.
	xcgn -j rpf lint >"$TMP/lint.json" && fail "lint passed with the rp_filter error"
	fix=$(jq -r '.[] | select(.code == "kernel_rp_filter_strict") | .fix' "$TMP/lint.json")
	echo "fix: $fix"
	[[ "$fix" == "sysctl -w "* ]] || fail "no sysctl fix offered: '$fix'"
	# shellcheck disable=SC2086 # the fix is a command line
	in_nat $fix >/dev/null
	xcgn -j rpf lint >"$TMP/lint.json" || true
	jq -e 'map(select(.code == "kernel_rp_filter_strict")) | length == 0' "$TMP/lint.json" \
		>/dev/null || fail "finding still there after its fix"

	# 2. A pool address configured on the outside device.
	ip -n "$NS_NAT" addr add 198.51.100.3/32 dev "$DEV_O"
	xcgn rpf lint >"$TMP/lint.txt" && fail "lint passed with a local pool address"
	cat "$TMP/lint.txt"
	xcgn -j rpf lint >"$TMP/lint.json" || true
	fix=$(jq -r '.[] | select(.code == "pool_address_local") | .fix' "$TMP/lint.json")
	assert_eq "ip addr del 198.51.100.3/32 dev $DEV_O" "$fix" "the fix offered"
	# shellcheck disable=SC2086
	ip -n "$NS_NAT" ${fix#ip }
	xcgn rpf lint >/dev/null || fail "lint still fails after the fix"
	in_sub timeout 5 ping -q -c 2 -i 0.2 -W 1 "$S1" >/dev/null || fail "traffic after the fixes"
}
