#!/bin/bash
# `make bench`: every figure of issue 13 beside the references measured in
# the same run, written to build/bench.json and printed as tables by
# scripts/bench-report.sh (which also writes docs/performance.md's
# section). Each figure is RUNS samples (5 unless told); a run measures the
# references and xcgn one after the other, so ratios pair run by run.
# Timings live here, never in pass/fail tests.
#
#   RUNS=N       samples a figure (at least 5 for docs/performance.md)
#   PACKETS=N    frames a forwarding sample (2,000,000)
#   BENCH_TCP=0  leave out TCP (scripts/bench-tcp.sh, about 4 minutes)
#   BENCH_LOG=0  leave out log who (scripts/bench-logwho.sh, about 3 minutes)
#   OUT=FILE     where the JSON goes (build/bench.json)
#   KEEP=1       keep the samples' directory (/tmp/xcgn-bench.*)
set -euo pipefail
XCGN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export XCGN_ROOT
BENCH=$XCGN_ROOT/build/xcgn-bench
RUNS=${RUNS:-5}
PACKETS=${PACKETS:-2000000}
OUT=${OUT:-$XCGN_ROOT/build/bench.json}
BENCH_TCP=${BENCH_TCP:-1}
# 4,096 established flows: 64 subscribers x 64 ports. A million: 1,024 x
# 1,024 (each subscriber's two blocks filled to the last port). Session
# setup: 1,024 x 256 new flows a run, each subscriber using half a block,
# as a busy subscriber does.
FLOWS_SUBS=64 FLOWS_PORTS=64
BIG_SUBS=1024 BIG_PORTS=1024
NEW_SUBS=1024 NEW_PORTS=256
BIG_POOL=198.51.100.0/24
BIG_RANGE=198.51.100.0-198.51.100.255
P=${P:-xb$(( $$ % 10000 ))}
# shellcheck source=netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
case $RUNS in '' | *[!0-9]* | 0*) echo "bench: RUNS must be a count from 1" >&2; exit 2 ;; esac
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

J=$(mktemp -d /tmp/xcgn-bench.XXXXXX)
DEPLOYED_LOG=$J/daemon-deployed.log
CT_MAX='' DPID=
cleanup() {
	set +e
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	deployed_stop
	nft_snat_off
	xcgn link detach >/dev/null 2>&1
	env_teardown
	# nf_conntrack_max is the initial namespace's: give it back.
	[ -n "$CT_MAX" ] && sysctl -qw net.netfilter.nf_conntrack_max="$CT_MAX"
	[ -n "${KEEP:-}" ] || rm -rf "$J"
}
trap cleanup EXIT
say() { echo "bench: $*" >&2; }

say "BPF_PROG_TEST_RUN, $RUNS runs"
"$BENCH" testrun runs "$RUNS" >"$J/testrun.json"
"$BENCH" newflows runs "$RUNS" >"$J/newflows.json"
"$BENCH" testrun2 runs "$RUNS" >"$J/testrun2.json"

NSUBS=2 env_setup
mac=$(ip -n "$NS_NAT" link show "$DEV_I" | awk '/link\/ether/ {print $2}')
# The generator's frames arrive through the veth's NAPI: GRO on, every run.
in_nat ethtool -K "$DEV_I" gro on >/dev/null
# The next hop, permanent: the sink on the internet side drops everything,
# ARP replies too, so an entry that went stale between runs could never
# be confirmed again, and the kernel's paths would drop while they tried.
emac=$(ip -n "$NS_INET" link show "$DEV_E" | awk '/link\/ether/ {print $2}')
ip -n "$NS_NAT" neigh replace "$S1" lladdr "$emac" dev "$DEV_O" nud permanent
# The generator's subscribers count up from 100.64.16.1, clear of the
# inside subnet's own and broadcast addresses: route their range inside,
# or the kernel's and xcgn's reverse-path checks rightly drop them.
ip -n "$NS_NAT" route add 100.64.0.0/16 dev "$DEV_I"
in_nat conntrack -F >/dev/null 2>&1 || true

