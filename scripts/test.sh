#!/usr/bin/env bash
# Install the hub with its test extras into .venv and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'  # the versions CI tested (constraints.txt)
# Lint first (pyproject [tool.ruff]): a wrong name fails here in a second, not in the middle of the suite.
.venv/bin/ruff check .
# Types of the domain rules (pyproject [tool.mypy]: hub/domain, strict).
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
