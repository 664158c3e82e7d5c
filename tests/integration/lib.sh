#!/bin/bash
# shellcheck shell=bash
# Helpers of the integration tests: background processes we own (killed by
# PID at teardown), counters, assertions.

TOOLS=$XCGN_ROOT/tests/tools	# the Python tools the tests run
BG_PIDS=()

# Start a command in a namespace in the background; remember its PID.
# `ip netns exec` execs the command, so $! is the command itself.
bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	BG_PIDS+=($!)
}

# Reap the background processes that have finished (long runs start
# thousands): their PIDs leave BG_PIDS once waited for.
bg_reap() {
	local p keep=() st
	for p in "${BG_PIDS[@]}"; do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null || true)
		if [ -z "$st" ] || [ "$st" = Z ]; then
			wait "$p" 2>/dev/null || true
		else
			keep+=("$p")
		fi
	done
	BG_PIDS=("${keep[@]}")
}

bg_kill() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
}

# End the test: the assertion's message, and where it failed with the
# line that failed (the first caller outside this file).
fail() {
	local i=1 src line
	while [ "${BASH_SOURCE[$i]:-}" = "${BASH_SOURCE[0]}" ]; do
		i=$((i + 1))
	done
	src=${BASH_SOURCE[$i]:-?}
	line=$(sed -n "${BASH_LINENO[$((i - 1))]}{s/^[[:space:]]*//;p;q}" "$src" 2>/dev/null)
	echo "FAIL: $* [${src##*/}:${BASH_LINENO[$((i - 1))]}: $line]" >&2
	exit 1
}

