#!/bin/bash
# Build the Debian package of the committed tree (or of COMMIT): git
# archive into OUT/src, a changelog naming VERSION, dpkg-buildpackage
# (debhelper). The .deb lands in OUT.
set -euo pipefail
out=$(realpath -m "${1:?usage: deb.sh OUTDIR VERSION [COMMIT]}")
version=${2:?usage: deb.sh OUTDIR VERSION [COMMIT]}
commit=${3:-HEAD}
version=${version%.dirty}	# the package holds what is committed
cd "$(dirname "$0")/.."
[ -e .git ] || { echo "deb: needs a git checkout (it packages the committed tree)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/src"
git archive "$commit" | tar -x -C "$out/src"
cat >"$out/src/debian/changelog" <<EOT
xcgn ($version) unstable; urgency=medium

  * Built from commit $(git rev-parse "$commit").

 -- xcgn developers <xcgn-dev@lists.example.org>  $(date -R)
EOT
cd "$out/src"
dpkg-buildpackage -b -us -uc >../build.log 2>&1 || {
	tail -40 ../build.log >&2
	echo "deb: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
	exit 1
}
ls "$out"/xcgn_*.deb
