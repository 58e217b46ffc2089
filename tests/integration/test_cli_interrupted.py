"""Ctrl-C in `hub import` and `hub compare` at the moments a real SIGINT hit in the s11 review (SQLite and PostgreSQL):
after the import's commit (PostgreSQL's ANALYZE takes seconds there) the one line must not say that nothing was
imported, and a comparison cut short must not stay RUNNING for good. The KeyboardInterrupt is raised where the signal
landed (the process's own handler turns SIGINT into it); tests/e2e/test_cli_newcomer.py sends real ones."""

from __future__ import annotations

import csv

from sqlalchemy import func, select
from typer.testing import CliRunner

from hub import cli
from hub.adapters.database import connect
from hub.adapters.orm import ComparisonRow, PersonRow
from hub.demo.city import generate_city
from hub.service_layer import importer
from hub.service_layer.comparison import pipeline
from tests.factories import id_number
from tests.integration.registry_helpers import hire, make_person, make_unit

P = "2026-10"


def _persons(db_url) -> int:
    db = connect(db_url)
    try:
        with db.read_session() as s:
            return s.scalar(select(func.count()).select_from(PersonRow))
    finally:
        db.dispose()


def _runs(db_url) -> list[tuple[str, str | None]]:
    db = connect(db_url)
    try:
        with db.read_session() as s:
            return [tuple(r) for r in s.execute(select(ComparisonRow.status, ComparisonRow.error))]
    finally:
        db.dispose()


def _interrupt_when(monkeypatch, obj, name, hit):
    """Make ``obj.name`` raise KeyboardInterrupt (a Ctrl-C landing there) when ``hit(*args)`` holds."""
    real = getattr(obj, name)

    def wrapped(*args, **kwargs):
        if hit(*args):
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, wrapped)


def test_ctrl_c_after_the_import_committed_does_not_say_nothing_was_imported(db_url, tmp_path, monkeypatch):
    city = tmp_path / "city"
    generate_city(city, 50)
    if db_url.startswith("postgresql"):  # the seconds-long window a real SIGINT hit: ANALYZE after the commit
        _interrupt_when(monkeypatch, importer, "text", lambda sql: "ANALYZE" in sql)
    else:  # SQLite has no ANALYZE: the summary printed after the commit
        _interrupt_when(monkeypatch, cli.err, "print", lambda *a: bool(a) and str(a[0]).startswith("read "))
    r = CliRunner().invoke(cli.app, ["--database-url", db_url, "import", str(city)])
    assert r.exit_code == 130, r.output
    assert _persons(db_url) == 50  # the import was committed …
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "nothing was imported" not in lines[0], r.output  # … and the line says so
    assert "committed" in lines[0] and "do not import these files again" in lines[0]


def test_ctrl_c_before_the_import_committed_still_says_nothing_was_imported(db_url, tmp_path, monkeypatch):
    city = tmp_path / "city"
    generate_city(city, 50)
    _interrupt_when(monkeypatch, importer, "reconcile_persons", lambda *a: True)  # the last step before the commit
    r = CliRunner().invoke(cli.app, ["--database-url", db_url, "import", str(city)])
    assert r.exit_code == 130 and _persons(db_url) == 0, r.output
    assert "error: interrupted (Ctrl-C): nothing was imported" in r.output


def _snapshot(db_url, tmp_path):
    db = connect(db_url)
    unit = make_unit(db)
    hire(db, make_person(db, name="甲"), unit)
    db.dispose()
    f = tmp_path / "finance.csv"
    with f.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id_number", "name", "unit_code", "period", "gross_amount"])
        w.writerow([id_number(), "鬼", unit, P, "8000.00"])
    return f


def test_a_comparison_interrupted_inside_its_transaction_is_recorded_failed(db_url, tmp_path, monkeypatch):
    f = _snapshot(db_url, tmp_path)
    # the run's last step before its commit (both paths, staged on PostgreSQL): its RUNNING row is committed already
    _interrupt_when(monkeypatch, pipeline, "_still_open", lambda *a: True)
    r = CliRunner().invoke(cli.app, ["--database-url", db_url, "compare", "--source", "finance", "--period", P, str(f)])
    assert r.exit_code == 130 and "were not committed" in r.output, r.output
    [(status, error)] = _runs(db_url)
    assert status == "FAILED" and "interrupted (Ctrl-C)" in error


def test_ctrl_c_after_the_comparison_committed_keeps_it_succeeded_and_says_so(db_url, tmp_path, monkeypatch):
    f = _snapshot(db_url, tmp_path)
    _interrupt_when(monkeypatch, cli.console, "print", lambda *a: True)  # the summary table, after the commit
    r = CliRunner().invoke(cli.app, ["--database-url", db_url, "compare", "--source", "finance", "--period", P, str(f)])
    assert r.exit_code == 130, r.output
    assert [s for s, _ in _runs(db_url)] == ["SUCCEEDED"]
    assert "after the comparison was committed" in r.output and "not committed" not in r.output, r.output


def test_the_committed_wording_does_not_outlive_its_command(db_url, tmp_path, monkeypatch):
    """In one process (CliRunner, an embedding), a later command's Ctrl-C is not told an earlier one committed."""
    f = _snapshot(db_url, tmp_path)
    assert CliRunner().invoke(cli.app, ["--database-url", db_url, "compare", "--source", "finance", "--period", P,
                                        str(f)]).exit_code == 0
    _interrupt_when(monkeypatch, pipeline, "_still_open", lambda *a: True)
    r = CliRunner().invoke(cli.app, ["--database-url", db_url, "compare", "--source", "finance", "--period", P, str(f)])
    assert r.exit_code == 130 and "were not committed" in r.output, r.output
    assert sorted(s for s, _ in _runs(db_url)) == ["FAILED", "SUCCEEDED"]

