"""Attacks on graphql-transport-ws operations running on contexts of their own (``HubContext.for_operation``, made by
``FlushAccessLog``; session 11 review of 4755821), each over a real uvicorn server and the ``websockets`` client:

- a subscription's event runs its selection *after* the resolver wrote the reads of what it yields: person data
  under ``mismatchEvents { unit { postings … person { name } } }`` went out unlogged (written with the next event —
  after it — or never), each subscription held a read connection from its first event to its end (one socket's
  subscriptions could empty the pool), and its DataLoaders kept serving the unit as it was at the first event;
- a client's ``complete`` (or its socket closing) during its operation's threaded access-log write: the operation's
  end closed the read session under the write — the chain then named a seal that does not exist and every later
  write collided with the orphan rows (no person could be read any more, on any connection);
- a revoked token's open socket went on answering queries and mutations (HTTP answers 401);
- and, kept as a regression test of 4755821 itself: one socket's query sees its mutation's write (the connection's
  DataLoaders once served the row as it was before)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import date

import pytest
import websockets
from sqlalchemy import select

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.adapters.orm import AccessLogRow
from hub.api.app import create_app
from hub.api.execution import HubExecutionContext
from hub.service_layer.tokens import create_token, revoke_token
from tests import events as ev
from tests.factories import id_number
from tests.integration.registry_helpers import apply, hire, make_person, make_unit
from tests.integration.test_websocket_operation_context import KEY, LOOKUP, _Server

FEED = ("subscription Feed{n} {{ mismatchEvents{purpose} {{ kind unit {{ code name postings(first: 10) {{ edges {{ node {{ "
        "person {{ idNumber name }} }} }} }} }} }} }}")
UNIT = "query U($code: String!) { unit(code: $code) { name } }"
RENAME = ("mutation R($code: String!, $name: String!) { updateUnit(code: $code, changes: {name: $name}, "
          "effectiveDate: \"2026-01-01\") { __typename ... on UnitPayload { unit { name } } } }")
# a lookup and a units page in one operation: the lookup opens the DataLoaders' read session, the page's 210 reads
# make the access-log write threaded (HubContext.THREADED_FLUSH_FROM) — on that session
MIXED = ("query Mixed($id: String!) { person(idNumber: $id) { idNumber name } units(first: 100) { edges { node { "
         "code postings(first: 100) { edges { node { person { idNumber name } } } } } } } }")


class _Socket:
    """One graphql-transport-ws connection; messages kept by operation id."""

    def __init__(self, ws):
        self.ws, self.by_id = ws, {}

    @classmethod
    async def open(cls, port: int, token: str, purpose: str) -> "_Socket":
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],
                                  ping_interval=None)
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {token}", "X-Purpose": purpose}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "connection_ack"
        return cls(ws)

    async def send(self, op_id: str, query: str, variables: dict | None = None) -> None:
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe",
                                       "payload": {"query": query, "variables": variables or {}}}))

    async def complete(self, op_id: str) -> None:
        await self.ws.send(json.dumps({"id": op_id, "type": "complete"}))

    async def until(self, done, timeout: float = 30) -> None:
        """Receive until ``done(by_id)`` holds."""
        deadline = time.monotonic() + timeout
        while not done(self.by_id):
            m = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.1, deadline - time.monotonic())))
            self.by_id.setdefault(m["id"], []).append(m)

    async def answer(self, op_id: str, query: str, variables: dict | None = None) -> list[dict]:
        """Send an operation and wait for its ``complete``: its next/error messages."""
        await self.send(op_id, query, variables)
        await self.until(lambda seen: any(m["type"] in ("complete", "error") for m in seen.get(op_id, ())))
        return [m for m in self.by_id[op_id] if m["type"] != "complete"]


def _log(db) -> list[tuple]:
    with db.read_session() as s:
        report = access_chain.verify(s, key=KEY)
        rows = s.scalars(select(AccessLogRow).order_by(AccessLogRow.id)).all()
    assert report.ok, report.problems
    return [(r.id_number, r.field, r.purpose) for r in rows]


def test_each_event_of_a_subscription_logs_its_person_reads_before_it_arrives_holds_no_connection_and_reads_afresh(
        db_url):
    """Three subscriptions on one socket select the holders of each mismatch's unit. When an event arrives its
    holder's read is already in the access log (the connection's purpose, or the subscription's own argument); between
    events no read connection is held; the second event shows the unit renamed (by a mutation on the same socket)
    after the first. Before: the log was empty — after the events and after the subscriptions ended —, three
    connections were checked out while they were open, and the second event still had the old name."""
    db = connect(db_url, audit_key=KEY)
    unit = make_unit(db, name="杭州市旧名局")
    holder = make_person(db, name="王五")
    hire(db, holder, unit)
    _, token = create_token(db, role="ADMIN", name="admin")
    feeds = {"s0": FEED.format(n=0, purpose=""), "s1": FEED.format(n=1, purpose=""),
             "s2": FEED.format(n=2, purpose='(purpose: "subscription case")')}

    def events(seen, n):
        return all(sum(m["type"] == "next" for m in seen.get(s, ())) >= n for s in feeds)

    async def scenario(port):
        sock = await _Socket.open(port, token, "connection case")
        try:
            for op_id, query in feeds.items():
                await sock.send(op_id, query)
            await asyncio.sleep(0.8)  # each subscription has read where the outbox ends
            await asyncio.to_thread(apply, db, ev.paid(id_number(), "无名", unit))
            await sock.until(lambda seen: events(seen, 1))
            logged_at_first = _log(db)
            held_between = []  # the fewest connections out over a second: each subscription polls the outbox
            for _ in range(50):  # every 0.2 s on a connection of its own, briefly (its DataLoaders' one stays out)
                await asyncio.sleep(0.02)
                held_between.append(db.read_engine.pool.checkedout())
            held_between = min(held_between)
            renamed = await sock.answer("m", RENAME, {"code": unit, "name": "杭州市新名局"})
            await asyncio.to_thread(apply, db, ev.paid(id_number(), "无名", unit))
            await sock.until(lambda seen: events(seen, 2))
            logged_at_second = _log(db)
            for op_id in feeds:
                await sock.complete(op_id)
        finally:
            await sock.ws.close()
        return sock.by_id, logged_at_first, held_between, renamed, logged_at_second

    try:
        with _Server(create_app(db)) as server:
            seen, logged_at_first, held_between, renamed, logged_at_second = asyncio.run(scenario(server.port))
        one_event = [(holder, "Posting.person", "connection case")] * 2 + [(holder, "Posting.person", "subscription case")]
        assert sorted(logged_at_first) == sorted(one_event)
        assert held_between == 0
        assert sorted(logged_at_second) == sorted(one_event * 2)
        assert renamed == [{"id": "m", "type": "next", "payload": {"data": {"updateUnit": {
            "__typename": "UnitPayload", "unit": {"name": "杭州市新名局"}}}}}]
        for op_id in feeds:
            first, second = (m["payload"] for m in seen[op_id] if m["type"] == "next")
            for event, name in ((first, "杭州市旧名局"), (second, "杭州市新名局")):
                assert event == {"data": {"mismatchEvents": {"kind": "GHOST_PAYROLL", "unit": {
                    "code": unit, "name": name,
                    "postings": {"edges": [{"node": {"person": {"idNumber": holder, "name": "王五"}}}]}}}}}
        deadline = time.monotonic() + 10
        while db.read_engine.pool.checkedout() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.read_engine.pool.checkedout() == 0
        assert sorted(_log(db)) == sorted(one_event * 2)
    finally:
        db.dispose()


@pytest.mark.parametrize("ending", ["complete", "socket closed"])
def test_a_client_ending_its_operation_during_the_threaded_log_write_leaves_the_access_log_whole(pg_url, monkeypatch,
                                                                                                  ending):
    """A client sends ``complete`` for its operation (or closes its socket) while the operation's 211 reads are
    being written in a thread (the write is held just after its seal, to hit the moment every time). Before, the
    operation's end closed the read session under the write: the seal and the head rolled back, the rows were
    committed anyway on a new connection — ``access_chain.verify`` found rows naming a seal that does not exist —
    and every later person read, on any connection, was "Unexpected error." (its rows collided with the orphans).
    Now the cancellation waits for the write: the log is whole and a later lookup is answered and logged."""
    monkeypatch.setattr(HubExecutionContext, "compiled_reads", False)  # the general path (the compiled one writes
    db = connect(pg_url, audit_key=KEY)                                 # on a session of its own, in its thread)
    people = []
    for _ in range(3):
        unit = make_unit(db, approved={"ADMINISTRATIVE": 80})
        for _ in range(70):
            n = len(people)
            people.append(make_person(db, name=f"员{n}", birth=date(1960 + n % 30, 1 + n % 12, 1 + n % 28)))
            hire(db, people[-1], unit)
    _, token = create_token(db, role="ADMIN", name="admin")
    sealed = threading.Event()
    seal_head = access_chain.seal_head

    def held_after_sealing(session, **kw):
        head = seal_head(session, **kw)
        if not sealed.is_set():  # the first write: the operation's
            sealed.set()
            time.sleep(1.0)
        return head

    monkeypatch.setattr(access_chain, "seal_head", held_after_sealing)

    async def scenario(port):
        sock = await _Socket.open(port, token, "ws case 9")
        await sock.send("page", MIXED, {"id": people[1]})
        while not sealed.is_set():
            await asyncio.sleep(0.005)
        if ending == "complete":
            await sock.complete("page")
            await asyncio.sleep(1.5)
        else:
            await sock.ws.close()
            sock = await _Socket.open(port, token, "ws case 9")
        try:
            return await sock.answer("q", LOOKUP, {"id": people[0]})
        finally:
            await sock.ws.close()

    try:
        with _Server(create_app(db)) as server:
            answer = asyncio.run(scenario(server.port))
        assert answer == [{"id": "q", "type": "next", "payload": {"data": {"person": {"idNumber": people[0],
                                                                                      "name": "员0"}}}}]
        logged = _log(db)  # verifies the chain
        assert logged[-1] == (people[0], "Query.person", "ws case 9")
        assert sorted(logged[:-1]) == sorted([(people[1], "Query.person", "ws case 9")]
                                             + [(p, "Posting.person", "ws case 9") for p in people])
        assert db.read_engine.pool.checkedout() == 0
    finally:
        db.dispose()


def test_a_revoked_tokens_socket_is_refused_its_further_operations(db_url):
    """The token is revoked while its socket is open with a subscription: the next lookup and a mutation on that
    socket are refused (``UNAUTHENTICATED``, nothing read, nothing written) as HTTP would refuse them (401), and the
    subscription ends. Before, the socket went on reading persons and writing the registry with the revoked token."""
    db = connect(db_url, audit_key=KEY)
    unit = make_unit(db, name="杭州市测试局")
    idn = make_person(db, name="李四")
    token_id, token = create_token(db, role="ADMIN", name="admin")

    async def scenario(port):
        sock = await _Socket.open(port, token, "ws case 11")
        try:
            await sock.send("s", "subscription { mismatchEvents { kind } }")
            before = await sock.answer("q1", LOOKUP, {"id": idn})
            await asyncio.to_thread(revoke_token, db, token_id=token_id)
            after = await sock.answer("q2", LOOKUP, {"id": idn})
            mutation = await sock.answer("m", RENAME, {"code": unit, "name": "杭州市改名局"})
            await sock.until(lambda seen: any(m["type"] == "complete" for m in seen.get("s", ())), timeout=10)
            return before, after, mutation, sock.by_id["s"]
        finally:
            await sock.ws.close()

    try:
        with _Server(create_app(db)) as server:
            before, after, mutation, subscription = asyncio.run(scenario(server.port))
        assert before == [{"id": "q1", "type": "next", "payload": {"data": {"person": {"idNumber": idn, "name": "李四"}}}}]
        for refused in (after, mutation, [m for m in subscription if m["type"] != "complete"]):
            assert len(refused) == 1, refused
            payload = refused[0]["payload"]
            errors = payload if isinstance(payload, list) else payload["errors"]
            assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"], refused
            assert isinstance(payload, list) or payload.get("data") is None, refused
        assert _log(db) == [(idn, "Query.person", "ws case 11")]
        with db.read_session() as s:
            from hub.adapters.orm import UnitRow

            assert s.get(UnitRow, unit).name == "杭州市测试局"
    finally:
        db.dispose()


def test_a_query_after_a_mutation_on_one_socket_reads_what_it_wrote(db_url):
    """Query, mutation, query on one socket: the second query sees the mutation's write. Kept from 4755821 (each
    operation its own DataLoaders): with the connection's, the second query was answered from the first one's
    cached row — the unit's old name."""
    db = connect(db_url, audit_key=KEY)
    unit = make_unit(db, name="杭州市旧名局")
    _, token = create_token(db, role="ADMIN", name="admin")

    async def scenario(port):
        sock = await _Socket.open(port, token, "ws case 12")
        try:
            return [await sock.answer("q1", UNIT, {"code": unit}),
                    await sock.answer("m", RENAME, {"code": unit, "name": "杭州市新名局"}),
                    await sock.answer("q2", UNIT, {"code": unit})]
        finally:
            await sock.ws.close()

    try:
        with _Server(create_app(db)) as server:
            first, renamed, second = asyncio.run(scenario(server.port))
        assert [m["payload"] for m in first] == [{"data": {"unit": {"name": "杭州市旧名局"}}}]
        assert [m["payload"] for m in renamed] == [{"data": {"updateUnit": {"__typename": "UnitPayload",
                                                                           "unit": {"name": "杭州市新名局"}}}}]
        assert [m["payload"] for m in second] == [{"data": {"unit": {"name": "杭州市新名局"}}}]
    finally:
        db.dispose()


