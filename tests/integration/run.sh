#!/bin/bash
# Integration tests: real traffic from real tools through xcgn, in network
# namespaces this script creates (scripts/netns-env.sh). Each test_*
# function runs in its own subshell with a fresh topology and a per-run
# prefix, torn down by a trap whatever happens.
#
#   tests/integration/run.sh [TEST...]     DEBUG=1 opens a shell on failure
set -u
XCGN_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export XCGN_ROOT
# shellcheck source=../../scripts/netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"
# shellcheck source=lib.sh
. "$XCGN_ROOT/tests/integration/lib.sh"
for f in "$XCGN_ROOT"/tests/integration/test_*.sh; do
	# shellcheck disable=SC1090
	. "$f"
done

[ "$(id -u)" -eq 0 ] || { echo "integration tests need root" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

if [ $# -gt 0 ]; then
	tests=("$@")
else
	mapfile -t tests < <(declare -F | awk '{print $3}' | grep '^test_' | grep -v '^test_setup$\|^test_teardown$')
fi

pass=0
failed=0
n=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	log=$(mktemp /tmp/xcgn-itest.XXXXXX)
	start=$(date +%s)
	run_isolated "x$(( $$ % 10000 ))t$n" "$t" "$log"
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		echo "PASS $t (${secs}s)"
		pass=$((pass + 1))
	else
		echo "FAIL $t (${secs}s), last lines:"
		tail -n 25 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
		if [ "${DEBUG:-0}" = 1 ]; then
			echo "log: $log"
		fi
	fi
	[ "${DEBUG:-0}" = 1 ] || rm -f "$log"
done
echo "integration: $pass passed, $failed failed"
[ $failed -eq 0 ]
