#!/bin/bash
# shellcheck shell=bash
# Durable state (issue 9): the pinned layout checked as an ABI, `xcgn link
# reload` under traffic and across a layout change, one daemon per
# instance that follows it, and a NAT log that loses nothing when the
# daemon is killed or the disk fills.

# A stamp of another layout, or a missing pin: refused by every command
# that reads the state, by name, with what to do; detach still works.
test_abi_stamp_and_pins_checked_by_every_command() {
	attach_default
	local dir cmd out
	dir=$(pin_dir)
	good=$(bpftool -j map lookup pinned "$dir/xcgn_abi" key 0 0 0 0 | jq -r '.value | join(" ")')
	# Same magic and version, another fingerprint: a build whose layout moved.
	# shellcheck disable=SC2086
	bad=$(echo $good | awk '{for (i = 1; i <= NF; i++) printf "%s ", (i >= 17 && i <= 24) ? "0x5a" : $i}')
	# shellcheck disable=SC2086
	bpftool map update pinned "$dir/xcgn_abi" key 0 0 0 0 value $bad
	for cmd in "link show" "pool show" "stats show" "session show" "subscriber show" \
		"rpf show" "pool add 198.51.100.64/28" "daemon log-file $TMP/x.log" "link reload"; do
		# shellcheck disable=SC2086
		if out=$(xcgn $cmd 2>&1); then
			fail "xcgn $cmd accepted a pin of another layout"
		fi
		echo "$out" | grep -q "xcgn link reload" || fail "xcgn $cmd: no remedy named: $out"
		echo "$out" | grep -q "abi $(xcgn -j link abi | jq .abi)/5a5a5a5a5a5a5a5a" ||
			fail "xcgn $cmd: the pinned layout unnamed: $out"
	done
	echo "refused: $out"
	# shellcheck disable=SC2086
	bpftool map update pinned "$dir/xcgn_abi" key 0 0 0 0 value $good
	xcgn stats show >/dev/null || fail "the right stamp back: accepted"

	rm "$dir/xcgn_blkts"
	out=$(xcgn session show 2>&1) && fail "a missing pin accepted"
	echo "$out" | grep -q "xcgn_blkts is missing" || fail "missing pin not named: $out"
	out=$(xcgn daemon log-file "$TMP/x.log" 2>&1) && fail "daemon over a missing pin"
	xcgn link detach || fail "detach of incomplete pins"
	[ ! -e "$dir" ] || fail "pins left: $(ls "$dir")"
	nsenter --net="/run/netns/$NS_NAT" ip link show "$DEV_I" | grep -q xdp && fail "xdp left on $DEV_I"
	true
}

# Traffic that must come through a reload untouched: N UDP flows held open
# by each of two subscribers (udp_hold.py) and a paced TCP transfer checked
# by SHA-256.
held_traffic_start() {	# N MBYTES SECONDS
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 120
	bg "$NS_INET" python3 "$TOOLS/tcp_stream.py" recv "$S2" 6000 "$TMP/tcp.got" 120
	wait_listen "$NS_INET" "$S1:7000" u
	wait_listen "$NS_INET" "$S2:6000" t
	in_sub timeout 120 python3 "$TOOLS/udp_hold.py" "$(sub_addr 3)" 30000 "$1" "$S1" 7000 "$TMP/go" >"$TMP/hold.out" &
	HOLD_PID=$!
	in_sub timeout 120 python3 "$TOOLS/udp_hold.py" "$(sub_addr 4)" 30000 "$1" "$S1" 7000 "$TMP/go" >"$TMP/hold2.out" &
	HOLD2_PID=$!
	in_sub timeout 120 python3 "$TOOLS/tcp_stream.py" send "$(sub_addr 2)" "$S2" 6000 "$2" "$3" >"$TMP/tcp.sent" &
	SENDER_PID=$!
	wait_until 30 eval '[ -s "$TMP/hold.out" ] && [ -s "$TMP/hold2.out" ]' || true
	assert_eq "$1 $1" "$(head -qn1 "$TMP/hold.out" "$TMP/hold2.out" | xargs)" "UDP flows answered before"
}

