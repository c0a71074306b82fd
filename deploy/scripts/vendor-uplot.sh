#!/usr/bin/env bash
# Vendors the charting library of /ops/ (uPlot, MIT, from npm) into the user service's static files, so
# nothing is fetched at run time (nginx serves it as an immutable static file). To move to another
# version: change VERSION and SHA256 (of the package tarball, `npm pack`), run `make vendor-charts`, and
# update the path in services/user/ops/templates/ops/*.html.
set -o errexit -o pipefail -o nounset
VERSION=1.6.32
SHA256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d
DEST="$(dirname "$0")/../../services/user/ops/static/ops/vendor/uplot-$VERSION"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$VERSION" >/dev/null)
echo "$SHA256  $tmp/uplot-$VERSION.tgz" | sha256sum --check --quiet
tar -xzf "$tmp/uplot-$VERSION.tgz" -C "$tmp"
mkdir -p "$DEST"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$DEST/"
echo "--> uPlot $VERSION in $DEST"
