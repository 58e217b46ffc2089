#!/usr/bin/env bash
# Fetch the GraphiQL browser assets served at /graphiql from the npm registry, at pinned versions,
# and verify them against hub/api/static/graphiql/SHA256SUMS before copying them into place.
#
# The assets are committed to the repository, so the hub needs no network at run time (government
# intranets have no CDN). This script is how they were obtained and how they are refreshed.
#
#   scripts/fetch_graphiql_assets.sh               fetch, verify against SHA256SUMS, copy into place
#   scripts/fetch_graphiql_assets.sh --check       verify the committed files only (no network)
#   scripts/fetch_graphiql_assets.sh --update-sums after changing a pinned version: fetch, copy, and
#                                                  rewrite SHA256SUMS (review the diff before committing)
#
# Needs npm (any version that has `npm pack`), tar and sha256sum. npm itself checks each tarball
# against the registry's integrity hash; SHA256SUMS pins the extracted files on top of that.
set -euo pipefail

REACT_VERSION=18.3.1     # React 19 has no UMD builds
REACT_DOM_VERSION=18.3.1
GRAPHIQL_VERSION=3.8.3   # a UMD bundle (graphiql.min.js); graphiql 5 ships ES modules only

cd "$(dirname "$0")/.."
DEST=hub/api/static/graphiql
SUMS="$DEST/SHA256SUMS"

# target file name  <-  package tarball : path inside the tarball
FILES=(
  "react.production.min.js      react-$REACT_VERSION.tgz         package/umd/react.production.min.js"
  "react-dom.production.min.js  react-dom-$REACT_DOM_VERSION.tgz package/umd/react-dom.production.min.js"
  "graphiql.min.js              graphiql-$GRAPHIQL_VERSION.tgz   package/graphiql.min.js"
  "graphiql.min.css             graphiql-$GRAPHIQL_VERSION.tgz   package/graphiql.min.css"
  "LICENSE.react                react-$REACT_VERSION.tgz         package/LICENSE"
  "LICENSE.react-dom            react-dom-$REACT_DOM_VERSION.tgz package/LICENSE"
  "LICENSE.graphiql             graphiql-$GRAPHIQL_VERSION.tgz   package/LICENSE"
)

verify() {  # verify the files in directory $1 against SHA256SUMS
  [ -f "$SUMS" ] || { echo "missing $SUMS" >&2; return 1; }
  (cd "$1" && sha256sum --check --strict --quiet "$OLDPWD/$SUMS")
}

mode=${1:-fetch}
case "$mode" in
  --check)
    verify "$DEST" && echo "GraphiQL assets in $DEST match SHA256SUMS"
    exit 0 ;;
  fetch|--update-sums) ;;
  *) echo "usage: $0 [--check|--update-sums]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pack" "$tmp/out"
(cd "$tmp/pack" && npm pack --silent --ignore-scripts \
  "react@$REACT_VERSION" "react-dom@$REACT_DOM_VERSION" "graphiql@$GRAPHIQL_VERSION" >/dev/null)

for entry in "${FILES[@]}"; do
  read -r target tarball inner <<<"$entry"
  tar -xzOf "$tmp/pack/$tarball" "$inner" > "$tmp/out/$target"
done

if [ "$mode" = "--update-sums" ]; then
  (cd "$tmp/out" && for entry in "${FILES[@]}"; do read -r target _ <<<"$entry"; sha256sum "$target"; done) > "$tmp/SHA256SUMS"
  cp "$tmp/SHA256SUMS" "$SUMS"
  echo "rewrote $SUMS for react@$REACT_VERSION react-dom@$REACT_DOM_VERSION graphiql@$GRAPHIQL_VERSION"
fi
verify "$tmp/out" || { echo "fetched files do not match $SUMS: not copying" >&2; exit 1; }

mkdir -p "$DEST"
for entry in "${FILES[@]}"; do
  read -r target _ <<<"$entry"
  cp "$tmp/out/$target" "$DEST/$target"
done
cat > "$DEST/VERSIONS" <<VERSIONS
react@$REACT_VERSION umd/react.production.min.js
react-dom@$REACT_DOM_VERSION umd/react-dom.production.min.js
graphiql@$GRAPHIQL_VERSION graphiql.min.js graphiql.min.css
VERSIONS
verify "$DEST"
echo "GraphiQL assets in $DEST: react@$REACT_VERSION react-dom@$REACT_DOM_VERSION graphiql@$GRAPHIQL_VERSION (SHA256SUMS verified)"
