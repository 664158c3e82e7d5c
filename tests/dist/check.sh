#!/bin/bash
# What ships beside the binary: the man pages render without a warning and
# agree with `xcgn OBJECT help` both ways; the bash completion offers every
# command of every object; the unit passes systemd-analyze verify and its
# start and reload command lines are ones xcgn accepts; make install puts
# every file in place; the example configuration reads.
set -euo pipefail
cd "$(dirname "$0")/../.."
XCGN=$PWD/build/xcgn
TMP=$(mktemp -d /tmp/xcgn-dist.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
errors=0
fail() { echo "FAIL: $*" >&2; errors=$((errors + 1)); }

OBJECTS="link pool subscriber session stats log rpf config daemon monitor cluster forward"

# ---- man pages render cleanly ------------------------------------------------
for page in man/xcgn.8 man/xcgn.conf.5 man/xcgn-natlog.5; do
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >"$TMP/$(basename "$page").txt" \
		2>"$TMP/warn" || fail "man -l $page failed"
	[ ! -s "$TMP/warn" ] || fail "man -l $page warns: $(cat "$TMP/warn")"
done
sed 's/.\x08//g' "$TMP/xcgn.8.txt" >"$TMP/man8"

# ---- the pages and the help agree ---------------------------------------------
# Every keyword of every usage line is in xcgn(8); every "xcgn OBJECT VERB"
# of xcgn(8) is in that object's help.
for ob in $OBJECTS; do
	"$XCGN" "$ob" help >"$TMP/help.$ob" || fail "xcgn $ob help exits non-zero"
	# the usage block: "Usage:" and the lines indented under it
	awk '/^Usage:/ {u=1} u && !/^(Usage:| )/ {exit} u' "$TMP/help.$ob" >"$TMP/usage.$ob"
	[ -s "$TMP/usage.$ob" ] || fail "xcgn $ob help has no usage block"
	for kw in $(sed 's/^Usage://' "$TMP/usage.$ob" | grep -o '[a-z][a-z0-9-]*[a-z0-9]' | sort -u); do
		[ "$kw" = xcgn ] && continue
		grep -qw -- "$kw" "$TMP/man8" || fail "\"$kw\" (xcgn $ob help) is not in xcgn(8)"
	done
done
grep -o 'xcgn [a-z]\+ [a-z]\+' "$TMP/man8" | sort -u | while read -r _ ob verb; do
	case " $OBJECTS " in *" $ob "*) ;; *) continue ;; esac
	case $ob in daemon | monitor) continue ;; esac
	grep -q "xcgn $ob $verb" "$TMP/help.$ob" ||
		echo "\"xcgn $ob $verb\" (xcgn(8)) is not in xcgn $ob help" >>"$TMP/missing"
done
[ ! -s "$TMP/missing" ] || fail "$(cat "$TMP/missing")"
# Every configuration statement of xcgn.conf(5) is one config check knows.
for st in link pool bypass forward daemon; do
	grep -q "^ *$st" "$TMP/xcgn.conf.5.txt" || fail "xcgn.conf(5) lacks the $st statement"
done

# ---- xcgn(8)'s COUNTERS: the one list's -------------------------------------------
XCGN="$XCGN" scripts/man-counters.sh --check man/xcgn.8 || fail "xcgn(8)'s COUNTERS section"

# ---- xcgn-natlog(5)'s samples and example ---------------------------------------
# Each sample line is JSON (the unit tests hold them to the formatter), and
# the page's `log who` example, run on its first alloc and release, names
# the subscriber between them and nobody after the release.
grep '^{"time"' man/xcgn-natlog.5 >"$TMP/samples"
[ "$(wc -l <"$TMP/samples")" -ge 10 ] || fail "xcgn-natlog(5) has few sample lines"
jq -e . "$TMP/samples" >/dev/null || fail "a sample line of xcgn-natlog(5) is not JSON"
jq -c 'select((.event == "alloc" or .event == "release") and .node == null and
	.recovered == null and .reason == null)' "$TMP/samples" >"$TMP/nat.log"
