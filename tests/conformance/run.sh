#!/bin/bash
# The conformance suite: one test per requirement of RFC 4787 (UDP), 5382
# (TCP), 5508 (ICMP) and 6888 (CGN), listed in requirements.tsv with the
# test that shows it, or why it does not apply or is not met. Each test
# runs in its own fresh topology (scripts/netns-env.sh), like the
# integration tests, with real tools and scapy for crafted packets.
#
#   tests/conformance/run.sh [RESULTS_FILE] [REQ-ID...]
#
# Writes one line per requirement to RESULTS_FILE (default
# build/conformance.tsv): id, level, summary, status, note. The README's
# table is generated from it (tests/conformance/table.sh).
set -u
XCGN_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export XCGN_ROOT
# shellcheck source=../../scripts/netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"
# shellcheck source=../integration/lib.sh
. "$XCGN_ROOT/tests/integration/lib.sh"
# shellcheck source=lib.sh
. "$XCGN_ROOT/tests/conformance/lib.sh"
for f in "$XCGN_ROOT"/tests/conformance/rfc*.sh; do
	# shellcheck disable=SC1090
	. "$f"
done

[ "$(id -u)" -eq 0 ] || { echo "conformance tests need root" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

results=${1:-$XCGN_ROOT/build/conformance.tsv}
shift || true
only=("$@")
mkdir -p "$(dirname "$results")"
: >"$results"

pass=0
failed=0
n=0
declare -A ran	# function -> exit status: sub-items share their parent's test
while IFS=$'\t' read -r id level summary verdict; do
	case "$id" in ''|'#'*) continue ;; esac
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $id "* ]]; then
		continue
	fi
	kind=${verdict%% *}
	rest=${verdict#* }
	case "$kind" in
	na)
		printf '%s\t%s\t%s\tnot applicable\t%s\n' "$id" "$level" "$summary" "$rest" >>"$results"
		continue ;;
	notmet)
		printf '%s\t%s\t%s\tnot met\t%s\n' "$id" "$level" "$summary" "$rest" >>"$results"
		continue ;;
	test|option) ;;
	*)
		echo "conformance: $id: bad verdict '$verdict'" >&2
		exit 2 ;;
	esac
	fn=${rest%% *}
	note=""
	[ "$fn" != "$rest" ] && note=${rest#* }
	if [ -n "${ran[$fn]:-}" ]; then
		rc=${ran[$fn]}
		if [ "$rc" -eq 0 ]; then
			status=met
			[ "$kind" = option ] && status="met with option"
		else
			status=FAILING
			note="$fn fails"
		fi
		printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$level" "$summary" "$status" "$note" >>"$results"
		continue
	fi
	n=$((n + 1))
	log=$(mktemp /tmp/xcgn-ctest.XXXXXX)
	start=$(date +%s)
	run_isolated "c$(( $$ % 10000 ))t$n" "$fn" "$log"
	rc=$?
	ran[$fn]=$rc
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		echo "PASS $id $fn (${secs}s)"
		pass=$((pass + 1))
		status=met
		[ "$kind" = option ] && status="met with option"
	else
		echo "FAIL $id $fn (${secs}s), last lines:"
		tail -n 25 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
		status="FAILING"
		note="$fn fails"
	fi
	[ "${DEBUG:-0}" = 1 ] && echo "log: $log" || rm -f "$log"
	printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$level" "$summary" "$status" "$note" >>"$results"
done <"$XCGN_ROOT/tests/conformance/requirements.tsv"
echo "conformance: $pass passed, $failed failed"
[ $failed -eq 0 ]
