#!/bin/bash
# shellcheck shell=bash
# The namespace topology shared by the demo, the integration tests and the
# benchmark. Source it, call env_setup, and env_teardown from a trap.
#
#   ${P}sub  (subscribers)          ${P}nat  (xcgn)                 ${P}inet (internet)
#   ${P}s: 100.64.1.1..N/24  <--->  ${P}i: 100.64.1.254/24
#                                   ${P}o: 203.0.113.1/24   <--->  ${P}e: 203.0.113.2/24 (S1)
#                                                                        203.0.113.3/24 (S2)
#   pool 198.51.100.0/28 is routed to 203.0.113.1 by ${P}inet.
#
# Everything gets a per-run prefix P (namespaces and devices), so parallel
# runs and leftovers of a killed run never collide.

XCGN_ROOT=${XCGN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
XCGN_BIN=${XCGN_BIN:-$XCGN_ROOT/build/xcgn}
P=${P:-xc$(( $$ % 100000 ))}
NS_SUB=${P}sub
NS_NAT=${P}nat
NS_INET=${P}inet
DEV_S=${P}s	# subscriber side
DEV_I=${P}i	# xcgn inside
DEV_O=${P}o	# xcgn outside
DEV_E=${P}e	# internet side
S1=203.0.113.2
S2=203.0.113.3
NAT_OUT=203.0.113.1
POOL=${POOL:-198.51.100.0/28}
NSUBS=${NSUBS:-50}

# shellcheck source=leftovers.sh
. "$XCGN_ROOT/scripts/leftovers.sh"
export XCGN_RUN=${XCGN_RUN:-$P}

# Functions: run with & their PID is a subshell's, not the command's, and
# killing it leaves the command running. Start background work with the
# tests' bg, or with `ip netns exec` itself.
in_sub() { ip netns exec "$NS_SUB" "$@"; }
in_inet() { ip netns exec "$NS_INET" "$@"; }
in_nat() { ip netns exec "$NS_NAT" "$@"; }

# The benches' reference NAT: nftables SNAT of the subscribers to the pool
# (or to the address range FIRST-LAST given) on the outside device, in a
# table of its own.
nft_snat_on() {
	local range=${1:-198.51.100.0-198.51.100.15}
	in_nat nft -f - <<NFT
table ip xcgnbench {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$DEV_O" ip saddr 100.64.0.0/10 snat to $range
	}
}
NFT
}
nft_snat_off() { in_nat nft delete table ip xcgnbench 2>/dev/null; }
# xcgn needs the host's bpffs, which `ip netns exec` hides: use nsenter.
xcgn() { nsenter --net="/run/netns/$NS_NAT" "$XCGN_BIN" "$@"; }

sub_addr() { echo "100.64.1.$1"; }	# subscriber number 1..NSUBS

# The benches' xcgn as deployed: attached, and its daemon running, which
# keeps the next-hop cache (without it every packet asks bpf_fib_lookup():
# the cache serves only while the daemon's lease runs, bpf/lib/nexthop.h).
# deployed_on returns once the daemon's word is in xcgn_nhctl, or fails
# saying why; the daemon's messages go to DEPLOYED_LOG. Callers' traps
# call deployed_stop.
DEPLOYED_PID=
DEPLOYED_LOG=${DEPLOYED_LOG:-/dev/null}
# shellcheck disable=SC2120 # tests/integration/test_durable.sh passes a layout
pin_dir() {	# the instance's pins, of layout $1 (default: this binary's)
	echo "/sys/fs/bpf/xcgn/netns-$(command stat -L -c %i "/run/netns/$NS_NAT")/v${1:-$(xcgn -j link abi | jq -r .abi)}"
}
# Start `xcgn daemon ARGS...` in the NAT namespace, in the background;
# DAEMON_PID is it (nsenter execs it), and it joins BG_PIDS (what a test's
# teardown ends). Its stderr goes to DAEMON_ERR (default $TMP/daemon.err; appended).
#   --wait ready    (the default) until it says it collects
#   --wait nexthop  until its word is in xcgn_nhctl: the next-hop cache serves
#   --wait none     not at all
#   --bin BIN       another build (an older layout's)
# Bounded: 1 (said) when it exited or did not get there in 5 s.
daemon_start() {	# [--wait ready|nexthop|none] [--bin BIN] ARGS...
	local wait=ready bin=$XCGN_BIN err=${DAEMON_ERR:-${TMP:-/tmp}/daemon.err} pins i
	while :; do
		case ${1:-} in
		--wait) wait=$2; shift 2 ;;
		--bin) bin=$2; shift 2 ;;
		*) break ;;
		esac
	done
	nsenter --net="/run/netns/$NS_NAT" "$bin" daemon "$@" 2>>"$err" &
	DAEMON_PID=$!
	BG_PIDS+=("$DAEMON_PID")	# the tests end what they started by its PID
	[ "$wait" = nexthop ] && pins=$(pin_dir)
	for i in $(seq 1 50); do
		kill -0 "$DAEMON_PID" 2>/dev/null ||
			{ echo "the daemon exited at start: $(tail -n 3 "$err" 2>/dev/null)" >&2; return 1; }
		case $wait in
		none) return 0 ;;
		ready) grep -q "^xcgn daemon: pid $DAEMON_PID, collecting" "$err" 2>/dev/null && return 0 ;;
		nexthop) [ "$(bpftool -j map lookup pinned "$pins/xcgn_nhctl" key 0 0 0 0 |
			jq '.formatted.value.flags // 0')" = 1 ] && return 0 ;;
		esac
		sleep 0.1
	done
	echo "the daemon (pid $DAEMON_PID) did not get $wait in 5 s" >&2
	return 1
}
deployed_on() {	# attach options...
	xcgn link attach inside "$DEV_I" outside "$DEV_O" "$@" >/dev/null || return 1
	DAEMON_ERR=$DEPLOYED_LOG daemon_start --wait nexthop log-file none || return 1
	DEPLOYED_PID=$DAEMON_PID
}
# Stop the daemon deployed_on started: SIGTERM, then SIGKILL after 5 s.
# Fails unless it exited 0 on SIGTERM.
deployed_stop() {
	local pid=$DEPLOYED_PID i rc=0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "the daemon ignored SIGTERM for 5 s" >&2
		kill -9 "$pid"
		rc=1
	fi
	wait "$pid" || { echo "the daemon exited $?" >&2; rc=1; }
	DEPLOYED_PID=
	return $rc
}
deployed_off() {	# the daemon stopped, then xcgn detached
	local rc=0
	deployed_stop || rc=1
	xcgn link detach >/dev/null || { echo "xcgn link detach failed" >&2; rc=1; }
	return $rc
}
# Frames whose next hop came from the cache, so far.
nh_cached() { xcgn -j stats show | jq .counters.nexthop_cached; }