held_traffic_check() {	# N
	touch "$TMP/go"
	wait "$HOLD_PID"
	wait "$HOLD2_PID"
	wait "$SENDER_PID" || fail "TCP sender broke"
	wait_until 10 test -s "$TMP/tcp.got" || true
	assert_eq "$(cat "$TMP/tcp.sent")" "$(cat "$TMP/tcp.got")" "TCP transfer byte-exact"
	assert_eq "$1 $1" "$(tail -qn1 "$TMP/hold.out" "$TMP/hold2.out" | xargs)" "UDP flows answered after"
	assert_eq $(($1 * 2)) "$(grep -c "" "$TMP/seen")" "senders the server saw (a new mapping would be a new one)"
	xcgn link check || fail "invariants after"
}

udp_mappings() {	# [xcgn binary function]
	"${1:-xcgn}" -j session show | jq -c '[.[] | select(.proto == "udp") | [.inside_port, .public_addr, .public_port]] | sort'
}

# A paced TCP transfer and 3000 UDP flows through ten reloads in a row.
test_reload_ten_times_under_traffic() {
	attach_default
	start_daemon
	held_traffic_start 1500 48 8
	before=$(udp_mappings)
	blocks=$(xcgn -j pool show | jq '.[0].blocks_taken')
	snat=$(stat snat_xdp)
	progs=$(nsenter --net="/run/netns/$NS_NAT" ip -j link show "$DEV_I" | jq '.[0].xdp.prog.id')
	for i in $(seq 1 10); do
		xcgn link reload || fail "reload $i"
		sleep 0.3
	done
	after_progs=$(nsenter --net="/run/netns/$NS_NAT" ip -j link show "$DEV_I" | jq '.[0].xdp.prog.id')
	[ "$after_progs" != "$progs" ] || fail "the program was not replaced"
	held_traffic_check 1500
	[ "$before" = "$(udp_mappings)" ] || fail "mappings changed over the reloads"
	assert_eq "$blocks" "$(xcgn -j pool show | jq '.[0].blocks_taken')" "blocks taken (none leaked)"
	assert_ge "$(stat snat_xdp)" "$snat" "counters kept"
	kill -0 "$DAEMON_PID" || fail "the daemon did not survive the reloads"
	xcgn link show | grep -q "daemon running pid $DAEMON_PID" || fail "link show: $(xcgn link show)"
	echo "10 reloads: TCP $(cat "$TMP/tcp.got"), 3000 UDP mappings unchanged, $blocks blocks"
}

# After a move from an older layout: the held flows went on, the mappings
# and subscribers are the same; this layout's daemon takes over the same
# log, what the older one logged counts as logged (nothing recovered), and
# the state's invariants hold.
moved_intact() {	# MAPPINGS_BEFORE SUBSCRIBERS_BEFORE
	held_traffic_check 1500
	[ "$1" = "$(udp_mappings)" ] || fail "mappings changed in the migration"
	assert_eq "$2" "$(xcgn -j subscriber show | jq length)" "subscribers"
	start_daemon
	sleep 1.5
	assert_eq 0 "$(grep -c recovered "$TMP/nat.log")" "records recovered after a clean migration"
	xcgn -j link check | jq -e '.blocks_unlogged == 0 and .violations == 0' >/dev/null ||
		fail "check after the migration: $(xcgn -j link check)"
}

