"""Issue-4 delivery guarantees that need their own set-up, on a real Kafka-protocol broker: a dead-letter topic
that cannot be written stops the connector (nothing skipped), a database outage is retried and never
dead-lettered, replay by time range is audited, and /metrics counts per connector."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, select, text

from connectors.runner import ConnectorRunner, DeadLetterUnavailable
from connectors.spec import all_connectors
from hub.adapters.metrics import METRICS
from hub.adapters.orm import AppliedEventRow, ConsumerOffsetRow, DeadLetterRow, OperationLogRow
from hub.service_layer.deadletters import DeadLetterFilter, list_dead_letters, replay
from tests import events as ev
from tests.conftest import PG_ADMIN_URL
from tests.factories import id_number, unit_code
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.integration.streaming_harness import Streaming
from tests.waiting import wait_until


def _wait(cond, timeout, what):
    wait_until(cond, timeout, what, every=0.1)


def _count(db, model, *where) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_letter_topic_that_cannot_be_written_stops_the_connector_without_skipping(pg_url, kafka_bootstrap):
    st = Streaming(pg_url, kafka_bootstrap, partitions=1, relay=False)
    stop = threading.Event()
    r = ConnectorRunner(all_connectors()["police"], st.db, kafka_bootstrap, topic_prefix=st.prefix, stop_event=stop,
                        max_backoff_s=0.5, deadletter_give_up_s=3)
    failed: list[BaseException] = []

    def run():
        try:
            r.run()
        except BaseException as e:  # noqa: BLE001
            failed.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        _wait(lambda: r.consumer is not None and r.consumer.assignment(), 60, "the police connector's assignment")
        r.bootstrap = f"127.0.0.1:{_dead_port()}"  # its dead-letter producer (made on first use) reaches no broker
        idn = id_number()
        st.partner.send("police.identity.v1", idn, b"{not json")
        st.partner.send_event(ev.police(idn, "卫一"))  # a good message behind the poison pill, same partition
        st.partner.flush()
        t.join(60)
        assert not t.is_alive() and failed and isinstance(failed[0], DeadLetterUnavailable), failed
        assert _count(st.db, ConsumerOffsetRow, ConsumerOffsetRow.connector == "police") == 0  # offset not advanced
        assert _count(st.db, DeadLetterRow) == 0 and _count(st.db, AppliedEventRow) == 0  # nothing skipped or applied
    finally:
        stop.set()
        t.join(10)
        st.close()


def test_a_database_outage_is_retried_and_never_dead_lettered(pg_url, kafka_bootstrap):
    st = Streaming(pg_url, kafka_bootstrap, partitions=1)
    dbname = pg_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        unit = make_unit(st.db, approved={"ADMINISTRATIVE": 2})
        st.start("hr")
        _wait(lambda: all(r.consumer is not None and r.consumer.assignment() for r, _ in st.runners), 60, "assignment")
        with admin.connect() as c:  # the database goes away: no new connections, the open ones are cut
            c.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false'))
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": dbname})
        people = [id_number() for _ in range(3)]
        st.send(*(ev.hr(i, "蒋二", unit) for i in people))
        time.sleep(3)  # the connector fails and retries meanwhile
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
        back = datetime.now(timezone.utc)
        st.wait_consumed("hr", 3, timeout=60)
        assert _count(st.db, AppliedEventRow) == 3
        with st.db.read_session() as s:  # applied by a retry once the database was back, not before
            assert s.scalar(select(func.min(AppliedEventRow.applied_at))) >= back - timedelta(seconds=1)
        assert _count(st.db, DeadLetterRow) == 0
        assert all(r.failed is None for r, _ in st.runners)
    finally:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
        admin.dispose()
        st.close()


def test_replay_by_time_range_selects_only_that_range_and_is_audited(db_url, kafka_bootstrap):
    st = Streaming(db_url, kafka_bootstrap, partitions=1)
    police_stop = threading.Event()
    try:
        st.start("police", stop_event=police_stop)
        st.partner.send("police.identity.v1", id_number(), b"first poison")
        st.partner.flush()
        st.wait_consumed("police", 1)
        time.sleep(1.1)
        middle = datetime.now(timezone.utc)
        time.sleep(0.1)
        st.partner.send("police.identity.v1", id_number(), b"second poison")
        st.partner.flush()
        st.wait_consumed("police", 2)
        [first, second] = list_dead_letters(st.db, DeadLetterFilter())
        later = DeadLetterFilter(since=middle, until=middle + timedelta(hours=1))
        assert [r.id for r in list_dead_letters(st.db, later)] == [second.id]
        log_before = _count(st.db, OperationLogRow, OperationLogRow.action == "deadletter.replay")
        assert [r.id for r in replay(st.db, kafka_bootstrap, later, dry_run=True)] == [second.id]
        assert _count(st.db, OperationLogRow, OperationLogRow.action == "deadletter.replay") == log_before  # dry run
        # the connector stops first: a running one would consume the replayed poison again and dead-letter it anew
        police_stop.set()
        st.runners[-1][1].join(15)
        replay(st.db, st.bootstrap, DeadLetterFilter(since=middle, until=middle + timedelta(hours=1)), dry_run=False,
               actor="ADMIN:test")
        with st.db.read_session() as s:
            e = s.execute(select(OperationLogRow).where(OperationLogRow.action == "deadletter.replay")).scalars().all()[-1]
        assert e.actor == "ADMIN:test" and json.loads(e.after) == {"ids": [second.id], "count": 1}
        assert [r.id for r in list_dead_letters(st.db, DeadLetterFilter())] == [first.id]  # the other stays
    finally:
        st.close()


def test_metrics_count_per_connector_and_kind(db_url, kafka_bootstrap):
    st = Streaming(db_url, kafka_bootstrap, partitions=1)
    name = lambda n, **labels: METRICS.get(n, **labels)  # noqa: E731
    before = {k: name(k, connector="finance") for k in (
        "hub_connector_consumed_total", "hub_connector_applied_total", "hub_connector_duplicates_total",
        "hub_connector_stale_total", "hub_connector_deadlettered_total")}
    ghosts_before = name("hub_mismatches_opened_total", kind="GHOST_PAYROLL")
    try:
        unit = make_unit(st.db)
        posted = make_person(st.db, name="沈三")
        hire(st.db, posted, unit)
        ghost = id_number()
        newer = ev.paid(posted, "沈三", unit, sequence=5)
        older = ev.paid(posted, "沈三", unit, period="2026-09", sequence=4)
        st.start("finance")
        st.send(ev.paid(ghost, "幽灵", unit), newer)
        st.send(newer, older)  # a redelivery and a stale event
        st.partner.send("finance.payroll.v1", ghost, b"poison")
        st.partner.flush()
        st.wait_consumed("finance", 5)
        delta = {k: name(k, connector="finance") - v for k, v in before.items()}
        assert delta == {"hub_connector_consumed_total": 5, "hub_connector_applied_total": 2,
                         "hub_connector_duplicates_total": 1, "hub_connector_stale_total": 1,
                         "hub_connector_deadlettered_total": 1}
        assert name("hub_mismatches_opened_total", kind="GHOST_PAYROLL") - ghosts_before == 1
        assert name("hub_connector_lag", connector="finance", partition="0") == 0
        rendered = METRICS.render()
        for line in ('hub_connector_lag{connector="finance",partition="0"}', "# TYPE hub_connector_applied_total counter",
                     'hub_mismatches_opened_total{kind="GHOST_PAYROLL"}'):
            assert line in rendered
    finally:
        st.close()