fwd() {	# SUBS PORTS PACKETS [PORT_BASE] [extra args]: one JSON line
	local subs=$1 ports=$2 n=$3 base=${4:-10000}
	shift 4 || shift $#
	"$BENCH" fwd sub "$NS_SUB" dev "$DEV_S" dst-mac "$mac" dst "$S1" inet "$NS_INET" \
		sink "$DEV_E" packets "$n" src 100.64.16.1 subs "$subs" ports "$ports" \
		port-base "$base" "$@"
}
pool_on() { xcgn pool add "$1" block-size 512 max-blocks 4 >/dev/null; }
xcgn_on() {	# POOL [attach options]: xcgn on the topology, no daemon
	local pool=$1
	shift
	xcgn link attach inside "$DEV_I" outside "$DEV_O" "$@" >/dev/null
	pool_on "$pool"
}
xcgn_off() { xcgn link detach >/dev/null; }
# xcgn as deployed (netns-env.sh): its daemon keeps the next-hop cache.
xcgn_deployed_on() {	# POOL [attach options]
	local pool=$1
	shift
	deployed_on "$@" || { cat "$DEPLOYED_LOG" >&2; exit 1; }
	pool_on "$pool"
}
xcgn_deployed_off() { deployed_off || { cat "$DEPLOYED_LOG" >&2; exit 1; }; }
# The cache served a timed run: at least half the frames it received (JSON
# $2) took their next hop from it, counted from $1 (nh_cached before).
cache_served() {
	local got=$(( $(nh_cached) - $1 )) rx
	rx=$(echo "$2" | jq .received)
	[ $((2 * got)) -ge "$rx" ] ||
		{ say "xcgn's next-hop cache served $got of $rx frames"; exit 1; }
}
made() { xcgn -j stats show | jq .counters.mapping_created; }

# --- Forwarding over 4,096 established flows: per run, plain routing, the
# plain XDP forwarder, nftables SNAT and xcgn, each warmed by one pass.
flows=$((FLOWS_SUBS * FLOWS_PORTS))
say "forwarding, $flows flows, $RUNS runs of $PACKETS frames each path"
: >"$J/f4k.jsonl"
for r in $(seq 1 "$RUNS"); do
	fwd $FLOWS_SUBS $FLOWS_PORTS $flows >/dev/null
	m=$(fwd $FLOWS_SUBS $FLOWS_PORTS "$PACKETS")
	echo "{\"run\": $r, \"path\": \"routing\", \"m\": $m}" >>"$J/f4k.jsonl"

	fwd $FLOWS_SUBS $FLOWS_PORTS $flows 10000 nat "$NS_NAT" xdpfwd "$DEV_I" >/dev/null
	m=$(fwd $FLOWS_SUBS $FLOWS_PORTS "$PACKETS" 10000 nat "$NS_NAT" xdpfwd "$DEV_I")
	echo "{\"run\": $r, \"path\": \"xdp_forwarder\", \"m\": $m}" >>"$J/f4k.jsonl"

	nft_snat_on "$BIG_RANGE"
	fwd $FLOWS_SUBS $FLOWS_PORTS $flows >/dev/null
	m=$(fwd $FLOWS_SUBS $FLOWS_PORTS "$PACKETS")
	echo "{\"run\": $r, \"path\": \"nftables\", \"m\": $m}" >>"$J/f4k.jsonl"
	nft_snat_off
	in_nat conntrack -F >/dev/null 2>&1 || true

	xcgn_deployed_on "$BIG_POOL"
	for _ in 1 2 3; do
		fwd $FLOWS_SUBS $FLOWS_PORTS $flows >/dev/null
		[ "$(made)" -lt "$flows" ] || break
	done
	m=$(made)
	[ "$m" -eq "$flows" ] || { say "xcgn made $m mappings for $flows flows"; exit 1; }
	c=$(nh_cached)
	m=$(fwd $FLOWS_SUBS $FLOWS_PORTS "$PACKETS")
	echo "{\"run\": $r, \"path\": \"xcgn\", \"m\": $m}" >>"$J/f4k.jsonl"
	cache_served "$c" "$m"
	xcgn_deployed_off
done