# The state of the last layout-2 release moves to this layout under traffic.
test_reload_from_layout_v2() {
	local old=$XCGN_ROOT/build/abi-v2/xcgn
	[ -x "$old" ] || fail "no layout-2 build at $old (make build/abi-v2/xcgn)"
	xcgn2() { nsenter --net="/run/netns/$NS_NAT" "$old" "$@"; }
	xcgn2 link attach inside "$DEV_I" outside "$DEV_O" || fail "attach with layout 2"
	xcgn2 pool add "$POOL" || fail "pool add with layout 2"
	[ -d "$(pin_dir 2)" ] || fail "no layout-2 pins"
	out=$(xcgn session show 2>&1) && fail "this layout read layout-2 pins"
	echo "$out" | grep -q "abi 2 is pinned" || fail "not named: $out"
	out=$(xcgn link attach inside "$DEV_I" outside "$DEV_O" 2>&1) && fail "attached over layout 2"
	echo "$out" | grep -q "layout abi 2 is attached" || fail "attach over layout 2: $out"
	held_traffic_start 1500 24 5
	before=$(udp_mappings xcgn2)
	snat=$(xcgn2 -j stats show | jq .counters.snat_xdp)
	subs=$(xcgn2 -j subscriber show | jq length)
	# Allocations no layout-2 daemon has read: the move would lose them.
	out=$(xcgn link reload 2>&1) && fail "reload with unread layout-2 events"
	echo "$out" | grep -q "still holds .* bytes of allocations" || fail "not said: $out"
	[ -d "$(pin_dir 2)" ] && [ ! -e "$(pin_dir)" ] || fail "a refused reload changed something"
	# The layout-2 daemon drains its ring into the log, stops; then the move.
	daemon_for "$old" 1.5 log-file "$TMP/nat.log"
	xcgn link reload 2>"$TMP/reload.err" || { cat "$TMP/reload.err"; fail "reload from layout 2"; }
	grep -q "state moved from layout abi 2 to abi $(xcgn -j link abi | jq .abi)" "$TMP/reload.err" ||
		fail "$(cat "$TMP/reload.err")"
	[ ! -e "$(pin_dir 2)" ] || fail "layout-2 pins left"
	moved_intact "$before" "$subs"
	assert_ge "$(stat snat_xdp)" "$snat" "counters moved"
	now=$(date +%s)
	sed "s/\$/ @$now/" "$TMP/seen" | xcgn -j log who batch file "$TMP/nat.log" |
		jq -r '.[].subscriber' | sort | uniq -c | awk '{print $2, $1}' >"$TMP/who"
	assert_eq "$(sub_addr 3) 1500 $(sub_addr 4) 1500" "$(xargs <"$TMP/who")" \
		"log who for the 3000 flows held through the migration"
}

# The state of the last layout-3 release moves to this layout under
# traffic, its log taken over as it is, refusal-icmp kept (layout 4 made it
# a runtime switch in xcgn_state), nothing recovered, nothing lost.
# An instance of layout V (the last release of it, built from git) under
# held traffic, with its daemon; then `xcgn link reload` with this binary:
# the state moved, every mapping and subscriber intact. Sets OLD_SNAT, the
# old instance's fast-path counter just before the move.
reload_from_old_layout() {	# V ATTACH_ARGS...
	local v=$1 old=$XCGN_ROOT/build/abi-v$1/xcgn out before subs d
	shift
	[ -x "$old" ] || fail "no layout-$v build at $old (make build/abi-v$v/xcgn)"
	nsenter --net="/run/netns/$NS_NAT" "$old" link attach inside "$DEV_I" outside "$DEV_O" "$@" ||
		fail "attach with layout $v"
	# shellcheck disable=SC2086 # OLD_POOL_ARGS: words
	nsenter --net="/run/netns/$NS_NAT" "$old" pool add "$POOL" ${OLD_POOL_ARGS-} ||
		fail "pool add with layout $v"
	[ -d "$(pin_dir "$v")" ] || fail "no layout-$v pins"
	out=$(xcgn session show 2>&1) && fail "this layout read layout-$v pins"
	echo "$out" | grep -q "abi $v is pinned" || fail "not named: $out"
	: >"$TMP/d$v.err"
	DAEMON_ERR="$TMP/d$v.err" daemon_start --bin "$old" --wait none log-file "$TMP/nat.log" ||
		fail "the daemon did not start: $(cat "$TMP/d$v.err")"
	d=$DAEMON_PID
	held_traffic_start 1500 24 5
	old_xcgn() { nsenter --net="/run/netns/$NS_NAT" "$old" "$@"; }
	before=$(udp_mappings old_xcgn)
	subs=$(old_xcgn -j subscriber show | jq length)
	sleep 1.5
	OLD_SNAT=$(old_xcgn -j stats show | jq '.counters.snat_xdp')
	kill "$d"
	wait "$d" || fail "layout-$v daemon: $(cat "$TMP/d$v.err")"
	xcgn link reload 2>"$TMP/reload.err" || { cat "$TMP/reload.err"; fail "reload from layout $v"; }
	grep -q "state moved from layout abi $v to abi $(xcgn -j link abi | jq .abi)" "$TMP/reload.err" ||
		fail "$(cat "$TMP/reload.err")"
	[ ! -e "$(pin_dir "$v")" ] || fail "layout-$v pins left"
	moved_intact "$before" "$subs"
}

