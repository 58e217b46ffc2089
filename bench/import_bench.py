"""Benchmark: `hub demo --persons N --csv-only` then `hub import` into an empty PostgreSQL database.

Run: .venv/bin/python bench/import_bench.py [--persons 200000]
Target (issue 2): the import of 200,000 persons ≤ 30 s on the 2-core machine; peak memory reported.
Note: peak RSS of children is the maximum over all children so far, so the import runs first.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HUB, run_measured, scratch_postgres  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_postgres() as url:
        city = Path(tmp) / "city"
        from hub.demo_city import generate_city

        t0 = time.perf_counter()
        generate_city(city, args.persons)
        gen_s = time.perf_counter() - t0
        run_measured([HUB, "--database-url", url, "migrate"])
        wall, peak, r = run_measured([HUB, "--database-url", url, "import", str(city), "--json"])
        result = {"persons": args.persons, "generate_s": round(gen_s, 2), "import_s": round(wall, 2),
                  "import_peak_rss_mib": peak, "target_s": 30, "import": json.loads(r.stdout.strip().splitlines()[-1])}
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
