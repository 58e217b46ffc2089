"""Canonical JSON used for hashing, outbox values and stored details."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum


def _default(o):
    if isinstance(o, datetime):  # RFC 3339 with an offset; the hub's times are UTC (SQLite's come back without one)
        return (o if o.tzinfo else o.replace(tzinfo=timezone.utc)).isoformat().replace("+00:00", "Z")
    if isinstance(o, date):
        return o.isoformat()
    if isinstance(o, Enum):
        return o.value
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# One encoder, reused: ``json.dumps`` with any non-default argument builds a new JSONEncoder on every call (a few
# microseconds, on every outbox event, detail and hash). The same encoder, so the same text.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default)


def dumps(obj) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 characters kept."""
    return _ENCODER.encode(obj)


def loads(text: str | None):
    return None if text is None else json.loads(text)
