"""Attacks on the refused-outbox-row handling (review of the s11-outbox change): what an operator does with many
refused rows, with bad ids, and what the relay does while a retry races it. SQLite and PostgreSQL; a real broker."""

from __future__ import annotations

import json
import threading
import time
import uuid

from sqlalchemy import event, select, text
from typer.testing import CliRunner

from hub.adapters.database import connect
from hub.adapters.kafka import ensure_topics
from hub.adapters.orm import OutboxRow
from hub.adapters.outbox_relay import OutboxRelay
from hub.cli import app
from hub.contract.topics import OUTBOUND_TOPICS, UPDATES_TOPIC
from hub.service_layer.refused_events import list_refused
from hub.service_layer.unit_of_work import UnitOfWork
from tests.kafka_tools import TopicReader

LIMIT = 4096
PERSON = "11010519491231002X"


def _cli(db_url, *args):
    return CliRunner().invoke(app, ["--database-url", db_url, *args])


def _set_aside(db, n: int, *, keys: int | None = None, waiting_each: int = 0) -> list[int]:
    """``n`` refused rows (keys k0…, ``keys`` distinct ones), each followed by ``waiting_each`` unsent rows of its key;
    inserted directly (the relay's own path is covered by test_outbox_refusals.py). Returns the refused rows' ids."""
    keys = keys or n
    rows = [{"topic": UPDATES_TOPIC, "key": f"k{i % keys}", "value": json.dumps({"id": f"e{i}", "type": "t"}),
             "refused": True} for i in range(n)]
    rows += [{"topic": UPDATES_TOPIC, "key": f"k{i % keys}", "value": "{}", "refused": False}
             for _ in range(waiting_each) for i in range(n)]
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO outbox (topic, key, value, created_at, refused_at, refused_reason) "
                       "VALUES (:topic, :key, :value, CURRENT_TIMESTAMP, "
                       "CASE WHEN :refused THEN CURRENT_TIMESTAMP END, "
                       "CASE WHEN :refused THEN 'MessageSizeTooLargeError: too large' END)"), rows)
    with db.read_session() as s:
        return list(s.scalars(select(OutboxRow.id).where(OutboxRow.refused_at.is_not(None)).order_by(OutboxRow.id)))


def _refused_count(db) -> int:
    with db.read_session() as s:
        return s.scalar(select(text("count(*)")).select_from(OutboxRow).where(OutboxRow.refused_at.is_not(None)))


def test_retry_all_of_more_refused_rows_than_postgresql_takes_parameters(db_url):
    """A limit set too low refuses every event (a bulk import: tens of thousands). `hub outbox retry --all` put them
    back with an IN list of one parameter per id: on PostgreSQL over 65535 ids failed with a traceback (psycopg:
    "number of parameters must be between 0 and 65535") and nothing could be retried at once."""
    db = connect(db_url)
    try:
        ids = _set_aside(db, 66_000, keys=1000)
        r = _cli(db_url, "outbox", "retry", "--all")
        assert r.exit_code == 0, r.output
        assert "put back 66000 refused events" in r.output and "more)" in r.output  # the ids shown are capped
        assert len(r.output) < 2000
        assert _refused_count(db) == 0
        with db.read_session() as s:  # the operation log names each reason once, with its ids
            [before] = s.execute(text("SELECT before FROM operation_log WHERE action = 'outbox.retry'")).scalars()
        before = json.loads(before) if isinstance(before, str) else before
        assert before["refused"] == {"MessageSizeTooLargeError: too large": ids}
    finally:
        db.dispose()


def test_retry_with_impossible_or_many_bad_ids_says_so_in_one_short_line(db_url):
    """An id beyond BIGINT ended in a traceback (SQLite: OverflowError; PostgreSQL: NumericValueOutOfRange); 40000 bad
    ids made an 800 kB error line."""
    db = connect(db_url)
    try:
        [refused_id] = _set_aside(db, 1)
        r = _cli(db_url, "outbox", "retry", str(refused_id), "99999999999999999999")
        assert r.exit_code == 1 and "no outbox row 99999999999999999999; nothing changed" in r.output, r.output
        assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
        r = _cli(db_url, "outbox", "retry", *map(str, range(10**6, 10**6 + 40_000)))
        assert r.exit_code == 1 and "and 39990 more; nothing changed" in r.output and len(r.output) < 1000, r.output[:300]
        assert _refused_count(db) == 1
        r = _cli(db_url, "outbox", "retry", "abc")
        assert r.exit_code == 2 and "Traceback" not in r.output
        assert _refused_count(db) == 1
    finally:
        db.dispose()


