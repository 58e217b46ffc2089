"""Outbox: every event the hub publishes is first a row here, written with the change it reports."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from hub.adapters.jsonutil import dumps
from hub.adapters.orm import OutboxRow

REGISTRY_SOURCE = "/gov/registry"

UPDATES_TOPIC = "registry.updates.v1"
MISMATCHES_TOPIC = "registry.mismatches.v1"
DEADLETTER_TOPIC = "registry.deadletter.v1"


def cloud_event(*, type: str, subject: str | None, data: dict, now: datetime, source: str = REGISTRY_SOURCE) -> dict:
    """A CloudEvents 1.0 event in structured JSON mode."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": type,
        "time": now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject is not None:
        event["subject"] = subject
    return event


def event_rows(events: list[tuple[str, str | None, dict]], now: datetime) -> list[dict]:
    """Rows for the outbox table from (topic, key, event) triples."""
    return [dict(topic=t, key=k, value=dumps(e), created_at=now, sent_at=None) for t, k, e in events]


def write(session: Session, events: list[tuple[str, str | None, dict]], now: datetime) -> None:
    if events:
        session.execute(OutboxRow.__table__.insert(), event_rows(events, now))
