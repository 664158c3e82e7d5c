#!/bin/bash
# shellcheck shell=bash
# Field conditions: a subscriber behind an access router, links narrower
# than 1500 on the way to it, senders with and without checksum offload.
# Every scenario runs through xcgn and, in the same test, through the
# kernel's own NAT (nftables SNAT to the same pool): what nftables
# delivers, xcgn must deliver too, and a scenario nftables fails would be
# a wrong test.
#
#   ${P}cpe (subscriber host)  <-->  ${P}sub (access router)  <-->  ${P}nat  <-->  ${P}inet
#   ${P}c 100.64.2.2/24             ${P}a 100.64.2.1/24
#                                    ${P}s 100.64.1.1/24             ${P}i 100.64.1.254

NS_CPE_SUFFIX=cpe

# The access router and the subscriber host behind it. MTU_ACC is the
# access link's (router to host); the host advertises an MSS of 1460
# whatever its link (advmss), as a host on a 1500 LAN behind a PPPoE CPE
# does, so a download's full-size segments meet the narrow link.
field_topology() {	# MTU_INSIDE MTU_ACC
	local cpe=${P}$NS_CPE_SUFFIX
	ip netns add "$cpe"
	ip -n "$NS_SUB" link add "${P}a" type veth peer name "${P}c" netns "$cpe"
	ip -n "$NS_SUB" addr add 100.64.2.1/24 dev "${P}a"
	ip -n "$cpe" addr add 100.64.2.2/24 dev "${P}c"
	ip -n "$NS_SUB" link set "${P}a" mtu "$2" up
	ip -n "$cpe" link set "${P}c" mtu "$2" up
	ip -n "$cpe" link set lo up
	ip -n "$cpe" route add default via 100.64.2.1 advmss 1460
	ip netns exec "$NS_SUB" sysctl -qw net.ipv4.conf.all.forwarding=1
	ip netns exec "$cpe" ethtool -K "${P}c" gro on >/dev/null
	ip netns exec "$NS_SUB" ethtool -K "${P}a" gro on >/dev/null
	ip -n "$NS_SUB" link set "$DEV_S" mtu "$1"
	ip -n "$NS_NAT" link set "$DEV_I" mtu "$1"
	ip -n "$NS_NAT" route add 100.64.2.0/24 via "$(sub_addr 1)" dev "$DEV_I"
	wait_until 5 sh -c "ip -n $cpe link show ${P}c | grep -q 'state UP'" ||
		fail "the access link did not come up"
}

in_cpe() { ip netns exec "${P}$NS_CPE_SUFFIX" "$@"; }

# Both senders' checksum offload on or off: the server's (a download's
# segments) and the subscriber host's.
field_offloads() {	# on|off
	in_inet ethtool -K "$DEV_E" tx "$1" >/dev/null
	in_cpe ethtool -K "${P}c" tx "$1" >/dev/null
}

# A 4 MiB download over TCP and a 1472-byte UDP datagram from the server,
# both larger than the narrow link, to the host behind the access router.
# LABEL names the case in any failure.
field_traffic() {	# LABEL
	local label=$1 want got
	want=$(sha256sum <"$TMP/www/blob" | cut -d' ' -f1)
	in_cpe timeout 20 curl -s --max-time 15 -o "$TMP/got" "http://$S1:8080/blob" ||
		fail "$label: a 4 MiB download: curl http://$S1:8080/blob in the host exited $?" \
			"after $(command stat -c %s "$TMP/got" 2>/dev/null || echo 0) bytes"
	got=$(sha256sum <"$TMP/got" | cut -d' ' -f1)
	assert_eq "$want" "$got" "$label: sha256 of a 4 MiB download (curl http://$S1:8080/blob in the host)"
	in_cpe timeout 10 /usr/bin/python3 "$TOOLS/udp_big.py" ask "$S1" 7100 \
		"100.64.2.2:$(( 20000 + RANDOM % 10000 ))" 1472 5 >"$TMP/udp" ||
		fail "$label: a 1472-byte UDP datagram from the server: $(cat "$TMP/udp")"
}

field_run() {	# MTU_INSIDE MTU_ACC
	local nat off
	field_topology "$1" "$2"
	mkdir -p "$TMP/www"
	head -c 4194304 /dev/urandom >"$TMP/www/blob"
	bg "$NS_INET" timeout 120 /usr/bin/python3 -m http.server --bind "$S1" --directory "$TMP/www" 8080
	bg "$NS_INET" /usr/bin/python3 "$TOOLS/udp_big.py" serve "$S1" 7100 1472 120
	wait_listen "$NS_INET" "$S1:8080" t
	wait_listen "$NS_INET" "$S1:7100" u
	for nat in nftables xcgn; do
		if [ $nat = xcgn ]; then
			nft_snat_off
			attach_default
		else
			nft_snat_on || fail "nftables SNAT"
		fi
		for off in off on; do
			# A path MTU the server learnt in the case before would
			# hide this one's errors.
			in_inet ip route flush cache
			field_offloads $off
			field_traffic "$nat, inside MTU $1, access link $2, offloads $off"
		done
	done
	assert_ge "$(stat icmp_error_out)" 1 "errors about inbound packets translated"
}

