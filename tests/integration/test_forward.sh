#!/bin/bash
# shellcheck shell=bash
# Static port forwarding (`xcgn forward`), tried from the internet side.

# A server behind the NAT on subscriber SUB:80 (TCP, its greeting) and
# :5060 (UDP echo).
forward_servers() {	# SUB
	bg "$NS_SUB" timeout 60 socat TCP4-LISTEN:80,bind="$1",reuseaddr,fork SYSTEM:"echo hello-from-$1"
	bg "$NS_SUB" python3 "$TOOLS/udp_echo.py" "$1" 5060 "$TMP/udp.seen" 60
	wait_listen "$NS_SUB" "$1:80" t
	wait_listen "$NS_SUB" "$1:5060" u
}
# What a host on the internet gets from ADDR:PORT over TCP, and over UDP.
tcp_from_inet() { in_inet timeout 5 socat -T 3 - "TCP4:$1:$2" </dev/null 2>/dev/null; }
udp_from_inet() {
	in_inet timeout 5 python3 "$TOOLS/udp_flows.py" "$S2" 7777 1 "$1" "$2" 1 2>/dev/null
}

# The kernel's NAT runs the same scenario (a DNAT rule and masquerade):
# the internet reaches the subscriber's server through the forwarded
# port. Then xcgn, in an address-dependent pool: forwards over TCP and UDP
# reach it from anyone, are logged (the block, then the mapping), survive
# a session flush and a reload, are refused where they collide, and end
# with del.
test_forward_reaches_the_subscriber_from_the_internet() {
	local sub pub=198.51.100.5 other
	sub=$(sub_addr 5)
	forward_servers "$sub"
	in_nat nft -f - <<NFT || fail "nftables DNAT"
table ip fwdref {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "$DEV_O" ip daddr $pub tcp dport 40123 dnat to $sub:80
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$DEV_O" ip saddr 100.64.0.0/10 snat to $pub
	}
}
NFT
	in_nat ip addr add "$pub/32" dev lo
	assert_eq "hello-from-$sub" "$(tcp_from_inet "$pub" 40123)" "nftables: the forwarded port"
	in_nat nft delete table ip fwdref
	in_nat ip addr del "$pub/32" dev lo

	attach_default filtering address-dependent
	daemon_start log-file "$TMP/nat.log" || fail "the daemon did not start"
	xcgn forward add "$pub:40123" to "$sub:80" proto tcp || fail "forward add tcp"
	xcgn forward add "$pub:40200" to "$sub:5060" proto udp || fail "forward add udp"
	xcgn forward add "$pub:40123" to "$sub:80" proto tcp || fail "the same forward again"
	xcgn -j forward show | jq -e --arg s "$sub" 'length == 2 and all(.[]; .subscriber == $s) and
		([.[] | .public_port] | sort) == [40123, 40200]' >/dev/null ||
		fail "forward show: $(xcgn -j forward show)"
	assert_eq "hello-from-$sub" "$(tcp_from_inet "$pub" 40123)" "TCP from the internet"
	assert_eq 1 "$(udp_from_inet "$pub" 40200)" "UDP from the internet, and its answer"
	# The subscriber holds the forwarded ports' block, on that address.
	xcgn -j subscriber show | jq -e --arg s "$sub" --arg p "$pub" \
		'.[] | select(.subscriber == $s) | .public == $p' >/dev/null ||
		fail "subscriber show: $(xcgn -j subscriber show)"
	wait_until 5 grep -q '"via":"forward"' "$TMP/nat.log" || fail "no forward in the NAT log"
	grep -q "\"event\":\"alloc\",\"subscriber\":\"$sub\",\"public\":\"$pub\",\"port_lo\":39936,\"port_hi\":40447" \
		"$TMP/nat.log" || fail "the block is not logged: $(cat "$TMP/nat.log")"
	local now=$(($(date +%s) + 1))
	xcgn -j log who "$pub:40123" at "@$now" file "$TMP/nat.log" |
		jq -e --arg s "$sub" '.subscriber == $s and .pcp.via == "forward" and .pcp.inside_port == 80' \
		>/dev/null || fail "log who: $(xcgn log who "$pub:40123" at "@$now" file "$TMP/nat.log")"

	# Collisions, each said: another subscriber's block; the subscriber
	# on another address; a port already mapped.
	in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 6)" 20000 1 "$S1" 9 1 >/dev/null || true
	other=$(xcgn -j session show subscriber "$(sub_addr 6)" | jq -r '.[0] | "\(.public_addr):\(.public_port)"')
	[ "$other" != "null:null" ] || fail "subscriber 6 has no mapping: $(xcgn -j session show)"
	expect_err 1 "another subscriber's" forward add "$other" to "$(sub_addr 7):81" proto tcp
	expect_err 1 "the subscriber is on $pub" forward add 198.51.100.6:40000 to "$sub:81" proto tcp
	expect_err 1 "another mapping's" forward add "$pub:40123" to "$sub:82" proto tcp
	expect_err 2 "invalid proto" forward add "$pub:40124" to "$sub:83" proto sctp
	expect_err 1 "no forward of $pub:40999" forward del "$pub:40999" proto tcp

	xcgn link check >"$TMP/check.out" 2>&1 || fail "the tables' invariants with forwards: $(cat "$TMP/check.out")"
	# A flush leaves forwards alone; a reload keeps them.
	xcgn session flush | grep -q "2 forward(s) kept" || fail "session flush"
	assert_eq "hello-from-$sub" "$(tcp_from_inet "$pub" 40123)" "after the flush"
	xcgn link reload >/dev/null 2>&1 || fail "reload"
	assert_eq "hello-from-$sub" "$(tcp_from_inet "$pub" 40123)" "after the reload"
	assert_eq 2 "$(xcgn -j forward show | jq length)" "forwards after the reload"

	xcgn forward del "$pub:40123" proto tcp || fail "forward del"
	assert_eq 1 "$(xcgn -j forward show | jq length)" "one forward left"
	[ -z "$(tcp_from_inet "$pub" 40123)" ] || fail "the deleted forward still reaches the server"
	wait_until 5 grep -q "\"event\":\"pcp_end\".*\"inside_port\":80" "$TMP/nat.log" ||
		fail "the end is not logged"
	assert_eq 1 "$(udp_from_inet "$pub" 40200)" "the UDP forward still works"
}

