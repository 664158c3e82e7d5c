#!/bin/bash
# The tables of `make bench` from its JSON (scripts/bench-report.jq).
#
#   bench-report.sh FILE                 print them (markdown)
#   bench-report.sh --write FILE README  put them in README's performance
#                                        section, between its markers
#   bench-report.sh --check FILE README  fail if that section is not what
#                                        FILE gives (make test: the README's
#                                        figures come from docs/bench.json,
#                                        never from a hand)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BEGIN='<!-- bench-report: generated from docs/bench.json by scripts/bench-report.sh; do not edit -->'
END='<!-- bench-report end -->'

usage() { echo "usage: bench-report.sh [--write|--check] FILE [README]" >&2; exit 2; }
mode=print
case ${1:-} in
--write | --check) mode=${1#--}; shift; [ $# -eq 2 ] || usage ;;
-*) usage ;;
*) [ $# -eq 1 ] || usage ;;
esac
json=$1
[ -r "$json" ] || { echo "bench-report: cannot read $json" >&2; exit 1; }
tables=$(jq -e '.testrun.ns.pass and .newflows.ns and .forwarding.samples and .sessions.samples
	and .million.samples and .memory.xcgn.map4 and .memory.conntrack and .collector' \
	"$json" >/dev/null 2>&1 && jq -r -f "$HERE/bench-report.jq" "$json") || {
	echo "bench-report: $json is not a bench.json this report reads" >&2
	exit 1
}
[ "$mode" = print ] && { printf '%s\n' "$tables"; exit 0; }

readme=$2
grep -qxF "$BEGIN" "$readme" && grep -qxF "$END" "$readme" || {
	echo "bench-report: $readme has no generated performance section (its markers)" >&2
	exit 1
}
# The README with the lines between the markers replaced by the tables.
new=$(T=$tables awk -v b="$BEGIN" -v e="$END" '
	$0 == b { print; print ENVIRON["T"]; skip = 1; next }
	$0 == e { skip = 0 }
	!skip { print }' "$readme")
if [ "$mode" = write ]; then
	printf '%s\n' "$new" >"$readme"
elif [ "$new" != "$(cat "$readme")" ]; then
	echo "bench-report: $readme's performance section is not what $json gives;" >&2
	echo "  run scripts/bench-report.sh --write $json $readme" >&2
	diff <(printf '%s\n' "$new") "$readme" >&2 || true
	exit 1
fi
