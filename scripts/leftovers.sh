#!/bin/bash
# shellcheck shell=bash
# Every process a run starts carries XCGN_RUN in its environment, so that
# what outlives the run can be found (a daemon that forked, a server kept
# alive in a deleted namespace): `leftovers` lists them, PID and command.
leftovers() {	# [MARK]: processes started under XCGN_RUN=MARK (default: ours)
	local mark=${1:-$XCGN_RUN} e pid
	for e in /proc/[0-9]*/environ; do
		pid=${e#/proc/}
		pid=${pid%/environ}
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
		grep -qxz "XCGN_RUN=$mark" "$e" 2>/dev/null || continue
		echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
	done
}
# End what `leftovers` finds (SIGTERM, then SIGKILL after 2 s); prints what
# it ended. Status 1 if there was anything.
end_leftovers() {	# [MARK]
	local left i
	left=$(leftovers "$@")
	[ -n "$left" ] || return 0
	echo "$left"
	# shellcheck disable=SC2046
	kill $(echo "$left" | awk '{print $1}') 2>/dev/null
	for i in $(seq 1 20); do
		[ -n "$(leftovers "$@")" ] || return 1
		sleep 0.1
	done
	# shellcheck disable=SC2046
	kill -9 $(leftovers "$@" | awk '{print $1}') 2>/dev/null
	return 1
}