env_setup() {
	local i
	ip netns add "$NS_SUB"
	ip netns add "$NS_NAT"
	ip netns add "$NS_INET"
	ip -n "$NS_SUB" link add "$DEV_S" type veth peer name "$DEV_I" netns "$NS_NAT"
	ip -n "$NS_NAT" link add "$DEV_O" type veth peer name "$DEV_E" netns "$NS_INET"

	for i in $(seq 1 "$NSUBS"); do
		ip -n "$NS_SUB" addr add "$(sub_addr "$i")/24" dev "$DEV_S"
	done
	ip -n "$NS_SUB" link set lo up
	ip -n "$NS_SUB" link set "$DEV_S" up
	ip -n "$NS_SUB" route add default via 100.64.1.254 src "$(sub_addr 1)"

	ip -n "$NS_NAT" addr add 100.64.1.254/24 dev "$DEV_I"
	ip -n "$NS_NAT" addr add "$NAT_OUT/24" dev "$DEV_O"
	ip -n "$NS_NAT" link set lo up
	ip -n "$NS_NAT" link set "$DEV_I" up
	ip -n "$NS_NAT" link set "$DEV_O" up
	ip -n "$NS_NAT" route add default via "$S1"
	ip netns exec "$NS_NAT" sysctl -qw net.ipv4.conf.all.forwarding=1

	ip -n "$NS_INET" addr add "$S1/24" dev "$DEV_E"
	ip -n "$NS_INET" addr add "$S2/24" dev "$DEV_E"
	ip -n "$NS_INET" link set lo up
	ip -n "$NS_INET" link set "$DEV_E" up
	ip -n "$NS_INET" route add "$POOL" via "$NAT_OUT"
	# The internet side is a router that filters (BCP 38 style): a packet
	# from the pool to the pool is never sent back. xcgn turns every
	# hairpin around itself; one that leaned on the upstream would fail
	# here, and the outside would take it for a spoof anyway.
	ip netns exec "$NS_INET" sysctl -qw net.ipv4.conf.all.forwarding=1
	ip -n "$NS_INET" rule add from "$POOL" to "$POOL" priority 100 blackhole

	# End hosts: full checksums on the wire (no CHECKSUM_PARTIAL), and GRO
	# on so the veth peers receive frames redirected at XDP.
	in_sub ethtool -K "$DEV_S" tx off gro on >/dev/null
	in_inet ethtool -K "$DEV_E" tx off gro on >/dev/null
	# Every veth gets a qdisc. A veth that receives through XDP or GRO
	# takes frames into a ring of 256; with veth's default noqueue its
	# peer drops when the ring is full (UDP lost, TCP retransmitting),
	# with a qdisc the kernel (6.16 and later) holds the sender back
	# (docs/performance.md, "TCP on veth").
	in_sub tc qdisc replace dev "$DEV_S" root pfifo limit 1000
	in_nat tc qdisc replace dev "$DEV_I" root pfifo limit 1000
	in_nat tc qdisc replace dev "$DEV_O" root pfifo limit 1000
	in_inet tc qdisc replace dev "$DEV_E" root pfifo limit 1000

	# Carrier comes up asynchronously; wait for it (bounded).
	local n
	for n in $(seq 1 50); do
		ip -n "$NS_NAT" link show "$DEV_I" | grep -q "state UP" &&
			ip -n "$NS_NAT" link show "$DEV_O" | grep -q "state UP" && return 0
		sleep 0.1
	done
	echo "netns-env: links did not come up" >&2
	return 1
}

env_teardown() {
	ip netns del "$NS_SUB" 2>/dev/null
	ip netns del "$NS_NAT" 2>/dev/null
	ip netns del "$NS_INET" 2>/dev/null
	ip netns del "${P}cpe" 2>/dev/null	# tests/integration/test_field.sh
	# Pins of a namespace that is gone (the instance died with it).
	return 0
}
