#!/bin/bash
# make cluster-demo: three xcgn nodes behind an access router and an
# upstream router, every router and node running BIRD 2 (BGP and BFD), in
# network namespaces; subscribers with long-lived TCP and UDP flows; node 2
# fails, then comes back. Prints what it measured, last:
#   failover: N subscribers re-homed in S s, M of T surviving flows intact
#
#             subscribers 100.64.0.0/24 (slice k: 100.64.0.64(k-1)/26)
#                         |
#                  access router (AS 65100): ip rule from slice k -> table 10k;
#                  table 10k: node k's default route, else the others (ECMP,
#                  hashed on the source only); BIRD fills it from BGP
#                 /        |        \            192.0.2.8k/29
#            node 1     node 2     node 3        xcgn + BIRD (AS 6500k)
#           pool .16/28  .32/28     .48/28       198.51.100.16k/28
#                 \        |        /            203.0.113.8k/29
#                  upstream router (AS 65000): the pools from BGP
#                         |
#                  server 192.0.2.200
#
# PER_NODE (default 20) subscribers a node; FAIL_MODE silent (default: the
# routers' ports to node 2 drop everything, links stay up: only BFD can
# tell) or links (node 2's links go down). Exit 1 when a check fails.
set -euo pipefail

XCGN_ROOT=${XCGN_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
XCGN_BIN=${XCGN_BIN:-$XCGN_ROOT/build/xcgn}
PER_NODE=${PER_NODE:-20}
FAIL_MODE=${FAIL_MODE:-silent}
STEADY=${STEADY:-3}	# seconds of flows before the failure
OUTAGE=${OUTAGE:-6}	# seconds node 2 stays failed
AFTER=${AFTER:-6}	# seconds of flows after it is back
P=${P:-xk$(( $$ % 10000 ))}
# shellcheck source=leftovers.sh
. "$XCGN_ROOT/scripts/leftovers.sh"
export XCGN_RUN=$P	# every process it starts carries it: none may outlive it
FLOWS=$XCGN_ROOT/tests/tools/cluster_flows.py
SRV=192.0.2.200
NODES="1 2 3"
FAILED=2

[ "$(id -u)" -eq 0 ] || { echo "cluster-demo needs root" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
command -v bird >/dev/null || { echo "cluster-demo needs BIRD 2 (scripts/deps.sh)" >&2; exit 1; }
case $FAIL_MODE in silent|links) ;; *) echo "FAIL_MODE is silent or links" >&2; exit 2;; esac

W=$(mktemp -d /tmp/xcgn-cluster.XXXXXX)
PIDS=()
XCGN_PID=()

ns() { echo "${P}$1"; }
in_ns() { local n; n=$(ns "$1"); shift; nsenter --net="/run/netns/$n" "$@"; }
pool_of() { echo "198.51.100.$((16 * $1))/28"; }	# node K's dynamic pool
det_of() { echo "198.51.100.$((112 + 16 * $1))/28"; }	# its deterministic pool,
det_subs_of() { echo "100.64.1.$((64 * ($1 - 1)))/26"; }	# for these subscribers
pools_of() { pool_of "$1"; det_of "$1"; }
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
say() { echo "cluster-demo: $*"; }

cleanup() {
	set +e
	touch "$W/ctrl/stop" 2>/dev/null
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for k in $NODES; do
		[ -e "/run/netns/$(ns n$k)" ] && in_ns "n$k" "$XCGN_BIN" link detach >/dev/null 2>&1
	done
	for n in sub acc n1 n2 n3 up srv; do
		ip netns del "$(ns $n)" 2>/dev/null
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
	if ! left=$(end_leftovers); then
		echo "cluster-demo: FAIL: processes it started outlived it (ended now): $left" >&2
		exit 1
	fi
}
trap cleanup EXIT

bg() {	# NAME NS CMD...: run in the background, output to $W/NAME.out
	local name=$1 n=$2
	shift 2
	# nsenter itself, not the in_ns function: a function run with & is a
	# subshell, whose PID is not the daemon's, and killing it left the
	# daemon running in its deleted namespace.
	nsenter --net="/run/netns/$(ns "$n")" "$@" >"$W/$name.out" 2>&1 &
	PIDS+=($!)
}

link() {	# NS_A DEV_A ADDR_A NS_B DEV_B ADDR_B
	ip link add "$2" netns "$(ns "$1")" type veth peer name "$5" netns "$(ns "$4")"
	in_ns "$1" ip addr add "$3" dev "$2"
	in_ns "$4" ip addr add "$6" dev "$5"
	in_ns "$1" ip link set "$2" up
	in_ns "$4" ip link set "$5" up
}

