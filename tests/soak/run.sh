#!/bin/bash
# make soak: SOAK_SECONDS (default an hour) of churn through xcgn with the
# daemon killed at random moments and the programs reloaded, paced TCP
# transfers all along, then every invariant: each observation answered by
# `xcgn log who`, the log's allocations paired with releases or held,
# `xcgn link check` clean, and at rest no mapping and no block left.
# The same scenario as the integration test of twenty rounds (durable_churn
# in tests/integration/test_durable.sh), run long. Not part of `make test`.
set -u
XCGN_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export XCGN_ROOT
# shellcheck source=../../scripts/netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"
# shellcheck source=../integration/lib.sh
. "$XCGN_ROOT/tests/integration/lib.sh"
for f in "$XCGN_ROOT"/tests/integration/test_*.sh; do
	# shellcheck disable=SC1090
	. "$f"
done
[ "$(id -u)" -eq 0 ] || { echo "the soak needs root" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

secs=${SOAK_SECONDS:-3600}
soak() { durable_churn 1000000 "$secs"; }
log=$(mktemp /tmp/xcgn-soak.XXXXXX)
echo "soak: $secs s of churn, kills and reloads; log $log"
start=$(date +%s)
run_isolated "xs$(( $$ % 10000 ))" soak "$log"
rc=$?
tail -n 15 "$log"
if [ $rc -eq 0 ]; then
	echo "soak: 1 passed, 0 failed ($(( $(date +%s) - start )) s)"
else
	echo "soak: 0 passed, 1 failed ($(( $(date +%s) - start )) s)"
fi
exit $rc
