#!/bin/bash
# shellcheck shell=bash
# RFC 5508: NAT behavioural requirements for ICMP.

# An echo request out, the mapping's public "addr id" printed.
echo_mapping() {	# SUB_ADDR ID
	craft "$NS_SUB" echo "$1" "$S1" "$2"
	xcgn -j session show | jq -r --arg a "$1" '.[] | select(.proto == "icmp" and
		.inside_addr == $a) | "\(.public_addr) \(.public_port)"' | head -1
}

# REQ-1, 1a: echo works; the identifier's mapping does not depend on the
# external host.
c5508_req1_echo() {
	attach_default
	in_sub timeout 5 ping -q -c 2 -i 0.2 -W 1 -I "$(sub_addr 1)" "$S1" >/dev/null ||
		fail "ping through xcgn"
	capture "$NS_INET" "$DEV_E" "$TMP/c.pcap" icmp and src net 198.51.100.0/28
	craft "$NS_SUB" echo "$(sub_addr 2)" "$S1" 0x1234
	craft "$NS_SUB" echo "$(sub_addr 2)" "$S2" 0x1234
	capture_stop 2
	ids=$(packets "$TMP/c.pcap" | jq -r '"\(.src) \(.id)"' | sort -u)
	echo "towards S1 and S2: $ids"
	assert_eq 2 "$(packets "$TMP/c.pcap" | grep -c .)" "both requests left"
	assert_eq 1 "$(echo "$ids" | wc -l)" "one public address and identifier for both"
}

# REQ-2, 2a: the query timer is at least 60 s and configurable.
c5508_req2_query_timer() {
	attach_default
	assert_eq 60 "$(xcgn -j pool show | jq '.[0].icmp_timeout')" "default"
	xcgn pool add 198.51.100.64/28 icmp-timeout 59 2>/dev/null && fail "59 s accepted"
	xcgn pool add 198.51.100.64/28 icmp-timeout 90
	assert_eq 90 "$(xcgn -j pool show | jq '.[1].icmp_timeout')" "configured"
}

# An ICMP error from S1 about a UDP flow of SUB: its translation (or
# nothing) in $TMP/err.json. (Not through $(...): the servers it starts
# would hold the substitution open.)
error_about_flow() {	# SUB FLAVOUR(|badsum|badinner|options)
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$1" 5000 "$S1" 3478
	pub=$(seen "$TMP/s1" 1)
	capture "$NS_SUB" "$DEV_S" "$TMP/c.pcap" icmp
	craft "$NS_INET" icmp-err "$S1" "${pub%:*}" 3 3 udp "${pub%:*}" "${pub#*:}" "$S1" 3478 "$2"
	case "$2" in badsum|badinner) capture_stop 0 ;; *) capture_stop 1 ;; esac
	packets "$TMP/c.pcap" >"$TMP/err.json"
}

# REQ-3: an error whose ICMP checksum fails is dropped.
c5508_req3_bad_checksum() {
	attach_default
	error_about_flow "$(sub_addr 3)" badsum
	out=$(cat "$TMP/err.json")
	assert_eq "" "$out" "nothing reached the subscriber"
	assert_eq 1 "$(drop icmp_error_bad_checksum)" "dropped and counted"
}

# REQ-3a: the quoted IP header's checksum is checked.
c5508_req3a_bad_inner_checksum() {
	attach_default
	error_about_flow "$(sub_addr 4)" badinner
	out=$(cat "$TMP/err.json")
	assert_eq "" "$out" "nothing reached the subscriber"
	assert_ge "$(drop bad_ip_csum)" 1 "dropped and counted"
}

# REQ-3b: quoted IP options are skipped to find the ports.
c5508_req3b_inner_options() {
	attach_default
	error_about_flow "$(sub_addr 5)" options
	out=$(cat "$TMP/err.json")
	echo "$out"
	assert_eq "$(sub_addr 5):5000" "$(echo "$out" | jq -r '"\(.qsrc):\(.qsport)"')" \
		"quoted source behind the options restored"
}

# REQ-3c: the quoted transport checksum is not validated: an error whose
# quoted UDP checksum is wrong is translated all the same.
c5508_req3c_inner_l4_not_checked() {
	attach_default
	error_about_flow "$(sub_addr 6)" badl4
	out=$(cat "$TMP/err.json")
	echo "$out"
	assert_eq "$(sub_addr 6)" "$(echo "$out" | jq -r .dst)" "translated"
}

# REQ-4: outside to inside: no mapping, dropped; with one, the quoted
# packet reverted, type and code kept, the outer destination its source.
c5508_req4_inbound_error() {
	attach_default
	error_about_flow "$(sub_addr 7)" ""
	out=$(cat "$TMP/err.json")
	echo "$out"
	assert_eq "$(sub_addr 7)" "$(echo "$out" | jq -r .dst)" "outer destination"
	assert_eq "3/3" "$(echo "$out" | jq -r '"\(.type)/\(.code)"')" "type and code kept"
	assert_eq "$(sub_addr 7):5000" "$(echo "$out" | jq -r '"\(.qsrc):\(.qsport)"')" "reverted"
	craft "$NS_INET" icmp-err "$S1" 198.51.100.9 3 3 udp 198.51.100.9 7777 "$S1" 3478
	sleep 0.3
	assert_ge "$(drop no_mapping)" 1 "an error about no mapping is dropped"
}

