"""The PostgreSQL pool's liveness check (hub.adapters.database.ping_when_needed): no ping round trip for a
connection in steady use, a working connection after the server cut the pooled ones."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from hub.adapters import database
from hub.adapters.database import connect
from tests.conftest import PG_ADMIN_URL


def _pings(db, monkeypatch) -> list:
    calls: list = []
    dialect = db.engine.dialect
    real = dialect.do_ping

    def counted(dbapi_conn):
        calls.append(dbapi_conn)
        return real(dbapi_conn)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return calls


def test_a_connection_in_steady_use_is_not_pinged(pg_url, monkeypatch):
    db = connect(pg_url, pool_size=1)
    try:
        pings = _pings(db, monkeypatch)
        for _ in range(5):
            with db.read_session() as s:
                assert s.execute(text("SELECT 1")).scalar() == 1
        assert pings == []
    finally:
        db.dispose()


def test_a_connection_idle_for_long_is_pinged(pg_url, monkeypatch):
    db = connect(pg_url, pool_size=1)
    try:
        with db.read_session() as s:
            s.execute(text("SELECT 1"))
        pings = _pings(db, monkeypatch)
        monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
        with db.read_session() as s:
            assert s.execute(text("SELECT 1")).scalar() == 1
        assert len(pings) == 1
    finally:
        db.dispose()


def test_pooled_connections_cut_by_the_server_are_replaced_before_use(pg_url, monkeypatch):
    """pg_terminate_backend (as a restart or idle_session_timeout): the next requests get working connections,
    not an error — what pool_pre_ping gave, found here by the socket having the server's goodbye to read."""
    db = connect(pg_url, pool_size=3)
    dbname = pg_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        sessions = [db.read_session() for _ in range(3)]
        before = {s.execute(text("SELECT pg_backend_pid()")).scalar() for s in sessions}
        for s in sessions:
            s.close()  # three connections in the pool
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> "
                           "pg_backend_pid()"), {"d": dbname})
        pings = _pings(db, monkeypatch)
        for _ in range(3):
            with db.read_session() as s:
                assert s.execute(text("SELECT pg_backend_pid()")).scalar() not in before
        assert len(pings) >= 1  # the cut connection was noticed and pinged (the pool then replaced them all)
    finally:
        admin.dispose()
        db.dispose()