# Forwards in the configuration file: applied after the pools, shown by
# config show, unchanged by a second apply, removed when their line goes;
# check names the line of a forward outside the pools.
test_forward_in_the_configuration_file() {
	local sub
	sub=$(sub_addr 5)
	forward_servers "$sub"
	cat >"$TMP/f.conf" <<EOF2
link inside $DEV_I outside $DEV_O
pool $POOL
forward 198.51.100.5:40123 to $sub:80 proto tcp
forward 198.51.100.5:40200 to $sub:5060 proto udp
EOF2
	xcgn config diff "$TMP/f.conf" | grep -qx "forward add 198.51.100.5:40123 to $sub:80 proto tcp" ||
		fail "the plan: $(xcgn config diff "$TMP/f.conf")"
	xcgn config apply "$TMP/f.conf" || fail "config apply"
	assert_eq "hello-from-$sub" "$(tcp_from_inet 198.51.100.5 40123)" "the file's forward"
	xcgn config show | grep -qx "forward 198.51.100.5:40200 to $sub:5060 proto udp" ||
		fail "config show: $(xcgn config show)"
	assert_eq "" "$(xcgn config diff "$TMP/f.conf")" "the same file again"
	sed -i '/proto udp/d' "$TMP/f.conf"
	xcgn config diff "$TMP/f.conf" | grep -qx "forward del 198.51.100.5:40200 proto udp" ||
		fail "the plan: $(xcgn config diff "$TMP/f.conf")"
	xcgn config apply "$TMP/f.conf" 2>/dev/null || fail "config apply without the udp forward"
	assert_eq 1 "$(xcgn -j forward show | jq length)" "forwards after the line went"
	echo "forward 203.0.113.9:80 to $sub:81 proto tcp" >>"$TMP/f.conf"
	expect_err 1 "f.conf:4: forward 203.0.113.9:80: the address is in no pool of the file" \
		config check "$TMP/f.conf"
}
