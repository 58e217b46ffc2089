"""Issue 18 (session 10): a compiled read's access-log write (its INSERT and the COMMIT that waits for PostgreSQL's
WAL flush) ran on the event loop's thread (hub/api/context.py ``HubContext.aclose``), so while it waited no other
request was served — the lookup stalls of docs/bench-graphql.md ("Session 10: lookup"). A writer thread fixed it
but measured worse under CPU contention (one more GIL hand-off per request); the compiled path now writes and
commits its reads in the worker thread that already runs its statement (hub/api/compiled ``_run``): no extra hop."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import date

import httpx
import pytest
from sqlalchemy import select, text

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.adapters.orm import AccessLogRow
from hub.api.app import create_app
from hub.service_layer.tokens import create_token
from tests.factories import id_number
from tests.integration.registry_helpers import make_person

KEY = b"session-10 audit key for the tests"


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


def test_a_lookup_waiting_for_its_log_write_does_not_hold_up_other_requests(pg_url):
    """The old flush ran its INSERT and COMMIT on the event loop: while it waited (here: for the head's lock; in the
    bench: for PostgreSQL's WAL flush) no other request was served. Fails with the write back in ``aclose``."""
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


def test_a_compiled_read_whose_log_write_fails_is_answered_once_and_logged_once(pg_url, monkeypatch):
    """The compiled path's write fails (the database refuses it once): the general path answers, notes its own reads
    and writes them at the operation's end — the compiled reads are not left behind to be written twice."""
    from hub.api import access

    db = connect(pg_url, audit_key=KEY)
    idn = make_person(db, name="李四")
    _, token = create_token(db, role="POLICE", name="police")
    app = create_app(db)
    real, calls = access.write_reads, []

    def flaky(*args, **kwargs):
        calls.append(len(kwargs["reads"]))
        if len(calls) == 1:
            raise RuntimeError("the database refused the write")
        return real(*args, **kwargs)

    monkeypatch.setattr(access, "write_reads", flaky)
    lookup = {"query": "query L($id: String!) { person(idNumber: $id) { idNumber name } }", "variables": {"id": idn}}
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "case 2"}

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub", timeout=30) as c:
            return await c.post("/graphql", json=lookup, headers=headers)

    try:
        r = asyncio.run(scenario())
        assert r.status_code == 200 and r.json() == {"data": {"person": {"idNumber": idn, "name": "李四"}}}
        assert calls == [1, 1]  # the compiled write (refused), then the general path's, with one read each
        with db.read_session() as s:
            rows = s.scalars(select(AccessLogRow).where(AccessLogRow.id_number == idn)).all()
            assert access_chain.verify(s, key=KEY).ok
        assert [(r.field, r.purpose, r.outcome) for r in rows] == [("Query.person", "case 2", None)]
    finally:
        db.dispose()


def _ws_init(ws, token: str, purpose: str) -> None:
    ws.send_text(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}",
                                                                    "X-Purpose": purpose}}))
    assert json.loads(ws.receive_text())["type"] == "connection_ack"


