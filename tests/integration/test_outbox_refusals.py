"""An outbox row the broker refuses for good (here: over the producer's max_request_size) is set aside with its
reason — kept, not sent — and the relay goes on with the rows after it; later rows of its key wait behind it (events
of one key keep their order); `hub outbox retry` puts it back and, once the limit allows, it is published, then the
rows that waited. A broker outage still only waits: nothing is set aside. Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid

from sqlalchemy import select, text
from typer.testing import CliRunner

from hub.adapters.database import connect
from hub.adapters.kafka import ensure_topics
from hub.adapters.metrics import METRICS
from hub.adapters.orm import OutboxRow
from hub.adapters.outbox_relay import OutboxRelay
from hub.cli import app
from hub.contract.topics import OUTBOUND_TOPICS, UPDATES_TOPIC
from hub.service_layer.refused_events import list_refused
from hub.service_layer.unit_of_work import UnitOfWork
from tests.kafka_tools import TopicReader

LIMIT = 4096  # the producer's max_request_size in these tests
PERSON = "11010519491231002X"  # an ID number as a key: it must not reach the log


def _write(db, events: list[tuple[str, int, int]]) -> None:
    """(key, i, padding) triples: one event each, its data padded to make it large."""
    with UnitOfWork(db, actor="test") as uow:
        for key, i, pad in events:
            uow.publish(UPDATES_TOPIC, key=key, type="gov.registry.test", subject=None, data={"i": i, "pad": "x" * pad})
        uow.commit()


def _rows(db) -> dict[int, tuple]:
    """i -> (id, sent, refused_reason)."""
    with db.read_session() as s:
        rows = s.execute(select(OutboxRow.id, OutboxRow.value, OutboxRow.sent_at, OutboxRow.refused_reason)
                         .order_by(OutboxRow.id)).all()
    return {json.loads(v)["data"]["i"]: (id_, sent is not None, reason) for id_, v, sent, reason in rows}


def _drain(relay: OutboxRelay, rounds: int = 10) -> int:
    total = 0
    for _ in range(rounds):
        n = relay.publish_once()
        total += n
        if n == 0 and not relay._next:
            break
    return total


def _prefixed(kafka_bootstrap) -> str:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap, [prefix + t for t in OUTBOUND_TOPICS], 1)
    return prefix


def _cli(db_url, *args):
    return CliRunner().invoke(app, ["--database-url", db_url, *args])


def test_a_refused_row_is_set_aside_the_rest_goes_on_and_a_retry_publishes_it_in_order(db_url, kafka_bootstrap,
                                                                                         caplog):
    prefix = _prefixed(kafka_bootstrap)
    db = connect(db_url)
    # 0 a, 1 PERSON too large, 2 c, 3 PERSON (small: waits behind 1), 4 d, then 5 e in a later transaction
    _write(db, [("a", 0, 10), (PERSON, 1, 3 * LIMIT), ("c", 2, 10), (PERSON, 3, 10), ("d", 4, 10)])
    relay = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix, max_message_bytes=LIMIT)
    reader = TopicReader(kafka_bootstrap, prefix + UPDATES_TOPIC)
    try:
        with caplog.at_level(logging.WARNING, logger="hub.outbox"):
            published = _drain(relay)
            _write(db, [("e", 5, 10)])
            published += _drain(relay)
        assert published == 4
        reader.poll_until(lambda ms: len(ms) >= 4)
        time.sleep(0.5)
        reader.poll_until(lambda ms: True, timeout=0.5)
        assert [v["data"]["i"] for v in reader.values()] == [0, 2, 4, 5]  # in order; nothing of PERSON's key
        rows = _rows(db)
        refused_id, sent, reason = rows[1]
        assert not sent and "MessageSizeTooLargeError" in reason and "max_request_size" in reason
        assert rows[3][1] is False and rows[3][2] is None  # waits behind the refused row, not refused itself
        assert all(rows[i][1] for i in (0, 2, 4, 5))
        assert relay.backlog() == 1 and relay.refused() == 1
        assert METRICS.get("hub_outbox_refused") == 1
        # the log says which row and why, never the key (an ID number) or the data
        logged = caplog.text
        assert f"outbox row {refused_id}" in logged and "MessageSizeTooLargeError" in logged
        assert PERSON not in logged and "xxxx" not in logged
        [shown] = list_refused(db)
        assert (shown.id, shown.topic, shown.type, shown.waiting) == (refused_id, UPDATES_TOPIC, "gov.registry.test", 1)
        listed = _cli(db_url, "outbox", "refused", "--json")
        assert listed.exit_code == 0 and PERSON not in listed.output and "xxxx" not in listed.output
        [item] = json.loads(listed.output)
        assert item["id"] == refused_id and "MessageSizeTooLarge" in item["reason"] and item["waiting_behind"] == 1
        table = _cli(db_url, "outbox", "refused")
        assert table.exit_code == 0 and "1 refused events" in table.output and PERSON not in table.output

        # retried while the limit still refuses it: set aside again, nothing else moves
        assert _cli(db_url, "outbox", "retry", str(refused_id)).exit_code == 0
        assert _drain(relay) == 0 and "MessageSizeTooLargeError" in _rows(db)[1][2] and relay.refused() == 1

        # the limit raised (HUB_OUTBOX_MAX_MESSAGE_BYTES): a retry publishes it, then the row that waited behind it
        done = _cli(db_url, "outbox", "retry", str(refused_id))
        assert done.exit_code == 0 and f"put back 1 refused events for the relay: {refused_id}" in done.output
        raised = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix)
        try:
            assert _drain(raised) == 2
        finally:
            raised._reset_producer()
        reader.poll_until(lambda ms: len(ms) >= 6)
        assert [v["data"]["i"] for v in reader.values()] == [0, 2, 4, 5, 1, 3]
        rows = _rows(db)
        assert all(sent and reason is None for _id, sent, reason in rows.values())
        assert raised.backlog() == 0 and raised.refused() == 0
        assert _cli(db_url, "outbox", "refused").output.startswith("no refused events")
        with db.read_session() as s:  # the retries are in the operation log
            assert s.execute(text("SELECT count(*) FROM operation_log WHERE action = 'outbox.retry'")).scalar() == 2
    finally:
        reader.close()
        relay._reset_producer()
        db.dispose()


def test_retry_refuses_bad_ids_and_changes_nothing(db_url, kafka_bootstrap):
    prefix = _prefixed(kafka_bootstrap)
    db = connect(db_url)
    _write(db, [("a", 0, 3 * LIMIT), ("b", 1, 10)])
    relay = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix, max_message_bytes=LIMIT)
    try:
        _drain(relay)
        refused_id, sent_id = _rows(db)[0][0], _rows(db)[1][0]
        for args, says in ((["retry", "999"], "no outbox row 999"),
                           (["retry", str(sent_id)], f"outbox row {sent_id} was not refused (sent)"),
                           (["retry", str(refused_id), "999"], "no outbox row 999; nothing changed"),
                           (["retry"], "give the ids of refused events"),
                           (["retry", "--all", str(refused_id)], "give the ids of refused events")):
            r = _cli(db_url, "outbox", *args)
            assert r.exit_code == 1 and says in r.output, (args, r.output)
            assert _rows(db)[0][2] is not None  # still refused
        r = _cli(db_url, "outbox", "retry", "--all")
        assert r.exit_code == 0 and f": {refused_id};" in r.output and _rows(db)[0][2] is None
    finally:
        relay._reset_producer()
        db.dispose()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_broker_outage_sets_nothing_aside(db_url):
    db = connect(db_url)
    _write(db, [("a", 0, 10), ("b", 1, 10)])
    stop = threading.Event()
    relay = OutboxRelay(db, f"127.0.0.1:{_dead_port()}", stop_event=stop, backlog_every_s=0.1,
                        max_message_bytes=LIMIT)
    t = threading.Thread(target=relay.run, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 45  # kafka-python's producer may spend a while bootstrapping before it fails
        while relay.healthy and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        assert relay.refused() == 0 and relay.backlog() == 2
        assert all(not sent and reason is None for _id, sent, reason in _rows(db).values())
    finally:
        stop.set()
        t.join(2)
        db.dispose()


class _TopicLimit:
    """The topic's max.message.bytes, which Tansu does not enforce: a producer (a real one, to the real broker) whose
    send of a record over ``limit`` fails as the broker answers — RecordListTooLarge — and, as the broker fails the
    whole produce batch, so does every later record sent on that producer (a fresh producer starts clean)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.created = 0

    def producer(self, real_factory):
        def make(bootstrap, **overrides):
            p = real_factory(bootstrap, **overrides)
            send, failing = p.send, []
            self.created += 1

            def limited_send(topic, key=None, value=None, **kw):
                from kafka.errors import RecordListTooLargeError
                from kafka.producer.future import FutureProduceResult, FutureRecordMetadata
                from kafka.structs import TopicPartition

                if value is not None and len(value) > self.limit:
                    failing.append(True)
                if failing:
                    return FutureRecordMetadata(FutureProduceResult(TopicPartition(topic, 0)), 0, None, None, -1,
                                                len(value), -1).failure(RecordListTooLargeError("over max.message.bytes"))
                return send(topic, key=key, value=value, **kw)

            p.send = limited_send
            return p
        return make


