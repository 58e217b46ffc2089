"""The outbox relay's cadence: a commit in this process wakes it at once (not after its idle interval); the next batch,
read in the transaction that marks the last one sent, is published once — also when the relay stops (crashes) with
it read and a new relay takes over."""

from __future__ import annotations

import threading
import time
import uuid

from sqlalchemy import func, select, text

from hub.adapters.database import connect
from hub.adapters.kafka import ensure_topics
from hub.adapters.orm import OutboxRow
from hub.adapters.outbox_relay import OutboxRelay
from hub.contract.topics import OUTBOUND_TOPICS, UPDATES_TOPIC
from hub.service_layer.unit_of_work import UnitOfWork
from tests.kafka_tools import TopicReader


def _write(db, start: int, n: int) -> None:
    with UnitOfWork(db, actor="test") as uow:
        for i in range(start, start + n):
            uow.publish(UPDATES_TOPIC, key=f"k{i}", type="gov.registry.test", subject=None, data={"i": i})
        uow.commit()


def _unsent(db) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None)))


def _prefixed(kafka_bootstrap) -> str:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap, [prefix + t for t in OUTBOUND_TOPICS], 1)
    return prefix


def test_a_commit_wakes_the_relay_without_waiting_for_its_idle_interval(db_url, kafka_bootstrap):
    prefix = _prefixed(kafka_bootstrap)
    db = connect(db_url)
    stop = threading.Event()
    relay = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix, stop_event=stop, idle_wait_s=60)
    t = threading.Thread(target=relay.run, daemon=True)
    reader = TopicReader(kafka_bootstrap, prefix + UPDATES_TOPIC)
    try:
        _write(db, 0, 1)
        t.start()
        reader.poll_until(lambda ms: len(ms) >= 1, timeout=30)  # the relay is up; now it waits up to 60 s
        time.sleep(0.3)
        t0 = time.monotonic()
        _write(db, 1, 3)
        reader.poll_until(lambda ms: len(ms) >= 4, timeout=15)
        waited = time.monotonic() - t0
        assert sorted(v["data"]["i"] for v in reader.values()) == [0, 1, 2, 3]
        assert waited < 15  # not the 60 s idle interval: woken by the commit
        # the marks commit after the broker's acknowledgement: the reader may see the events a moment before
        deadline = time.monotonic() + 10
        while _unsent(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _unsent(db) == 0
    finally:
        stop.set()
        t.join(10)
        reader.close()
        db.dispose()


def test_the_batch_read_with_the_marks_is_published_once_also_by_a_relay_that_takes_over(db_url, kafka_bootstrap):
    prefix = _prefixed(kafka_bootstrap)
    db = connect(db_url)
    first = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix, batch_size=3)
    assert first._leader()  # PostgreSQL: reads and marks on its own connection, as a running relay does
    reader = TopicReader(kafka_bootstrap, prefix + UPDATES_TOPIC)
    try:
        _write(db, 0, 7)
        assert first.publish_once() == 3  # 0-2 sent; 3-5 read with the marks
        _write(db, 7, 2)
        assert first.publish_once() == 3  # 3-5; 6-8 read with the marks
        assert _unsent(db) == 3
        first._reset_producer()  # the relay stops here, holding 6-8 read but not published
        first._release_leadership()
        second = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix, batch_size=3)
        assert second._leader()  # the first gave its lock back
        assert second.publish_once() == 3
        assert second.publish_once() == 0
        second._reset_producer()
        second._release_leadership()
        reader.poll_until(lambda ms: len(ms) >= 9, timeout=30)
        time.sleep(0.5)  # anything published twice would arrive by now
        reader.poll_until(lambda ms: True, timeout=1)
        assert sorted(v["data"]["i"] for v in reader.values()) == list(range(9))  # each once
        assert _unsent(db) == 0
    finally:
        reader.close()
        db.dispose()


def test_the_relay_s_connection_goes_back_to_the_pool_committing_durably(db_url, kafka_bootstrap):
    """The leading relay marks with ``synchronous_commit`` off on its own connection; once it gives the lead back that
    connection serves others (a connector's batch must commit durably): the setting is reset first."""
    db = connect(db_url)
    try:
        if not db.is_postgres:
            return
        relay = OutboxRelay(db, kafka_bootstrap)
        assert relay._leader()
        assert relay._lock_conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
        relay._lock_conn.commit()
        relay._release_leadership()
        idle = db.engine.pool.checkedin()
        assert idle >= 1
        conns = [db.engine.connect() for _ in range(idle)]  # every pooled connection, the relay's among them
        try:
            assert [c.execute(text("SHOW synchronous_commit")).scalar() for c in conns] == ["on"] * idle
        finally:
            for c in conns:
                c.close()
    finally:
        db.dispose()
