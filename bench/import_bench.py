"""Benchmark: generate a demo city's CSVs, then `hub import` them into an empty PostgreSQL database.

Run: .venv/bin/python bench/import_bench.py [--persons 200000] [--no-stages]
Target (issue 2): the import of 200,000 persons ≤ 30 s on the 2-core machine; peak memory reported.

The timed run is the CLI, `hub --database-url URL import DIR --json`, in a subprocess: its wall time and peak RSS
are the issue's numbers. Peak RSS of children is the maximum over all children so far, so the import runs before
any bigger child. Then (unless --no-stages) the same files are imported again, into a second empty database, by a
child that calls `import_registry` with a progress callback and reports when each stage started and ended; that
run is only for the breakdown (its total is close to, not the same as, the timed one).

Beside each timed import, in the same run, a plain COPY of the same five CSV files into text tables of a third empty
database (``plain_copy``: psycopg, one ``COPY … FROM STDIN (FORMAT csv, HEADER)`` per file, one commit): what the
database alone takes to take in the bytes. ``--runs N`` repeats import and COPY N times (fresh databases each time)
and reports the medians: other engineers share the machine's 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HUB, backend_cpu, children_cpu_s, machine, run_measured, scratch_postgres  # noqa: E402


def stages(url: str, directory: Path) -> dict:
    """Import ``directory`` into ``url`` in this process; when each progress stage was first and last reported."""
    from hub.adapters.database import connect
    from hub.service_layer.importer import import_registry

    db = connect(url)
    seen: dict[str, list[float]] = {}
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        t = round(time.perf_counter() - t0, 2)
        seen.setdefault(stage, [t, t])[1] = t

    try:
        import_registry(db, directory, progress=progress)
    finally:
        db.dispose()
    total = round(time.perf_counter() - t0, 2)
    return {"total_s": total, "stages": {k: {"first_s": a, "last_s": b} for k, (a, b) in seen.items()}}


def plain_copy(url: str, directory: Path) -> float:
    """Seconds to COPY every CSV of ``directory`` into a text table of the same columns (created first, not timed)."""
    import csv

    import psycopg

    files = sorted(directory.glob("*.csv"))
    with psycopg.connect(url) as conn:
        for f in files:
            with f.open(encoding="utf-8", newline="") as fh:
                header = next(csv.reader(fh))
            columns = ", ".join('"' + c + '" text' for c in header)
            conn.execute(f'CREATE TABLE "copy_{f.stem}" ({columns})')
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            for f in files:
                with cur.copy(f'COPY "copy_{f.stem}" FROM STDIN (FORMAT csv, HEADER true)') as copy, f.open("rb") as fh:
                    while block := fh.read(1 << 20):
                        copy.write(block)
        conn.commit()
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--no-stages", action="store_true", help="skip the second, in-process import that times each stage")
    ap.add_argument("--runs", type=int, default=1, help="timed imports (each beside a plain COPY); medians reported")
    ap.add_argument("--stages-of", nargs=2, metavar=("URL", "DIR"), help=argparse.SUPPRESS)  # the child of that import
    args = ap.parse_args()
    if args.stages_of:
        print(json.dumps(stages(args.stages_of[0], Path(args.stages_of[1]))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        city = Path(tmp) / "city"
        from hub.demo.city import generate_city

        t0 = time.perf_counter()
        generate_city(city, args.persons)
        gen_s = time.perf_counter() - t0
        runs = []
        for _ in range(max(1, args.runs)):
            with scratch_postgres() as url:
                run_measured([HUB, "--database-url", url, "migrate"])
                load_before, cpu_before = os.getloadavg()[0], children_cpu_s()
                with backend_cpu(url) as server:
                    wall, peak, r = run_measured([HUB, "--database-url", url, "import", str(city), "--json"])
                load_after = os.getloadavg()[0]
                run = {"import_s": round(wall, 2), "import_peak_rss_mib": peak,
                       # CPU time depends far less on what else the machine runs than wall time does.
                       "import_cpu_s": round(children_cpu_s() - cpu_before, 2),
                       "postgres_backend_cpu_s": server["backend_cpu_s"],
                       "load_average_1min": {"before": load_before, "after": load_after},
                       "import": json.loads(r.stdout.strip().splitlines()[-1]), "machine": machine(url)}
            with scratch_postgres() as url:
                run["plain_copy_s"] = round(plain_copy(url, city), 2)
            run["import_over_copy"] = round(run["import_s"] / run["plain_copy_s"], 1)
            runs.append(run)
            print(f"import {run['import_s']} s, plain COPY {run['plain_copy_s']} s", file=sys.stderr)
        med = sorted(runs, key=lambda r: r["import_s"])[len(runs) // 2]
        result = {"persons": args.persons, "generate_s": round(gen_s, 2), "target_s": 30, **med,
                  "median_of": len(runs), "import_s_runs": [r["import_s"] for r in runs],
                  "plain_copy_s_runs": [r["plain_copy_s"] for r in runs],
                  "plain_copy_s_median": sorted(r["plain_copy_s"] for r in runs)[len(runs) // 2],
                  "import_over_copy_runs": [r["import_over_copy"] for r in runs]}
        if not args.no_stages:
            with scratch_postgres() as url:
                run_measured([HUB, "--database-url", url, "migrate"])
                r = subprocess.run([sys.executable, __file__, "--stages-of", url, str(city)], capture_output=True, text=True)
                if r.returncode != 0:
                    raise RuntimeError(f"stage run failed:\n{r.stdout}\n{r.stderr}")
                result["stage_run"] = json.loads(r.stdout.strip().splitlines()[-1])
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
