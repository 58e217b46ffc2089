"""Engines for PostgreSQL (production) and SQLite (embedded), and schema migration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_DIR = ROOT / "alembic"


def _normalize(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def _sqlite_engine(url: str, busy_timeout_ms: int, immediate: bool) -> Engine:
    ensure_sqlite_dir(url)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take over transaction control from pysqlite so BEGIN can be IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front: no "database is locked" on lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """The write engine, the read engine (the same on PostgreSQL) and their session factories."""

    url: str
    engine: Engine
    read_engine: Engine
    audit_key: bytes | None = None  # signs the operation log and the access log (HMAC); None: unkeyed chains
    # The access chain's head this process last committed (hub.adapters.access_chain.Head, made on first use)
    access_head: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def __post_init__(self) -> None:
        # One factory each: building a sessionmaker per call sets up SQLAlchemy's event dispatch every time.
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._writer()

    def read_session(self) -> Session:
        return self._reader()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def connect(url: str, *, busy_timeout_ms: int = 15000, pool_size: int = 10, audit_key: bytes | None = None) -> Database:
    """Open the database at ``url`` (SQLAlchemy URL); ``audit_key`` signs what this process appends to the audit
    chains (Settings.audit_key_bytes)."""
    url = _normalize(url)
    if url.startswith("sqlite"):
        return Database(url, _sqlite_engine(url, busy_timeout_ms, True), _sqlite_engine(url, busy_timeout_ms, False),
                        audit_key)
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    ping_when_needed(engine)
    return Database(url, engine, engine, audit_key)


# A pooled connection unused for longer than this is pinged before use whatever its socket says (a firewall or NAT
# may drop an idle connection without a word); one in steady use is pinged only when its socket has news.
PING_AFTER_IDLE_S = 30.0


def ping_when_needed(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, without its round trip on every checkout.

    ``pool_pre_ping`` sends ``SELECT 1`` each time a connection leaves the pool: one more round trip per request,
    ~0.1 ms of the hub's CPU and as much of PostgreSQL's (issue 18, session 9). A connection whose server went away
    (restart, ``pg_terminate_backend``, ``idle_session_timeout``) has something to read on its socket — the
    server's FATAL message, then the end of the stream — while a healthy idle pooled connection has nothing (the
    pool's connections do not LISTEN). So at checkout a zero-timeout ``poll`` of the socket decides: nothing to
    read and used within ``PING_AFTER_IDLE_S`` — handed out as is; otherwise pinged as ``pool_pre_ping`` would, and
    a connection that fails the ping is replaced by a new one, with every older pooled one (``InvalidatePoolError``,
    as ``pool_pre_ping`` does; the pool retries the checkout). A connection that breaks between the check and its statement fails that statement, as one breaking
    just after ``pool_pre_ping``'s ping did; SQLAlchemy then invalidates the pool's older connections."""
    import select
    import time

    from sqlalchemy import exc

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _fresh_or_checked_in(_dbapi_conn, record):  # a new connection is not pinged (as pool_pre_ping)
        if record is not None:
            record.info["hub_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        since = record.info.get("hub_idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_S:
            try:
                poller = select.poll()
                poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLPRI)
                if not poller.poll(0):
                    return  # nothing from the server: alive as far as a ping would tell
            except Exception:  # noqa: BLE001 - no usable socket (psycopg: "the connection is lost"): ping
                pass
        if not engine.dialect._do_ping_w_event(dbapi_conn):  # pool_pre_ping's ping, errors and all
            # as pool_pre_ping: this connection and every older pooled one are replaced, the checkout retried
            raise exc.InvalidatePoolError("the pooled connection failed its ping")


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", _normalize(url).replace("%", "%%"))
    return cfg


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of an SQLite file (a fresh machine has no data directory yet)."""
    url = _normalize(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)


SCHEMA_REVISION = "0020"  # the head of alembic/versions (tests/integration/test_migrations.py keeps the two equal)


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision`` (Alembic).

    A database already at the head is recognised with one query, without loading Alembic and its scripts: every
    command migrates first, and commands like `hub compare` should not pay a third of a second for it.
    """
    if revision == "head" and _at_revision(url, SCHEMA_REVISION):
        return
    from alembic import command

    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def _at_revision(url: str, expected: str) -> bool:
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return False
    engine = create_engine(_normalize(url))
    try:
        with engine.connect() as c:
            return [r[0] for r in c.execute(text("SELECT version_num FROM alembic_version"))] == [expected]
    except Exception:  # noqa: BLE001 - no table yet, no database yet: let Alembic create it
        return False
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    db = connect(url)
    try:
        with db.read_engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        db.dispose()