test_reload_from_layout_v3() {
	reload_from_old_layout 3 refusal-icmp host-unreachable
	xcgn -j link show | jq -e '.[0] | .refusal_icmp == "host-unreachable" and
		.bypass_all == "off" and .filtering == "pool" and .max_addresses == 4096' >/dev/null ||
		fail "link after the move: $(xcgn -j link show | jq -c '.[0]')"
	# New subscribers still get blocks (xcgn_state moved before the switch).
	in_sub timeout 5 ping -q -c 1 -W 2 -I "$(sub_addr 9)" "$S1" >/dev/null ||
		fail "a new subscriber after the move"
	# A layout-3 pool table held 16 pools; layout 6 converts the pools
	# (their new caps), into a table of this version's 64.
	for i in $(seq 1 16); do
		xcgn pool add "198.51.100.$((64 + i))/32" 2>/dev/null || fail "pool $i"
	done
	assert_eq 17 "$(xcgn -j pool show | jq length)" "pools past layout 3's 16"
}

# One daemon per instance; it exits on detach; it makes its log directory.
test_daemon_one_per_instance_follows_detach() {
	attach_default
	: >"$TMP/d1.err"
	DAEMON_ERR="$TMP/d1.err" daemon_start log-file "$TMP/new/dir/nat.log" ||
		fail "the daemon did not start: $(cat "$TMP/d1.err")"
	d1=$DAEMON_PID
	wait_until 10 eval 'xcgn -j link show | jq -e '.[0].daemon.pid' >/dev/null' || true
	assert_eq "$d1" "$(xcgn -j link show | jq '.[0].daemon.pid')" "link show names the daemon"
	assert_eq 750 "$(command stat -c %a "$TMP/new/dir")" "log directory mode"
	assert_eq 640 "$(command stat -c %a "$TMP/new/dir/nat.log")" "log file mode"
	rc=0
	out=$(timeout 10 nsenter --net="/run/netns/$NS_NAT" "$XCGN_BIN" daemon log-file "$TMP/other.log" 2>&1) || rc=$?
	assert_eq 1 "$rc" "a second daemon's exit status"
	echo "$out" | grep -q "another xcgn daemon (pid $d1)" || fail "second daemon: $out"
	in_sub ping -q -c 1 -W 1 "$S1" >/dev/null || fail "forwarding"
	xcgn link detach || fail "detach"
	for _ in $(seq 1 50); do
		kill -0 "$d1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$d1" 2>/dev/null && fail "the daemon outlived the detach"
	rc=0
	wait "$d1" || rc=$?
	assert_eq 0 "$rc" "daemon's exit status after detach"
	grep -q "detached" "$TMP/d1.err" || fail "the daemon did not say why: $(cat "$TMP/d1.err")"
	allocs=$(grep -c '"event":"alloc"' "$TMP/new/dir/nat.log")
	assert_ge "$allocs" 1 "allocations logged"
	assert_eq "$allocs" "$(grep -c '"reason":"detached"' "$TMP/new/dir/nat.log")" \
		"releases written at detach"
	# A daemon with its defaults on a machine without /var/log/xcgn.
	attach_default
	# ... in a mount namespace of its own whose /var/log is empty, so the
	# host's is never touched.
	unshare -m --propagation private sh -c "mount -t tmpfs tmpfs /var/log &&
		{ nsenter --net=/run/netns/$NS_NAT $XCGN_BIN daemon 2>$TMP/d2.err & d=\$!;
		  sleep 1; ls -ld /var/log/xcgn /var/log/xcgn/nat.log >$TMP/made 2>&1;
		  kill \$d; wait \$d; }" || fail "daemon on its defaults: $(cat "$TMP/d2.err")"
	grep -q "^drwxr-x--- .* /var/log/xcgn$" "$TMP/made" || fail "/var/log/xcgn not made: $(cat "$TMP/made")"
	grep -q "^-rw-r----- .* /var/log/xcgn/nat.log$" "$TMP/made" || fail "nat.log not made: $(cat "$TMP/made")"
	true
}

