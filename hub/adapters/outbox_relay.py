"""The outbox relay: publishes outbox rows in order with the idempotent producer and marks them sent only
after the broker acknowledged them. With the broker down, rows wait; they drain when it returns.

A row the broker (or the producer) refuses for good — too large for the producer's ``max_request_size`` or the
topic's ``max.message.bytes``, an invalid topic or record: sending it again cannot succeed — is set aside: kept with
``refused_at`` and ``refused_reason``, not sent, and the relay goes on with the rows after it. Later rows of the same
topic and key wait behind it (events of one key keep their order, docs/contract.md); `hub outbox retry` puts it back.
Every other failure (broker down, timeouts, not leader) is retried as before, forever.

One relay publishes at a time: on PostgreSQL the relay holds a session advisory lock (others stand by).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from kafka.errors import (InvalidRecordError, InvalidTopicError, KafkaError, MessageSizeTooLargeError,
                          RecordListTooLargeError)
from sqlalchemy import and_, bindparam, exists, func, select, text, update
from sqlalchemy.orm import aliased

from hub.adapters import kafka as kafka_adapter
from hub.adapters import outbox
from hub.adapters.bulk import any_of_param, any_of_value
from hub.adapters.database import Database
from hub.adapters.metrics import METRICS
from hub.adapters.orm import OutboxRow
from hub.adapters.retry import Retry

log = logging.getLogger("hub.outbox")
RELAY_LOCK_KEY = 0x68756272  # "hubr"

# Refusals of one message that sending it again cannot change (kafka-python: not retriable). The producer raises
# MessageSizeTooLargeError itself for a message over its max_request_size; the broker answers MessageSizeTooLarge or
# RecordListTooLarge for one over the topic's max.message.bytes. Anything else — the broker down, timeouts, not
# leader, authorization (a configuration to fix, for every row alike) — is retried.
REFUSALS = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidTopicError, InvalidRecordError)
_REFUSED = aliased(OutboxRow)


class OutboxRelay:
    def __init__(self, db: Database, bootstrap: str, *, topic_prefix: str = "", batch_size: int = 2000,
                 stop_event: threading.Event | None = None, idle_wait_s: float = 0.1, backlog_every_s: float = 1.0,
                 max_message_bytes: int | None = None):
        self.db = db
        self.max_message_bytes = max_message_bytes  # the producer's max_request_size (None: kafka-python's 1 MiB)
        self.bootstrap = bootstrap
        self.prefix = topic_prefix
        self.batch_size = batch_size
        self.stop_event = stop_event or threading.Event()
        self.idle_wait_s = idle_wait_s
        self.backlog_every_s = backlog_every_s
        self._backlog_at = float("-inf")  # monotonic time of the last backlog count
        self._producer = None
        self._lock_conn = None
        self._next: list | None = None  # unsent rows read with the last marks: the next batch
        self._refused: int | None = None  # refused rows set aside (None: not counted yet); 0 = the plain read
        self.healthy = True

    def _ensure_producer(self):
        if self._producer is None:
            overrides = {} if self.max_message_bytes is None else {"max_request_size": self.max_message_bytes}
            self._producer = kafka_adapter.producer(self.bootstrap, **overrides)
        return self._producer

    def _reset_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # noqa: BLE001
                pass
        self._producer = None

    def _leader(self) -> bool:
        if not self.db.is_postgres:
            return True
        if self._lock_conn is None:
            self._lock_conn = self.db.engine.connect()
            # The relay's marks on this connection need not wait for the WAL flush (see publish_once).
            self._lock_conn.execute(text("SET synchronous_commit TO OFF"))
            self._lock_conn.commit()
        if getattr(self, "_leading", False):
            return True
        got = self._lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK_KEY}).scalar()
        self._lock_conn.commit()
        self._leading = bool(got)
        return self._leading

    def backlog(self) -> int:
        """Rows waiting to be published (refused rows set aside not counted; rows waiting behind them are)."""
        return self._counts()[0]

    def _counts(self) -> tuple[int, int]:
        """(rows waiting to be published, rows set aside as refused) in one statement and one round trip: the unsent
        rows (the partial index's own predicate: an index-only count) less the refused ones (their partial index)."""
        unsent = select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None)).scalar_subquery()
        refused = self._refused_count().scalar_subquery()
        with self.db.read_session() as s:
            u, r = s.execute(select(unsent, refused)).one()
        return (u or 0) - (r or 0), r or 0

    @staticmethod
    def _refused_count():
        """Rows set aside and not sent. ``sent_at IS NULL`` (always true of a set-aside row) lets PostgreSQL count
        them through the unsent rows' partial index: without statistics on ``refused_at`` (a table not yet analyzed,
        after a big import) ``refused_at IS NOT NULL`` alone was planned as a scan of the whole outbox — twice a
        second on the relay's thread, 200/s p99 74 → 430 ms with 200,000 persons (bench/streaming_bench.py, session
        11)."""
        return (select(func.count()).select_from(OutboxRow)
                .where(OutboxRow.sent_at.is_(None), OutboxRow.refused_at.is_not(None)))

    def refused(self) -> int:
        """Rows set aside as refused by the broker (`hub outbox refused` lists them)."""
        with self.db.read_session() as s:
            return s.scalar(self._refused_count()) or 0

    def _measure_backlog(self) -> None:
        """Set ``hub_outbox_backlog`` and ``hub_outbox_refused`` from COUNTs (partial indexes make them cheap), at most
        once per ``backlog_every_s``, in one statement. On the relay's thread between two publications, every round
        trip here delayed the events committed meanwhile; it now runs on a thread of its own, ``_keep_measuring``.
        Rows committed while a partial batch was in flight are counted at the next measurement."""
        now = time.monotonic()
        if now - self._backlog_at < self.backlog_every_s:
            return
        self._backlog_at = now
        backlog, refused = self._counts()
        METRICS.set("hub_outbox_backlog", backlog)
        METRICS.set("hub_outbox_refused", refused)
        # Raised, never lowered, from here: a count read before the relay set a row aside and assigned after it would
        # turn the per-key check off while that row's later events wait (lowered only by the relay's own count, at
        # its start and after a failure). Raised: rows another relay set aside (SQLite has no relay lock).
        if refused > (self._refused or 0):
            self._refused = refused

    def _unsent(self, s) -> list:
        """The next rows to publish, in id order: neither sent nor set aside, nor behind a row of their topic and key
        that was set aside (that check only while refused rows exist: the relay sets them aside itself, and counts
        them when it starts, after a failure and with the backlog)."""
        if self._refused is None:
            self._refused = s.scalar(self._refused_count())
        q = (select(OutboxRow.id, OutboxRow.topic, OutboxRow.key, OutboxRow.value)
             .where(OutboxRow.sent_at.is_(None), OutboxRow.refused_at.is_(None)))
        if self._refused:
            q = q.where(~exists().where(and_(_REFUSED.refused_at.is_not(None), _REFUSED.topic == OutboxRow.topic,
                                             _REFUSED.key == OutboxRow.key, _REFUSED.id < OutboxRow.id)))
        return s.execute(q.order_by(OutboxRow.id).limit(self.batch_size)).all()

    @contextmanager
    def _transaction(self, *, read_only: bool = False) -> Iterator:
        """A transaction on the relay's own connection — PostgreSQL, while it leads: no pool checkout and ping per
        round, marks committed without waiting for the WAL flush (set once for the connection) — or else on a
        pooled session (with ``synchronous_commit`` off for the transaction on PostgreSQL; a read-only one reads
        through the read session, which on SQLite takes no write lock)."""
        if self._lock_conn is not None and getattr(self, "_leading", False):
            with self._lock_conn.begin():
                yield self._lock_conn
            return
        if read_only:
            with self.db.read_session() as r:
                yield r
            return
        with self.db.session() as s, s.begin():
            if self.db.is_postgres:
                s.execute(text("SET LOCAL synchronous_commit TO OFF"))
            yield s

    def publish_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were acknowledged and marked sent.

        The transaction that marks a batch sent also reads the next one (kept for the next call, which then
        publishes without a round trip of its own): a busy relay goes from one broker acknowledgement to the next
        publication with one transaction in between, not two.

        The marks need not wait for the WAL flush (``synchronous_commit`` off): a mark lost with a crash of
        PostgreSQL itself only publishes its rows again, with the same event ids — as a relay that stops between the
        broker's acknowledgement and the marks does anyway (at least once; consumers drop a known id). The rows and
        the changes they report were committed durably by their own transactions."""
        rows, self._next = self._next, None
        if not rows:
            with self._transaction(read_only=True) as s:
                rows = self._unsent(s)
        if not rows:
            return 0
        p = self._ensure_producer()
        futures = []
        try:
            for _id, topic, key, value in rows:
                futures.append(p.send(self.prefix + topic, key=key.encode() if key else None,
                                      value=value.encode("utf-8")))
        except REFUSALS:  # over the producer's max_request_size: the rows after it are not sent in this round
            return self._set_aside_refused(rows, futures)
        p.flush(timeout=30)
        try:
            for f in futures:
                f.get(timeout=30)  # raises if any was not acknowledged: nothing is marked sent
        except KafkaError:
            # A refusal anywhere in the round, not only at the first failed future: the broker fails a whole batch for
            # one invalid record, the others with a plain KafkaError ("part of a batch which had … invalid records").
            if any(f.is_done and isinstance(f.exception, REFUSALS) for f in futures):
                return self._set_aside_refused(rows, futures)
            raise
        ids = [r[0] for r in rows]
        now = datetime.now(timezone.utc)
        with self._transaction() as s:
            for i in range(0, len(ids), 1000):  # PostgreSQL: one array parameter (1000 placeholders cost ~0.1 s)
                _mark_sent(s, ids[i:i + 1000], now)
            self._next = self._unsent(s) or None  # after the marks, in the same transaction: none of these rows
        METRICS.inc("hub_outbox_published_total", len(ids))
        return len(ids)

    def _set_aside_refused(self, rows: list, futures: list) -> int:
        """After a refusal (only then): mark the rows the broker acknowledged, set aside the ones it refused for good
        — each sent alone first, since the broker refuses a whole batch of records for one too large — and leave the
        rest unsent for the next round, in order. A row of a topic and key with a refused row before it is not sent
        (it waits behind the refused one). Then, if some row failed otherwise (broker down…), raise that: the retry
        policy takes over as for any failure. Returns how many rows were marked sent."""
        try:
            self._producer.flush(timeout=30)
        except KafkaError:  # the futures not done count as failed otherwise
            pass
        marks: list[int] = []
        refusals: list[tuple[tuple, str]] = []
        held: set[tuple[str, str]] = set()
        other: BaseException | None = None
        alone = False  # rows the broker refused: sent again one by one, on a fresh producer (fresh sequence numbers)
        # a refused batch fails its other records too (a plain KafkaError for those next to an invalid one): after a
        # refusal, every failed row is asked for alone, in order — its own answer tells refused, published or down
        refused_batch = any(f.is_done and isinstance(f.exception, REFUSALS) for f in futures)
        for i, row in enumerate(rows):
            f = futures[i] if i < len(futures) else None
            if f is not None and f.is_done and f.succeeded():
                marks.append(row[0])  # acknowledged: on the topic (even if a refused row of its key came before)
                continue
            if other is not None or (row[2] is not None and (row[1], row[2]) in held):
                continue  # waits for the next round / behind the refused row of its key
            if f is None and i > len(futures):
                continue  # not sent: the producer refused the row before it; next round
            error = f.exception if f is not None and f.is_done else None
            if f is None:  # the row the producer refused at send(): that refusal is its own
                error = self._send_alone(row)
            elif isinstance(error, REFUSALS) or (error is not None and refused_batch):  # its batch's answer: ask alone
                if not alone:
                    self._reset_producer()
                    alone = True
                error = self._send_alone(row)
            elif error is None:
                error = KafkaError("not acknowledged in time")
            if error is None:
                marks.append(row[0])
            elif isinstance(error, REFUSALS):
                said = str(error)  # kafka-python's: "[Error 10] MessageSizeTooLargeError: The message is N bytes …"
                refusals.append((row, (said if type(error).__name__ in said else f"{type(error).__name__}: {said}")[:1000]))
                if row[2] is not None:
                    held.add((row[1], row[2]))
                if alone:  # the broker failed a batch of this producer: the next one starts afresh
                    self._reset_producer()
            else:
                other = error
        now = datetime.now(timezone.utc)
        if refusals:
            self._refused = (self._refused or 0) + len(refusals)
        with self._transaction() as s:
            for i in range(0, len(marks), 1000):
                _mark_sent(s, marks[i:i + 1000], now)
            for row, reason in refusals:
                s.execute(update(OutboxRow).where(OutboxRow.id == row[0], OutboxRow.sent_at.is_(None))
                          .values(refused_at=now, refused_reason=reason))
            # the next batch (as after a publication): the rows left unsent go on at once, not after the idle wait
            self._next = (self._unsent(s) or None) if other is None else None
        if refusals:
            METRICS.inc("hub_outbox_refusals_total", len(refusals))
            METRICS.set("hub_outbox_refused", self._refused)
        for row, reason in refusals:  # no key, no value: they may carry ID numbers
            log.warning("outbox row %d (%s, %d bytes) refused by the broker, set aside; later events of its key wait "
                        "behind it (`hub outbox refused`, `hub outbox retry %d`): %s",
                        row[0], row[1], len(row[3].encode("utf-8")), row[0], reason)
        METRICS.inc("hub_outbox_published_total", len(marks))
        if other is not None:
            raise other
        return len(marks)

    def _send_alone(self, row) -> BaseException | None:
        """Publish one row by itself and wait for the broker: None when acknowledged, else the error."""
        _id, topic, key, value = row
        try:
            p = self._ensure_producer()
            f = p.send(self.prefix + topic, key=key.encode() if key else None, value=value.encode("utf-8"))
            p.flush(timeout=30)
            f.get(timeout=30)
        except KafkaError as e:
            return e
        return None

    def run(self) -> None:
        # broker unavailable, database hiccups: retried with capped backoff (hub/adapters/retry.py), logged once
        retry = Retry("outbox relay", on=(Exception,), traceback_unless=(KafkaError,), log=log,
                      stop_event=self.stop_event, max_s=10, after_failure=self._failed, raise_on_stop=False)
        measuring = threading.Thread(target=self._keep_measuring, name="outbox-backlog", daemon=True)
        measuring.start()
        while not self.stop_event.is_set():
            retry(self._step)
        self._reset_producer()
        self._release_leadership()
        measuring.join(5)

    def _keep_measuring(self) -> None:
        """The backlog and refused counts, on a thread of their own: on the relay's thread they delayed the events
        committed meanwhile by their round trip, once a second — and after a big import the unsent rows' partial
        index holds every row just marked sent until vacuum, so the COUNT took hundreds of milliseconds (200/s p99
        ~430 ms with 200,000 persons, bench/streaming_bench.py, session 11). Measured whatever the relay does: an
        unreachable broker blocks a publication ~30 s, and the metric shows the rows piling up meanwhile."""
        while not self.stop_event.is_set():
            try:
                self._measure_backlog()
            except Exception as e:  # noqa: BLE001 - the database down: the relay's own retry reports it
                log.debug("outbox backlog not measured: %s", e)
            self.stop_event.wait(max(self.backlog_every_s, 0.05))

    def _step(self) -> None:
        if not self._leader():
            self.stop_event.wait(2)
            return
        n = self.publish_once()  # the backlog is measured by its own thread (_keep_measuring)
        self.healthy = True
        if n < self.batch_size and not self._next:
            outbox.wait_for_rows(self.idle_wait_s)  # woken at once by commits in this process

    def _failed(self, error: BaseException) -> None:
        self.healthy = False
        self._next = None  # read again after a failure (another relay may have published them meanwhile)
        self._refused = None  # counted again (another relay may have set rows aside meanwhile)
        if isinstance(error, KafkaError):
            self._reset_producer()
        else:
            self._release_leadership()
            self._leading = False

    def _release_leadership(self) -> None:
        """Give the advisory lock back and reset ``synchronous_commit`` before the connection returns to the pool
        (else no relay could lead again, and the next user of the connection — a connector's batch — would commit
        without waiting for the WAL flush); a connection that cannot be reset is discarded, not pooled."""
        if self._lock_conn is not None:
            try:
                self._lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RELAY_LOCK_KEY})
                self._lock_conn.execute(text("RESET synchronous_commit"))
                self._lock_conn.commit()
            except Exception:  # noqa: BLE001 - a dead connection holds no lock
                try:
                    self._lock_conn.invalidate()
                except Exception:  # noqa: BLE001
                    pass
            self._lock_conn.close()
            self._lock_conn = None


def _mark_sent(s, ids: list[int], now: datetime) -> None:
    """``UPDATE outbox SET sent_at = :now WHERE id = ANY(:ids)`` on the relay's connection or session."""
    postgres = s.get_bind().dialect.name == "postgresql" if hasattr(s, "get_bind") else s.dialect.name == "postgresql"
    s.execute(_mark_sent_statement(postgres), {"ids": any_of_value(ids, postgres), "marked_at": now})


@functools.lru_cache(maxsize=2)
def _mark_sent_statement(postgres: bool):
    """``_mark_sent``'s statement, built once (Core: the relay's session holds no outbox rows to synchronize). One
    built per round was cyclic garbage for the collector every round (docs/bench-streaming.md, session 12)."""
    table = OutboxRow.__table__
    return update(table).where(any_of_param(table.c.id, "ids", postgres)).values(sent_at=bindparam("marked_at"))
