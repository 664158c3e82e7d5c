#!/bin/bash
# shellcheck shell=bash
# Helpers of the conformance tests (on top of tests/integration/lib.sh).

CRAFT=$XCGN_ROOT/tests/conformance/craft.py
SCAPY=/usr/bin/python3	# Debian's python3-scapy

craft() {	# NS craft.py-arguments...
	local ns=$1
	shift
	ip netns exec "$ns" "$SCAPY" "$CRAFT" "$@"
}

CAP_PIDS=()
CAP_FILES=()

# Capture in the background until the capture is really listening.
capture() {	# NS DEV FILE tcpdump-filter...
	local ns=$1 dev=$2 file=$3 i
	shift 3
	ip netns exec "$ns" timeout 30 tcpdump -i "$dev" -n -U -w "$file" "$@" 2>"$file.err" &
	CAP_PIDS+=($!)
	CAP_FILES+=("$file")
	BG_PIDS+=($!)
	for i in $(seq 1 50); do
		grep -q listening "$file.err" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "tcpdump did not start on $dev"
}

# Let what is in flight arrive (at least N packets in the last capture,
# within 3 s; softirq work can lag behind a busy CPU), then stop them all.
capture_stop() {	# [N]
	local p i want=${1:-1} file=${CAP_FILES[-1]:-}
	for i in $(seq 1 30); do
		sleep 0.1
		[ -n "$file" ] || break
		[ "$want" -gt 0 ] || { [ "$i" -ge 10 ] && break; continue; }
		[ "$(tcpdump -nr "$file" 2>/dev/null | wc -l)" -ge "$want" ] && break
	done
	for p in "${CAP_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CAP_PIDS=()
	CAP_FILES=()
}

# The packets of a capture as JSON lines (stop the capture first).
packets() {	# FILE
	"$SCAPY" "$CRAFT" read "$1"
}

# A UDP echo server on S1 (or S2) port 3478 that records what it saw.
echo_server() {	# ADDR PORT LOG
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$1" "$2" "$3" 30
	wait_listen "$NS_INET" "$1:$2" u
}

# "addr:port" the server saw for the Nth new sender (1-based).
seen() {	# LOG N
	local i
	for i in $(seq 1 50); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && break
		sleep 0.1
	done
	sed -n "$2p" "$1"
}

# One UDP datagram from a subscriber's address and port; succeeds when
# its echo came back.
udp_from() {	# SUB_ADDR SPORT DST DPORT
	[ "$(in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$1" "$2" 1 "$3" "$4" 2)" = 1 ]
}

# xcgn daemon in the NAT namespace, its log in $TMP/nat.log, once it runs.
daemon_with_log() {	# extra daemon arguments...
	: >"$TMP/daemon.err"
	daemon_start log-file "$TMP/nat.log" "$@" || fail "the daemon did not start"
}