def test_the_operations_of_one_websocket_write_their_compiled_reads_apart(pg_url, caplog):
    """graphql-transport-ws: strawberry makes one context per connection and runs its operations at the same time.
    The compiled path wrote on the context's session and flushed the context's reads from each operation's thread:
    the threads' statements, commits and rollbacks mixed on one session (every lookup failed and fell back to the
    general path), and one operation's flush took — or, refused, dropped — another's reads. Each compiled operation
    now has a session and reads of its own: all answered compiled, each read logged once, the chain verifies."""
    from starlette.testclient import TestClient

    caplog.set_level("INFO")
    db = connect(pg_url, audit_key=KEY)
    idns = [make_person(db, name=f"王{i}") for i in range(8)]
    nobody = id_number(date(1990, 3, 7), True)  # valid, nobody registered
    _, token = create_token(db, role="POLICE", name="police")
    app = create_app(db)
    q = "query L($id: String!) { person(idNumber: $id) { idNumber name } }"
    try:
        with TestClient(app) as client, \
                client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            _ws_init(ws, token, "ws case")
            for i, idn in enumerate([*idns, nobody]):
                ws.send_text(json.dumps({"id": str(i), "type": "subscribe",
                                         "payload": {"query": q, "variables": {"id": idn}}}))
            messages: list = []
            while sum(m["type"] == "complete" for m in messages) < len(idns) + 1:
                messages.append(json.loads(ws.receive_text()))
        answers = {int(m["id"]): m["payload"] for m in messages if m["type"] == "next"}
        assert answers == {**{i: {"data": {"person": {"idNumber": idn, "name": f"王{i}"}}} for i, idn in enumerate(idns)},
                           len(idns): {"data": {"person": None}}}
        failed = [r.getMessage() for r in caplog.records if r.name == "hub.api.compiled"]
        assert failed == [], failed
        with db.read_session() as s:
            report = access_chain.verify(s, key=KEY)
            rows = s.scalars(select(AccessLogRow).order_by(AccessLogRow.id)).all()
        assert report.ok, report.problems
        assert sorted((r.id_number, r.outcome, r.purpose) for r in rows) == sorted(
            [(idn, None, "ws case") for idn in idns] + [(nobody, "NOT_FOUND", "ws case")])
        assert [r.id for r in rows] == list(range(1, len(idns) + 2))
        assert db.read_engine.pool.checkedout() == 0
    finally:
        db.dispose()


def test_a_compiled_read_cancelled_while_its_log_is_written_logs_once_and_returns_its_connection(pg_url):
    """The client ends the operation (graphql-transport-ws ``complete``; strawberry cancels its task) while the
    worker thread waits to write the read's log: the thread runs on — the read is logged (although the answer is
    never sent: more in the log, never less), once — and its connection goes back to the pool."""
    from starlette.testclient import TestClient

    db = connect(pg_url, audit_key=KEY, pool_size=2)
    idn = make_person(db, name="赵六")
    _, token = create_token(db, role="POLICE", name="police")
    app = create_app(db)
    q = "query L($id: String!) { person(idNumber: $id) { idNumber name } }"
    try:
        with TestClient(app) as client, \
                client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            _ws_init(ws, token, "ws cancel")
            lock = _HeadLocked(pg_url)
            try:
                ws.send_text(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": q, "variables": {"id": idn}}}))
                time.sleep(0.5)  # the statement has run; its log write waits for the head's lock
                ws.send_text(json.dumps({"id": "1", "type": "complete"}))
                time.sleep(0.3)
            finally:
                lock.release()
            # the connection still works: a second lookup on it is answered and logged
            ws.send_text(json.dumps({"id": "2", "type": "subscribe", "payload": {"query": q, "variables": {"id": idn}}}))
            messages: list = []
            while not any(m["type"] == "complete" and m["id"] == "2" for m in messages):
                messages.append(json.loads(ws.receive_text()))
        assert [m["id"] for m in messages if m["type"] == "next"] == ["2"]
        deadline = time.monotonic() + 10
        while db.read_engine.pool.checkedout() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.read_engine.pool.checkedout() == 0
        with db.read_session() as s:
            report = access_chain.verify(s, key=KEY)
            rows = s.scalars(select(AccessLogRow).where(AccessLogRow.id_number == idn)).all()
        assert report.ok, report.problems
        assert [(r.id, r.purpose) for r in rows] == [(1, "ws cancel"), (2, "ws cancel")]
    finally:
        db.dispose()


def test_a_compiled_read_whose_commit_fails_is_answered_once_and_logged_once(pg_url, monkeypatch):
    """The access log's INSERT went through, its COMMIT fails: the compiled answer is dropped with its rolled-back
    rows, the general path answers and logs the read; the chain verifies, numbered without a gap, and the next
    lookups (the chain head's hint of this process untouched by the failed write) log as usual."""
    from sqlalchemy.exc import OperationalError

    from hub.api import access

    db = connect(pg_url, audit_key=KEY, pool_size=1)
    idn = make_person(db, name="孙七")
    _, token = create_token(db, role="POLICE", name="police")
    app = create_app(db)
    real, calls = access.write_reads, []

    def commit_fails_once(*args, **kwargs):
        calls.append(len(kwargs["reads"]))
        session = kwargs["session"]
        if len(calls) == 2:  # the second lookup's compiled write (the first set the head's hint)
            def refused():
                raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

            session.commit = refused
        return real(*args, **kwargs)

    monkeypatch.setattr(access, "write_reads", commit_fails_once)
    lookup = {"query": "query L($id: String!) { person(idNumber: $id) { idNumber name } }", "variables": {"id": idn}}
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "case 3"}

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub", timeout=30) as c:
            return [await c.post("/graphql", json=lookup, headers=headers) for _ in range(4)]

    try:
        answers = asyncio.run(scenario())
        assert [r.json() for r in answers] == [{"data": {"person": {"idNumber": idn, "name": "孙七"}}}] * 4
        assert calls == [1, 1, 1, 1, 1]  # the refused compiled write, then the general path's
        with db.read_session() as s:
            report = access_chain.verify(s, key=KEY)
            rows = s.scalars(select(AccessLogRow).order_by(AccessLogRow.id)).all()
        assert report.ok, report.problems
        assert [(r.id, r.id_number, r.purpose) for r in rows] == [(i, idn, "case 3") for i in range(1, 5)]
        assert db.read_engine.pool.checkedout() == 0
    finally:
        db.dispose()


