#!/bin/bash
# Run the libFuzzer targets for SECONDS each, from their seeds, the
# regression cases (tests/fuzz/regress/TARGET/: every crash found becomes
# one) and, for the netlink readers, dumps captured here and now from a
# namespace made to have many kinds of routes, rules, links and addresses.
# Fixed seed: a run is repeated by the same command. Exit 1 on a crash.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$1
SECS=$2
NS=xfz$(( $$ % 100000 ))
W=$(mktemp -d /tmp/xcgn-fuzz.XXXXXX)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

# A namespace with a bit of everything the readers meet.
ip netns add "$NS"
ns() { ip netns exec "$NS" "$@"; }
ns ip link set lo up
ns ip link add fz0 type veth peer name fz1
ns ip link add fz2 type veth peer name fz3
for d in fz0 fz1 fz2 fz3; do ns ip link set "$d" up; done
ns ip addr add 100.64.0.1/16 dev fz0
ns ip addr add 203.0.113.1/24 dev fz1
ns ip addr add 192.0.2.1/28 dev fz2
ns ip route add 198.51.100.0/28 via 203.0.113.2
ns ip route add blackhole 198.51.100.16/28
ns ip route add unreachable 198.51.100.32/28
ns ip route add 192.0.2.64/26 nexthop via 203.0.113.3 nexthop via 100.64.0.2
ns ip route add 192.0.2.128/26 tos 0x10 via 203.0.113.4
ns ip route add 100.65.0.0/16 dev fz0 table 100
ns ip rule add from 100.64.1.0/24 lookup 100
ns ip rule add to 192.0.2.0/24 tos 0x10 lookup main
ns python3 "$ROOT/tests/fuzz/nl_capture.py" "$W/netlink"

rc=0
for t in cli natlog netlink pcp; do
	mkdir -p "$W/corpus-$t" "$B/artifacts"
	[ -d "$ROOT/tests/fuzz/seeds/$t" ] && cp "$ROOT/tests/fuzz/seeds/$t"/* "$W/corpus-$t/"
	[ "$t" = netlink ] && cp "$W/netlink"/* "$W/corpus-$t/"
	echo "fuzz: $t for $SECS s"
	# The regression cases, when the target has any (git keeps no empty directory).
	regress=()
	[ -d "$ROOT/tests/fuzz/regress/$t" ] && regress=("$ROOT/tests/fuzz/regress/$t")
	if ! "$B/fuzz_$t" -seed=1 -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" \
		"$W/corpus-$t" "${regress[@]}" >"$W/$t.log" 2>&1; then
		tail -n 40 "$W/$t.log"
		echo "fuzz: $t found a crash: $B/artifacts/$t-* (copy it to tests/fuzz/regress/$t/)"
		rc=1
		continue
	fi
	grep -E "^stat::number_of_executed_units|^Done" "$W/$t.log" | tr '\n' ' '
	echo
done
exit $rc