example=$(grep '^xcgn log who [0-9.:]* at ' man/xcgn-natlog.5)
[ -n "$example" ] || fail "xcgn-natlog(5) has no log who example"
# shellcheck disable=SC2086 # the example's words
out=$("$XCGN" ${example#xcgn } file "$TMP/nat.log") || fail "$example: exit $?: $out"
echo "$out" | grep -q "held by 100.64.12.34 (block 39936-40447" || fail "$example: $out"
release=$(jq -r 'select(.event == "release") | .time' "$TMP/nat.log")
rc=0
"$XCGN" log who 198.51.100.7:40123 at "$release" file "$TMP/nat.log" >"$TMP/who" 2>&1 || rc=$?
[ $rc = 1 ] || fail "log who at the release ($release), a time as the log writes it:" \
	"exit $rc (1: nobody), $(cat "$TMP/who")"

# ---- bash completion ---------------------------------------------------------
complete_words() {	# words of the command line, the last one being completed
	bash -c '
		source dist/xcgn.bash-completion
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		xcgn() { :; }	# the pools come from a running xcgn; none here
		_xcgn
		printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
[ "$(complete_words xcgn "" | sort | tr '\n' ' ')" = \
	"$(printf '%s\n' $OBJECTS help | sort | tr '\n' ' ')" ] || fail "completion of objects"
for ob in $OBJECTS; do
	case $ob in daemon | monitor) continue ;; esac
	want=$(sed -n "s/^ *\(Usage:\)\? *xcgn $ob \([a-z][a-z-]*\).*/\2/p" "$TMP/help.$ob" | sort -u)
	got=$(complete_words xcgn "$ob" "" | sort -u)
	for v in $want; do
		grep -qx "$v" <<<"$got" || fail "completion of \"xcgn $ob\" lacks $v"
	done
done
# grep reads all (no -q): under pipefail an early exit would SIGPIPE the writer.
complete_words xcgn link attach inside "" | grep -x lo >/dev/null || fail "completion of devices"
complete_words xcgn pool add 198.51.100.0/28 f | grep -x filtering >/dev/null || fail "pool keywords"
complete_words xcgn link attach rpf-inside "" | grep -x strict >/dev/null || fail "rpf modes"
# Objects and verbs by their unique prefixes, as xcgn takes them.
complete_words xcgn co ap "" | grep -x dry-run >/dev/null || fail "completion after \"xcgn co ap\""
complete_words xcgn p a 198.51.100.0/28 block | grep -x block-size >/dev/null ||
	fail "completion after \"xcgn p a\""
complete_words xcgn li se "" | grep -x mss-clamp >/dev/null || fail "completion after \"xcgn li se\""

# ---- make install and the unit -----------------------------------------------
make --no-print-directory install DESTDIR="$TMP/root" PREFIX=/usr SYSCONFDIR=/etc \
	UNITDIR=/lib/systemd/system >/dev/null || fail "make install"
for f in usr/sbin/xcgn usr/share/man/man8/xcgn.8 usr/share/man/man5/xcgn.conf.5 \
	usr/share/man/man5/xcgn-natlog.5 \
	lib/systemd/system/xcgn.service usr/share/bash-completion/completions/xcgn \
	usr/share/doc/xcgn/examples/xcgn.conf; do
	[ -f "$TMP/root/$f" ] || fail "make install did not install /$f"
done
unit=$TMP/root/lib/systemd/system/xcgn.service
# systemd-analyze wants the executables where the unit says: point it at
# the installed tree.
sed "s|/usr/sbin/xcgn|$TMP/root/usr/sbin/xcgn|g" "$unit" >"$TMP/xcgn.service"
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$TMP/xcgn.service" >"$TMP/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$TMP/verify")"
grep -v "^$" "$TMP/verify" | grep -iv "Failed to open /dev/tty\|ignoring" >&2 || true
grep -q "^Type=notify$" "$unit" || fail "the unit is not Type=notify"
grep -q "^CapabilityBoundingSet=.*CAP_BPF.*CAP_NET_ADMIN" "$unit" || fail "no capability bound"
# The unit's command lines are ones xcgn takes (run with --help-like check:
# config check of the example, which reads it through the same path).
for key in ExecStartPre ExecStart ExecReload; do
	line=$(sed -n "s/^$key=//p" "$unit")
	[ -n "$line" ] || fail "the unit has no $key"
	set -- $line
	[ "$1" = /usr/sbin/xcgn ] || fail "$key runs $1"
done
# The example configuration reads (its devices need not exist here).
bad=$("$XCGN" config check dist/xcgn.conf.example 2>&1 | grep -v 'device "eth[01]" does not exist' || true)
[ -z "$bad" ] || fail "the example configuration: $bad"

if [ "$errors" -gt 0 ]; then
	echo "dist: $errors problem(s)" >&2
	exit 1
fi
echo "dist: man pages, help, completion, unit and install agree"
