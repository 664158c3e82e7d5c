#!/bin/bash
# shellcheck shell=bash
# The README's and xcgn(8)'s commands, run as written, in a namespace of
# this test's: its devices for eth1 and eth0, its directory for /etc/xcgn
# and /var/log/xcgn, and for systemctl the unit's own command lines
# (dist/xcgn.service.in: ExecStartPre, ExecStart, ExecReload), since no
# systemd runs here. Every command must run: exit 0, or 1 where the answer
# is "nobody" (log who); never a usage error.

# The README's or a man page's words, made this test's.
docs_local() {
	sed -e "s|\beth1\b|$DEV_I|g" -e "s|\beth0\b|$DEV_O|g" -e "s|/etc/xcgn/|$TMP/etc/|g" \
		-e "s|/var/log/xcgn/|$TMP/log/|g" -e 's|^sudo ||' -e 's| *# .*$||'
}

# Run one documented command line; $1 the exit statuses it may have.
docs_run() {	# OK_STATUSES LINE
	local ok=$1 line=$2 rc=0
	local -a argv
	eval "argv=($line)"	# its own quoting, as a shell would read it
	case ${argv[0]} in
	xcgn) xcgn "${argv[@]:1}" </dev/null >"$TMP/doc.out" 2>"$TMP/doc.err" || rc=$? ;;
	curl) in_nat "${argv[@]}" </dev/null >"$TMP/doc.out" 2>"$TMP/doc.err" || rc=$? ;;
	*) fail "not a command this test runs: $line" ;;
	esac
	case " $ok " in *" $rc "*) ;; *) fail "\`$line\` exited $rc: $(cat "$TMP/doc.err")" ;; esac
	echo "docs: ran \`$line\` ($rc)" >>"$TMP/docs.ran"
}

# The unit's command line KEY (ExecStart...), for this test.
unit_line() {
	sed -n "s|^$1=@SBINDIR@/||p" "$XCGN_ROOT/dist/xcgn.service.in" |
		sed "s|@SYSCONFDIR@/xcgn/|$TMP/etc/|"
}

test_readme_and_man_examples_run() {
	local line
	mkdir -p "$TMP/etc" "$TMP/log"
	# Configure: the README's file, as written.
	awk '/^## Configure/ {c = 1} c && /^```$/ {if (f) exit; f = 1; next} f' "$XCGN_ROOT/README.md" |
		docs_local >"$TMP/etc/xcgn.conf"
	grep -q "^link inside $DEV_I outside $DEV_O" "$TMP/etc/xcgn.conf" ||
		fail "the README's configuration: $(cat "$TMP/etc/xcgn.conf")"
	# Its commands, and `systemctl enable --now xcgn` as the unit does it.
	awk '/^## Configure/ {c = 1} /^## Verify/ {c = 0} c && /^```sh$/ {f = 1; next} f && /^```$/ {f = 0} f' \
		"$XCGN_ROOT/README.md" | docs_local >"$TMP/configure.sh"
	grep -q "systemctl enable --now xcgn" "$TMP/configure.sh" || fail "the README starts no service"
	while read -r line; do
		case $line in
		xcgn\ config\ *) docs_run 0 "$line $TMP/etc/xcgn.conf" ;;	# the default file, here
		systemctl\ enable\ --now\ xcgn)
			docs_run 0 "$(unit_line ExecStartPre)"
			read -ra argv <<<"$(unit_line ExecStart)"
			[ "${argv[1]}" = daemon ] || fail "the unit starts no daemon: ${argv[*]}"
			daemon_start "${argv[@]:2}" || fail "the unit's ExecStart: $(cat "$TMP/daemon.err")"
			wait_until 10 xcgn link show >/dev/null || fail "not attached by the unit's ExecStart"
			;;
		*) fail "a README command this test does not know: $line" ;;
		esac
	done <"$TMP/configure.sh"
	wait_until 10 in_nat curl -sf http://127.0.0.1:9800/metrics -o /dev/null ||
		fail "the README's metrics address does not answer"
	# Verify: every command of its block.
	awk '/^## Verify/ {c = 1} c && /^```sh$/ {f = 1; next} f && /^```$/ {exit} f' "$XCGN_ROOT/README.md" |
		docs_local >"$TMP/verify.sh"
	[ "$(grep -c '^xcgn ' "$TMP/verify.sh")" -ge 5 ] || fail "the README's checks: $(cat "$TMP/verify.sh")"
	while read -r line; do
		case $line in
		xcgn\ log\ who\ *) docs_run "0 1" "$line file $TMP/log/nat.log" ;;
		xcgn\ *) docs_run 0 "$line" ;;
		curl\ *) docs_run 0 "${line%%|*}"; grep -q '^xcgn_' "$TMP/doc.out" || fail "no xcgn_ metric" ;;
		journalctl\ *) ;;	# the journal: no systemd here (the unit's JOURNAL_STREAM is unit-tested)
		*) fail "a README command this test does not know: $line" ;;
		esac
	done <"$TMP/verify.sh"
	# xcgn(8)'s EXAMPLES, on a fresh instance.
	xcgn link detach >/dev/null || fail "detach"
	sed -n '/^\.SH EXAMPLES/,/^\.SH/p' "$XCGN_ROOT/man/xcgn.8" | sed -e '/^\./d' -e 's/\\-/-/g' |
		docs_local >"$TMP/examples.sh"
	[ "$(grep -c . "$TMP/examples.sh")" -ge 5 ] || fail "xcgn(8)'s examples: $(cat "$TMP/examples.sh")"
	while read -r line; do
		case $line in
		xcgn\ log\ who\ *) docs_run "0 1" "$line file $TMP/log/nat.log" ;;
		*\>*) docs_run 0 "${line%%>*}"; cp "$TMP/doc.out" "${line##*> }" ;;
		xcgn\ *) docs_run 0 "$line" ;;
		systemctl\ reload\ xcgn) docs_run 0 "$(unit_line ExecReload)" ;;
		*) fail "an example this test does not know: $line" ;;
		esac
	done <"$TMP/examples.sh"
	grep -q "^pool 198.51.100.0/26" "$TMP/etc/xcgn.conf" ||
		fail "config show > xcgn.conf: $(cat "$TMP/etc/xcgn.conf")"
}

