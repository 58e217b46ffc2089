#!/usr/bin/env bash
# Check the dependency lower bounds of pyproject.toml: install each direct requirement (runtime and test extras) at
# exactly its declared minimum (`>=X` read as `==X`) into a scratch virtualenv, then run the unit tests and a few
# integration tests there. Not part of CI (it installs a second environment); run it after changing a bound or a
# direct import. Usage: bash scripts/check-min-deps.sh [pytest args]   (MIN_VENV: where the scratch venv goes)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${MIN_VENV:-/tmp/hub-min-deps-venv}
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" - > "$VENV/min-constraints.txt" <<'PYCODE'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for req in project["dependencies"] + project["optional-dependencies"]["test"]:
    m = re.match(r"\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)", req)
    if m:
        print(f"{m.group(1)}=={m.group(2)}")
PYCODE
echo "lower bounds:"; sed 's/^/  /' "$VENV/min-constraints.txt"
"$VENV/bin/python" -m pip install -q -c "$VENV/min-constraints.txt" -e '.[test]'
"$VENV/bin/python" -m pip list --format=freeze > "$VENV/installed.txt"
if [ "$#" -eq 0 ]; then
  set -- tests/unit tests/integration/test_graphql_skeleton.py tests/integration/test_graphql_api.py \
    tests/integration/test_connector_guarantees.py tests/integration/test_migrations.py
fi
CI=true exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
