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
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    return Database(url, engine, engine, audit_key)


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


SCHEMA_REVISION = "0019"  # the head of alembic/versions (tests/integration/test_migrations.py keeps the two equal)


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
