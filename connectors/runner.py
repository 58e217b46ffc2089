"""The shared consume loop of every connector.

Exactly-once in effect: each batch's partner-view changes, registry changes, mismatches, outbox rows, dead-letter
rows and the consumed offsets commit in ONE database transaction. Offsets live in the database; on assignment the
consumer seeks to them; before applying, the batch locks its partitions' offset rows and skips records below the
stored offset (a fence against a copy that processed them first). Kafka commits are only for lag visibility.

Rejected messages go to `registry.deadletter.v1` and the transaction commits only after the broker acknowledged
them; if the dead-letter topic cannot be written the connector stops rather than skip. A dead letter too large for
that topic carries the message's head, size and SHA-256 instead of all of it. Database or broker outages are
retried with capped backoff and never dead-lettered; retrying one batch longer than ``stall_s`` makes the
connector not ready (hub.bootstrap.readiness).

The connector's thread applies each batch itself before it polls again. (Polling and translating the next batch
while one applies, on a thread of its own, was built and measured in session 9: no gain at 1,000 events/s and a
worse 200/s p99, docs/bench-streaming.md; removed.)

A topic whose log started over (a broker that lost its data re-created it: its topic id changed, or, where the broker
reports no topic ids, its high watermark fell below our position) is consumed again from its first offset: the
new events are applied, not skipped until the log reaches the stored offset; event ids keep the replay idempotent.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.errors import KafkaError, MessageSizeTooLargeError, OffsetOutOfRangeError, RecordListTooLargeError
from sqlalchemy.exc import DBAPIError, OperationalError

from connectors.spec import ConnectorSpec
from hub.adapters import kafka as kafka_adapter
from hub.adapters.database import Database
from hub.adapters.jsonutil import dumps
from hub.adapters.metrics import METRICS
from hub.adapters.retry import Retry
from hub.config import Settings
from hub.contract.cloudevents import cloud_event
from hub.contract.inbound import InboundEvent, Rejected, storable
from hub.contract.topics import DEADLETTER_TOPIC
from hub.contract.types import DEADLETTER
from hub.service_layer import deadletters, offsets
from hub.service_layer.deadletters import Rejection
from hub.service_layer.partner_events import Upsert, apply_events
from hub.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("hub.connector")

# Planner settings for a batch's transaction (SET LOCAL: they end with it). The batch's lookups take whole arrays
# (`= ANY(:ids)`, ~1000 keys). A generic plan (PostgreSQL's choice after a prepared statement's fifth run) cannot
# see the array's length and scans every row of a source against it — O(table × batch), 0.1–0.4 s per lookup at
# 25k rows per source. And with the default random_page_cost of 4 the planner prefers sequential scans of
# `persons` and `postings` (200k rows) to 1000 index probes of pages that are in memory anyway (105 ms vs 21 ms).
# Set by the statement that locks the batch's offsets (offsets.lock: no round trip of their own).
_PLANNER = {"plan_cache_mode": "force_custom_plan", "random_page_cost": "1.1"}


# The broker answers a fetch as soon as records arrive (long poll; measured on the embedded Tansu: 4–5 ms from
# produce to poll with 25 ms and with 500 ms), so a long wait costs no latency; a short one makes every idle
# connector send ~40 empty fetches a second, ~0.1 core of Python each on the 2-core machine, which the busy
# connectors' threads then wait for (one GIL).
FETCH_MAX_WAIT_MS = 500


DEADLETTER_HEAD_BYTES = 1024  # of a message (and of its key) in a dead letter too large to carry all of it
KEY_TEXT_LIMIT = 200  # characters of a message key kept as text (dead_letters.key, data.key)
_RECORD_OVERHEAD = 512  # bytes of record batch and record framing around a dead letter's key, value and headers


def _default(setting: str):
    """A runner parameter's default: the setting's (hub/config.py is the one home of these numbers)."""
    return Settings.model_fields[setting].default



def record_time(record) -> datetime | None:
    """A Kafka record's timestamp (milliseconds since the epoch: the producer's create time or the broker's append
    time) as an aware UTC datetime; None when the record carries none (-1)."""
    ms = getattr(record, "timestamp", None)
    if ms is None or ms < 0:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)

class DeadLetterUnavailable(RuntimeError):
    """The dead-letter topic could not be written: the connector stops rather than skip a message."""


@dataclass
class DeadLetter:
    record: object  # kafka ConsumerRecord
    reason: str

    def __post_init__(self):
        self.reason = storable(self.reason)


def key_text(key: bytes | None, limit: int = KEY_TEXT_LIMIT) -> str | None:
    """A message key as storable text (invalid UTF-8 replaced, NUL and lone surrogates escaped, cut to ``limit``)."""
    return storable(key.decode("utf-8", "replace"), limit) if key else None


def dead_letter_event(connector: str, record, reason: str, now, *, head_only: bool = False) -> dict:
    """The `gov.registry.deadletter` event of a rejected record: the whole raw value, or (``head_only``) its first
    DEADLETTER_HEAD_BYTES; ``raw_size`` and ``raw_sha256`` always describe the whole value."""
    raw = record.value or b""
    return cloud_event(type=DEADLETTER, subject=None, now=now, data={
        "reason": reason, "topic": record.topic, "partition": record.partition, "offset": record.offset,
        "key": key_text(record.key), "connector": connector,
        "raw_base64": base64.b64encode(raw[:DEADLETTER_HEAD_BYTES] if head_only else raw).decode("ascii"),
        "raw_truncated": head_only, "raw_size": len(raw), "raw_sha256": hashlib.sha256(raw).hexdigest()})


def dead_letter_message(connector: str, record, reason: str, now, max_bytes: int) -> tuple[bytes | None, bytes, list]:
    """(key, value, headers) of a record's dead letter: with the whole raw value and key if that fits in
    ``max_bytes``, else with their first DEADLETTER_HEAD_BYTES (size and SHA-256 describe the whole value)."""
    whole = _dead_letter_parts(connector, record, reason, now, head_only=False)
    key, value, headers = whole
    size = len(key or b"") + len(value) + sum(len(k) + len(v) for k, v in headers) + _RECORD_OVERHEAD
    return whole if size <= max_bytes else _dead_letter_parts(connector, record, reason, now, head_only=True)


def _dead_letter_parts(connector: str, record, reason: str, now, *, head_only: bool):
    raw, key = record.value or b"", record.key
    if head_only:
        raw_out, key = raw[:DEADLETTER_HEAD_BYTES], key[:DEADLETTER_HEAD_BYTES] if key is not None else None
    else:
        raw_out = raw
    headers = [("hub.reason", reason.encode("utf-8")), ("hub.topic", record.topic.encode()),
               ("hub.partition", str(record.partition).encode()), ("hub.offset", str(record.offset).encode()),
               ("hub.key", key or b""), ("hub.raw", raw_out), ("hub.raw-size", str(len(raw)).encode()),
               ("hub.raw-sha256", hashlib.sha256(raw).hexdigest().encode())]
    value = dumps(dead_letter_event(connector, record, reason, now, head_only=head_only)).encode("utf-8")
    return key, value, headers


class ConnectorRunner:
    def __init__(self, spec: ConnectorSpec, db: Database, bootstrap: str, *, topic_prefix: str = "",
                 group: bool = False, batch_size: int = 1000, session_timeout_ms: int = 10_000,
                 heartbeat_interval_ms: int = 1_000, stop_event: threading.Event | None = None,
                 max_backoff_s: float = 10.0, deadletter_give_up_s: float = 120.0,
                 stall_s: float = _default("connector_stall_s"),
                 max_sequence_jump: int | None = _default("connector_max_sequence_jump"),
                 deadletter_max_bytes: int = _default("deadletter_max_bytes")):
        self.spec = spec
        self.db = db
        self.bootstrap = bootstrap
        self.prefix = topic_prefix
        self.topic = topic_prefix + spec.topic
        self.dlq_topic = topic_prefix + DEADLETTER_TOPIC
        self.group = group
        self.batch_size = batch_size
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.stop_event = stop_event or threading.Event()
        self.max_backoff_s = max_backoff_s
        self.deadletter_give_up_s = deadletter_give_up_s
        self.stall_s = stall_s
        self.max_sequence_jump = max_sequence_jump
        self.deadletter_max_bytes = deadletter_max_bytes
        self.consumer = None
        self._dlq = None
        self.last_progress = time.time()
        self.failed: BaseException | None = None
        self.records_done = 0  # records this copy applied or dead-lettered
        self.retrying_since: float | None = None  # unix time the current batch first failed; None: not retrying
        self.retry_error: str | None = None  # the last failure's class, while retrying
        self._topic_ids: dict[int, str | None] = {}  # partition -> topic id its position was stored under
        self._batch_retry: Retry | None = None  # the batches' retry (_apply_retried), made at the first batch
        self._batch_first_attempt = 0.0  # unix time the current batch was first tried

    # --- offsets -------------------------------------------------------------------------------------------
    def stored_offsets(self) -> dict[int, tuple[int, str | None]]:
        """partition -> (next offset, the topic id it was stored under)."""
        return offsets.stored(self.db, connector=self.spec.name, topic=self.topic)

    def seek_to_stored(self, partitions) -> None:
        """Position each partition at its stored offset (the first poll then checks the log is still the one
        those offsets belong to, ``_log_started_over``)."""
        stored = self.stored_offsets()
        for tp in partitions:
            if tp.partition in stored:
                offset, self._topic_ids[tp.partition] = stored[tp.partition]
                self.consumer.seek(tp, offset)
            else:
                self._topic_ids[tp.partition] = None
                self.consumer.seek_to_beginning(tp)

    # --- loop ----------------------------------------------------------------------------------------------
    def _open(self) -> None:
        group_id = f"{self.prefix}hub-{self.spec.name}" if self.group else None
        self.consumer = kafka_adapter.consumer(self.bootstrap, group_id=group_id, max_poll_records=self.batch_size,
                                               auto_offset_reset="none",
                                               session_timeout_ms=self.session_timeout_ms,
                                               heartbeat_interval_ms=self.heartbeat_interval_ms,
                                               fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        if self.group:
            runner = self

            class _Listener(ConsumerRebalanceListener):
                def on_partitions_revoked(self, revoked):
                    log.info("%s: partitions revoked %s", runner.spec.name, sorted(tp.partition for tp in revoked))

                def on_partitions_assigned(self, assigned):
                    log.info("%s: partitions assigned %s", runner.spec.name, sorted(tp.partition for tp in assigned))
                    runner.seek_to_stored(assigned)

            self.consumer.subscribe([self.topic], listener=_Listener())
        else:
            parts = None
            warn_at = time.monotonic() + 10
            while not parts and not self.stop_event.is_set():
                parts = self.consumer.partitions_for_topic(self.topic)
                if not parts:  # the hub creates its topics (ensure_topics); until then, wait (readiness: stuck)
                    if time.monotonic() > warn_at:
                        log.warning("%s: topic %s does not exist; waiting for it", self.spec.name, self.topic)
                        warn_at = time.monotonic() + 60
                    self.stop_event.wait(0.2)
            tps = [TopicPartition(self.topic, p) for p in sorted(parts or [])]
            self.consumer.assign(tps)
            self.seek_to_stored(tps)

    def _poll_once(self) -> None:
        try:
            if self.consumer is None:
                self._open()
            records = self.consumer.poll(timeout_ms=200, max_records=self.batch_size)
            self.last_progress = time.time()
            METRICS.set("hub_connector_last_progress_seconds", self.last_progress, connector=self.spec.name)
            if self.retrying_since is not None:  # opened again after a database outage (_poll_failed)
                self._retried(None)
            if self._log_started_over():  # those partitions' positions moved to the log's start
                if records:  # records taken from the others too: polled again from the stored offsets
                    self._close_consumer()
                return
            if records:
                self.process(records)
                self._report_lag()
        except OffsetOutOfRangeError as e:
            positions = e.args[0] if e.args and isinstance(e.args[0], dict) else {}
            self._restart_from_log_start(list(positions) or list(self.consumer.assignment()),
                                         "the stored offset is not in the log (out of range)", positions)

    def _poll_failed(self, e: BaseException) -> None:
        if not isinstance(e, KafkaError):  # the database is down before a batch (reading the stored offsets): as
            self._retried(e)  # long as it lasts, reported as a batch retried would be (not ready)
        self._close_consumer()

    def run(self) -> None:
        """Consume until stopped. Raises DeadLetterUnavailable when a rejected message cannot be dead-lettered."""
        # polling, seeking, resetting offsets: broker or database errors retried with capped backoff (hub/adapters/retry.py)
        retry = Retry(self.spec.name, on=(KafkaError, OperationalError, DBAPIError), log=log, stop_event=self.stop_event,
                      max_s=self.max_backoff_s, after_failure=self._poll_failed, raise_on_stop=False)
        try:
            while not self.stop_event.is_set():
                retry(self._poll_once)
        except BaseException as e:
            self.failed = e
            log.exception("%s connector stopped", self.spec.name)
            raise
        finally:
            self._close_consumer()
            if self._dlq is not None:
                self._dlq.close(timeout=2)

    def _log_started_over(self) -> bool:
        """Whether an assigned partition's log is not the one our position belongs to — the topic was re-created
        (its id changed), or, where the broker reports no topic id, the high watermark lies below our position —
        in which case those partitions now continue from the log's first offset."""
        current = kafka_adapter.topic_id(self.consumer, self.topic)
        recreated, shrunk = [], []
        for tp in self.consumer.assignment():
            known = self._topic_ids.get(tp.partition)
            if current and known:
                if current != known:
                    recreated.append(tp)
                continue
            hw = self.consumer.highwater(tp)
            if hw is not None and hw < self.consumer.position(tp):
                shrunk.append(tp)
        if shrunk:
            self._restart_from_log_start(shrunk, "the log ends before the stored offset (high watermark below it)")
        if recreated:
            was = self._topic_ids[recreated[0].partition]
            self._restart_from_log_start(recreated, f"topic re-created (topic id {was} is now {current})")
            if not self.group:  # the new topic may have other partitions: assign them anew (a group rebalances)
                self._close_consumer()
        return bool(recreated or shrunk)

    def _restart_from_log_start(self, tps: list, why: str, positions: dict | None = None) -> None:
        """The stored offsets of ``tps`` do not belong to the log the broker has (a broker that lost its data
        re-created the topic; retention removed them): continue from the log's first offset, and say so in the log
        and the operation log. Event ids keep the replay idempotent."""
        positions = positions or {tp: self.consumer.position(tp) for tp in tps}
        starts = self.consumer.beginning_offsets(tps)
        current = kafka_adapter.topic_id(self.consumer, self.topic)
        with UnitOfWork(self.db, actor=f"connector:{self.spec.name}") as uow:
            offsets.reset(uow, connector=self.spec.name, topic=self.topic, topic_id=current, why=why,
                          starts={tp.partition: starts[tp] for tp in tps},
                          was={tp.partition: positions.get(tp) for tp in tps})
            uow.commit()
        for tp in tps:
            log.warning("%s: %s: partition %s continues from offset %s instead of %s (event ids keep this "
                        "idempotent)", self.spec.name, why, tp.partition, starts[tp], positions.get(tp))
            self.consumer.seek(tp, starts[tp])
            self._topic_ids[tp.partition] = current
        METRICS.inc("hub_connector_log_resets_total", len(tps), connector=self.spec.name)

    def _close_consumer(self) -> None:
        if self.consumer is not None:
            try:
                self.consumer.close(autocommit=False)
            except Exception:  # noqa: BLE001
                pass
            self.consumer = None

    def _report_lag(self) -> None:
        for tp in self.consumer.assignment():
            hw = self.consumer.highwater(tp)
            if hw is not None:
                METRICS.set("hub_connector_lag", max(0, hw - self.consumer.position(tp)), connector=self.spec.name,
                            partition=str(tp.partition))

    # --- one batch -----------------------------------------------------------------------------------------
    def _commit_to_group(self, next_offsets: dict[int, int] | None) -> None:
        if not (next_offsets and self.group and self.consumer is not None):
            return
        from kafka.structs import OffsetAndMetadata

        try:
            self.consumer.commit_async({TopicPartition(self.topic, p): OffsetAndMetadata(n, "", -1)
                                        for p, n in next_offsets.items()})
        except Exception:  # noqa: BLE001 - lag visibility only
            pass

    def translate(self, records: dict) -> list:
        """(record, translated event or Rejected) of one poll's records, partition by partition."""
        flat = [r for tp in sorted(records, key=lambda t: t.partition) for r in records[tp]]
        return [(r, self.spec.translate(r.value)) for r in flat]

    def process(self, records: dict) -> None:
        """Apply one poll's records exactly once, retrying database or broker outages with capped backoff."""
        topic_id = kafka_adapter.topic_id(self.consumer, self.topic) if self.consumer is not None else None
        self._commit_to_group(self._apply_retried(self.translate(records), topic_id))

    def _apply_retried(self, translated: list, topic_id: str | None) -> dict[int, int] | None:
        """``_apply`` until it goes through; returns the next offsets it stored."""
        self._batch_first_attempt = time.time()
        if self._batch_retry is None:
            # one per runner, reused for every batch: a Retry per batch (with its tenacity Retrying, whose stop and
            # before_sleep are the Retry's bound methods: a reference cycle) was garbage for the collector each batch
            self._batch_retry = Retry(
                f"{self.spec.name} batch", on=(DeadLetterUnavailable, OperationalError, DBAPIError, KafkaError),
                log=log, stop_event=self.stop_event, max_s=self.max_backoff_s, after_failure=self._batch_failed,
                log_recovery=False,
                # retried until stopped; an unwritable dead-letter topic only for deadletter_give_up_s (then the
                # connector stops)
                give_up=self._batch_give_up)
        stored = self._batch_retry(self._apply, translated, topic_id)
        self._retried(None)
        return stored

    def _batch_failed(self, e: BaseException) -> None:
        """After a failed attempt at the current batch (first tried at ``_batch_first_attempt``)."""
        if isinstance(e, DeadLetterUnavailable):
            self._reset_dlq()
        self._retried(e, since=self._batch_first_attempt)
        self.last_progress = time.time()

    def _batch_give_up(self, e: BaseException, seconds: float) -> bool:
        return isinstance(e, DeadLetterUnavailable) and seconds > self.deadletter_give_up_s

    def _retried(self, error: BaseException | None, since: float | None = None) -> None:
        """Note that the current batch, first tried at unix time ``since``, failed (``error``) or went through
        (None): `retrying_since`, the `hub_connector_batch_retry_seconds` gauge, a log line when a retry ends."""
        now = time.time()
        if error is None:
            if self.retrying_since is not None:
                log.info("%s: batch applied after retrying for %.0fs", self.spec.name, now - self.retrying_since)
                self.retrying_since = self.retry_error = None
                METRICS.set("hub_connector_batch_retry_seconds", 0, connector=self.spec.name)
            return
        if self.retrying_since is None:
            self.retrying_since = since or now
        self.retry_error = error.__class__.__name__
        METRICS.set("hub_connector_batch_retry_seconds", now - self.retrying_since, connector=self.spec.name)

    def stalled_for(self, now: float | None = None) -> float | None:
        """Seconds the current batch has been retried, when that is longer than ``stall_s``; else None."""
        if self.retrying_since is None:
            return None
        waited = (now or time.time()) - self.retrying_since
        return waited if waited > self.stall_s else None

    def _apply(self, translated: list, topic_id: str | None = None) -> dict[int, int] | None:
        """One batch in one transaction; returns the next offsets stored (None: nothing in it was new). Touches
        no consumer: ``topic_id`` is the topic's id when polled."""
        name = self.spec.name
        with UnitOfWork(self.db, actor=f"connector:{name}") as uow:
            partitions = sorted({r.partition for r, _ in translated})
            stored = offsets.lock(uow, connector=name, topic=self.topic, partitions=partitions, settings=_PLANNER)
            fresh = [(r, t) for r, t in translated if r.offset >= stored.get(r.partition, 0)]
            if not fresh:
                return None
            accepted: list[InboundEvent] = []
            dead: list[DeadLetter] = []
            by_event: dict[int, object] = {}
            for r, t in fresh:
                if isinstance(t, Rejected):
                    dead.append(DeadLetter(r, t.reason))
                else:
                    if t.sent_at is None:  # no CloudEvent time: the record's Kafka timestamp, when the broker gave one
                        t = dataclasses.replace(t, sent_at=record_time(r))
                    accepted.append(t)
                    by_event[id(t)] = r
            next_offsets: dict[int, int] = {}
            for r, _ in fresh:
                next_offsets[r.partition] = max(next_offsets.get(r.partition, 0), r.offset + 1)
            # the offsets ride on the batch's write statement (PostgreSQL): no round trip of their own
            stored_offsets = Upsert(offsets.TABLE, offsets.rows(uow, connector=name, topic=self.topic,
                                                                 next_offsets=next_offsets, topic_id=topic_id),
                                    offsets.KEY)
            result = apply_events(uow, accepted, partner_row=self.spec.partner_row, plain=True,
                                  max_sequence_jump=self.max_sequence_jump, with_writes=(stored_offsets,))
            for event, reason in result.conflicts:
                dead.append(DeadLetter(by_event[id(event)], reason))
            deadletters.record(uow, connector=name, rejected=[
                Rejection(d.record.topic, d.record.partition, d.record.offset, key_text(d.record.key),
                          d.record.value or b"", d.reason) for d in dead])
            if result.applied or dead:
                uow.record(f"connector.{name}.batch", "connector", name, after={
                    "offsets": {str(p): n for p, n in sorted(next_offsets.items())}, "applied": result.applied,
                    "duplicates": result.duplicates, "stale": result.stale, "dead_lettered": len(dead),
                    "mismatches_opened": result.mismatches.opened, "mismatches_resolved": result.mismatches.resolved})
            uow.flush()
            self._publish_dead_letters(dead, uow.now)
            uow.commit()
        for p in next_offsets:
            self._topic_ids[p] = topic_id
        self.records_done += len(fresh)
        METRICS.inc("hub_connector_consumed_total", len(fresh), connector=name)
        METRICS.inc("hub_connector_applied_total", result.applied, connector=name)
        METRICS.inc("hub_connector_duplicates_total", result.duplicates, connector=name)
        METRICS.inc("hub_connector_stale_total", result.stale, connector=name)
        METRICS.inc("hub_connector_deadlettered_total", len(dead), connector=name)
        for kind, n in result.mismatches.opened.items():
            METRICS.inc("hub_mismatches_opened_total", n, kind=kind)
        for kind, n in result.mismatches.resolved.items():
            METRICS.inc("hub_mismatches_resolved_total", n, kind=kind)
        return next_offsets

    def _reset_dlq(self) -> None:
        if self._dlq is not None:
            try:
                self._dlq.close(timeout=1)
            except Exception:  # noqa: BLE001
                pass
            self._dlq = None

    def _publish_dead_letters(self, dead: list[DeadLetter], now) -> None:
        if not dead:
            return
        try:
            if self._dlq is None:
                self._dlq = kafka_adapter.producer(self.bootstrap)
            too_large = self._send_dead_letters(dead, now, self.deadletter_max_bytes)
            if too_large:  # the producer or the topic takes less than HUB_DEADLETTER_MAX_BYTES: the head form then
                log.warning("%s: %d dead letter(s) refused as too large; sending their head, size and hash "
                            "(HUB_DEADLETTER_MAX_BYTES is above what %s accepts)", self.spec.name, len(too_large),
                            self.dlq_topic)
                if self._send_dead_letters(too_large, now, 0):
                    raise MessageSizeTooLargeError("even the head form of a dead letter was refused")
        except Exception as e:  # noqa: BLE001
            raise DeadLetterUnavailable(f"cannot write {self.dlq_topic}: {e!r}") from e

    def _send_dead_letters(self, dead: list[DeadLetter], now, max_bytes: int) -> list[DeadLetter]:
        """Publish and wait for the broker's acknowledgement; returns those refused as too large."""
        too_large, futures = [], []
        for d in dead:
            key, value, headers = dead_letter_message(self.spec.name, d.record, d.reason, now, max_bytes)
            try:
                futures.append((d, self._dlq.send(self.dlq_topic, key=key, value=value, headers=headers)))
            except MessageSizeTooLargeError:  # over the producer's max_request_size
                too_large.append(d)
        self._dlq.flush(timeout=30)
        for d, f in futures:
            try:
                f.get(timeout=30)
            except (MessageSizeTooLargeError, RecordListTooLargeError):  # over the topic's max.message.bytes
                too_large.append(d)
        return too_large