def test_listing_refused_rows_takes_a_fixed_number_of_queries(db_url):
    """`hub outbox refused` counted the events waiting behind each refused row with one query per row, each scanning
    the later unsent rows: 1000 refused rows behind 100k unsent ones took 24 s (SQLite) / 31 s (PostgreSQL).
    Now one grouped query (~0.1 s there); here: the statements do not grow with the refused rows, the counts agree."""
    db = connect(db_url)
    try:
        ids = _set_aside(db, 60, keys=30, waiting_each=2)  # k0 refused twice: rows behind the 2nd count for both
        statements = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731 - before_cursor_execute(conn, cursor, statement…)
        event.listen(db.read_engine, "before_cursor_execute", listener)
        try:
            shown = list_refused(db)
        finally:
            event.remove(db.read_engine, "before_cursor_execute", listener)
        assert [e.id for e in shown] == ids
        assert len([s for s in statements if "outbox" in s]) <= 3, statements
        # rows k0…k29 refused at ids[0..29] and again at ids[30..59]; 4 unsent rows of each key after both
        assert [e.waiting for e in shown] == [4] * 60
        assert shown[0].type == "t" and shown[0].event_id == "e0"
    finally:
        db.dispose()


def _prefixed(kafka_bootstrap) -> str:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap, [prefix + t for t in OUTBOUND_TOPICS], 1)
    return prefix


def _write(db, events: list[tuple[str | None, int, int]]) -> None:
    with UnitOfWork(db, actor="test") as uow:
        for key, i, pad in events:
            uow.publish(UPDATES_TOPIC, key=key, type="gov.registry.test", subject=None, data={"i": i, "pad": "x" * pad})
        uow.commit()


def test_a_retry_racing_a_running_relay_keeps_every_key_in_order_and_loses_nothing(db_url, kafka_bootstrap):
    """While the relay runs and writers keep adding events of the refused row's key (and of others, and without a
    key), `hub outbox retry` puts the refused rows back (the relay's limit raised meanwhile: a second relay takes over).
    Every event reaches the topic, each key's events in their order, none marked sent unpublished. Would catch: a
    later row of the key published before the retried one (the relay's refused count or `_next` stale across the
    retry), a row marked sent without an acknowledgement, a NULL-key row held back by a NULL-key refusal."""
    prefix = _prefixed(kafka_bootstrap)
    db = connect(db_url)
    stop = threading.Event()
    small = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix, max_message_bytes=LIMIT, stop_event=stop,
                        idle_wait_s=0.02, backlog_every_s=0.05, batch_size=7)
    reader = TopicReader(kafka_bootstrap, prefix + UPDATES_TOPIC)
    expected: dict[str | None, list[int]] = {}
    counter = iter(range(10**6))

    def add(key, pad=10):
        i = next(counter)
        expected.setdefault(key, []).append(i)
        _write(db, [(key, i, pad)])

    t = threading.Thread(target=small.run, daemon=True)
    t.start()
    big = None
    try:
        for round_ in range(3):  # refusals of PERSON, of "b" and of a NULL-key event, interleaved with small events
            add(PERSON, 3 * LIMIT if round_ == 0 else 10)
            add("b", 3 * LIMIT if round_ == 1 else 10)
            add(None, 3 * LIMIT if round_ == 2 else 10)
            for _ in range(5):
                add(PERSON)
                add("c")
                add(None)
        deadline = time.monotonic() + 30
        while _refused_count(db) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _refused_count(db) == 3
        # the NULL-key refusal holds nothing back: every NULL-key event but the refused one is published
        nulls = set(expected[None])
        reader.poll_until(lambda ms: sum(1 for m in ms if json.loads(m.value())["data"]["i"] in nulls) >= len(nulls) - 1)
        stop.set()
        t.join(10)
        stop2 = threading.Event()
        big = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix, stop_event=stop2, idle_wait_s=0.02,
                          backlog_every_s=0.05, batch_size=7)
        t = threading.Thread(target=big.run, daemon=True)
        t.start()
        writer_done = threading.Event()

        def keep_writing():
            for _ in range(20):
                add(PERSON)
                add("b")
                time.sleep(0.01)
            writer_done.set()

        w = threading.Thread(target=keep_writing, daemon=True)
        w.start()
        time.sleep(0.05)
        assert _cli(db_url, "outbox", "retry", "--all").exit_code == 0
        w.join(30)
        total = sum(len(v) for v in expected.values())
        reader.poll_until(lambda ms: len(ms) >= total, timeout=60)
        time.sleep(0.5)
        reader.poll_until(lambda ms: True, timeout=0.5)
        got = [(v["data"]["i"]) for v in reader.values()]
        assert sorted(got) == sorted(i for v in expected.values() for i in v)  # each once, none lost
        for key, order in expected.items():
            if key is None:
                continue
            seen = [i for i in got if i in set(order)]
            assert seen == order, (key, seen, order)
        with db.read_session() as s:
            assert s.scalar(select(text("count(*)")).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))) == 0
        stop2.set()
        t.join(10)
    finally:
        stop.set()
        reader.close()
        small._reset_producer()
        if big is not None:
            big.stop_event.set()
            big._reset_producer()
        db.dispose()


