"""In-process streaming: the four connectors and the outbox relay on a real Kafka-protocol broker."""

from __future__ import annotations

import threading
import time
import uuid

from sqlalchemy import func, select

from connectors.runner import ConnectorRunner
from connectors.spec import all_connectors
from hub.adapters.database import connect
from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
from hub.adapters.kafka import ensure_topics
from hub.adapters.orm import ConsumerOffsetRow, OutboxRow
from hub.adapters.outbox_relay import OutboxRelay
from tests.kafka_tools import PartnerProducer, TopicReader


class Streaming:
    def __init__(self, db_url: str, bootstrap: str, *, partitions: int = 3, group: bool = False, relay: bool = True):
        self.db = connect(db_url)
        self.bootstrap = bootstrap
        self.prefix = f"t{uuid.uuid4().hex[:8]}."
        self.partitions = partitions
        ensure_topics(bootstrap, [self.prefix + t for t in INBOUND_TOPICS + OUTBOUND_TOPICS], partitions)
        self.stop_event = threading.Event()
        self.runners: list[tuple[ConnectorRunner, threading.Thread]] = []
        self.group = group
        self.partner = PartnerProducer(bootstrap, self.prefix)
        self.relay = None
        self._relay_thread = None
        if relay:
            self.relay = OutboxRelay(self.db, bootstrap, topic_prefix=self.prefix, stop_event=self.stop_event)
            self._relay_thread = threading.Thread(target=self.relay.run, daemon=True)
            self._relay_thread.start()

    def start(self, *names: str, stop_event: threading.Event | None = None) -> list[ConnectorRunner]:
        started = []
        for name, spec in all_connectors().items():
            if names and name not in names:
                continue
            r = ConnectorRunner(spec, self.db, self.bootstrap, topic_prefix=self.prefix, group=self.group,
                                batch_size=500, stop_event=stop_event or self.stop_event,
                                session_timeout_ms=2000, heartbeat_interval_ms=300, max_backoff_s=1.0)
            t = threading.Thread(target=self._safe(r), daemon=True)
            t.start()
            self.runners.append((r, t))
            started.append(r)
        return started

    @staticmethod
    def _safe(r):
        def run():
            try:
                r.run()
            except BaseException:  # noqa: BLE001 - the test inspects r.failed
                pass
        return run

    def send(self, *events: dict) -> None:
        for e in events:
            self.partner.send_event(e)
        self.partner.flush()

    def reader(self, topic: str) -> TopicReader:
        return TopicReader(self.bootstrap, self.prefix + topic)

    def consumed(self, connector: str) -> int:
        with self.db.read_session() as s:
            return s.scalar(select(func.coalesce(func.sum(ConsumerOffsetRow.next_offset), 0)).where(
                ConsumerOffsetRow.connector == connector)) or 0

    def wait_consumed(self, connector: str, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.consumed(connector) >= n:
                return
            time.sleep(0.1)
        raise AssertionError(f"{connector} consumed {self.consumed(connector)} of {n}")

    def wait_outbox_drained(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.read_session() as s:
                if not s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))):
                    return
            time.sleep(0.1)
        raise AssertionError("outbox did not drain")

    def close(self) -> None:
        self.stop_event.set()
        for r, t in self.runners:
            t.join(15)
        if self._relay_thread:
            self._relay_thread.join(15)
        self.db.dispose()