def test_concurrent_compiled_lookups_and_pages_on_a_small_pool_log_every_read_once(pg_url, caplog):
    """Lookups (some finding nobody), units pages and requests with a part the compiled path does not answer, all
    at once on a pool of one connection (and one overflow): every request answered without error, every read in
    the log once, numbered 1..n, the chain verifies, no connection left checked out, no compiled fallback."""
    import random

    from tests.integration.registry_helpers import hire, make_unit

    caplog.set_level("INFO")
    db = connect(pg_url, audit_key=KEY, pool_size=1)
    people = []
    for u in (make_unit(db, approved={"ADMINISTRATIVE": 40}) for _ in range(3)):
        for i in range(20):
            people.append(make_person(db, name=f"员{i}", birth=date(1970 + len(people) // 12, 1 + len(people) % 12, 1)))
            hire(db, people[-1], u)
    nobody = id_number(date(1991, 1, 1), True)
    _, police = create_token(db, role="POLICE", name="police")
    _, admin = create_token(db, role="ADMIN", name="admin")
    app = create_app(db)
    lookup = "query L($id: String!) { person(idNumber: $id) { idNumber name } }"
    page = ("query Page { units(first: 100) { edges { node { code postings(first: 50) { totalCount "
            "edges { node { category person { idNumber name } } } } } } } }")
    mixed = "query M($id: String!) { person(idNumber: $id) { idNumber name } mismatchStats { total } }"
    hp = {"Authorization": f"Bearer {police}", "X-Purpose": "load"}
    ha = {"Authorization": f"Bearer {admin}", "X-Purpose": "load"}
    requests = ([({"query": lookup, "variables": {"id": people[i % len(people)]}}, hp) for i in range(40)]
                + [({"query": lookup, "variables": {"id": nobody}}, hp)] * 4 + [({"query": page}, ha)] * 5
                + [({"query": mixed, "variables": {"id": people[i]}}, ha) for i in range(4)])
    random.Random(7).shuffle(requests)

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub", timeout=60) as c:
            return await asyncio.gather(*(c.post("/graphql", json=body, headers=h) for body, h in requests))

    try:
        answers = asyncio.run(scenario())
        assert all(r.status_code == 200 and "errors" not in r.json() for r in answers), [r.text[:200] for r in answers]
        assert [r.getMessage() for r in caplog.records if r.name == "hub.api.compiled"] == []
        with db.read_session() as s:
            report = access_chain.verify(s, key=KEY)
            rows = s.scalars(select(AccessLogRow).order_by(AccessLogRow.id)).all()
        assert report.ok, report.problems
        assert [r.id for r in rows] == list(range(1, 40 + 4 + 5 * len(people) + 4 + 1))
        assert sum(r.outcome == "NOT_FOUND" for r in rows) == 4
        assert db.read_engine.pool.checkedout() == 0
    finally:
        db.dispose()