class _Answer:
    """A produce future as kafka-python's relay code reads it (is_done, succeeded(), exception, get())."""

    def __init__(self):
        self.is_done, self.exception, self.value = False, None, None

    def succeeded(self):
        return self.is_done and self.exception is None

    def get(self, timeout=None):
        if not self.is_done:
            from kafka.errors import KafkaTimeoutError
            raise KafkaTimeoutError("not done")
        if self.exception is not None:
            raise self.exception
        return self.value


class _InvalidRecordInBatch:
    """A broker that validates records (a compacted topic refusing an event without key, a schema check): it answers
    INVALID_RECORD for the batch with the bad record's index in ``record_errors``. kafka-python then fails the bad
    record with InvalidRecordError and every other record of that batch with a plain KafkaError ("part of a batch
    which had one more more invalid records", kafka/producer/sender.py _record_exceptions_fn). Emulated at the
    producer (Tansu validates nothing): records sent between flushes form the batch; a batch without a bad record goes
    to the real broker."""

    MARK = "REJECT-ME"

    def producer(self, real_factory):
        def make(bootstrap, **overrides):
            p = real_factory(bootstrap, **overrides)
            real_send, real_flush, pending = p.send, p.flush, []

            def send(topic, key=None, value=None, **kw):
                answer = _Answer()
                pending.append((topic, key, value, kw, answer))
                return answer

            def flush(timeout=None):
                from kafka.errors import InvalidRecordError, KafkaError

                batch, pending[:] = list(pending), []
                if any(self.MARK.encode() in v for _t, _k, v, _kw, _a in batch):
                    for _t, _k, v, _kw, a in batch:
                        a.exception = (InvalidRecordError("Compacted topic cannot accept message without key")
                                       if self.MARK.encode() in v else
                                       KafkaError("Failed to append record because it was part of a batch which had "
                                                  "one more more invalid records"))
                        a.is_done = True
                    return
                real = [(real_send(t, key=k, value=v, **kw), a) for t, k, v, kw, a in batch]
                real_flush(timeout=timeout)
                for f, a in real:
                    try:
                        a.value = f.get(timeout=timeout)
                    except KafkaError as e:
                        a.exception = e
                    a.is_done = True

            p.send, p.flush = send, flush
            return p
        return make


def test_an_invalid_record_sets_aside_only_itself_when_the_broker_fails_its_whole_batch(db_url, kafka_bootstrap,
                                                                                       monkeypatch):
    """The innocent records of the batch failed with a plain KafkaError; the relay took the first of them (before the
    invalid one) for a transient failure and stopped there: nothing set aside, the same batch again, forever — the
    relay wedged as before the change. Now, after a refusal in a batch, its failed rows are sent alone."""
    from kafka.errors import KafkaError

    from hub.adapters import kafka as kafka_adapter

    monkeypatch.setattr(kafka_adapter, "producer", _InvalidRecordInBatch().producer(kafka_adapter.producer))
    prefix = _prefixed(kafka_bootstrap)
    db = connect(db_url)
    with UnitOfWork(db, actor="test") as uow:
        for key, i, mark in (("a", 0, ""), (PERSON, 1, _InvalidRecordInBatch.MARK), ("c", 2, ""), (PERSON, 3, ""),
                             ("d", 4, "")):
            uow.publish(UPDATES_TOPIC, key=key, type="gov.registry.test", subject=None, data={"i": i, "m": mark})
        uow.commit()
    relay = OutboxRelay(db, kafka_bootstrap, topic_prefix=prefix)
    reader = TopicReader(kafka_bootstrap, prefix + UPDATES_TOPIC)
    try:
        published = 0
        for _ in range(5):
            try:
                published += relay.publish_once()
            except KafkaError:
                relay._failed(KafkaError("round failed"))
        assert relay.refused() == 1, "the invalid record was never set aside: the relay retries its batch forever"
        assert published == 3
        reader.poll_until(lambda ms: len(ms) >= 3)
        time.sleep(0.5)
        reader.poll_until(lambda ms: True, timeout=0.5)
        assert [v["data"]["i"] for v in reader.values()] == [0, 2, 4]
        with db.read_session() as s:
            rows = {json.loads(v)["data"]["i"]: (sent, reason) for v, sent, reason in
                    s.execute(select(OutboxRow.value, OutboxRow.sent_at, OutboxRow.refused_reason))}
        assert "InvalidRecordError" in rows[1][1] and rows[1][0] is None
        assert rows[3] == (None, None)  # waits behind the refused row of its key
    finally:
        reader.close()
        relay._reset_producer()
        db.dispose()


