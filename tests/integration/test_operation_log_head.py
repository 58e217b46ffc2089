"""The operation log's chain head, written on PostgreSQL in the statement that inserts the entries
(hub.adapters.operation_log.append): a session that appends again reads the head it wrote, and concurrent writers
neither fork the chain nor lose an entry."""

from __future__ import annotations

import threading

from hub.adapters.database import connect
from hub.adapters.operation_log import verify
from hub.service_layer.unit_of_work import UnitOfWork


def _verified(db) -> tuple[int, list[str]]:
    with db.read_session() as s:
        report = verify(s, key=db.audit_key)
    return report.checked, report.problems


def test_a_unit_of_work_that_commits_twice_continues_the_chain_from_the_head_it_wrote(pg_url):
    db = connect(pg_url)
    try:
        checked, _ = _verified(db)
        with UnitOfWork(db, actor="test") as uow:
            uow.record("test.first", "test", "1")
            uow.commit()
            uow.record("test.second", "test", "2")
            uow.commit()  # the session still holds the head row it read (expire_on_commit=False)
        assert _verified(db) == (checked + 2, [])
    finally:
        db.dispose()


def test_concurrent_writers_neither_fork_the_chain_nor_lose_an_entry(pg_url):
    db = connect(pg_url)
    try:
        checked, _ = _verified(db)
        writers, each = 6, 25
        errors: list[BaseException] = []
        start = threading.Barrier(writers)

        def write(w: int) -> None:
            try:
                start.wait(10)
                for i in range(each):
                    with UnitOfWork(db, actor=f"writer:{w}") as uow:
                        uow.record("test.concurrent", "test", f"{w}-{i}")
                        if i % 5 == 0:
                            uow.record("test.concurrent.more", "test", f"{w}-{i}")
                        uow.commit()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        assert _verified(db) == (checked + writers * each + writers * (each // 5), [])
    finally:
        db.dispose()
