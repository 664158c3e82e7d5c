#!/bin/bash
# shellcheck shell=bash
# A node of a cluster: the routes that say what it offers follow the
# datapath (attach, pool add and del, link set, detach), whatever the
# daemon does; a real BIRD learns them from the kernel and announces them.

routes() {	# TABLE: xcgn's routes in it, one "TYPE DST" a line, sorted
	nsenter --net="/run/netns/$NS_NAT" ip -j route show table "$1" proto 244 |
		jq -r '.[] | "\(.type) \(.dst)"' | sort | tr '\n' ' '
}

test_cluster_routes_follow_the_datapath() {
	expect_err 2 'invalid route-table "254"' link attach inside "$DEV_I" outside "$DEV_O" \
		route-table 254
	expect_err 2 'invalid route-table "x"' link attach inside "$DEV_I" outside "$DEV_O" \
		route-table x
	xcgn link attach inside "$DEV_I" outside "$DEV_O" route-table 100 || fail "attach"
	assert_eq "blackhole default " "$(routes 100)" "routes after attach"
	xcgn pool add "$POOL" || fail "pool add"
	assert_eq "blackhole $POOL blackhole default " "$(routes 100)" "routes after pool add"
	assert_eq 100 "$(xcgn -j link show | jq '.[0].route_table')" "link show route-table"
	xcgn config show | grep -q "route-table 100" || fail "config show lacks route-table"
	# The daemon plays no part: killed, nothing is withdrawn.
	start_daemon
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	assert_eq "blackhole $POOL blackhole default " "$(routes 100)" "routes without daemon"
	xcgn link set route-table 101 || fail "link set route-table"
	assert_eq "" "$(routes 100)" "old table after the move"
	assert_eq "blackhole $POOL blackhole default " "$(routes 101)" "new table after the move"
	xcgn pool del "$POOL" || fail "pool del"
	assert_eq "blackhole default " "$(routes 101)" "routes after pool del"
	xcgn pool add "$POOL" || fail "pool add again"
	xcgn link set route-table none || fail "link set route-table none"
	assert_eq "" "$(routes 101)" "route-table none withdraws"
	xcgn link set route-table 102 || fail "link set route-table 102"
	xcgn link detach || fail "detach"
	assert_eq "" "$(routes 102)" "routes after detach"
}

# A node announces its slice only while its datapath works: with the daemon
# running, the outside device going down withdraws the routes (a routing
# daemon learning the table withdraws them from BGP), coming back up puts
# them back, and an XDP link detached by someone else withdraws them too.
routes_are() { [ "$(routes 100)" = "$1" ]; }

test_cluster_withdraw_when_the_datapath_fails() {
	local t0 want
	xcgn link attach inside "$DEV_I" outside "$DEV_O" route-table 100 || fail "attach"
	xcgn pool add "$POOL" || fail "pool add"
	want="blackhole $POOL blackhole default "
	assert_eq "$want" "$(routes 100)" "routes after pool add"
	start_daemon
	t0=$(date +%s%N)
	in_nat ip link set "$DEV_O" down
	wait_until 5 routes_are "" || fail "the routes stayed with the outside down"
	echo "withdrawn $(( ($(date +%s%N) - t0) / 1000000 )) ms after the outside went down"
	grep -q "routes withdrawn" "$TMP/daemon.err" || fail "the daemon said nothing: $(cat "$TMP/daemon.err")"
	in_nat ip link set "$DEV_O" up
	wait_until 5 routes_are "$want" || fail "the routes did not come back with the outside: $(routes 100)"
	# Someone detaches the inside's XDP link.
	bpftool link detach pinned "$(pin_dir)/link_xdp_inside" || fail "bpftool link detach"
	wait_until 5 routes_are "" || fail "the routes stayed with the XDP link detached"
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" || fail "daemon exit status: $(cat "$TMP/daemon.err")"
}

# make cluster-demo, smaller: three nodes with BIRD, BGP and BFD between
# an access and an upstream router; node 2 fails and comes back. The
# scenario checks what it measures (exit 1 otherwise); here, that every
# one of node 2's subscribers moved and every other flow stayed whole.
cluster_scenario() {	# FAIL_MODE
	P="${P}k" FAIL_MODE=$1 PER_NODE=4 STEADY=2 OUTAGE=3 AFTER=3 \
		bash "$XCGN_ROOT/scripts/cluster-demo.sh" | tee "$TMP/cluster.out" ||
		fail "the cluster scenario failed"
	local last
	last=$(tail -n 1 "$TMP/cluster.out")
	[[ $last =~ ^failover:\ 4\ subscribers\ re-homed\ in\ [0-9.]+\ s,\ 16\ of\ 16\ surviving\ flows\ intact$ ]] ||
		fail "last line: $last"
	grep -q "named the right subscriber (and node) 19 of 19 times" "$TMP/cluster.out" ||
		fail "log who across the nodes"
	grep -q "returned: 4 of 4 subscribers of node 2 back on it" "$TMP/cluster.out" ||
		fail "node 2's subscribers did not return"
}

# Node 2 stops answering, its links up: BFD finds out.
test_cluster_failover_silent() { cluster_scenario silent; }
# Node 2's links go down.
test_cluster_failover_links() { cluster_scenario links; }

test_cluster_bird_config() {
	cat >"$TMP/node.conf" <<EOF2
link inside $DEV_I outside $DEV_O
pool $POOL
cluster node 7 as 64707 table 42
cluster peer 203.0.113.2 as 64700 upstream
cluster bfd off
EOF2
	xcgn cluster bird-config "$TMP/node.conf" >"$TMP/node.bird" || fail "bird-config"
	bird -p -c "$TMP/node.bird" || fail "BIRD refuses what bird-config made"
	grep -q "kernel table 42;" "$TMP/node.bird" || fail "not the node's table"
	grep -q "bfd off;" "$TMP/node.bird" || fail "bfd off not carried"
	cat >"$TMP/plain.conf" <<EOF2
link inside $DEV_I outside $DEV_O
EOF2
	expect_err 1 "has no cluster section" cluster bird-config "$TMP/plain.conf"
	expect_err 1 "nosuch.conf" cluster bird-config "$TMP/nosuch.conf"
	# The node's table is the link's route-table when the file is applied.
	xcgn config apply "$TMP/node.conf" || fail "config apply"
	assert_eq "blackhole $POOL blackhole default " "$(routes 42)" "routes of the applied node"
	xcgn config show | grep -q "route-table 42" || fail "config show lacks the table"
}