# Churn with kills and reloads: 2000 subscribers (100.64.8.0/21) open
# flows, 250 a round, four each; two more sit at their limit flooding
# refusals; each round ends with the daemon killed (SIGKILL) at a random
# moment and, every fifth (CHURN_RELOAD_EVERY), a reload; paced TCP
# transfers run all along, each checked byte for byte. CHURN_KILL=0,
# CHURN_RELOAD=0 and CHURN_TCP=0 leave one out.
# $1 rounds, or until $2 seconds have passed (the soak). Afterwards: every
# public address and port the server saw is answered by `log who` with
# the subscriber that sent it; every allocation has its release or is
# still held; `xcgn link check` finds nothing; and once the traffic stops
# everything expires and every block comes back.
durable_churn() {	# ROUNDS SECONDS
	local k=0 t0 i
	t0=$(date +%s)
	ip -n "$NS_SUB" addr add 100.64.1.190/24 dev "$DEV_S"
	for i in $(seq 0 1999); do
		echo "addr add 100.64.$((8 + i / 256)).$((i % 256))/32 dev $DEV_S"
	done | ip -n "$NS_SUB" -batch -
	# Behind an access router (the subscriber namespace), as in a real
	# network: on-link, 2000 subscribers would be 2000 neighbour entries
	# in a kernel table shared by every namespace (gc_thresh3 1024), and
	# its overflow stalls flows for tens of seconds.
	ip -n "$NS_NAT" route add 100.64.8.0/21 via "$(sub_addr 1)" dev "$DEV_I"
	xcgn link attach inside "$DEV_I" outside "$DEV_O" || fail "attach"
	xcgn pool add "$POOL" block-size 256 max-blocks 2 || fail "pool add"
	start_daemon time-scale 50 gc-interval 100 quarantine 1
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" "$(($2 + 300))" detail
	wait_listen "$NS_INET" "$S1:7000" u
	if [ "${CHURN_TCP:-1}" = 1 ]; then
		tcp_loop &
		BG_PIDS+=($!)
	else
		touch "$TMP/tcp.done"
	fi
	while [ "$k" -lt "$1" ] && [ $(($(date +%s) - t0)) -lt "$2" ]; do
		k=$((k + 1))
		bg_reap
		# Two subscribers at their limit: refusals all along.
		if [ $((k % 20)) = 1 ]; then
			for i in 1 2; do
				bg "$NS_SUB" timeout 60 python3 "$TOOLS/udp_flows.py" "100.64.1.$i" 10000 2000 "$S1" 7000 1
			done
		fi
		i=$(( (k * 250) % 2000 ))
		bg "$NS_SUB" timeout 20 python3 "$TOOLS/udp_many.py" "100.64.$((8 + i / 256)).$((i % 256))" 250 4 \
			$((20000 + (k % 1000) * 4)) "$S1" 7000 1
		sleep "0.$((RANDOM % 9 + 1))"
		if [ "${CHURN_KILL:-1}" = 1 ]; then
			kill -9 "$DAEMON_PID"
			wait "$DAEMON_PID" 2>/dev/null || true
		fi
		if [ "${CHURN_RELOAD:-1}" = 1 ] && [ $((k % ${CHURN_RELOAD_EVERY:-5})) = 0 ]; then
			xcgn link reload || fail "reload in round $k"
		fi
		sleep "0.$((RANDOM % 5))"
		kill -0 "$DAEMON_PID" 2>/dev/null || start_daemon time-scale 50 gc-interval 100 quarantine 1
	done
	touch "$TMP/tcp.stop"
	sleep 3	# the last round's flows answered
	kill -0 "$DAEMON_PID" || fail "daemon"
	if [ "${CHURN_TCP:-1}" = 1 ]; then
		wait_until 70 test -e "$TMP/tcp.done" || true
		grep -q bad "$TMP/tcp.results" &&
			fail "a TCP transfer broke: $(grep bad "$TMP/tcp.results"; cat "$TMP/tcp.diag")"
		assert_ge "$(grep -c ok "$TMP/tcp.results")" 1 "TCP transfers through the kills and reloads"
	fi
	sleep 1.5	# a last reconcile pass
	xcgn link check || fail "invariants under churn"
	recovered=$(grep -c '"recovered":true' "$TMP/nat.log" || true)
	lines=$(grep -c "" "$TMP/seen")
	echo "$k rounds: $(grep -c '"event":"alloc"' "$TMP/nat.log") allocations, $(grep -c '"event":"release"' "$TMP/nat.log") releases, $recovered recovered; server saw $lines datagrams"
	assert_ge "$lines" $((k * 900)) "datagrams observed"
	assert_ge "$(cut -d' ' -f3 "$TMP/seen" | sort -u | wc -l)" $((k * 250 > 2000 ? 2000 : k * 250)) \
		"subscribers seen"
	# Every observation is answered, with the subscriber that sent it,
	# from the log's index (as an abuse desk asks: the answer in
	# milliseconds however long the log; records recovered out of order
	# among them).
	awk '{print $1, "@" $2}' "$TMP/seen" >"$TMP/questions"
	awk '{print $3}' "$TMP/seen" >"$TMP/senders"
	xcgn -j log who batch file "$TMP/nat.log" index "$TMP/idx.sqlite" <"$TMP/questions" |
		jq -r '.[].subscriber' >"$TMP/answers" || true
	[ -s "$TMP/idx.sqlite" ] || fail "no index made"
	bad=$(paste -d' ' "$TMP/answers" "$TMP/senders" | awk '$1 != $2' | wc -l)
	paste -d' ' "$TMP/questions" "$TMP/answers" "$TMP/senders" | awk '$3 != $4' >"$TMP/wrong"
	head -5 "$TMP/wrong"
	assert_eq "$lines" "$(grep -c "" "$TMP/answers")" "answers"
	assert_eq 0 "$bad" "observations answered wrongly or not at all"
	log_pairs_held "allocations open in the log vs held blocks"
	# The traffic has stopped: everything expires, every block comes back.
	wait_all_expired
	assert_eq 0 "$(nmaps)" "mappings after the churn"
	assert_eq 0 "$(xcgn -j pool show | jq '.[0].blocks_taken')" "blocks taken: none leaked"
	xcgn -j link check | jq -e '.violations == 0 and .blocks_taken_unheld == 0' >/dev/null ||
		fail "check at rest: $(xcgn -j link check)"
	log_pairs_held "allocations open in the log at rest"
	echo "log who: all $lines observations right after $k rounds of kills and reloads"
}

