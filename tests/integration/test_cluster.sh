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