# Wait until CMD succeeds, at most SECS seconds (tried every 0.1 s).
# 0 once it has, 1 when the time ran out.
wait_until() {	# SECS CMD...
	local end=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# End a test that cannot run here, saying why: the runner reports SKIP
# with the reason, and a run with skips fails unless XCGN_ALLOW_SKIP=1.
# Never for a missing tool: scripts/deps.sh installs it.
SKIP_RC=77
skip() {
	echo "SKIP: $*"
	exit "$SKIP_RC"
}

assert_eq() {	# expected actual message
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

assert_ge() {	# value minimum message
	[ "$1" -ge "$2" ] || fail "$3: $1 < $2"
}

# A counter or a drop reason from `xcgn -j stats show`.
stat() { xcgn -j stats show | jq -r ".counters.$1"; }
drop() { xcgn -j stats show | jq -r ".drops.$1"; }
nmaps() { xcgn -j session show | jq 'length'; }

# Each allocation in the NAT log is released once, and those still open
# are exactly the blocks held now.
log_pairs_held() {	# message
	local held
	jq -r 'select(.event=="alloc" or .event=="release") | "\(.event) \(.subscriber) \(.public) \(.port_lo)"' "$TMP/nat.log" |
		awk '{k=$2" "$3" "$4; if ($1=="alloc") { if (o[k]) dup++; o[k]=1 } else { if (!o[k]) bad++; o[k]=0 } }
		     END {for (k in o) if (o[k]) print k; print "dup " dup+0 " bad " bad+0 > "/dev/stderr"}' \
		>"$TMP/open" 2>"$TMP/pairs"
	grep -q "dup 0 bad 0" "$TMP/pairs" || fail "allocations and releases do not pair: $(cat "$TMP/pairs")"
	held=$(xcgn -j subscriber show | jq -r '.[] | .subscriber as $s | .public as $p | .blocks[]? | "\($s) \($p) \(.port_lo)"' | sort)
	[ "$(sort "$TMP/open")" = "$held" ] || fail "$1: $(diff <(sort "$TMP/open") <(echo "$held") | head)"
}

# Wait (bounded, 30 s) until every mapping has expired and every block is
# back from quarantine.
wait_all_expired() {
	local i
	for i in $(seq 1 150); do
		[ "$(nmaps)" = 0 ] && [ "$(xcgn -j pool show | jq '.[0].blocks_taken')" = 0 ] && return 0
		sleep 0.2
	done
}

# Run BIN daemon ARGS in the NAT namespace for SECS seconds, stop it with
# SIGTERM; it must exit 0. Its stderr goes to $TMP/d.err.
daemon_for() {	# BIN SECS ARGS...
	local bin=$1 secs=$2
	shift 2
	: >"$TMP/d.err"
	DAEMON_ERR=$TMP/d.err daemon_start --bin "$bin" --wait none "$@" || true	# wait says why
	sleep "$secs"
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" || fail "daemon exit status: $(cat "$TMP/d.err")"
}

# Wait (bounded) until a TCP or UDP port listens in a namespace.
wait_listen() {	# ns addr:port proto(t|u)
	local i
	for i in $(seq 1 50); do
		ip netns exec "$1" ss -"$3"ln | grep -q "$2" && return 0
		sleep 0.1
	done
	fail "nothing listens on $2 in $1"
}

# Run xcgn expecting exit status $1 and a message matching $2.
expect_err() {
	local want=$1 pat=$2 rc=0
	shift 2
	xcgn "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	echo "xcgn $* -> $rc: $(cat "$TMP/err")"
	assert_eq "$want" "$rc" "exit status of: xcgn $*"
	grep -qi -- "$pat" "$TMP/err" || fail "message of 'xcgn $*' lacks '$pat'"
}

# Listen as systemd would on a notify socket (sd_notify(3)) for SECS
# seconds, each datagram a line of OUT; returns once the socket exists.
notify_listen() {	# SOCK OUT SECS
	python3 - "$1" "$2" "$3" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(float(sys.argv[3]))
with open(sys.argv[2], "w", buffering=1) as f:
    end = time.monotonic() + float(sys.argv[3])
    while time.monotonic() < end:
        try:
            f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        except socket.timeout:
            break
PY
	BG_PIDS+=($!)
	for _ in $(seq 1 50); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	fail "no notify socket at $1"
}

# N more subscribers, 100.64.8.0 on (/32s on the subscriber side), behind
# subscriber 1 as an access router: on-link, they would be N neighbour
# entries in a kernel table every namespace shares.
subscribers_behind() {	# N
	local i
	for i in $(seq 0 $(($1 - 1))); do
		echo "addr add 100.64.$((8 + i / 256)).$((i % 256))/32 dev $DEV_S"
	done | ip -n "$NS_SUB" -batch -
	ip -n "$NS_NAT" route add 100.64.8.0/21 via "$(sub_addr 1)" dev "$DEV_I"
}

# Attach xcgn and add the default pool; extra pool arguments may follow.
attach_default() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O" || fail "attach"
	xcgn pool add "$POOL" "$@" || fail "pool add"
}

# Run the test function FN in a topology of its own (prefix PREFIX), its
# output to LOG; the topology goes away whatever happens. The exit status.
run_isolated() {	# PREFIX FN LOG
	(
		P=$1
		NS_SUB=${P}sub NS_NAT=${P}nat NS_INET=${P}inet
		DEV_S=${P}s DEV_I=${P}i DEV_O=${P}o DEV_E=${P}e
		XCGN_RUN=$1
		export XCGN_RUN
		trap test_teardown EXIT
		# A command that fails outside an assertion says which it was.
		trap 'rc=$?; [[ $BASH_COMMAND == exit* ]] || echo "FAILED COMMAND: exit status $rc of: $BASH_COMMAND [in ${FUNCNAME[0]:-the test}]" >&2' ERR
		set -e -E -o pipefail
		test_setup
		"$2"
	) </dev/null >"$3" 2>&1
}

test_setup() {
	TMP=$(mktemp -d /tmp/xcgn-test.XXXXXX)
	env_setup
}

test_teardown() {
	set +e	# the trap runs under the test's errexit: clean up everything
	bg_kill
	# Pins live in the host's bpffs and outlive the namespace: detach.
	xcgn link detach >/dev/null 2>&1
	env_teardown
	findmnt -rn -o TARGET | grep "^$TMP/" | xargs -r umount
	rm -rf "$TMP"
}
