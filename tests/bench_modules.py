"""A script of bench/ loaded as a module for its tests (the scripts are not a package; loading one must not leave
its sys.path changes behind)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def load_bench(script: str):
    """``bench/<script>.py`` as a fresh module named ``<script>_under_test``."""
    spec = importlib.util.spec_from_file_location(f"{script}_under_test", BENCH_DIR / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module
