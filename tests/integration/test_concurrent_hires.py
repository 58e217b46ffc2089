"""Quota checks hold under concurrency: 20 simultaneous hires at a unit with 5 free slots, exactly 5 succeed."""

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from hub.adapters.database import connect
from hub.adapters.orm import PostingRow
from hub.domain.registry import QuotaExhausted
from hub.service_layer import registry_changes
from hub.service_layer.unit_of_work import UnitOfWork
from tests.integration.registry_helpers import hire, make_person, make_unit


def _race(url):
    db = connect(url, pool_size=25)
    try:
        unit = make_unit(db, approved={"ADMINISTRATIVE": 7})
        for _ in range(2):
            hire(db, make_person(db), unit)  # 5 slots left
        persons = [make_person(db) for _ in range(20)]
        barrier = threading.Barrier(20)
        results: list[str] = []
        lock = threading.Lock()

        def attempt(idn):
            barrier.wait()
            try:
                with UnitOfWork(db, actor="test") as uow:
                    registry_changes.start_posting(uow, id_number=idn, unit_code=unit, category="ADMINISTRATIVE", start_date=date(2024, 1, 1))
                    uow.commit()
                outcome = "ok"
            except QuotaExhausted:
                outcome = "full"
            except Exception as e:  # noqa: BLE001
                outcome = f"error: {e!r}"
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=attempt, args=(p,)) for p in persons]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with db.read_session() as s:
            active = s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.unit_code == unit, PostingRow.active))
        return results, active
    finally:
        db.dispose()


def test_twenty_concurrent_hires_into_five_free_slots_on_postgres(pg_url):
    results, active = _race(pg_url)
    assert results.count("ok") == 5, results
    assert results.count("full") == 15, results
    assert active == 7


def test_twenty_concurrent_hires_into_five_free_slots_on_sqlite(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "race.sqlite3"
    shutil.copy(sqlite_template, path)
    results, active = _race(f"sqlite:///{path}")
    assert results.count("ok") == 5, results
    assert results.count("full") == 15, results
    assert active == 7
