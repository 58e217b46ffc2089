"""`hub compare` killed mid-run (kill -9) changes nothing; re-running it ends in the state of one clean run (PostgreSQL)."""

import csv
import json
import random
import subprocess
import time

import pytest
from sqlalchemy import text

from hub.adapters.database import connect
from hub.adapters.payroll_partitions import partition_name
from hub.demo.city import generate_city
from hub.service_layer.importer import import_registry
from tests.conftest import new_pg_database
from tests.e2e.hub_process import hub_executable
from tests.e2e.state import snapshot


def finance_snapshot(city, path, period="2026-10", seed=3):
    rng = random.Random(seed)
    with (city / "persons.csv").open(encoding="utf-8") as f:
        names = {r["id_number"]: r["name"] for r in csv.DictReader(f)}
    with (city / "units.csv").open(encoding="utf-8") as f:
        funding = {r["code"]: r["funding"] for r in csv.DictReader(f)}
    with (city / "postings.csv").open(encoding="utf-8") as f, path.open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(["id_number", "name", "unit_code", "period", "gross_amount"])
        for r in csv.DictReader(f):
            if funding[r["unit_code"]] == "SELF" or rng.random() < 0.01:
                continue
            w.writerow([r["id_number"], names[r["id_number"]], r["unit_code"], period, f"{rng.randint(6000, 15000)}.00"])
    return path


def police_snapshot(city, path, seed=4):
    """Everyone but 1% (IDENTITY_UNKNOWN), 0.5% deceased (DECEASED_ACTIVE)."""
    rng = random.Random(seed)
    with (city / "persons.csv").open(encoding="utf-8") as f, path.open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(["id_number", "name", "gender", "birth_date", "status"])
        for r in csv.DictReader(f):
            if rng.random() < 0.01:
                continue
            w.writerow([r["id_number"], r["name"], r["gender"], r["birth_date"], "DECEASED" if rng.random() < 0.005 else "ALIVE"])
    return path


def status(url):
    db = connect(url)
    try:
        with db.read_engine.connect() as c:
            return [tuple(r) for r in c.execute(text("SELECT status FROM comparisons"))]
    finally:
        db.dispose()


def comparing(url) -> bool:
    """Whether a comparison's transaction is open: it holds the global reconciliation lock exclusively."""
    db = connect(url)
    try:
        with db.read_engine.connect() as c:
            return bool(c.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar())
    finally:
        db.dispose()


def partition_exists(url, period) -> bool:
    db = connect(url)
    try:
        with db.read_engine.connect() as c:
            return c.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": partition_name(period)}).scalar()
    finally:
        db.dispose()


@pytest.mark.parametrize("source", ["finance", "police"])
def test_compare_killed_mid_run_then_rerun_equals_a_clean_run(tmp_path, pg_template, source):
    if pg_template is None:
        pytest.skip("PostgreSQL not reachable")
    city = tmp_path / "city"
    generate_city(city, 40_000, seed=21)
    snap = (finance_snapshot if source == "finance" else police_snapshot)(city, tmp_path / f"{source}.csv")
    (url_a, drop_a), (url_b, drop_b) = new_pg_database(pg_template), new_pg_database(pg_template)
    try:
        for url in (url_a, url_b):
            db = connect(url)
            import_registry(db, city)
            db.dispose()
        args = lambda url: [hub_executable(), "--database-url", url, "compare", "--source", source, "--period", "2026-10",  # noqa: E731
                            str(snap), "--json"]
        clean = subprocess.run(args(url_b), capture_output=True, text=True, timeout=300)
        assert clean.returncode == 0, clean.stderr
        summary = json.loads(clean.stdout)
        assert summary["method"] == "staged"
        absence = "UNPAID_POSTING" if source == "finance" else "IDENTITY_UNKNOWN"
        assert summary["by_kind"][absence]["opened"] > 0

        proc = subprocess.Popen(args(url_a), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not comparing(url_a) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # inside the comparison's transaction (it holds the global reconciliation lock until commit)
        proc.kill()
        proc.wait()
        assert status(url_a) == [("RUNNING",)], "the compare finished before it could be killed"
        before_rerun = snapshot(url_a)
        # the killed run committed nothing: no view rows, no verified identity, no partition-to-be, no finding
        assert before_rerun["payroll"] == [] and before_rerun["identity"] == []
        assert not any(verified != "None" for _, _, verified, _ in before_rerun["persons"])
        assert not partition_exists(url_a, "2026-10")
        assert not {k for k, *_ in before_rerun["open_mismatches"]} & {
            "UNPAID_POSTING", "HEADCOUNT_INCONSISTENT", "GHOST_PAYROLL", "IDENTITY_UNKNOWN", "DECEASED_ACTIVE"}

        rerun = subprocess.run(args(url_a), capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        a, b = snapshot(url_a), snapshot(url_b)
        for part in a:
            assert a[part] == b[part], part
        if source == "finance":
            assert partition_exists(url_a, "2026-10") and partition_exists(url_b, "2026-10")
        else:
            updated = dict(a["registry_events"]).get("gov.registry.person.updated")
            assert len(a["identity"]) > 39_000 and int(updated) > 39_000  # (and equal to the clean run's: above)
    finally:
        drop_a()
        drop_b()