bfd_and_bgp_timers() {
	cat <<EOF
	bfd on;
	hold time 3;
	keepalive time 1;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 4;
EOF
}

topology() {
	local k
	for n in sub acc n1 n2 n3 up srv; do
		ip netns add "$(ns $n)"
		in_ns "$n" ip link set lo up
	done
	# Subscribers and the access router. End hosts send full checksums
	# (xcgn's XDP cannot complete a partial one: issue 10 item 9).
	link sub "${P}s0" 100.64.0.250/24 acc "${P}a0" 100.64.0.254/24
	in_ns sub ip route add default via 100.64.0.254
	in_ns sub ethtool -K "${P}s0" tx off >/dev/null
	for i in $(seq 1 $((3 * PER_NODE))); do
		in_ns sub ip addr add "$(sub_addr "$i")/24" dev "${P}s0"
	done
	in_ns acc sysctl -qw net.ipv4.conf.all.forwarding=1
	# One subscriber, one node: the multipath hash is the source alone.
	in_ns acc sysctl -qw net.ipv4.fib_multipath_hash_policy=3
	in_ns acc sysctl -qw net.ipv4.fib_multipath_hash_fields=0x0001
	for k in $NODES; do
		in_ns acc ip rule add from "100.64.0.$((64 * (k - 1)))/26" iif "${P}a0" \
			lookup $((100 + k)) pref $((100 + k))
	done
	# Nodes, each between the access and the upstream router.
	in_ns up sysctl -qw net.ipv4.conf.all.forwarding=1
	for k in $NODES; do
		link acc "${P}a$k" "192.0.2.$((8 * k + 1))/29" "n$k" "${P}i$k" "192.0.2.$((8 * k + 2))/29"
		link "n$k" "${P}o$k" "203.0.113.$((8 * k + 2))/29" up "${P}u$k" "203.0.113.$((8 * k + 1))/29"
		# A veth takes XDP_REDIRECTed frames when its peer has GRO on.
		in_ns acc ethtool -K "${P}a$k" gro on >/dev/null
		in_ns up ethtool -K "${P}u$k" gro on >/dev/null
		in_ns "n$k" sysctl -qw net.ipv4.conf.all.forwarding=1
		in_ns "n$k" ip route add default via "203.0.113.$((8 * k + 1))"
		in_ns "n$k" ip route add 100.64.0.0/16 via "192.0.2.$((8 * k + 1))"
	done
	link up "${P}u0" 192.0.2.193/26 srv "${P}v0" "$SRV/26"
	in_ns srv ip route add default via 192.0.2.193
	in_ns srv ethtool -K "${P}v0" tx off >/dev/null
	in_ns up ethtool -K "${P}u0" gro on >/dev/null
}

sub_addr() {	# I (1..3*PER_NODE): the I-th subscriber, slice by slice
	local i=$1 k
	k=$(( (i - 1) / PER_NODE ))
	echo "100.64.0.$((64 * k + 10 + (i - 1) % PER_NODE))"
}

node_up() {	# K: xcgn (by its configuration file) and BIRD from its output
	local k=$1
	cat >"$W/node$k.conf" <<EOF
# xcgn cluster node $k: the datapath, its pool slice, its routing.
link inside ${P}i$k outside ${P}o$k subscribers 100.64.0.0/16 \\
    max-mappings 16384 max-subscribers 1024 max-addresses 64 max-routes 1024
pool $(pool_of "$k") max-blocks 4
pool $(det_of "$k") deterministic $(det_subs_of "$k") max-blocks 4
cluster node $k as $((65000 + k)) router-id 192.0.2.$((8 * k + 2))
cluster peer 203.0.113.$((8 * k + 1)) as 65000 upstream
cluster peer 192.0.2.$((8 * k + 1)) as 65100 access
daemon log-file $W/logs/node$k.log
EOF
	in_ns "n$k" "$XCGN_BIN" config check "$W/node$k.conf"
	"$XCGN_BIN" cluster bird-config "$W/node$k.conf" >"$W/node$k.bird"
	bg "xcgn$k" "n$k" "$XCGN_BIN" daemon config "$W/node$k.conf"
	XCGN_PID[k]=${PIDS[-1]}
	bg "bird$k" "n$k" bird -f -c "$W/node$k.bird" -s "$W/node$k.ctl" -P "$W/node$k.pid"
}

