"""Shared fixtures: a fresh migrated database per test on SQLite and PostgreSQL, and a Kafka-protocol broker.

PostgreSQL: HUB_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) is used as an admin
connection; each test gets its own uniquely named database cloned from a migrated template, dropped afterwards.
Where PostgreSQL is unreachable its tests skip with the reason, except under CI=true where that is a failure.

Kafka: HUB_TEST_KAFKA_BOOTSTRAP_SERVERS points the tests at a real Apache Kafka; unset, an embedded Tansu broker
is started on a free port for the session.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.adapters.database import connect, migrate

PG_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


def _admin_engine():
    url = PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)


@pytest.fixture(scope="session")
def pg_available() -> bool:
    try:
        eng = _admin_engine()
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception as e:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required under CI=true: {e}")
        return False


@pytest.fixture(scope="session")
def pg_template(pg_available):
    if not pg_available:
        yield None
        return
    name = f"hub_tpl_{uuid.uuid4().hex[:10]}"
    eng = _admin_engine()
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    migrate(_pg_url(name))
    yield name
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


def new_pg_database(template: str) -> tuple[str, callable]:
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    eng = _admin_engine()
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))

    def drop():
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()

    return _pg_url(name), drop


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path, sqlite_template):
    """URL of a fresh, migrated database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "hub.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    if template is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    url, drop = new_pg_database(template)
    yield url
    drop()


@pytest.fixture
def pg_url(request, pg_template):
    """URL of a fresh, migrated PostgreSQL database (for PostgreSQL-only tests)."""
    if pg_template is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    url, drop = new_pg_database(pg_template)
    yield url
    drop()


@pytest.fixture
def db(db_url):
    database = connect(db_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """Bootstrap servers of a Kafka-protocol broker: HUB_TEST_KAFKA_BOOTSTRAP_SERVERS or an embedded Tansu."""
    configured = os.environ.get("HUB_TEST_KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    from hub.adapters.embedded_broker import EmbeddedBroker

    broker = EmbeddedBroker().start()
    yield broker.bootstrap_servers
    broker.stop()