# Paced TCP transfers (4 MiB over 2 s, SHA-256 checked) one after another
# from subscriber 190 until $TMP/tcp.stop; "ok" or "bad" each.
tcp_loop() {
	local n=0
	while [ ! -e "$TMP/tcp.stop" ] && [ "$n" -lt 100000 ]; do
		n=$((n + 1))
		rm -f "$TMP/t.got"
		in_inet timeout 30 python3 "$TOOLS/tcp_stream.py" recv "$S2" 6001 "$TMP/t.got" 30 &
		r=$!
		wait_listen "$NS_INET" "$S2:6001" t
		in_sub timeout 30 python3 "$TOOLS/tcp_stream.py" send 100.64.1.190 "$S2" 6001 4 2 \
			>"$TMP/t.sent" 2>"$TMP/t.err" || true
		wait "$r" || true
		if [ -s "$TMP/t.got" ] && [ "$(cat "$TMP/t.got")" = "$(cat "$TMP/t.sent")" ]; then
			echo ok >>"$TMP/tcp.results"
		else
			echo "bad $n: sent '$(cat "$TMP/t.sent")' got '$(cat "$TMP/t.got" 2>/dev/null)'" \
				"$(tail -1 "$TMP/t.err")" >>"$TMP/tcp.results"
			{ xcgn -j session show | jq -c '.[] | select(.inside_addr == "100.64.1.190")'
			  xcgn -j stats show | jq -c '.drops | with_entries(select(.value > 0))'
			  xcgn -j subscriber show 100.64.1.190; } >>"$TMP/tcp.diag" 2>&1
		fi
	done
	touch "$TMP/tcp.done"
}

test_daemon_sigkill_twenty_times_log_complete() {
	durable_churn 20 600
}

# `make soak`: the same for an hour (SOAK_SECONDS), run by name.
soak_durable_churn() {
	durable_churn 1000000 "${SOAK_SECONDS:-3600}"
}

# systemd's notification protocol: readiness, the watchdog, stopping.
test_daemon_tells_systemd() {
	attach_default
	notify_listen "$TMP/notify.sock" "$TMP/notify.got" 10
	NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=1000000 daemon_for "$XCGN_BIN" 2.2 log-file "$TMP/nat.log"
	sleep 0.2
	cat "$TMP/notify.got"
	grep -q "^READY=1" "$TMP/notify.got" || fail "no READY=1"
	assert_ge "$(grep -c "^WATCHDOG=1" "$TMP/notify.got")" 3 "watchdog pings in 2 s at half of 1 s"
	tail -1 "$TMP/notify.got" | grep -q "^STOPPING=1" || fail "no STOPPING=1 last"
}