routers_up() {
	local k
	{
		echo "router id 192.0.2.254;"
		for k in $NODES; do echo "ipv4 table from$k; ipv4 table slice$k;"; done
		echo "protocol device { scan time 10; }"
		echo 'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }'
		for k in $NODES; do
			echo "protocol bgp node$k {"
			echo "	local as 65100;"
			echo "	neighbor 192.0.2.$((8 * k + 2)) as $((65000 + k));"
			bfd_and_bgp_timers
			echo "	ipv4 { table from$k; import all; export none; };"
			echo "}"
		done
		# Slice j's table: node j's route first, the others' as equal
		# backups (merged into one multipath route).
		for k in $NODES; do
			for j in $NODES; do
				echo "protocol pipe n${k}s$j {"
				echo "	table from$k; peer table slice$j;"
				echo "	export filter { preference = $([ "$k" = "$j" ] && echo 200 || echo 100); accept; };"
				echo "	import none;"
				echo "}"
			done
		done
		for j in $NODES; do
			echo "protocol kernel kslice$j {"
			echo "	kernel table $((100 + j));"
			echo "	merge paths on;"
			echo "	ipv4 { table slice$j; import none; export all; };"
			echo "}"
		done
	} >"$W/access.bird"
	{
		echo "router id 192.0.2.193;"
		echo "protocol device { scan time 10; }"
		echo 'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }'
		for k in $NODES; do
			echo "protocol bgp node$k {"
			echo "	local as 65000;"
			echo "	neighbor 203.0.113.$((8 * k + 2)) as $((65000 + k));"
			bfd_and_bgp_timers
			echo "	ipv4 { import all; export none; };"
			echo "}"
		done
		echo "protocol kernel { ipv4 { import none; export all; }; }"
	} >"$W/upstream.bird"
	bg bird-acc acc bird -f -c "$W/access.bird" -s "$W/access.ctl" -P "$W/access.pid"
	bg bird-up up bird -f -c "$W/upstream.bird" -s "$W/upstream.ctl" -P "$W/upstream.pid"
}

upstream_pools() {	# the pool routes the upstream router has, sorted
	in_ns up ip -j route show proto bird | jq -r '.[].dst' | sort | tr '\n' ' '
}

wait_for() {	# SECS MESSAGE CMD...: until CMD succeeds, bounded
	local secs=$1 msg=$2 t0
	shift 2
	t0=$(date +%s)
	until "$@" >/dev/null 2>&1; do
		if [ $(( $(date +%s) - t0 )) -ge "$secs" ]; then
			say "timed out: $msg"
			return 1
		fi
		sleep 0.05
	done
}

pools_are() { [ "$(upstream_pools)" = "$1" ]; }
slices_ready() {
	local k
	for k in $NODES; do
		in_ns acc ip route show table $((100 + k)) | grep -q "via 192.0.2.$((8 * k + 2))" ||
			return 1
	done
}

fail_node() {	# K
	local k=$1
	if [ "$FAIL_MODE" = silent ]; then
		# The node stops answering; every link stays up (nothing of IP
		# passes the routers' ports to it, either way).
		for r in "acc a$k" "up u$k"; do
			set -- $r
			in_ns "$1" nft -f - <<EOF
table inet xcgn_demo_fail {
	chain pre { type filter hook prerouting priority -400; iifname "${P}$2" drop; }
	chain post { type filter hook postrouting priority 400; oifname "${P}$2" drop; }
}
EOF
		done
	else
		in_ns "n$k" ip link set "${P}i$k" down
		in_ns "n$k" ip link set "${P}o$k" down
	fi
}

restore_node() {	# K
	local k=$1
	if [ "$FAIL_MODE" = silent ]; then
		in_ns acc nft delete table inet xcgn_demo_fail
		in_ns up nft delete table inet xcgn_demo_fail
	else
		in_ns "n$k" ip link set "${P}i$k" up
		in_ns "n$k" ip link set "${P}o$k" up
		in_ns "n$k" ip route replace default via "203.0.113.$((8 * k + 1))"
		in_ns "n$k" ip route replace 100.64.0.0/16 via "192.0.2.$((8 * k + 1))"
	fi
}

mkdir -p "$W/ctrl" "$W/logs"
say "building the cluster ($PER_NODE subscribers a node, prefix $P)"
topology
for k in $NODES; do node_up "$k"; done
routers_up
all_pools="$(for k in $NODES; do pools_of "$k"; done | sort | tr '\n' ' ')"
wait_for 30 "the upstream learns every pool" pools_are "$all_pools"
wait_for 30 "the access router learns every node" slices_ready
say "upstream routes: $(upstream_pools)"

