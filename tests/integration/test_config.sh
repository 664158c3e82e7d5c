#!/bin/bash
# shellcheck shell=bash
# The configuration file: check touches nothing and names every bad line;
# apply attaches, changes in place and is all or nothing; the same file
# twice changes nothing; config show prints what config apply takes back.

conf() { cat >"$TMP/$1"; }

# Pins and programs of the instance, to compare before and after.
instance_state() {
	xcgn -j pool show | jq -c '[.[] | del(.blocks_used, .blocks_taken, .blocks_quarantined, .blocks_free)]'
	xcgn -j pool bypass show
	nsenter --net="/run/netns/$NS_NAT" ip -j link show "$DEV_I" | jq -c '.[0].xdp.prog.id'
	xcgn -j rpf show | jq -c '[.devices[]? | .mode]' 2>/dev/null || true
}

test_config_check_names_every_bad_line() {
	conf bad.conf <<EOF2
# a comment line
link inside $DEV_I outside $DEV_O max-mappings 8
pool 198.51.100.0/28 block-size 1000
pool 198.51.100.8/29
bypass 100.64.0.0/16
frobnicate now
daemon gc-interval 5
EOF2
	expect_err 1 'bad.conf:2: invalid max-mappings "8" (must be 16..16777216)' \
		config check "$TMP/bad.conf"
	grep -q "bad.conf:6: unknown statement \"frobnicate\"" "$TMP/err" || fail "line 6 not named"
	grep -q "bad.conf:7: invalid gc-interval" "$TMP/err" || fail "line 7 not named"
	# A file whose statements each read but do not fit together.
	conf clash.conf <<EOF2
link inside $DEV_I \\
     outside $DEV_O
pool 198.51.100.0/28 block-size 1000
pool 198.51.100.8/29
bypass 100.64.0.0/16
EOF2
	expect_err 1 "clash.conf:3: pool 198.51.100.0/28: block size 1000 does not divide" \
		config check "$TMP/clash.conf"
	grep -q "clash.conf:4: pool 198.51.100.8/29 overlaps pool 198.51.100.0/28" "$TMP/err" ||
		fail "line 4 not named"
	grep -q "clash.conf:5: bypass 100.64.0.0/16 overlaps the subscriber range" "$TMP/err" ||
		fail "line 5 not named"
	conf nodev.conf <<EOF2
link inside nosuchdev0 outside $DEV_O
EOF2
	expect_err 1 'nodev.conf:1: inside device "nosuchdev0" does not exist' \
		config check "$TMP/nodev.conf"
	expect_err 1 "nosuchfile: No such file" config check "$TMP/nosuchfile"
	# Nothing was touched: nothing is attached.
	assert_eq "[]" "$(xcgn -j link show)" "link show after checks"
	assert_eq "" "$(xcgn link show)" "link show text after checks"
}

