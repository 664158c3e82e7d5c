#!/bin/bash
# `make bench`: BPF_PROG_TEST_RUN figures, then forwarding through the
# namespace topology, xcgn beside nftables SNAT on the same topology, in the
# same run, as ratios. Timings live here, never in pass/fail tests.
set -eu
XCGN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export XCGN_ROOT
BENCH=$XCGN_ROOT/build/xcgn-bench
PACKETS=${PACKETS:-2000000}
NSUBS=50
PORTS=20
P=${P:-xb$(( $$ % 10000 ))}
# shellcheck source=netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

echo "== xcgn bench on $(nproc) CPUs, $(uname -r)"
"$BENCH" testrun repeat 1000000
"$BENCH" newflows

BENCH_TMP=$(mktemp /tmp/xcgn-bench.XXXXXX)
cleanup() {
	set +e
	rm -f "$BENCH_TMP"
	nft_snat_off
	xcgn link detach >/dev/null 2>&1
	env_teardown
}
trap cleanup EXIT
NSUBS=$NSUBS env_setup
mac=$(ip -n "$NS_NAT" link show "$DEV_I" | awk '/link\/ether/ {print $2}')
# The generator's frames arrive through the veth's NAPI: GRO on, both runs.
in_nat ethtool -K "$DEV_I" gro on >/dev/null
in_nat ping -q -c 1 -W 2 "$S1" >/dev/null	# resolve the next hop

fwd() {
	"$BENCH" fwd sub "$NS_SUB" dev "$DEV_S" dst-mac "$mac" dst "$S1" inet "$NS_INET" \
		sink "$DEV_E" packets "$PACKETS" subs "$NSUBS" ports "$PORTS"
}
mpps() { sed -n 's/.*: \([0-9.]*\) Mpps/\1/p'; }

echo
echo "== forwarding: 64-byte UDP, $((NSUBS * PORTS)) flows ($NSUBS subscribers x $PORTS ports),"
echo "   generated with XDP live frames on the subscriber veth, counted by an XDP sink"
echo "   on the internet side; generator and forwarding share one CPU (pinned)"
xcgn link attach inside "$DEV_I" outside "$DEV_O"
xcgn pool add "$POOL"
fwd >/dev/null	# first pass creates the mappings
x=$(fwd)
echo "  xcgn (XDP):          $x"
xcgn link detach

nft_snat_on
fwd >/dev/null	# first pass creates the conntrack entries
n=$(fwd)
echo "  nftables snat:       $n"
xm=$(echo "$x" | mpps)
nm=$(echo "$n" | mpps)
awk -v x="$xm" -v n="$nm" 'BEGIN { if (n > 0) printf "  ratio xcgn/nftables: %.2fx\n", x / n }'
nft_snat_off

echo
echo "== collector: one full pass over 1,000,000 expired mappings (500 subscribers x 2000 ports)"
# 500 subscribers run past 100.64.1.0/24: route their range inside, or the
# reverse-path check rightly drops them as spoofs.
ip -n "$NS_NAT" route add 100.64.0.0/16 dev "$DEV_I"
xcgn link attach inside "$DEV_I" outside "$DEV_O" max-mappings 1100000 max-subscribers 4096
xcgn pool add 198.51.100.0/24 block-size 512 max-blocks 4
"$BENCH" fwd sub "$NS_SUB" dev "$DEV_S" dst-mac "$mac" dst "$S1" inet "$NS_INET" \
	sink "$DEV_E" packets 1000000 subs 500 ports 2000 >/dev/null
made=$(xcgn -j stats show | jq .counters.mapping_created)
echo "  mappings created: $made"
sleep 1.5	# UDP timer at 1/1000 scale (0.3 s) + 1 s last-seen allowance
nsenter --net="/run/netns/$NS_NAT" "$XCGN_ROOT/build/xcgn" -v daemon log-file none \
	time-scale 1000 gc-interval 10 quarantine 0 2>"$BENCH_TMP" &
dpid=$!
for _ in $(seq 1 600); do
	grep -q "pass 1:" "$BENCH_TMP" && break
	sleep 0.1
done
kill "$dpid"
wait "$dpid" 2>/dev/null || true
sed -n 's/^xcgn daemon: \(pass 1:.*\)/  \1/p' "$BENCH_TMP"
echo "  left after the pass: $(xcgn -j subscriber show | jq length) subscriber(s)"
xcgn link detach
