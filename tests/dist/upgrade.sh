#!/bin/bash
# The package upgraded under traffic: the previous layout's package is
# installed and attached in a namespace of this test's, a subscriber's UDP
# flow runs, and the new package is installed from within that namespace
# (as an operator's apt runs where xcgn is attached). Its postinst must
# move the instance to the new programs: the flow keeps its public port,
# the pins are the new layout's, and the NAT log holds the flow's block
# once, before and after.
set -euo pipefail
prev=$(ls "$(realpath "${1:?usage: upgrade.sh PREV_DEB_DIR NEW_DEB_DIR}")"/xcgn_*.deb)
new=$(ls "$(realpath "${2:?usage: upgrade.sh PREV_DEB_DIR NEW_DEB_DIR}")"/xcgn_*.deb)
fail() { echo "FAIL: $*" >&2; exit 1; }

XCGN_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# netns-env.sh takes its prefix from P.
P=up$(( $$ % 100000 ))
XCGN_BIN=/usr/sbin/xcgn
# shellcheck source=../../scripts/netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"
TMP=$(mktemp -d /tmp/xcgn-upgrade.XXXXXX)
BG_PIDS=()
DAEMON_ERR=$TMP/daemon.err

if dpkg-query -W -f='${Status}' xcgn 2>/dev/null | grep -q "ok installed"; then
	fail "an xcgn package is installed on this machine already; not touching it"
fi
cleanup() {
	local p
	set +e
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ -x "$XCGN_BIN" ] && xcgn link detach >/dev/null 2>&1
	env_teardown
	[ -x "$XCGN_BIN" ] && "$XCGN_BIN" link clean >/dev/null 2>&1
	apt-get remove --purge -y -qq xcgn >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

apt_in_ns() { nsenter --net="/run/netns/$NS_NAT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; }
# What the server saw of the subscriber's flow: its public ADDR:PORT, one line a datagram.
seen_ports() { awk '{print $1}' "$TMP/seen" | sort -u; }
send() { ip netns exec "$NS_SUB" timeout 10 python3 "$XCGN_ROOT/tests/tools/udp_flows.py" "$(sub_addr 1)" 40000 1 "$S1" 7000 2; }

env_setup
apt_in_ns "$prev" >/dev/null || fail "apt install $prev"
old_v=$(xcgn -V)
old_abi=$(xcgn -j link abi | jq .abi)
echo "upgrade: installed $old_v (layout $old_abi)"
xcgn link attach inside "$DEV_I" outside "$DEV_O" || fail "attach with the previous package"
xcgn pool add "$POOL" || fail "pool add with the previous package"
daemon_start log-file "$TMP/nat.log" || fail "the previous package's daemon did not start"
ip netns exec "$NS_INET" python3 "$XCGN_ROOT/tests/tools/udp_echo.py" "$S1" 7000 "$TMP/seen" 120 detail &
BG_PIDS+=($!)
wait_port=0
for _ in $(seq 1 50); do
	ip netns exec "$NS_INET" ss -lun | grep -q "$S1:7000" && { wait_port=1; break; }
	sleep 0.1
done
[ $wait_port = 1 ] || fail "the echo server did not listen"
[ "$(send)" = 1 ] || fail "the flow got no echo through the previous package's xcgn"
before=$(seen_ports)

apt_in_ns "$new" >"$TMP/apt.out" 2>&1 || fail "apt install $new: $(tail -5 "$TMP/apt.out")"
cat "$TMP/apt.out"
grep -q "an instance is attached: moved to version .* (xcgn link reload), sessions kept" "$TMP/apt.out" ||
	fail "the postinst did not say it reloaded the attached instance"
grep -q "stopped the daemon of layout abi $old_abi" "$TMP/apt.out" ||
	fail "the reload did not stop the previous layout's daemon before moving its pins"
new_v=$(xcgn -V)
[ "$new_v" != "$old_v" ] || fail "xcgn -V is still $old_v"
[ -d "$(pin_dir)" ] || fail "no pins of this layout ($(pin_dir)) after the upgrade"

[ "$(send)" = 1 ] || fail "the flow got no echo after the upgrade"
after=$(seen_ports)
[ "$before" = "$after" ] || fail "the flow changed public port in the upgrade: $before, then $after"
echo "upgrade: $old_v -> $new_v; the flow kept $before"

# The reload stopped the previous layout's daemon (releasing nothing);
# this version's takes over the log and writes nothing twice.
kill -0 "$DAEMON_PID" 2>/dev/null && fail "the previous layout's daemon still runs"
wait "$DAEMON_PID" || fail "the previous layout's daemon exited non-zero: $(cat "$TMP/daemon.err")"
daemon_start log-file "$TMP/nat.log" || fail "the new package's daemon did not start"
[ "$(send)" = 1 ] || fail "the flow got no echo under the new daemon"
pub=${before%%:*}
allocs=$(grep -c "\"event\":\"alloc\".*\"subscriber\":\"$(sub_addr 1)\".*\"public\":\"$pub\"" "$TMP/nat.log" || true)
[ "$allocs" = 1 ] || fail "the NAT log has $allocs allocations of the flow's block (want 1): $(cat "$TMP/nat.log")"
rels=$(grep -c "\"event\":\"release\".*\"subscriber\":\"$(sub_addr 1)\"" "$TMP/nat.log" || true)
[ "$rels" = 0 ] || fail "the NAT log releases the block of a flow that lives on: $(cat "$TMP/nat.log")"
got=$(xcgn -j log who "$before" | jq -r .subscriber)
[ "$got" = "$(sub_addr 1)" ] || fail "log who $before: $got"
echo "upgrade: the NAT log holds the block once, unreleased; log who $before: $got"
