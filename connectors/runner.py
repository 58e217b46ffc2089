"""The shared consume loop of every connector.

Exactly-once in effect: each batch's partner-view changes, registry changes, mismatches, outbox rows, dead-letter
rows and the consumed offsets commit in ONE database transaction. Offsets live in the database; on assignment the
consumer seeks to them; before applying, the batch locks its partitions' offset rows and skips records below the
stored offset (a fence against a copy that processed them first). Kafka commits are only for lag visibility.

Rejected messages go to `registry.deadletter.v1` and the transaction commits only after the broker acknowledged
them; if the dead-letter topic cannot be written the connector stops rather than skip. Database or broker outages
are retried with capped backoff and never dead-lettered.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.errors import KafkaError, OffsetOutOfRangeError
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from connectors.events import InboundEvent, Rejected
from connectors.spec import ConnectorSpec
from hub.adapters import kafka as kafka_adapter
from hub.adapters.bulk import upsert
from hub.adapters.database import Database
from hub.adapters.jsonutil import dumps
from hub.adapters.metrics import METRICS
from hub.adapters.orm import ConsumerOffsetRow, DeadLetterRow
from hub.adapters.outbox import DEADLETTER_TOPIC, cloud_event
from hub.service_layer.partner_events import apply_events
from hub.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("hub.connector")

# Planner settings for a batch's transaction (SET LOCAL: they end with it). The batch's lookups take whole arrays
# (`= ANY(:ids)`, ~1000 keys). A generic plan (PostgreSQL's choice after a prepared statement's fifth run) cannot
# see the array's length and scans every row of a source against it — O(table × batch), 0.1–0.4 s per lookup at
# 25k rows per source. And with the default random_page_cost of 4 the planner prefers sequential scans of
# `persons` and `postings` (200k rows) to 1000 index probes of pages that are in memory anyway (105 ms vs 21 ms).
_PLANNER = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                "set_config('random_page_cost', '1.1', true)")


# The broker answers a fetch as soon as records arrive (long poll; measured on the embedded Tansu: 4–5 ms from
# produce to poll with 25 ms and with 500 ms), so a long wait costs no latency; a short one makes every idle
# connector send ~40 empty fetches a second, ~0.1 core of Python each on the 2-core machine, which the busy
# connectors' threads then wait for (one GIL).
FETCH_MAX_WAIT_MS = 500


class DeadLetterUnavailable(RuntimeError):
    """The dead-letter topic could not be written: the connector stops rather than skip a message."""


@dataclass
class DeadLetter:
    record: object  # kafka ConsumerRecord
    reason: str


def dead_letter_event(connector: str, record, reason: str, now) -> dict:
    raw = record.value or b""
    return cloud_event(type="gov.registry.deadletter", subject=None, now=now, data={
        "reason": reason, "topic": record.topic, "partition": record.partition, "offset": record.offset,
        "key": record.key.decode("utf-8", "replace") if record.key else None,
        "raw_base64": base64.b64encode(raw).decode("ascii"), "connector": connector})


class ConnectorRunner:
    def __init__(self, spec: ConnectorSpec, db: Database, bootstrap: str, *, topic_prefix: str = "",
                 group: bool = False, batch_size: int = 1000, session_timeout_ms: int = 10_000,
                 heartbeat_interval_ms: int = 1_000, stop_event: threading.Event | None = None,
                 max_backoff_s: float = 10.0, deadletter_give_up_s: float = 120.0):
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
        self.consumer = None
        self._dlq = None
        self.last_progress = time.time()
        self.failed: BaseException | None = None
        self.records_done = 0  # records this copy applied or dead-lettered

    # --- offsets -------------------------------------------------------------------------------------------
    def stored_offsets(self) -> dict[int, int]:
        with self.db.read_session() as s:
            rows = s.execute(select(ConsumerOffsetRow.partition, ConsumerOffsetRow.next_offset).where(
                ConsumerOffsetRow.connector == self.spec.name, ConsumerOffsetRow.topic == self.topic)).all()
        return {p: n for p, n in rows}

    def seek_to_stored(self, partitions) -> None:
        stored = self.stored_offsets()
        for tp in partitions:
            if tp.partition in stored:
                self.consumer.seek(tp, stored[tp.partition])
            else:
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
            deadline = time.monotonic() + 60
            while not parts and not self.stop_event.is_set():
                parts = self.consumer.partitions_for_topic(self.topic)
                if not parts:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"topic {self.topic} does not exist")
                    time.sleep(0.2)
            tps = [TopicPartition(self.topic, p) for p in sorted(parts or [])]
            self.consumer.assign(tps)
            self.seek_to_stored(tps)

    def run(self) -> None:
        """Consume until stopped. Raises DeadLetterUnavailable when a rejected message cannot be dead-lettered."""
        backoff = 0.2
        try:
            while not self.stop_event.is_set():
                try:
                    if self.consumer is None:
                        self._open()
                    records = self.consumer.poll(timeout_ms=200, max_records=self.batch_size)
                    self.last_progress = time.time()
                    if records:
                        self.process(records)
                        self._report_lag()
                    backoff = 0.2
                except DeadLetterUnavailable:
                    raise
                except OffsetOutOfRangeError as e:
                    self._restart_out_of_range(e.args[0] if e.args and isinstance(e.args[0], dict) else {})
                except KafkaError as e:
                    log.warning("%s: broker error %s; retrying in %.1fs", self.spec.name, e, backoff)
                    self._close_consumer()
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, self.max_backoff_s)
        except BaseException as e:
            self.failed = e
            log.exception("%s connector stopped", self.spec.name)
            raise
        finally:
            self._close_consumer()
            if self._dlq is not None:
                self._dlq.close(timeout=2)

    def _restart_out_of_range(self, positions: dict) -> None:
        """The stored offset is not in the log: the topic was re-created (a broker that lost its data) or
        retention removed it. Continue from the log's first offset; event ids keep replays idempotent."""
        tps = list(positions) or list(self.consumer.assignment())
        starts = self.consumer.beginning_offsets(tps)
        with UnitOfWork(self.db, actor=f"connector:{self.spec.name}") as uow:
            rows = [dict(connector=self.spec.name, topic=self.topic, partition=tp.partition, next_offset=starts[tp],
                         updated_at=uow.now) for tp in tps]
            upsert(uow.session, ConsumerOffsetRow.__table__, rows, ["connector", "topic", "partition"])
            uow.record(f"connector.{self.spec.name}.offset_reset", "connector", self.spec.name,
                       before={str(tp.partition): positions.get(tp) for tp in tps},
                       after={str(tp.partition): starts[tp] for tp in tps})
            uow.commit()
        for tp in tps:
            log.warning("%s: offset %s of partition %s is out of range; continuing from %s",
                        self.spec.name, positions.get(tp), tp.partition, starts[tp])
            self.consumer.seek(tp, starts[tp])

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
    def process(self, records: dict) -> None:
        """Apply one poll's records exactly once, retrying database or broker outages with capped backoff."""
        flat = [r for tp in sorted(records, key=lambda t: t.partition) for r in records[tp]]
        translated = [(r, self.spec.translate(r.value)) for r in flat]
        backoff = 0.2
        started = time.monotonic()
        while True:
            try:
                self._apply(translated)
                return
            except DeadLetterUnavailable as e:
                if self.stop_event.is_set() or time.monotonic() - started > self.deadletter_give_up_s:
                    raise
                log.warning("%s: %s; retrying in %.1fs", self.spec.name, e, backoff)
                self._reset_dlq()
                self.last_progress = time.time()
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            except (OperationalError, DBAPIError, KafkaError) as e:
                if self.stop_event.is_set():
                    raise
                log.warning("%s: infrastructure error (%s); retrying batch in %.1fs", self.spec.name,
                            e.__class__.__name__, backoff)
                self.last_progress = time.time()
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _apply(self, translated: list) -> None:
        name = self.spec.name
        with UnitOfWork(self.db, actor=f"connector:{name}") as uow:
            if uow.is_postgres:
                uow.session.execute(_PLANNER)
            partitions = sorted({r.partition for r, _ in translated})
            stored = {p: n for p, n in uow.session.execute(
                select(ConsumerOffsetRow.partition, ConsumerOffsetRow.next_offset).where(
                    ConsumerOffsetRow.connector == name, ConsumerOffsetRow.topic == self.topic,
                    ConsumerOffsetRow.partition.in_(partitions)).with_for_update()).all()}
            for p in partitions:
                hw = self.consumer.highwater(TopicPartition(self.topic, p)) if self.consumer is not None else None
                if hw is not None and p in stored and hw < stored[p]:
                    # The topic was re-created (e.g. an in-memory broker restarted): its log starts over.
                    log.warning("%s: partition %s high watermark %s is below stored offset %s; topic was reset, "
                                "consuming it again (event ids keep this idempotent)", name, p, hw, stored[p])
                    stored[p] = 0
            fresh = [(r, t) for r, t in translated if r.offset >= stored.get(r.partition, 0)]
            if not fresh:
                return
            accepted: list[InboundEvent] = []
            dead: list[DeadLetter] = []
            by_event: dict[int, object] = {}
            for r, t in fresh:
                if isinstance(t, Rejected):
                    dead.append(DeadLetter(r, t.reason))
                else:
                    accepted.append(t)
                    by_event[id(t)] = r
            result = apply_events(uow, accepted, plain=True)
            for event, reason in result.conflicts:
                dead.append(DeadLetter(by_event[id(event)], reason))
            next_offsets: dict[int, int] = {}
            for r, _ in fresh:
                next_offsets[r.partition] = max(next_offsets.get(r.partition, 0), r.offset + 1)
            upsert(uow.session, ConsumerOffsetRow.__table__,
                   [dict(connector=name, topic=self.topic, partition=p, next_offset=n, updated_at=uow.now)
                    for p, n in next_offsets.items()], ["connector", "topic", "partition"])
            if dead:
                rows = [dict(connector=name, topic=d.record.topic, partition=d.record.partition, offset=d.record.offset,
                             key=d.record.key.decode("utf-8", "replace") if d.record.key else None,
                             raw_base64=base64.b64encode(d.record.value or b"").decode("ascii"),
                             reason=d.reason, created_at=uow.now) for d in dead]
                upsert(uow.session, DeadLetterRow.__table__, rows, ["topic", "partition", "offset"])
            if result.applied or dead:
                uow.record(f"connector.{name}.batch", "connector", name, after={
                    "offsets": {str(p): n for p, n in sorted(next_offsets.items())}, "applied": result.applied,
                    "duplicates": result.duplicates, "stale": result.stale, "dead_lettered": len(dead),
                    "mismatches_opened": result.mismatches.opened, "mismatches_resolved": result.mismatches.resolved})
            uow.flush()
            self._publish_dead_letters(dead, uow.now)
            uow.commit()
        if self.group and self.consumer is not None:
            from kafka.structs import OffsetAndMetadata

            try:
                self.consumer.commit_async({TopicPartition(self.topic, p): OffsetAndMetadata(n, "", -1) for p, n in next_offsets.items()})
            except Exception:  # noqa: BLE001 - lag visibility only
                pass
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
            futures = []
            for d in dead:
                r = d.record
                headers = [("hub.reason", d.reason.encode("utf-8")), ("hub.topic", r.topic.encode()),
                           ("hub.partition", str(r.partition).encode()), ("hub.offset", str(r.offset).encode()),
                           ("hub.key", r.key or b""), ("hub.raw", r.value or b"")]
                value = dumps(dead_letter_event(self.spec.name, r, d.reason, now)).encode("utf-8")
                futures.append(self._dlq.send(self.dlq_topic, key=r.key, value=value, headers=headers))
            self._dlq.flush(timeout=30)
            for f in futures:
                f.get(timeout=30)
        except Exception as e:  # noqa: BLE001
            raise DeadLetterUnavailable(f"cannot write {self.dlq_topic}: {e!r}") from e