bg server srv python3 "$FLOWS" server "$SRV" 5001 5002
wait_for 10 "the server listens" bash -c "nsenter --net=/run/netns/$(ns srv) ss -Htln | grep -q :5001"
subs=()
for i in $(seq 1 $((3 * PER_NODE))); do subs+=("$(sub_addr "$i")"); done
bg client sub python3 "$FLOWS" client "$SRV" 5001 5002 "$W/ctrl" "$W/flows.json" "${subs[@]}"
CLIENT=${PIDS[-1]}
sleep "$STEADY"

say "node $FAILED fails ($FAIL_MODE)"
t_fail=$(now)
fail_node "$FAILED"
survivors="$(for k in $NODES; do [ "$k" = "$FAILED" ] || pools_of "$k"; done | sort | tr '\n' ' ')"
wait_for 10 "the upstream withdraws node $FAILED's pool" pools_are "$survivors"
say "upstream withdrew node $FAILED's pools after $(since "$t_fail") s; it holds: $(upstream_pools)"
sleep "$OUTAGE"
t_mid=$(now)

say "node $FAILED comes back"
t_back=$(now)
restore_node "$FAILED"
wait_for 30 "the upstream hears node $FAILED's pool again" pools_are "$all_pools"
say "upstream announces all pools again after $(since "$t_back") s"
sleep "$AFTER"
touch "$W/ctrl/stop"
wait "$CLIENT" || { cat "$W/client.out"; exit 1; }

# The announcement follows the datapath, not the daemon: node 1's daemon
# killed withdraws nothing; node 3 detached withdraws its pools.
{ kill -9 "${XCGN_PID[1]}" && wait "${XCGN_PID[1]}"; } 2>/dev/null || true
sleep 2
pools_are "$all_pools" || { say "node 1's daemon died and the upstream lost a pool"; rc_ann=1; }
t_det=$(now)
in_ns n3 "$XCGN_BIN" link detach
wait_for 5 "the upstream withdraws node 3's pools" pools_are \
	"$(for k in 1 2; do pools_of "$k"; done | sort | tr '\n' ' ')" || rc_ann=1
say "node 1's daemon killed: nothing withdrawn; node 3 detached: its pools withdrawn after $(since "$t_det") s"

# The NAT log of all nodes names the subscriber behind every public
# endpoint its UDP flow had, before the failure and during it (node 2's
# subscribers then had one from a survivor).
who_ok=0 who_n=0
for s in $(jq -r 'keys[]' "$W/flows.json"); do
	while read -r t ep; do
		[ -n "$ep" ] || continue
		who_n=$((who_n + 1))
		ans=$("$XCGN_BIN" -j log who "$ep" at "@$(printf %.3f "$t")" file "$W/logs" \
			2>"$W/who.err") || ans=$(cat "$W/who.err")
		if [ "$(echo "$ans" | jq -r '.subscriber' 2>/dev/null)" = "$s" ]; then
			who_ok=$((who_ok + 1))
		else
			say "log who $ep at $t: $ans (wanted $s)"
		fi
	done < <(jq -r --arg s "$s" --argjson tm "$t_mid" \
		'.[$s].udp.endpoints[] | select(.[0] < $tm) | "\(.[0] + 0.5) \(.[1])"' "$W/flows.json")
done
# Deterministic pools, split across the nodes by subscriber range: the
# logs answer by arithmetic (the first subscriber has the first block).
for k in $NODES; do
	who_n=$((who_n + 1))
	ep="$(det_of "$k" | cut -d/ -f1):1024"
	ans=$("$XCGN_BIN" -j log who "$ep" at "@$(printf %.3f "$t_mid")" file "$W/logs" \
		2>"$W/who.err") || ans=$(cat "$W/who.err")
	if [ "$(echo "$ans" | jq -r '"\(.subscriber) \(.node)"' 2>/dev/null)" = \
	     "$(det_subs_of "$k" | cut -d/ -f1) $k" ]; then
		who_ok=$((who_ok + 1))
	else
		say "log who $ep (deterministic, node $k): $ans"
	fi
done
say "log who over the $(find "$W/logs" -type f | wc -l) nodes' logs named the right subscriber (and node) $who_ok of $who_n times"
[ "$who_n" -gt 0 ] && [ "$who_ok" = "$who_n" ] || rc_who=1

rc=0
nodes=()
for k in $NODES; do nodes+=("$k=$(pool_of "$k")"); done
python3 "$FLOWS" report "$W/flows.json" "$t_fail" "$t_back" "$FAILED" "${nodes[@]}" \
	>"$W/report" || rc=1
grep -v '^failover:' "$W/report" | grep -v '^rehome ' || true
tail -n 1 "$W/report"
[ "${rc_who:-0}" = 0 ] && [ "${rc_ann:-0}" = 0 ] || rc=1
exit $rc