# --- Session setup: every frame a new flow, from fresh state each run.
# nftables' connection table may hold them all (the initial namespace's
# nf_conntrack_max, given back on exit).
# (Read here, where the nftables runs have loaded conntrack: what is read
# is what is given back.)
CT_MAX=$(sysctl -n net.netfilter.nf_conntrack_max)
sysctl -qw net.netfilter.nf_conntrack_max=2000000
new=$((NEW_SUBS * NEW_PORTS))
say "session setup, $new new flows a run, $RUNS runs"
: >"$J/new.jsonl"
for r in $(seq 1 "$RUNS"); do
	in_nat conntrack -F >/dev/null 2>&1 || true
	nft_snat_on "$BIG_RANGE"
	m=$(fwd $NEW_SUBS $NEW_PORTS $new)
	c=$(in_nat conntrack -C)
	nft_snat_off
	echo "{\"run\": $r, \"path\": \"nftables\", \"made\": $c, \"m\": $m}" >>"$J/new.jsonl"

	xcgn_deployed_on "$BIG_POOL" max-mappings 1200000 max-subscribers 4096
	m=$(fwd $NEW_SUBS $NEW_PORTS $new)
	c=$(made)
	echo "{\"run\": $r, \"path\": \"xcgn\", \"made\": $c, \"m\": $m}" >>"$J/new.jsonl"
	cache_served 0 "$m"
	xcgn_deployed_off
done
in_nat conntrack -F >/dev/null 2>&1 || true

# --- A million live mappings: one pass creates them, then RUNS passes of
# 2 x 2^20 frames cycle through them all. xcgn first, nftables after.
big=$((BIG_SUBS * BIG_PORTS))
say "forwarding over $big live mappings, $RUNS runs each"
: >"$J/f1m.jsonl"
xcgn_deployed_on "$BIG_POOL" max-mappings 1200000 max-subscribers 4096
m=$(fwd $BIG_SUBS $BIG_PORTS $big)
echo "{\"path\": \"xcgn\", \"setup\": true, \"m\": $m}" >>"$J/f1m.jsonl"
# A frame the veth's ring dropped made no mapping: pass again (bounded).
for _ in 1 2 3; do
	[ "$(made)" -lt "$big" ] || break
	fwd $BIG_SUBS $BIG_PORTS $big >/dev/null
done
m=$(made)
[ "$m" -eq "$big" ] || { say "xcgn made $m mappings for $big flows"; exit 1; }
for r in $(seq 1 "$RUNS"); do
	c=$(nh_cached)
	m=$(fwd $BIG_SUBS $BIG_PORTS $((2 * big)))
	echo "{\"run\": $r, \"path\": \"xcgn\", \"m\": $m}" >>"$J/f1m.jsonl"
	cache_served "$c" "$m"
done
# Bytes of state a mapping, both directions: the mapping tables' memory
# (preallocated: what they hold at capacity) over their capacity.
pins=$(pin_dir)
mapmem() { bpftool -j map show pinned "$pins/$1" | jq '{bytes: .bytes_memlock, entries: .max_entries}'; }
m4=$(mapmem xcgn_map4)
r4=$(mapmem xcgn_rev4)
p4=$(mapmem xcgn_peer4)
echo "{\"map4\": $m4, \"rev4\": $r4, \"peer4\": $p4}" >"$J/mem.json"
xcgn_deployed_off

nft_snat_on "$BIG_RANGE"
m=$(fwd $BIG_SUBS $BIG_PORTS $big)
echo "{\"path\": \"nftables\", \"setup\": true, \"m\": $m}" >>"$J/f1m.jsonl"
c=$(in_nat conntrack -C)
for r in $(seq 1 "$RUNS"); do
	m=$(fwd $BIG_SUBS $BIG_PORTS $((2 * big)))
	echo "{\"run\": $r, \"path\": \"nftables\", \"m\": $m}" >>"$J/f1m.jsonl"
done
nft_snat_off
# conntrack's entry: its slab object, plus a hash bucket's pointer per
# entry at one bucket an entry (the table's size here).
ct_obj=$(awk '$1 == "nf_conntrack" {print $4}' /proc/slabinfo)
ct_hash=$(cat /sys/module/nf_conntrack/parameters/hashsize)
ct_max=$(sysctl -n net.netfilter.nf_conntrack_max)
echo "{\"entries_made\": $c, \"object_bytes\": $ct_obj, \"hashsize\": $ct_hash, \"max\": $ct_max}" >"$J/ct.json"
in_nat conntrack -F >/dev/null 2>&1 || true

