#!/bin/bash
# `make bench-tcp`: TCP through the namespace topology with iperf3, 1 and 8
# streams, through plain routing, nftables SNAT and xcgn (native and
# generic XDP), in one run:
# Gbit/s and retransmissions, with the end hosts' default offloads and with
# wire-sized segments (segmentation offloads off on the sender), plus the
# veth drop counters that say where xcgn's packets are lost.
set -eu
XCGN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export XCGN_ROOT
SECS=${SECS:-3}
RUNS=${RUNS:-1}
JSON=${JSON:-}	# a file: the samples as JSON too (scripts/bench.sh)
P=${P:-xt$(( $$ % 10000 ))}
# shellcheck source=netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"

[ "$(id -u)" -eq 0 ] || { echo "bench-tcp: run as root" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

PIDF=$(mktemp /tmp/xcgn-iperf.XXXXXX)
DEPLOYED_LOG=$(mktemp /tmp/xcgn-daemon.XXXXXX)
server_stop() {
	local pid
	pid=$(cat "$PIDF" 2>/dev/null || true)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	: >"$PIDF"
	sleep 0.2
}
cleanup() {
	set +e
	server_stop
	deployed_stop
	rm -f "$PIDF" "$DEPLOYED_LOG" "${SAMPLES:-}"
	nft_snat_off
	xcgn link detach >/dev/null 2>&1
	env_teardown
}
trap cleanup EXIT
env_setup
QDISC=${QDISC:-pfifo}	# env_setup gives every veth a pfifo; none: veth's default
if [ "$QDISC" = none ]; then
	in_sub tc qdisc del dev "$DEV_S" root
	in_inet tc qdisc del dev "$DEV_E" root
	in_nat tc qdisc del dev "$DEV_I" root
	in_nat tc qdisc del dev "$DEV_O" root
fi

offloads() {	# default | wire
	if [ "$1" = default ]; then
		in_sub ethtool -K "$DEV_S" tx on tso on gso on >/dev/null
		in_inet ethtool -K "$DEV_E" tx on tso on gso on >/dev/null
	else
		in_sub ethtool -K "$DEV_S" tx off tso off gso off >/dev/null
		in_inet ethtool -K "$DEV_E" tx off tso off gso off >/dev/null
	fi
}

# Packets the devices dropped, since the last call. A veth with an XDP
# program receives into a ring of 256 frames; when it is full, the sending
# veth drops (its tx_dropped) unless it has a qdisc, which a kernel of 6.16
# or later then holds back instead (QDISC=none shows the difference).
declare -A LAST
DROPS=""
drops() {	# sets DROPS (not in a subshell: LAST must keep)
	local d ns dev n
	DROPS=""
	for d in "$NS_SUB:$DEV_S" "$NS_NAT:$DEV_I" "$NS_NAT:$DEV_O" "$NS_INET:$DEV_E"; do
		ns=${d%%:*}
		dev=${d#*:}
		n=$(ip -n "$ns" -s -j link show "$dev" | jq '.[0].stats64 | .tx.dropped + .rx.dropped')
		if [ $((n - ${LAST[$dev]:-0})) -gt 0 ]; then
			DROPS+=" ${dev#"$P"} $((n - ${LAST[$dev]:-0}))"
		fi
		LAST[$dev]=$n
	done
	DROPS=${DROPS:- none}
}

run() {	# PATH STREAMS RUN
	local j gbps rx
	in_inet iperf3 -s -B "$S1" -p 5202 -D -I "$PIDF" >/dev/null
	sleep 0.3
	j=$(in_sub timeout $((SECS + 10)) iperf3 -c "$S1" -p 5202 -B "$(sub_addr 1)" -t "$SECS" -P "$2" -J)
	server_stop
	drops
	gbps=$(echo "$j" | jq '.end.sum_received.bits_per_second / 1e9')
	rx=$(echo "$j" | jq '.end.sum_sent.retransmits')
	printf "  %-14s run %s, %s stream(s): %6.2f Gbit/s, %7s retransmissions; dropped:%s\n" \
		"$1" "$3" "$2" "$gbps" "$rx" "$DROPS"
	echo "{\"offloads\": \"$OFF\", \"path\": \"$1\", \"streams\": $2, \"run\": $3, \"gbps\": $gbps, \"retransmits\": $rx}" >>"$SAMPLES"
}
runs() {	# PATH: RUNS runs of 1 and 8 streams
	local r n
	for r in $(seq 1 "$RUNS"); do
		for n in 1 8; do
			run "$1" "$n" "$r"
		done
	done
}

SAMPLES=$(mktemp /tmp/xcgn-tcp.XXXXXX)
drops	# the counters from here
echo "== TCP, iperf3 ${SECS} s, $RUNS run(s), on $(nproc) CPUs, $(uname -r); qdisc on the veths: $QDISC"
for OFF in default wire; do
	echo "-- end hosts' offloads: $OFF"
	offloads "$OFF"
	# Plain routing: the internet side routes the subscribers back.
	ip -n "$NS_INET" route add 100.64.0.0/10 via "$NAT_OUT"
	runs routing
	ip -n "$NS_INET" route del 100.64.0.0/10 via "$NAT_OUT"
	nft_snat_on
	runs nftables
	nft_snat_off
	# xcgn as deployed (its daemon running, netns-env.sh) in both XDP
	# modes: native (the default), and generic, where the veth peers keep
	# their segmentation offload (docs/performance.md, "TCP").
	for mode in native generic; do
		deployed_on xdp-mode "$mode" || { cat "$DEPLOYED_LOG" >&2; exit 1; }
		xcgn pool add "$POOL" 2>/dev/null
		runs "xcgn_$mode"
		echo "   xcgn ($mode) counters: $(xcgn -j stats show | jq -c '.counters | {snat_xdp, dnat_xdp, slow_path_out, slow_path_in, snat_tc, dnat_tc, nexthop_cached}')"
		deployed_off || { cat "$DEPLOYED_LOG" >&2; exit 1; }
	done
done
if [ -n "$JSON" ]; then
	jq -s --argjson secs "$SECS" --arg qdisc "$QDISC" '{secs: $secs, qdisc: $qdisc, samples: .}' \
		"$SAMPLES" >"$JSON"
fi
