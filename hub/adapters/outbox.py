"""Outbox: every event the hub publishes is first a row here, written with the change it reports."""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy.orm import Session

from hub.adapters.jsonutil import dumps
from hub.adapters.orm import OutboxRow

REGISTRY_SOURCE = "/gov/registry"

UPDATES_TOPIC = "registry.updates.v1"
MISMATCHES_TOPIC = "registry.mismatches.v1"
DEADLETTER_TOPIC = "registry.deadletter.v1"
SUPERVISION_TOPIC = "registry.supervision.v1"  # findings (整改事项), contract section 11

# A JSON string literal exactly as jsonutil.dumps writes one (ensure_ascii=False).
json_string = json.encoder.encode_basestring

_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def event_time(now: datetime) -> str:
    """The CloudEvents ``time`` of an event made at ``now``: UTC, ISO 8601, ``Z``."""
    return now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def cloud_event(*, type: str, subject: str | None, data: dict, now: datetime, source: str = REGISTRY_SOURCE) -> dict:
    """A CloudEvents 1.0 event in structured JSON mode."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": type,
        "time": event_time(now),
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject is not None:
        event["subject"] = subject
    return event


def event_ids(block: int = 4096) -> Iterator[str]:
    """An endless stream of random event ids, each like ``str(uuid.uuid4())`` (122 random bits from os.urandom).

    For bulk work: drawing the randomness in blocks and formatting by slicing is several times cheaper than
    one ``uuid.uuid4()`` per event.
    """
    variant = _VARIANT
    while True:
        h = os.urandom(16 * block).hex()
        for i in range(0, 32 * block, 32):
            yield f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{variant[h[i + 16]]}{h[i + 17:i + 20]}-{h[i + 20:i + 32]}"


def cloud_event_template(*, type: str, now: datetime, source: str = REGISTRY_SOURCE) -> str:
    """A %-format string for the outbox value of events of one type made at ``now`` (for bulk work).

    ``template % (data_json, event_id, subject_json)`` is exactly ``dumps(cloud_event(type=type, subject=subject,
    data=data, now=now))`` with that event id, given ``data_json == dumps(data)`` and
    ``subject_json == json_string(subject)`` (the subject must not be None).
    """
    def lit(s: str) -> str:
        return json_string(s).replace("%", "%%")

    # Keys in sorted order, as jsonutil.dumps writes them.
    return ('{"data":%s,"datacontenttype":"application/json","id":"%s","source":' + lit(source)
            + ',"specversion":"1.0","subject":%s,"time":' + lit(event_time(now)) + ',"type":' + lit(type) + "}")


def sql_json(expr: str) -> str:
    """PostgreSQL: the JSON text of a text expression, exactly as jsonutil.dumps writes it (``null`` for NULL).

    ``to_json`` escapes as Python's encoder does with ensure_ascii=False: quote, backslash, the short escapes
    (b f n r t) and ``\\u00xx`` for the other control characters; tests/integration/test_sql_events.py checks it."""
    return f"coalesce(to_json(({expr})::text)::text, 'null')"


def sql_cloud_event(*, type: str, now: datetime, data_sql: str, subject_sql: str,
                    source: str = REGISTRY_SOURCE) -> tuple[str, dict]:
    """PostgreSQL: an expression (and its parameters) for the outbox value of an event made in the database — the
    text of ``cloud_event_template`` with the event's data JSON (``data_sql``, a text expression), a random version 4
    id (``gen_random_uuid()``) and the subject (a text expression, not NULL). For events by the hundred thousand."""
    tmpl = cloud_event_template(type=type, now=now, source=source)
    if "%%" in tmpl:
        raise ValueError("a literal % in an event template")
    parts = tmpl.split("%s")  # before the data, before the id, before the subject, after it
    expr = (f"CAST(:event_0 AS text) || ({data_sql}) || CAST(:event_1 AS text) || gen_random_uuid()::text"
            f" || CAST(:event_2 AS text) || {sql_json(subject_sql)} || CAST(:event_3 AS text)")
    return expr, {f"event_{i}": part for i, part in enumerate(parts)}


def event_rows(events: list[tuple[str, str | None, dict]], now: datetime) -> list[dict]:
    """Rows for the outbox table from (topic, key, event) triples."""
    return [dict(topic=t, key=k, value=dumps(e), created_at=now, sent_at=None) for t, k, e in events]


_NEW_ROWS = threading.Event()


def notify_committed() -> None:
    """Wake an in-process relay: outbox rows were just committed (other processes are found by polling)."""
    _NEW_ROWS.set()


def wait_for_rows(timeout: float) -> None:
    """Sleep until rows are committed in this process, or ``timeout`` seconds."""
    _NEW_ROWS.wait(timeout)
    _NEW_ROWS.clear()


def write(session: Session, events: list[tuple[str, str | None, dict]], now: datetime) -> None:
    """Insert the events' outbox rows in the session's transaction (PostgreSQL: one COPY for many rows, whose
    text format needs far less client-side escaping of the JSON values than array parameters; one INSERT over
    arrays for a few, as elsewhere an executemany)."""
    if not events:
        return
    if len(events) >= 64 and session.get_bind().dialect.name == "postgresql":  # fewer: one INSERT, one round trip
        from hub.adapters.bulk import bulk_insert

        bulk_insert(session, OutboxRow.__table__, ["topic", "key", "value", "created_at"],
                    [(t, k, dumps(e), now) for t, k, e in events])
        return
    from hub.adapters.bulk import insert_rows

    insert_rows(session, OutboxRow.__table__, event_rows(events, now))
