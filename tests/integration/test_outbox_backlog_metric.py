"""`hub_outbox_backlog` counts the rows waiting for the broker: while it is unreachable, and rows committed while a
partial batch was being published (it used to read 0 after any partial batch)."""

from __future__ import annotations

import socket
import threading
import time
import uuid

from hub.adapters.database import connect
from hub.contract.topics import OUTBOUND_TOPICS
from hub.adapters.kafka import ensure_topics
from hub.adapters.metrics import METRICS
from hub.adapters.outbox_relay import OutboxRelay
from hub.service_layer.unit_of_work import UnitOfWork
from tests.waiting import wait_until


def _write(db, n: int) -> None:
    with UnitOfWork(db, actor="test") as uow:
        for i in range(n):
            uow.publish("registry.updates.v1", key=f"k{i}", type="gov.registry.test", subject=None, data={"i": i})
        uow.commit()


def _wait(cond, timeout, what):
    wait_until(cond, timeout, what, every=0.05, detail=lambda: f"backlog metric {METRICS.get('hub_outbox_backlog')}")


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_backlog_is_counted_while_the_broker_is_unreachable(db_url):
    db = connect(db_url)
    stop = threading.Event()
    relay = OutboxRelay(db, f"127.0.0.1:{_dead_port()}", stop_event=stop, backlog_every_s=0.1)
    _write(db, 7)
    METRICS.set("hub_outbox_backlog", -1)
    t = threading.Thread(target=relay.run, daemon=True)
    t.start()
    try:
        _wait(lambda: METRICS.get("hub_outbox_backlog") == 7, 30, "backlog 7 with the broker down")
        assert relay.backlog() == 7
    finally:
        stop.set()
        t.join(2)  # daemon: an unreachable broker can hold it in the producer's start-up for up to 10 s
        db.dispose()


def test_rows_committed_after_a_partial_batch_are_counted_then_drained(db_url, kafka_bootstrap):
    prefix = f"t{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap, [prefix + t for t in OUTBOUND_TOPICS], 1)
    db = connect(db_url)
    relay = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix, backlog_every_s=0.0)
    try:
        _write(db, 5)
        assert relay.publish_once() == 5  # a partial batch (batch_size 2000)
        _write(db, 4)  # committed after it: not yet published
        relay._measure_backlog()
        assert METRICS.get("hub_outbox_backlog") == 4
        assert relay.publish_once() == 4
        relay._measure_backlog()
        assert METRICS.get("hub_outbox_backlog") == 0
    finally:
        relay._reset_producer()
        db.dispose()


def test_the_backlog_counts_read_the_unsent_rows_index_not_the_whole_outbox(pg_url):
    """Right after a big import the outbox is not analyzed yet: ``refused_at IS NOT NULL`` alone was planned as a
    (parallel) scan of every outbox row — twice a second on the relay's thread, which put the 200/s p99 of
    bench/streaming_bench.py with 200,000 persons at 430 ms against 74 (session 11). Every count the relay makes must
    go through an index; and the backlog counts must not run on the relay's thread (``_keep_measuring``)."""
    from sqlalchemy import func, select, text

    from hub.adapters.orm import OutboxRow

    db = connect(pg_url)
    try:
        with db.engine.begin() as c:  # sent rows of an import, a few unsent; no ANALYZE
            c.execute(text("INSERT INTO outbox (topic, key, value, created_at, sent_at) SELECT 'registry.updates.v1', "
                           "'k' || g, repeat('x', 300), now(), CASE WHEN g <= 200000 THEN now() END "
                           "FROM generate_series(1, 200500) g"))
        relay = OutboxRelay(db, f"127.0.0.1:{_dead_port()}")
        unsent = select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))
        with db.engine.connect() as c:
            for q in (relay._refused_count(), unsent):
                sql = str(q.compile(db.engine, compile_kwargs={"literal_binds": True}))
                plan = "\n".join(c.execute(text("EXPLAIN " + sql)).scalars())
                assert "Seq Scan" not in plan, plan
        assert relay._counts() == (500, 0)
        with db.engine.begin() as c:  # nothing to publish: the relay idles (its broker is unreachable)
            c.execute(text("UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL"))
        stop = threading.Event()
        relay = OutboxRelay(db, f"127.0.0.1:{_dead_port()}", stop_event=stop, backlog_every_s=0.05)
        seen: list[str] = []
        real = relay._counts

        def counts():
            seen.append(threading.current_thread().name)
            return real()

        relay._counts = counts
        t = threading.Thread(target=relay.run, name="relay-thread", daemon=True)
        t.start()
        try:
            wait_until(lambda: len(seen) >= 3, 30, "three backlog measurements")
        finally:
            stop.set()
            t.join(30)
        assert set(seen) == {"outbox-backlog"}, seen
    finally:
        db.dispose()
