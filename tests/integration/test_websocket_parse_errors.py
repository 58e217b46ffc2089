"""Session-11 review of s11-lookup: a graphql-transport-ws operation whose document does not parse (a syntax error,
more tokens than HUB_GRAPHQL_MAX_TOKENS) gets strawberry's answer — the socket closed with 4400 and the error as its
reason — not a bare ``complete`` (the parser cache's hook raised the error outside strawberry's handling: the client
was told nothing and the server logged a worker-task traceback). A good operation still runs on a new socket."""

from __future__ import annotations

import asyncio
import json

import websockets

from hub.api.app import create_app
from hub.service_layer.tokens import create_token
from tests.integration.test_websocket_operation_context import _Server


async def _send(port: int, token: str, query: str, operation_name: str | None = None) -> tuple[list, int | None, str]:
    async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],
                                  ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": query, "operationName": operation_name}}))
        got = []
        try:
            while not any(m["type"] in ("complete", "error") for m in got):
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        except websockets.ConnectionClosed as closed:
            return got, closed.rcvd.code if closed.rcvd else None, closed.rcvd.reason if closed.rcvd else ""
        return got, None, ""


def test_a_document_that_does_not_parse_closes_the_socket_with_its_error(db, caplog):
    token = create_token(db, role="ADMIN", name="admin")[1]
    with _Server(create_app(db)) as server:
        got, code, reason = asyncio.run(_send(server.port, token, "{ __typename "))
        assert (got, code) == ([], 4400) and reason.startswith("Syntax Error: Expected Name"), (got, code, reason)
        many = "{ " + "__typename " * 6000 + "}"
        got, code, reason = asyncio.run(_send(server.port, token, many))
        assert (got, code) == ([], 4400) and "more than 5000 tokens" in reason, (got, code, reason)
        got, code, _ = asyncio.run(_send(server.port, token, "{ __typename }"))
        assert code is None and got[0]["payload"] == {"data": {"__typename": "Query"}}, got
    assert not [r for r in caplog.records if "Exception in worker task" in r.getMessage()]


def test_an_unknown_operation_name_closes_the_socket_with_its_reason_in_production_too(db, caplog):
    """An operationName the document lacks: strawberry closes the socket 4400 with the reason — in production it
    got "Unexpected error." instead (the error was classed a server failure, masked and logged at ERROR)."""
    import logging

    token = create_token(db, role="ADMIN", name="admin")[1]
    with _Server(create_app(db, production=True)) as server, caplog.at_level(logging.INFO, logger="hub.api"):
        got, code, reason = asyncio.run(_send(server.port, token, "query A { __typename }", "C"))
    assert (got, code, reason) == ([], 4400, 'Unknown operation named "C".'), (got, code, reason)
    assert not [r for r in caplog.records if r.name == "hub.api" and r.levelno >= logging.ERROR]