# config check for another host: offline leaves the devices and this
# host's addresses alone and still reads everything else; the daemon
# line is held to what the shipped unit allows. (nftables' `nft -c -f`
# also checks without applying, but it looks up no devices either way.)
test_config_check_offline_and_lints() {
	conf other.conf <<EOF2
link inside eth7 outside eth8
pool $POOL
pool 198.51.100.64/28 sub-mappings 20000 block-size 1008 max-blocks 2
daemon log-file /srv/nat.log metrics 0.0.0.0:80 ipfix 192.0.2.9:4739
EOF2
	expect_err 1 'other.conf:1: inside device "eth7" does not exist' config check "$TMP/other.conf"
	xcgn config check "$TMP/other.conf" offline >"$TMP/out" 2>"$TMP/err" ||
		fail "config check offline of a good file for another host: $(cat "$TMP/err")"
	grep -q "other.conf:4: warning: log-file /srv/nat.log is outside /var/log/xcgn/" "$TMP/err" ||
		fail "no warning of a log outside the unit's LogsDirectory: $(cat "$TMP/err")"
	grep -q "other.conf:4: warning: metrics 0.0.0.0:80 is served beyond this host" "$TMP/err" ||
		fail "no warning of metrics served to the world: $(cat "$TMP/err")"
	# What pool add would warn of, check warns of too: 262144 / 20000
	# rounded up is 14 subscribers at the cap filling the table. The
	# defaults (a 64th of the table a subscriber) raise nothing.
	grep -q "warning: pool 198.51.100.64/28: 14 subscribers at their sub-mappings cap (20000)" \
		"$TMP/err" || fail "check lacks the warning apply would raise: $(cat "$TMP/err")"
	grep -q "warning: pool $POOL" "$TMP/err" && fail "the default pool warns: $(cat "$TMP/err")"
	# The capacity, from the pools' geometry: a /28 of 16 addresses with
	# (65535 - 1024 + 1) / 512 blocks each, a subscriber holding 1 or 4;
	# the second pool 64512 / 1008 = 64 blocks, 2 a subscriber.
	local n=$((1 << (32 - ${POOL#*/}))) nb=$(((65535 - 1024 + 1) / 512))
	grep -A1 -F "pool $POOL: $n address(es) x $nb blocks of 512 ports" "$TMP/out" |
		grep -qF "$((n * nb)) subscribers at 1 block, $((n * (nb / 4))) at max-blocks 4" ||
		fail "capacity of $POOL: $(cat "$TMP/out")"
	grep -qF "all pools: $((n * nb + 16 * 64)) subscribers at 1 block, $((n * (nb / 4) + 16 * 32)) at max-blocks" \
		"$TMP/out" || fail "capacity in all: $(cat "$TMP/out")"
	grep -qF "mapping table: 262144, 16 a subscriber when 16384 are active" \
		"$TMP/out" || fail "mappings: $(cat "$TMP/out")"
	grep -qF "kernel memory: measured beside a running instance" "$TMP/out" &&
		fail "offline measured the memory: $(cat "$TMP/out")"
	conf bad.conf <<EOF2
link inside eth7 outside eth8
daemon log-file nat.log ipfix 192.0.2.9:4739 ipfix 192.0.2.9:4739
EOF2
	expect_err 1 'bad.conf:2: invalid log-file "nat.log" (an absolute path, or none)' \
		config check "$TMP/bad.conf" offline
	sed -i 's/log-file nat.log //' "$TMP/bad.conf"
	expect_err 1 'bad.conf:2: ipfix collector 192.0.2.9:4739 given twice' \
		config check "$TMP/bad.conf" offline
	expect_err 2 'unexpected argument "more" to config check' \
		config check "$TMP/bad.conf" offline more
	assert_eq "[]" "$(xcgn -j link show)" "link show after the checks"
}

# config diff (and apply dry-run) prints the plan in the CLI's words and
# changes nothing; apply then does exactly that. (nftables has no diff of
# a ruleset against the running one: `nft -c` checks only.)
test_config_diff_prints_the_plan() {
	conf a.conf <<EOF2
link inside $DEV_I outside $DEV_O
pool $POOL max-blocks 4
bypass 192.0.2.128/25
EOF2
	xcgn config diff "$TMP/a.conf" >"$TMP/plan" || fail "config diff before attach"
	grep -q "^link attach inside $DEV_I outside $DEV_O" "$TMP/plan" || fail "no attach in $(cat "$TMP/plan")"
	assert_eq "[]" "$(xcgn -j link show)" "link show after config diff"
	xcgn config apply "$TMP/a.conf" || fail "config apply"
	assert_eq "" "$(xcgn config diff "$TMP/a.conf")" "config diff of the file applied"
	# check beside a running instance gives its kernel memory: what
	# bpftool says its pinned maps are charged, summed.
	xcgn config check "$TMP/a.conf" >"$TMP/cap" || fail "config check: $(cat "$TMP/cap")"
	local want=0 b
	for b in $(for f in "$(pin_dir)"/xcgn_*; do
		[ -f "$f" ] && bpftool -j map show pinned "$f" 2>/dev/null | jq '.bytes_memlock // empty'
	done); do
		want=$((want + b))
	done
	assert_ge "$want" 1000000 "bpftool's sum of the pinned maps' memory"
	grep -A1 -F "kernel memory: $(awk -v b="$want" 'BEGIN { printf "%.1f", b / 1048576 }') MiB, the tables of the instance running here" \
		"$TMP/cap" | grep -qF "(max-mappings 262144, max-subscribers 16384)" ||
		fail "config check's memory is not bpftool's $want bytes: $(cat "$TMP/cap")"
	conf b.conf <<EOF2
link inside $DEV_I outside $DEV_O rpf-outside strict
pool $POOL max-blocks 6 udp-timeout 400
pool 198.51.100.64/28
bypass 192.0.2.0/25
EOF2
	before=$(instance_state)
	xcgn config apply "$TMP/b.conf" dry-run >"$TMP/plan" || fail "config apply dry-run"
	cat "$TMP/plan"
	assert_eq "$before" "$(instance_state)" "state after apply dry-run"
	# sub-mappings follows max-blocks (auto: 2 x max-blocks x block-size).
	for want in "link set rpf-outside strict" \
		"pool set $POOL max-blocks 6 sub-mappings 6144 udp-timeout 400" \
		"pool bypass del 192.0.2.128/25" "pool bypass add 192.0.2.0/25"; do
		grep -qxF "$want" "$TMP/plan" || fail "the plan lacks \"$want\": $(cat "$TMP/plan")"
	done
	# A pool added is said whole, on one line, defaults included.
	grep -q "^pool add 198.51.100.64/28 ports 1024-65535 .* icmp-timeout 60$" "$TMP/plan" ||
		fail "the plan lacks the new pool, whole: $(cat "$TMP/plan")"
	xcgn -v config apply "$TMP/b.conf" || fail "apply of b.conf"
	assert_eq "" "$(xcgn config diff "$TMP/b.conf")" "config diff after the apply"
}

# config show is the running configuration whole: the daemon publishes
# its statements (canonical, defaults left out), show prints them and
# their absence, and apply says when the file's differ from the running
# daemon's, which takes them only when it restarts. (nftables has no
# daemon: its `list ruleset` is all there is, and xcgn's show matches it
# in that `show > f; apply f` changes nothing.)
test_config_show_has_the_running_daemon() {
	conf d.conf <<EOF2
link inside $DEV_I outside $DEV_O
pool $POOL
daemon gc-interval 500 log-file $TMP/nat.log refusal-rate 50
cluster node 3 as 64512
cluster peer 203.0.113.2 as 64513 upstream
EOF2
	xcgn config apply "$TMP/d.conf" || fail "config apply"
	xcgn config show >"$TMP/shown.conf"
	grep -q "^# no daemon runs for this instance" "$TMP/shown.conf" ||
		fail "config show without a daemon does not say so: $(cat "$TMP/shown.conf")"
	daemon_start config "$TMP/d.conf" || fail "daemon config $TMP/d.conf"
	xcgn config show >"$TMP/shown.conf"
	cat "$TMP/shown.conf"
	grep -qx "daemon log-file $TMP/nat.log gc-interval 500 refusal-rate 50" "$TMP/shown.conf" ||
		fail "config show lacks the daemon line in its canonical form"
	grep -q "^cluster node 3 as 64512" "$TMP/shown.conf" || fail "config show lacks the cluster"
	grep -q "^cluster peer 203.0.113.2 as 64513 upstream" "$TMP/shown.conf" ||
		fail "config show lacks the cluster's peer"
	xcgn config apply "$TMP/shown.conf" >"$TMP/out" 2>&1 || fail "apply of config show"
	assert_eq "" "$(cat "$TMP/out")" "applying config show's output (daemon and cluster as running)"
	sed "s|^daemon .*|daemon gc-interval 250 log-file $TMP/nat.log|" "$TMP/d.conf" >"$TMP/d2.conf"
	xcgn config apply "$TMP/d2.conf" >"$TMP/out" 2>&1 || fail "apply of a changed daemon line"
	grep -q "the running daemon keeps its own daemon and cluster statements until it restarts" \
		"$TMP/out" || fail "apply of a changed daemon line said nothing: $(cat "$TMP/out")"
	grep -q "^daemon log-file $TMP/nat.log gc-interval 250$" "$TMP/out" ||
		fail "apply did not show the file's daemon line: $(cat "$TMP/out")"
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	xcgn config show | grep -q "^# no daemon runs" || fail "config show after the daemon stopped"
}

test_config_apply_show_and_reapply() {
	conf a.conf <<EOF2
link inside $DEV_I outside $DEV_O max-mappings 65536 rpf-outside loose
pool $POOL max-blocks 4 udp-timeout 200
bypass 192.0.2.128/25
daemon gc-interval 500 log-file $TMP/nat.log
EOF2
	xcgn config check "$TMP/a.conf" || fail "config check of a good file"
	xcgn config apply "$TMP/a.conf" || fail "config apply"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic after apply"
	xcgn -j pool show | jq -e ".[0] | .max_blocks == 4 and .udp_timeout == 200" >/dev/null ||
		fail "pool not as the file says: $(xcgn -j pool show)"
	assert_eq 1 "$(xcgn -j pool bypass show | jq length)" "bypass prefixes"
	# The same file again: nothing changes, nothing is said.
	before=$(instance_state)
	xcgn config apply "$TMP/a.conf" >"$TMP/out" 2>&1 || fail "second apply"
	assert_eq "" "$(cat "$TMP/out")" "output of the second apply"
	assert_eq "$before" "$(instance_state)" "state after the second apply"
	# show, then apply what it printed: nothing changes.
	xcgn config show >"$TMP/shown.conf"
	cat "$TMP/shown.conf"
	grep -q "^link inside $DEV_I outside $DEV_O" "$TMP/shown.conf" || fail "no link statement"
	xcgn config check "$TMP/shown.conf" || fail "config show is no valid file"
	xcgn -v config apply "$TMP/shown.conf" >"$TMP/out" 2>&1 || fail "apply of config show"
	assert_eq "" "$(cat "$TMP/out")" "steps applying config show's output"
	assert_eq "$before" "$(instance_state)" "state after applying config show"
	# In place while a flow lives: timers, limits, filtering, modes,
	# refusal-icmp (a reload), a bypass swapped, a second pool.
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null
	maps=$(nmaps)
	conf b.conf <<EOF2
link inside $DEV_I outside $DEV_O max-mappings 65536 rpf-outside strict refusal-icmp none
pool $POOL max-blocks 6 udp-timeout 400 filtering address-dependent new-rate 50
pool 198.51.100.64/28
bypass 192.0.2.0/25
EOF2
	xcgn -v config apply "$TMP/b.conf" 2>&1 | tee "$TMP/out"
	grep -q "pool set $POOL" "$TMP/out" || fail "the pool was not changed in place"
	grep -q "pool del" "$TMP/out" && fail "a pool was deleted for a settable change"
	xcgn -j pool show | jq -e '.[0] | .max_blocks == 6 and .udp_timeout == 400 and
		.filtering == "address-dependent" and .new_rate == 50' >/dev/null ||
		fail "pool not changed: $(xcgn -j pool show | jq -c '.[0]')"
	assert_eq 2 "$(xcgn -j pool show | jq length)" "pools after the second file"
	assert_eq "192.0.2.0" "$(xcgn -j pool bypass show | jq -r '.[0].prefix')" "bypass swapped"
	assert_eq none "$(xcgn -j link show | jq -r '.[0].refusal_icmp')" "refusal-icmp in place"
	assert_ge "$(nmaps)" "$maps" "mappings kept through the changes"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic after the changes"
	xcgn config apply "$TMP/b.conf" >"$TMP/out" 2>&1 || fail "b again"
	assert_eq "" "$(cat "$TMP/out")" "b applied twice"
}

test_config_apply_is_all_or_nothing() {
	conf a.conf <<EOF2
link inside $DEV_I outside $DEV_O
pool $POOL
pool 198.51.100.64/28
EOF2
	xcgn config apply "$TMP/a.conf" || fail "config apply"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null
	before=$(instance_state)
	# Settable changes, a new pool, and the removal of a pool in use:
	# the removal fails, so none of it may stay.
	conf b.conf <<EOF2
link inside $DEV_I outside $DEV_O rpf-inside loose
pool 198.51.100.64/28 max-blocks 2
pool 198.51.100.128/28
bypass 192.0.2.0/24
EOF2
	expect_err 1 "in use" config apply "$TMP/b.conf"
	grep -q "not applied; the instance is as it was" "$TMP/err" || fail "no word of the undo"
	assert_eq "$before" "$(instance_state)" "state after a failed apply"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic after a failed apply"
	# A table size needs a re-attach: refused without restart.
	conf c.conf <<EOF2
link inside $DEV_I outside $DEV_O max-subscribers 1024
pool $POOL
pool 198.51.100.64/28
EOF2
	expect_err 1 "max-subscribers 16384 becomes 1024.*restart" config apply "$TMP/c.conf"
	assert_eq "$before" "$(instance_state)" "state after a refused restart"
	xcgn config apply "$TMP/c.conf" restart || fail "apply with restart"
	assert_eq 1024 "$(xcgn -j link show | jq '.[0].max_subscribers')" "re-attached"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic after the restart"
}

test_pool_set_in_place_keeps_flows() {
	attach_default
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null
	maps=$(nmaps)
	xcgn pool set "$POOL" max-blocks 8 tcp-established 8000 || fail "pool set"
	xcgn -j pool show "$POOL" | jq -e '.[0] | .max_blocks == 8 and .tcp_established == 8000' \
		>/dev/null || fail "pool show PREFIX: $(xcgn -j pool show "$POOL")"
	assert_eq "$maps" "$(nmaps)" "mappings after pool set"
	expect_err 2 "cannot change in place" pool set "$POOL" block-size 256
	expect_err 2 "must be 120\.\." pool set "$POOL" udp-timeout 10
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic after pool set"
}

test_cli_conventions() {
	local out rc
	# help on stdout, status 0, for every object
	for ob in link pool subscriber session stats log rpf config daemon monitor; do
		out=$(xcgn "$ob" help) || fail "xcgn $ob help status"
		grep -q "^Usage: xcgn $ob" <<<"$out" || fail "xcgn $ob help not on stdout"
	done
	xcgn help | grep -q "^Usage: xcgn" || fail "xcgn help not on stdout"
	# unknown words: one line, status 2
	rc=0
	xcgn pool frob >"$TMP/out" 2>"$TMP/err" || rc=$?
	assert_eq 2 "$rc" "unknown verb"
	assert_eq 1 "$(wc -l <"$TMP/err")" "lines for an unknown verb"
	grep -q 'unknown command "frob" for pool; try "xcgn pool help"' "$TMP/err" || fail "message"
	expect_err 2 'ambiguous object "s"' s show
	# nothing attached: empty answers
	assert_eq "" "$(xcgn l s)" "xcgn l s with nothing attached"
	assert_eq "[]" "$(xcgn -jp link)" "xcgn -jp link"
	attach_default
	# prefixes, default verb, combined flags
	assert_eq "$DEV_I" "$(xcgn -jp l | jq -r '.[0].inside')" "xcgn -jp l"
	assert_eq "$POOL" "$(xcgn -j po sh | jq -r '.[0] | "\(.prefix)/\(.plen)"')" "xcgn po sh"
	xcgn -j stats | jq -e .counters >/dev/null || fail "xcgn stats shows"
	xcgn -V | grep -q "abi $(xcgn -j link abi | jq .abi)" || fail "-V names the abi"
}

# The unit's own command lines, as systemd would run them (this machine
# has no systemd as init): ExecStartPre checks, ExecStart applies and
# reports READY=1 only once attached and applied, ExecReload applies a
# changed file in place, SIGTERM ends the daemon with status 0 and the
# datapath goes on.
test_service_start_and_reload() {
	local unit=$XCGN_ROOT/dist/xcgn.service.in pre start reload d rc
	conf xcgn.conf <<EOF2
link inside $DEV_I outside $DEV_O
pool $POOL
daemon log-file $TMP/nat.log gc-interval 200
EOF2
	cmd_of() {	# KEY: the unit's command line, on this test's file and binary
		sed -n "s/^$1=//p" "$unit" | sed -e "s|@SBINDIR@/xcgn|$XCGN_BIN|" \
			-e "s|@SYSCONFDIR@/xcgn/xcgn.conf|$TMP/xcgn.conf|"
	}
	pre=$(cmd_of ExecStartPre) start=$(cmd_of ExecStart) reload=$(cmd_of ExecReload)
	# With no capability but the unit's bounding set, as systemd runs it.
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z ' 'a-z,' | sed 's/cap_/+/g')
	start="setpriv --bounding-set -all,$caps -- $start"
	reload="setpriv --bounding-set -all,$caps -- $reload"
	notify_listen "$TMP/notify.sock" "$TMP/notify.got" 15
	# shellcheck disable=SC2086 # the unit's words
	nsenter --net="/run/netns/$NS_NAT" $pre || fail "ExecStartPre: $pre"
	# shellcheck disable=SC2086
	NOTIFY_SOCKET=$TMP/notify.sock nsenter --net="/run/netns/$NS_NAT" $start 2>"$TMP/d.err" &
	d=$!
	BG_PIDS+=("$d")
	wait_until 10 eval 'grep -q "^READY=1" "$TMP/notify.got" 2>/dev/null' || true
	grep -q "^READY=1" "$TMP/notify.got" || fail "no READY=1: $(cat "$TMP/d.err")"
	# Ready means attached and applied.
	assert_eq "$POOL" "$(xcgn -j pool show | jq -r '.[0] | "\(.prefix)/\(.plen)"')" "pool at READY"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic under the service"
	sed -i "s|^pool $POOL|pool $POOL max-blocks 2 udp-timeout 600|" "$TMP/xcgn.conf"
	# shellcheck disable=SC2086
	nsenter --net="/run/netns/$NS_NAT" $reload || fail "ExecReload: $reload"
	xcgn -j pool show | jq -e '.[0] | .max_blocks == 2 and .udp_timeout == 600' >/dev/null ||
		fail "reload did not apply: $(xcgn -j pool show | jq -c '.[0]')"
	assert_eq "running" "$(xcgn -j link show | jq -r '.[0].daemon.state')" "daemon after reload"
	kill -TERM "$d"
	rc=0
	wait "$d" || rc=$?
	assert_eq 0 "$rc" "daemon exit status on SIGTERM"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "forwarding after the service stopped"
	# A broken file: ExecStartPre says where, and ExecStart does not start.
	echo "pool 198.51.100.0/33" >>"$TMP/xcgn.conf"
	rc=0
	# shellcheck disable=SC2086
	nsenter --net="/run/netns/$NS_NAT" $pre 2>"$TMP/err" || rc=$?
	assert_eq 1 "$rc" "ExecStartPre on a broken file"
	grep -q "xcgn.conf:4: invalid pool prefix" "$TMP/err" || fail "line not named: $(cat "$TMP/err")"
	rc=0
	# shellcheck disable=SC2086
	nsenter --net="/run/netns/$NS_NAT" $start 2>"$TMP/err" || rc=$?
	assert_eq 2 "$rc" "ExecStart on a broken file"
	# What is missing is said by name (capabilities are checked, not the uid).
	rc=0
	nsenter --net="/run/netns/$NS_NAT" setpriv --bounding-set -all,+bpf,+perfmon -- \
		"$XCGN_BIN" stats show 2>"$TMP/err" || rc=$?
	assert_eq 1 "$rc" "without CAP_NET_ADMIN"
	grep -q '"stats" needs CAP_NET_ADMIN' "$TMP/err" || fail "$(cat "$TMP/err")"
}

# Filters pick mappings; flush removes them on purpose and the daemon then
# releases the subscriber's blocks with a release record.
test_session_filters_and_flush() {
	attach_default
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 20000 3 "$S1" 7000 >/dev/null
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 2)" 20000 2 "$S1" 7000 >/dev/null
	assert_eq 3 "$(xcgn -j session show subscriber "$(sub_addr 1)" | jq length)" "filter subscriber"
	assert_eq 5 "$(xcgn -j session show proto udp | jq length)" "filter proto"
	assert_eq 0 "$(xcgn -j session show proto tcp | jq length)" "filter proto tcp"
	assert_eq 0 "$(xcgn -j session show state established | jq length)" "filter state"
	xcgn -j session show proto udp | jq -e 'all(.[]; .left_s > 250 and .left_s <= 301)' >/dev/null ||
		fail "time left: $(xcgn -j session show proto udp | jq -c '[.[].left_s]')"
	pub=$(xcgn -j session show subscriber "$(sub_addr 2)" | jq -r '.[0].public_addr')
	assert_ge "$(xcgn -j session show public "$pub" | jq length)" 2 "filter public"
	daemon_for "$XCGN_BIN" 4 log-file "$TMP/nat.log" gc-interval 100 quarantine 1 &
	d=$!
	sleep 0.5
	assert_eq 3 "$(xcgn -j subscriber flush "$(sub_addr 1)" | jq .flushed)" "subscriber flush"
	assert_eq 0 "$(xcgn -j session show subscriber "$(sub_addr 1)" | jq length)" "after the flush"
	assert_eq 2 "$(xcgn -j session show subscriber "$(sub_addr 2)" | jq length)" "others kept"
	wait_until 8 eval 'grep -q "\"event\":\"release\".*\"subscriber\":\"$(sub_addr 1)\"" "$TMP/nat.log" 2>/dev/null' || true
	grep -q "\"event\":\"release\".*\"subscriber\":\"$(sub_addr 1)\"" "$TMP/nat.log" ||
		fail "no release record after the flush: $(cat "$TMP/nat.log")"
	xcgn session flush >/dev/null
	assert_eq 0 "$(nmaps)" "session flush without filter"
	wait "$d" || true
	rc=0
	xcgn session show state sideways 2>/dev/null || rc=$?
	assert_eq 2 "$rc" "bad state filter"
}

# Runtime switches: each takes effect with the next packet, sessions kept,
# and link show says it.
test_link_set_switches_at_once() {
	attach_default filtering address-dependent
	bg "$NS_INET" python3 "$TOOLS/udp_echo.py" "$S1" 7000 "$TMP/seen" 60
	wait_listen "$NS_INET" "$S1:7000" u
	in_sub timeout 10 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 20000 1 "$S1" 7000 >/dev/null
	pub=$(xcgn -j session show proto udp | jq -r '.[0] | "\(.public_addr) \(.public_port)"')
	# From a host the subscriber never sent to: filtered, then, with the
	# switch, let in (the mapping was made address-dependent).
	poke() { in_inet python3 -c "import socket,sys; s=socket.socket(2,2); s.bind(('$S2',0)); s.sendto(b'x',(sys.argv[1],int(sys.argv[2])))" $pub; sleep 0.2; }
	f0=$(drop filtered)
	poke
	assert_eq $((f0 + 1)) "$(drop filtered)" "an outsider filtered"
	xcgn link set filtering endpoint-independent || fail "link set filtering"
	assert_eq endpoint-independent "$(xcgn -j link show | jq -r '.[0].filtering')" "shown"
	d0=$(stat dnat_xdp)
	poke
	assert_eq "$((f0 + 1))" "$(drop filtered)" "filtered with the switch on"
	assert_ge "$(stat dnat_xdp)" $((d0 + 1)) "let in with the switch on"
	xcgn link set filtering pool
	poke
	assert_eq $((f0 + 2)) "$(drop filtered)" "filtered again with the switch off"
	# bypass-all: xcgn steps aside; nothing is translated, the flow's
	# mapping stays, and it works again when the switch is off.
	maps=$(nmaps)
	s0=$(stat snat_xdp)
	xcgn link set bypass-all on
	assert_eq on "$(xcgn -j link show | jq -r '.[0].bypass_all')" "bypass-all shown"
	in_sub timeout 3 ping -q -c 1 -W 1 "$S1" >/dev/null && fail "translated with bypass-all on"
	assert_eq "$s0" "$(stat snat_xdp)" "snat with bypass-all on"
	xcgn link set bypass-all off
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic after bypass-all off"
	assert_ge "$(nmaps)" "$maps" "mappings kept through the switch"
	# Accounting: each subscriber's packets and bytes, while on.
	xcgn link set accounting on
	in_sub timeout 5 ping -q -c 3 -i 0.2 -W 2 "$S1" >/dev/null || fail "ping with accounting"
	xcgn -j subscriber show "$(sub_addr 1)" | jq -e '.[0].accounting |
		.packets_out == 3 and .packets_in == 3 and .bytes_out == 294' >/dev/null ||
		fail "accounting: $(xcgn -j subscriber show "$(sub_addr 1)" | jq -c '.[0].accounting')"
	xcgn link set accounting off
	assert_eq off "$(xcgn -j link show | jq -r '.[0].accounting')" "accounting off again"
	# What cannot change in place is refused, by name.
	expect_err 2 "cannot be set on a running instance" link set max-mappings 1024
	expect_err 2 'invalid bypass-all "maybe" (on or off)' link set bypass-all maybe
}

# drain keeps new subscribers off an address, those on it keep it; exclude
# keeps addresses out of a pool; both show in pool show and config show.
test_pool_drain_and_exclude() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O" || fail "attach"
	xcgn pool add 198.51.100.0/30 exclude 198.51.100.0 max-blocks 1 block-size 4096 \
		ports 4096-65535 || fail "pool add with exclude"
	xcgn -j pool show | jq -e '.[0] | .addresses == 3 and .exclude == ["198.51.100.0/32"]' \
		>/dev/null || fail "pool show: $(xcgn -j pool show | jq -c '.[0]')"
	xcgn config show | grep -q "exclude 198.51.100.0$\|exclude 198.51.100.0 " ||
		fail "config show lacks the exclusion: $(xcgn config show)"
	for i in $(seq 1 12); do
		in_sub timeout 5 ping -q -c 1 -W 2 -I "$(sub_addr "$i")" "$S1" >/dev/null ||
			fail "subscriber $i"
	done
	xcgn -j subscriber show | jq -e 'all(.[]; .public != "198.51.100.0")' >/dev/null ||
		fail "an excluded address handed out: $(xcgn -j subscriber show | jq -c '[.[].public]')"
	first=$(xcgn -j subscriber show "$(sub_addr 1)" | jq -r '.[0].public')
	# Drain every address but one that is not the first subscriber's.
	keep=$(for a in 198.51.100.1 198.51.100.2 198.51.100.3; do
		[ "$a" != "$first" ] && echo "$a"; done | head -1)
	for a in 198.51.100.1 198.51.100.2 198.51.100.3; do
		[ "$a" = "$keep" ] || xcgn pool drain "$a" || fail "drain $a"
	done
	assert_eq 2 "$(xcgn -j pool show | jq '.[0].drained')" "drained addresses"
	in_sub timeout 5 ping -q -c 1 -W 2 -I "$(sub_addr 1)" "$S1" >/dev/null || fail "old subscriber"
	assert_eq "$first" "$(xcgn -j subscriber show "$(sub_addr 1)" | jq -r '.[0].public')" \
		"a subscriber on a drained address keeps it"
	for i in $(seq 20 27); do
		in_sub timeout 5 ping -q -c 1 -W 2 -I "$(sub_addr "$i")" "$S1" >/dev/null ||
			fail "new subscriber $i"
		assert_eq "$keep" "$(xcgn -j subscriber show "$(sub_addr "$i")" | jq -r '.[0].public')" \
			"new subscriber $i on the one address not drained"
	done
	rc=0
	xcgn pool drain 198.51.100.0 2>"$TMP/err" || rc=$?
	assert_eq 1 "$rc" "drain of an excluded address"
	for a in 198.51.100.1 198.51.100.2 198.51.100.3; do
		xcgn pool undrain "$a" || fail "undrain $a"
	done
	assert_eq 0 "$(xcgn -j pool show | jq '.[0].drained')" "undrained"
	rc=0
	xcgn pool set 198.51.100.0/30 exclude 198.51.100.1 2>"$TMP/err" || rc=$?
	assert_eq 2 "$rc" "an exclusion changed in place"
	rc=0
	xcgn pool add 198.51.100.16/28 deterministic 100.64.2.0/28 exclude 198.51.100.17 \
		2>"$TMP/err" || rc=$?
	assert_eq 2 "$rc" "exclude in a deterministic pool"
	grep -q "deterministic pool cannot exclude" "$TMP/err" || fail "$(cat "$TMP/err")"
	xcgn link check >/dev/null || fail "link check with exclusions: $(xcgn link check)"
}

# 65,536 public addresses (from the subscriber-side test range, the only
# one this large): attach sized for them, a /16 pool, and the memory it
# costs as bpftool reports it.
test_max_addresses_65536() {
	xcgn link attach inside "$DEV_I" outside "$DEV_O" subscribers 100.64.0.0/12 \
		max-addresses 65536 || fail "attach with max-addresses 65536"
	xcgn pool add 100.112.0.0/16 || fail "a /16 pool"
	assert_eq 65536 "$(xcgn -j pool show | jq '.[0].addresses')" "addresses"
	assert_eq 65536 "$(xcgn -j link show | jq '.[0].max_addresses')" "max-addresses shown"
	expect_err 1 "max-addresses 65536" pool add 198.51.100.0/30
	mem=$(bpftool -j map show | jq '[.[] | select(.name | test("^xcgn_(paddr|pubidx|blocks|blkts)$")) |
		.bytes_memlock] | add')
	echo "kernel memory of the address tables at 65536 addresses: $((mem / 1048576)) MiB"
	ip -n "$NS_INET" route add 100.112.0.0/16 via "$NAT_OUT"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic through the /16"
	xcgn -j subscriber show | jq -e '.[0].public | startswith("100.112.")' >/dev/null ||
		fail "not on the /16: $(xcgn -j subscriber show | jq -c .)"
}

# Configurations that would break the host are refused unless told force:
# a subscriber range or a pool holding an address of this host.
test_config_that_breaks_the_host_refused() {
	expect_err 1 "refusing to attach" link attach inside "$DEV_I" outside "$DEV_O" \
		subscribers 0.0.0.0/0
	grep -q "this host's address $NAT_OUT (on $DEV_O) lies in the subscriber range" \
		"$TMP/err" || fail "the host's address not named"
	assert_eq "[]" "$(xcgn -j link show)" "nothing attached"
	attach_default
	expect_err 1 "pool 203.0.113.0/28 holds $NAT_OUT, an address of this host (on $DEV_O)" \
		pool add 203.0.113.0/28
	grep -q "exclude $NAT_OUT" "$TMP/err" || fail "the way out not said"
	xcgn pool add 203.0.113.0/28 exclude "$NAT_OUT" || fail "pool with the address excluded"
	xcgn pool del 203.0.113.0/28 || fail "pool del"
	xcgn pool add 203.0.113.0/28 force || fail "pool add force"
	xcgn pool del 203.0.113.0/28 || fail "pool del after force"
	conf host.conf <<EOF2
link inside $DEV_I outside $DEV_O subscribers 0.0.0.0/0
EOF2
	expect_err 1 "host.conf:1: subscribers 0.0.0.0/0 hold 127.0.0.1, an address of this host on lo" \
		config check "$TMP/host.conf"
	conf hostpool.conf <<EOF2
link inside $DEV_I outside $DEV_O
pool 198.51.100.0/28
pool 203.0.113.0/28
EOF2
	expect_err 1 "hostpool.conf:3: pool 203.0.113.0/28 holds $NAT_OUT" config check \
		"$TMP/hostpool.conf"
}
