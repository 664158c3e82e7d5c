#!/bin/bash
# The one runner of the namespace suites: real traffic from real tools
# through xcgn, in network namespaces it creates (scripts/netns-env.sh).
# Each test function runs in its own subshell with a fresh topology and a
# per-run prefix, torn down by a trap whatever happens.
#
#   tests/run.sh integration [TEST...]
#   tests/run.sh conformance [RESULTS_FILE] [REQ-ID...]
#
# Integration runs the test_* functions of tests/integration/ (or those
# named). Conformance runs one test per requirement of RFC 4787, 5382,
# 5508 and 6888 listed in tests/conformance/requirements.tsv, and writes
# one line per requirement to RESULTS_FILE (default build/conformance.tsv):
# id, level, summary, status, note; docs/conformance.md's table is generated from
# it (tests/conformance/table.sh).
#
# Each test ends PASS, FAIL, or SKIP: a test that cannot run here says why
# with `skip REASON` (exit 77), and the runner prints the reason. A skip is
# not a pass: the run fails with any, unless XCGN_ALLOW_SKIP=1. DEBUG=1
# keeps the logs.
set -u
XCGN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export XCGN_ROOT
# shellcheck source=../scripts/netns-env.sh
. "$XCGN_ROOT/scripts/netns-env.sh"
# shellcheck source=integration/lib.sh
. "$XCGN_ROOT/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "the namespace suites need root" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

suite=${1:-}
shift || true
case "$suite" in
integration)
	for f in "$XCGN_ROOT"/tests/integration/test_*.sh; do
		# shellcheck disable=SC1090
		. "$f"
	done ;;
conformance)
	# shellcheck source=conformance/lib.sh
	. "$XCGN_ROOT/tests/conformance/lib.sh"
	for f in "$XCGN_ROOT"/tests/conformance/rfc*.sh; do
		# shellcheck disable=SC1090
		. "$f"
	done ;;
*)
	echo "usage: tests/run.sh integration [TEST...] | conformance [RESULTS_FILE] [REQ-ID...]" >&2
	exit 2 ;;
esac

pass=0
failed=0
skipped=0
n=0
VERDICT=""	# of the last run_one: PASS, FAIL or SKIP

# Run test function FN, announced as LABEL; sets VERDICT.
run_one() {	# LABEL FN
	local label=$1 fn=$2 log start rc secs why mark left
	n=$((n + 1))
	log=$(mktemp /tmp/xcgn-test.XXXXXX)
	start=$(date +%s)
	mark="${suite:0:1}$(( $$ % 10000 ))t$n"
	run_isolated "$mark" "$fn" "$log"
	rc=$?
	secs=$(( $(date +%s) - start ))
	# Nothing the test started may outlive it.
	if ! left=$(end_leftovers "$mark"); then
		echo "FAIL: processes the test started outlived it (ended now): $(echo "$left" | tr '\n' ';')" >>"$log"
		[ $rc -eq 0 ] && rc=1
	fi
	if [ $rc -eq 0 ]; then
		VERDICT=PASS
		echo "PASS $label (${secs}s)"
		pass=$((pass + 1))
	elif [ $rc -eq "$SKIP_RC" ]; then
		VERDICT=SKIP
		why=$(sed -n 's/^SKIP: //p' "$log" | tail -n 1)
		echo "SKIP $label (${secs}s): ${why:-no reason given}"
		skipped=$((skipped + 1))
	else
		VERDICT=FAIL
		# The assertion's message, else the command that ended it (the
		# last one the errexit trap saw, the others were within it).
		why=$(grep -m 1 '^FAIL: ' "$log" | cut -c 7-)
		[ -n "$why" ] || why=$(grep '^FAILED COMMAND: ' "$log" | tail -n 1 | cut -c 17-)
		echo "FAIL $label (${secs}s): ${why:-exit status $rc, no assertion said why}"
		echo "    last lines:"
		tail -n 25 "$log" | sed 's/^/    /'
		FAILED_NAMES+=("$label: ${why:-exit status $rc}")
		failed=$((failed + 1))
	fi
	if [ "${DEBUG:-0}" = 1 ]; then
		echo "    log: $log"
	else
		rm -f "$log"
	fi
}

run_integration() {
	local tests t
	if [ $# -gt 0 ]; then
		tests=("$@")
	else
		mapfile -t tests < <(declare -F | awk '{print $3}' | grep '^test_' |
			grep -v '^test_setup$\|^test_teardown$')
	fi
	for t in "${tests[@]}"; do
		run_one "$t" "$t"
	done
}

run_conformance() {
	local results=${1:-$XCGN_ROOT/build/conformance.tsv} id level summary verdict kind rest
	local fn note status
	local -A ran	# function -> verdict: sub-items share their parent's test
	shift || true
	local only=("$@")
	mkdir -p "$(dirname "$results")"
	: >"$results"
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
		if [ -z "${ran[$fn]:-}" ]; then
			run_one "$id $fn" "$fn" </dev/null
			ran[$fn]=$VERDICT
		fi
		case "${ran[$fn]}" in
		PASS)
			status=met
			[ "$kind" = option ] && status="met with option" ;;
		SKIP)
			status=SKIPPED
			note="$fn was skipped" ;;
		*)
			status=FAILING
			note="$fn fails" ;;
		esac
		printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$level" "$summary" "$status" "$note" >>"$results"
	done <"$XCGN_ROOT/tests/conformance/requirements.tsv"
}

FAILED_NAMES=()
"run_$suite" "$@"
for f in "${FAILED_NAMES[@]}"; do
	echo "failed: $f"
done
echo "$suite: $pass passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] || exit 1
if [ $skipped -gt 0 ] && [ "${XCGN_ALLOW_SKIP:-0}" != 1 ]; then
	echo "$suite: a skipped test is not a passed one (XCGN_ALLOW_SKIP=1 accepts them)" >&2
	exit 1
fi
