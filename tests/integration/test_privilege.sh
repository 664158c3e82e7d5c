#!/bin/bash
# shellcheck shell=bash
# Least privilege: once set up, the daemon keeps only CAP_BPF and
# CAP_NET_ADMIN, in every thread, with no new privileges, and still does
# everything it does: the NAT log, the collector, PCP, the monitor, the
# routes it announces.

caps_of() {	# PID FIELD: a capability set of every thread, hex, one a line
	local t
	for t in /proc/"$1"/task/*; do
		awk -v f="$2:" '$1 == f {print $2}' "$t/status"
	done | sort -u
}

test_daemon_keeps_only_what_it_uses() {
	local d want
	xcgn link attach inside "$DEV_I" outside "$DEV_O" route-table 100 || fail "attach"
	xcgn pool add "$POOL" || fail "pool add"
	: >"$TMP/d.err"
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/nat.log" pcp metrics 127.0.0.1:9811 ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	d=$DAEMON_PID
	wait_until 5 grep -q "collecting every" "$TMP/d.err" || fail "the daemon: $(cat "$TMP/d.err")"
	sleep 0.5
	# CAP_NET_ADMIN is bit 12, CAP_BPF bit 39.
	want=0000008000001000
	assert_eq "$want" "$(caps_of "$d" CapEff)" "effective capabilities of every thread"
	assert_eq "$want" "$(caps_of "$d" CapPrm)" "permitted capabilities of every thread"
	assert_eq "$want" "$(caps_of "$d" CapBnd)" "the bounding set of every thread"
	assert_eq 1 "$(awk '$1 == "NoNewPrivs:" {print $2}' "/proc/$d/status")" "no new privileges"
	assert_ge "$(ls "/proc/$d/task" | wc -l)" 2 "the next-hop keeper thread runs (it is checked too)"
	# And it still does its work: a block logged, PCP answered, metrics
	# served, the routes withdrawn when the outside goes down.
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "ping"
	wait_until 5 grep -q '"event":"alloc"' "$TMP/nat.log" || fail "no allocation logged"
	in_sub timeout 5 natpmpc -g 100.64.1.254 >"$TMP/natpmp" 2>&1 || fail "natpmpc: $(cat "$TMP/natpmp")"
	grep -q "Public IP address" "$TMP/natpmp" || fail "NAT-PMP: $(cat "$TMP/natpmp")"
	nsenter --net="/run/netns/$NS_NAT" curl -sf --max-time 2 -o "$TMP/metrics" \
		http://127.0.0.1:9811/metrics || fail "metrics: curl exited $?"
	grep -q "^xcgn_build_info" "$TMP/metrics" || fail "metrics: $(head -c 300 "$TMP/metrics")"
	in_nat ip link set "$DEV_O" down
	wait_until 5 sh -c "[ -z \"\$(ip -n $NS_NAT route show table 100 proto 244)\" ]" ||
		fail "the routes were not withdrawn without CAP_SYS_ADMIN: $(cat "$TMP/d.err")"
	in_nat ip link set "$DEV_O" up
	kill "$d"
	wait "$d" || fail "daemon exit status: $(cat "$TMP/d.err")"
	! grep -q "warning: could not drop" "$TMP/d.err" || fail "$(cat "$TMP/d.err")"
}
