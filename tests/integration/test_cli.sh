#!/bin/bash
# shellcheck shell=bash
# The xcgn program: bad input is refused with a clear message and a non-zero
# exit and harms nothing running; detach leaves devices as found; namespaces
# do not see each other.

test_bad_input_is_refused_and_harmless() {
	attach_default
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null
	before=$(nmaps)
	expect_err 1 "already attached" link attach inside "$DEV_I" outside "$DEV_O"
	expect_err 1 "no such device" link attach inside nosuchdev0 outside "$DEV_O"
	expect_err 2 "same device" link attach inside "$DEV_I" outside "$DEV_I"
	expect_err 2 "invalid xdp-mode" link attach inside "$DEV_I" outside "$DEV_O" xdp-mode turbo
	expect_err 2 "needs both" link attach inside "$DEV_I"
	expect_err 1 "overlaps pool" pool add 198.51.100.8/29
	expect_err 2 "overlaps the subscriber range" pool add 100.64.7.0/24
	expect_err 2 "does not divide" pool add 198.51.100.64/28 block-size 1000
	expect_err 2 "invalid pool prefix" pool add 198.51.100.300/28
	expect_err 2 "invalid pool prefix" pool add 198.51.100.1/28
	expect_err 2 "invalid port range" pool add 198.51.100.64/28 ports 1024-70000
	expect_err 2 "invalid port range" pool add 198.51.100.64/28 ports 5000-4000
	expect_err 2 "invalid max-blocks" pool add 198.51.100.64/28 max-blocks 99
	expect_err 1 "no pool" pool del 198.51.100.64/28
	expect_err 1 "in use" pool del "$POOL"
	expect_err 2 "unknown object" frobnicate
	expect_err 2 "unknown command" pool frob
	expect_err 2 "invalid subscriber address" subscriber show 100.64.1
	# JSON errors for machines.
	xcgn -j pool add 1.2.3.4/33 >"$TMP/out" 2>/dev/null && fail "accepted /33"
	jq -e .error "$TMP/out" >/dev/null || fail "no JSON error object"
	# Without privileges.
	rc=0
	nsenter --net="/run/netns/$NS_NAT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$XCGN_BIN" stats show 2>"$TMP/err" || rc=$?
	cat "$TMP/err"
	assert_eq 1 "$rc" "exit status without root"
	grep -q "needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN" "$TMP/err" || fail "no word on privileges"
	# `ip netns exec` hides bpffs: say so, and how to do it instead.
	rc=0
	ip netns exec "$NS_NAT" "$XCGN_BIN" stats show 2>"$TMP/err" || rc=$?
	cat "$TMP/err"
	assert_eq 1 "$rc" "exit status under ip netns exec"
	grep -q "nsenter" "$TMP/err" || fail "no advice to use nsenter"

	# Nothing running was harmed.
	assert_eq "$before" "$(nmaps)" "mappings after the bad commands"
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic after bad input"
	assert_eq 1 "$(xcgn -j pool show | jq length)" "pools"
}

test_detach_leaves_devices_as_found() {
	local before after
	before=$(ip -n "$NS_NAT" -d link show; in_nat tc qdisc show; in_nat tc filter show dev "$DEV_O" egress)
	attach_default
	ip -n "$NS_NAT" link show "$DEV_I" | grep -q xdp || fail "no XDP on the inside device"
	in_nat tc filter show dev "$DEV_O" egress | grep -q xcgn_tc_outside || fail "no tc program"
	dir=$(ls -d /sys/fs/bpf/xcgn/netns-"$(nsenter --net="/run/netns/$NS_NAT" stat -L -c %i /proc/self/ns/net)")
	local abi
	abi=v$("$XCGN_BIN" -j link abi | jq -r .abi)
	[ -e "$dir/$abi/xcgn_map4" ] || fail "maps not pinned under $dir/$abi"
	bpftool map dump pinned "$dir/$abi/xcgn_pools" >"$TMP/pools.dump"
	grep -q '"port_lo": 1024' "$TMP/pools.dump" || fail "bpftool cannot read the pool map"
	xcgn link detach
	after=$(ip -n "$NS_NAT" -d link show; in_nat tc qdisc show; in_nat tc filter show dev "$DEV_O" egress)
	assert_eq "$before" "$after" "devices after detach"
	[ ! -e "$dir" ] || fail "pins left in $dir"
	expect_err 1 "not attached" stats show
	# Attach again works.
	attach_default
	in_sub timeout 5 ping -q -c 1 -W 2 "$S1" >/dev/null || fail "traffic after re-attach"
}

test_namespaces_do_not_share_state() {
	local ns2=${P}two
	ip netns add "$ns2"
	trap 'ip netns del '"$ns2"' 2>/dev/null; test_teardown' EXIT
	ip -n "$ns2" link add "${P}a" type veth peer name "${P}b"
	ip -n "$ns2" link set "${P}a" up
	ip -n "$ns2" link set "${P}b" up
	ip netns exec "$ns2" sysctl -qw net.ipv4.conf.all.forwarding=1
	x2() { nsenter --net="/run/netns/$ns2" "$XCGN_BIN" "$@"; }
	attach_default
	# Nothing routes subscribers into ${P}a there: the lint refuses,
	# `force` goes ahead.
	x2 link attach inside "${P}a" outside "${P}b" 2>"$TMP/lint.err" && fail "attach despite lint errors"
	grep -q "subscribers_not_inside" "$TMP/lint.err" || fail "lint finding missing: $(cat "$TMP/lint.err")"
	x2 link attach inside "${P}a" outside "${P}b" force 2>/dev/null
	x2 pool add 198.51.100.128/28 block-size 256
	assert_eq "198.51.100.0" "$(xcgn -j pool show | jq -r '.[0].prefix')" "first instance's pool"
	assert_eq "198.51.100.128" "$(x2 -j pool show | jq -r '.[0].prefix')" "second instance's pool"
	assert_eq 1 "$(x2 -j pool show | jq length)" "second instance sees one pool"
	x2 link detach
	assert_eq 1 "$(xcgn -j pool show | jq length)" "first instance unaffected"
}

# The host's own traffic leaves the outside device untouched: tc egress
# looks only at subscriber sources, whatever the skb looks like (large
# TSO/GSO segments keep their payload outside the linear head).
test_host_traffic_unharmed() {
	attach_default
	head -c 3000000 /dev/urandom >"$TMP/host.up"
	ip netns exec "$NS_INET" timeout 30 socat -u TCP4-LISTEN:9100,bind="$S1",reuseaddr \
		OPEN:"$TMP/host.got",creat,trunc &
	BG_PIDS+=($!)
	wait_listen "$NS_INET" "$S1:9100" t
	in_nat ethtool -K "$DEV_O" tso on gso on >/dev/null 2>&1 || true
	in_nat timeout 20 socat -u OPEN:"$TMP/host.up" "TCP4:$S1:9100" || fail "host upload failed"
	wait_until 10 cmp -s "$TMP/host.up" "$TMP/host.got" || true
	cmp "$TMP/host.up" "$TMP/host.got" || fail "host upload differs"
	assert_eq 0 "$(xcgn -j stats show | jq .drops_total)" "drops"
}
