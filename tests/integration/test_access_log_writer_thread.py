"""Issue 18 (session 10): a GraphQL request's person reads are written by the process's access-log writer
(hub.api.access.ReadLogWriter: one thread, group commit) instead of on the event loop. The answer still waits for
the commit; other requests are served meanwhile; requests that queued behind a slow COMMIT are written together;
one request's failed write fails only that request; the chain is the same one `hub audit verify` checks."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from sqlalchemy import func, select, text

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.adapters.orm import AccessLogRow
from hub.api.access import ReadLogWriter
from hub.api.app import create_app
from hub.domain.vocabulary import Role
from hub.service_layer.tokens import Principal, create_token
from tests.integration.registry_helpers import make_person

KEY = b"session-10 audit key for the tests"
POLICE = Principal(token_id=None, name="police", role=Role.POLICE)


def _reads(tag: str, n: int = 2):
    return [(f"{tag}{i:06d}", f"Op{tag}", "Query.person", "p", None) for i in range(n)]


class _HeadLocked:
    """Another connection holding the access chain head's row lock (as a writer in its COMMIT does) until release."""

    def __init__(self, url: str):
        self.db = connect(url, pool_size=1)
        self.conn = self.db.engine.connect()
        self.conn.execute(text("SELECT 1 FROM access_chain_head WHERE id = 1 FOR UPDATE"))

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.db.dispose()


def _Session(db, closed: list, name):
    """A request's read session with an open read transaction, noting when the writer closes it."""
    s = db.read_session()
    s.execute(text("SELECT 1"))
    close = s.close
    s.close = lambda: (closed.append(name), close())
    return s


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _transactions_of_seals(db) -> int:
    with db.read_session() as s:
        return s.scalar(text("SELECT count(DISTINCT xmin::text) FROM access_log_seals"))


def test_requests_queued_behind_a_slow_commit_are_written_in_one_transaction(pg_url):
    db = connect(pg_url, audit_key=KEY)
    writer = ReadLogWriter(db)
    try:
        writer.submit(POLICE, _reads("a")).result(10)  # the hint of the head is this process's now
        before = _transactions_of_seals(db)
        lock = _HeadLocked(pg_url)
        released = []
        first = writer.submit(POLICE, _reads("b"), session=_Session(db, released, "b"))
        time.sleep(0.3)  # the writer now waits for the head's lock with "b"
        queued = [writer.submit(POLICE, _reads(f"q{k}", 1 + k % 3), session=_Session(db, released, k))
                  for k in range(6)]
        time.sleep(0.2)
        assert not first.done() and not any(f.done() for f in queued)  # nobody answers before the log is durable
        lock.release()
        first.result(10)
        for f in queued:
            f.result(10)
        # "b" alone, then the six that queued meanwhile in one transaction (one COMMIT, not six)
        assert _transactions_of_seals(db) - before == 2
        _wait_for(lambda: len(released) == 7)  # closed right after the answers
        assert sorted(map(str, released)) == sorted(["b", *map(str, range(6))])
        with db.read_session() as s:
            report = access_chain.verify(s, key=KEY)
            ids = s.scalars(select(AccessLogRow.id).order_by(AccessLogRow.id)).all()
        total = 2 + 2 + sum(1 + k % 3 for k in range(6))
        assert report.ok and report.checked == total, report.problems
        assert ids == list(range(1, total + 1))
    finally:
        writer.close()
        db.dispose()


def test_a_failed_write_fails_only_its_own_request(pg_url):
    db = connect(pg_url, audit_key=KEY)
    writer = ReadLogWriter(db)
    try:
        lock = _HeadLocked(pg_url)
        blocker = writer.submit(POLICE, _reads("x"))
        time.sleep(0.3)
        closed: list = []
        good1 = writer.submit(POLICE, _reads("g1"), session=_Session(db, closed, "g1"))  # lent to the failing group
        bad = writer.submit(POLICE, [("nul\x00byte", "Op", "Query.person", "p", None)])  # PostgreSQL refuses NUL
        good2 = writer.submit(POLICE, _reads("g2"))
        time.sleep(0.2)
        lock.release()
        blocker.result(10)
        good1.result(10)
        good2.result(10)
        with pytest.raises(Exception):
            bad.result(10)
        writer.submit(POLICE, _reads("after")).result(10)  # the writer goes on
        _wait_for(lambda: closed == ["g1"])
        with db.read_session() as s:
            report = access_chain.verify(s, key=KEY)
            n = s.scalar(select(func.count()).select_from(AccessLogRow))
        assert report.ok, report.problems
        assert n == 8
    finally:
        writer.close()
        db.dispose()


def test_a_lookup_waiting_for_its_log_write_does_not_hold_up_other_requests(pg_url):
    """The old flush ran its INSERT and COMMIT on the event loop: while it waited (here: for the head's lock; in the
    bench: for PostgreSQL's WAL flush) no other request was served."""
    db = connect(pg_url, audit_key=KEY)
    idn = make_person(db, name="张三")
    _, token = create_token(db, role="POLICE", name="police")
    app = create_app(db)
    lookup = {"query": "query L($id: String!) { person(idNumber: $id) { idNumber name } }", "variables": {"id": idn}}
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "case 1"}

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub", timeout=30) as c:
            warm = await c.post("/graphql", json=lookup, headers=headers)  # the writer's thread and the head's hint
            assert warm.status_code == 200 and warm.json()["data"]["person"]["idNumber"] == idn
            lock = await asyncio.to_thread(_HeadLocked, pg_url)
            timer = threading.Timer(2.0, lock.release)  # not on the event loop: the old flush blocked it
            timer.start()
            try:
                t0 = time.monotonic()
                pending = asyncio.ensure_future(c.post("/graphql", json=lookup, headers=headers))
                await asyncio.sleep(0.3)
                # another request (no person read) is served while the lookup waits for its write
                other = await asyncio.wait_for(c.post("/graphql", json={"query": "{ __typename }"}, headers=headers), 5)
                assert other.status_code == 200 and other.json() == {"data": {"__typename": "Query"}}
                assert time.monotonic() - t0 < 1.5, "the other request waited for the lookup's log write"
                assert not pending.done()  # the lookup does not answer before its read is committed
            finally:
                timer.join()
            r = await asyncio.wait_for(pending, 10)
            assert r.status_code == 200 and r.json()["data"]["person"]["idNumber"] == idn

    try:
        asyncio.run(scenario())
        with db.read_session() as s:
            report = access_chain.verify(s, key=KEY)
            rows = s.scalars(select(AccessLogRow).where(AccessLogRow.id_number == idn)).all()
        assert report.ok, report.problems
        assert [(r.field, r.purpose, r.outcome) for r in rows] == [("Query.person", "case 1", None)] * 2
    finally:
        db.dispose()
    assert db.access_writer is None  # dispose stopped the writer's thread
    assert not any(t.name == "access-log-writer" and t.is_alive() for t in threading.enumerate())
