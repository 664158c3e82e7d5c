#!/bin/bash
# `make bench`'s NAT log figures: `xcgn log who` against a log of RECORDS
# records (10,000,000 unless told: half a year of a busy /26), from the
# index and, as the reference in the same run, by reading every record
# (`index none`). One question, and a batch of 1,000; the index's build
# and size. The index's answers must be the scan's, every one, or the
# figures mean nothing: checked here.
#
#   RUNS=N      samples a figure (5)
#   RECORDS=N   records in the log
#   JSON=FILE   where the figures go (standard output)
set -euo pipefail
XCGN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
XCGN=$XCGN_ROOT/build/xcgn
BENCH=$XCGN_ROOT/build/xcgn-bench
RUNS=${RUNS:-5}
RECORDS=${RECORDS:-10000000}
JSON=${JSON:-/dev/stdout}
say() { echo "bench-logwho: $*" >&2; }
fail() { echo "bench-logwho: FAIL: $*" >&2; exit 1; }

d=$(mktemp -d /tmp/xcgn-bench-log.XXXXXX)
trap 'rm -rf "$d"' EXIT
say "a log of $RECORDS records and 1,000 questions"
"$BENCH" natlog "$RECORDS" "$d/nat.log" questions 1000 >"$d/q1000"
head -1 "$d/q1000" >"$d/q1"
read -r q1 t1 <"$d/q1"

# Wall milliseconds of a command (its output to $d/out; exit 1, nobody
# held it, is an answer too).
ms() {
	local t0 rc=0
	t0=$(date +%s%N)
	"$@" >"$d/out" 2>"$d/err" || rc=$?
	[ $rc -le 1 ] || fail "$*: exit $rc: $(cat "$d/err")"
	echo $((($(date +%s%N) - t0) / 1000000))
}

say "building the index"
build=$(ms "$XCGN" log index file "$d/nat.log" index "$d/index.sqlite")
n=$(sqlite3 "$d/index.sqlite" 'SELECT count(*) FROM rec')
[ "$n" = "$RECORDS" ] || fail "the index holds $n records of $RECORDS"
bytes=$(stat -c %s "$d/index.sqlite")

one=() batch=()
for _ in $(seq 1 "$RUNS"); do
	one+=("$(ms "$XCGN" log who "$q1" at "$t1" file "$d/nat.log" index "$d/index.sqlite")")
	batch+=("$(ms sh -c "'$XCGN' log who batch file '$d/nat.log' index '$d/index.sqlite' <'$d/q1000'")")
done
cp "$d/out" "$d/answers.index"
say "the reference: reading every record"
scan_one=$(ms "$XCGN" log who "$q1" at "$t1" file "$d/nat.log" index none)
scan_batch=$(ms sh -c "'$XCGN' log who batch file '$d/nat.log' index none <'$d/q1000'")
cmp -s "$d/out" "$d/answers.index" ||
	fail "the index's answers are not the scan's: $(diff "$d/answers.index" "$d/out" | head -5)"
held=$(grep -vc nobody "$d/answers.index" || true)

jq -n --argjson records "$RECORDS" --argjson bytes "$bytes" --argjson build "$build" \
	--argjson held "$held" --argjson scan_one "$scan_one" --argjson scan_batch "$scan_batch" \
	--arg one "${one[*]}" --arg batch "${batch[*]}" '{
	records: $records, index_bytes: $bytes, build_ms: $build, answered: $held,
	one_ms: ($one | split(" ") | map(tonumber)), batch_ms: ($batch | split(" ") | map(tonumber)),
	scan_one_ms: $scan_one, scan_batch_ms: $scan_batch
}' >"$JSON"
say "index: built in ${build} ms, $bytes bytes; one question ${one[*]} ms; 1,000 ${batch[*]} ms;" \
	"reading every record: $scan_one ms and $scan_batch ms"
