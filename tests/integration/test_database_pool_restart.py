"""Session 9 review of the pool without pool_pre_ping (hub.adapters.database.ping_when_needed), under conditions a
restart makes: the server's end of pooled connections closed without a goodbye (a proxy, or the server's host,
going away), the server unreachable for a while, then back; and backends terminated between the requests of a
running app. The request made while the server is down fails quickly with a clear error (nothing hangs); the first
one after it is back succeeds, with no stale connection handed out."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from hub.adapters.database import connect
from hub.api.app import create_app
from hub.service_layer.tokens import create_token
from tests.conftest import PG_ADMIN_URL
from tests.integration.registry_helpers import make_person


class Proxy:
    """A TCP proxy to PostgreSQL that can be 'restarted': ``down()`` closes every proxied socket (no FATAL message:
    the stream just ends) and refuses new connections; ``up()`` accepts them again."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepting = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def down(self) -> None:
        self.accepting = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def up(self) -> None:
        self.accepting = True

    def close(self) -> None:
        self.down()
        self.listener.close()


def _pid(db) -> int:
    with db.read_session() as s:
        return s.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_restart_fails_one_request_clearly_and_the_next_one_after_it_succeeds(pg_url):
    parts = urlsplit(pg_url)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    db = connect(pg_url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}", 1), pool_size=3)
    try:
        sessions = [db.read_session() for _ in range(3)]
        for s in sessions:
            s.execute(text("SELECT 1"))
        for s in sessions:
            s.close()  # three pooled connections
        proxy.down()
        time.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(OperationalError):
            _pid(db)  # the server is gone: a clear error, not a hang
        assert time.monotonic() - started < 5
        proxy.up()
        for _ in range(4):  # every pooled connection was replaced: none of them fails a request
            assert _pid(db)
        proxy.down()  # cut again, back at once (a quick restart): the stale connections are not handed out
        proxy.up()
        time.sleep(0.05)
        for _ in range(4):
            assert _pid(db)
    finally:
        db.dispose()
        proxy.close()


def test_backends_terminated_between_requests_of_a_running_app(pg_url):
    db = connect(pg_url, pool_size=3)
    dbname = pg_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    _, token = create_token(db, role="ADMIN", name="office")
    client = TestClient(create_app(db), raise_server_exceptions=False)
    query = {"query": "query($i: String!) { person(idNumber: $i) { name } accessLog(first: 5) { totalCount } }",
             "variables": {"i": make_person(db)}}
    auth = {"Authorization": f"Bearer {token}"}
    try:
        for round_ in range(3):
            r = client.post("/graphql", json=query, headers=auth)
            assert r.status_code == 200 and r.json()["data"]["person"]["name"], r.text
            with admin.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> "
                               "pg_backend_pid()"), {"d": dbname})
            time.sleep(0.1)  # the backends have written their goodbye
            r = client.post("/graphql", json=query, headers=auth)
            assert r.status_code == 200 and "errors" not in r.json(), (round_, r.text)
    finally:
        admin.dispose()
        db.dispose()