def test_a_batch_the_broker_refuses_is_sent_row_by_row_and_only_the_refused_row_is_set_aside(db_url, kafka_bootstrap,
                                                                                             monkeypatch):
    from hub.adapters import kafka as kafka_adapter

    limit = _TopicLimit(LIMIT)
    monkeypatch.setattr(kafka_adapter, "producer", limit.producer(kafka_adapter.producer))
    prefix = _prefixed(kafka_bootstrap)
    db = connect(db_url)
    # 0 a, 1 PERSON over the topic's limit, 2 c, 3 PERSON (waits behind 1), 4 d — one batch, failed from 1 on
    _write(db, [("a", 0, 10), (PERSON, 1, 3 * LIMIT), ("c", 2, 10), (PERSON, 3, 10), ("d", 4, 10)])
    relay = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix)  # the producer's own limit is not the problem
    reader = TopicReader(kafka_bootstrap, prefix + UPDATES_TOPIC)
    try:
        assert _drain(relay) == 3
        reader.poll_until(lambda ms: len(ms) >= 3)
        time.sleep(0.5)
        reader.poll_until(lambda ms: True, timeout=0.5)
        assert [v["data"]["i"] for v in reader.values()] == [0, 2, 4]
        rows = _rows(db)
        assert "RecordListTooLargeError" in rows[1][2] and not rows[1][1]
        assert rows[3][1:] == (False, None)  # waits behind the refused row
        assert all(rows[i][1] and rows[i][2] is None for i in (0, 2, 4))
        assert relay.refused() == 1 and relay.backlog() == 1
    finally:
        reader.close()
        relay._reset_producer()
        db.dispose()
