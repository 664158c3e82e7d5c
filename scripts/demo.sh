#!/bin/bash
# The main job: build (done by `make demo`), create a small namespace
# topology, attach xcgn, push real traffic through it and show what xcgn
# saw. Everything is torn down at the end, on error and on Ctrl-C.
#
#   4 subscribers 100.64.1.1-4 --- xcgn (pool 198.51.100.0/28) --- internet server 203.0.113.2
set -eu
XCGN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export XCGN_ROOT
NSUBS=${NSUBS:-4}
P=${P:-xdemo$(( $$ % 1000 ))}
# shellcheck source=netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"
export XCGN_RUN=$P	# every process it starts carries it: none may outlive it

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it creates network namespaces and loads BPF)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
TMP=$(mktemp -d /tmp/xcgn-demo.XXXXXX)
PIDS=()

cleanup() {
	trap - EXIT INT TERM
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	xcgn link detach >/dev/null 2>&1
	env_teardown
	rm -rf "$TMP"
	if ! left=$(end_leftovers); then
		echo "demo: FAIL: processes it started outlived it (ended now): $left" >&2
		exit 1
	fi
	echo "== torn down"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "topology: $NSUBS subscribers, xcgn in $NS_NAT, server $S1"
env_setup
step "attach xcgn and add a pool"
run xcgn link attach inside "$DEV_I" outside "$DEV_O"
run xcgn pool add "$POOL" block-size 512 max-blocks 2
run xcgn link show
run xcgn pool show

head -c 262144 /dev/urandom >"$TMP/file"
ip netns exec "$NS_INET" timeout 60 python3 -m http.server --bind "$S1" --directory "$TMP" 8080 >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec "$NS_INET" python3 "$XCGN_ROOT/tests/tools/udp_echo.py" "$S1" 7000 "$TMP/seen" 60 &
PIDS+=($!)
for _ in $(seq 1 50); do
	ip netns exec "$NS_INET" ss -tln | grep -q "$S1:8080" && break
	sleep 0.1
done

step "traffic: ping, HTTP download (curl) and UDP from every subscriber"
for i in $(seq 1 "$NSUBS"); do
	a=$(sub_addr "$i")
	in_sub ping -q -c 3 -i 0.2 -W 2 -I "$a" "$S1" | grep -E 'packets transmitted' | sed "s/^/$a ping: /"
	in_sub curl -sS --interface "$a" -o "$TMP/got.$i" "http://$S1:8080/file"
	if cmp -s "$TMP/file" "$TMP/got.$i"; then
		echo "$a curl: 256 KiB downloaded, identical"
	else
		echo "$a curl: download differs" >&2
		exit 1
	fi
	echo "hello from $a" | in_sub timeout 5 socat -t 1 - "UDP4:$S1:7000,bind=$a" | sed "s/^/$a udp echo: /"
done
echo "the server saw these sources (all from the pool):"
sed 's/^/  /' "$TMP/seen"

step "reverse-path check: a subscriber, and a spoof of an internet address from inside"
run xcgn rpf explain "$(sub_addr 1)" dev "$DEV_I"
run xcgn rpf explain 198.18.0.7 dev "$DEV_I"

step "what xcgn holds"
run xcgn subscriber show
run xcgn session show
run xcgn stats show
