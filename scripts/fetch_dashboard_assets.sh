#!/usr/bin/env bash
# Fetch the charting library of the dashboard (/dashboard) from the npm registry at a pinned version and
# verify it against hub/api/static/dashboard/SHA256SUMS before copying it into place.
#
# The files are committed to the repository, so the hub needs no network at run time (government intranets
# have no CDN). This script is how they were obtained and how they are refreshed; it mirrors
# scripts/fetch_graphiql_assets.sh.
#
#   scripts/fetch_dashboard_assets.sh               fetch, verify against SHA256SUMS, copy into place
#   scripts/fetch_dashboard_assets.sh --check       verify the committed files only (no network)
#   scripts/fetch_dashboard_assets.sh --update-sums after changing the pinned version: fetch, copy, and
#                                                   rewrite SHA256SUMS (review the diff before committing)
#
# Needs npm (`npm pack`), tar and sha256sum. npm checks the tarball against the registry's integrity hash;
# SHA256SUMS pins the extracted files on top of that.
set -euo pipefail

ECHARTS_VERSION=5.6.0   # dist/echarts.min.js: one UMD file (window.echarts), zrender bundled in

cd "$(dirname "$0")/.."
DEST=hub/api/static/dashboard
SUMS="$DEST/SHA256SUMS"

# target file name  <-  package tarball : path inside the tarball
FILES=(
  "echarts.min.js   echarts-$ECHARTS_VERSION.tgz  package/dist/echarts.min.js"
  "LICENSE.echarts  echarts-$ECHARTS_VERSION.tgz  package/LICENSE"
  "NOTICE.echarts   echarts-$ECHARTS_VERSION.tgz  package/NOTICE"
)

verify() {  # verify the files in directory $1 against SHA256SUMS
  [ -f "$SUMS" ] || { echo "missing $SUMS" >&2; return 1; }
  (cd "$1" && sha256sum --check --strict --quiet "$OLDPWD/$SUMS")
}

mode=${1:-fetch}
case "$mode" in
  --check)
    verify "$DEST" && echo "dashboard assets in $DEST match SHA256SUMS"
    exit 0 ;;
  fetch|--update-sums) ;;
  *) echo "usage: $0 [--check|--update-sums]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pack" "$tmp/out"
(cd "$tmp/pack" && npm pack --silent --ignore-scripts "echarts@$ECHARTS_VERSION" >/dev/null)

for entry in "${FILES[@]}"; do
  read -r target tarball inner <<<"$entry"
  tar -xzOf "$tmp/pack/$tarball" "$inner" > "$tmp/out/$target"
done

if [ "$mode" = "--update-sums" ]; then
  (cd "$tmp/out" && for entry in "${FILES[@]}"; do read -r target _ <<<"$entry"; sha256sum "$target"; done) > "$tmp/SHA256SUMS"
  mkdir -p "$DEST"
  cp "$tmp/SHA256SUMS" "$SUMS"
  echo "rewrote $SUMS for echarts@$ECHARTS_VERSION"
fi
verify "$tmp/out" || { echo "fetched files do not match $SUMS: not copying" >&2; exit 1; }

mkdir -p "$DEST"
for entry in "${FILES[@]}"; do
  read -r target _ <<<"$entry"
  cp "$tmp/out/$target" "$DEST/$target"
done
cat > "$DEST/VERSIONS" <<VERSIONS
echarts@$ECHARTS_VERSION dist/echarts.min.js LICENSE NOTICE
VERSIONS
verify "$DEST"
echo "dashboard assets in $DEST: echarts@$ECHARTS_VERSION (SHA256SUMS verified)"
