#!/bin/bash
# Install every Debian package the build, the tests, the demo and the
# benchmark need. Idempotent, and quiet when everything is present.
set -euo pipefail

PKGS=(
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libmnl-dev pkg-config
	libcriterion-dev make gcc
	iproute2 iputils-ping ethtool socat iperf3 curl python3 nftables jq
	procps util-linux coreutils tcpdump shellcheck python3-scapy
	debhelper dpkg-dev fakeroot lintian man-db groff-base bash-completion systemd git
	libmicrohttpd-dev libcap-ng-dev strace prometheus libfixbuf-tools nfdump bird2 natpmpc conntrack
	logrotate libsqlite3-dev sqlite3
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: need root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The datapath's maps are pinned in bpffs.
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf
fi
