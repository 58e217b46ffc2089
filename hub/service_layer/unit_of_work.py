"""Unit of Work: one database transaction holding the change, its operation-log entries and its outbox rows."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy.orm import Session

from hub.adapters import operation_log, outbox
from hub.adapters.database import Database
from hub.contract.cloudevents import cloud_event
from hub.domain.calendar import office_date
from hub.adapters.operation_log import Operation


class UnitOfWork:
    """Rolls back unless ``commit()`` is called. Collects operations and events; writes them at commit."""

    def __init__(self, db: Database, *, actor: str, now: datetime | None = None):
        self.db = db
        self.actor = actor
        self.now = now or datetime.now(timezone.utc)
        self.session: Session | None = None
        self._operations: list[Operation] = []
        self._events: list[tuple[str, str | None, dict | str]] = []
        self._flushed = False

    def __enter__(self) -> "UnitOfWork":
        self.session = self.db.session()
        self.session.begin()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self.session.in_transaction():
                self.session.rollback()
        finally:
            self.session.close()

    @property
    def today(self) -> date:
        """The office's local date of this transaction (UTC+8): the "today" of every quota, deadline and date check.
        ``now.date()`` would be the UTC date, a day behind from 16:00 to 24:00 UTC."""
        return office_date(self.now)

    @property
    def is_postgres(self) -> bool:
        return self.db.is_postgres

    def record(self, action: str, entity: str, entity_id: str | None, *, before=None, after=None) -> None:
        """Note an operation for the hash-chained operation log."""
        self._operations.append(Operation(self.actor, action, entity, entity_id, before, after))

    def publish(self, topic: str, *, key: str | None, type: str, subject: str | None, data: dict) -> dict:
        """Queue an outbound CloudEvent; it reaches the outbox in this transaction."""
        event = cloud_event(type=type, subject=subject, data=data, now=self.now)
        self._events.append((topic, key, event))
        return event

    def publish_json(self, topic: str, *, key: str | None, value: str) -> None:
        """Queue an outbound event given as its canonical JSON text (exactly ``dumps(cloud_event(...))``, made by a
        template of hub.contract.cloudevents: the hot paths that publish one event per row)."""
        self._events.append((topic, key, value))

    def wrote_outbox(self) -> None:
        """Outbox rows were written by SQL in this transaction (bulk work): wake the relay at commit as for published
        events."""
        self._flushed = True

    def flush(self) -> None:
        """Write queued outbox rows now (the operation log is written at commit, holding its lock briefly)."""
        if self._events:
            self._flushed = True
        outbox.write(self.session, self._events, self.now)
        self._events = []

    def commit(self) -> None:
        wrote = bool(self._events) or self._flushed
        self.flush()
        operation_log.append(self.session, self._operations, now=self.now, key=self.db.audit_key)
        self._operations = []
        self.session.commit()
        if wrote:
            outbox.notify_committed()

    def rollback(self) -> None:
        self._operations, self._events = [], []
        self.session.rollback()
