"""Issue 12, item 7, on a real Kafka-protocol broker.

* A connector retrying the same batch longer than its stall time (``HUB_CONNECTOR_STALL_S``) is not ready — in
  /readyz and in /metrics (`hub_component_ready`, `hub_connector_batch_retry_seconds`) — and ready again once the
  batch went through.
* An embedded Tansu broker that restarted empty (it keeps its logs in memory) leaves the offsets stored in the
  database past the new log's end: that is detected and logged, and the new events are consumed, not skipped —
  with the connector running through the restart, and with a connector started after it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from connectors.runner import ConnectorRunner
from connectors.spec import all_connectors
from hub.adapters.embedded_broker import EmbeddedBroker, free_port
from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
from hub.adapters.kafka import ensure_topics
from hub.adapters.orm import ConsumerOffsetRow, OperationLogRow, PartnerIdentityRow
from hub.api.app import create_app
from hub.bootstrap import Hub, readiness
from tests import events as ev
from tests.conftest import PG_ADMIN_URL
from tests.factories import id_number
from tests.integration.streaming_harness import Streaming
from tests.kafka_tools import PartnerProducer
from tests.waiting import wait_until


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metric(body: str, line_start: str) -> float:
    [value] = [float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(line_start + " ")]
    return value


class _Connector:
    """One connector in a thread, with the hub's readiness and HTTP app around it."""

    def __init__(self, st: Streaming, name: str, **kw):
        self.stop = threading.Event()
        self.runner = ConnectorRunner(all_connectors()[name], st.db, st.bootstrap, topic_prefix=st.prefix,
                                      stop_event=self.stop, max_backoff_s=0.5, **kw)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        hub = Hub(settings=None, db=st.db)
        hub.runners = [(self.runner, self.thread)]
        self.check = lambda: readiness(hub)[f"connector.{name}"]
        self.http = TestClient(create_app(st.db, readiness=lambda: readiness(hub)))
        wait_until(lambda: self.runner.consumer is not None and self.runner.consumer.assignment(), 60, "assignment")

    def _run(self):
        try:
            self.runner.run()
        except BaseException:  # noqa: BLE001 - the test reads runner.failed
            pass

    def close(self):
        self.stop.set()
        self.thread.join(15)


def test_a_connector_retrying_one_batch_too_long_is_not_ready_until_the_batch_goes_through(db_url, kafka_bootstrap):
    st = Streaming(db_url, kafka_bootstrap, partitions=1, relay=False)
    c = _Connector(st, "police", stall_s=1.5, deadletter_give_up_s=600)
    try:
        assert c.check() == "ok"
        c.runner.bootstrap = f"127.0.0.1:{_dead_port()}"  # its dead-letter producer (made on first use) reaches nothing
        st.partner.send("police.identity.v1", id_number(), b"{not json")  # to be dead-lettered: the batch retries
        st.partner.flush()
        wait_until(lambda: c.check().startswith("retrying the same batch for"), 90, "the stall to be reported",
                   detail=c.check)
        assert "DeadLetterUnavailable" in c.check()
        r = c.http.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["connector.police"].startswith("retrying the same batch")
        metrics = c.http.get("/metrics").text
        assert _metric(metrics, 'hub_component_ready{component="connector.police"}') == 0
        assert _metric(metrics, 'hub_connector_batch_retry_seconds{connector="police"}') > 1
        assert c.runner.failed is None and c.thread.is_alive()  # it keeps retrying; nothing is skipped
        assert st.consumed("police") == 0

        c.runner.bootstrap = kafka_bootstrap  # the dead-letter topic can be written again
        # a producer attempt against the dead port may still be timing out (up to 30 s) before the next one succeeds
        st.wait_consumed("police", 1, timeout=90)
        wait_until(lambda: c.check() == "ok", 10, "ready again", detail=c.check)
        assert c.http.get("/readyz").status_code == 200
        metrics = c.http.get("/metrics").text
        assert _metric(metrics, 'hub_component_ready{component="connector.police"}') == 1
        assert _metric(metrics, 'hub_connector_batch_retry_seconds{connector="police"}') == 0
    finally:
        c.close()
        st.close()


def test_a_database_outage_longer_than_the_stall_time_makes_the_connector_not_ready(pg_url, kafka_bootstrap):
    st = Streaming(pg_url, kafka_bootstrap, partitions=1, relay=False)
    dbname = pg_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    c = _Connector(st, "hr", stall_s=2)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": dbname})
        st.send(ev.hr(id_number(), "蒋二", "91330100MA27XK0000"))
        wait_until(lambda: c.check().startswith("retrying the same batch"), 30, "the stall to be reported",
                   detail=c.check)
        assert "OperationalError" in c.check()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
        st.wait_consumed("hr", 1, timeout=60)
        wait_until(lambda: c.check() == "ok", 10, "ready again", detail=c.check)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
        admin.dispose()
        c.close()
        st.close()