# Every JSON key the show commands print is in one of xcgn(8)'s "JSON
# keys" paragraphs (and the counters' and drops' in its COUNTERS).
test_man_page_names_every_json_key() {
	local o k missing=""
	xcgn link attach inside "$DEV_I" outside "$DEV_O" accounting on || fail "attach"
	xcgn pool add 198.51.100.0/28 block-size 256 || fail "pool add"
	xcgn pool add 198.51.100.64/30 deterministic 100.64.2.0/28 max-blocks 2 || fail "det pool"
	in_sub timeout 5 python3 "$TOOLS/udp_flows.py" "$(sub_addr 1)" 20000 2 "$S1" 9 1 >/dev/null || true
	in_sub timeout 3 ping -c 1 -W 1 "$S1" >/dev/null || true
	xcgn forward add 198.51.100.5:40123 to "$(sub_addr 5):80" proto tcp || fail "forward add"
	start_daemon
	# The paragraphs from the page's source: "JSON keys" to the next
	# paragraph macro (rendered text would hyphenate the keys).
	awk '/JSON keys/ {p = 1} p && /^\.(TP|PP|SH|SS|RS|IP)/ {p = 0} p {print}' \
		"$XCGN_ROOT/man/xcgn.8" | grep -o '[a-z][a-z0-9_]*' | sort -u >"$TMP/documented"
	[ "$(wc -l <"$TMP/documented")" -ge 60 ] || fail "few JSON keys documented: $(cat "$TMP/documented")"
	xcgn -j stats describe | jq -r '.[].name' >>"$TMP/documented"
	for o in "link show" "pool show" "pool show 198.51.100.0/28 detail" "subscriber show" \
		"session show" "forward show" "stats show" "stats show interval 1"; do
		# shellcheck disable=SC2086 # the command's words
		xcgn -j $o >"$TMP/o.json" || fail "xcgn -j $o"
		for k in $(jq -r '[paths(scalars) | map(select(type == "string")) | .[]] | unique | .[]' \
			"$TMP/o.json" | sed 's/_per_s$//'); do
			grep -qx -- "$k" "$TMP/documented" || missing="$missing $o:$k"
		done
	done
	[ -z "$missing" ] || fail "JSON keys xcgn(8) does not name:$missing"
}
