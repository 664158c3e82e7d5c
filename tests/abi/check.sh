#!/bin/bash
# The pinned layout is an ABI: this binary's layout must be the one kept
# for its version in tests/abi/layout-vN.txt. A layout that moves while
# XCGN_ABI_VERSION stays fails here, with the difference shown; each older
# kept version must have its migration in user/datapath/reload.c.
set -euo pipefail
cd "$(dirname "$0")/../.."
XCGN=${XCGN:-build/xcgn}

v=$("$XCGN" -j link abi | jq -r .abi)
kept=tests/abi/layout-v$v.txt
if [ ! -f "$kept" ]; then
	echo "FAIL: no $kept: keep the new version's layout (xcgn link abi layout > $kept)" >&2
	exit 1
fi
if ! diff -u "$kept" <("$XCGN" link abi layout) >&2; then
	echo "FAIL: the pinned layout changed (above) but XCGN_ABI_VERSION is still $v:" \
		"bump it, keep the new layout in tests/abi/, and add the migration from $v" \
		"to user/datapath/reload.c" >&2
	exit 1
fi
n=0
for f in tests/abi/layout-v*.txt; do
	o=${f##*layout-v}
	o=${o%.txt}
	[ "$o" = "$v" ] && continue
	grep -q "\.from = $o," user/datapath/reload.c || {
		echo "FAIL: layout v$o is kept but user/datapath/reload.c has no migration from it" >&2
		exit 1
	}
	n=$((n + 1))
done
# Version 2 predates the kept layouts: its migration is tested live.
grep -q '\.from = 2,' user/datapath/reload.c || { echo "FAIL: no migration from v2" >&2; exit 1; }
echo "abi: layout v$v as kept ($("$XCGN" -j link abi | jq -r .fingerprint)), $n older kept layout(s) with migrations"