def test_a_database_outage_before_the_first_batch_makes_the_connector_not_ready(pg_url, kafka_bootstrap):
    """Down while the connector reads its stored offsets (starting, or re-opening after a broker error): it retries
    that, and is reported like a batch retried too long, not as alive and well."""
    st = Streaming(pg_url, kafka_bootstrap, partitions=1, relay=False)
    dbname = pg_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    stop = threading.Event()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": dbname})
        runner = ConnectorRunner(all_connectors()["hr"], st.db, st.bootstrap, topic_prefix=st.prefix, stop_event=stop,
                                 max_backoff_s=0.5, stall_s=1)
        thread = threading.Thread(target=runner.run, daemon=True)
        thread.start()
        hub = Hub(settings=None, db=st.db)
        hub.runners = [(runner, thread)]
        wait_until(lambda: readiness(hub)["connector.hr"].startswith("retrying"), 30, "the outage to be reported",
                   detail=lambda: readiness(hub)["connector.hr"])
        assert "OperationalError" in readiness(hub)["connector.hr"]
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
        st.send(ev.hr(id_number(), "蒋三", "91330100MA27XK0000"))
        st.wait_consumed("hr", 1, timeout=60)
        wait_until(lambda: readiness(hub)["connector.hr"] == "ok", 10, "ready again",
                   detail=lambda: readiness(hub)["connector.hr"])
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
        admin.dispose()
        stop.set()
        st.close()


def _restart_empty(broker: EmbeddedBroker, st: Streaming) -> EmbeddedBroker:
    """Stop the broker and start it again on its port: Tansu comes back without topics or records."""
    broker.stop()
    broker = EmbeddedBroker(broker.port).start()
    ensure_topics(broker.bootstrap_servers, [st.prefix + t for t in INBOUND_TOPICS + OUTBOUND_TOPICS], 1)
    st.partner = PartnerProducer(broker.bootstrap_servers, st.prefix)  # a producer of the new broker's lifetime
    return broker


def _police_names(st: Streaming) -> dict[str, str]:
    with st.db.read_session() as s:
        return dict(s.execute(select(PartnerIdentityRow.id_number, PartnerIdentityRow.name)).all())


def _offsets(st: Streaming) -> dict[str, int]:
    """The police connector's stored offsets: records consumed per topic id they were stored under. (A re-created
    topic may have other partitions: partners' producers may create it with the broker's default count.)"""
    with st.db.read_session() as s:
        rows = s.execute(select(ConsumerOffsetRow.next_offset, ConsumerOffsetRow.topic_id).where(
            ConsumerOffsetRow.connector == "police")).all()
    out: dict[str, int] = {}
    for n, tid in rows:
        out[tid] = out.get(tid, 0) + n
    return out


def _resets(st: Streaming) -> list[dict]:
    with st.db.read_session() as s:
        return [json.loads(a) for a in s.scalars(select(OperationLogRow.after).where(
            OperationLogRow.action == "connector.police.offset_reset").order_by(OperationLogRow.seq))]


def test_a_broker_that_restarted_empty_is_detected_and_new_events_are_consumed_not_skipped(db_url, caplog):
    caplog.set_level(logging.WARNING, logger="hub.connector")
    broker = EmbeddedBroker(free_port()).start()
    st = Streaming(db_url, broker.bootstrap_servers, partitions=1, relay=False)
    c = None
    try:
        c = _Connector(st, "police")
        people = [id_number() for _ in range(6)]
        st.send(*(ev.police(p, "赵一") for p in people))
        st.wait_consumed("police", 6)
        [(old_id, consumed)] = _offsets(st).items()
        assert consumed == 6 and old_id

        # 1. The broker restarts empty while the connector runs: its position (6) lies past the new log's end.
        broker = _restart_empty(broker, st)
        fresh = [id_number() for _ in range(2)]
        st.send(*(ev.police(p, "赵二") for p in fresh))
        wait_until(lambda: all(_police_names(st).get(p) == "赵二" for p in fresh), 60,
                   "the events sent after the restart to be applied", detail=lambda: str(_offsets(st)))
        [(new_id, consumed)] = _offsets(st).items()
        assert consumed == 2 and new_id not in (None, old_id)
        [reset] = _resets(st)
        assert "re-created" in reset["reason"] and reset["0"] == 0
        assert any("re-created" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
        assert c.runner.failed is None
        c.close()

        # 2. The hub stops, the broker restarts empty, the hub starts: the stored offset (2) is past the log's end.
        broker = _restart_empty(broker, st)
        later = id_number()
        st.send(ev.police(later, "赵三"))
        c = _Connector(st, "police")
        wait_until(lambda: _police_names(st).get(later) == "赵三", 60, "the event sent while the hub was down",
                   detail=lambda: str(_offsets(st)))
        assert len(_resets(st)) == 2
        newest = c.runner._topic_ids[0]
        assert newest not in (old_id, new_id) and _offsets(st)[newest] == 1
    finally:
        if c is not None:
            c.close()
        st.close()
        broker.stop()
