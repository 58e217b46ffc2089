"""Shared fixtures: a fresh migrated database per test on SQLite and PostgreSQL, and a Kafka-protocol broker.

PostgreSQL: HUB_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) is used as an admin
connection; each test gets its own uniquely named database cloned from a migrated template, dropped afterwards.
Where PostgreSQL is unreachable its tests skip with the reason, except under CI=true where that is a failure.

Kafka: HUB_TEST_KAFKA_BOOTSTRAP_SERVERS points the tests at a real Apache Kafka; unset, an embedded Tansu broker
is started on a free port for the session.
"""

from __future__ import annotations

import atexit
import os
from concurrent.futures import Future, ThreadPoolExecutor
import queue
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.adapters.database import connect, migrate

PG_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"

# The hub a newcomer ran first (`bash scripts/up.sh`, README) left .hub-data/ in this checkout, with an audit key the
# in-process commands of the tests would find (DATA_DIR/audit.key) and then refuse their unkeyed test databases with.
# The tests read no hub's data but their own: the session's data directory is a fresh one, and no setting of the
# operator's shell (their database, broker, keys) reaches a test that did not set it itself.
from hub.config import Settings as _Settings  # noqa: E402

for _field in _Settings.model_fields:  # the hub's settings only (HUB_TEST_… and HUB_UPDATE_… steer the tests)
    os.environ.pop(f"HUB_{_field.upper()}", None)
os.environ["HUB_DATA_DIR"] = _session_data_dir = __import__("tempfile").mkdtemp(prefix="hub-test-data-")
atexit.register(shutil.rmtree, _session_data_dir, True)


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
    _CLONES.discard(name)  # no clone of it may be under way while it is dropped
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


class _BackgroundDropper:
    """Drops finished test databases on one background thread, so that no test waits for ``DROP DATABASE``.

    A drop waits for PostgreSQL to unlink the files and to checkpoint (about a second per database on the shared
    machine, more than the test itself for most PostgreSQL tests), which bought the test nothing. At most ``MAX_PENDING``
    drops wait (the next teardown blocks until one is done: the disk never fills up); the session's end waits for
    all of them and reports a database that could not be dropped.
    """

    MAX_PENDING = 8

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=self.MAX_PENDING)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.failures: list[str] = []

    def drop_later(self, name: str) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="test-database-dropper", daemon=True)
                self._thread.start()
        self._queue.put(name)

    def _run(self) -> None:
        eng = _admin_engine()
        try:
            while (name := self._queue.get()) is not None:
                try:
                    with eng.connect() as c:
                        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                except Exception as e:  # noqa: BLE001 - reported at the session's end
                    self.failures.append(f"{name}: {e}")
        finally:
            eng.dispose()

    def finish(self) -> list[str]:
        """Wait until every database handed over is dropped; the ones that could not be dropped."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
        return self.failures


_DROPPER = _BackgroundDropper()
atexit.register(_DROPPER.finish)


def pytest_sessionfinish(session, exitstatus):
    _CLONES.finish()
    failures = _DROPPER.finish()
    if failures:
        session.config.get_terminal_writer().line("test databases that could not be dropped:\n  " + "\n  ".join(failures), red=True)
        if session.exitstatus == 0:
            session.exitstatus = 1


def _clone(template: str) -> str:
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    eng = _admin_engine()
    try:
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        eng.dispose()
    return name


class _ClonesAhead:
    """Keeps one database cloned ahead per template, made on a background thread while the previous test runs.

    Every test still gets a database nobody used: a clone is handed out once, the next one is started at once.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-database-cloner")
        self._lock = threading.Lock()
        self._ahead: dict[str, Future] = {}

    def take(self, template: str) -> str:
        with self._lock:
            ahead = self._ahead.pop(template, None)
        name = None
        if ahead is not None:
            try:
                name = ahead.result()
            except Exception:  # noqa: BLE001 - cloned again below, where a failure is the test's error
                name = None
        if name is None:
            name = _clone(template)
        with self._lock:
            self._ahead[template] = self._executor.submit(_clone, template)
        return name

    def discard(self, template: str) -> None:
        """Wait for the clone of ``template`` under way, if any, and drop it (before the template is dropped)."""
        with self._lock:
            ahead = self._ahead.pop(template, None)
        if ahead is not None:
            try:
                _DROPPER.drop_later(ahead.result())
            except Exception:  # noqa: BLE001 - nothing was created
                pass

    def finish(self) -> None:
        with self._lock:
            templates = list(self._ahead)
        for template in templates:
            self.discard(template)


_CLONES = _ClonesAhead()


def new_pg_database(template: str) -> tuple[str, callable]:
    """A new database cloned from ``template`` (cloned ahead, see _ClonesAhead); ``drop()`` hands it to the
    background dropper."""
    name = _CLONES.take(template)

    def drop():
        _DROPPER.drop_later(name)

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
