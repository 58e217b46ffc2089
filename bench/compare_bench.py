"""Benchmark: `hub compare` of a 200k-person finance snapshot with 1% planted differences, against a floor.

Run: .venv/bin/python bench/compare_bench.py [--persons 200000]
In one run, on one scratch PostgreSQL database:
  floor  — COPY of the snapshot into a staging table plus one FULL OUTER JOIN against the active postings;
  compare — `hub compare --source finance` end to end as a subprocess (peak RSS measured);
  for scale — the COPY plus a durable write of the lines into a table shaped like the finance view, and the
              cheapest durable write (COPY into a new typed table plus its primary key);
  other sources — police, HR and insurance snapshots of the whole city with planted differences, each compared
              twice (first snapshot, then the same file again), after the finance one (skip: --finance-only).
Targets (issue 5): compare ≤ 3 × floor, ≤ 1 GB peak RSS; every planted difference found, no others.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HUB, run_measured, scratch_postgres  # noqa: E402

PERIOD = "2026-10"


def make_snapshot(city: Path, out: Path, seed: int = 7) -> dict[str, set]:
    """All fiscally paid postings, with 1% differences: 0.5% missing, 0.25% ghosts, 0.25% paid by another unit."""
    from hub.domain.identifiers import make_id_number

    rng = random.Random(seed)
    names = {r["id_number"]: r["name"] for r in csv.DictReader((city / "persons.csv").open(encoding="utf-8"))}
    funding = {r["code"]: r["funding"] for r in csv.DictReader((city / "units.csv").open(encoding="utf-8"))}
    postings = list(csv.DictReader((city / "postings.csv").open(encoding="utf-8")))
    fiscal_units = [u for u, f in funding.items() if f != "SELF"]
    planted = {"UNPAID_POSTING": set(), "GHOST_PAYROLL": set(), "PAYROLL_UNIT_MISMATCH": set()}
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id_number", "name", "unit_code", "period", "gross_amount"])
        for p in postings:
            idn, unit = p["id_number"], p["unit_code"]
            if funding[unit] == "SELF":
                continue
            r = rng.random()
            if r < 0.005:
                if funding[unit] == "FULL":
                    planted["UNPAID_POSTING"].add(idn)
                    continue
            elif r < 0.0075:
                other = rng.choice(fiscal_units)
                if other != unit:
                    planted["PAYROLL_UNIT_MISMATCH"].add(idn)
                    unit = other
            w.writerow([idn, names[idn], unit, PERIOD, f"{rng.randint(6000, 16000)}.00"])
        for i in range(len(postings) // 400):
            ghost = make_id_number("330108", __import__("datetime").date(1990, 1 + i % 12, 1 + i % 28), i % 100, i % 2 == 0)
            if ghost in names or ghost in planted["GHOST_PAYROLL"]:
                continue
            planted["GHOST_PAYROLL"].add(ghost)
            w.writerow([ghost, "钱某", rng.choice(fiscal_units), PERIOD, "7000.00"])
    return planted


def make_other_snapshots(city: Path, out: Path, seed: int = 8) -> dict[str, tuple[Path, dict[str, set]]]:
    """Police, HR and insurance snapshots of the whole city with planted differences:
    police — 0.5% absent (IDENTITY_UNKNOWN), 0.1% deceased (DECEASED_ACTIVE), 0.25% another name (NAME_MISMATCH);
    hr — 0.5% retired (HR_STATUS_CONFLICT), 0.25% employed by another unit (HR_UNIT_MISMATCH);
    insurance — 0.3% absent (INSURANCE_MISSING), 0.25% another employer (INSURANCE_EMPLOYER_MISMATCH)."""
    rng = random.Random(seed)
    persons = list(csv.DictReader((city / "persons.csv").open(encoding="utf-8")))
    posting = {r["id_number"]: r for r in csv.DictReader((city / "postings.csv").open(encoding="utf-8"))}
    units = sorted({r["unit_code"] for r in posting.values()})
    kinds = {"police": ("IDENTITY_UNKNOWN", "DECEASED_ACTIVE", "NAME_MISMATCH"),
             "hr": ("HR_STATUS_CONFLICT", "HR_UNIT_MISMATCH"), "insurance": ("INSURANCE_MISSING", "INSURANCE_EMPLOYER_MISMATCH")}
    planted = {src: {k: set() for k in ks} for src, ks in kinds.items()}
    headers = {"police": ["id_number", "name", "gender", "birth_date", "status"],
               "hr": ["id_number", "name", "unit_code", "status", "effective_date"],
               "insurance": ["id_number", "name", "employer_code", "period", "base_amount", "status"]}
    files = {src: (out / f"{src}.csv").open("w", encoding="utf-8", newline="") for src in kinds}
    writers = {src: csv.writer(f) for src, f in files.items()}
    for src, w in writers.items():
        w.writerow(headers[src])
    for p in persons:
        idn, name, post = p["id_number"], p["name"], posting.get(p["id_number"])
        r = rng.random()
        if r < 0.005:
            planted["police"]["IDENTITY_UNKNOWN"].add(idn)
        else:
            status = "ALIVE"
            if r < 0.006 and post:
                status = "DECEASED"
                planted["police"]["DECEASED_ACTIVE"].add(idn)
            police_name = name
            if 0.006 <= r < 0.0085:
                police_name = name + "某"
                planted["police"]["NAME_MISMATCH"].add(idn)
            writers["police"].writerow([idn, police_name, p["gender"], p["birth_date"], status])
        if not post:
            continue
        r = rng.random()
        unit, status = post["unit_code"], "EMPLOYED"
        if r < 0.005:
            status = "RETIRED"
            planted["hr"]["HR_STATUS_CONFLICT"].add(idn)
        elif r < 0.0075 and (other := rng.choice(units)) != unit:
            unit = other
            planted["hr"]["HR_UNIT_MISMATCH"].add(idn)
        writers["hr"].writerow([idn, name, unit, status, post["start_date"]])
        r = rng.random()
        if r < 0.003:
            planted["insurance"]["INSURANCE_MISSING"].add(idn)
            continue
        employer = post["unit_code"]
        if r < 0.0055 and (other := rng.choice(units)) != employer:
            employer = other
            planted["insurance"]["INSURANCE_EMPLOYER_MISMATCH"].add(idn)
        writers["insurance"].writerow([idn, name, employer, PERIOD, "8000.00", "ACTIVE"])
    for f in files.values():
        f.close()
    return {src: (out / f"{src}.csv", planted[src]) for src in kinds}


def compare_other_sources(url: str, snapshots: dict[str, tuple[Path, dict[str, set]]]) -> dict:
    """Each other source's snapshot compared twice (the second run changes nothing): wall time, peak RSS,
    method and accuracy of the planted differences (the OPEN mismatches of each kind against what was planted)."""
    out = {}
    for src, (path, planted) in snapshots.items():
        runs = []
        for _ in range(2):
            wall, peak, r = run_measured([HUB, "--database-url", url, "compare", "--source", src, "--period", PERIOD,
                                          str(path), "--json"])
            summary = json.loads(r.stdout)
            runs.append({"wall_s": round(wall, 2), "inside_s": summary["seconds"], "peak_rss_mib": peak,
                         "method": summary["method"], "rows": summary["rows"]})
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            accuracy = {}
            for kind, subjects in planted.items():
                cur.execute("SELECT subject FROM mismatches WHERE kind = %s AND status = 'OPEN'", (kind,))
                found = {x[0] for x in cur.fetchall()}
                accuracy[kind] = {"planted": len(subjects), "found": len(found), "missed": len(subjects - found),
                                  "extra": len(found - subjects)}
        out[src] = {"first": runs[0], "rerun": runs[1], "accuracy": accuracy}
    return out


def floor(url: str, snapshot: Path) -> float:
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE staging (id_number text, name text, unit_code text, period text, gross_amount text)")
        with snapshot.open("rb") as f, cur.copy("COPY staging FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        cur.execute("""SELECT count(*) FILTER (WHERE s.id_number IS NULL), count(*) FILTER (WHERE p.id_number IS NULL),
                              count(*) FILTER (WHERE s.unit_code <> p.unit_code)
                       FROM staging s FULL OUTER JOIN (SELECT id_number, unit_code FROM postings WHERE active) p
                       ON s.id_number = p.id_number""")
        cur.fetchall()
    return time.perf_counter() - t0


def persist_reference(url: str, snapshot: Path) -> float:
    """For scale, not a target: the floor's COPY plus writing the lines durably into a table shaped like the
    finance view (its primary key, WAL) — the one write `hub compare` cannot skip on a first comparison."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE bench_payroll (LIKE partner_payroll INCLUDING ALL)")
        conn.commit()
        t0 = time.perf_counter()
        cur.execute("CREATE TEMP TABLE staging (id_number text, name text, unit_code text, period text, gross_amount text)")
        with snapshot.open("rb") as f, cur.copy("COPY staging FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        cur.execute("""INSERT INTO bench_payroll (id_number, unit_code, period, name, gross_amount, paid, event_id, updated_at)
                       SELECT id_number, unit_code, period, name, gross_amount, true, 'bench', now() FROM staging ORDER BY 1, 2""")
        conn.commit()
        took = time.perf_counter() - t0
        cur.execute("DROP TABLE bench_payroll")
        conn.commit()
    return took


def persist_as_partition(url: str, snapshot: Path) -> float:
    """For scale, not a target: the cheapest durable write there is — COPY into a new table typed like the finance
    view plus its primary key (what `hub compare` does for a period's first snapshot, before checks and attaching)."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        cur.execute("CREATE TABLE bench_partition (id_number varchar(18), name varchar(100), unit_code varchar(18),"
                    " period varchar(7), gross_amount varchar(32), paid boolean NOT NULL DEFAULT true,"
                    " event_id varchar(200) NOT NULL DEFAULT 'bench', updated_at timestamptz NOT NULL DEFAULT now())")
        with snapshot.open("rb") as f, cur.copy("COPY bench_partition (id_number, name, unit_code, period, gross_amount)"
                                                " FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        cur.execute("ALTER TABLE bench_partition ADD PRIMARY KEY (id_number, unit_code, period)")
        conn.commit()
        took = time.perf_counter() - t0
        cur.execute("DROP TABLE bench_partition")
        conn.commit()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--finance-only", action="store_true", help="Skip the police, HR and insurance comparisons.")
    args = ap.parse_args()
    from hub.demo.city import generate_city

    with tempfile.TemporaryDirectory() as tmp, scratch_postgres("hub_cmp") as url:
        city = Path(tmp) / "city"
        generate_city(city, args.persons)
        snapshot = Path(tmp) / "finance.csv"
        planted = make_snapshot(city, snapshot)
        run_measured([HUB, "--database-url", url, "import", str(city), "--json"])
        floor_s = floor(url, snapshot)
        persist_s = persist_reference(url, snapshot)
        partition_s = persist_as_partition(url, snapshot)
        wall, peak, r = run_measured([HUB, "--database-url", url, "compare", "--source", "finance", "--period", PERIOD,
                                      str(snapshot), "--json"])
        summary = json.loads(r.stdout)
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            found = {}
            for kind in planted:
                cur.execute("SELECT subject FROM mismatches WHERE kind = %s AND status = 'OPEN'", (kind,))
                found[kind] = {x[0] for x in cur.fetchall()}
        accuracy = {k: {"planted": len(planted[k]), "found": len(found[k]), "missed": len(planted[k] - found[k]),
                        "extra": len(found[k] - planted[k])} for k in planted}
        floor2 = floor(url, snapshot)  # again after, to see the noise
        startup = min(run_measured([HUB, "--help"])[0] for _ in range(3))  # the command's own start-up, for scale
        # what `hub compare` imports before it does anything (interpreter start-up included), for scale
        imports = min(run_measured([sys.executable, "-c", "import hub.cli, hub.service_layer.comparison.pipeline"])[0] for _ in range(3))
        others = None if args.finance_only else compare_other_sources(url, make_other_snapshots(city, Path(tmp)))
    result = {"persons": args.persons, "snapshot_rows": summary["rows"], "floor_s": round(min(floor_s, floor2), 2),
              "copy_and_persist_s": round(persist_s, 2), "copy_into_new_table_with_key_s": round(partition_s, 2),
              "hub_help_s": round(startup, 2), "compare_imports_s": round(imports, 2),
              # start-up and the cheapest durable write alone, against the floor: what no comparison can go below
              "lower_bound_ratio": round((imports + partition_s) / min(floor_s, floor2), 2),
              "compare_s": round(wall, 2), "compare_internal_s": summary["seconds"],
              "ratio": round(wall / min(floor_s, floor2), 2),
              "ratio_inside_command": round(summary["seconds"] / min(floor_s, floor2), 2), "method": summary["method"],
              "compare_peak_rss_mib": peak, "accuracy": accuracy,
              "by_kind": summary["by_kind"], "targets": {"ratio": 3, "peak_rss_mib": 1024}, "other_sources": others}
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