# --- The collector: one pass expiring every mapping (1,000,000 from 500
# subscribers x 2,000 ports), at 1/1000 time scale.
say "collector, one pass over 1,000,000 expired mappings"
xcgn_on "$BIG_POOL" max-mappings 1100000 max-subscribers 4096
fwd 500 2000 1000000 >/dev/null
cmade=$(made)
sleep 1.5	# UDP timer at 1/1000 scale (0.3 s) + 1 s last-seen allowance
nsenter --net="/run/netns/$NS_NAT" "$XCGN_ROOT/build/xcgn" -v daemon log-file none \
	time-scale 1000 gc-interval 10 quarantine 0 2>"$J/daemon.log" &
DPID=$!
for _ in $(seq 1 600); do
	grep -q "pass 1:" "$J/daemon.log" && break
	sleep 0.1
done
kill "$DPID" 2>/dev/null || true
wait "$DPID" 2>/dev/null || true
DPID=
left=$(xcgn -j subscriber show | jq length)
xcgn_off
# "pass 1: N mappings examined, N expired, S s wall, S s busy, ..."
pass=$(sed -n 's/^xcgn daemon: pass 1: \(.*\)/\1/p' "$J/daemon.log" | head -1)
[ -n "$pass" ] || { say "the collector reported no pass"; cat "$J/daemon.log" >&2; exit 1; }
jq -n --argjson made "$cmade" --arg pass "$pass" --argjson left "$left" \
	'{mappings: $made, pass: $pass, subscribers_left: $left}' >"$J/gc.json"
env_teardown

say "log who against a 10-million-record NAT log (BENCH_LOG=0 leaves it out)"
if [ "${BENCH_LOG:-1}" != 0 ]; then
	RUNS=$RUNS JSON="$J/log.json" "$XCGN_ROOT/scripts/bench-logwho.sh"
else
	echo null >"$J/log.json"
fi

if [ "$BENCH_TCP" != 0 ]; then
	say "TCP, $RUNS runs (BENCH_TCP=0 leaves it out)"
	RUNS=$RUNS JSON="$J/tcp.json" "$XCGN_ROOT/scripts/bench-tcp.sh" >&2
else
	echo null >"$J/tcp.json"
fi

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
jq -n --arg date "$(date -u +%Y-%m-%dT%H:%MZ)" --arg kernel "$(uname -r)" \
	--argjson cpus "$(nproc)" --arg cpu "$cpu" --arg commit "$(git -C "$XCGN_ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
	--argjson runs "$RUNS" --argjson packets "$PACKETS" --argjson flows "$flows" \
	--argjson new "$new" --argjson big "$big" \
	--slurpfile testrun "$J/testrun.json" --slurpfile newflows "$J/newflows.json" \
	--slurpfile testrun2 "$J/testrun2.json" \
	--slurpfile f4k "$J/f4k.jsonl" --slurpfile newf "$J/new.jsonl" --slurpfile f1m "$J/f1m.jsonl" \
	--slurpfile mem "$J/mem.json" --slurpfile ct "$J/ct.json" --slurpfile gc "$J/gc.json" \
	--slurpfile tcp "$J/tcp.json" --slurpfile log "$J/log.json" '{
	machine: {date: $date, kernel: $kernel, cpus: $cpus, cpu: $cpu, commit: $commit},
	runs: $runs,
	testrun: $testrun[0], newflows: $newflows[0], testrun2: $testrun2[0],
	forwarding: {flows: $flows, packets: $packets, samples: $f4k},
	sessions: {flows_per_run: $new, samples: $newf},
	million: {flows: $big, packets: (2 * $big), samples: $f1m},
	memory: {xcgn: $mem[0], conntrack: $ct[0]},
	collector: $gc[0],
	log: $log[0],
	tcp: $tcp[0]
}' >"$OUT"
say "wrote $OUT"
"$XCGN_ROOT/scripts/bench-report.sh" "$OUT"
