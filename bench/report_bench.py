"""Every report of the catalogue on the demo city (issue 16: each under 2 s on PostgreSQL).

One scratch PostgreSQL database (`HUB_BENCH_POSTGRES_URL` as the admin connection), `generate_city` → `hub import`,
then each report is run in this process through `hub.reports.run_report` as a city-wide ADMIN, `--runs` times; the
JSON printed gives the best and the median wall time and the row count per report. Parameters a report needs are
taken from the city: the unit with the most postings, the month the demo's postings start most, this year (the
demo city is imported as of today)."""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import HUB, machine, run_measured, scratch_postgres  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="Comma list of report names (default: all).")
    ap.add_argument("--database-url", default=None, help="A database already holding an imported city (kept; no "
                                                         "generation, no import).")
    args = ap.parse_args()
    import psycopg
    from sqlalchemy import func, select

    from hub import reports
    from hub.adapters.database import connect
    from hub.adapters.orm import PostingRow
    from hub.demo.city import generate_city
    from hub.domain.calendar import office_today
    from hub.domain.vocabulary import Role

    with contextlib.ExitStack() as stack:
        import_s = 0.0
        url = args.database_url
        if url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            url = stack.enter_context(scratch_postgres("hub_reports"))
            city = Path(tmp) / "city"
            generate_city(city, args.persons)
            import_s, _, r = run_measured([HUB, "--database-url", url, "import", str(city), "--json"])
            assert r.returncode == 0, r.stderr
            # planner statistics, as autovacuum would have them on a running hub (a fresh import has none)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ANALYZE")
        db = connect(url)
        with db.read_session() as s:
            unit, = s.execute(select(PostingRow.unit_code).group_by(PostingRow.unit_code)
                              .order_by(func.count().desc()).limit(1)).one()
            start = s.scalar(select(PostingRow.start_date).group_by(PostingRow.start_date)
                             .order_by(func.count().desc()).limit(1))
        today = office_today()
        params = {"headcount-consistency": {"period": f"{today.year}-{today.month:02d}"},
                  "establishment-ledger": {"unit": unit}, "unit-history": {"unit": unit},
                  "staff-changes": {"period": start.strftime("%Y-%m")},
                  "annual-report": {"year": str(today.year)}, "annual-staff": {"year": str(today.year)}}
        caller = reports.Caller(name="bench", role=Role.ADMIN)
        wanted = [n for n in args.only.split(",") if n] or list(reports.catalogue())
        results = {}
        for name in wanted:
            times, n = [], 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                table, _ = reports.run_report(db, name, params.get(name, {}), caller=caller)
                times.append(time.perf_counter() - t0)
                n = len(table.rows)
            results[name] = {"best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3), "rows": n,
                             "params": params.get(name, {})}
            print(name, results[name], file=sys.stderr, flush=True)
        db.dispose()
    print(json.dumps({"persons": args.persons, "import_s": round(import_s, 1), "machine": machine(),
                      "target_s": 2.0, "over_target": [k for k, v in results.items() if v["median_s"] >= 2.0],
                      "reports": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