# REQ-5: inside to outside: the subscriber's port unreachable leaves with
# the public address outside and inside.
c5508_req5_outbound_error() {
	attach_default
	local sub
	sub=$(sub_addr 8)
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$sub" 5000 "$S1" 3478
	pub=$(seen "$TMP/s1" 1)
	capture "$NS_INET" "$DEV_E" "$TMP/c.pcap" icmp
	# Nothing listens on the subscriber's 5000 any more: its kernel answers.
	craft "$NS_INET" udp "$S1" 3478 "${pub%:*}" "${pub#*:}" knock
	sleep 0.5
	capture_stop 1
	p=$(packets "$TMP/c.pcap" | head -1)
	echo "$p"
	assert_eq "${pub%:*}" "$(echo "$p" | jq -r .src)" "outer source: the public address"
	assert_eq "3/3" "$(echo "$p" | jq -r '"\(.type)/\(.code)"')" "type and code kept"
	assert_eq "$pub" "$(echo "$p" | jq -r '"\(.qdst):\(.qdport)"')" "quoted: the public endpoint"
}

# REQ-6: an error about a query session neither refreshes nor deletes it.
c5508_req6_error_no_refresh() {
	attach_default
	daemon_with_log time-scale 20 gc-interval 50
	local sub
	sub=$(sub_addr 9)
	m=$(echo_mapping "$sub" 0x4321)
	[ -n "$m" ] || fail "no echo mapping"
	# shellcheck disable=SC2086
	set -- $m
	# The timer is 3 s at this scale; errors about the session all along.
	craft "$NS_INET" icmp-err "$S1" "$1" 11 0 icmp "$1" "$2" "$S1" 0
	assert_ge "$(stat icmp_error_in)" 1 "the error was translated"
	assert_eq 1 "$(xcgn -j session show | jq '[.[] | select(.proto == "icmp")] | length')" \
		"not deleted by the error"
	local t0=$SECONDS
	while [ $((SECONDS - t0)) -lt 6 ]; do
		craft "$NS_INET" icmp-err "$S1" "$1" 11 0 icmp "$1" "$2" "$S1" 0
	done
	assert_ge "$(stat icmp_error_in)" 3 "errors kept coming while it lived"
	left=$(xcgn -j session show | jq '[.[] | select(.proto == "icmp")] | length')
	assert_eq 0 "$left" "expired on time despite the errors"
}

# REQ-7, 7a: hairpinned errors: subscriber 1 sends to subscriber 2's
# public endpoint where nothing listens; subscriber 2's port unreachable
# comes back to subscriber 1.
c5508_req7_hairpin_error() {
	attach_default
	local s1 s2
	s1=$(sub_addr 10)
	s2=$(sub_addr 11)
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$s2" 5000 "$S1" 3478
	pub2=$(seen "$TMP/s1" 1)
	in_sub timeout 5 python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.bind(('$s1', 6000)); s.connect(('${pub2%:*}', ${pub2#*:}))
for i in range(3):
    s.send(b'x')
    try:
        s.recv(10)
    except ConnectionRefusedError:
        print('refused'); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)" || fail "subscriber 1 never heard the port unreachable"
}

# REQ-8: no session can be made: ICMP 3/13 back, the packet dropped.
c5508_req8_prohibited() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O"
	xcgn pool add 198.51.100.5/32 ports 1024-1087 block-size 64 max-blocks 1
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 12)" 5000 "$S1" 3478
	capture "$NS_SUB" "$DEV_S" "$TMP/c.pcap" icmp
	in_sub timeout 3 python3 "$TOOLS/udp_flows.py" "$(sub_addr 13)" 5000 1 "$S1" 3478 1 >/dev/null || true
	capture_stop 1
	p=$(packets "$TMP/c.pcap" | head -1)
	echo "$p"
	assert_eq "3/13" "$(echo "$p" | jq -r '"\(.type)/\(.code)"')" "administratively prohibited"
	assert_eq "$(sub_addr 13)" "$(echo "$p" | jq -r .dst)" "to the refused subscriber"
	assert_eq 1 "$(wc -l <"$TMP/s1")" "the refused datagram never left"
}

# REQ-10a: destination unreachable, time exceeded and echo are supported.
c5508_req10a_types() {
	attach_default
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "echo"
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 14)" 5000 "$S1" 3478
	pub=$(seen "$TMP/s1" 1)
	capture "$NS_SUB" "$DEV_S" "$TMP/c.pcap" icmp
	craft "$NS_INET" icmp-err "$S1" "${pub%:*}" 3 1 udp "${pub%:*}" "${pub#*:}" "$S1" 3478
	craft "$NS_INET" icmp-err "$S1" "${pub%:*}" 11 0 udp "${pub%:*}" "${pub#*:}" "$S1" 3478
	capture_stop 2
	got=$(packets "$TMP/c.pcap" | jq -r '"\(.type)/\(.code)"' | sort | tr '\n' ' ')
	assert_eq "11/0 3/1 " "$got" "both errors translated"
}

# REQ-10c, REQ-11: source quench and the like are not passed on.
c5508_req11_other_icmp_dropped() {
	attach_default
	echo_server "$S1" 3478 "$TMP/s1"
	udp_from "$(sub_addr 15)" 5000 "$S1" 3478
	pub=$(seen "$TMP/s1" 1)
	capture "$NS_SUB" "$DEV_S" "$TMP/c.pcap" icmp
	for t in 4 5 13 15 17; do
		craft "$NS_INET" icmp-err "$S1" "${pub%:*}" "$t" 0 udp "${pub%:*}" "${pub#*:}" "$S1" 3478
	done
	capture_stop 0
	assert_eq "" "$(packets "$TMP/c.pcap")" "none reached the subscriber"
}
