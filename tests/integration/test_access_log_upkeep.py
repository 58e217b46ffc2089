"""Session 9 review: the access log's GIN pending list (migration 0019's index of the batches' ID numbers) merged
in the background by `hub up` (hub.bootstrap.start_access_log_upkeep), so that no request pays the merge when the
list passes gin_pending_list_limit. Writers go on meanwhile; the chain verifies; the thread stops with the hub."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from sqlalchemy import text

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.api.access import write_reads
from hub.bootstrap import start_access_log_upkeep
from hub.domain.vocabulary import Role

POLICE = SimpleNamespace(token_id=1, actor="police", role=Role.POLICE)


def _write(db, k: int, n: int = 200) -> None:
    write_reads(db, principal=POLICE, reads=[(f"11010119900{k:03d}{i:04d}", "Op", "Query.person", "协查", None)
                                            for i in range(n)])


def _pending_pages(db) -> int:
    """Merges what is pending and says how many pages it was (so: call once per check)."""
    with db.engine.connect() as c:
        n = c.execute(text(f"SELECT gin_clean_pending_list('{access_chain.GIN_INDEX}'::regclass)")).scalar_one()
        c.commit()
    return n


def test_merge_empties_the_pending_list(pg_url):
    db = connect(pg_url)
    try:
        _write(db, 1)
        assert access_chain.merge_pending_reads(db) > 0
        assert access_chain.merge_pending_reads(db) == 0
    finally:
        db.dispose()


def test_hub_up_merges_in_the_background_while_requests_write_and_stops_with_the_hub(pg_url):
    db = connect(pg_url)
    hub = SimpleNamespace(db=db, stop_event=threading.Event(), threads=[])
    real = access_chain.MERGE_EVERY_S
    access_chain.MERGE_EVERY_S = 0.02
    try:
        start_access_log_upkeep(hub)
        (thread,) = hub.threads
        with ThreadPoolExecutor(4) as pool:  # writers go on while the list is merged
            list(pool.map(lambda k: _write(db, k, 50), range(40)))
        time.sleep(0.3)
        assert _pending_pages(db) == 0  # merged by the thread already
        with db.read_session() as s:
            report = access_chain.verify(s)
        assert report.ok and report.checked == 40 * 50, report.problems
        hub.stop_event.set()
        thread.join(timeout=2)
        assert not thread.is_alive()
    finally:
        access_chain.MERGE_EVERY_S = real
        hub.stop_event.set()
        db.dispose()


def test_a_failing_merge_is_retried_not_fatal(pg_url, monkeypatch):
    db = connect(pg_url)
    calls = []

    def flaky(_db):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database is restarting")
        return 0

    monkeypatch.setattr(access_chain, "merge_pending_reads", flaky)
    stop = threading.Event()
    t = threading.Thread(target=access_chain.keep_pending_reads_merged, args=(db, stop, 0.01))
    t.start()
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) >= 3
    finally:
        stop.set()
        t.join(timeout=2)
        db.dispose()


def test_sqlite_has_nothing_to_merge(tmp_path):
    from hub.adapters.database import migrate

    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    migrate(url)
    db = connect(url)
    try:
        hub = SimpleNamespace(db=db, stop_event=threading.Event(), threads=[])
        start_access_log_upkeep(hub)
        assert hub.threads == [] and access_chain.merge_pending_reads(db) == 0
    finally:
        db.dispose()


def test_a_database_user_that_does_not_own_the_index_stops_the_merge_once_with_a_warning(pg_url, caplog):
    """`gin_clean_pending_list` needs the index's owner: a hub running as a lesser user would fail every 5 s."""
    import uuid

    from sqlalchemy import create_engine

    role = f"hub_user_{uuid.uuid4().hex[:8]}"
    owner = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as c:
        c.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    db = connect(pg_url.replace("postgres@", f"{role}@", 1))
    stop = threading.Event()
    try:
        t = threading.Thread(target=access_chain.keep_pending_reads_merged, args=(db, stop, 0.01))
        t.start()
        t.join(timeout=5)
        assert not t.is_alive()  # stopped by itself
        assert [r for r in caplog.records if "does not own" in r.getMessage()]
    finally:
        stop.set()
        db.dispose()
        with owner.connect() as c:
            c.execute(text(f'DROP OWNED BY "{role}"'))
            c.execute(text(f'DROP ROLE "{role}"'))
        owner.dispose()
