#!/bin/bash
# xcgn(8)'s COUNTERS section, made from `xcgn stats describe` (the one list
# in include/xcgn_counters.h), between its markers.
#
#   man-counters.sh --write MANPAGE   rewrite the section
#   man-counters.sh --check MANPAGE   fail if it is not what the list gives
set -euo pipefail
XCGN=${XCGN:-$(dirname "$0")/../build/xcgn}
BEGIN='.\" counters: generated from `xcgn stats describe` by scripts/man-counters.sh; do not edit'
END='.\" counters end'
mode=${1:-}
page=${2:-}
case $mode in --write | --check) [ -n "$page" ] ;; *) false ;; esac ||
	{ echo "usage: man-counters.sh { --write | --check } MANPAGE" >&2; exit 2; }

section() {
	echo "$BEGIN"
	echo ".SH COUNTERS"
	echo "What"
	echo ".B xcgn stats show"
	echo "counts (and"
	echo ".B xcgn stats describe"
	echo "says), from one list: Prometheus exports each counter as"
	echo ".BI xcgn_ NAME _total"
	echo "and the drops as"
	echo ".B xcgn_drops_total"
	echo "with"
	echo ".BI reason= NAME ."
	# roff: backslashes doubled, a leading dot or quote escaped.
	"$XCGN" -j stats describe | jq -r '
		def roff: gsub("\\\\"; "\\e") | if test("^[.'\'']") then "\\&" + . else . end;
		(.[] | select(.kind == "counter")) as $c | ".TP\n.B \($c.name)\n\($c.help | roff)"' |
		sed '1i .SS Counters'
	"$XCGN" -j stats describe | jq -r '
		def roff: gsub("\\\\"; "\\e") | if test("^[.'\'']") then "\\&" + . else . end;
		(.[] | select(.kind == "drop")) as $c | ".TP\n.B \($c.name)\n\($c.help | roff)"' |
		sed '1i .SS Drop reasons'
	echo "$END"
}

# (ENVIRON: awk -v would take the markers' backslashes for escapes)
new=$(B=$BEGIN E=$END SEC=$(section) awk '
	$0 == ENVIRON["B"] {print ENVIRON["SEC"]; skip = 1; found = 1; next}
	$0 == ENVIRON["E"] {skip = 0; next}
	!skip {print}
	END {if (!found) exit 3}' "$page") || {
	echo "man-counters: $page has no counters section (its markers)" >&2
	exit 1
}
if [ "$mode" = --write ]; then
	printf '%s\n' "$new" >"$page"
elif ! diff -u "$page" <(printf '%s\n' "$new") >&2; then
	echo "man-counters: $page's COUNTERS section is not what xcgn stats describe gives;" \
		"make man-counters rewrites it" >&2
	exit 1
fi