# The log's disk fills: forwarding and GC go on, the failure is counted and
# reported, records wait in memory and are written when space returns.
test_natlog_disk_full_and_back() {
	mkdir -p "$TMP/small"
	mount -t tmpfs -o size=64k tmpfs "$TMP/small"
	attach_default
	: >"$TMP/d.err"
	DAEMON_ERR="$TMP/d.err" daemon_start log-file "$TMP/small/nat.log" ||
		fail "the daemon did not start: $(cat "$TMP/d.err")"
	d=$DAEMON_PID
	sleep 0.5
	dd if=/dev/zero of="$TMP/small/filler" bs=4k 2>/dev/null || true
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	for i in $(seq 1 20); do
		in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr "$i")" 20000 5 "$S1" 7000 >/dev/null
	done
	assert_eq 100 "$(grep -c "" "$TMP/seen")" "flows forwarded with the log's disk full"
	sleep 1.5
	xcgn -j link show | jq -e '.[0].daemon | .write_errors > 0 and .queued >= 20' >/dev/null ||
		fail "the failure is not reported: $(xcgn -j link show | jq -c '.[0].daemon')"
	xcgn -j stats show | jq -e '.natlog.write_errors > 0 and .natlog.queued >= 20' >/dev/null ||
		fail "not in stats: $(xcgn -j stats show | jq -c .natlog)"
	grep -q "No space left on device" "$TMP/d.err" || fail "not said: $(cat "$TMP/d.err")"
	rm "$TMP/small/filler"
	sleep 1.5
	xcgn -j link show | jq -e '.[0].daemon | .queued == 0 and .lost == 0' >/dev/null ||
		fail "not written when space came back: $(xcgn -j link show | jq -c '.[0].daemon')"
	assert_eq 20 "$(grep -c '"event":"alloc"' "$TMP/small/nat.log")" "allocations in the log"
	kill "$d"
	wait "$d" || true
	umount "$TMP/small"
}

# Layout 4 (the last before the cap on new subscribers) to this one: a
# drop reason appended (the counters converted), the pools' padding became
# the cap (off for a migrated pool until it is set).
# Layout 5 (the last before PCP) to this one: xcgn_pcp is new, the
# programs' PCP hands get pinned; a PCP mapping works on the moved state.
test_reload_from_layout_v5() {
	reload_from_old_layout 5 refusal-icmp host-unreachable route-table 78
	assert_ge "$(xcgn -j stats show | jq '.counters.snat_xdp')" "$OLD_SNAT" "counters carried over"
	[ -e "$(pin_dir)/prog_pcp_ctl" ] || fail "the PCP program is not pinned after the move"
	assert_eq 4096 "$(xcgn -j pool show | jq '.[0].sub_mappings')" "the pool's new mapping cap"
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" || fail "daemon exit status"
	: >"$TMP/d6.err"
	DAEMON_ERR="$TMP/d6.err" daemon_start log-file "$TMP/nat6.log" pcp ||
		fail "the daemon did not start: $(cat "$TMP/d6.err")"
	wait_until 10 grep -q "PCP and NAT-PMP on" "$TMP/d6.err" || true
	grep -q "0 mapping(s) held" "$TMP/d6.err" || fail "pcp after the move: $(cat "$TMP/d6.err")"
	in_sub timeout 5 natpmpc -g 100.64.1.254 -a 7777 7777 udp 60 >"$TMP/np.out" 2>&1 ||
		fail "natpmpc after the move: $(cat "$TMP/np.out")"
	xcgn -j session show | jq -e '[.[] | select(.pcp == "natpmp")] | length == 1' >/dev/null ||
		fail "no PCP mapping after the move"
}

