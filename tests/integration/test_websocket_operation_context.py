"""graphql-transport-ws: strawberry makes one context per *connection* and runs the connection's operations at the
same time, each in a task of its own. The hub's context held per-operation state — the DataLoaders' read session,
the person reads still to be logged, the purpose a subscription's ``purpose`` argument states — so on one socket:

- an operation's end closed the read session another operation was still reading on;
- a page's threaded access-log flush (≥ 200 reads) wrote and then cleared the shared list, dropping the reads the
  other operations noted meanwhile (answered, never logged);
- a subscription's ``purpose`` argument became the purpose of every later operation of the connection.

Each operation now runs on a context of its own (``HubContext.for_operation``, made by ``FlushAccessLog``), sharing
only the connection's caller, token and purpose. Served by a real uvicorn server and the ``websockets`` client, with
timeouts: the shared context once made this exchange hang."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import date

import pytest
import uvicorn
import websockets
from sqlalchemy import select

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.adapters.orm import AccessLogRow
from hub.api.app import create_app
from hub.api.execution import HubExecutionContext
from hub.service_layer.tokens import create_token
from tests.integration.registry_helpers import hire, make_person, make_unit

KEY = b"websocket operation context key"
LOOKUP = "query L($id: String!) { person(idNumber: $id) { idNumber name } }"
PAGE = ("query Page { units(first: 100) { edges { node { code postings(first: 100) { totalCount "
        "edges { node { category person { idNumber name } } } } } } } }")


class _Server:
    """The app on a real uvicorn server in a thread, on a free port."""

    def __init__(self, app):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    ws="websockets", lifespan="off",
                                                    ws_ping_interval=None))  # no keepalive timeout on a loaded machine
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(20)


async def _exchange(port: int, token: str, purpose: str, operations: list[dict], *, every_s: float = 0.0,
                    timeout: float = 60) -> dict:
    """Open one socket, send the operations ``every_s`` apart, collect each one's payloads until all completed."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],
                                  ping_interval=None) as ws:  # no keepalive timeout
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {token}", "X-Purpose": purpose}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), timeout))["type"] == "connection_ack"
        answers: dict = {str(i): [] for i in range(len(operations))}
        done: set = set()

        async def receive():
            while len(done) < len(operations):
                m = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                if m["type"] == "complete":
                    done.add(m["id"])
                elif m["type"] in ("next", "error"):
                    answers[m["id"]].append(m["payload"])

        receiving = asyncio.create_task(receive())
        for i, payload in enumerate(operations):
            await ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": payload}))
            await asyncio.sleep(every_s)
        await receiving
        return answers


def _log(db):
    with db.read_session() as s:
        report = access_chain.verify(s, key=KEY)
        rows = s.scalars(select(AccessLogRow).order_by(AccessLogRow.id)).all()
    assert report.ok, report.problems
    return rows


@pytest.mark.parametrize("compiled", [False, True], ids=["general path", "compiled path"])
def test_a_page_and_lookups_on_one_socket_are_each_answered_and_every_read_logged_once(pg_url, monkeypatch, compiled):
    """Two units pages of 240 holders (the threaded flush) and 60 lookups sent 10 ms apart on one socket, so that
    lookups start, note reads and end while a page is read and while its log is written: every answer complete
    and without error, each read in the log once with the connection's purpose, no connection left checked out.
    With the context shared, the general path answered lookups with "Unexpected error." (their session closed
    under them) or logged the page and dropped the lookups' reads."""
    monkeypatch.setattr(HubExecutionContext, "compiled_reads", compiled)
    db = connect(pg_url, audit_key=KEY)
    people = []
    for _ in range(3):
        unit = make_unit(db, approved={"ADMINISTRATIVE": 80})
        for i in range(80):
            n = len(people)
            people.append(make_person(db, name=f"员{n}", birth=date(1960 + n % 30, 1 + n % 12, 1 + n % 28)))
            hire(db, people[-1], unit)
    _, token = create_token(db, role="ADMIN", name="admin")
    lookups = people[::4]
    operations = [{"query": PAGE}, *({"query": LOOKUP, "variables": {"id": idn}} for idn in lookups[:30]),
                  {"query": PAGE}, *({"query": LOOKUP, "variables": {"id": idn}} for idn in lookups[30:])]
    try:
        with _Server(create_app(db)) as server:
            answers = asyncio.run(_exchange(server.port, token, "ws case 7", operations, every_s=0.01))
        for page in (answers.pop("0"), answers.pop("31")):
            assert len(page) == 1 and "errors" not in page[0], page
            held = sorted(e["node"]["person"]["idNumber"] for u in page[0]["data"]["units"]["edges"]
                          for e in u["node"]["postings"]["edges"])
            assert held == sorted(people)
        ids = [str(i) for i in range(1, 31)] + [str(i) for i in range(32, 32 + len(lookups) - 30)]
        assert answers == {i: [{"data": {"person": {"idNumber": idn, "name": f"员{people.index(idn)}"}}}]
                           for i, idn in zip(ids, lookups)}
        rows = _log(db)
        assert sorted(r.id_number for r in rows) == sorted(people + people + lookups)
        assert {r.purpose for r in rows} == {"ws case 7"}
        assert db.read_engine.pool.checkedout() == 0
    finally:
        db.dispose()


def test_a_subscriptions_purpose_argument_is_its_own_not_the_connections(db_url):
    """``mismatchEvents(purpose: …)`` states the purpose of what that subscription delivers. It was written onto the
    connection's context, so a lookup sent after it on the same socket was logged under the subscription's purpose
    instead of the one the connection stated."""
    db = connect(db_url, audit_key=KEY)
    idn = make_person(db, name="李四")
    _, token = create_token(db, role="ADMIN", name="admin")

    async def scenario(port):
        async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],
                                  ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {token}", "X-Purpose": "connection case"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {
                "query": 'subscription { mismatchEvents(purpose: "subscription case") { kind } }'}}))
            await asyncio.sleep(0.5)  # the subscription's resolver has started (and read its argument)
            await ws.send(json.dumps({"id": "q", "type": "subscribe",
                                      "payload": {"query": LOOKUP, "variables": {"id": idn}}}))
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if m["id"] == "q" and m["type"] == "next":
                    answer = m["payload"]
                if m["id"] == "q" and m["type"] == "complete":
                    break
            await ws.send(json.dumps({"id": "s", "type": "complete"}))
            return answer

    try:
        with _Server(create_app(db)) as server:
            answer = asyncio.run(scenario(server.port))
        assert answer == {"data": {"person": {"idNumber": idn, "name": "李四"}}}
        assert [(r.id_number, r.purpose) for r in _log(db)] == [(idn, "connection case")]
        deadline = time.monotonic() + 10  # the subscription's end returned its read session too
        while db.read_engine.pool.checkedout() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.read_engine.pool.checkedout() == 0
    finally:
        db.dispose()
