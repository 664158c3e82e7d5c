#!/bin/bash
# The Debian package made by `make deb`: lintian finds no error, apt
# installs it, the installed xcgn runs and its files are where Debian puts
# them, and apt removes it without a trace.
set -euo pipefail
dir=$(realpath "${1:?usage: package.sh DEB_DIR}")
deb=$(ls "$dir"/xcgn_*_*.deb)
changes=$(ls "$dir"/xcgn_*.changes)
fail() { echo "FAIL: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' xcgn 2>/dev/null | grep -q "ok installed"; then
	fail "an xcgn package is installed on this machine already; not touching it"
fi
trap 'apt-get remove --purge -y -qq xcgn >/dev/null 2>&1 || true' EXIT

lintian --allow-root --fail-on error --suppress-tags package-supports-alternative-init-but-no-init.d-script \
	"$changes" || fail "lintian found errors in $changes"
echo "package: lintian clean ($(basename "$deb"))"

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null || fail "apt install"
want=$(dpkg-deb -f "$deb" Version)
out=$(/usr/sbin/xcgn -V) || fail "the installed xcgn -V"
echo "package: installed: $out"
grep -q "^xcgn $want abi [0-9]" <<<"$out" || fail "xcgn -V says '$out', the package is $want"
for f in /usr/share/man/man8/xcgn.8.gz /usr/share/man/man5/xcgn.conf.5.gz \
	/usr/share/man/man5/xcgn-natlog.5.gz \
	/lib/systemd/system/xcgn.service /usr/share/bash-completion/completions/xcgn \
	/usr/share/doc/xcgn/examples/xcgn.conf; do
	[ -f "$f" ] || fail "$f is not installed"
done
grep -q "^ExecStart=/usr/sbin/xcgn daemon config /etc/xcgn/xcgn.conf$" \
	/lib/systemd/system/xcgn.service || fail "the installed unit's ExecStart"
# The example reads; only its devices (eth0, eth1) may be missing here.
bad=$(/usr/sbin/xcgn config check /usr/share/doc/xcgn/examples/xcgn.conf 2>&1 |
	grep -v 'device "eth[01]" does not exist' || true)
[ -z "$bad" ] || fail "the example configuration: $bad"

# The NAT log's index, where the package's logrotate file keeps it: a
# purge takes it (the logs stay: they are the record).
log=$(mktemp /tmp/xcgn-package-log.XXXXXX)
grep '^{"time"' man/xcgn-natlog.5 >"$log"
/usr/sbin/xcgn log index file "$log" >/dev/null || fail "the installed xcgn log index"
rm -f "$log"
[ -s /var/lib/xcgn/natlog.sqlite ] || fail "no index at /var/lib/xcgn/natlog.sqlite"

DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq xcgn >/dev/null || fail "apt remove"
[ ! -e /usr/sbin/xcgn ] || fail "/usr/sbin/xcgn left after removal"
[ ! -e /var/lib/xcgn ] || fail "/var/lib/xcgn left after the purge"
dpkg-query -W -f='${Status}' xcgn 2>/dev/null | grep -q "ok installed" && fail "still installed"
echo "package: removed"
