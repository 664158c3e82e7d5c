#!/bin/bash
# shellcheck shell=bash
# 50 subscribers at once through xcgn, with ping, socat (UDP and TCP),
# curl and iperf3; every payload checked byte for byte. Twice: with the end
# hosts' transmit checksum offload off, and with it on, as veth has it by
# default (partial checksums: issue 10 item 9).

test_traffic_50_subscribers() { traffic_suite off; }
test_traffic_50_subscribers_default_offloads() { traffic_suite on; }

traffic_suite() {	# TX_OFFLOAD (on: the senders leave checksums partial)
	local i a pids=() bad=0
	in_sub ethtool -K "$DEV_S" tx "$1" >/dev/null
	in_inet ethtool -K "$DEV_E" tx "$1" >/dev/null
	attach_default
	head -c 1048576 /dev/urandom >"$TMP/blob"
	head -c 200000 /dev/urandom >"$TMP/tcp.in"
	head -c 4000 /dev/urandom >"$TMP/udp.in"

	bg "$NS_INET" timeout 120 python3 -m http.server --bind "$S1" --directory "$TMP" 8080
	bg "$NS_INET" timeout 120 socat TCP4-LISTEN:7001,bind="$S1",reuseaddr,fork EXEC:cat
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/udp.seen" 120
	bg "$NS_INET" timeout 120 iperf3 -s -B "$S1" -p 5201 -1
	# Nothing from the subscriber range may reach the internet side.
	bg "$NS_INET" timeout 120 tcpdump -i "$DEV_E" -n -U -w "$TMP/leak.pcap" net 100.64.0.0/10
	wait_listen "$NS_INET" "$S1:8080" t
	wait_listen "$NS_INET" "$S1:7001" t
	wait_listen "$NS_INET" "$S1:7000" u
	wait_listen "$NS_INET" "$S1:5201" t

	for i in $(seq 1 "$NSUBS"); do
		a=$(sub_addr "$i")
		(
			set -e
			in_sub timeout 20 ping -q -c 2 -i 0.2 -W 2 -I "$a" "$S1" >/dev/null
			in_sub timeout 20 curl -sS --interface "$a" -o "$TMP/blob.$i" "http://$S1:8080/blob"
			cmp "$TMP/blob" "$TMP/blob.$i"
			in_sub timeout 20 socat -t 10 -b 1000 - "UDP4:$S1:7000,bind=$a" \
				<"$TMP/udp.in" >"$TMP/udp.$i" &
			in_sub timeout 20 socat -t 10 - "TCP4:$S1:7001,bind=$a" \
				<"$TMP/tcp.in" >"$TMP/tcp.$i"
			cmp "$TMP/tcp.in" "$TMP/tcp.$i"
			wait
		) >"$TMP/log.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { bad=$((bad + 1)); echo "subscriber $((i + 1)):"; cat "$TMP/log.$((i + 1))"; }
	done
	assert_eq 0 "$bad" "subscribers whose ping, curl or TCP echo failed"
	# UDP: socat ends on its idle timeout; the echo must be complete,
	# every 1000-byte datagram intact. UDP keeps no order, and the
	# kernel's path (partial checksums take it) may swap two at a new
	# subscriber's first reply (its neighbour being resolved).
	for i in $(seq 1 "$NSUBS"); do
		cmp -s "$TMP/udp.in" "$TMP/udp.$i" && continue
		[ "$1" = on ] || fail "UDP echo of subscriber $i differs"
		python3 - "$TMP/udp.in" "$TMP/udp.$i" <<'PY' || fail "UDP echo of subscriber $i differs"
import sys
a, b = (open(f, "rb").read() for f in sys.argv[1:3])
chunks = lambda d: sorted(d[i:i + 1000] for i in range(0, len(d), 1000))
sys.exit(0 if chunks(a) == chunks(b) else 1)
PY
	done

	# What the veths dropped of that traffic. A veth into a device with an
	# XDP program (the inside and the outside) feeds a ring, not its
	# qdisc, and XDP_REDIRECT into a device's peer does too: nothing holds
	# a sender back there, so fifty downloads or uploads starting at once
	# can overfill a ring; the kernel counts each such frame on both ends
	# (one's tx, the other's rx). TCP recovers it, and the byte-for-byte
	# checks above hold; it may cost at most 1% of the frames. (Counted
	# before iperf3: a bulk stream is expected to fill the rings.)
	local dropped=0 d n rx=0
	for d in "$NS_SUB:$DEV_S" "$NS_NAT:$DEV_I" "$NS_NAT:$DEV_O" "$NS_INET:$DEV_E"; do
		ip -n "${d%%:*}" -s -j link show "${d#*:}" >"$TMP/stats.json"
		n=$(jq '.[0].stats64 | .tx.dropped + .rx.dropped' "$TMP/stats.json")
		rx=$((rx + $(jq '.[0].stats64.rx.packets' "$TMP/stats.json")))
		dropped=$((dropped + n))
		# Which counter: veth's own (ethtool -S) say where a drop was.
		[ "$n" -eq 0 ] || { echo "${d#*:} dropped $n:"; ip netns exec "${d%%:*}" \
			ethtool -S "${d#*:}" | grep -Ev ': 0$'; }
	done
	dropped=$((dropped / 2))	# counted on both ends
	echo "the veths' rings: $dropped of $rx frames dropped in the bursts"
	[ "$((dropped * 100))" -le "$rx" ] ||
		fail "the bursts into the veths' rings cost $dropped of $rx frames (over 1%)"

	# iperf3 for rate, from one subscriber.
	in_sub timeout 30 iperf3 -c "$S1" -B "$(sub_addr 7)" -p 5201 -t 2 -J >"$TMP/iperf.json"
	bps=$(jq -r '.end.sum_received.bits_per_second | floor' "$TMP/iperf.json")
	echo "iperf3 through xcgn: $((bps / 1000000)) Mbit/s"
	assert_ge "$bps" 1000000 "iperf3 rate"

	# Every subscriber seen by the servers from the pool, never from inside.
	assert_eq "$NSUBS" "$(wc -l <"$TMP/udp.seen")" "UDP senders seen"
	grep -qv '^198\.51\.100\.' "$TMP/udp.seen" && fail "a server saw a non-pool source"
	sleep 0.5
	kill "${BG_PIDS[4]}" 2>/dev/null || true
	sleep 0.2
	leaks=$(tcpdump -r "$TMP/leak.pcap" -n 2>/dev/null | wc -l)
	assert_eq 0 "$leaks" "packets with a 100.64.0.0/10 address on the internet side"

	# Paired pooling: each subscriber's mappings, all protocols, on one address.
	xcgn -j session show >"$TMP/sessions.json"
	multi=$(jq '[group_by(.inside_addr)[] | map(.public_addr) | unique | length] | max' "$TMP/sessions.json")
	assert_eq 1 "$multi" "public addresses per subscriber"
	subs=$(jq '[.[].inside_addr] | unique | length' "$TMP/sessions.json")
	assert_eq "$NSUBS" "$subs" "subscribers with mappings"
	protos=$(jq -r '[.[].proto] | unique | join(",")' "$TMP/sessions.json")
	assert_eq "icmp,tcp,udp" "$protos" "protocols mapped"

	# Both paths really used. Partial checksums take the slow path:
	# tc translates them with the kernel's helpers, which know the state.
	if [ "$1" = off ]; then
		assert_ge "$(stat redirect_out)" 1000 "XDP redirects to the outside"
		assert_ge "$(stat redirect_in)" 1000 "XDP redirects to the inside"
		assert_ge "$(stat snat_tc)" 1 "slow-path translations (first packets)"
	else
		assert_ge "$(stat snat_tc)" 1000 "partial checksums out, translated by tc egress"
		assert_ge "$(stat dnat_tc)" 1000 "partial checksums in, translated by tc ingress"
	fi
	assert_eq 0 "$(stat aborted)" "aborted"
	xcgn stats show
}
