"""Outbox: every event the hub publishes is first a row here, written with the change it reports (the events
themselves are built by hub.contract.cloudevents)."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.orm import Session

from hub.adapters.jsonutil import dumps
from hub.adapters.orm import OutboxRow


def value_of(event: dict | str) -> str:
    """An outbox value: the event's canonical JSON (an event given as text already is that JSON)."""
    return event if isinstance(event, str) else dumps(event)


def event_rows(events: list[tuple[str, str | None, dict | str]], now: datetime) -> list[dict]:
    """Rows for the outbox table from (topic, key, event) triples (an event as a dict, or its JSON text)."""
    return [dict(topic=t, key=k, value=value_of(e), created_at=now, sent_at=None) for t, k, e in events]


_NEW_ROWS = threading.Event()


def notify_committed() -> None:
    """Wake an in-process relay: outbox rows were just committed (other processes are found by polling)."""
    _NEW_ROWS.set()


def wait_for_rows(timeout: float) -> None:
    """Sleep until rows are committed in this process, or ``timeout`` seconds."""
    _NEW_ROWS.wait(timeout)
    _NEW_ROWS.clear()


def write(session: Session, events: list[tuple[str, str | None, dict | str]], now: datetime) -> None:
    """Insert the events' outbox rows in the session's transaction (PostgreSQL: one COPY for many rows, whose
    text format needs far less client-side escaping of the JSON values than array parameters; one INSERT over
    arrays for a few, as elsewhere an executemany)."""
    if not events:
        return
    if len(events) >= 64 and session.get_bind().dialect.name == "postgresql":  # fewer: one INSERT, one round trip
        from hub.adapters.bulk import bulk_insert

        bulk_insert(session, OutboxRow.__table__, ["topic", "key", "value", "created_at"],
                    [(t, k, value_of(e), now) for t, k, e in events])
        return
    from hub.adapters.bulk import insert_rows

    insert_rows(session, OutboxRow.__table__, event_rows(events, now))