def test_a_failed_access_log_write_over_websocket_withholds_the_answer_once(db, monkeypatch, caplog):
    """The access log cannot be written: a lookup over graphql-transport-ws is answered as over HTTP — data null, one
    "Unexpected error.", one ERROR logged — and its reads, of an answer never sent, are not written afterwards. Guards
    ``FlushAccessLog.on_stream_result`` (which writes before each streamed result): after ``on_execute``'s failed
    write it wrote the same reads again — a second error in the answer, or the reads of a withheld answer logged."""
    import logging

    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    from hub.api import access

    idn = make_person(db, name="李四")
    token = create_token(db, role="ADMIN", name="a")[1]
    writes = []

    def failing_once(db, *, principal, reads, session=None):
        writes.append(list(reads))
        if len(writes) == 1:
            raise OperationalError("INSERT INTO access_log_batches …", {}, Exception("server closed the connection"))
        return write_reads(db, principal=principal, reads=reads, session=session)

    write_reads = access.write_reads
    monkeypatch.setattr(access, "write_reads", failing_once)
    monkeypatch.setattr(HubExecutionContext, "compiled_reads", False)  # refused, the compiled path hands over to this
    client = TestClient(create_app(db))
    with caplog.at_level(logging.INFO, logger="hub.api"), \
            client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}", "X-Purpose": "p"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "q", "type": "subscribe", "payload": {"query": LOOKUP, "variables": {"id": idn}}})
        answer = ws.receive_json()
        assert ws.receive_json() == {"id": "q", "type": "complete"}
    assert answer == {"id": "q", "type": "next", "payload": {"data": None, "errors": [
        {"message": "Unexpected error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}}
    failed = [r for r in caplog.records if r.levelno == logging.ERROR and "GraphQL operation failed" in r.getMessage()]
    assert len(failed) == 1, [r.getMessage() for r in caplog.records]
    assert len(writes) == 1 and _log(db) == []