# Layout 6 (the last before the next-hop cache) to this one: xcgn_nhctl
# is new (zero: no cache until a daemon vouches for it), two counters were
# appended (converted); the moved instance's daemon turns the cache on.
test_reload_from_layout_v6() {
	reload_from_old_layout 6 refusal-icmp host-unreachable
	assert_ge "$(xcgn -j stats show | jq '.counters.snat_xdp')" "$OLD_SNAT" "counters carried over"
	[ -e "$(pin_dir)/xcgn_nhctl" ] || fail "no xcgn_nhctl after the move"
	in_sub ping -q -c 5 -i 0.2 -W 2 "$S1" >/dev/null || fail "ping after the move"
	assert_ge "$(stat nexthop_cached)" 1 "the moved instance's next hops cached"
}

# Layout 7 (the last before the MSS clamp) to this one: two drop reasons
# and a counter appended (converted), xcgn_state's padding is the clamp
# (off); the inside's tc ingress, which an instance of 7 may lack, is
# there after the move, and the clamp can be set on the moved instance.
test_reload_from_layout_v7() {
	reload_from_old_layout 7 refusal-icmp host-unreachable
	assert_ge "$(xcgn -j stats show | jq '.counters.snat_xdp')" "$OLD_SNAT" "counters carried over"
	assert_eq 0 "$(xcgn -j stats show | jq '.counters.mss_clamped')" "the new counter starts at 0"
	assert_eq '"off"' "$(xcgn -j link show | jq '.[0].mss_clamp')" "a moved instance's clamp"
	in_nat tc filter show dev "$DEV_I" ingress >"$TMP/tc.in"
	grep -q xcgn_tc_inside "$TMP/tc.in" ||
		fail "no tc ingress on the inside after the move: $(cat "$TMP/tc.in")"
	xcgn link set mss-clamp 1400 || fail "link set mss-clamp 1400 on the moved instance"
	assert_eq 1400 "$(xcgn -j link show | jq '.[0].mss_clamp')" "the clamp set"
	in_sub ping -q -c 3 -i 0.2 -W 2 "$S1" >/dev/null || fail "ping after the move"
}

# Layout 8 (the last with one filtering mode for every protocol) to this
# one: an address-dependent pool stays address-dependent for each
# protocol, and a moved pool can then filter one protocol apart.
test_reload_from_layout_v8() {
	OLD_POOL_ARGS="filtering address-dependent" reload_from_old_layout 8
	xcgn -j pool show | jq -e '.[0] | .filtering == "address-dependent" and
		.udp_filtering == "address-dependent" and .tcp_filtering == "address-dependent" and
		.icmp_filtering == "address-dependent"' >/dev/null ||
		fail "the moved pool's filtering: $(xcgn -j pool show | jq -c '.[0]')"
	xcgn pool set "$POOL" tcp-filtering endpoint-independent || fail "pool set tcp-filtering"
	assert_eq endpoint-independent "$(xcgn -j pool show | jq -r '.[0].tcp_filtering')" \
		"tcp-filtering set on the moved pool"
	xcgn config show | grep -q " filtering address-dependent" &&
		fail "config show still says one mode: $(xcgn config show)"
	xcgn config show | grep -q "udp-filtering address-dependent tcp-filtering endpoint-independent icmp-filtering address-dependent" ||
		fail "config show: $(xcgn config show)"
	in_sub ping -q -c 3 -i 0.2 -W 2 "$S1" >/dev/null || fail "ping after the move"
}

test_reload_from_layout_v4() {
	reload_from_old_layout 4 refusal-icmp host-unreachable route-table 77
	assert_ge "$(xcgn -j stats show | jq '.counters.snat_xdp')" "$OLD_SNAT" "counters carried over"
	xcgn -j link show | jq -e '.[0] | .refusal_icmp == "host-unreachable" and
		.route_table == 77' >/dev/null || fail "link after the move: $(xcgn -j link show | jq -c '.[0]')"
	assert_eq '"off"' "$(xcgn -j pool show | jq '.[0].sub_burst')" "a migrated pool's cap"
	xcgn pool set "$POOL" sub-burst auto || fail "pool set sub-burst auto"
	assert_eq 1512 "$(xcgn -j pool show | jq '.[0].sub_burst')" "3/4 of 16 x 126 blocks"
	assert_eq 4096 "$(xcgn -j pool show | jq '.[0].sub_mappings')" \
		"a migrated pool's mapping cap: 2 x 4 blocks x 512"
	in_sub timeout 5 ping -q -c 1 -W 2 -I "$(sub_addr 9)" "$S1" >/dev/null ||
		fail "a new subscriber after the move"
}