def test_a_broker_restart_that_empties_it_mid_stream_sets_nothing_aside(db_url, monkeypatch):
    """Tansu keeps its data in memory: stopped while the relay publishes and started again on the same port, it has
    no topics, no producer state. What the producer sees meanwhile (connection refused, timeouts, unknown producer,
    out-of-order sequence, unknown topic) must only make rows wait: none set aside, all published once it is back,
    each key in order. Would catch a transient error class slipping into REFUSALS (or the innocent-row handling
    above sending rows alone after a failure that was no refusal) — a row set aside by an outage."""
    from hub.adapters import kafka as kafka_adapter
    from hub.adapters.embedded_broker import EmbeddedBroker

    real = kafka_adapter.producer  # short timeouts: the outage outlasts them, the producer's errors reach the relay
    monkeypatch.setattr(kafka_adapter, "producer", lambda bootstrap, **kw: real(
        bootstrap, **{"max_block_ms": 1000, "request_timeout_ms": 1000, "delivery_timeout_ms": 2000, **kw}))
    broker = EmbeddedBroker().start()
    db = connect(db_url)
    stop = threading.Event()
    relay = OutboxRelay(db, broker.bootstrap_servers, stop_event=stop, idle_wait_s=0.02, backlog_every_s=0.1,
                        batch_size=50, max_message_bytes=LIMIT)
    ensure_topics(broker.bootstrap_servers, list(OUTBOUND_TOPICS), 1)
    failures: list[BaseException] = []
    failed = relay._failed
    relay._failed = lambda e: (failures.append(e), failed(e))
    t = threading.Thread(target=relay.run, daemon=True)
    t.start()
    n = 0
    try:
        def write_some(count):
            nonlocal n
            for _ in range(count):
                _write(db, [(f"k{n % 7}", n, 10), (None, n + 1, 10)])
                n += 2

        write_some(20)
        broker.stop()  # mid-stream: rows keep coming
        write_some(20)
        deadline = time.monotonic() + 45  # a flush blocked on the dead connection may take its 30 s timeout
        while not failures and time.monotonic() < deadline:
            time.sleep(0.1)
        assert failures, "the outage never reached the relay"  # the producer's errors did reach it (it retries)
        time.sleep(2)
        broker = EmbeddedBroker(port=broker.port).start()  # empty
        ensure_topics(broker.bootstrap_servers, list(OUTBOUND_TOPICS), 1)
        write_some(20)
        deadline = time.monotonic() + 90
        while relay.backlog() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert relay.backlog() == 0, "the rows did not drain after the broker came back"
        assert relay.refused() == 0
        with db.read_session() as s:
            assert s.scalar(select(text("count(*)")).select_from(OutboxRow)
                            .where(OutboxRow.refused_reason.is_not(None))) == 0
        reader = TopicReader(broker.bootstrap_servers, UPDATES_TOPIC)
        try:
            reader.poll_until(lambda ms: len({json.loads(m.value())["data"]["i"] for m in ms} & set(range(40, 120))) >= 80,
                              timeout=30)
            got = [v["data"]["i"] for v in reader.values()]
            assert set(range(40, 120)) <= set(got)  # unsent when it stopped or written after: all on the new one
            for k in range(7):  # per key in order (duplicates of a republished round allowed, not reordering)
                seen = [i for i in dict.fromkeys(got) if i % 2 == 0 and (i // 2) % 7 == k]
                assert seen == sorted(seen), (k, seen)
        finally:
            reader.close()
    finally:
        stop.set()
        t.join(15)
        relay._reset_producer()
        broker.stop()
        db.dispose()
