"""The finance view's partitions under concurrency (PostgreSQL): the lock order of comparisons and connectors, and a
comparison that cannot attach its partition because a reader holds the DEFAULT one."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from hub.adapters import payroll_partitions
from hub.adapters.database import connect
from hub.adapters.payroll_partitions import partition_name
from hub.service_layer.comparison.pipeline import run_compare
from connectors.spec import partner_row
from hub.service_layer.partner_events import apply_events
from hub.service_layer.reconcile import GLOBAL_LOCK_KEY
from hub.service_layer.unit_of_work import UnitOfWork
from tests import events as ev
from tests.integration.registry_helpers import hire, make_person, make_unit

P = "2026-10"


def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _city(db, n: int = 6):
    unit = make_unit(db, approved={"ADMINISTRATIVE": n})
    people = [make_person(db, birth=date(1980 + i, 1 + i, 1 + i), name=f"张{'一二三四五六七八九十'[i]}") for i in range(n)]
    for idn in people:
        hire(db, idn, unit)
    return unit, people


def _snapshot(path, unit, people, names):
    rows = [f"{idn},{names[idn]},{unit},{P},8000.00" for idn in people[1:]]  # the first is not paid: UNPAID_POSTING
    path.write_text("id_number,name,unit_code,period,gross_amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _names(url) -> dict:
    eng = _engine(url)
    with eng.connect() as c:
        out = dict(c.execute(text("SELECT id_number, name FROM persons")).all())
    eng.dispose()
    return out


def test_a_connector_batch_waits_for_a_comparison_before_it_touches_a_partner_view(pg_url):
    """A comparison holds the global reconciliation lock and then locks the DEFAULT partition exclusively (attaching
    its period's partition); a connector batch must take the reconciliation lock first, or the two deadlock."""
    db = connect(pg_url)
    unit, people = _city(db, 1)
    event = ev.translated(ev.paid(people[0], "张一", unit, period="2026-11"))
    comparison = _engine(pg_url).connect()
    done = threading.Event()
    failures = []

    def batch():
        try:
            with UnitOfWork(db, actor="connector:finance") as uow:
                apply_events(uow, partner_row=partner_row, events=[event], plain=True)
                uow.commit()
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(e)
        done.set()

    try:
        comparison.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": GLOBAL_LOCK_KEY})  # as a comparison does
        t = threading.Thread(target=batch)
        t.start()
        time.sleep(0.5)
        assert not done.is_set()  # the batch waits for the comparison
        # ... holding no lock on the finance view: the comparison can lock its DEFAULT partition at once
        comparison.execute(text("SET LOCAL lock_timeout = 2000"))
        comparison.execute(text("LOCK TABLE partner_payroll_default IN ACCESS EXCLUSIVE MODE"))
        comparison.commit()
        t.join(30)
        assert done.is_set() and not failures, failures
        with db.read_engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM partner_payroll WHERE period = '2026-11'")).scalar() == 1
    finally:
        comparison.close()
        db.dispose()


def test_a_reader_holding_the_default_partition_makes_the_comparison_write_row_by_row(pg_url, tmp_path, monkeypatch):
    db = connect(pg_url)
    unit, people = _city(db)
    snap = _snapshot(tmp_path / "finance.csv", unit, people, _names(pg_url))
    monkeypatch.setattr(payroll_partitions, "LOCK_TIMEOUT_MS", 300)
    reader = _engine(pg_url).connect()
    try:
        reader.execute(text("SELECT count(*) FROM partner_payroll_default")).scalar()  # its transaction stays open
        report = run_compare(db, source="finance", period=P, path=snap)
        reader.rollback()
        assert report.method == "staged" and report.rows == len(people) - 1
        assert report.tally.opened.get("UNPAID_POSTING") == 1
        with db.read_engine.connect() as c:
            assert c.execute(text("SELECT to_regclass(:t)"), {"t": partition_name(P)}).scalar() is None  # no leftover
            lines = c.execute(text("SELECT count(*) FROM partner_payroll_default WHERE period = :p"), {"p": P}).scalar()
            assert lines == len(people) - 1
        # without the reader, the next period's snapshot becomes a partition of its own
        nxt = tmp_path / "next.csv"
        nxt.write_text(snap.read_text(encoding="utf-8").replace(P, "2026-11"), encoding="utf-8")
        run_compare(db, source="finance", period="2026-11", path=nxt)
        with db.read_engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM partner_payroll_2026_11")).scalar() == len(people) - 1
    finally:
        reader.close()
        db.dispose()


@pytest.mark.parametrize("period", ["2026-1'", "2026-13", "x"])
def test_a_partition_name_needs_a_period(period):
    with pytest.raises(ValueError, match="must be YYYY-MM"):
        partition_name(period)


def test_a_name_correction_waits_for_a_connector_before_it_locks_the_persons_row(pg_url):
    """Every writer takes the reconciliation locks before row locks: a connector batch holds a person's lock and
    then updates the person's row (police verification); a correction of the person must wait for the batch
    before it locks that row, or the two deadlock."""
    from hub.domain.registry import Person
    from hub.service_layer import registry_changes
    from hub.service_layer.reconcile import person_lock_key

    db = connect(pg_url)
    idn = make_person(db, name="张一")
    connector = _engine(pg_url).connect()
    done, failures = threading.Event(), []

    def correct():
        try:
            with UnitOfWork(db, actor="office") as uow:
                registry_changes.register_person(uow, person=Person.new(id_number=idn, name="张壹", education="BACHELOR"),
                                         effective=date(2026, 1, 1))
                uow.commit()
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(e)
        done.set()

    try:
        connector.execute(text("SELECT pg_advisory_xact_lock_shared(:g), pg_advisory_xact_lock(:k)"),
                          {"g": GLOBAL_LOCK_KEY, "k": person_lock_key(idn)})  # as lock_persons does
        t = threading.Thread(target=correct)
        t.start()
        time.sleep(0.5)
        assert not done.is_set()  # the correction waits for the batch ...
        connector.execute(text("SET LOCAL lock_timeout = 2000"))  # ... holding no lock on the person's row
        connector.execute(text("UPDATE persons SET name = name WHERE id_number = :i"), {"i": idn})
        connector.commit()
        t.join(30)
        assert done.is_set() and not failures, failures
        with db.read_engine.connect() as c:
            assert c.execute(text("SELECT name FROM persons WHERE id_number = :i"), {"i": idn}).scalar() == "张壹"
    finally:
        connector.close()
        db.dispose()


def test_a_table_named_like_a_partition_is_not_one_until_attached(pg_url):
    from hub.adapters.payroll_partitions import attach, has_partition, written_to

    db = connect(pg_url)
    try:
        with db.session() as s:
            s.execute(text("CREATE TABLE partner_payroll_2026_12 (LIKE partner_payroll INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
            assert not has_partition(s, "2026-12") and written_to(s, "2026-12") == "partner_payroll_default"
            assert attach(s, "2026-12")
            assert has_partition(s, "2026-12") and written_to(s, "2026-12") == "partner_payroll_2026_12"
            assert s.execute(text("SELECT current_setting('lock_timeout')")).scalar() == "0"  # restored
            s.rollback()
    finally:
        db.dispose()


def test_an_error_among_the_parallel_joins_is_reported_as_itself(pg_url):
    from sqlalchemy.exc import DataError

    from hub.service_layer.comparison.recheck_selection import both_cores

    db = connect(pg_url)
    try:
        with db.session() as s, pytest.raises(DataError, match="division by zero"):
            with both_cores(s):
                s.execute(text("SELECT 1 / 0"))
    finally:
        db.dispose()