# The NAT host's own inside link is 1400: the host itself says
# "fragmentation needed" about the translated packet, which leaves
# translated back (DESIGN: ICMP errors about inbound packets).
test_field_narrow_inside_link() {
	field_run 1400 1500
}

# PPPoE: the access router's link to the subscriber is 1492: the router
# says "fragmentation needed" from its own address, quoting the packet as
# xcgn translated it, and xcgn translates the error back.
test_field_pppoe_behind_an_access_router() {
	field_run 1500 1492
}

# TCP MSS clamping (link option mss-clamp): a SYN from the subscriber and
# the server's SYN-ACK both arrive announcing no more than the clamp, with
# their checksums right (offloads off; with them on, the kernel completes
# the checksum as the segment leaves, and the connection must work). The
# same through nftables (tcp option maxseg size set), the reference.
mss_seen() {	# NS DEV FILTER OUT: the first segment FILTER matches, tcpdump -vv
	ip netns exec "$1" timeout 8 tcpdump -nvv -l -c 1 -i "$2" "$3" >"$4" 2>"$4.err" &
	BG_PIDS+=($!)
	wait_until 5 grep -q "listening on" "$4.err" || fail "tcpdump on $2 did not start"
}

mss_case() {	# LABEL OFFLOADS
	local label=$1 got
	in_sub ethtool -K "$DEV_S" tx "$2" >/dev/null
	in_inet ethtool -K "$DEV_E" tx "$2" >/dev/null
	mss_seen "$NS_INET" "$DEV_E" "tcp dst port 7300 and tcp[tcpflags] & tcp-syn != 0" "$TMP/syn"
	mss_seen "$NS_SUB" "$DEV_S" "tcp src port 7300 and tcp[tcpflags] & tcp-syn != 0" "$TMP/synack"
	got=$(echo ping | in_sub timeout 5 socat -t 2 - "TCP4:$S1:7300,bind=$(sub_addr 1)") ||
		fail "$label: a TCP connection under the clamp: socat exited $?"
	assert_eq ping "$got" "$label: the echo through the connection"
	wait_until 5 test -s "$TMP/syn" || fail "$label: tcpdump saw no SYN"
	wait_until 5 test -s "$TMP/synack" || fail "$label: tcpdump saw no SYN-ACK"
	cat "$TMP/syn" "$TMP/synack"
	grep -qE "mss 1300[],]" "$TMP/syn" || fail "$label: the SYN the server got: $(cat "$TMP/syn")"
	grep -qE "mss 1300[],]" "$TMP/synack" ||
		fail "$label: the SYN-ACK the subscriber got: $(cat "$TMP/synack")"
	if [ "$2" = off ]; then
		grep -q "(correct)" "$TMP/syn" || fail "$label: the SYN's checksum: $(cat "$TMP/syn")"
		grep -q "(correct)" "$TMP/synack" ||
			fail "$label: the SYN-ACK's checksum: $(cat "$TMP/synack")"
	fi
}

test_field_mss_clamp_both_ways() {
	local off clamped
	bg "$NS_INET" timeout 60 socat TCP4-LISTEN:7300,bind="$S1",reuseaddr,fork EXEC:cat
	wait_listen "$NS_INET" "$S1:7300" t
	nft_snat_on || fail "nftables SNAT"
	in_nat nft -f - <<NFT || fail "nftables MSS rule"
table ip xcgnmss {
	chain clamp {
		type filter hook forward priority mangle; policy accept;
		tcp flags & syn == syn tcp option maxseg size > 1300 tcp option maxseg size set 1300
	}
}
NFT
	for off in off on; do
		mss_case "nftables, offloads $off" $off
	done
	in_nat nft delete table ip xcgnmss
	nft_snat_off
	attach_default
	expect_err 2 "invalid mss-clamp" link set mss-clamp 100
	xcgn link set mss-clamp 1300 || fail "link set mss-clamp 1300"
	assert_eq 1300 "$(xcgn -j link show | jq '.[0].mss_clamp')" "link show: the clamp"
	for off in off on; do
		mss_case "xcgn, offloads $off" $off
	done
	clamped=$(stat mss_clamped)
	assert_ge "$clamped" 4 "SYNs and SYN-ACKs clamped and counted"
	# auto: the devices' smaller MTU less 40; off: nothing is clamped.
	in_nat ip link set "$DEV_I" mtu 1400
	xcgn link set mss-clamp auto || fail "link set mss-clamp auto"
	assert_eq 1360 "$(xcgn -j link show | jq '.[0].mss_clamp')" "auto on a 1400 inside link"
	assert_eq true "$(xcgn -j link show | jq '.[0].mss_clamp_auto')" "auto said"
	xcgn link set mss-clamp off || fail "link set mss-clamp off"
	assert_eq '"off"' "$(xcgn -j link show | jq '.[0].mss_clamp')" "off"
	echo ping | in_sub timeout 5 socat -t 2 - "TCP4:$S1:7300,bind=$(sub_addr 1)" >/dev/null ||
		fail "a connection with the clamp off"
	assert_eq "$clamped" "$(stat mss_clamped)" "nothing clamped with the clamp off"
}
