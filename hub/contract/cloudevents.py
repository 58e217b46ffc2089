"""The one CloudEvent builder of every event the hub publishes (contract section 4: CloudEvents 1.0, structured JSON).

One definition, ``ENVELOPE``, gives all three forms, byte for byte alike once written as canonical JSON
(``hub.adapters.jsonutil.dumps``: sorted keys, no spaces, UTF-8 kept):

* ``cloud_event``          — the event as a dict (``UnitOfWork.publish``, dead letters);
* ``cloud_event_template`` — a %-format string of its JSON for events of one type and time;
* ``cloud_event_format``   — a ``str.format`` string of its JSON for events of one type and time whose data differ
                             only in a few values (``hub import``: a person's or posting's data by the hundred thousand);
* ``sql_cloud_event``      — a PostgreSQL expression of its JSON, for events made in the database by the hundred
                             thousand (a police comparison's person.updated events).

tests/unit/test_cloud_event_forms.py and tests/integration/test_sql_events.py check that they agree.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime, timezone
from typing import Iterator

from hub.contract.topics import REGISTRY_SOURCE

SPECVERSION = "1.0"
DATACONTENTTYPE = "application/json"

# What fills an envelope field: a constant of the contract, a value of the type and time (the same for a batch of
# events), or a value of each event.
DATA, EVENT_ID, SUBJECT = "data", "event id", "subject"  # per event: the data's JSON, a uuid4, the subject
SOURCE, TIME, TYPE = "source", "time", "type"  # per type and time

# The envelope, in the order canonical JSON writes its keys (sorted). The one definition of an outbound event.
ENVELOPE: tuple[tuple[str, str], ...] = (
    ("data", DATA),
    ("datacontenttype", DATACONTENTTYPE),
    ("id", EVENT_ID),
    ("source", SOURCE),
    ("specversion", SPECVERSION),
    ("subject", SUBJECT),
    ("time", TIME),
    ("type", TYPE),
)
_PER_EVENT = (DATA, EVENT_ID, SUBJECT)
_PER_TYPE = (SOURCE, TIME, TYPE)

# A JSON string literal exactly as canonical JSON writes one (ensure_ascii=False).
json_string = json.encoder.encode_basestring

_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def event_time(now: datetime) -> str:
    """The CloudEvents ``time`` of an event made at ``now``: UTC, ISO 8601, ``Z``."""
    return now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def cloud_event(*, type: str, subject: str | None, data: dict, now: datetime, source: str = REGISTRY_SOURCE) -> dict:
    """A CloudEvents 1.0 event in structured JSON mode (without ``subject`` when it is None)."""
    values = {DATA: data, EVENT_ID: str(uuid.uuid4()), SUBJECT: subject, SOURCE: source, TIME: event_time(now), TYPE: type}
    return {key: values.get(what, what) for key, what in ENVELOPE if not (what == SUBJECT and subject is None)}


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


def _parts(*, type: str, now: datetime, source: str) -> list[str]:
    """The envelope's JSON text around its per-event values: four literal parts, before the data, before the id,
    before the subject and after it (``ENVELOPE`` holds them in that order)."""
    fixed = {SOURCE: source, TIME: event_time(now), TYPE: type}
    parts, text = [], "{"
    for i, (key, what) in enumerate(ENVELOPE):
        text += ("," if i else "") + json_string(key) + ":"
        if what in _PER_EVENT:
            parts.append(text + ('"' if what == EVENT_ID else ""))
            text = '"' if what == EVENT_ID else ""
        else:
            text += json_string(fixed.get(what, what))
    parts.append(text + "}")
    return parts


# The template, the SQL form and their callers fill the per-event values in this order.
assert [w for _, w in ENVELOPE if w in _PER_EVENT] == [DATA, EVENT_ID, SUBJECT]
assert [k for k, _ in ENVELOPE] == sorted(k for k, _ in ENVELOPE)  # as canonical JSON orders them


def cloud_event_template(*, type: str, now: datetime, source: str = REGISTRY_SOURCE) -> str:
    """A %-format string for the outbox value of events of one type made at ``now`` (for bulk work).

    ``template % (data_json, event_id, subject_json)`` is exactly ``dumps(cloud_event(type=type, subject=subject,
    data=data, now=now))`` with that event id, given ``data_json == dumps(data)`` and
    ``subject_json == json_string(subject)`` (the subject must not be None).
    """
    return "%s".join(p.replace("%", "%%") for p in _parts(type=type, now=now, source=source))


def slot(i: int) -> str:
    """The placeholder of the ``i``-th per-event value (from 0) in the data given to ``cloud_event_format``."""
    return f"\x00slot {i}\x00"


_SLOT = re.compile(r'"\\u0000slot (\d+)\\u0000"')  # a slot as canonical JSON writes it


def cloud_event_format(*, type: str, now: datetime, data_json: str, slots: int, source: str = REGISTRY_SOURCE) -> str:
    """A ``str.format`` string for the outbox values of events of one type made at ``now`` whose data, written as
    canonical JSON, is ``data_json`` but for its values ``slot(0)`` … ``slot(slots - 1)`` (for bulk work: one
    ``format`` call per event, no dict to build and encode).

    ``fmt.format(event_id, subject_json, json_0, json_1, …)`` is exactly ``dumps(cloud_event(type=type,
    subject=subject, data=filled, now=now))`` with that event id, given ``data_json == dumps(data)``, ``filled`` =
    ``data`` with each ``slot(i)`` replaced by a value whose canonical JSON is ``json_i``, and ``subject_json ==
    json_string(subject)``. Each slot must be found exactly once: a ValueError says when one is not (e.g. the data
    builder transformed the value it was given).
    """
    body = data_json
    found = [int(m) for m in _SLOT.findall(body)]
    if sorted(found) != list(range(slots)):
        raise ValueError(f"the data must hold slot(0) … slot({slots - 1}) once each as values; found {sorted(found)}")
    braces = str.maketrans({"{": "{{", "}": "}}"})
    body = _SLOT.sub(lambda m: "{%d}" % (int(m.group(1)) + 2), body.translate(braces))
    p = [part.translate(braces) for part in _parts(type=type, now=now, source=source)]
    return p[0] + body + p[1] + "{0}" + p[2] + "{1}" + p[3]


def sql_json(expr: str) -> str:
    """PostgreSQL: the JSON text of a text expression, exactly as canonical JSON writes it (``null`` for NULL).

    ``to_json`` escapes as Python's encoder does with ensure_ascii=False: quote, backslash, the short escapes
    (b f n r t) and ``\\u00xx`` for the other control characters; tests/integration/test_sql_events.py checks it."""
    return f"coalesce(to_json(({expr})::text)::text, 'null')"


def sql_cloud_event(*, type: str, now: datetime, data_sql: str, subject_sql: str,
                    source: str = REGISTRY_SOURCE) -> tuple[str, dict]:
    """PostgreSQL: an expression (and its parameters) for the outbox value of an event made in the database — the
    text of ``cloud_event_template`` with the event's data JSON (``data_sql``, a text expression), a random version 4
    id (``gen_random_uuid()``) and the subject (a text expression, not NULL). For events by the hundred thousand."""
    parts = _parts(type=type, now=now, source=source)
    expr = (f"CAST(:event_0 AS text) || ({data_sql}) || CAST(:event_1 AS text) || gen_random_uuid()::text"
            f" || CAST(:event_2 AS text) || {sql_json(subject_sql)} || CAST(:event_3 AS text)")
    return expr, {f"event_{i}": part for i, part in enumerate(parts)}
